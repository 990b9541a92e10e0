//! Unit tests (`unit_tests:` in properties YAML) against a real throwaway PostgreSQL:
//! every input and expect format, ref/source/this inputs, overrides, dbt's diff for a
//! failing test, column checks, parse errors with their YAML line, and selection.
//!
//! `mfb test` is being written elsewhere; until it lands, [`run_unit_tests`] runs the
//! selected unit tests through the engine the commands use (`mfb_exec::run::run_plan`).

use std::path::Path;

use indexmap::IndexSet;
use mfb_exec::results::{NodeResult, Status};
use mfb_graph::{Node, ResourceType, UniqueId};
use mfb_testkit::TestDb;

mod common;
use common::{mfb, write};

struct Quiet;

impl mfb_exec::schedule::Progress for Quiet {
    fn start(&self, _: usize, _: usize, _: &Node) {}
    fn done(&self, _: usize, _: usize, _: &Node, _: &NodeResult) {}
}

/// Runs the unit tests named `names` (all when empty), by name.
fn run_unit_tests(dir: &Path, names: &[&str]) -> Vec<(String, NodeResult)> {
    let settings = mfb_exec::Settings {
        project_dir: dir.to_path_buf(),
        profiles_dir: Some(dir.to_path_buf()),
        which: "test".into(),
        ..Default::default()
    };
    let loaded = mfb_exec::load(settings).unwrap_or_else(|e| panic!("load: {e:?}"));
    let mut parsed = mfb_exec::parse(loaded).unwrap_or_else(|e| panic!("parse: {e:?}"));
    let selected: IndexSet<UniqueId> = parsed
        .manifest
        .nodes
        .values()
        .filter(|n| n.resource_type == ResourceType::UnitTest)
        .filter(|n| names.is_empty() || names.contains(&n.name.as_str()))
        .map(|n| n.unique_id.clone())
        .collect();
    let results = mfb_exec::run::run_plan(
        &mut parsed,
        &selected,
        |n| n.resource_type == ResourceType::UnitTest,
        mfb_exec::schedule::Policy { fail_fast: false },
        &Quiet,
    )
    .unwrap_or_else(|e| panic!("run: {e:?}"));
    results
        .into_iter()
        .map(|r| {
            let name = r
                .unique_id
                .rsplit('.')
                .next()
                .unwrap_or_default()
                .to_owned();
            (name, r)
        })
        .collect()
}

fn result<'a>(results: &'a [(String, NodeResult)], name: &str) -> &'a NodeResult {
    &results
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no result for {name}"))
        .1
}

/// A project with models reading a ref, a source and `this`.
fn project(p: &Path, db: &TestDb, schema: &str) {
    write(p, "dbt_project.yml", "name: ut\nprofile: ut\n");
    write(
        p,
        "models/customers.sql",
        "{{ config(materialized='table') }}\nselect 1 as id, 'x'::text as name, 2.50::numeric(10,2) as credit",
    );
    write(
        p,
        "models/labels.sql",
        "select id, id * 2 as doubled, name, '{{ var(\"greeting\", \"hi\") }}' as greeting, '{{ env_var(\"UT_REGION\", \"eu\") }}' as region\nfrom {{ ref('customers') }}",
    );
    write(
        p,
        "models/order_totals.sql",
        "select o.id, o.total, c.name\nfrom {{ source('raw', 'orders') }} o\nleft join {{ ref('customers') }} c on c.id = o.customer_id",
    );
    write(
        p,
        "models/events.sql",
        "{{ config(materialized='incremental', unique_key='id') }}\nselect id, name from {{ ref('customers') }}\n{% if is_incremental() %}where id > (select max(id) from {{ this }}){% endif %}",
    );
    write(
        p,
        "models/sources.yml",
        "version: 2\nsources:\n  - name: raw\n    schema: raw\n    tables:\n      - name: orders\n",
    );
    db.write_profiles_yml(p, "ut", schema).unwrap();
    db.batch_execute(
        "create schema raw; create table raw.orders(id integer, total numeric, customer_id integer)",
    );
}

#[test]
fn every_format_input_and_override_passes() {
    let db = TestDb::create("mfb_unit_pass");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    project(p, &db, "analytics");
    write(
        p,
        "tests/fixtures/two_customers.csv",
        "id,name\n1,ann\n2,bob\n",
    );
    write(
        p,
        "models/unit.yml",
        r#"version: 2
unit_tests:
  - name: dict_rows
    model: labels
    given:
      - input: ref('customers')
        rows:
          - {id: 1, name: ann}
          - {id: 2}
    expect:
      rows:
        - {id: 2, doubled: 4, name: null}
        - {id: 1, doubled: 2, name: ann}
  - name: csv_inline
    model: labels
    given:
      - input: ref('customers')
        format: csv
        rows: |
          id,name
          1,ann
    expect:
      format: csv
      rows: |
        id,doubled,name
        1,2,ann
  - name: csv_fixture_file
    model: labels
    given:
      - input: ref('customers')
        format: csv
        fixture: two_customers
    expect:
      format: sql
      rows: |
        select 1 as id, 'ann' as name union all select 2, 'bob'
  - name: sql_input
    model: labels
    given:
      - input: ref('customers')
        format: sql
        rows: |
          select 7 as id, 'gus'::text as name, 1.00::numeric(10,2) as credit
    expect:
      rows:
        - {id: 7, doubled: 14}
  - name: overrides_vars_env
    model: labels
    overrides:
      vars: {greeting: hello}
      env_vars: {UT_REGION: us}
    given:
      - input: ref('customers')
        rows: [{id: 1}]
    expect:
      rows:
        - {greeting: hello, region: us}
  - name: defaults_without_overrides
    model: labels
    given:
      - input: ref('customers')
        rows: [{id: 1}]
    expect:
      rows:
        - {greeting: hi, region: eu}
  - name: source_input
    model: order_totals
    given:
      - input: source('raw', 'orders')
        rows:
          - {id: 10, total: 9.5, customer_id: 1}
          - {id: 11, total: 3, customer_id: 5}
      - input: ref('customers')
        rows:
          - {id: 1, name: ann}
    expect:
      rows:
        - {id: 10, total: 9.5, name: ann}
        - {id: 11, total: 3, name: null}
  - name: incremental_run
    model: events
    overrides:
      macros:
        is_incremental: true
    given:
      - input: ref('customers')
        rows:
          - {id: 1, name: old}
          - {id: 5, name: new}
      - input: this
        rows:
          - {id: 3, name: existing}
    expect:
      rows:
        - {id: 5, name: new}
  - name: incremental_full_refresh
    model: events
    overrides:
      macros:
        is_incremental: false
    given:
      - input: ref('customers')
        rows:
          - {id: 1, name: old}
          - {id: 5, name: new}
      - input: this
        rows:
          - {id: 3, name: existing}
    expect:
      rows:
        - {id: 1, name: old}
        - {id: 5, name: new}
"#,
    );
    // Upstream relations exist: the inputs' missing columns take their catalog types.
    let (code, text) = mfb(p, &["run", "--select", "customers"]);
    assert_eq!(code, 0, "{text}");

    let results = run_unit_tests(p, &[]);
    assert_eq!(results.len(), 9);
    for (name, r) in &results {
        assert_eq!(
            r.status,
            Status::Pass,
            "{name}: {} {:?}",
            r.message,
            r.diagnostic.as_ref().map(ToString::to_string)
        );
        assert_eq!(r.failures, Some(0), "{name}");
    }
    // The SQL that ran is kept where dbt keeps it.
    let sql =
        std::fs::read_to_string(p.join("target/run/ut/models/unit.yml/models/source_input.sql"))
            .unwrap();
    assert!(sql.contains("__dbt__cte__orders as ("), "{sql}");
    assert!(sql.contains("cast(null as text) as \"name\""), "{sql}");
    // Nothing was built for the tested models.
    let built = db.query_text(
        "select count(*)::text from pg_tables where schemaname = 'analytics' and tablename = 'events'",
    );
    assert_eq!(built[0][0].as_deref(), Some("0"));
}

#[test]
fn upstream_not_built_uses_the_given_values_types() {
    let db = TestDb::create("mfb_unit_nobuild");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    project(p, &db, "analytics");
    write(
        p,
        "models/unit.yml",
        r#"version: 2
unit_tests:
  - name: from_values
    model: labels
    given:
      - input: ref('customers')
        rows:
          - {id: 1, name: ann}
    expect:
      rows:
        - {id: 1, doubled: 2, name: ann}
  - name: column_not_given
    model: labels
    given:
      - input: ref('customers')
        rows:
          - {id: 1}
    expect:
      rows:
        - {id: 1}
"#,
    );
    let results = run_unit_tests(p, &[]);
    assert_eq!(result(&results, "from_values").status, Status::Pass);
    let r = result(&results, "column_not_given");
    assert_eq!(r.status, Status::Error);
    let d = r.diagnostic.as_ref().unwrap();
    assert!(d.message.contains("column \"name\" does not exist"), "{d}");
    assert!(
        d.notes
            .iter()
            .any(|n| n.starts_with("`ref('customers')` is not in the database yet")),
        "{:?}",
        d.notes
    );
}

#[test]
fn failing_test_shows_dbts_diff() {
    let db = TestDb::create("mfb_unit_fail");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    project(p, &db, "analytics");
    write(
        p,
        "models/unit.yml",
        r#"version: 2
unit_tests:
  - name: wrong_doubling
    model: labels
    given:
      - input: ref('customers')
        rows:
          - {id: 1, name: x}
          - {id: 2, name: y}
          - {id: 3, name: z}
          - {id: 4, name: w}
          - {id: 9, name: extra}
    expect:
      rows:
        - {id: 1, name: x, doubled: 2}
        - {id: 2, name: yy, doubled: 4}
        - {id: 3, name: zz, doubled: 6}
        - {id: 4, name: w, doubled: 8}
        - {id: 5, name: v, doubled: 10}
"#,
    );
    let (code, text) = mfb(p, &["run", "--select", "customers"]);
    assert_eq!(code, 0, "{text}");
    let results = run_unit_tests(p, &[]);
    let r = result(&results, "wrong_doubling");
    assert_eq!(r.status, Status::Fail);
    // dbt counts a failing unit test as one failure, whatever the rows.
    assert_eq!(r.failures, Some(1));
    // run_results.json's message is dbt's, byte for byte (daff's table, CRLF lines).
    assert_eq!(
        r.message,
        "\n\nactual differs from expected:\n\n\
         @@ ,id,name ,doubled\r\n   ,1 ,x    ,2\r\n→  ,2 ,yy→y ,4\r\n→  ,3 ,zz→z ,6\r\n   ,4 ,w    ,8\r\n+++,9 ,extra,18\r\n---,5 ,v    ,10\r\n\n"
    );
    let d = r.diagnostic.as_ref().unwrap();
    assert_eq!(d.code, "unit-test-failed");
    let lines: Vec<&str> = d.message.lines().collect();
    assert_eq!(
        lines,
        [
            "unit test `wrong_doubling` of model `labels` failed: actual differs from expected:",
            "",
            "@@ ,id,name ,doubled",
            "   ,1 ,x    ,2",
            "→  ,2 ,yy→y ,4",
            "→  ,3 ,zz→z ,6",
            "   ,4 ,w    ,8",
            "+++,9 ,extra,18",
            "---,5 ,v    ,10",
        ]
    );
    assert_eq!(
        d.location.as_ref().unwrap().to_string(),
        "models/unit.yml:3"
    );
}

#[test]
fn fixture_columns_must_exist_upstream_and_in_the_model() {
    let db = TestDb::create("mfb_unit_cols");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    project(p, &db, "analytics");
    write(
        p,
        "models/unit.yml",
        r#"version: 2
unit_tests:
  - name: extra_given_column
    model: labels
    given:
      - input: ref('customers')
        rows:
          - {id: 1, nickname: a, shoe_size: 9}
    expect:
      rows:
        - {id: 1}
  - name: expect_unknown_column
    model: labels
    given:
      - input: ref('customers')
        rows:
          - {id: 1}
    expect:
      rows:
        - {id: 1, tripled: 3}
"#,
    );
    let (code, text) = mfb(p, &["run", "--select", "customers"]);
    assert_eq!(code, 0, "{text}");
    let results = run_unit_tests(p, &[]);
    let r = result(&results, "extra_given_column");
    assert_eq!(r.status, Status::Error);
    let d = r.diagnostic.as_ref().unwrap();
    assert_eq!(d.code, "unit-test-columns");
    assert_eq!(
        d.message,
        "input `ref('customers')` of unit test `extra_given_column`: the given rows have columns the relation does not have: nickname, shoe_size"
    );
    let help = d.help.as_deref().unwrap_or_default();
    assert!(
        help.ends_with(".\"analytics\".\"customers\" has the columns id, name, credit"),
        "{help}"
    );
    let r = result(&results, "expect_unknown_column");
    assert_eq!(r.status, Status::Error);
    let d = r.diagnostic.as_ref().unwrap();
    assert_eq!(
        d.message,
        "`expect` of unit test `expect_unknown_column` names columns model `labels` does not return: tripled"
    );
    assert_eq!(
        d.help.as_deref(),
        Some("the model returns id, doubled, name, greeting, region")
    );
}

#[test]
fn wrong_definitions_fail_parsing_at_their_line() {
    let db = TestDb::create("mfb_unit_parse");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    project(p, &db, "analytics");
    write(
        p,
        "models/unit.yml",
        r#"version: 2
unit_tests:
  - name: not_an_input
    model: labels
    given:
      - input: ref('events')
        rows: [{id: 1}]
    expect:
      rows: [{id: 1}]
  - name: no_fixture_file
    model: labels
    given:
      - input: ref('customers')
        format: csv
        fixture: nowhere
    expect:
      rows: [{id: 1}]
  - name: bad_format
    model: labels
    given:
      - input: ref('customers')
        rows: [{id: 1}]
    expect:
      format: json
      rows: [{id: 1}]
  - name: no_such_model
    model: lables
    given: []
    expect:
      rows: []
"#,
    );
    let (code, text) = mfb(p, &["parse"]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("error[unit-test-input]: `input: ref('events')` of unit test `not_an_input` is not used by model `labels`"),
        "{text}"
    );
    assert!(text.contains("--> models/unit.yml:6"), "{text}");
    assert!(
        text.contains("help: model `labels` reads ref('customers')"),
        "{text}"
    );
    assert!(
        text.contains("error[unit-test-fixture]: fixture `nowhere` of input `ref('customers')` of unit test `no_fixture_file` not found: no nowhere.csv under tests/fixtures/"),
        "{text}"
    );
    assert!(text.contains("--> models/unit.yml:13"), "{text}");
    assert!(
        text.contains("error[unit-test-format]: `format: \"json\"` of `expect` of unit test `bad_format` is not dict, csv or sql"),
        "{text}"
    );
    assert!(text.contains("--> models/unit.yml:23"), "{text}");
    assert!(
        text.contains("error[unit-test-model-not-found]: unit test `no_such_model` tests model `lables`, which does not exist"),
        "{text}"
    );
    assert!(text.contains("help: did you mean `labels`?"), "{text}");
}

#[test]
fn selection_listing_and_manifest() {
    let db = TestDb::create("mfb_unit_select");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    project(p, &db, "analytics");
    write(
        p,
        "models/marts/unit.yml",
        r#"version: 2
unit_tests:
  - name: test_labels
    description: doubles ids
    model: labels
    config:
      tags: [fast]
      meta: {owner: data}
    given:
      - input: ref('customers')
        format: csv
        rows: |
          id,name
          1,ann
    expect:
      rows:
        - {id: 1, doubled: 2}
  - name: test_events
    model: events
    overrides:
      macros: {is_incremental: false}
    given:
      - input: ref('customers')
        rows: [{id: 1}]
    expect:
      rows: [{id: 1}]
"#,
    );
    let (code, text) = mfb(p, &["ls", "-q", "--select", "test_type:unit"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        text.trim(),
        "unit_test:ut.test_events\nunit_test:ut.test_labels"
    );
    let (_, text) = mfb(p, &["ls", "-q", "--resource-type", "unit_test"]);
    assert_eq!(
        text.trim(),
        "unit_test:ut.test_events\nunit_test:ut.test_labels"
    );
    let (_, text) = mfb(p, &["ls", "-q", "--select", "labels"]);
    assert_eq!(text.trim(), "ut.labels\nunit_test:ut.test_labels");
    let (_, text) = mfb(p, &["ls", "-q", "--select", "tag:fast"]);
    assert_eq!(text.trim(), "unit_test:ut.test_labels");
    let (_, text) = mfb(
        p,
        &["ls", "-q", "--select", "resource_type:unit_test,events"],
    );
    assert_eq!(text.trim(), "unit_test:ut.test_events");

    let (code, text) = mfb(p, &["parse"]);
    assert_eq!(code, 0, "{text}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("target/manifest.json")).unwrap())
            .unwrap();
    let ut = &manifest["unit_tests"]["unit_test.ut.labels.test_labels"];
    assert_eq!(ut["resource_type"], "unit_test");
    assert_eq!(ut["model"], "labels");
    assert_eq!(ut["path"], "marts/unit.yml");
    assert_eq!(ut["original_file_path"], "models/marts/unit.yml");
    assert_eq!(
        ut["fqn"],
        serde_json::json!(["ut", "marts", "labels", "test_labels"])
    );
    assert_eq!(ut["description"], "doubles ids");
    assert_eq!(
        ut["depends_on"],
        serde_json::json!({"macros": [], "nodes": ["model.ut.labels"]})
    );
    assert_eq!(
        ut["config"],
        serde_json::json!({"tags": ["fast"], "meta": {"owner": "data"}, "enabled": true})
    );
    // CSV rows are stored as dicts of strings, like dbt does.
    assert_eq!(
        ut["given"],
        serde_json::json!([{"input": "ref('customers')", "rows": [{"id": "1", "name": "ann"}], "format": "csv", "fixture": null}])
    );
    assert_eq!(
        ut["expect"],
        serde_json::json!({"rows": [{"id": 1, "doubled": 2}], "format": "dict", "fixture": null})
    );
    assert_eq!(ut["overrides"], serde_json::Value::Null);
    let ev = &manifest["unit_tests"]["unit_test.ut.events.test_events"];
    assert_eq!(
        ev["overrides"],
        serde_json::json!({"macros": {"is_incremental": false}, "vars": {}, "env_vars": {}})
    );
    assert!(
        manifest["nodes"]
            .get("unit_test.ut.labels.test_labels")
            .is_none()
    );
}
