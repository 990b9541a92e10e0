//! Row-level security end to end: `rls:` config on marts, `mfb tenants provision`,
//! `mfb build` applying the policies inside the build transaction, a view over a protected
//! table made `security_invoker`, the isolation checks in the test results, and a tenant
//! reading in a loop while the table is rebuilt 50 times never seeing another tenant's row.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mfb_testkit::{TestDb, unique_name};

mod common;
use common::{mfb, one, write};

#[test]
fn marts_are_protected_in_the_build_transaction_and_proven_isolated() {
    let db = TestDb::create("mfb_rls_build");
    let r = unique_name("rl");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(
        p,
        "dbt_project.yml",
        "name: rl\nprofile: rl\nmodels:\n  rl:\n    marts:\n      +materialized: table\n      +rls:\n        tenant_column: white_label_id\n        mode: role_map\n",
    );
    write(
        p,
        "tenants.yml",
        &format!(
            "tenants:\n  - id: 1\n    name: Colorado\n    roles: [{r}_co]\n  - id: 2\n    name: Texas\n    roles: [{r}_tx]\n"
        ),
    );
    write(
        p,
        "models/staging/stg_screens.sql",
        "select g as id, 1 + g % 2 as white_label_id, g * 10 as amount from generate_series(1, {{ var('n', 10) }}) g",
    );
    write(
        p,
        "models/marts/fct_screens.sql",
        "select id, white_label_id, amount from {{ ref('stg_screens') }}",
    );
    write(
        p,
        "models/reporting/screens_by_label.sql",
        "{{ config(materialized='view') }}\nselect white_label_id, count(*) as screens from {{ ref('fct_screens') }} group by 1",
    );
    db.write_profiles_yml(p, "rl", "analytics").unwrap();

    let (code, text) = mfb(p, &["tenants", "provision"]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = mfb(p, &["build"]);
    assert_eq!(code, 0, "{text}");
    // The isolation checks are test results like any other.
    let results = std::fs::read_to_string(p.join("target/run_results.json")).unwrap();
    assert!(
        results.contains("test.rl.rls_isolation_fct_screens"),
        "{results}"
    );
    // The view over the protected table is proven too: tenants see only their rows through it.
    assert!(
        results.contains("test.rl.rls_isolation_screens_by_label"),
        "{results}"
    );
    assert!(text.contains("PASS=5 WARN=0 ERROR=0"), "{text}");

    // Policy, force off, index and grants are on the table; the view is security_invoker.
    assert_eq!(
        one(
            &db,
            "select relrowsecurity::text from pg_class where oid = 'analytics.fct_screens'::regclass"
        ),
        "true"
    );
    assert_eq!(
        one(
            &db,
            "select count(*)::text from pg_indexes where schemaname = 'analytics' and tablename = 'fct_screens' and indexdef like '%white_label_id%'"
        ),
        "1"
    );
    assert_eq!(
        one(
            &db,
            "select coalesce(array_to_string(reloptions, ','), '') from pg_class where oid = 'analytics.screens_by_label'::regclass"
        ),
        "security_invoker=true"
    );
    let tenant_rows = |role: &str| -> (String, String, String) {
        let sql = "select (select count(*) from analytics.fct_screens)::text, \
                    (select count(*) from analytics.fct_screens where white_label_id <> (select tenant_id::int from mfb_tenancy.mfb_tenant_roles where role_name = current_user))::text, \
                    (select coalesce(sum(screens), 0) from analytics.screens_by_label)::text";
        let out = Command::new("psql")
            .args([
                db.url.as_str(),
                "-XAtq",
                "-F",
                "|",
                "-c",
                &format!("set role \"{role}\""),
                "-c",
                sql,
            ])
            .output()
            .expect("psql");
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let parts: Vec<String> = text.split('|').map(str::to_owned).collect();
        assert_eq!(
            parts.len(),
            3,
            "{text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (parts[0].clone(), parts[1].clone(), parts[2].clone())
    };
    assert_eq!(
        tenant_rows(&format!("{r}_co")),
        ("5".into(), "0".into(), "5".into())
    );
    assert_eq!(
        tenant_rows(&format!("{r}_tx")),
        ("5".into(), "0".into(), "5".into())
    );

    // A tenant reading in a loop while the mart is rebuilt 50 times: never an error, never
    // another tenant's row.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (stop, url, role) = (stop.clone(), db.url.clone(), format!("{r}_co"));
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(Ordering::SeqCst) {
                let out = Command::new("psql")
                    .args([
                        url.as_str(),
                        "-XAtq",
                        "-v",
                        "ON_ERROR_STOP=1",
                        "-c",
                        &format!("set role \"{role}\""),
                        "-c",
                        "select count(*) filter (where white_label_id <> 1) from analytics.fct_screens",
                    ])
                    .output()
                    .expect("psql");
                let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                assert!(
                    out.status.success(),
                    "reader failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert_eq!(text, "0", "a tenant saw another tenant's rows");
                reads += 1;
            }
            reads
        })
    };
    for i in 0..50 {
        let n = format!("{{n: {}}}", 10 + i % 3);
        let (code, text) = mfb(p, &["run", "--select", "fct_screens", "--vars", &n]);
        assert_eq!(code, 0, "{text}");
    }
    stop.store(true, Ordering::SeqCst);
    let reads = reader.join().expect("reader thread");
    assert!(reads > 10, "only {reads} reads");

    drop(db);
    let cleanup = TestDb::create("mfb_rls_cleanup");
    for role in ["co", "tx"] {
        cleanup.batch_execute(&format!("drop role if exists \"{r}_{role}\""));
    }
}

#[test]
fn enforcement_refuses_unprotected_marts_before_touching_the_database() {
    let db = TestDb::create("mfb_rls_enforce");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(
        p,
        "dbt_project.yml",
        "name: rf\nprofile: rf\nmodels:\n  rf:\n    marts:\n      +materialized: table\n      +rls: {tenant_column: tenant_id, mode: session_setting}\n",
    );
    write(
        p,
        "tenants.yml",
        "enforce:\n  paths: [models/marts/]\n  satisfied_by: [setup_white_label_rls]\ntenants: []\n",
    );
    write(
        p,
        "macros/rls.sql",
        "{% macro setup_white_label_rls(name) %}select 1{% endmacro %}",
    );
    write(p, "models/marts/fct_ok.sql", "select 1 as tenant_id");
    write(
        p,
        "models/marts/fct_leaky.sql",
        "{{ config(rls=none) }}\nselect 1 as tenant_id",
    );
    write(
        p,
        "models/marts/fct_legacy.sql",
        "{{ config(rls=none, post_hook=\"{{ setup_white_label_rls(this.name) }}\") }}\nselect 1 as tenant_id",
    );
    db.write_profiles_yml(p, "rf", "analytics").unwrap();
    let (code, text) = mfb(p, &["run"]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("models/marts/fct_leaky.sql is under an RLS-enforced path"),
        "{text}"
    );
    assert!(!text.contains("fct_legacy.sql is under"), "{text}");
    assert!(!text.contains("fct_ok.sql is under"), "{text}");
    assert_eq!(
        one(
            &db,
            "select count(*)::text from pg_namespace where nspname = 'analytics'"
        ),
        "0",
        "nothing may be built when enforcement fails"
    );
    // Tagged no-rls: allowed.
    write(
        p,
        "models/marts/fct_leaky.sql",
        "{{ config(rls=none, tags=['no-rls']) }}\nselect 1 as tenant_id",
    );
    let (code, text) = mfb(p, &["run"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        one(
            &db,
            "select relrowsecurity::text from pg_class where oid = 'analytics.fct_ok'::regclass"
        ),
        "true"
    );
}
