//! The tenant predicate of every mode is an index condition: on 100,000 rows over 50
//! tenants, a tenant's query scans the tenant index (asserted on `explain (format json)`),
//! and a real login as the tenant role (its provisioned setting applied) sees its rows only.

mod common;

use common::{Fixture, scalar};
use mfb_postgres::{Cell, connect};
use mfb_tenancy::RlsConfig;
use serde_json::{Value, json};

/// Every node of a JSON plan, depth first.
fn nodes(plan: &Value, out: &mut Vec<Value>) {
    out.push(plan.clone());
    if let Some(children) = plan.get("Plans").and_then(Value::as_array) {
        for c in children {
            nodes(c, out);
        }
    }
}

#[tokio::test]
async fn a_tenant_query_scans_the_tenant_index_in_every_mode() {
    let fx = Fixture::new("rls_index_plans");
    let mut conn = fx.connect().await;
    let mut yml = String::from("tenants:\n");
    for i in 1..=50 {
        yml.push_str(&format!("  - id: {i}\n    roles: [{{p}}_t{i}]\n"));
    }
    let registry = fx.registry(&yml);
    fx.provision(&mut conn, &registry).await;

    let modes = ["session_setting", "role_map", "expression"];
    let mut sql = vec!["create schema if not exists analytics".to_owned()];
    for mode in modes {
        sql.push(format!(
            "create table analytics.big_{mode} as \
             select g as id, 1 + g % 50 as tenant, g * 1.5 as amount from generate_series(1, 100000) g"
        ));
    }
    conn.execute(&sql.join(";\n")).await.unwrap();
    for mode in modes {
        let mut v = json!({"tenant_column": "tenant", "mode": mode});
        if mode == "expression" {
            v["expression"] = json!("{column} = {tenant}");
        }
        let cfg = RlsConfig::from_json(&v).unwrap();
        fx.protect(
            &mut conn,
            &format!("big_{mode}"),
            &cfg,
            Some("integer"),
            &registry,
        )
        .await;
        conn.execute(&format!("analyze analytics.big_{mode}"))
            .await
            .unwrap();
    }

    let t7 = fx.role("t7");
    for mode in modes {
        let tx = conn.begin().await.unwrap();
        tx.execute(&format!(
            "set local role \"{t7}\"; set local app.tenant_id = '7'"
        ))
        .await
        .unwrap();
        let plan = tx
            .fetch(&format!(
                "explain (format json) select count(*), sum(amount) from analytics.big_{mode}"
            ))
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        let Cell::Json(doc) = &plan.rows[0][0] else {
            panic!("explain returned {:?}", plan.rows[0][0]);
        };
        let mut all = Vec::new();
        nodes(&doc[0]["Plan"], &mut all);
        let index_scan = all.iter().find(|n| {
            let kind = n["Node Type"].as_str().unwrap_or("");
            matches!(kind, "Index Scan" | "Index Only Scan" | "Bitmap Index Scan")
                && n["Index Cond"].as_str().unwrap_or("").contains("tenant")
        });
        assert!(
            index_scan.is_some(),
            "{mode}: no index scan on the tenant column:\n{doc:#}"
        );
        assert!(
            !all.iter().any(|n| n["Node Type"] == "Seq Scan"
                && n["Relation Name"] == format!("big_{mode}").as_str()),
            "{mode}: the protected table is scanned sequentially:\n{doc:#}"
        );
        if mode == "role_map" {
            assert!(
                all.iter().any(|n| n["Subplan Name"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("InitPlan"))),
                "role_map: the role lookup should be an InitPlan run once:\n{doc:#}"
            );
        }
    }

    // A real login as tenant 7's role: its provisioned `app.tenant_id` applies by itself.
    let mut login = fx.config();
    login.user = t7.clone();
    login.password = None;
    let tenant_conn = connect(&login).await.unwrap();
    for mode in modes {
        let seen = scalar(
            &tenant_conn,
            &format!("select count(*) || '/' || count(distinct tenant) || '/' || min(tenant) from analytics.big_{mode}"),
        )
        .await;
        assert_eq!(seen, "2000/1/7", "{mode}");
    }
    // A login cannot read other tenants' role mappings.
    let rows = scalar(
        &tenant_conn,
        "select count(*) from mfb_tenancy.mfb_tenant_roles",
    )
    .await;
    assert_eq!(rows, "1");
}
