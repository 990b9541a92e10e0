//! `mfb build` against a real PostgreSQL: seeds, models and tests in one DAG, each test
//! right after what it tests, a failed test skipping only its downstream, a warning
//! skipping nothing.

use std::path::Path;

use mfb_testkit::TestDb;

mod common;
use common::{mfb, write};

fn statuses(p: &Path) -> Vec<(String, String)> {
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("target/run_results.json")).unwrap())
            .unwrap();
    let mut v: Vec<(String, String)> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let id = r["unique_id"].as_str().unwrap();
            // unit_test.<pkg>.<model>.<name>: the test's own name
            let part = if id.starts_with("unit_test.") { 3 } else { 2 };
            let short = id.split('.').nth(part).unwrap().to_owned();
            (short, r["status"].as_str().unwrap().to_owned())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_failed_test_skips_its_downstream_and_a_warning_does_not() {
    let db = TestDb::create("mfb_build_cmd");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(p, "dbt_project.yml", "name: bd\nprofile: bd\n");
    write(p, "seeds/raw_items.csv", "id,kind\n1,a\n2,b\n2,c\n");
    write(
        p,
        "models/items.sql",
        "{{ config(materialized='table') }}\nselect * from {{ ref('raw_items') }}",
    );
    write(
        p,
        "models/items_report.sql",
        "select count(*) as n from {{ ref('items') }}",
    );
    write(
        p,
        "models/kinds.sql",
        "select distinct kind from {{ ref('raw_items') }}",
    );
    write(
        p,
        "models/kinds_report.sql",
        "select count(*) as n from {{ ref('kinds') }}",
    );
    write(
        p,
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: items\n    columns:\n      - name: id\n        data_tests: [unique]\n  - name: kinds\n    columns:\n      - name: kind\n        data_tests:\n          - accepted_values:\n              arguments:\n                values: [a, b]\n              config:\n                severity: warn\n",
    );
    db.write_profiles_yml(p, "bd", "analytics").unwrap();

    let (code, text) = mfb(p, &["build", "--threads", "1"]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(
        statuses(p),
        [
            (
                "accepted_values_kinds_kind__a__b".to_owned(),
                "warn".to_owned()
            ),
            ("items".to_owned(), "success".to_owned()),
            ("items_report".to_owned(), "skipped".to_owned()),
            ("kinds".to_owned(), "success".to_owned()),
            ("kinds_report".to_owned(), "success".to_owned()),
            ("raw_items".to_owned(), "success".to_owned()),
            ("unique_items_id".to_owned(), "fail".to_owned()),
        ]
    );
    // Each test runs right after its model, before anything downstream of that model.
    let pos = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("no `{needle}` in:\n{text}"))
    };
    assert!(pos("START test unique_items_id") < pos("SKIP relation analytics.items_report"));
    assert!(
        pos("START test accepted_values_kinds_kind__a__b")
            < pos("START sql view model analytics.kinds_report")
    );
    assert!(text.contains("PASS=4 WARN=1 ERROR=1 SKIP=1"), "{text}");
    assert!(
        text.contains("1 seed") && text.contains("1 table model") && text.contains("2 data tests"),
        "{text}"
    );
    // The skipped view was never created; the table of the failed test was.
    assert_eq!(
        db.query_text("select count(*)::text from analytics.items")[0][0].as_deref(),
        Some("3")
    );
    assert!(db.query_text("select to_regclass('analytics.items_report')::text")[0][0].is_none());

    // Fix the data: everything builds; the warning stays a warning.
    write(p, "seeds/raw_items.csv", "id,kind\n1,a\n2,b\n3,c\n");
    let (code, text) = mfb(p, &["build", "--threads", "4"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("PASS=6 WARN=1 ERROR=0 SKIP=0"), "{text}");
    assert_eq!(
        db.query_text("select n::text from analytics.items_report")[0][0].as_deref(),
        Some("3")
    );

    // --select of one model builds it and runs its tests only.
    let (code, text) = mfb(p, &["build", "--select", "items"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("PASS=2 WARN=0 ERROR=0 SKIP=0"), "{text}");
}

#[test]
fn retry_after_a_failed_build_reruns_the_failed_test_and_its_skipped_downstream() {
    let db = TestDb::create("mfb_build_retry");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(p, "dbt_project.yml", "name: br\nprofile: br\n");
    write(
        p,
        "models/base.sql",
        "{{ config(materialized='table') }}\nselect * from (values (1), (2), (2)) v(id)",
    );
    write(
        p,
        "models/after.sql",
        "select count(*) as n from {{ ref('base') }}",
    );
    write(p, "models/other.sql", "select 1 as x");
    write(
        p,
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: base\n    columns:\n      - name: id\n        data_tests: [unique]\n",
    );
    db.write_profiles_yml(p, "br", "analytics").unwrap();
    let (code, text) = mfb(p, &["build"]);
    assert_eq!(code, 1, "{text}");
    // Fix the data, then retry: only the failed test and the skipped model run again.
    db.batch_execute(
        "delete from analytics.base where ctid = (select max(ctid) from analytics.base)",
    );
    let (code, text) = mfb(p, &["retry"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        statuses(p),
        [
            ("after".to_owned(), "success".to_owned()),
            ("unique_base_id".to_owned(), "pass".to_owned()),
        ]
    );
}

#[test]
fn a_failing_unit_test_runs_before_its_model_and_skips_it() {
    let db = TestDb::create("mfb_build_unit");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(p, "dbt_project.yml", "name: bu\nprofile: bu\n");
    write(p, "models/src.sql", "select 1 as id, 10 as amount");
    write(
        p,
        "models/doubled.sql",
        "select id, amount * {{ var('factor', 2) }} as amount from {{ ref('src') }}",
    );
    write(
        p,
        "models/unit.yml",
        "unit_tests:\n  - name: doubles_amounts\n    model: doubled\n    given:\n      - input: ref('src')\n        rows:\n          - {id: 1, amount: 5}\n    expect:\n      rows:\n        - {id: 1, amount: 10}\n",
    );
    db.write_profiles_yml(p, "bu", "analytics").unwrap();
    let (code, text) = mfb(p, &["build", "--threads", "1"]);
    assert_eq!(code, 0, "{text}");
    let pos = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("no `{needle}` in:\n{text}"))
    };
    assert!(
        pos("START unit_test doubled::doubles_amounts")
            < pos("START sql view model analytics.doubled"),
        "{text}"
    );
    assert!(
        pos("START sql view model analytics.src") < pos("START unit_test"),
        "{text}"
    );

    // A var that breaks the model's logic fails the unit test; the model is not rebuilt.
    let (code, text) = mfb(p, &["build", "--vars", "{factor: 3}"]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(
        statuses(p),
        [
            ("doubled".to_owned(), "skipped".to_owned()),
            ("doubles_amounts".to_owned(), "fail".to_owned()),
            ("src".to_owned(), "success".to_owned()),
        ]
    );
    assert_eq!(
        db.query_text("select amount::text from analytics.doubled")[0][0].as_deref(),
        Some("20"),
        "the model kept its last good build"
    );
    // `mfb test` runs unit tests too, and --resource-type picks them.
    let (code, text) = mfb(p, &["test", "--resource-type", "unit_test"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("PASS=1 WARN=0 ERROR=0 SKIP=0"), "{text}");
}
