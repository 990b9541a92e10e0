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
