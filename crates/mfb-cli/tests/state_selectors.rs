//! `result:` and `source_status:` selectors, against the artifacts of an earlier run kept
//! with `--state`.

use std::path::Path;

use mfb_testkit::TestDb;

mod common;
use common::{mfb, write};

fn keep_state(p: &Path, name: &str) -> String {
    let state = p.join(name);
    std::fs::create_dir_all(&state).unwrap();
    for f in ["manifest.json", "run_results.json", "sources.json"] {
        let from = p.join("target").join(f);
        if from.exists() {
            std::fs::copy(from, state.join(f)).unwrap();
        }
    }
    state.to_string_lossy().into_owned()
}

fn listed(text: &str) -> Vec<&str> {
    let mut v: Vec<&str> = text.lines().filter(|l| !l.contains(' ')).collect();
    v.sort();
    v
}

#[test]
fn result_and_source_status_select_from_the_earlier_run() {
    let db = TestDb::create("mfb_state_sel");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    db.batch_execute(
        "create schema raw; create table raw.events (id int, loaded_at timestamptz);
         insert into raw.events values (1, now() - interval '1 hour');",
    );
    write(p, "dbt_project.yml", "name: ss\nprofile: ss\n");
    write(
        p,
        "models/sources.yml",
        "version: 2\nsources:\n  - name: raw\n    schema: raw\n    loaded_at_field: loaded_at\n    freshness:\n      warn_after: {count: 1, period: day}\n    tables:\n      - name: events\n",
    );
    write(
        p,
        "models/events.sql",
        "select * from {{ source('raw', 'events') }}",
    );
    write(p, "models/broken.sql", "select 1 as id from nowhere");
    write(
        p,
        "models/after_broken.sql",
        "select * from {{ ref('broken') }}",
    );
    db.write_profiles_yml(p, "ss", "analytics").unwrap();

    let (code, text) = mfb(p, &["run"]);
    assert_eq!(code, 1, "{text}");
    let (code, text) = mfb(p, &["source", "freshness"]);
    assert_eq!(code, 0, "{text}");
    let state = keep_state(p, "state");

    let (code, text) = mfb(
        p,
        &["-q", "ls", "--select", "result:error", "--state", &state],
    );
    assert_eq!(code, 0, "{text}");
    assert_eq!(listed(&text), ["ss.broken"]);
    let (code, text) = mfb(
        p,
        &[
            "-q",
            "ls",
            "--select",
            "result:skipped",
            "result:error",
            "--state",
            &state,
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert_eq!(listed(&text), ["ss.after_broken", "ss.broken"]);

    // Nothing new loaded: no source is fresher.
    let (code, text) = mfb(p, &["source", "freshness"]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = mfb(
        p,
        &[
            "-q",
            "ls",
            "--select",
            "source_status:fresher+",
            "--state",
            &state,
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert!(listed(&text).is_empty(), "{text}");
    // New rows: the source and what reads it.
    db.batch_execute("insert into raw.events values (2, now())");
    let (code, text) = mfb(p, &["source", "freshness"]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = mfb(
        p,
        &[
            "-q",
            "ls",
            "--select",
            "source_status:fresher+",
            "--state",
            &state,
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert_eq!(listed(&text), ["source:ss.raw.events", "ss.events"]);

    // Without --state artifacts the error says what is missing.
    let (code, text) = mfb(p, &["ls", "--select", "result:error"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("run_results.json"), "{text}");
}

/// `depends_on.macros` lists what each node's own template calls, as dbt does (checked
/// against `dbt parse` 1.10 on the same files); macros list what they call. A change to a
/// macro two calls away still selects the model through `state:modified.macros`.
#[test]
fn macro_dependencies_are_direct_and_state_follows_them_transitively() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(p, "dbt_project.yml", "name: md\nprofile: md\n");
    write(
        p,
        "profiles.yml",
        "md:\n  target: dev\n  outputs:\n    dev: {type: postgres, host: 127.0.0.1, port: 1, user: u, password: p, dbname: d, schema: s}\n",
    );
    let macros = "{% macro shout(x) %}upper({{ x }}){% endmacro %}\n\
                  {% macro plus_day(x) %}{{ dbt.dateadd('day', 1, x) }} {{ shout(x) }} {{ adapter.dispatch('mine', 'md')(x) }}{% endmacro %}\n\
                  {% macro default__mine(x) %}{{ x }}{% endmacro %}\n";
    write(p, "macros/m.sql", macros);
    write(
        p,
        "models/inc.sql",
        "{{ config(materialized='incremental') }}\nselect {{ plus_day(\"'2020-01-01'::date\") }} as d, 1 as id\n\
         {% if is_incremental() %} where 1=1 {% endif %}\n",
    );
    write(p, "models/plain.sql", "select 1 as id");
    write(
        p,
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: inc\n    columns:\n      - name: id\n        data_tests: [not_null, {accepted_values: {values: [1]}}]\n",
    );
    let (code, text) = mfb(p, &["parse"]);
    assert_eq!(code, 0, "{text}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("target/manifest.json")).unwrap())
            .unwrap();
    let deps = |kind: &str, id: &str| manifest[kind][id]["depends_on"]["macros"].clone();
    assert_eq!(
        deps("nodes", "model.md.inc"),
        serde_json::json!(["macro.md.plus_day", "macro.dbt.is_incremental"])
    );
    assert_eq!(
        deps("macros", "macro.md.plus_day"),
        serde_json::json!([
            "macro.dbt.dateadd",
            "macro.md.shout",
            "macro.md.default__mine"
        ])
    );
    let tests = manifest["nodes"].as_object().unwrap();
    let test_deps = |prefix: &str| {
        tests
            .iter()
            .find(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v["depends_on"]["macros"].clone())
            .unwrap()
    };
    assert_eq!(
        test_deps("test.md.not_null_inc_id"),
        serde_json::json!(["macro.dbt.test_not_null"])
    );
    assert_eq!(
        test_deps("test.md.accepted_values_inc_id"),
        serde_json::json!([
            "macro.dbt.test_accepted_values",
            "macro.dbt.get_where_subquery"
        ])
    );

    let state = p.join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::copy(p.join("target/manifest.json"), state.join("manifest.json")).unwrap();
    write(p, "macros/m.sql", &macros.replace("upper(", "lower("));
    let (code, text) = mfb(
        p,
        &[
            "ls",
            "-s",
            "state:modified.macros",
            "--state",
            state.to_str().unwrap(),
            "--resource-type",
            "model",
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert_eq!(listed(&text), vec!["md.inc"], "{text}");
}
