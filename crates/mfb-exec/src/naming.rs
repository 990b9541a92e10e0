//! Relation names of nodes: `generate_database_name`, `generate_schema_name`,
//! `generate_alias_name`.
//!
//! When no package overrides these macros (nor their `default__`/`postgres__`
//! implementations), dbt's defaults are computed here directly, which gives the same
//! names at a fraction of the cost on large projects; otherwise the macros are called.
//! Lookup follows dbt: the root project's macro, then the node's package's, then built-in.

use std::sync::Arc;

use mfb_graph::{Node, ResourceType};
use mfb_jinja::{INTERNAL_PACKAGE, JinjaError, JinjaValue, NodeScope, RunContext, Runtime};
use serde_json::Value;

use crate::context::model_value;

/// Which of the three naming macros are overridden somewhere.
#[derive(Debug, Clone, Copy)]
pub struct Naming {
    custom: [bool; 3],
}

const KINDS: [&str; 3] = ["database", "schema", "alias"];

impl Naming {
    /// Inspects the registry once.
    pub fn new(runtime: &Runtime) -> Self {
        let mut custom = [false; 3];
        for def in runtime.registry().defs() {
            if def.package == INTERNAL_PACKAGE {
                continue;
            }
            for (i, kind) in KINDS.iter().enumerate() {
                let base = format!("generate_{kind}_name");
                if def.name == base
                    || def.name == format!("default__{base}")
                    || def.name == format!("postgres__{base}")
                {
                    custom[i] = true;
                }
            }
        }
        Naming { custom }
    }

    /// Sets `database`, `schema`, `alias` and `relation_name` of a node.
    pub fn apply(
        &self,
        runtime: &Runtime,
        run: &Arc<RunContext>,
        root: &str,
        target_db: &str,
        target_schema: &str,
        node: &mut Node,
    ) -> Result<(), JinjaError> {
        let config_str = |node: &Node, key: &str| {
            node.config
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let is_snapshot = node.resource_type == ResourceType::Snapshot;
        let legacy_schema = if is_snapshot {
            config_str(node, "target_schema")
        } else {
            None
        };
        let legacy_db = if is_snapshot {
            config_str(node, "target_database")
        } else {
            None
        };
        let custom_schema = config_str(node, "schema").or_else(|| {
            (node.resource_type == ResourceType::Test).then(|| "dbt_test__audit".to_owned())
        });
        let model = if self.custom.iter().any(|c| *c) {
            Some(model_value(node))
        } else {
            None
        };
        let call = |kind: usize, custom: Option<String>| -> Result<String, JinjaError> {
            let name = format!("generate_{}_name", KINDS[kind]);
            let package = [root, node.package_name.as_str(), INTERNAL_PACKAGE]
                .into_iter()
                .find(|p| runtime.registry().lookup_in(p, &name).is_some())
                .unwrap_or(INTERNAL_PACKAGE);
            let args = [
                custom.map_or(JinjaValue::from(()), JinjaValue::from),
                model.clone().unwrap_or_default(),
            ];
            let scope = NodeScope::new(root, Some(node.unique_id.as_str()))
                .set("execute", JinjaValue::from(false));
            let v = runtime.call_macro(run, scope, Some(package), &name, &args)?;
            Ok(mfb_jinja::collections::python_str(&v).trim().to_owned())
        };
        node.database = match legacy_db {
            Some(db) => db,
            None if self.custom[0] => call(0, config_str(node, "database"))?,
            None => config_str(node, "database")
                .map_or_else(|| target_db.to_owned(), |d| d.trim().to_owned()),
        };
        node.schema = match legacy_schema {
            Some(s) => s,
            None if self.custom[1] => call(1, custom_schema)?,
            None => match custom_schema {
                Some(c) => format!("{target_schema}_{}", c.trim()),
                None => target_schema.to_owned(),
            },
        };
        node.alias = if self.custom[2] {
            call(2, config_str(node, "alias"))?
        } else {
            match config_str(node, "alias") {
                Some(a) => a.trim().to_owned(),
                None => node.alias.clone(),
            }
        };
        let has_relation = match node.resource_type {
            ResourceType::Model => {
                node.config.get("materialized").and_then(Value::as_str) != Some("ephemeral")
            }
            ResourceType::Seed | ResourceType::Snapshot => true,
            _ => false,
        };
        node.relation_name = has_relation.then(|| crate::context::node_relation(node).render());
        Ok(())
    }
}
