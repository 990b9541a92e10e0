//! `mfb test` against a real throwaway PostgreSQL, on the fixture projects
//! `fixtures/data_tests_project` (every kind of data test, outcomes observed with dbt-core
//! 1.10.9 on the same data) and `fixtures/data_tests_broken_sql` (a test whose SQL fails).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

mod common;
use common::copy_dir;

use mfb_testkit::TestDb;
use serde_json::Value;

fn mfb(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mfb"))
        .args(args)
        .arg("--project-dir")
        .arg(dir)
        .arg("--profiles-dir")
        .arg(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run mfb");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("panicked"), "{text}");
    (out.status.code().unwrap_or(-1), text)
}

/// A fresh copy of fixture `name` pointed at `db` (schema `analytics`), seeded and run.
fn project(name: &str, db: &TestDb, profile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    copy_dir(&fixture, dir.path());
    db.write_profiles_yml(dir.path(), profile, "analytics")
        .unwrap();
    for step in ["seed", "run"] {
        let (code, text) = mfb(dir.path(), &[step]);
        assert_eq!(code, 0, "{step}: {text}");
    }
    dir
}

fn run_results(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("target/run_results.json")).unwrap())
        .unwrap()
}

/// Each result by test name (the third part of its unique id).
fn by_name(results: &Value) -> BTreeMap<String, Value> {
    results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let id = r["unique_id"].as_str().unwrap();
            (id.split('.').nth(2).unwrap().to_owned(), r.clone())
        })
        .collect()
}

fn rows(db: &TestDb, sql: &str) -> Vec<String> {
    db.query_text(sql)
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|c| c.unwrap_or_else(|| "null".into()))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

/// Status and failure count of every test of `data_tests_project`, as dbt-core 1.10.9
/// reported them on the same data.
const DBT_OUTCOMES: &[(&str, &str, i64)] = &[
    (
        "accepted_values_stg_customers_id__False__1__2__3__4__5",
        "pass",
        0,
    ),
    (
        "accepted_values_stg_customers_tier__gold__silver__bronze",
        "fail",
        1,
    ),
    (
        "accepted_values_stg_customers_tier__gold__silver__bronze__platinum",
        "pass",
        0,
    ),
    ("assert_gold_customers_have_country", "fail", 1),
    ("av_int_fail", "fail", 2),
    ("av_limit", "fail", 2),
    ("av_stored_view", "fail", 1),
    ("av_threshold", "warn", 3),
    ("is_positive_countries_id", "pass", 0),
    ("is_positive_stg_customers_id", "pass", 0),
    ("max_value_stg_customers_id__4", "fail", 2),
    ("nn_threshold", "pass", 0),
    ("not_null_countries_id", "pass", 0),
    ("not_null_stg_customers_country_id", "warn", 1),
    ("not_null_stg_customers_id", "pass", 0),
    ("rel_source", "fail", 1),
    ("rel_source_where", "pass", 0),
    (
        "relationships_stg_customers_country_id__id__ref_countries_",
        "fail",
        1,
    ),
    (
        "source_accepted_values_raw_countries_code__us__ca",
        "fail",
        1,
    ),
    ("source_not_null_raw_countries_code", "pass", 0),
    ("unique_countries_id", "pass", 0),
    ("unique_stg_customers_id", "fail", 1),
    ("unique_stored", "fail", 1),
    ("unique_tier_calc", "fail", 3),
    ("unique_where", "pass", 0),
    ("warn_platinum_customers", "warn", 1),
];

#[test]
fn every_kind_of_data_test_ends_as_in_dbt() {
    let db = TestDb::create("mfb_test_cmd_all");
    let dir = project("data_tests_project", &db, "dt");
    let p = dir.path();

    let (code, text) = mfb(p, &["test"]);
    assert_eq!(code, 1, "a failed error-severity test exits 1: {text}");
    assert!(
        text.contains("Done. PASS=11 WARN=3 ERROR=12 SKIP=0 NO-OP=0 TOTAL=26"),
        "{text}"
    );

    // Same tests, same outcomes, same failure counts as dbt.
    let results = by_name(&run_results(p));
    let got: Vec<(String, String, i64)> = results
        .iter()
        .map(|(name, r)| {
            (
                name.clone(),
                r["status"].as_str().unwrap().to_owned(),
                r["failures"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, String, i64)> = DBT_OUTCOMES
        .iter()
        .map(|(n, s, f)| ((*n).to_owned(), (*s).to_owned(), *f))
        .collect();
    assert_eq!(got, expected);

    // run_results.json in dbt's shape.
    let unique = &results["unique_stg_customers_id"];
    assert_eq!(
        unique["message"],
        "Got 1 result, configured to fail if != 0"
    );
    assert_eq!(unique["adapter_response"]["_message"], "SELECT 1");
    assert_eq!(unique["relation_name"], Value::Null);
    assert_eq!(results["not_null_stg_customers_id"]["message"], Value::Null);
    assert_eq!(
        results["av_threshold"]["message"],
        "Got 3 results, configured to warn if >1"
    );
    assert_eq!(
        results["not_null_stg_customers_country_id"]["message"],
        "Got 1 result, configured to warn if != 0"
    );
    assert!(
        results["unique_stored"]["relation_name"]
            .as_str()
            .unwrap()
            .ends_with(r#"."analytics_dbt_test__audit"."unique_stored""#)
    );

    // Progress lines and the end-of-run report.
    for line in [
        "START test unique_stg_customers_id",
        "FAIL 1 unique_stg_customers_id",
        "WARN 3 av_threshold",
        "PASS not_null_stg_customers_id",
        "FAIL 3 unique_tier_calc",
        "Failure in test unique_stg_customers_id (models/schema.yml)",
        "--> models/schema.yml:7",
        "compiled code at target/compiled/dt/models/schema.yml/unique_stg_customers_id.sql",
        "Warning in test not_null_stg_customers_country_id (models/schema.yml)",
        "Failure in test assert_gold_customers_have_country (tests/assert_gold_customers_have_country.sql)",
        "Completed with 12 errors, 0 partial successes, and 3 warnings:",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
    // A few failing rows, as a small table under the failure.
    let failure = text
        .split("Failure in test unique_stg_customers_id")
        .nth(1)
        .unwrap();
    let failure = &failure[..failure.find("= help").unwrap()];
    assert!(
        failure.contains("unique_field | n_records") && failure.contains(" 5            | 2"),
        "{failure}"
    );
    let singular = text
        .split("Failure in test assert_gold_customers_have_country")
        .nth(1)
        .unwrap();
    assert!(
        singular.contains("id | name | tier | country_id")
            && singular.contains(" 3  | cid  | gold | 9"),
        "{singular}"
    );

    // Stored failures: a table and a view (schema config honoured), holding the rows.
    assert_eq!(
        rows(
            &db,
            "select table_schema || '.' || table_name || ' ' || table_type from information_schema.tables \
             where table_schema in ('analytics_dbt_test__audit', 'analytics_audit') order by 1"
        ),
        [
            "analytics_audit.av_stored_view VIEW",
            "analytics_dbt_test__audit.unique_stored BASE TABLE"
        ]
    );
    assert_eq!(
        rows(
            &db,
            "select unique_field || '|' || n_records from analytics_dbt_test__audit.unique_stored"
        ),
        ["5|2"]
    );
    assert_eq!(
        rows(
            &db,
            "select value_field || '|' || n_records from analytics_audit.av_stored_view"
        ),
        ["platinum|1"]
    );
    // Each run replaces the stored rows rather than adding to them.
    db.batch_execute("insert into analytics_dbt_test__audit.unique_stored values (99, 9)");
    let (code, text) = mfb(p, &["test", "--select", "unique_stored"]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(
        rows(
            &db,
            "select unique_field || '|' || n_records from analytics_dbt_test__audit.unique_stored"
        ),
        ["5|2"]
    );
}

#[test]
fn warnings_alone_exit_zero_and_flags_apply() {
    let db = TestDb::create("mfb_test_cmd_flags");
    let dir = project("data_tests_project", &db, "dt");
    let p = dir.path();

    let (code, text) = mfb(
        p,
        &[
            "test",
            "--select",
            "not_null_stg_customers_country_id",
            "av_threshold",
            "warn_platinum_customers",
            "not_null_stg_customers_id",
        ],
    );
    assert_eq!(code, 0, "warnings alone exit 0: {text}");
    assert!(
        text.contains("Done. PASS=1 WARN=3 ERROR=0 SKIP=0 NO-OP=0 TOTAL=4"),
        "{text}"
    );
    assert!(text.contains("Completed with 3 warnings:"), "{text}");

    // --store-failures stores the rows of tests that do not say otherwise: not_null then
    // keeps every column, as dbt's does.
    let (code, text) = mfb(
        p,
        &[
            "test",
            "--store-failures",
            "--select",
            "not_null_stg_customers_country_id",
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        rows(
            &db,
            "select id || ',' || name || ',' || tier from analytics_dbt_test__audit.not_null_stg_customers_country_id"
        ),
        ["4,dan,bronze"]
    );

    // --fail-fast: after the first failure nothing new starts; the rest are skipped.
    let (code, text) = mfb(p, &["test", "--threads", "1", "--fail-fast"]);
    assert_eq!(code, 1, "{text}");
    let statuses: Vec<String> = run_results(p)["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses.len(), 26);
    let fails = statuses.iter().filter(|s| *s == "fail").count();
    let skipped = statuses.iter().filter(|s| *s == "skipped").count();
    assert_eq!(fails, 1, "{statuses:?}");
    assert!(skipped > 0, "{statuses:?}");

    // Unit tests are selected apart from data tests: `--resource-type unit_test` runs none.
    let (code, text) = mfb(p, &["test", "--resource-type", "unit_test"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("TOTAL=0"), "{text}");
}

#[test]
fn broken_test_sql_names_its_yaml_line_and_keeps_stored_failures() {
    let db = TestDb::create("mfb_test_cmd_broken");
    let dir = project("data_tests_broken_sql", &db, "broken");
    let p = dir.path();

    let (code, text) = mfb(p, &["test"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("Done. PASS=1 WARN=0 ERROR=2 SKIP=0 NO-OP=0 TOTAL=3"),
        "{text}"
    );
    assert!(
        text.contains("ERROR not_null_orders_nosuch"),
        "progress names the test: {text}"
    );
    let error = text
        .split("Database Error in test not_null_orders_nosuch (models/schema.yml)")
        .nth(1)
        .unwrap_or_else(|| panic!("no database error in:\n{text}"));
    assert!(
        error.contains(r#"column "nosuch" does not exist"#),
        "{error}"
    );
    assert!(error.contains("--> models/schema.yml:10"), "{error}");
    assert!(error.contains("- not_null"), "the YAML line: {error}");
    let results = by_name(&run_results(p));
    let broken = &results["not_null_orders_nosuch"];
    assert_eq!(broken["status"], "error");
    assert_eq!(broken["failures"], Value::Null);
    assert!(
        broken["message"]
            .as_str()
            .unwrap()
            .contains(r#"column "nosuch" does not exist"#)
    );
    assert_eq!(results["stored_check"]["failures"], 1);
    assert_eq!(
        rows(
            &db,
            "select id::text from analytics_dbt_test__audit.stored_check"
        ),
        ["2"]
    );

    // A stored test whose SQL breaks leaves the previous audit table as it was.
    let schema = std::fs::read_to_string(p.join("models/schema.yml")).unwrap();
    std::fs::write(
        p.join("models/schema.yml"),
        schema.replace("- name: status", "- name: state"),
    )
    .unwrap();
    let (code, text) = mfb(p, &["test", "--select", "stored_check"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains(r#"column "state" does not exist"#), "{text}");
    assert_eq!(
        rows(
            &db,
            "select id::text from analytics_dbt_test__audit.stored_check"
        ),
        ["2"]
    );
}
