//! From the artifacts to the site's data: a small index every page needs at once (names,
//! descriptions, column names, graph edges and layout, RLS status, the security overview)
//! and per-node details (SQL, columns with tests and lineage, config, results) in chunks
//! the browser loads only when a page needs them.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

use crate::artifacts::{Artifacts, CatalogEntry, ColumnSource, Node, RunResult};
use crate::layout;

/// Nodes per detail chunk: small enough that opening a page parses little, large enough
/// that a 5,000-model site is not 5,000 files.
pub const CHUNK_SIZE: usize = 64;

/// Longest description kept in the index (the page shows the whole text).
const INDEX_DESCRIPTION: usize = 240;

/// The site's data.
pub struct SiteData {
    /// What the first paint needs.
    pub index: Value,
    /// Per-node details, `CHUNK_SIZE` nodes each: chunk -> unique id -> details.
    pub chunks: Vec<Map<String, Value>>,
}

/// The resource types that are nodes of the graph and have a page.
fn is_site_node(resource_type: &str) -> bool {
    matches!(
        resource_type,
        "model" | "seed" | "snapshot" | "source" | "exposure" | "analysis"
    )
}

fn type_rank(t: &str) -> u8 {
    match t {
        "source" => 0,
        "seed" => 1,
        "model" => 2,
        "snapshot" => 3,
        "analysis" => 4,
        _ => 5,
    }
}

fn materialized(node: &Node) -> Option<String> {
    match node.resource_type.as_str() {
        "model" | "snapshot" | "seed" => node
            .config
            .get("materialized")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| Some(node.resource_type.clone())),
        _ => None,
    }
}

/// The `rls:` config of a model, when it is on.
fn declared_rls(node: &Node) -> Option<Value> {
    let rls = node.config.get("rls")?;
    let obj = rls.as_object()?;
    if obj.get("enabled") == Some(&Value::Bool(false)) {
        return None;
    }
    Some(json!({
        "tenant_column": obj.get("tenant_column"),
        "mode": obj.get("mode").cloned().unwrap_or_else(|| json!("role_map")),
        "force": obj.get("force").cloned().unwrap_or(Value::Bool(false)),
        "setting": obj.get("setting"),
        "expression": obj.get("expression"),
        "additional_filters": obj.get("additional_filters"),
    }))
}

/// What kind of relation a node is in the database: `table`, `view`,
/// `materialized_view`, or `None` (ephemeral, exposure, analysis).
fn relation_kind(node: &Node, catalog: Option<&CatalogEntry>) -> Option<&'static str> {
    if let Some(kind) = catalog.and_then(|c| c.metadata.kind.as_deref()) {
        return Some(match kind {
            "VIEW" => "view",
            "MATERIALIZED VIEW" => "materialized_view",
            _ => "table",
        });
    }
    match node.resource_type.as_str() {
        "seed" | "snapshot" | "source" => Some("table"),
        "model" => match materialized(node).as_deref() {
            Some("view") => Some("view"),
            Some("ephemeral") => None,
            Some("materialized_view") => Some("materialized_view"),
            _ => Some("table"),
        },
        _ => None,
    }
}

/// One node's row-level-security facts and a one-word status:
/// `protected` (RLS on), `unprotected` (a table without RLS), `invoker` (a view that
/// reads with the caller's rights), `definer` (a view that reads with its owner's),
/// `stored` (a materialized view: a copy without RLS), or `none` (not a relation).
struct Rls {
    status: &'static str,
    detail: Value,
}

fn rls_of(node: &Node, catalog: Option<&CatalogEntry>) -> Rls {
    let declared = declared_rls(node);
    let kind = relation_kind(node, catalog);
    let stat_bool = |id: &str| catalog.and_then(|c| c.stat(id)).and_then(Value::as_bool);
    let (status, verified) = match kind {
        None => ("none", false),
        Some("view") => match stat_bool("security_invoker") {
            Some(true) => ("invoker", true),
            Some(false) => ("definer", true),
            None => ("view", false),
        },
        Some("materialized_view") => ("stored", catalog.is_some()),
        _ => match stat_bool("rls_enabled") {
            Some(true) => ("protected", true),
            Some(false) => ("unprotected", true),
            None if declared.is_some() => ("protected", false),
            None => ("unprotected", false),
        },
    };
    let policies = catalog
        .and_then(|c| c.stat("rls_policies"))
        .cloned()
        .unwrap_or(Value::Null);
    Rls {
        status,
        detail: json!({
            "status": status,
            "verified": verified,
            "relation": kind,
            "declared": declared,
            "enabled": stat_bool("rls_enabled"),
            "forced": stat_bool("rls_forced"),
            "security_invoker": stat_bool("security_invoker"),
            "policies": policies,
        }),
    }
}

fn truncate(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

fn result_json(r: &RunResult) -> Value {
    let completed = r
        .timing
        .iter()
        .filter(|t| t.name == "execute")
        .find_map(|t| t.completed_at.clone());
    json!({
        "status": r.status,
        "time": r.execution_time,
        "message": r.message,
        "failures": r.failures,
        "completed_at": completed,
    })
}

/// Builds the site's data from the artifacts.
pub fn build(a: &Artifacts) -> SiteData {
    let m = &a.manifest;
    let empty = BTreeMap::new();
    let (cat_nodes, cat_sources) = match &a.catalog {
        Some(c) => (&c.nodes, &c.sources),
        None => (&empty, &empty),
    };
    let catalog_of = |id: &str| cat_nodes.get(id).or_else(|| cat_sources.get(id));
    let results: HashMap<&str, &RunResult> = a
        .run_results
        .iter()
        .flat_map(|r| &r.results)
        .map(|r| (r.unique_id.as_str(), r))
        .collect();

    // The site's nodes, sources first, then by folder and name.
    let mut site: Vec<&Node> = m
        .nodes
        .values()
        .chain(m.sources.values())
        .chain(m.exposures.values())
        .filter(|n| is_site_node(&n.resource_type))
        .collect();
    site.sort_by(|x, y| {
        (type_rank(&x.resource_type), &x.original_file_path, &x.name).cmp(&(
            type_rank(&y.resource_type),
            &y.original_file_path,
            &y.name,
        ))
    });
    let index_of: HashMap<&str, u32> = site
        .iter()
        .enumerate()
        .map(|(i, n)| (n.unique_id.as_str(), i as u32))
        .collect();

    // Tests, by the node they are attached to.
    let mut tests_of: HashMap<&str, Vec<&Node>> = HashMap::new();
    for t in m.nodes.values().filter(|n| n.resource_type == "test") {
        let attached = t.attached_node.as_deref().or_else(|| {
            t.depends_on
                .nodes
                .iter()
                .find(|d| index_of.contains_key(d.as_str()))
                .map(String::as_str)
        });
        if let Some(att) = attached {
            tests_of.entry(att).or_default().push(t);
        }
    }

    let parents: Vec<Vec<u32>> = site
        .iter()
        .map(|n| {
            let mut ps: Vec<u32> = n
                .depends_on
                .nodes
                .iter()
                .filter_map(|d| index_of.get(d.as_str()).copied())
                .collect();
            ps.sort_unstable();
            ps.dedup();
            ps
        })
        .collect();
    let keys: Vec<String> = site
        .iter()
        .map(|n| format!("{}/{}", n.original_file_path, n.name))
        .collect();
    let places = layout::layout(&parents, &keys);

    let mut nodes_json = Vec::with_capacity(site.len());
    let mut chunks: Vec<Map<String, Value>> = Vec::new();
    let mut rls_status: Vec<&'static str> = Vec::with_capacity(site.len());
    let mut has_lineage = false;
    for (i, node) in site.iter().enumerate() {
        let id = node.unique_id.as_str();
        let cat = catalog_of(id);
        let rls = rls_of(node, cat);
        rls_status.push(rls.status);

        // Columns: as built (catalog order), then those only documented.
        let mut columns: Vec<(String, Map<String, Value>)> = Vec::new();
        let mut position: HashMap<String, usize> = HashMap::new();
        let mut add = |name: &str, columns: &mut Vec<(String, Map<String, Value>)>| -> usize {
            let key = name.to_lowercase();
            *position.entry(key).or_insert_with(|| {
                let mut c = Map::new();
                c.insert("name".into(), json!(name));
                columns.push((name.to_owned(), c));
                columns.len() - 1
            })
        };
        if let Some(cat) = cat {
            let mut cols: Vec<_> = cat.columns.iter().collect();
            cols.sort_by_key(|(_, c)| c.index.unwrap_or(i64::MAX));
            for (name, c) in cols {
                let at = add(name, &mut columns);
                let col = &mut columns[at].1;
                col.insert("type".into(), json!(c.data_type));
                if let Some(comment) = c.comment.as_deref().filter(|s| !s.is_empty()) {
                    col.insert("description".into(), json!(comment));
                }
            }
        }
        for (name, c) in &node.columns {
            let name = if c.name.is_empty() { name } else { &c.name };
            let at = add(name, &mut columns);
            let col = &mut columns[at].1;
            if !c.description.is_empty() {
                col.insert("description".into(), json!(c.description));
            }
            if let Some(t) = c.data_type.as_ref().filter(|_| !col.contains_key("type")) {
                col.insert("type".into(), json!(t));
            }
        }
        // Lineage: the manifest's own, then the given lineage (which wins).
        let mut lineage: BTreeMap<String, Vec<ColumnSource>> = node
            .columns
            .iter()
            .filter(|(_, c)| !c.lineage.is_empty())
            .map(|(name, c)| (name.clone(), c.lineage.clone()))
            .collect();
        if let Some(given) = a.lineage.0.get(id) {
            lineage.extend(given.iter().map(|(c, l)| (c.clone(), l.clone())));
        }
        for (name, sources) in &lineage {
            has_lineage = true;
            let at = add(name, &mut columns);
            columns[at].1.insert("lineage".into(), json!(sources));
        }

        // Tests: per column and for the whole node.
        let mut node_tests = Vec::new();
        let (mut passed, mut failed) = (0u32, 0u32);
        for t in tests_of.get(id).map(Vec::as_slice).unwrap_or_default() {
            let result = results.get(t.unique_id.as_str());
            match result.map(|r| r.status.as_str()) {
                Some("pass" | "success") => passed += 1,
                Some("fail" | "error" | "warn") => failed += 1,
                _ => {}
            }
            let name = t
                .test_metadata
                .as_ref()
                .map_or(t.name.as_str(), |tm| tm.name.as_str());
            let entry = json!({
                "id": t.unique_id,
                "name": name,
                "status": result.map(|r| r.status.as_str()),
                "failures": result.and_then(|r| r.failures),
                "message": result.and_then(|r| r.message.as_deref()),
            });
            match &t.column_name {
                Some(col) => {
                    let at = add(col, &mut columns);
                    let list = columns[at]
                        .1
                        .entry("tests")
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(list) = list {
                        list.push(entry);
                    }
                }
                None => node_tests.push(entry),
            }
        }

        let place = places[i];
        let column_names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        let run = results.get(id).map(|r| result_json(r));
        let chunk = i / CHUNK_SIZE;
        let mut entry = json!({
            "id": id,
            "name": node.name,
            "type": node.resource_type,
            "pkg": node.package_name,
            "path": node.original_file_path,
            "desc": truncate(&node.description, INDEX_DESCRIPTION),
            "cols": column_names,
            "up": parents[i],
            "layer": place.layer,
            "x": place.col,
            "y": place.row,
            "rls": rls.status,
        });
        let e = entry.as_object_mut().expect("an object");
        if let Some(mat) = materialized(node) {
            e.insert("mat".into(), json!(mat));
        }
        if let Some(s) = &node.source_name {
            e.insert("source".into(), json!(s));
        }
        if let Some(r) = &run {
            e.insert("status".into(), r["status"].clone());
        }
        if passed + failed > 0 {
            e.insert("tests".into(), json!([passed, failed]));
        }
        if let Some(color) = node
            .config
            .pointer("/docs/node_color")
            .and_then(Value::as_str)
        {
            e.insert("color".into(), json!(color));
        }
        nodes_json.push(entry);

        let columns_json: Vec<Value> = columns.into_iter().map(|(_, c)| Value::Object(c)).collect();
        let stats = cat.map(|c| {
            json!({
                "kind": c.metadata.kind,
                "owner": c.metadata.owner,
                "rows": c.stat("row_count"),
                "bytes": c.stat("bytes"),
            })
        });
        let details = json!({
            "description": node.description,
            "relation": node.relation_name,
            "database": node.database,
            "schema": node.schema,
            "alias": node.alias.as_ref().or(node.identifier.as_ref()),
            "tags": node.tags,
            "meta": node.meta,
            "config": node.config,
            "raw": node.raw_code,
            "compiled": node.compiled_code,
            "columns": columns_json,
            "tests": node_tests,
            "run": run,
            "rls": rls.detail,
            "catalog": stats,
            "loader": node.loader,
            "url": node.url,
            "exposure_type": node.exposure_type,
            "owner": node.owner,
        });
        if chunks.len() <= chunk {
            chunks.push(Map::new());
        }
        chunks[chunk].insert(id.to_owned(), details);
    }

    let security = security_flags(&site, &parents, &rls_status);
    let run = a.run_results.as_ref().map(|r| {
        json!({
            "generated_at": r.metadata.generated_at,
            "command": r.args.get("which"),
            "results": r.results.len(),
        })
    });
    let index = json!({
        "project": m.metadata.project_name,
        "generated_at": m.metadata.generated_at,
        "invocation_id": m.metadata.invocation_id,
        "has_catalog": a.catalog.is_some(),
        "has_lineage": has_lineage,
        "run": run,
        "chunk_size": CHUNK_SIZE,
        "chunks": chunks.len(),
        "nodes": nodes_json,
        "security": security,
    });
    SiteData { index, chunks }
}

/// Protected tables that can be read without their policy: a view with its owner's
/// rights (`definer`) or a materialized view (`stored`) reading them, directly or through
/// other views and ephemeral models, and tables built from them without RLS (`copy`).
fn security_flags(site: &[&Node], parents: &[Vec<u32>], status: &[&'static str]) -> Vec<Value> {
    let mut flags = Vec::new();
    for (v, &st) in status.iter().enumerate() {
        let kind = match st {
            "definer" => "definer_view",
            "stored" => "materialized_view",
            "unprotected" if site[v].resource_type != "source" => "unprotected_copy",
            _ => continue,
        };
        // Walk up through views and ephemeral models to the tables they read.
        let mut seen = vec![false; site.len()];
        let mut stack: Vec<u32> = parents[v].clone();
        let mut via: Vec<u32> = Vec::new();
        while let Some(p) = stack.pop() {
            let p = p as usize;
            if std::mem::replace(&mut seen[p], true) {
                continue;
            }
            match status[p] {
                "protected" => via.push(p as u32),
                "definer" | "invoker" | "view" | "none" => stack.extend(&parents[p]),
                _ => {}
            }
        }
        via.sort_unstable();
        for p in via {
            flags.push(json!({"kind": kind, "reader": v, "table": p}));
        }
    }
    flags
}
