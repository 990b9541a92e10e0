//! `target/manifest.json` in dbt's v12 shape.
//!
//! Field names, nesting and order follow what dbt-core 1.10 writes for each resource type
//! (checked by a test against a trimmed key list taken from a real `dbt parse`). Configs
//! carry dbt's defaults for keys the project did not set. Values mfb does not track are
//! written as dbt writes them when unset: `unrendered_config` is `{}`, `build_path` is
//! null, and `created_at` is the manifest's generation time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use indexmap::IndexMap;
use md5::{Digest, Md5};
use serde_json::{Map, Value, json};

use crate::{
    ColumnInfo, DocNode, Exposure, MacroNode, Manifest, Node, RefCall, ResourceType, SourceNode,
};

/// The `dbt_schema_version` written in `metadata`.
pub const SCHEMA_VERSION: &str = "https://schemas.getdbt.com/dbt/manifest/v12.json";
/// The dbt version mfb's artifacts claim compatibility with.
pub const DBT_VERSION: &str = "1.10.9";

/// The manifest as dbt's v12 JSON document.
pub fn manifest_json(manifest: &Manifest) -> Value {
    let created_at = epoch_seconds(&manifest.generated_at);
    let primary_keys = primary_keys(manifest);
    let ctx = Ctx {
        created_at,
        primary_keys: &primary_keys,
    };

    let mut nodes = Map::with_capacity(manifest.nodes.len());
    let mut unit_tests = Map::new();
    for (id, node) in &manifest.nodes {
        if node.resource_type == ResourceType::UnitTest {
            unit_tests.insert(id.to_string(), unit_test_json(node, &ctx));
        } else {
            nodes.insert(id.to_string(), node_json(node, &ctx));
        }
    }
    let sources: Map<String, Value> = manifest
        .sources
        .iter()
        .map(|(id, s)| (id.to_string(), source_json(s, &ctx)))
        .collect();
    let macros: Map<String, Value> = manifest
        .macros
        .iter()
        .map(|(id, m)| (id.to_string(), macro_json(m, &ctx)))
        .collect();
    let docs: Map<String, Value> = manifest
        .docs
        .iter()
        .map(|(id, d)| (id.to_string(), doc_json(d)))
        .collect();
    let exposures: Map<String, Value> = manifest
        .exposures
        .iter()
        .map(|(id, e)| (id.to_string(), exposure_json(e, &ctx)))
        .collect();
    let disabled: Map<String, Value> = manifest
        .disabled
        .iter()
        .map(|(id, n)| {
            let body = if n.resource_type == ResourceType::UnitTest {
                unit_test_json(n, &ctx)
            } else {
                node_json(n, &ctx)
            };
            (id.to_string(), Value::Array(vec![body]))
        })
        .collect();
    let (parent_map, child_map) = dependency_maps(manifest);

    let mut doc = Map::with_capacity(16);
    doc.insert("metadata".into(), metadata_json(manifest));
    doc.insert("nodes".into(), Value::Object(nodes));
    doc.insert("sources".into(), Value::Object(sources));
    doc.insert("macros".into(), Value::Object(macros));
    doc.insert("docs".into(), Value::Object(docs));
    doc.insert("exposures".into(), Value::Object(exposures));
    doc.insert("metrics".into(), json!({}));
    doc.insert("groups".into(), json!({}));
    doc.insert("selectors".into(), json!({}));
    doc.insert("disabled".into(), Value::Object(disabled));
    doc.insert("parent_map".into(), parent_map);
    doc.insert("child_map".into(), child_map);
    doc.insert("group_map".into(), json!({}));
    doc.insert("saved_queries".into(), json!({}));
    doc.insert("semantic_models".into(), json!({}));
    doc.insert("unit_tests".into(), Value::Object(unit_tests));
    Value::Object(doc)
}

struct Ctx<'a> {
    created_at: f64,
    primary_keys: &'a IndexMap<&'a str, Vec<String>>,
}

fn metadata_json(m: &Manifest) -> Value {
    let project_id = if m.project_name.is_empty() {
        Value::Null
    } else {
        let digest = Md5::digest(m.project_name.as_bytes());
        Value::String(digest.iter().map(|b| format!("{b:02x}")).collect())
    };
    json!({
        "dbt_schema_version": SCHEMA_VERSION,
        "dbt_version": DBT_VERSION,
        "generated_at": m.generated_at,
        "invocation_id": m.invocation_id,
        "invocation_started_at": m.generated_at,
        "env": m.env,
        "project_name": m.project_name,
        "project_id": project_id,
        "user_id": null,
        "send_anonymous_usage_stats": false,
        "adapter_type": if m.adapter_type.is_empty() { "postgres" } else { m.adapter_type.as_str() },
        "quoting": {"database": true, "schema": true, "identifier": true, "column": null},
    })
}

/// `parent_map` and `child_map`: every node, source and exposure with sorted ids.
fn dependency_maps(m: &Manifest) -> (Value, Value) {
    let mut parents: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut children: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for id in m
        .nodes
        .keys()
        .chain(m.sources.keys())
        .chain(m.exposures.keys())
    {
        parents.entry(id.as_str()).or_default();
        children.entry(id.as_str()).or_default();
    }
    let deps = m
        .nodes
        .iter()
        .map(|(id, n)| (id, &n.depends_on.nodes))
        .chain(m.exposures.iter().map(|(id, e)| (id, &e.depends_on.nodes)));
    for (id, dep_ids) in deps {
        for dep in dep_ids {
            parents.entry(id.as_str()).or_default().insert(dep.as_str());
            children
                .entry(dep.as_str())
                .or_default()
                .insert(id.as_str());
        }
    }
    let to_json = |map: BTreeMap<&str, BTreeSet<&str>>| -> Value {
        Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    (
                        k.to_owned(),
                        Value::Array(v.into_iter().map(|s| Value::String(s.to_owned())).collect()),
                    )
                })
                .collect(),
        )
    };
    (to_json(parents), to_json(children))
}

/// Columns that have both a `unique` and a `not_null` test, per tested node (dbt's
/// inferred `primary_key`).
fn primary_keys(m: &Manifest) -> IndexMap<&str, Vec<String>> {
    let mut seen: IndexMap<&str, BTreeMap<&str, (bool, bool)>> = IndexMap::new();
    for n in m.nodes.values() {
        let (Some(tm), Some(attached), Some(col)) =
            (&n.test_metadata, &n.attached_node, &n.column_name)
        else {
            continue;
        };
        let entry = seen
            .entry(attached.as_str())
            .or_default()
            .entry(col.as_str())
            .or_default();
        match tm.name.as_str() {
            "unique" => entry.0 = true,
            "not_null" => entry.1 = true,
            _ => {}
        }
    }
    seen.into_iter()
        .map(|(node, cols)| {
            let keys = cols
                .into_iter()
                .filter(|(_, (u, nn))| *u && *nn)
                .map(|(c, _)| c.to_owned())
                .collect();
            (node, keys)
        })
        .collect()
}

fn node_json(n: &Node, ctx: &Ctx<'_>) -> Value {
    let config = node_config_json(n);
    let mut o = Map::with_capacity(48);
    let rt = n.resource_type;
    let relation_like = matches!(
        rt,
        ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
    );
    o.insert("database".into(), non_empty(&n.database));
    o.insert("schema".into(), non_empty(&n.schema));
    o.insert("name".into(), n.name.clone().into());
    o.insert("resource_type".into(), rt.as_str().into());
    o.insert("package_name".into(), n.package_name.clone().into());
    o.insert("path".into(), n.path.clone().into());
    o.insert(
        "original_file_path".into(),
        n.original_file_path.clone().into(),
    );
    o.insert("unique_id".into(), n.unique_id.as_str().into());
    o.insert("fqn".into(), n.fqn.clone().into());
    o.insert(
        "alias".into(),
        if n.alias.is_empty() {
            n.name.clone()
        } else {
            n.alias.clone()
        }
        .into(),
    );
    o.insert("checksum".into(), checksum_json(&n.checksum));
    o.insert("config".into(), Value::Null); // filled last, kept in dbt's position
    o.insert("tags".into(), n.tags.clone().into());
    o.insert("description".into(), n.description.clone().into());
    o.insert("columns".into(), columns_json(&n.columns));
    o.insert("meta".into(), map_json(&n.meta));
    o.insert(
        "group".into(),
        config.get("group").cloned().unwrap_or(Value::Null),
    );
    o.insert(
        "docs".into(),
        config
            .get("docs")
            .cloned()
            .unwrap_or_else(|| json!({"show": true, "node_color": null})),
    );
    o.insert("patch_path".into(), n.patch_path.clone().into());
    o.insert("build_path".into(), Value::Null);
    o.insert("unrendered_config".into(), json!({}));
    o.insert("created_at".into(), ctx.created_at.into());
    o.insert(
        "relation_name".into(),
        if relation_like && materialized(&config) != Some("ephemeral") {
            n.relation_name.clone().into()
        } else {
            Value::Null
        },
    );
    o.insert("raw_code".into(), Value::String(n.raw_code.to_string()));
    o.insert("doc_blocks".into(), json!([]));
    if rt == ResourceType::Seed {
        o.insert("root_path".into(), Value::Null);
        o.insert("depends_on".into(), json!({"macros": n.depends_on.macros}));
    } else {
        o.insert("language".into(), "sql".into());
        o.insert("refs".into(), refs_json(&n.refs));
        o.insert("sources".into(), sources_json(&n.sources));
        o.insert("metrics".into(), json!([]));
        o.insert(
            "depends_on".into(),
            json!({"macros": n.depends_on.macros, "nodes": n.depends_on.nodes}),
        );
        match &n.compiled_code {
            Some(code) => {
                let compiled_path = format!(
                    "target/compiled/{}/{}",
                    n.package_name, n.original_file_path
                );
                o.insert("compiled_path".into(), compiled_path.into());
                o.insert("compiled".into(), true.into());
                o.insert("compiled_code".into(), code.clone().into());
                o.insert("extra_ctes_injected".into(), true.into());
                o.insert("extra_ctes".into(), json!([]));
            }
            None => {
                o.insert("compiled_path".into(), Value::Null);
            }
        }
        let enforced = config
            .get("contract")
            .and_then(|c| c.get("enforced"))
            .cloned()
            .unwrap_or(false.into());
        let alias_types = config
            .get("contract")
            .and_then(|c| c.get("alias_types"))
            .cloned()
            .unwrap_or(true.into());
        o.insert(
            "contract".into(),
            json!({"enforced": enforced, "alias_types": alias_types, "checksum": null}),
        );
    }
    match rt {
        ResourceType::Model => {
            o.insert(
                "access".into(),
                config
                    .get("access")
                    .cloned()
                    .unwrap_or_else(|| "protected".into()),
            );
            o.insert(
                "constraints".into(),
                config
                    .get("constraints")
                    .cloned()
                    .unwrap_or_else(|| json!([])),
            );
            o.insert("version".into(), Value::Null);
            o.insert("latest_version".into(), Value::Null);
            o.insert("deprecation_date".into(), Value::Null);
            let pk = ctx
                .primary_keys
                .get(n.unique_id.as_str())
                .cloned()
                .unwrap_or_default();
            o.insert("primary_key".into(), pk.into());
            o.insert("time_spine".into(), Value::Null);
        }
        ResourceType::Operation => {
            let index = n
                .name
                .rsplit('-')
                .next()
                .and_then(|s| s.parse::<u64>().ok());
            o.insert("index".into(), index.into());
        }
        ResourceType::Test if n.test_metadata.is_some() => {
            let tm = n.test_metadata.as_ref().expect("checked");
            o.insert("column_name".into(), n.column_name.clone().into());
            o.insert("file_key_name".into(), n.file_key_name.clone().into());
            o.insert("attached_node".into(), n.attached_node.clone().into());
            o.insert(
                "test_metadata".into(),
                json!({"name": tm.name, "kwargs": tm.kwargs, "namespace": tm.namespace}),
            );
        }
        _ => {}
    }
    o.insert("config".into(), config);
    Value::Object(o)
}

fn unit_test_json(n: &Node, ctx: &Ctx<'_>) -> Value {
    let def = n.unit_test.as_ref();
    let field = |k: &str| def.and_then(|d| d.get(k)).cloned();
    let model = field("model").unwrap_or_else(|| {
        n.attached_node
            .as_deref()
            .or(n.depends_on.nodes.first().map(String::as_str))
            .and_then(|id| id.rsplit('.').next())
            .unwrap_or_default()
            .into()
    });
    let mut expect = field("expect").unwrap_or_else(|| json!({"rows": []}));
    if let Value::Object(e) = &mut expect {
        e.entry("format").or_insert_with(|| "dict".into());
        e.entry("fixture").or_insert(Value::Null);
    }
    let mut given = field("given").unwrap_or_else(|| json!([]));
    if let Value::Array(items) = &mut given {
        for g in items.iter_mut().filter_map(Value::as_object_mut) {
            g.entry("format").or_insert_with(|| "dict".into());
            g.entry("fixture").or_insert(Value::Null);
        }
    }
    let mut config = Map::new();
    config.insert(
        "tags".into(),
        n.config
            .get("tags")
            .cloned()
            .unwrap_or_else(|| n.tags.clone().into()),
    );
    config.insert(
        "meta".into(),
        n.config
            .get("meta")
            .cloned()
            .unwrap_or_else(|| map_json(&n.meta)),
    );
    config.insert(
        "enabled".into(),
        n.config.get("enabled").cloned().unwrap_or(true.into()),
    );
    for (k, v) in &n.config {
        config.entry(k.clone()).or_insert_with(|| v.clone());
    }
    json!({
        "model": model,
        "given": given,
        "expect": expect,
        "name": n.name,
        "resource_type": "unit_test",
        "package_name": n.package_name,
        "path": n.path,
        "original_file_path": n.original_file_path,
        "unique_id": n.unique_id,
        "fqn": n.fqn,
        "description": n.description,
        "overrides": field("overrides").unwrap_or(Value::Null),
        "depends_on": {"macros": n.depends_on.macros, "nodes": n.depends_on.nodes},
        "config": config,
        "checksum": n.checksum,
        "schema": non_empty(&n.schema),
        "created_at": ctx.created_at,
        "versions": field("versions").unwrap_or(Value::Null),
        "version": field("version").unwrap_or(Value::Null),
    })
}

fn source_json(s: &SourceNode, ctx: &Ctx<'_>) -> Value {
    let quoting = json!({
        "database": s.quoting.get("database").cloned().unwrap_or(Value::Null),
        "schema": s.quoting.get("schema").cloned().unwrap_or(Value::Null),
        "identifier": s.quoting.get("identifier").cloned().unwrap_or(Value::Null),
        "column": s.quoting.get("column").cloned().unwrap_or(Value::Null),
    });
    let config = source_config_json(s);
    json!({
        "database": non_empty(&s.database),
        "schema": s.schema,
        "name": s.name,
        "resource_type": "source",
        "package_name": s.package_name,
        "path": s.path,
        "original_file_path": s.original_file_path,
        "unique_id": s.unique_id,
        "fqn": s.fqn,
        "source_name": s.source_name,
        "source_description": s.source_description,
        "loader": s.loader,
        "identifier": s.identifier,
        "quoting": quoting,
        "loaded_at_field": s.loaded_at_field,
        "loaded_at_query": null,
        "freshness": config.get("freshness").cloned().unwrap_or(Value::Null),
        "external": null,
        "description": s.description,
        "columns": columns_json(&s.columns),
        "meta": map_json(&s.meta),
        "source_meta": map_json(&s.source_meta),
        "tags": s.tags,
        "config": config,
        "patch_path": null,
        "unrendered_config": {},
        "relation_name": s.relation_name,
        "created_at": ctx.created_at,
        "unrendered_database": null,
        "unrendered_schema": null,
        "doc_blocks": [],
    })
}

fn macro_json(m: &MacroNode, ctx: &Ctx<'_>) -> Value {
    json!({
        "name": m.name,
        "resource_type": "macro",
        "package_name": m.package_name,
        "path": m.path,
        "original_file_path": m.original_file_path,
        "unique_id": m.unique_id,
        "macro_sql": &*m.macro_sql,
        "depends_on": {"macros": m.depends_on_macros},
        "description": m.description,
        "meta": map_json(&m.meta),
        "docs": {"show": true, "node_color": null},
        "patch_path": null,
        "arguments": m.arguments,
        "created_at": ctx.created_at,
        "supported_languages": null,
    })
}

fn doc_json(d: &DocNode) -> Value {
    json!({
        "name": d.name,
        "resource_type": "doc",
        "package_name": d.package_name,
        "path": d.path,
        "original_file_path": d.original_file_path,
        "unique_id": d.unique_id,
        "block_contents": d.block_contents,
    })
}

fn exposure_json(e: &Exposure, ctx: &Ctx<'_>) -> Value {
    json!({
        "name": e.name,
        "resource_type": "exposure",
        "package_name": e.package_name,
        "path": e.path,
        "original_file_path": e.original_file_path,
        "unique_id": e.unique_id,
        "fqn": e.fqn,
        "type": e.exposure_type,
        "owner": e.owner,
        "description": e.description,
        "label": e.label,
        "maturity": e.maturity,
        "meta": map_json(&e.meta),
        "tags": e.tags,
        "config": exposure_config_json(e),
        "unrendered_config": {},
        "url": e.url,
        "depends_on": {"macros": e.depends_on.macros, "nodes": e.depends_on.nodes},
        "refs": refs_json(&e.refs),
        "sources": sources_json(&e.sources),
        "metrics": [],
        "created_at": ctx.created_at,
    })
}

/// A node's `config` as dbt writes it: dbt's defaults for its resource type, overlaid by
/// the resolved config; hooks as `[{sql, transaction, index}]`; `tags`/`meta` from the
/// node when the config lacks them.
pub fn node_config_json(n: &Node) -> Value {
    let mut out: Map<String, Value> = match defaults_for(n.resource_type) {
        Some(d) => d.clone(),
        None => Map::new(),
    };
    if !n.config.contains_key("tags") {
        out.insert("tags".into(), n.tags.clone().into());
    }
    if !n.config.contains_key("meta") && !n.meta.is_empty() {
        out.insert("meta".into(), map_json(&n.meta));
    }
    for (k, v) in &n.config {
        let key = match k.as_str() {
            "pre_hook" => "pre-hook",
            "post_hook" => "post-hook",
            other => other,
        };
        let value = match key {
            "pre-hook" | "post-hook" => hooks_json(v),
            "docs" | "contract" | "persist_docs" => merge_object(out.get(key), v),
            _ => v.clone(),
        };
        out.insert(key.to_owned(), value);
    }
    Value::Object(out)
}

/// A source's `config` as dbt writes it.
pub fn source_config_json(s: &SourceNode) -> Value {
    let freshness = s.freshness.clone().unwrap_or_else(|| {
        json!({
            "warn_after": {"count": null, "period": null},
            "error_after": {"count": null, "period": null},
            "filter": null,
        })
    });
    let mut out = Map::new();
    out.insert("enabled".into(), true.into());
    out.insert("event_time".into(), Value::Null);
    out.insert("freshness".into(), freshness);
    out.insert("loaded_at_field".into(), s.loaded_at_field.clone().into());
    out.insert("loaded_at_query".into(), Value::Null);
    out.insert("meta".into(), map_json(&s.meta));
    out.insert("tags".into(), s.tags.clone().into());
    for (k, v) in &s.config {
        out.insert(k.clone(), v.clone());
    }
    Value::Object(out)
}

/// An exposure's `config` as dbt writes it.
pub fn exposure_config_json(e: &Exposure) -> Value {
    let mut out = Map::new();
    out.insert("enabled".into(), true.into());
    out.insert("tags".into(), e.tags.clone().into());
    out.insert("meta".into(), map_json(&e.meta));
    for (k, v) in &e.config {
        out.insert(k.clone(), v.clone());
    }
    Value::Object(out)
}

/// dbt's default for a config key of a resource type, if dbt has one.
pub(crate) fn default_config_value(rt: ResourceType, key: &str) -> Option<&'static Value> {
    defaults_for(rt).and_then(|d| d.get(key))
}

fn defaults_for(rt: ResourceType) -> Option<&'static Map<String, Value>> {
    static DEFAULTS: LazyLock<IndexMap<ResourceType, Map<String, Value>>> =
        LazyLock::new(build_defaults);
    DEFAULTS.get(&rt)
}

fn build_defaults() -> IndexMap<ResourceType, Map<String, Value>> {
    let base = |materialized: &str| -> Map<String, Value> {
        let v = json!({
            "enabled": true, "alias": null, "schema": null, "database": null, "tags": [], "meta": {},
            "group": null, "materialized": materialized, "incremental_strategy": null,
            "batch_size": null, "lookback": 1, "begin": null, "persist_docs": {},
            "post-hook": [], "pre-hook": [], "quoting": {}, "column_types": {},
            "full_refresh": null, "unique_key": null, "on_schema_change": "ignore",
            "on_configuration_change": "apply", "grants": {}, "packages": [],
            "docs": {"show": true, "node_color": null},
            "contract": {"enforced": false, "alias_types": true},
            "event_time": null, "concurrent_batches": null,
        });
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    };
    let extend = |mut m: Map<String, Value>, extra: Value| {
        if let Value::Object(e) = extra {
            m.extend(e);
        }
        m
    };
    let mut d = IndexMap::new();
    d.insert(
        ResourceType::Model,
        extend(
            base("view"),
            json!({"access": "protected", "freshness": null}),
        ),
    );
    d.insert(
        ResourceType::Seed,
        extend(
            base("seed"),
            json!({"delimiter": ",", "quote_columns": null}),
        ),
    );
    d.insert(
        ResourceType::Snapshot,
        extend(
            base("snapshot"),
            json!({
                "strategy": null, "target_schema": null, "target_database": null,
                "updated_at": null, "check_cols": null,
                "snapshot_meta_column_names": {
                    "dbt_valid_to": null, "dbt_valid_from": null, "dbt_scd_id": null,
                    "dbt_updated_at": null, "dbt_is_deleted": null,
                },
                "dbt_valid_to_current": null,
            }),
        ),
    );
    d.insert(ResourceType::Analysis, base("view"));
    d.insert(ResourceType::Operation, base("view"));
    let test = json!({
        "enabled": true, "alias": null, "schema": "dbt_test__audit", "database": null,
        "tags": [], "meta": {}, "group": null, "materialized": "test", "severity": "ERROR",
        "store_failures": null, "store_failures_as": null, "where": null, "limit": null,
        "fail_calc": "count(*)", "warn_if": "!= 0", "error_if": "!= 0",
    });
    if let Value::Object(t) = test {
        d.insert(ResourceType::Test, t);
    }
    if let Value::Object(u) = json!({"tags": [], "meta": {}, "enabled": true}) {
        d.insert(ResourceType::UnitTest, u);
    }
    if let Value::Object(s) = json!({"enabled": true, "tags": [], "meta": {}}) {
        d.insert(ResourceType::Source, s.clone());
        d.insert(ResourceType::Exposure, s);
    }
    d
}

/// Hooks as dbt stores them: a list of `{sql, transaction, index}`.
fn hooks_json(v: &Value) -> Value {
    let one = |h: &Value| -> Value {
        match h {
            Value::String(sql) => json!({"sql": sql, "transaction": true, "index": null}),
            Value::Object(m) => json!({
                "sql": m.get("sql").cloned().unwrap_or_else(|| "".into()),
                "transaction": m.get("transaction").cloned().unwrap_or(true.into()),
                "index": m.get("index").cloned().unwrap_or(Value::Null),
            }),
            other => json!({"sql": other.to_string(), "transaction": true, "index": null}),
        }
    };
    match v {
        Value::Null => json!([]),
        Value::Array(items) => Value::Array(items.iter().map(one).collect()),
        other => Value::Array(vec![one(other)]),
    }
}

fn merge_object(base: Option<&Value>, over: &Value) -> Value {
    match (base, over) {
        (Some(Value::Object(b)), Value::Object(o)) => {
            let mut m = b.clone();
            for (k, v) in o {
                m.insert(k.clone(), v.clone());
            }
            Value::Object(m)
        }
        _ => over.clone(),
    }
}

fn materialized(config: &Value) -> Option<&str> {
    config.get("materialized").and_then(Value::as_str)
}

fn checksum_json(sum: &str) -> Value {
    if sum.is_empty() {
        json!({"name": "none", "checksum": ""})
    } else {
        json!({"name": "sha256", "checksum": sum})
    }
}

fn non_empty(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::String(s.to_owned())
    }
}

fn map_json(m: &IndexMap<String, Value>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn refs_json(refs: &[RefCall]) -> Value {
    Value::Array(
        refs.iter()
            .map(|r| json!({"name": r.name, "package": r.package, "version": r.version}))
            .collect(),
    )
}

fn sources_json(sources: &[[String; 2]]) -> Value {
    Value::Array(sources.iter().map(|[a, b]| json!([a, b])).collect())
}

fn columns_json(cols: &IndexMap<String, ColumnInfo>) -> Value {
    Value::Object(
        cols.iter()
            .map(|(k, c)| {
                (
                    k.clone(),
                    json!({
                        "name": c.name,
                        "description": c.description,
                        "meta": map_json(&c.meta),
                        "data_type": c.data_type,
                        "constraints": c.constraints,
                        "quote": c.quote,
                        "config": {"meta": map_json(&c.meta), "tags": c.tags},
                        "tags": c.tags,
                        "granularity": null,
                        "doc_blocks": [],
                    }),
                )
            })
            .collect(),
    )
}

/// Seconds since the Unix epoch of an ISO-8601 UTC time (`2024-05-01T12:00:00.5Z`); 0
/// when it does not parse.
fn epoch_seconds(iso: &str) -> f64 {
    let parse = || -> Option<f64> {
        let (date, time) = iso.trim_end_matches('Z').split_once(['T', ' '])?;
        let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
        let (y, m, day) = (d.next()??, d.next()??, d.next()??);
        let time = time.split(['+']).next()?;
        let mut t = time.split(':');
        let (h, min) = (
            t.next()?.parse::<i64>().ok()?,
            t.next()?.parse::<i64>().ok()?,
        );
        let sec = t.next().map_or(Some(0.0), |s| s.parse::<f64>().ok())?;
        // Days from civil (Howard Hinnant's algorithm).
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        Some((days * 86_400 + h * 3600 + min * 60) as f64 + sec)
    };
    parse().unwrap_or(0.0)
}

#[cfg(test)]
mod tests;
