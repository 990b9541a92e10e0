//! manifest.json shape: key sets and order per resource type against dbt-core 1.10.9.

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::ResourceType::{Analysis, Model, Operation, Seed, Snapshot, Test, UnitTest};
use crate::test_support::{exposure, generic_test, m, macro_node, manifest, node, source};
use crate::{DocNode, UniqueId};

fn expected_keys() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/dbt_manifest_v12_keys.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn expected(kind: &str) -> Vec<String> {
    serde_json::from_value(expected_keys()[kind].clone()).unwrap()
}

/// One of every resource type.
fn every_kind() -> Manifest {
    let mut model = node(
        Model,
        "orders",
        &["seed.proj.countries", "source.proj.raw.orders"],
    );
    model.config.insert(
        "post-hook".into(),
        json!(["grant select on {{ this }} to reporter"]),
    );
    model.config.insert(
        "pre_hook".into(),
        json!({"sql": "set role x", "transaction": false}),
    );
    model.config.insert("meta".into(), json!({"owner": "ops"}));
    model
        .config
        .insert("contract".into(), json!({"enforced": true}));
    model.compiled_code = Some("select 1 as id".into());
    let mut snapshot = node(Snapshot, "snap", &["source.proj.raw.orders"]);
    snapshot
        .config
        .insert("strategy".into(), json!("timestamp"));
    let mut op = node(Operation, "proj-on-run-end-0", &[]);
    op.unique_id = UniqueId::new("operation.proj.proj-on-run-end-0");
    let mut singular = node(Test, "assert_x", &[&m("orders")]);
    singular.attached_node = None;
    let mut unit = node(UnitTest, "ut_orders", &[&m("orders")]);
    unit.unique_id = UniqueId::new("unit_test.proj.orders.ut_orders");
    unit.unit_test = Some(
        json!({"model": "orders", "given": [{"input": "ref('countries')", "rows": []}], "expect": {"rows": [{"id": 1}]}}),
    );
    let mut mf = manifest(
        vec![
            model,
            node(Seed, "countries", &[]),
            snapshot,
            node(Analysis, "an", &[&m("orders")]),
            op,
            generic_test("unique", &m("orders"), "id", &[]),
            generic_test("not_null", &m("orders"), "id", &[]),
            singular,
            unit,
        ],
        vec![source("raw", "orders")],
        vec![exposure("dash", &[&m("orders")])],
    );
    let mac = macro_node("cents", "{% macro cents(x) %}{{ x }}{% endmacro %}", &[]);
    mf.macros.insert(mac.unique_id.clone(), mac);
    let doc = DocNode {
        unique_id: UniqueId::new("doc.proj.col_id"),
        package_name: "proj".into(),
        name: "col_id".into(),
        path: "docs.md".into(),
        original_file_path: "models/docs.md".into(),
        block_contents: "The id.".into(),
    };
    mf.docs.insert(doc.unique_id.clone(), doc);
    let mut off = node(Model, "off", &[]);
    off.config.insert("enabled".into(), json!(false));
    mf.disabled.insert(off.unique_id.clone(), off);
    mf
}

/// Keys dbt writes only once a node is compiled.
const COMPILED_EXTRA: [&str; 4] = [
    "compiled",
    "compiled_code",
    "extra_ctes_injected",
    "extra_ctes",
];

#[test]
fn keys_and_order_match_dbt_for_every_resource_type() {
    let doc = manifest_json(&every_kind());
    assert_eq!(keys(&doc), expected("top"));
    assert_eq!(keys(&doc["metadata"]), expected("metadata"));
    let cases = [
        ("model", "model.proj.orders"),
        ("seed", "seed.proj.countries"),
        ("snapshot", "snapshot.proj.snap"),
        ("analysis", "analysis.proj.an"),
        ("operation", "operation.proj.proj-on-run-end-0"),
        ("test_generic", "test.proj.unique_orders_id.abc123"),
        ("test_singular", "test.proj.assert_x"),
    ];
    for (kind, id) in cases {
        let n = &doc["nodes"][id];
        let mut got: Vec<&str> = keys(n);
        got.retain(|k| !COMPILED_EXTRA.contains(k));
        assert_eq!(got, expected(kind), "{kind} keys");
        assert_eq!(
            keys(&n["config"]),
            expected(&format!("{kind}.config")),
            "{kind} config keys"
        );
    }
    for (section, id) in [
        ("sources", "source.proj.raw.orders"),
        ("exposures", "exposure.proj.dash"),
        ("unit_tests", "unit_test.proj.orders.ut_orders"),
        ("macros", "macro.proj.cents"),
        ("docs", "doc.proj.col_id"),
    ] {
        let v = &doc[section][id];
        assert_eq!(keys(v), expected(section), "{section} keys");
        if v.get("config").is_some() {
            assert_eq!(
                keys(&v["config"]),
                expected(&format!("{section}.config")),
                "{section} config keys"
            );
        }
    }
    assert_eq!(
        keys(&doc["disabled"]["model.proj.off"][0]),
        expected("model")
    );
}

#[test]
fn values_are_shaped_like_dbt() {
    let doc = manifest_json(&every_kind());
    let md = &doc["metadata"];
    assert_eq!(
        md["dbt_schema_version"],
        "https://schemas.getdbt.com/dbt/manifest/v12.json"
    );
    assert_eq!(md["dbt_version"], "1.10.9");
    assert_eq!(md["adapter_type"], "postgres");
    assert_eq!(md["project_id"].as_str().unwrap().len(), 32);
    let model = &doc["nodes"]["model.proj.orders"];
    assert_eq!(model["checksum"]["name"], "sha256");
    assert_eq!(model["config"]["materialized"], "view");
    assert_eq!(model["config"]["on_schema_change"], "ignore");
    assert_eq!(
        model["config"]["docs"],
        json!({"show": true, "node_color": null})
    );
    assert_eq!(
        model["config"]["contract"],
        json!({"enforced": true, "alias_types": true})
    );
    assert_eq!(
        model["contract"],
        json!({"enforced": true, "alias_types": true, "checksum": null})
    );
    assert_eq!(
        model["config"]["post-hook"],
        json!([{"sql": "grant select on {{ this }} to reporter", "transaction": true, "index": null}])
    );
    assert_eq!(
        model["config"]["pre-hook"],
        json!([{"sql": "set role x", "transaction": false, "index": null}])
    );
    assert!(model["config"].get("pre_hook").is_none());
    assert_eq!(
        model["refs"],
        json!([{"name": "countries", "package": null, "version": null}])
    );
    assert_eq!(model["sources"], json!([["raw", "orders"]]));
    assert_eq!(model["compiled_code"], "select 1 as id");
    assert_eq!(
        model["compiled_path"],
        "target/compiled/proj/models/orders.sql"
    );
    assert_eq!(model["primary_key"], json!(["id"]));
    assert_eq!(model["created_at"], json!(1_704_067_200.0));
    let test = &doc["nodes"]["test.proj.unique_orders_id.abc123"];
    assert_eq!(test["checksum"], json!({"name": "none", "checksum": ""}));
    assert_eq!(test["config"]["severity"], "ERROR");
    assert_eq!(test["test_metadata"]["name"], "unique");
    assert_eq!(test["attached_node"], "model.proj.orders");
    assert_eq!(doc["nodes"]["operation.proj.proj-on-run-end-0"]["index"], 0);
    let ut = &doc["unit_tests"]["unit_test.proj.orders.ut_orders"];
    assert_eq!(ut["model"], "orders");
    assert_eq!(
        ut["expect"],
        json!({"rows": [{"id": 1}], "format": "dict", "fixture": null})
    );
    assert!(
        doc["nodes"]
            .get("unit_test.proj.orders.ut_orders")
            .is_none()
    );
    assert_eq!(
        doc["sources"]["source.proj.raw.orders"]["config"]["freshness"]["warn_after"],
        json!({"count": null, "period": null})
    );
    assert_eq!(doc["exposures"]["exposure.proj.dash"]["type"], "dashboard");
    assert_eq!(
        doc["disabled"]["model.proj.off"][0]["config"]["enabled"],
        false
    );
    for empty in [
        "metrics",
        "groups",
        "selectors",
        "group_map",
        "saved_queries",
        "semantic_models",
    ] {
        assert_eq!(doc[empty], json!({}), "{empty}");
    }
}

#[test]
fn streamed_document_equals_the_value() {
    let mf = every_kind();
    let mut text = Vec::new();
    write_manifest_json(&mf, &mut text).unwrap();
    let parsed: Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(parsed, manifest_json(&mf));
    assert_eq!(
        keys(&parsed["nodes"]["model.proj.orders"]),
        keys(&manifest_json(&mf)["nodes"]["model.proj.orders"])
    );
}

/// The nodes are written by sonic-rs, the rest by serde_json: the bytes must be exactly
/// what serde_json writes for the whole document, escapes and number forms included.
#[test]
fn streamed_bytes_equal_serde_json_for_awkward_strings_and_numbers() {
    let mut mf = every_kind();
    let awkward = "quote \" backslash \\ slash / tab \t nl \n cr \r ctl \u{1} \u{1f} del \u{7f} \
                   é ü 中文 \u{2028} \u{2029} emoji 😀 nul \u{0}";
    let n = mf
        .nodes
        .values_mut()
        .find(|n| n.resource_type == Model)
        .unwrap();
    n.description = awkward.to_owned();
    n.raw_code = Arc::from(awkward);
    n.compiled_code = Some(format!("{awkward}\n").repeat(50));
    let numbers = json!([
        1.0, 0.1, -0.0, 1e300, 1e-7, 5e-324, 1.5e21, 123456789.125, 0, -1,
        9007199254740993_i64, u64::MAX, i64::MIN, true, null, "", {"k é": [1.25, "v"]}
    ]);
    n.config.insert("awkward".into(), numbers.clone());
    n.meta.insert("numbers".into(), numbers.clone());
    // And in the entries after `nodes`, serialized separately.
    let mac = mf.macros.values_mut().next().unwrap();
    mac.macro_sql = Arc::from(awkward);
    mac.meta.insert("numbers".into(), numbers);
    mf.disabled.values_mut().next().unwrap().description = awkward.to_owned();
    let mut streamed = Vec::new();
    write_manifest_json(&mf, &mut streamed).unwrap();
    let whole = serde_json::to_vec(&ManifestDoc::new(&mf)).unwrap();
    assert_eq!(
        String::from_utf8(streamed).unwrap(),
        String::from_utf8(whole).unwrap()
    );
}

#[test]
fn parent_and_child_maps_cover_every_node_sorted() {
    let doc = manifest_json(&every_kind());
    let pm = &doc["parent_map"];
    let cm = &doc["child_map"];
    assert_eq!(
        pm["model.proj.orders"],
        json!(["seed.proj.countries", "source.proj.raw.orders"])
    );
    assert_eq!(pm["source.proj.raw.orders"], json!([]));
    assert_eq!(pm["exposure.proj.dash"], json!(["model.proj.orders"]));
    assert_eq!(
        pm["unit_test.proj.orders.ut_orders"],
        json!(["model.proj.orders"])
    );
    assert_eq!(
        cm["model.proj.orders"],
        json!([
            "analysis.proj.an",
            "exposure.proj.dash",
            "test.proj.assert_x",
            "test.proj.not_null_orders_id.abc123",
            "test.proj.unique_orders_id.abc123",
            "unit_test.proj.orders.ut_orders",
        ])
    );
    assert_eq!(
        cm["source.proj.raw.orders"],
        json!(["model.proj.orders", "snapshot.proj.snap"])
    );
    // Every node, source and exposure, and nothing disabled.
    assert_eq!(pm.as_object().unwrap().len(), 11);
    assert_eq!(cm.as_object().unwrap().len(), 11);
    assert!(pm.get("model.proj.off").is_none());
}

#[test]
fn defaults_do_not_override_what_the_project_set() {
    let mut n = node(Model, "x", &[]);
    n.config.insert("materialized".into(), json!("incremental"));
    n.config.insert("docs".into(), json!({"node_color": "red"}));
    n.config.insert("grants".into(), json!({"select": ["a"]}));
    n.tags = vec!["t".into()];
    let c = node_config_json(&n);
    assert_eq!(c["materialized"], "incremental");
    assert_eq!(c["docs"], json!({"show": true, "node_color": "red"}));
    assert_eq!(c["grants"], json!({"select": ["a"]}));
    assert_eq!(c["tags"], json!(["t"]));
    assert_eq!(c["lookback"], 1);
}

#[test]
fn epoch_seconds_parses_iso_times() {
    assert_eq!(epoch_seconds("1970-01-01T00:00:00Z"), 0.0);
    assert_eq!(
        epoch_seconds("2024-01-01T00:00:00.000000Z"),
        1_704_067_200.0
    );
    assert_eq!(epoch_seconds("2026-11-22T04:56:56.5Z"), 1_795_323_416.5);
    assert_eq!(epoch_seconds("garbage"), 0.0);
}

#[test]
fn serializes_25000_nodes_quickly() {
    let mut nodes = Vec::with_capacity(25_000);
    for i in 0..10_000 {
        let dep = if i > 0 {
            vec![m(&format!("m{:05}", i - 1))]
        } else {
            vec![]
        };
        let deps: Vec<&str> = dep.iter().map(String::as_str).collect();
        let mut n = node(Model, &format!("m{i:05}"), &deps);
        n.raw_code = Arc::from("select * from {{ ref('x') }} where tenant_id in (1, 2, 3)");
        nodes.push(n);
    }
    for i in 0..15_000 {
        let mut t = generic_test("not_null", &m(&format!("m{:05}", i % 10_000)), "id", &[]);
        t.unique_id = UniqueId::new(format!("test.proj.t{i:05}"));
        nodes.push(t);
    }
    let mf = manifest(nodes, vec![], vec![]);
    let start = std::time::Instant::now();
    let mut text = Vec::with_capacity(64 << 20);
    write_manifest_json(&mf, &mut text).unwrap();
    let took = start.elapsed();
    assert!(text.len() > 25_000 * 500);
    // Generous bound for unoptimised test builds on a shared 2-core machine. A release
    // build writes these 36 MB in ~200 ms there under load, of which ~170 ms is
    // serde_json's own output speed (measured by writing a prebuilt Value).
    // Catches accidental quadratic work; the unoptimised build is ~25x slower than release.
    let limit_ms = if cfg!(debug_assertions) {
        30_000
    } else {
        1_000
    };
    assert!(took.as_millis() < limit_ms, "serializing took {took:?}");
}
