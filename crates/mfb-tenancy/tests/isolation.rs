//! The isolation matrix on a real PostgreSQL: every mode, on int and text tenant columns,
//! with additional filters, an admin role, FORCE, views, and a `SET` that tries to spoof
//! the tenant.

mod common;

use common::{Fixture, scalar};
use mfb_tenancy::{CheckKind, RlsConfig, check_isolation, view_options};
use serde_json::json;

const REGISTRY: &str = "\
admin_roles: [{p}_admin]
tenants:
  - id: ID1
    name: First
    roles: [{p}_t1, {p}_t1b]
  - id: ID2
    roles: [{p}_t2]
  - id: ID3
    roles: [{p}_t3]
";

fn config(mode: &str) -> RlsConfig {
    let mut v = json!({
        "tenant_column": "tenant",
        "mode": mode,
        "additional_filters": ["deleted_at is null", "is_active"],
    });
    if mode == "expression" {
        v["expression"] = json!("{column} = {tenant}");
    }
    RlsConfig::from_json(&v).unwrap()
}

/// 3,000 rows over the three tenants, plus rows of a tenant not in the registry and rows
/// with no tenant; some deleted, some inactive.
fn create_table(conn_sql: &mut Vec<String>, table: &str, column_type: &str, ids: [&str; 3]) {
    conn_sql.push(format!(
        "create table analytics.{table} (id int, tenant {column_type}, deleted_at timestamptz, is_active bool)"
    ));
    conn_sql.push(format!(
        "insert into analytics.{table} \
         select g, (array['{}', '{}', '{}'])[1 + g % 3]::{column_type}, \
                case when g % 10 = 0 then now() end, g % 7 <> 0 \
         from generate_series(1, 3000) g",
        ids[0], ids[1], ids[2]
    ));
    conn_sql.push(format!(
        "insert into analytics.{table} values (-1, '99'::{column_type}, null, true), (-2, null, null, true)"
    ));
}

async fn matrix(hint: &str, column_type: &str, ids: [&str; 3]) {
    let fx = Fixture::new(hint);
    let mut conn = fx.connect().await;
    let text = REGISTRY
        .replace("ID1", ids[0])
        .replace("ID2", ids[1])
        .replace("ID3", ids[2]);
    let registry = fx.registry(&text);
    fx.provision(&mut conn, &registry).await;

    let mut sql = vec!["create schema if not exists analytics".to_owned()];
    for mode in ["session_setting", "role_map", "expression"] {
        create_table(&mut sql, &format!("ev_{mode}"), column_type, ids);
    }
    conn.execute(&sql.join(";\n")).await.unwrap();

    for mode in ["session_setting", "role_map", "expression"] {
        let table = format!("ev_{mode}");
        let cfg = config(mode);
        // Half the tables get the type up front, half look it up when the policy is made.
        let known_type = (mode != "expression").then_some(column_type);
        fx.protect(&mut conn, &table, &cfg, known_type, &registry)
            .await;
        let relation = mfb_postgres::Relation::new(conn.database(), "analytics", &table);
        let results = check_isolation(&mut conn, &relation, &cfg, &registry)
            .await
            .unwrap();
        for r in &results {
            assert!(
                r.passed,
                "{mode} on {column_type}: {} ({:?})",
                r.message, r.help
            );
        }
        let count = |k: CheckKind| results.iter().filter(|r| r.kind == k).count();
        assert_eq!(count(CheckKind::TenantRows), 4, "{mode}");
        assert_eq!(
            count(CheckKind::SettingSpoof),
            if mode == "role_map" { 4 } else { 0 },
            "{mode}"
        );
        assert_eq!(count(CheckKind::NoTenant), 1, "{mode}");
        assert_eq!(count(CheckKind::AdminRows), 1, "{mode}");
        let first = &results[0];
        // 1,000 rows of tenant 1, minus deleted (every 10th) and inactive (every 7th) ones.
        let expected = scalar(
            &conn,
            &format!(
                "select count(*) from analytics.{table} where tenant = '{}' and deleted_at is null and is_active",
                ids[0]
            ),
        )
        .await;
        assert_eq!(first.visible.to_string(), expected, "{}", first.message);
        assert!(
            first.visible > 700 && first.visible < 1000,
            "{}",
            first.message
        );
        let admin = results
            .iter()
            .find(|r| r.kind == CheckKind::AdminRows)
            .unwrap();
        assert_eq!(admin.visible, 3002, "{}", admin.message);
    }
}

#[tokio::test]
async fn every_mode_isolates_tenants_on_an_integer_column() {
    matrix("rls_matrix_int", "integer", ["1", "2", "3"]).await;
}

#[tokio::test]
async fn every_mode_isolates_tenants_on_a_text_column() {
    matrix("rls_matrix_text", "text", ["co", "nc", "tx"]).await;
}

#[tokio::test]
async fn a_leaky_policy_fails_the_checks() {
    let fx = Fixture::new("rls_leaky");
    let mut conn = fx.connect().await;
    let registry = fx.registry(
        REGISTRY
            .replace("ID1", "1")
            .replace("ID2", "2")
            .replace("ID3", "3")
            .as_str(),
    );
    fx.provision(&mut conn, &registry).await;
    let mut sql = vec!["create schema if not exists analytics".to_owned()];
    create_table(&mut sql, "leaky", "integer", ["1", "2", "3"]);
    conn.execute(&sql.join(";\n")).await.unwrap();
    let cfg = config("role_map");
    fx.protect(&mut conn, "leaky", &cfg, Some("integer"), &registry)
        .await;
    // Someone adds a permissive policy by hand: permissive policies are ORed.
    conn.execute("create policy oops on analytics.leaky for select using (tenant < 3)")
        .await
        .unwrap();
    let relation = mfb_postgres::Relation::new(conn.database(), "analytics", "leaky");
    let results = check_isolation(&mut conn, &relation, &cfg, &registry)
        .await
        .unwrap();
    let t1 = &results[0];
    assert!(!t1.passed, "{}", t1.message);
    assert!(t1.foreign_rows > 0, "{}", t1.message);
    assert!(t1.help.is_some());
    let none = results
        .iter()
        .find(|r| r.kind == CheckKind::NoTenant)
        .unwrap();
    assert!(!none.passed && none.visible > 0, "{}", none.message);
}

#[tokio::test]
async fn spoofing_the_setting_leaks_nothing_under_role_map_but_does_under_session_setting() {
    let fx = Fixture::new("rls_spoof");
    let mut conn = fx.connect().await;
    let registry = fx.registry(
        REGISTRY
            .replace("ID1", "1")
            .replace("ID2", "2")
            .replace("ID3", "3")
            .as_str(),
    );
    fx.provision(&mut conn, &registry).await;
    let mut sql = vec!["create schema if not exists analytics".to_owned()];
    create_table(&mut sql, "rm", "integer", ["1", "2", "3"]);
    create_table(&mut sql, "ss", "integer", ["1", "2", "3"]);
    conn.execute(&sql.join(";\n")).await.unwrap();
    fx.protect(
        &mut conn,
        "rm",
        &config("role_map"),
        Some("integer"),
        &registry,
    )
    .await;
    fx.protect(
        &mut conn,
        "ss",
        &config("session_setting"),
        Some("integer"),
        &registry,
    )
    .await;

    let t1 = fx.role("t1");
    let tenants_seen = |table: &str, spoof: &str| {
        format!(
            "set local role \"{t1}\"; set local app.tenant_id = '{spoof}'; \
             select string_agg(distinct tenant::text, ',' order by tenant::text) from analytics.{table}"
        )
    };
    let tx = conn.begin().await.unwrap();
    let seen = tx.fetch(&tenants_seen("rm", "2")).await.unwrap();
    assert_eq!(
        seen.rows[0][0].as_text().as_deref(),
        Some("1"),
        "role_map ignores SET"
    );
    tx.rollback().await.unwrap();
    let tx = conn.begin().await.unwrap();
    let seen = tx.fetch(&tenants_seen("ss", "2")).await.unwrap();
    assert_eq!(
        seen.rows[0][0].as_text().as_deref(),
        Some("2"),
        "session_setting trusts whoever sets the setting: the documented threat model"
    );
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn force_filters_the_owner_and_views_need_security_invoker() {
    let fx = Fixture::new("rls_force");
    let mut conn = fx.connect().await;
    let registry = fx.registry(
        REGISTRY
            .replace("ID1", "1")
            .replace("ID2", "2")
            .replace("ID3", "3")
            .as_str(),
    );
    fx.provision(&mut conn, &registry).await;
    let builder = fx.role("builder");
    let mut sql = vec![
        "create schema if not exists analytics".to_owned(),
        format!("create role \"{builder}\" nologin"),
        format!("grant create, usage on schema analytics to \"{builder}\""),
    ];
    create_table(&mut sql, "forced", "integer", ["1", "2", "3"]);
    create_table(&mut sql, "unforced", "integer", ["1", "2", "3"]);
    sql.push(format!(
        "alter table analytics.forced owner to \"{builder}\""
    ));
    sql.push(format!(
        "alter table analytics.unforced owner to \"{builder}\""
    ));
    conn.execute(&sql.join(";\n")).await.unwrap();
    let mut forced = config("role_map");
    forced.force = true;
    fx.protect(&mut conn, "forced", &forced, Some("integer"), &registry)
        .await;
    fx.protect(
        &mut conn,
        "unforced",
        &config("role_map"),
        Some("integer"),
        &registry,
    )
    .await;
    let as_builder = |table: &str| {
        format!("set local role \"{builder}\"; select count(*) from analytics.{table}")
    };
    let tx = conn.begin().await.unwrap();
    let n = tx.fetch(&as_builder("forced")).await.unwrap();
    assert_eq!(
        n.rows[0][0].as_text().as_deref(),
        Some("0"),
        "FORCE: the owner is filtered"
    );
    let n = tx.fetch(&as_builder("unforced")).await.unwrap();
    assert_eq!(
        n.rows[0][0].as_text().as_deref(),
        Some("3002"),
        "the owner bypasses without FORCE"
    );
    tx.rollback().await.unwrap();

    // A view owned by a superuser reads with its owner's rights unless security_invoker.
    let t1 = fx.role("t1");
    let version: u32 = scalar(&conn, "show server_version_num")
        .await
        .parse()
        .unwrap();
    conn.execute(&format!(
        "create view analytics.v_invoker with ({}) as select * from analytics.unforced; \
         create view analytics.v_owner as select * from analytics.unforced; \
         grant select on analytics.v_invoker, analytics.v_owner to \"{t1}\"",
        view_options(version).unwrap()
    ))
    .await
    .unwrap();
    let tx = conn.begin().await.unwrap();
    let count = |v: &str| {
        format!("set local role \"{t1}\"; select count(distinct tenant) from analytics.{v}")
    };
    let n = tx.fetch(&count("v_invoker")).await.unwrap();
    assert_eq!(n.rows[0][0].as_text().as_deref(), Some("1"));
    let n = tx.fetch(&count("v_owner")).await.unwrap();
    assert_eq!(
        n.rows[0][0].as_text().as_deref(),
        Some("4"),
        "a plain view bypasses the policy: why mfb creates views with security_invoker"
    );
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn policy_statements_are_idempotent_on_an_existing_table() {
    let fx = Fixture::new("rls_idem");
    let mut conn = fx.connect().await;
    let registry = fx.registry(
        REGISTRY
            .replace("ID1", "1")
            .replace("ID2", "2")
            .replace("ID3", "3")
            .as_str(),
    );
    fx.provision(&mut conn, &registry).await;
    let mut sql = vec!["create schema if not exists analytics".to_owned()];
    create_table(&mut sql, "again", "integer", ["1", "2", "3"]);
    conn.execute(&sql.join(";\n")).await.unwrap();
    let cfg = config("session_setting");
    for _ in 0..3 {
        fx.protect(&mut conn, "again", &cfg, None, &registry).await;
    }
    let state = scalar(
        &conn,
        "select (select count(*) from pg_policy where polrelid = 'analytics.again'::regclass) || ' ' || \
                (select count(*) from pg_index where indrelid = 'analytics.again'::regclass)",
    )
    .await;
    assert_eq!(
        state, "2 1",
        "one tenant policy, one admin policy, one index"
    );
    let relation = mfb_postgres::Relation::new(conn.database(), "analytics", "again");
    let results = check_isolation(&mut conn, &relation, &cfg, &registry)
        .await
        .unwrap();
    assert!(results.iter().all(|r| r.passed), "{results:#?}");
}

#[tokio::test]
async fn a_missing_tenant_column_fails_the_build_statement_with_its_name() {
    let fx = Fixture::new("rls_missing_column");
    let conn = fx.connect().await;
    conn.execute("create schema analytics; create table analytics.no_tenant (id int)")
        .await
        .unwrap();
    let cfg = RlsConfig::from_json(&json!({"tenant_column": "white_label_id"})).unwrap();
    let relation = mfb_postgres::Relation::new(conn.database(), "analytics", "no_tenant")
        .with_kind(mfb_postgres::RelationKind::Table);
    let mut statements = mfb_tenancy::support_statements(&Default::default());
    statements.extend(mfb_tenancy::policy_statements(&cfg, &relation, None, None).unwrap());
    let err = conn.execute(&statements.join(";\n")).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("\"analytics\".\"no_tenant\" has no column \"white_label_id\""),
        "{text}"
    );
}
