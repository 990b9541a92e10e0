//! `mfb run-operation`, `mfb show`, `mfb retry` and `mfb source freshness` against a real
//! throwaway PostgreSQL: operations create roles and tables that stay, previews print the
//! rows a model gives, retry reruns only what failed or was skipped, and freshness
//! decides pass / warn / error from rows loaded at known times.

use std::path::Path;
use std::process::Command;

use mfb_testkit::TestDb;
use serde_json::Value;

mod common;
use common::{one, write};

/// Runs mfb; returns the exit code, stdout and stderr.
fn mfb_split(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mfb"))
        .args(args)
        .arg("--project-dir")
        .arg(dir)
        .arg("--profiles-dir")
        .arg(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run mfb");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

/// Runs mfb; returns the exit code and stdout + stderr.
fn mfb(dir: &Path, args: &[&str]) -> (i32, String) {
    let (code, stdout, stderr) = mfb_split(dir, args);
    (code, format!("{stdout}{stderr}"))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn project(db: &TestDb, name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dbt_project.yml",
        &format!("name: {name}\nprofile: {name}\nversion: '1.0'\n"),
    );
    db.write_profiles_yml(dir.path(), name, "analytics")
        .unwrap();
    dir
}

#[test]
fn run_operation_runs_macros_against_the_database() {
    let db = TestDb::create("mfb_ops_runop");
    let dir = project(&db, "ops");
    let p = dir.path();
    // Roles belong to the whole server: name this one after the test's database.
    let role = format!("{}_reader", db.dbname);
    write(
        p,
        "macros/admin.sql",
        r#"
{% macro make_role(name) %}
  {% do run_query("create role " ~ adapter.quote(name) ~ " nologin") %}
  {% do log("created role " ~ name, info=True) %}
{% endmacro %}

{% macro make_table(schema, table, n=3) %}
  {% do run_query("create schema if not exists " ~ schema) %}
  {% call statement('create_it') %}
    create table {{ schema }}.{{ table }} as select g as id from generate_series(1, {{ n }}) g
  {% endcall %}
  {% set counted = run_query("select count(*) from " ~ schema ~ "." ~ table) %}
  {% do log("rows: " ~ counted.columns[0].values()[0], info=True) %}
{% endmacro %}

{% macro create_then_fail(schema) %}
  {% do run_query("create table " ~ schema ~ ".kept as select 1 as x") %}
  {{ exceptions.raise_compiler_error("stopped on purpose") }}
{% endmacro %}

{% macro bad_sql() %}
  {% do run_query("select * from no_such_table_anywhere") %}
{% endmacro %}
"#,
    );

    let (code, text) = mfb(
        p,
        &[
            "run-operation",
            "make_role",
            "--args",
            &format!("{{name: {role}}}"),
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(&format!("created role {role}")), "{text}");
    assert_eq!(
        one(
            &db,
            &format!("select count(*)::text from pg_roles where rolname = '{role}'")
        ),
        "1",
        "the role must exist after the operation (committed)"
    );
    db.batch_execute(&format!("drop role \"{role}\""));

    // Keyword arguments, a default, and the package-qualified name.
    let (code, text) = mfb(
        p,
        &[
            "run-operation",
            "ops.make_table",
            "--args",
            "{schema: ops_made, table: numbers, n: 4}",
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("rows: 4"), "{text}");
    assert_eq!(one(&db, "select sum(id)::text from ops_made.numbers"), "10");
    let rr = read_json(&p.join("target/run_results.json"));
    assert_eq!(rr["args"]["which"], "run-operation");
    assert_eq!(rr["args"]["macro"], "ops.make_table");
    assert_eq!(rr["args"]["args"]["n"], 4);
    assert_eq!(rr["results"][0]["unique_id"], "macro.ops.make_table");
    assert_eq!(rr["results"][0]["status"], "success");
    assert_eq!(rr["results"][0]["thread_id"], "MainThread");

    // An error raised after a statement: exit 1 with the message; the statement stays
    // committed, as with dbt.
    let (code, text) = mfb(
        p,
        &[
            "run-operation",
            "create_then_fail",
            "--args",
            "{schema: ops_made}",
        ],
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("stopped on purpose"), "{text}");
    assert_eq!(one(&db, "select count(*)::text from ops_made.kept"), "1");
    let rr = read_json(&p.join("target/run_results.json"));
    assert_eq!(rr["results"][0]["status"], "error");

    let (code, text) = mfb(p, &["run-operation", "bad_sql"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("no_such_table_anywhere"), "{text}");

    // An argument the macro does not take.
    let (code, text) = mfb(p, &["run-operation", "make_role", "--args", "{nmae: x}"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("nmae"), "{text}");

    // A macro that does not exist: exit 2, naming the closest one.
    let (code, text) = mfb(p, &["run-operation", "make_tabel"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("make_tabel"), "{text}");
    assert!(text.contains("did you mean `make_table`?"), "{text}");
}

#[test]
fn show_previews_models_and_inline_sql() {
    let db = TestDb::create("mfb_ops_show");
    let dir = project(&db, "shw");
    let p = dir.path();
    write(
        p,
        "models/orders.sql",
        "select g as id, 'cust_' || g as customer, g * 1.5 as amount, g % 2 = 0 as even from generate_series(1, 8) g",
    );
    write(
        p,
        "models/early.sql",
        "{{ config(materialized='ephemeral') }}\nselect id, amount from {{ ref('orders') }} where id < 4",
    );
    write(
        p,
        "models/from_early.sql",
        "select * from {{ ref('early') }}",
    );
    let (code, text) = mfb(p, &["run"]);
    assert_eq!(code, 0, "{text}");

    let (code, stdout, stderr) = mfb_split(p, &["show", "--select", "orders"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let expected = "Previewing node 'orders':
| id | customer | amount |  even |
| -- | -------- | ------ | ----- |
|  1 | cust_1   |    1.5 | False |
|  2 | cust_2   |    3.0 |  True |
|  3 | cust_3   |    4.5 | False |
|  4 | cust_4   |    6.0 |  True |
|  5 | cust_5   |    7.5 | False |
";
    assert!(stdout.contains(expected), "{stdout}");

    // An ephemeral model upstream becomes a CTE; JSON output with a limit.
    let (code, stdout, stderr) = mfb_split(
        p,
        &[
            "show",
            "--select",
            "from_early",
            "--limit",
            "2",
            "--output",
            "json",
            "--quiet",
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        doc,
        serde_json::json!({"node": "from_early", "show": [{"id": 1, "amount": 1.5}, {"id": 2, "amount": 3.0}]})
    );
    let rr = read_json(&p.join("target/run_results.json"));
    assert_eq!(rr["args"]["which"], "show");
    assert_eq!(rr["results"][0]["unique_id"], "model.shw.from_early");
    assert!(
        rr["results"][0]["compiled_code"]
            .as_str()
            .unwrap()
            .contains("__dbt__cte__early")
    );

    // Inline SQL with refs, all rows (--limit -1), ordering kept.
    let (code, stdout, stderr) = mfb_split(
        p,
        &[
            "show",
            "--inline",
            "select id, customer from {{ ref('orders') }} where id > 5 order by id desc",
            "--limit",
            "-1",
            "--quiet",
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        stdout,
        "| id | customer |\n| -- | -------- |\n|  8 | cust_8   |\n|  7 | cust_7   |\n|  6 | cust_6   |\n\n"
    );

    // Inline JSON has no node name; an ephemeral ref works inline too.
    let (code, stdout, stderr) = mfb_split(
        p,
        &[
            "show",
            "--inline",
            "select count(*) as n from {{ ref('early') }}",
            "--output",
            "json",
            "--quiet",
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc, serde_json::json!({"show": [{"n": 3}]}));

    let (code, text) = mfb(p, &["show", "--inline", "select * from missing_relation"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("missing_relation"), "{text}");
    let (code, text) = mfb(p, &["show"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("--select or --inline"), "{text}");
}

fn statuses(path: &Path) -> Vec<(String, String)> {
    read_json(path)["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["unique_id"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn retry_reruns_only_failed_and_skipped_nodes() {
    let db = TestDb::create("mfb_ops_retry");
    let dir = project(&db, "rty");
    let p = dir.path();
    let results = p.join("target/run_results.json");

    let (code, text) = mfb(p, &["retry"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("no previous run to retry"), "{text}");

    write(
        p,
        "models/good.sql",
        "{{ config(materialized='table') }}\nselect 1 as id",
    );
    write(
        p,
        "models/bad.sql",
        "{{ config(materialized='table') }}\nselect 1 / 0 as id",
    );
    write(
        p,
        "models/after_bad.sql",
        "{{ config(materialized='table') }}\nselect * from {{ ref('bad') }}",
    );
    write(p, "models/unselected.sql", "select 1 as id");
    let (code, text) = mfb(p, &["run", "--select", "good", "bad+"]);
    assert_eq!(code, 1, "{text}");
    let mut first = statuses(&results);
    first.sort();
    assert_eq!(
        first,
        [
            ("model.rty.after_bad".to_owned(), "skipped".to_owned()),
            ("model.rty.bad".to_owned(), "error".to_owned()),
            ("model.rty.good".to_owned(), "success".to_owned()),
        ]
    );
    // `good` was built once; tag it so a rebuild would show.
    db.batch_execute("comment on table analytics.good is 'first build'");

    // Still failing: the same two nodes run again, and fail again.
    let (code, text) = mfb(p, &["retry"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("TOTAL=2"), "{text}");

    write(
        p,
        "models/bad.sql",
        "{{ config(materialized='table') }}\nselect 2 as id",
    );
    let (code, text) = mfb(p, &["retry"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("PASS=2") && text.contains("TOTAL=2"),
        "{text}"
    );
    let mut now: Vec<(String, String)> = statuses(&results);
    now.sort();
    assert_eq!(
        now,
        [
            ("model.rty.after_bad".to_owned(), "success".to_owned()),
            ("model.rty.bad".to_owned(), "success".to_owned()),
        ]
    );
    assert_eq!(one(&db, "select id::text from analytics.after_bad"), "2");
    assert_eq!(
        one(
            &db,
            "select coalesce(obj_description('analytics.good'::regclass), '')"
        ),
        "first build",
        "retry must not rebuild what succeeded"
    );
    assert_eq!(
        one(
            &db,
            "select count(*)::text from pg_class where relname = 'unselected'"
        ),
        "0"
    );
    // The retry recorded the original command and selection, so a later retry works too.
    let rr = read_json(&results);
    assert_eq!(rr["args"]["which"], "run");
    assert_eq!(rr["args"]["select"], serde_json::json!(["good", "bad+"]));

    let (code, text) = mfb(p, &["retry"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("Nothing to do"), "{text}");
    assert!(statuses(&results).is_empty());

    // Seeds: a bad CSV fails, fixing it and retrying loads only that seed.
    write(p, "seeds/ok_seed.csv", "id,name\n1,a\n");
    write(p, "seeds/typed.csv", "id,amount\n1,x\n");
    write(
        p,
        "seeds/properties.yml",
        "version: 2\nseeds:\n  - name: typed\n    config:\n      column_types: {amount: integer}\n",
    );
    let (code, text) = mfb(p, &["seed"]);
    assert_eq!(code, 1, "{text}");
    write(p, "seeds/typed.csv", "id,amount\n1,5\n");
    db.batch_execute("insert into analytics.ok_seed values (2, 'added after the seed')");
    let (code, text) = mfb(p, &["retry"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("TOTAL=1"), "{text}");
    assert_eq!(one(&db, "select amount::text from analytics.typed"), "5");
    assert_eq!(
        one(&db, "select count(*)::text from analytics.ok_seed"),
        "2",
        "the seed that loaded must not be reloaded"
    );
    assert_eq!(read_json(&results)["args"]["which"], "seed");
}

#[test]
fn source_freshness_passes_warns_and_errors() {
    let db = TestDb::create("mfb_ops_fresh");
    let dir = project(&db, "frs");
    let p = dir.path();
    db.batch_execute(
        "create schema raw;
         create table raw.recent as select now() - interval '10 minutes' as loaded_at, 1 as id;
         create table raw.hours_old as select now() - interval '3 hours' as loaded_at, 1 as id;
         create table raw.days_old as select (now() at time zone 'utc' - interval '3 days')::timestamp as loaded_at;
         create table raw.mixed as select now() - interval '1 minute' as loaded_at, 1 as id
             union all select now() - interval '5 days', 2;
         create table raw.no_check as select 1 as id;",
    );
    write(
        p,
        "models/sources.yml",
        r#"version: 2
sources:
  - name: raw
    loaded_at_field: loaded_at
    freshness:
      warn_after: {count: 1, period: hour}
      error_after: {count: 1, period: day}
    tables:
      - name: recent
      - name: hours_old
      - name: days_old
      - name: mixed
        freshness:
          warn_after: {count: 2, period: hour}
          filter: id = 2
      - name: no_check
        freshness: null
      - name: by_query
        identifier: recent
        loaded_at_query: "select now() - interval '2 hours'"
      - name: gone
"#,
    );
    let (code, text) = mfb(p, &["source", "freshness"]);
    assert_eq!(code, 1, "{text}");
    for line in [
        "PASS freshness of raw.recent",
        "WARN freshness of raw.hours_old",
        "WARN freshness of raw.by_query",
        "ERROR STALE freshness of raw.days_old",
        "ERROR STALE freshness of raw.mixed",
        "ERROR freshness of raw.gone",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
    assert!(!text.contains("raw.no_check"), "{text}");
    assert!(text.contains("of 6 START"), "{text}");

    let doc = read_json(&p.join("target/sources.json"));
    assert_eq!(
        doc["metadata"]["dbt_schema_version"],
        "https://schemas.getdbt.com/dbt/sources/v3.json"
    );
    let results = doc["results"].as_array().unwrap();
    let by_id = |id: &str| {
        results
            .iter()
            .find(|r| r["unique_id"] == id)
            .unwrap_or_else(|| panic!("{id} missing from {doc}"))
    };
    assert_eq!(by_id("source.frs.raw.recent")["status"], "pass");
    assert_eq!(by_id("source.frs.raw.hours_old")["status"], "warn");
    assert_eq!(by_id("source.frs.raw.by_query")["status"], "warn");
    let old = by_id("source.frs.raw.days_old");
    assert_eq!(old["status"], "error");
    let age = old["max_loaded_at_time_ago_in_s"].as_f64().unwrap();
    assert!((259_000.0..260_000.0).contains(&age), "3 days is {age}s");
    assert!(old["max_loaded_at"].as_str().unwrap().ends_with("+00:00"));
    // The table's criteria override the source's key by key.
    let mixed = by_id("source.frs.raw.mixed");
    assert_eq!(mixed["status"], "error");
    assert_eq!(
        mixed["criteria"],
        serde_json::json!({
            "warn_after": {"count": 2, "period": "hour"},
            "error_after": {"count": 1, "period": "day"},
            "filter": "id = 2",
        })
    );
    // Like dbt 1.10, a table whose query failed is not in sources.json.
    assert_eq!(results.len(), 5, "{doc}");

    // Selecting only fresh tables passes, and --output writes elsewhere.
    let out = p.join("elsewhere/fresh.json");
    let (code, text) = mfb(
        p,
        &[
            "source",
            "freshness",
            "--select",
            "source:raw.recent",
            "--output",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("1 of 1 PASS freshness of raw.recent"),
        "{text}"
    );
    assert_eq!(read_json(&out)["results"].as_array().unwrap().len(), 1);
}
