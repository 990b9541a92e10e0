//! The compile-time half of the tenant-column check: a protected model whose compiled SQL
//! certainly does not output its `tenant_column` stops the run before the database is
//! touched, pointing at the compiled file.
//!
//! "Certainly" means the SQL parsed and its output columns are fully known (a `select *`
//! expands through upstream models' own compiled SQL). Anything less is left to the
//! build-time check in `materialize.rs`, which asks the database.

use std::cell::RefCell;
use std::collections::HashMap;

use mfb_diagnostics::{Diagnostic, Location};
use mfb_graph::{Manifest, Node, ResourceType};
use mfb_sql::{SchemaProvider, TableRef};
use serde_json::Value;

use crate::Parsed;

/// Errors for every protected model among `nodes` whose compiled SQL does not output its
/// tenant column. Call after `compile` (it reads `compiled_code`).
pub fn check(parsed: &Parsed, nodes: &[&Node]) -> Result<(), Vec<Diagnostic>> {
    let protected: Vec<(&Node, mfb_tenancy::RlsConfig)> = nodes
        .iter()
        .filter(|node| node.resource_type == ResourceType::Model)
        // Views and ephemeral models get no policy of their own (as in materialize.rs).
        .filter(|node| {
            let materialized = node.config.get("materialized").and_then(Value::as_str);
            !matches!(materialized, Some("view" | "ephemeral"))
        })
        .filter_map(|node| match crate::rls::config_of(node) {
            Ok(Some(cfg)) => Some((*node, cfg)),
            _ => None,
        })
        .collect();
    if protected.is_empty() {
        return Ok(());
    }
    let upstream = Upstream::new(&parsed.manifest);
    let root = &parsed.loaded.project.root;
    let compiled_dir = crate::compile::target_dir(parsed).join("compiled");
    let mut errors = Vec::new();
    for (node, cfg) in protected {
        let Some(sql) = node.compiled_code.as_deref() else {
            continue;
        };
        let Ok(statement) = mfb_sql::parse(sql) else {
            continue;
        };
        let analysis = statement.analyze(&upstream);
        if !analysis.columns_known || analysis.column(&cfg.tenant_column).is_some() {
            continue;
        }
        let path = crate::compile::compiled_path(&compiled_dir, node);
        let shown = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        let (line, column) = analysis.select_at.unwrap_or((0, 0));
        let outputs = analysis.column_names().join(", ");
        errors.push(
            Diagnostic::error(
                "rls-tenant-column-missing",
                format!(
                    "{} is protected by rls on `{}`, but its compiled SQL does not output that column",
                    node.unique_id, cfg.tenant_column
                ),
            )
            .at_in(Location::new(shown, line, column), sql)
            .with_note(format!("the model is defined at {}", node.defined_at))
            .with_note(format!("its SQL outputs: {outputs}"))
            .with_help(format!(
                "select `{}` in {} (the policy filters on it), or fix `tenant_column` in its rls config",
                cfg.tenant_column, node.original_file_path
            )),
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The output columns of the models a query reads, from their own compiled SQL, analysed
/// on demand and once each.
struct Upstream<'m> {
    by_relation: HashMap<(&'m str, &'m str, &'m str), &'m Node>,
    by_schema: HashMap<(&'m str, &'m str), Option<&'m Node>>,
    memo: RefCell<HashMap<&'m str, Option<Vec<String>>>>,
}

impl<'m> Upstream<'m> {
    fn new(manifest: &'m Manifest) -> Self {
        let mut by_relation = HashMap::new();
        let mut by_schema: HashMap<(&str, &str), Option<&Node>> = HashMap::new();
        for node in manifest.nodes.values() {
            if node.resource_type != ResourceType::Model || node.compiled_code.is_none() {
                continue;
            }
            let key = (node.schema.as_str(), node.alias.as_str());
            by_relation.insert((node.database.as_str(), key.0, key.1), node);
            by_schema
                .entry(key)
                .and_modify(|e| *e = None)
                .or_insert(Some(node));
        }
        Upstream {
            by_relation,
            by_schema,
            memo: RefCell::new(HashMap::new()),
        }
    }

    fn node(&self, table: &TableRef) -> Option<&'m Node> {
        let schema = table.schema.as_deref()?;
        match table.database.as_deref() {
            Some(db) => self
                .by_relation
                .get(&(db, schema, table.name.as_str()))
                .copied(),
            None => self
                .by_schema
                .get(&(schema, table.name.as_str()))
                .copied()
                .flatten(),
        }
    }
}

impl SchemaProvider for Upstream<'_> {
    fn columns(&self, table: &TableRef) -> Option<Vec<String>> {
        let node = self.node(table)?;
        let id = node.unique_id.as_str();
        if let Some(known) = self.memo.borrow().get(id) {
            return known.clone();
        }
        // Marked unknown first, so a cycle ends instead of recursing.
        self.memo.borrow_mut().insert(id, None);
        let columns = mfb_sql::parse(node.compiled_code.as_deref()?)
            .ok()
            .map(|sql| sql.analyze(self))
            .filter(|a| a.columns_known)
            .map(|a| a.columns.into_iter().map(|c| c.name).collect::<Vec<_>>());
        self.memo.borrow_mut().insert(id, columns.clone());
        columns
    }
}
