//! Values and resolvers handed to the Jinja runtime for each node.
//!
//! At parse time `ref()`/`source()` return placeholder relations (the real names are not
//! known until every node's config is); at compile time they resolve through a
//! [`RefIndex`] built once from the manifest.

use std::sync::Arc;

use mfb_graph::{Manifest, Node, ResourceType};
use mfb_jinja::object as minijinja_object;
use mfb_jinja::{JinjaValue, Relation, Resolver};
use serde_json::{Value, json};

/// Resolves refs at parse time to placeholder relations in the target schema.
pub struct ParseResolver {
    pub database: String,
    pub schema: String,
}

impl Resolver for ParseResolver {
    fn resolve_ref(
        &self,
        _package: Option<&str>,
        name: &str,
        _version: Option<&str>,
    ) -> Result<Relation, String> {
        Ok(Relation::new(&self.database, &self.schema, name, None))
    }
    fn resolve_source(&self, source: &str, table: &str) -> Result<Relation, String> {
        Ok(Relation::new(&self.database, source, table, None))
    }
}

/// What a `ref()` can point at.
#[derive(Debug, Clone)]
pub struct RefTarget {
    pub unique_id: String,
    /// The model version, and whether `ref()` without a version picks this one.
    pub version: Option<String>,
    pub is_latest: bool,
    pub package: String,
    pub relation: Relation,
}

/// Every ref-able node and source by name, with its relation.
#[derive(Debug, Default)]
pub struct RefIndex {
    by_name: foldhash::HashMap<String, Vec<RefTarget>>,
    sources: foldhash::HashMap<(String, String), (String, Relation)>,
    root_package: String,
}

impl RefIndex {
    /// Indexes models, seeds and snapshots (enabled ones) and sources.
    pub fn build(manifest: &Manifest) -> Self {
        let mut index = RefIndex {
            root_package: manifest.project_name.clone(),
            ..RefIndex::default()
        };
        for node in manifest.nodes.values() {
            if !matches!(
                node.resource_type,
                ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
            ) {
                continue;
            }
            index
                .by_name
                .entry(node.name.clone())
                .or_default()
                .push(RefTarget {
                    unique_id: node.unique_id.to_string(),
                    version: node.version.clone(),
                    is_latest: node.version.is_none() || node.version == node.latest_version,
                    package: node.package_name.clone(),
                    relation: node_relation(node),
                });
        }
        for src in manifest.sources.values() {
            let rel = with_quoting(
                Relation::new(&src.database, &src.schema, &src.identifier, Some("table")),
                &src.quoting,
            );
            index.sources.insert(
                (src.source_name.clone(), src.name.clone()),
                (src.unique_id.to_string(), rel),
            );
        }
        index
    }

    /// dbt's search order: an explicit package; else the root project, then the node's
    /// own package, then any package.
    pub fn find(
        &self,
        from_package: &str,
        package: Option<&str>,
        name: &str,
        version: Option<&str>,
    ) -> Option<&RefTarget> {
        let candidates = self.by_name.get(name)?;
        // A version picks that version; no version picks the latest (or unversioned) one.
        let fits = |c: &&RefTarget| match version {
            Some(v) => c.version.as_deref() == Some(v),
            None => c.is_latest,
        };
        if let Some(p) = package {
            return candidates.iter().filter(fits).find(|c| c.package == p);
        }
        candidates
            .iter()
            .filter(fits)
            .find(|c| c.package == self.root_package)
            .or_else(|| {
                candidates
                    .iter()
                    .filter(fits)
                    .find(|c| c.package == from_package)
            })
            .or_else(|| candidates.iter().find(fits))
    }

    /// A source table.
    pub fn source(&self, source: &str, table: &str) -> Option<&(String, Relation)> {
        self.sources.get(&(source.to_owned(), table.to_owned()))
    }

    /// All ref-able names (for suggestions).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// All source names as `source.table` (for suggestions).
    pub fn source_names(&self) -> impl Iterator<Item = String> + '_ {
        self.sources.keys().map(|(s, t)| format!("{s}.{t}"))
    }
}

/// The relation a node is built as (a CTE name for ephemeral models).
pub fn node_relation(node: &Node) -> Relation {
    if node.config.get("materialized").and_then(Value::as_str) == Some("ephemeral") {
        return Relation::cte(&node.alias);
    }
    let kind = match node.config.get("materialized").and_then(Value::as_str) {
        Some("view") => "view",
        Some("materialized_view") => "materialized_view",
        _ => "table",
    };
    let rel = Relation::new(&node.database, &node.schema, &node.alias, Some(kind));
    match node.config.get("quoting").and_then(Value::as_object) {
        Some(q) => with_quoting(
            rel,
            &q.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        ),
        None => rel,
    }
}

/// Applies a `quoting:` config (`database`/`schema`/`identifier` booleans) to a relation.
pub fn with_quoting(mut rel: Relation, quoting: &indexmap::IndexMap<String, Value>) -> Relation {
    for (i, key) in ["database", "schema", "identifier"].iter().enumerate() {
        if let Some(b) = quoting.get(*key).and_then(Value::as_bool) {
            rel.quote[i] = b;
        }
    }
    rel
}

/// Resolves refs at compile time.
pub struct CompileResolver {
    pub index: Arc<RefIndex>,
    pub package: String,
}

impl Resolver for CompileResolver {
    fn resolve_ref(
        &self,
        package: Option<&str>,
        name: &str,
        version: Option<&str>,
    ) -> Result<Relation, String> {
        self.index
            .find(&self.package, package, name, version)
            .map(|t| t.relation.clone())
            .ok_or_else(|| format!("ref('{name}') does not name a model, seed or snapshot"))
    }
    fn resolve_source(&self, source: &str, table: &str) -> Result<Relation, String> {
        self.index
            .source(source, table)
            .map(|(_, r)| r.clone())
            .ok_or_else(|| format!("source('{source}', '{table}') is not defined"))
    }
}

/// A node as templates see it (`model`, and nodes in `graph.nodes`).
pub fn node_json(node: &Node) -> Value {
    let mut config = serde_json::Map::new();
    for (k, v) in &node.config {
        config.insert(k.clone(), v.clone());
    }
    for hook in ["pre-hook", "post-hook"] {
        let hooks = node
            .config
            .get(hook)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let objs: Vec<Value> = hooks
            .iter()
            .enumerate()
            .map(|(i, h)| match h {
                Value::Object(_) => h.clone(),
                other => json!({"sql": other.as_str().unwrap_or_default(), "transaction": true, "index": i}),
            })
            .collect();
        config.insert(hook.to_owned(), Value::Array(objs));
    }
    json!({
        "unique_id": node.unique_id.as_str(),
        "name": node.name,
        "resource_type": node.resource_type.as_str(),
        "package_name": node.package_name,
        "path": node.path,
        "original_file_path": node.original_file_path,
        "patch_path": node.patch_path,
        "fqn": node.fqn,
        "alias": node.alias,
        "schema": node.schema,
        "database": node.database,
        "identifier": node.alias,
        "relation_name": node.relation_name,
        "config": Value::Object(config),
        "tags": node.tags,
        "description": node.description,
        "meta": node.meta,
        "columns": node.columns.iter().map(|(k, c)| (k.clone(), json!({
            "name": c.name, "description": c.description, "meta": c.meta, "data_type": c.data_type,
            "constraints": c.constraints, "quote": c.quote, "tags": c.tags,
        }))).collect::<serde_json::Map<String, Value>>(),
        "refs": node.refs.iter().map(|r| json!({"name": r.name, "package": r.package, "version": r.version})).collect::<Vec<_>>(),
        "sources": node.sources,
        "depends_on": {"macros": node.depends_on.macros, "nodes": node.depends_on.nodes},
        "raw_code": &*node.raw_code,
        "raw_sql": &*node.raw_code,
        "language": "sql",
        "compiled_code": node.compiled_code,
        "checksum": {"name": "sha256", "checksum": node.checksum},
        "test_metadata": node.test_metadata.as_ref().map(|t| json!({"name": t.name, "kwargs": t.kwargs, "namespace": t.namespace})),
        "column_name": node.column_name,
        "version": node.version,
        "latest_version": node.latest_version,
        "attached_node": node.attached_node,
        "file_key_name": node.file_key_name,
    })
}

/// `scope` with the node's `model` value, unless nothing rendering `source` can read it
/// (building it copies the whole node, and most renders never look at it).
pub fn with_model(
    scope: mfb_jinja::NodeScope,
    runtime: &mfb_jinja::Runtime,
    source: &str,
    node: &Node,
) -> mfb_jinja::NodeScope {
    if runtime.may_read_model(source) {
        scope.set("model", model_value(node))
    } else {
        scope
    }
}

/// `model` for templates. Built on first access: most renders never look at it, and
/// converting a node to a template value is the costliest part of a render.
pub fn model_value(node: &Node) -> JinjaValue {
    JinjaValue::from_object(LazyModel {
        node: Box::new(node.clone()),
        value: std::sync::OnceLock::new(),
    })
}

#[derive(Debug)]
struct LazyModel {
    node: Box<Node>,
    value: std::sync::OnceLock<JinjaValue>,
}

impl LazyModel {
    fn value(&self) -> &JinjaValue {
        self.value
            .get_or_init(|| mfb_jinja::collections::from_serde(&node_json(&self.node)))
    }
}

impl minijinja_object::Object for LazyModel {
    fn get_value(self: &Arc<Self>, key: &JinjaValue) -> Option<JinjaValue> {
        // The commonest lookups skip building the whole value.
        match key.as_str()? {
            "name" => Some(JinjaValue::from(self.node.name.as_str())),
            "unique_id" => Some(JinjaValue::from(self.node.unique_id.as_str())),
            "resource_type" => Some(JinjaValue::from(self.node.resource_type.as_str())),
            "package_name" => Some(JinjaValue::from(self.node.package_name.as_str())),
            _ => self
                .value()
                .get_item(key)
                .ok()
                .filter(|v| !v.is_undefined()),
        }
    }
    fn enumerate(self: &Arc<Self>) -> minijinja_object::Enumerator {
        minijinja_object::Enumerator::Values(
            self.value()
                .try_iter()
                .map(Iterator::collect)
                .unwrap_or_default(),
        )
    }
}

/// `graph` for templates: nodes, sources, exposures and macros by unique id.
pub fn graph_json(manifest: &Manifest) -> Value {
    let nodes: serde_json::Map<String, Value> = manifest
        .nodes
        .iter()
        .map(|(id, n)| (id.to_string(), node_json(n)))
        .collect();
    let sources: serde_json::Map<String, Value> = manifest
        .sources
        .iter()
        .map(|(id, s)| {
            (
                id.to_string(),
                json!({
                    "unique_id": id.as_str(), "name": s.name, "source_name": s.source_name, "resource_type": "source",
                    "package_name": s.package_name, "identifier": s.identifier, "schema": s.schema, "database": s.database,
                    "relation_name": s.relation_name, "fqn": s.fqn, "path": s.path, "original_file_path": s.original_file_path,
                    "description": s.description, "loader": s.loader, "loaded_at_field": s.loaded_at_field,
                    "freshness": s.freshness, "meta": s.meta, "tags": s.tags, "config": s.config,
                    "columns": s.columns.keys().map(|k| (k.clone(), json!({"name": k}))).collect::<serde_json::Map<String, Value>>(),
                }),
            )
        })
        .collect();
    let exposures: serde_json::Map<String, Value> = manifest
        .exposures
        .iter()
        .map(|(id, e)| (id.to_string(), json!({"unique_id": id.as_str(), "name": e.name, "resource_type": "exposure", "type": e.exposure_type, "depends_on": {"nodes": e.depends_on.nodes}, "tags": e.tags, "meta": e.meta})))
        .collect();
    json!({"nodes": nodes, "sources": sources, "exposures": exposures, "metrics": {}, "groups": {}, "semantic_models": {}, "saved_queries": {}, "unit_tests": {}})
}
