//! The site's data from hand-written artifacts: columns merged from the catalog and the
//! YAML, tests and results per column, column lineage passed in, RLS status and the
//! security findings, and the written files.

use mfb_docs::artifacts::{Catalog, Manifest, RunResults};
use mfb_docs::{Artifacts, ColumnLineage};
use serde_json::{Value, json};

fn manifest() -> Manifest {
    let node = |id: &str, name: &str, mat: &str, deps: &[&str], extra: Value| {
        let mut n = json!({
            "unique_id": id, "name": name, "resource_type": "model", "package_name": "shop",
            "original_file_path": format!("models/{name}.sql"),
            "description": format!("{name} described"),
            "raw_code": format!("select * from {{{{ ref('x') }}}} -- {name}"),
            "compiled_code": format!("select * from x -- {name}"),
            "depends_on": {"nodes": deps, "macros": []},
            "config": {"materialized": mat},
            "columns": {},
        });
        if let (Some(n), Some(e)) = (n.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                n.insert(k.clone(), v.clone());
            }
        }
        (id.to_owned(), n)
    };
    let nodes: serde_json::Map<String, Value> = [
        node("model.shop.stg_orders", "stg_orders", "view", &["source.shop.raw.orders"], json!({})),
        node(
            "model.shop.orders",
            "orders",
            "table",
            &["model.shop.stg_orders"],
            json!({
                "config": {"materialized": "table", "rls": {"tenant_column": "tenant_id", "mode": "session_setting"}},
                "columns": {"customer_id": {"name": "customer_id", "description": "who ordered"}},
            }),
        ),
        node("model.shop.orders_open", "orders_open", "view", &["model.shop.orders"], json!({})),
        node("model.shop.orders_safe", "orders_safe", "view", &["model.shop.orders"], json!({})),
        node("model.shop.orders_copy", "orders_copy", "table", &["model.shop.orders_safe"], json!({})),
        (
            "test.shop.not_null_orders_customer_id.1".to_owned(),
            json!({
                "unique_id": "test.shop.not_null_orders_customer_id.1", "name": "not_null_orders_customer_id",
                "resource_type": "test", "package_name": "shop", "column_name": "customer_id",
                "attached_node": "model.shop.orders", "test_metadata": {"name": "not_null"},
                "depends_on": {"nodes": ["model.shop.orders"]},
            }),
        ),
    ]
    .into_iter()
    .collect();
    serde_json::from_value(json!({
        "metadata": {"project_name": "shop", "generated_at": "2026-01-01T00:00:00Z"},
        "nodes": nodes,
        "sources": {"source.shop.raw.orders": {
            "unique_id": "source.shop.raw.orders", "name": "orders", "source_name": "raw",
            "resource_type": "source", "package_name": "shop", "original_file_path": "models/sources.yml",
            "columns": {"cust": {"name": "cust", "description": "customer"}},
        }},
        "exposures": {},
    }))
    .unwrap()
}

fn catalog() -> Catalog {
    let stats = |pairs: Value| pairs;
    serde_json::from_value(json!({
        "nodes": {
            "model.shop.orders": {
                "metadata": {"type": "BASE TABLE", "owner": "builder"},
                "columns": {
                    "tenant_id": {"name": "tenant_id", "type": "integer", "index": 2},
                    "customer_id": {"name": "customer_id", "type": "integer", "index": 1},
                },
                "stats": stats(json!({
                    "rls_enabled": {"value": true}, "rls_forced": {"value": false},
                    "rls_policies": {"value": [{"name": "mfb_tenant_isolation", "command": "r", "roles": ["public"], "using": "(tenant_id = 1)"}]},
                })),
            },
            "model.shop.orders_open": {"metadata": {"type": "VIEW"}, "stats": {"security_invoker": {"value": false}}},
            "model.shop.orders_safe": {"metadata": {"type": "VIEW"}, "stats": {"security_invoker": {"value": true}}},
            "model.shop.orders_copy": {"metadata": {"type": "BASE TABLE"}, "stats": {"rls_enabled": {"value": false}}},
        },
        "sources": {},
    }))
    .unwrap()
}

fn artifacts() -> Artifacts {
    let lineage: ColumnLineage = serde_json::from_value(json!({
        "model.shop.orders": {"customer_id": [{"node": "model.shop.stg_orders", "column": "customer_id", "kind": "direct"}]},
        "model.shop.stg_orders": {"customer_id": [{"node": "source.shop.raw.orders", "column": "cust", "kind": "rename"}]},
    }))
    .unwrap();
    let run_results: RunResults = serde_json::from_value(json!({
        "metadata": {"generated_at": "2026-01-01T00:01:00Z"},
        "args": {"which": "build"},
        "results": [
            {"unique_id": "model.shop.orders", "status": "success", "execution_time": 0.5,
             "timing": [{"name": "execute", "completed_at": "2026-01-01T00:00:59Z"}]},
            {"unique_id": "test.shop.not_null_orders_customer_id.1", "status": "fail", "failures": 3},
        ],
    }))
    .unwrap();
    Artifacts {
        manifest: manifest(),
        catalog: Some(catalog()),
        run_results: Some(run_results),
        lineage,
    }
}

fn node<'a>(index: &'a Value, id: &str) -> (usize, &'a Value) {
    index["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .find(|(_, n)| n["id"] == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

fn details<'a>(data: &'a mfb_docs::site::SiteData, id: &str) -> &'a Value {
    data.chunks.iter().find_map(|c| c.get(id)).unwrap()
}

#[test]
fn nodes_columns_tests_and_lineage() {
    let data = mfb_docs::site::build(&artifacts());
    let index = &data.index;
    assert_eq!(index["project"], "shop");
    assert_eq!(index["has_lineage"], true);
    // tests are not pages: 5 models and 1 source
    assert_eq!(index["nodes"].as_array().unwrap().len(), 6);
    let (_, source) = node(index, "source.shop.raw.orders");
    assert_eq!(source["type"], "source");
    assert_eq!(source["x"], 0);
    let (stg_at, _) = node(index, "model.shop.stg_orders");
    let (_, orders) = node(index, "model.shop.orders");
    assert_eq!(orders["up"], json!([stg_at]));
    assert_eq!(orders["status"], "success");
    assert_eq!(orders["tests"], json!([0, 1]));
    // catalog order first, the YAML's description merged in
    assert_eq!(orders["cols"], json!(["customer_id", "tenant_id"]));
    let d = details(&data, "model.shop.orders");
    let cols = d["columns"].as_array().unwrap();
    assert_eq!(cols[0]["name"], "customer_id");
    assert_eq!(cols[0]["type"], "integer");
    assert_eq!(cols[0]["description"], "who ordered");
    assert_eq!(cols[0]["tests"][0]["name"], "not_null");
    assert_eq!(cols[0]["tests"][0]["status"], "fail");
    assert_eq!(
        cols[0]["lineage"],
        json!([{"node": "model.shop.stg_orders", "column": "customer_id", "kind": "direct"}])
    );
    assert_eq!(d["compiled"], "select * from x -- orders");
    assert_eq!(d["run"]["completed_at"], "2026-01-01T00:00:59Z");
    // a column only lineage knows of is still listed
    let stg = details(&data, "model.shop.stg_orders");
    assert_eq!(stg["columns"][0]["name"], "customer_id");
}

#[test]
fn rls_status_and_security_findings() {
    let data = mfb_docs::site::build(&artifacts());
    let index = &data.index;
    let status = |id: &str| node(index, id).1["rls"].as_str().unwrap().to_owned();
    assert_eq!(status("model.shop.orders"), "protected");
    assert_eq!(status("model.shop.orders_open"), "definer");
    assert_eq!(status("model.shop.orders_safe"), "invoker");
    assert_eq!(status("model.shop.orders_copy"), "unprotected");
    let rls = &details(&data, "model.shop.orders")["rls"];
    assert_eq!(rls["declared"]["tenant_column"], "tenant_id");
    assert_eq!(rls["declared"]["mode"], "session_setting");
    assert_eq!(rls["policies"][0]["name"], "mfb_tenant_isolation");
    assert_eq!(rls["verified"], true);

    let at = |id: &str| node(index, id).0;
    let flags = index["security"].as_array().unwrap();
    let found: Vec<(String, usize, usize)> = flags
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_owned(),
                f["reader"].as_u64().unwrap() as usize,
                f["table"].as_u64().unwrap() as usize,
            )
        })
        .collect();
    let orders = at("model.shop.orders");
    // the definer view is flagged, the invoker view is not; the table built through the
    // invoker view copies protected rows without RLS
    assert!(found.contains(&("definer_view".into(), at("model.shop.orders_open"), orders)));
    assert!(found.contains(&(
        "unprotected_copy".into(),
        at("model.shop.orders_copy"),
        orders
    )));
    assert_eq!(found.len(), 2, "{found:?}");
}

#[test]
fn without_a_catalog_the_config_decides() {
    let mut a = artifacts();
    a.catalog = None;
    let data = mfb_docs::site::build(&a);
    let (_, orders) = node(&data.index, "model.shop.orders");
    assert_eq!(orders["rls"], "protected");
    let (_, view) = node(&data.index, "model.shop.orders_open");
    assert_eq!(view["rls"], "view");
    assert_eq!(
        details(&data, "model.shop.orders")["rls"]["verified"],
        false
    );
    // no catalog: no evidence of a definer view, so no finding for it
    assert!(
        data.index["security"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["kind"] != "definer_view")
    );
}

#[test]
fn writes_the_site_and_the_single_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = artifacts();
    let index = mfb_docs::write_site(&a, dir.path()).unwrap();
    let html = std::fs::read_to_string(&index).unwrap();
    assert!(html.contains("id=\"mfb-index\""));
    assert!(html.contains("docs-assets/site.js"));
    assert!(dir.path().join("docs-assets/site.css").is_file());
    let chunk = std::fs::read_to_string(dir.path().join("docs-assets/data/chunk-0.js")).unwrap();
    assert!(chunk.starts_with("mfbDocsChunk(0,"));
    // the SQL's `</` never reaches the HTML raw
    let one = dir.path().join("static_index.html");
    mfb_docs::write_static(&a, &one).unwrap();
    let html = std::fs::read_to_string(&one).unwrap();
    assert!(html.contains("id=\"mfb-chunk-0\""));
    assert!(!html.contains("src=\"docs-assets") && !html.contains("href=\"docs-assets"));
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
}
