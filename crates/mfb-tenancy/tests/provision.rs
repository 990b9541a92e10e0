//! `mfb tenants provision` against a real PostgreSQL: the first run creates roles,
//! passwords, settings, the role map and privileges; the second plans nothing.

mod common;

use common::{Fixture, options, scalar};
use mfb_tenancy::{apply_provision, plan_provision};

const REGISTRY: &str = "\
settings:
  schema_pattern: \"{p}_tenant_{id}\"
admin_roles: [{p}_admin]
tenants:
  - id: 1
    name: Colorado
    roles:
      - name: {p}_co
        password_env: CO_PASSWORD
  - id: 2
    roles: [{p}_nc]
";

#[tokio::test]
async fn provisioning_twice_changes_nothing_the_second_time() {
    let fx = Fixture::new("rls_provision");
    let mut conn = fx.connect().await;
    let registry = fx.registry(REGISTRY);
    let env = |k: &str| (k == "CO_PASSWORD").then(|| "correct horse".to_owned());

    let first = plan_provision(&conn, &registry, &options(), &env)
        .await
        .unwrap();
    let script = first.script();
    assert!(!first.is_empty());
    assert!(
        script.contains(&format!(
            "create role \"{}\" login password '***'",
            fx.role("co")
        )),
        "{script}"
    );
    assert!(
        !script.contains("correct horse") && !script.contains("SCRAM"),
        "{script}"
    );
    assert!(
        script.contains(&format!("create role \"{}\" nologin", fx.role("admin"))),
        "{script}"
    );
    assert!(
        script.contains(&format!(
            "alter role \"{}\" set app.tenant_id = '2'",
            fx.role("nc")
        )),
        "{script}"
    );
    // nc's password variable is not set: created without a password, with a warning.
    let warnings: Vec<String> = first.warnings.iter().map(|d| d.message.clone()).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains(&format!(
            "$MFB_{}_NC_PASSWORD is not set",
            fx.prefix.to_uppercase()
        )),
        "{warnings:?}"
    );
    apply_provision(&mut conn, &first).await.unwrap();

    let second = plan_provision(&conn, &registry, &options(), &env)
        .await
        .unwrap();
    assert!(second.is_empty(), "second run:\n{}", second.script());
    assert_eq!(second.script(), "");

    // What the first run left behind.
    let co = fx.role("co");
    let nc = fx.role("nc");
    let state = scalar(
        &conn,
        &format!(
            "select concat_ws(' ', \
               (select rolcanlogin from pg_roles where rolname = '{co}'), \
               (select rolpassword like 'SCRAM-SHA-256$4096:%' from pg_authid where rolname = '{co}'), \
               (select rolpassword is null from pg_authid where rolname = '{nc}'), \
               (select string_agg(role_name || '=' || tenant_id, ',' order by role_name) from mfb_tenancy.mfb_tenant_roles), \
               has_schema_privilege('{co}', 'analytics', 'usage'), \
               has_schema_privilege('{co}', '{p}_tenant_1', 'usage'), \
               has_schema_privilege('{nc}', '{p}_tenant_1', 'usage'))",
            p = fx.prefix
        ),
    )
    .await;
    assert_eq!(state, format!("t t t {co}=1,{nc}=2 t t f"));
    // Default privileges: a table built later is readable by the tenant roles.
    conn.execute("create table analytics.later (x int)")
        .await
        .unwrap();
    assert_eq!(
        scalar(
            &conn,
            &format!("select has_table_privilege('{nc}', 'analytics.later', 'select')")
        )
        .await,
        "true"
    );

    // A changed password and a removed tenant are the only changes planned.
    let env2 = |k: &str| (k == "CO_PASSWORD").then(|| "battery staple".to_owned());
    let smaller = fx.registry(&REGISTRY.replace("  - id: 2\n    roles: [{p}_nc]\n", ""));
    let third = plan_provision(&conn, &smaller, &options(), &env2)
        .await
        .unwrap();
    let whats: Vec<&str> = third.steps.iter().map(|s| s.what.as_str()).collect();
    assert_eq!(whats.len(), 2, "{whats:?}");
    assert!(
        whats[0].starts_with(&format!("set the password of {co} from $CO_PASSWORD")),
        "{whats:?}"
    );
    assert!(
        whats[1].contains(&format!("from mfb_tenant_roles: {nc}")),
        "{whats:?}"
    );
    apply_provision(&mut conn, &third).await.unwrap();
    assert!(
        plan_provision(&conn, &smaller, &options(), &env2)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_password_postgresql_hashed_is_recognized() {
    let fx = Fixture::new("rls_scram");
    let conn = fx.connect().await;
    let co = fx.role("co");
    let nc = fx.role("nc");
    // PostgreSQL hashes these itself (password_encryption = scram-sha-256).
    conn.execute(&format!(
        "set password_encryption = 'scram-sha-256'; \
         create role \"{co}\" login password 'pencil'; create role \"{nc}\" login password 'paper'"
    ))
    .await
    .unwrap();
    let registry = fx.registry("tenants:\n  - id: 1\n    roles: [{p}_co, {p}_nc]\n");
    let env = |k: &str| {
        if k.ends_with("_CO_PASSWORD") {
            Some("pencil".to_owned())
        } else {
            Some("not paper".to_owned())
        }
    };
    let plan = plan_provision(&conn, &registry, &options(), &env)
        .await
        .unwrap();
    let passwords: Vec<&str> = plan
        .steps
        .iter()
        .filter(|s| s.what.starts_with("set the password"))
        .map(|s| s.what.as_str())
        .collect();
    assert_eq!(passwords.len(), 1, "{passwords:?}");
    assert!(passwords[0].contains(&nc), "{passwords:?}");
}
