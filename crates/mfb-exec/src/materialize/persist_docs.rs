//! The `persist_docs` config: `{relation: true, columns: true}` writes the model's
//! description and its columns' descriptions as PostgreSQL comments.
//!
//! The comments are written inside the model's transaction, so they appear with the new
//! relation and vanish with a rolled-back build. As in dbt, the relation comment needs a
//! non-empty description, and only documented columns that exist in the built relation
//! are commented (a column documented in YAML but not selected by the model is skipped).

use mfb_graph::Node;
use mfb_postgres::{ColumnInfo, quote_ident, quote_literal};
use serde_json::Value;

/// What the node asks to persist.
#[derive(Debug, Clone, Copy, Default)]
pub struct PersistDocs {
    pub relation: bool,
    pub columns: bool,
}

impl PersistDocs {
    /// The node's `persist_docs` config.
    pub fn configured(node: &Node) -> PersistDocs {
        let flag = |k: &str| {
            node.config
                .get("persist_docs")
                .and_then(|p| p.get(k))
                .and_then(Value::as_bool)
                == Some(true)
        };
        PersistDocs {
            relation: flag("relation"),
            columns: flag("columns"),
        }
    }

    /// True when nothing is persisted (no catalog lookup needed).
    pub fn is_off(&self) -> bool {
        !self.relation && !self.columns
    }

    /// `comment on` statements for `relation` (a `keyword` such as `table` or
    /// `materialized view`, and its quoted qualified name) whose columns are `existing`.
    pub fn statements(
        &self,
        node: &Node,
        keyword: &str,
        relation: &str,
        existing: &[ColumnInfo],
    ) -> Vec<String> {
        let mut out = Vec::new();
        if self.relation && !node.description.is_empty() {
            out.push(format!(
                "comment on {keyword} {relation} is {}",
                quote_literal(&node.description)
            ));
        }
        if self.columns {
            for column in node.columns.values() {
                // YAML names are unquoted identifiers unless `quote: true`: match as
                // PostgreSQL would fold them, then use the catalog's exact name.
                let found = existing.iter().find(|c| {
                    c.name == column.name
                        || (column.quote != Some(true) && c.name == column.name.to_lowercase())
                });
                if let Some(found) = found {
                    out.push(format!(
                        "comment on column {relation}.{} is {}",
                        quote_ident(&found.name),
                        quote_literal(&column.description)
                    ));
                }
            }
        }
        out
    }
}
