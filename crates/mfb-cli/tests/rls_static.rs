//! The static tenant-column check: a protected model whose compiled SQL does not output its
//! tenant column (seen through `select *` of an upstream model) stops `mfb run` before the
//! database is touched, naming the compiled file and line; SQL whose columns mfb cannot
//! know statically is left to the build-time check.

use mfb_testkit::TestDb;

mod common;
use common::{mfb, write};

#[test]
fn a_protected_model_without_its_tenant_column_fails_before_the_database_is_touched() {
    let db = TestDb::create("mfb_rls_static");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(
        p,
        "dbt_project.yml",
        "name: rs\nprofile: rs\nmodels:\n  rs:\n    marts:\n      +materialized: table\n      +rls: {tenant_column: tenant_id, mode: session_setting}\n",
    );
    write(
        p,
        "models/staging/stg_screens.sql",
        "select g as id, g * 10 as amount from generate_series(1, 3) g",
    );
    // The tenant column is missing only behind `select *` of the upstream model.
    write(
        p,
        "models/marts/fct_screens.sql",
        "-- screens, per tenant\n\nselect *\nfrom {{ ref('stg_screens') }}",
    );
    db.write_profiles_yml(p, "rs", "analytics").unwrap();

    let (code, text) = mfb(p, &["run"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("rls-tenant-column-missing"), "{text}");
    assert!(
        text.contains(
            "model.rs.fct_screens is protected by rls on `tenant_id`, but its compiled SQL does not output that column"
        ),
        "{text}"
    );
    // The compiled file, at the line of its select.
    assert!(
        text.contains("target/compiled/rs/models/marts/fct_screens.sql:3"),
        "{text}"
    );
    assert!(text.contains("its SQL outputs: id, amount"), "{text}");
    assert!(text.contains("models/marts/fct_screens.sql"), "{text}");
    assert_eq!(
        db.query_text("select count(*)::text from pg_namespace where nspname = 'analytics'")[0][0]
            .as_deref(),
        Some("0"),
        "nothing may be built when the static check fails"
    );

    // Once the column is there, the run goes on and the table is protected.
    write(
        p,
        "models/marts/fct_screens.sql",
        "select *, 1 as tenant_id from {{ ref('stg_screens') }}",
    );
    let (code, text) = mfb(p, &["run"]);
    assert_eq!(code, 0, "{text}");
}

#[test]
fn sql_whose_columns_are_unknown_is_left_to_the_build_time_check() {
    let db = TestDb::create("mfb_rls_static_unknown");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(
        p,
        "dbt_project.yml",
        "name: ru\nprofile: ru\nmodels:\n  ru:\n    marts:\n      +materialized: table\n      +rls: {tenant_column: tenant_id, mode: session_setting}\n",
    );
    // A relation no model defines: its columns are unknown statically.
    db.batch_execute("create schema raw; create table raw.screens (id int, tenant_id int)");
    write(
        p,
        "models/marts/fct_screens.sql",
        "select * from raw.screens",
    );
    db.write_profiles_yml(p, "ru", "analytics").unwrap();
    let (code, text) = mfb(p, &["run"]);
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains("rls-tenant-column-missing"), "{text}");
}
