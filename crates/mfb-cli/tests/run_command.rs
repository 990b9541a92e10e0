//! `mfb run` against a real throwaway PostgreSQL: the swap keeps dependent views that are
//! not selected, a failing model leaves the old table and skips what is downstream, and
//! incremental models merge new rows.

use mfb_testkit::TestDb;

mod common;
use common::{mfb, one, write};

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

/// Independent models run side by side on `--threads` connections, a failure skips only its
/// own downstream, on-run-end hooks see every result, and `--fail-fast` starts nothing new.
#[test]
fn threads_run_branches_concurrently_and_on_run_end_sees_results() {
    let db = TestDb::create("mfb_run_threads");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(
        p,
        "dbt_project.yml",
        "name: th\nprofile: th\n\
         on-run-start: \"create table if not exists {{ target.schema }}.audit (id text, status text, schemas int)\"\n\
         on-run-end:\n  - \"{% for r in results %}insert into {{ target.schema }}.audit values ('{{ r.node.unique_id }}', '{{ r.status }}', {{ schemas | length }});{% endfor %}\"\n",
    );
    // Four slow branches: on four threads they overlap, on one they would take 4 x 0.5 s.
    for i in 1..=4 {
        write(
            p,
            &format!("models/slow_{i}.sql"),
            &format!(
                "{{{{ config(materialized='table') }}}}\nselect {i} as id, pg_sleep(0.5) is null as slept"
            ),
        );
    }
    write(p, "models/broken.sql", "select 1 as id from nowhere");
    write(
        p,
        "models/after_broken.sql",
        "select * from {{ ref('broken') }}",
    );
    write(
        p,
        "models/after_slow.sql",
        "select * from {{ ref('slow_1') }}",
    );
    db.write_profiles_yml(p, "th", "analytics").unwrap();

    let started = std::time::Instant::now();
    let (code, text) = mfb(p, &["run", "--threads", "4"]);
    let took = started.elapsed();
    assert_eq!(code, 1, "{text}");
    assert!(
        took < std::time::Duration::from_millis(1900),
        "4 x 0.5 s on 4 threads took {took:?}:\n{text}"
    );
    // 5 models and the two project hooks pass.
    assert!(text.contains("PASS=7 WARN=0 ERROR=1 SKIP=1"), "{text}");
    assert!(
        text.contains("relation \"nowhere\" does not exist"),
        "{text}"
    );
    let audit = db.query_text(
        "select id || ':' || status || ':' || schemas::text from analytics.audit order by id",
    );
    let audit: Vec<String> = audit.into_iter().map(|r| r[0].clone().unwrap()).collect();
    assert_eq!(
        audit,
        [
            "model.th.after_broken:skipped:1",
            "model.th.after_slow:success:1",
            "model.th.broken:error:1",
            "model.th.slow_1:success:1",
            "model.th.slow_2:success:1",
            "model.th.slow_3:success:1",
            "model.th.slow_4:success:1",
        ]
    );

    // --fail-fast on one thread: broken comes first in plan order; nothing else starts.
    let (code, text) = mfb(p, &["run", "--threads", "1", "--fail-fast"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("PASS=2 WARN=0 ERROR=1 SKIP=6"), "{text}");
}

/// A statement error names the model, the compiled file and the line PostgreSQL points at.
#[test]
fn a_failing_statement_points_at_the_line_of_the_compiled_file() {
    let db = TestDb::create("mfb_run_err_line");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(p, "dbt_project.yml", "name: el\nprofile: el\n");
    write(p, "models/a.sql", "select 1 as id");
    write(
        p,
        "models/b.sql",
        "{{ config(materialized='table') }}\nselect id,\n  id * 2 as twice\nfrom {{ ref('a') }}\nwhere nope = 1\n",
    );
    db.write_profiles_yml(p, "el", "analytics").unwrap();
    let (code, text) = mfb(p, &["run"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("column \"nope\" does not exist"), "{text}");
    assert!(text.contains("while running model.el.b"), "{text}");
    // config() renders to nothing: the compiled file starts with an empty line.
    assert!(
        text.contains("target/compiled/el/models/b.sql:5:7") && text.contains("5 | where nope = 1"),
        "{text}"
    );
}
