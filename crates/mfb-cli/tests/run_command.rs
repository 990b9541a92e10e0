//! `mfb run` against a real throwaway PostgreSQL: the swap keeps dependent views that are
//! not selected, a failing model leaves the old table and skips what is downstream, and
//! incremental models merge new rows.

use std::path::Path;
use std::process::Command;

use mfb_testkit::TestDb;

fn mfb(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mfb"))
        .args(args)
        .arg("--project-dir")
        .arg(dir)
        .arg("--profiles-dir")
        .arg(dir)
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

fn write(dir: &Path, path: &str, text: &str) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn one(db: &TestDb, sql: &str) -> String {
    db.query_text(sql)[0][0].clone().unwrap_or_default()
}

#[test]
fn rebuilds_keep_dependents_and_failures_keep_old_tables() {
    let db = TestDb::create("mfb_run_cmd");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(
        p,
        "dbt_project.yml",
        "name: rn\nprofile: rn\nmodels:\n  rn:\n    +materialized: table\n",
    );
    write(
        p,
        "models/base.sql",
        "select g as id from generate_series(1, 3) g",
    );
    write(
        p,
        "models/child.sql",
        "{{ config(materialized='view') }}\nselect id * 10 as x from {{ ref('base') }}",
    );
    write(
        p,
        "models/events.sql",
        "{{ config(materialized='incremental', unique_key='id') }}\nselect id, 'v' || id as label from {{ ref('base') }}\n{% if is_incremental() %}where id >= (select max(id) from {{ this }}){% endif %}",
    );
    db.write_profiles_yml(p, "rn", "analytics").unwrap();

    let (code, text) = mfb(p, &["run"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("Done. PASS=3 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=3"),
        "{text}"
    );
    assert_eq!(one(&db, "select count(*)::text from analytics.child"), "3");

    // A view that mfb does not manage, on top of a model: rebuilding the model must keep it.
    db.batch_execute("create view analytics.dashboard as select count(*) as n from analytics.base");
    write(
        p,
        "models/base.sql",
        "select g as id from generate_series(1, 5) g",
    );
    let (code, text) = mfb(p, &["run", "--select", "base"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        one(&db, "select n::text from analytics.dashboard"),
        "5",
        "dependent view lost or stale"
    );
    assert_eq!(one(&db, "select count(*)::text from analytics.child"), "5");

    // Incremental: new ids are merged, existing ones are not duplicated.
    let (code, text) = mfb(p, &["run", "--select", "events"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        one(
            &db,
            "select count(*)::text || '/' || count(distinct id)::text from analytics.events"
        ),
        "5/5"
    );

    // A model that fails leaves its old table as it was, and what depends on it is skipped.
    write(
        p,
        "models/base.sql",
        "select g as id, 1/0 as boom from generate_series(1, 2) g",
    );
    let (code, text) = mfb(p, &["run"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("ERROR=1") && text.contains("SKIP=2"),
        "{text}"
    );
    assert!(text.contains("division by zero"), "{text}");
    assert_eq!(one(&db, "select count(*)::text from analytics.base"), "5");
    assert_eq!(one(&db, "select n::text from analytics.dashboard"), "5");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("target/run_results.json")).unwrap())
            .unwrap();
    let statuses: Vec<&str> = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["error", "skipped", "skipped"]);
}
