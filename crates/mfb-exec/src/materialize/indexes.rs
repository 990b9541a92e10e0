//! The `indexes` config: `[{columns: [...], unique: bool, type: btree|hash|gist|...}]`.
//!
//! Indexes are created on the temporary relation before the swap, so the relation a
//! reader sees always has them. Each index is named as dbt-postgres names it: the md5 of
//! its columns, the relation, `unique`, `type` and the current time, which never collides
//! with the index of an earlier build still attached to the old relation. The catalog side
//! ([`existing`]) reads a relation's indexes back for a materialized view's change check.

use chrono::Utc;
use md5::{Digest, Md5};
use mfb_diagnostics::Diagnostic;
use mfb_graph::Node;
use mfb_postgres::{Transaction, quote_ident, quote_literal};
use serde_json::Value;

/// One configured (or existing) index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// Column names or expressions, as written.
    pub columns: Vec<String>,
    pub unique: bool,
    /// Access method (`btree`, `hash`, `gist`, ...); `None` for PostgreSQL's default.
    pub method: Option<String>,
}

impl Index {
    /// The `create index` statement for this index on `schema.name` (`database` only
    /// feeds the name's hash, as dbt's rendered relation does).
    pub fn create_statement(&self, database: &str, schema: &str, name: &str) -> String {
        let relation = format!(
            "{}.{}.{}",
            quote_ident(database),
            quote_ident(schema),
            quote_ident(name)
        );
        let mut inputs = self.columns.clone();
        inputs.push(relation.clone());
        inputs.push(if self.unique { "True" } else { "False" }.to_owned());
        inputs.push(self.method.clone().unwrap_or_else(|| "None".to_owned()));
        inputs.push(Utc::now().format("%Y-%m-%dT%H:%M:%S%.6f").to_string());
        let index_name = format!("{:x}", Md5::digest(inputs.join("_").as_bytes()));
        let using = self
            .method
            .as_deref()
            .map(|m| format!(" using {m}"))
            .unwrap_or_default();
        format!(
            "create {}index if not exists {} on {}.{}{using} ({})",
            if self.unique { "unique " } else { "" },
            quote_ident(&index_name),
            quote_ident(schema),
            quote_ident(name),
            self.columns.join(", ")
        )
    }

    /// The same index, with the method PostgreSQL would pick spelled out, for comparing.
    fn normalized(&self) -> (Vec<String>, bool, String) {
        (
            self.columns
                .iter()
                .map(|c| c.trim().to_lowercase())
                .collect(),
            self.unique,
            self.method
                .as_deref()
                .unwrap_or("btree")
                .to_ascii_lowercase(),
        )
    }
}

/// The node's `indexes` config.
pub fn configured(node: &Node) -> Result<Vec<Index>, Diagnostic> {
    let invalid = |why: String| {
        Diagnostic::error("index-config-invalid", why)
            .at(node.defined_at.clone())
            .with_help(
                "write `indexes: [{columns: ['col_a', 'col_b'], unique: true, type: 'btree'}]`",
            )
    };
    let list = match node.config.get("indexes") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(invalid(format!(
                "`indexes` of {} must be a list, found {other}",
                node.unique_id
            )));
        }
    };
    list.iter()
        .map(|entry| {
            let columns: Vec<String> = match entry.get("columns") {
                Some(Value::Array(cs)) => cs
                    .iter()
                    .filter_map(|c| c.as_str().map(str::to_owned))
                    .collect(),
                Some(Value::String(c)) => vec![c.clone()],
                _ => Vec::new(),
            };
            if columns.is_empty() {
                return Err(invalid(format!(
                    "an index of {} has no `columns`: {entry}",
                    node.unique_id
                )));
            }
            Ok(Index {
                columns,
                unique: entry.get("unique").and_then(Value::as_bool) == Some(true),
                method: entry.get("type").and_then(Value::as_str).map(str::to_owned),
            })
        })
        .collect()
}

/// True when `a` and `b` hold the same indexes (order aside), as dbt compares them:
/// columns, uniqueness and method.
pub fn same(a: &[Index], b: &[Index]) -> bool {
    let mut a: Vec<_> = a.iter().map(Index::normalized).collect();
    let mut b: Vec<_> = b.iter().map(Index::normalized).collect();
    a.sort();
    b.sort();
    a == b
}

const EXISTING: &str = "
select i.indisunique, am.amname::text,
       array(select pg_catalog.pg_get_indexdef(i.indexrelid, k, true)
             from generate_series(1, i.indnatts::int) k order by k)::text[]
from pg_catalog.pg_index i
join pg_catalog.pg_class c on c.oid = i.indexrelid
join pg_catalog.pg_am am on am.oid = c.relam
where i.indrelid = to_regclass(";

/// The indexes on `schema.name`.
pub async fn existing(
    txn: &Transaction<'_>,
    schema: &str,
    name: &str,
) -> Result<Vec<Index>, mfb_postgres::PgError> {
    let relation = format!("{}.{}", quote_ident(schema), quote_ident(name));
    let table = txn
        .fetch(&format!("{EXISTING}{})", quote_literal(&relation)))
        .await?;
    Ok(table
        .rows
        .iter()
        .map(|row| Index {
            unique: row.first().and_then(|c| c.as_text()).as_deref() == Some("true"),
            method: row.get(1).and_then(|c| c.as_text()),
            columns: row
                .get(2)
                .and_then(|c| c.as_text())
                .map(|text| parse_text_array(&text))
                .unwrap_or_default(),
        })
        .collect())
}

/// `{a,"b c"}` (PostgreSQL's text form of a text[]) into its elements.
fn parse_text_array(text: &str) -> Vec<String> {
    let inner = text.trim().trim_start_matches('{').trim_end_matches('}');
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => current.extend(chars.next()),
            ',' if !quoted => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    if !inner.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_are_hashes_and_differ_between_builds() {
        let index = Index {
            columns: vec!["id".into(), "name".into()],
            unique: true,
            method: Some("btree".into()),
        };
        let a = index.create_statement("db", "s", "t__dbt_tmp");
        let b = index.create_statement("db", "s", "t__dbt_tmp");
        assert!(a.starts_with("create unique index if not exists \""), "{a}");
        assert!(
            a.ends_with(" on \"s\".\"t__dbt_tmp\" using btree (id, name)"),
            "{a}"
        );
        let name = a.split('"').nth(1).unwrap();
        assert_eq!(name.len(), 32);
        assert_ne!(a, b, "the time makes every build's name new");
    }

    #[test]
    fn default_method_is_btree_when_comparing() {
        let a = [Index {
            columns: vec!["ID".into()],
            unique: false,
            method: None,
        }];
        let b = [Index {
            columns: vec!["id".into()],
            unique: false,
            method: Some("btree".into()),
        }];
        assert!(same(&a, &b));
        assert!(!same(&a, &[]));
    }

    #[test]
    fn text_arrays_split_on_unquoted_commas() {
        assert_eq!(parse_text_array("{id,name}"), vec!["id", "name"]);
        assert_eq!(
            parse_text_array(r#"{"lower(a, b)",c}"#),
            vec!["lower(a, b)", "c"]
        );
        assert!(parse_text_array("{}").is_empty());
    }
}
