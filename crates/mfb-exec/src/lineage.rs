//! Column lineage of a compiled project, for the docs site: every model's compiled SQL
//! parsed once (in parallel) and analysed in DAG order by `mfb-sql`, `select *` expanded
//! from the catalog and from the upstream models already analysed. SQL that does not parse
//! is a warning naming the compiled file and line, never an error.

use std::collections::{BTreeMap, HashMap};

use mfb_diagnostics::Diagnostic;
use mfb_graph::ResourceType;
use mfb_sql::{Coverage, SchemaMap, TableRef};
use rayon::prelude::*;
use serde_json::Value;

use crate::Parsed;

/// One upstream column of a column: (upstream unique id, its column, how it is derived).
pub type Source = (String, String, &'static str);

/// What [`column_lineage`] found.
#[derive(Debug, Default)]
pub struct LineageReport {
    /// unique id -> column -> the upstream columns it comes from.
    pub lineage: BTreeMap<String, BTreeMap<String, Vec<Source>>>,
    /// How many models were fully analysed.
    pub coverage: Coverage,
    /// SQL that does not parse, one warning per model.
    pub warnings: Vec<Diagnostic>,
}

/// Relations of the project (models, seeds, snapshots, sources) by database, schema, name.
struct Owners {
    full: HashMap<(String, String, String), String>,
    by_schema: HashMap<(String, String), Option<String>>,
    by_name: HashMap<String, Option<String>>,
}

impl Owners {
    fn insert(&mut self, db: &str, schema: &str, name: &str, id: &str) {
        self.full.insert(
            (db.to_owned(), schema.to_owned(), name.to_owned()),
            id.to_owned(),
        );
        self.by_schema
            .entry((schema.to_owned(), name.to_owned()))
            .and_modify(|e| *e = None)
            .or_insert_with(|| Some(id.to_owned()));
        self.by_name
            .entry(name.to_owned())
            .and_modify(|e| *e = None)
            .or_insert_with(|| Some(id.to_owned()));
    }

    fn find(&self, t: &TableRef) -> Option<&str> {
        match (&t.database, &t.schema) {
            (Some(d), Some(s)) => self
                .full
                .get(&(d.clone(), s.clone(), t.name.clone()))
                .map(String::as_str),
            (None, Some(s)) => self.by_schema.get(&(s.clone(), t.name.clone()))?.as_deref(),
            _ => self.by_name.get(&t.name)?.as_deref(),
        }
    }
}

/// The columns of every relation in `catalog` (catalog.json's document), in order.
fn catalog_columns(catalog: &Value, schema: &mut SchemaMap) {
    for section in ["nodes", "sources"] {
        let Some(entries) = catalog[section].as_object() else {
            continue;
        };
        for entry in entries.values() {
            let meta = &entry["metadata"];
            let (Some(db), Some(s), Some(name)) = (
                meta["database"].as_str(),
                meta["schema"].as_str(),
                meta["name"].as_str(),
            ) else {
                continue;
            };
            let mut columns: Vec<(i64, String)> = entry["columns"]
                .as_object()
                .map(|cs| {
                    cs.values()
                        .filter_map(|c| {
                            Some((
                                c["index"].as_i64().unwrap_or(0),
                                c["name"].as_str()?.to_owned(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            columns.sort();
            schema.insert(db, s, name, columns.into_iter().map(|(_, c)| c).collect());
        }
    }
}

/// Column lineage of every compiled model (run after `compile`); `catalog` is catalog.json's
/// document when there is one.
pub fn column_lineage(parsed: &Parsed, catalog: Option<&Value>) -> LineageReport {
    let manifest = &parsed.manifest;
    let mut owners = Owners {
        full: HashMap::new(),
        by_schema: HashMap::new(),
        by_name: HashMap::new(),
    };
    for n in manifest.nodes.values() {
        if matches!(
            n.resource_type,
            ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
        ) {
            owners.insert(&n.database, &n.schema, &n.alias, n.unique_id.as_str());
        }
    }
    for s in manifest.sources.values() {
        owners.insert(&s.database, &s.schema, &s.identifier, s.unique_id.as_str());
    }
    let mut schema = SchemaMap::default();
    if let Some(c) = catalog {
        catalog_columns(c, &mut schema);
    }
    // Models in DAG order, so `select *` of an upstream model sees its analysed columns.
    let order: Vec<&mfb_graph::Node> = parsed
        .dag
        .topo_order()
        .iter()
        .filter_map(|id| manifest.nodes.get(id))
        .filter(|n| n.resource_type == ResourceType::Model && n.compiled_code.is_some())
        .collect();
    let parsed_sql: Vec<_> = order
        .par_iter()
        .map(|n| mfb_sql::parse(n.compiled_code.as_deref().unwrap_or_default()))
        .collect();
    let compiled_dir = crate::compile::target_dir(parsed).join("compiled");
    let mut report = LineageReport::default();
    for (node, sql) in order.iter().zip(parsed_sql) {
        let outcome = sql.map(|p| p.analyze(&schema));
        report.coverage.add(&outcome);
        match outcome {
            Err(problem) => {
                let file = crate::compile::compiled_path(&compiled_dir, node);
                report.warnings.push(
                    problem
                        .into_warning(&file, node.compiled_code.as_deref().unwrap_or_default())
                        .with_note(format!(
                            "column lineage of {} is unknown; the build is not affected",
                            node.unique_id
                        )),
                );
            }
            Ok(analysis) => {
                if analysis.columns_known {
                    schema.insert(
                        &node.database,
                        &node.schema,
                        &node.alias,
                        analysis.columns.iter().map(|c| c.name.clone()).collect(),
                    );
                }
                let mut columns = BTreeMap::new();
                for column in &analysis.columns {
                    let sources: Vec<Source> = column
                        .sources
                        .iter()
                        .filter_map(|s| {
                            Some((
                                owners.find(&s.table)?.to_owned(),
                                s.column.clone(),
                                column.kind.as_str(),
                            ))
                        })
                        .collect();
                    columns.insert(column.name.clone(), sources);
                }
                report.lineage.insert(node.unique_id.to_string(), columns);
            }
        }
    }
    report
}
