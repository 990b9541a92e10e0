//! `mfb snapshot` against a real throwaway PostgreSQL: SCD type 2 history over several
//! runs with inserts, updates and deletes of the source in between, for both strategies
//! and every `hard_deletes` mode, composite keys, `dbt_valid_to_current`,
//! `snapshot_meta_column_names` and YAML-defined snapshots.
//!
//! The expected rows of the multi-run scenarios are the rows dbt-core 1.10.9 with
//! dbt-postgres 1.10.0 wrote for the same project and the same source changes. Times
//! taken from the clock (deletions, the check strategy) are shown as `runN`, the run that
//! wrote them, and an `dbt_scd_id` hashed from such a time as `h`; every other value,
//! timestamp-strategy scd ids included, is compared exactly.

use std::path::Path;

use mfb_testkit::TestDb;

mod common;
use common::{mfb, write};

/// Runs `mfb snapshot` (expecting success) and remembers when it started.
struct Runs<'a> {
    db: &'a TestDb,
    dir: &'a Path,
    /// The server's clock just before each run.
    starts: Vec<String>,
}

impl Runs<'_> {
    fn snapshot(&mut self) -> String {
        let now = self
            .db
            .query_text("select clock_timestamp()::timestamp::text")[0][0]
            .clone()
            .unwrap();
        self.starts.push(now);
        let (code, text) = mfb(self.dir, &["snapshot"]);
        assert_eq!(code, 0, "{text}");
        text
    }

    /// The rows of `table`, each as `a|b|c` (null as empty), sorted; clock times as `runN`.
    fn rows(&self, table: &str) -> Vec<String> {
        let (schema, name) = table.split_once('.').unwrap();
        let columns: Vec<String> = self
            .db
            .query_text(&format!(
                "select quote_ident(column_name::text) from information_schema.columns \
                 where table_schema = '{schema}' and table_name = '{name}' order by ordinal_position"
            ))
            .into_iter()
            .map(|r| r[0].clone().unwrap())
            .collect();
        let select = columns
            .iter()
            .map(|c| format!("{c}::text"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut rows: Vec<String> = self
            .db
            .query_text(&format!("select {select} from {table}"))
            .into_iter()
            .map(|row| {
                let cells: Vec<String> = row
                    .into_iter()
                    .map(|c| self.run_of(c.unwrap_or_default()))
                    .collect();
                (0..cells.len())
                    .map(|i| {
                        let hashed_from_clock = cells[i].len() == 32
                            && cells.get(i + 1).is_some_and(|n| n.starts_with("run"));
                        if hashed_from_clock {
                            "h".to_owned()
                        } else {
                            cells[i].clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect();
        rows.sort();
        rows
    }

    /// `runN` for a time written by run N, else the value.
    fn run_of(&self, value: String) -> String {
        let first = &self.starts[0];
        let is_timestamp = value.len() >= 19 && &value[4..5] == "-" && &value[10..11] == " ";
        if is_timestamp && value.as_str() >= first.as_str() && !value.starts_with("9999") {
            let n = self
                .starts
                .iter()
                .filter(|s| s.as_str() <= value.as_str())
                .count();
            return format!("run{n}");
        }
        value
    }
}

const PROJECT: &str =
    "name: sn\nprofile: sn\nversion: '1.0'\nsnapshots:\n  sn:\n    +target_schema: snaps\n";

const SOURCES: &str = "version: 2\nsources:\n  - name: raw\n    schema: raw\n    tables:\n      - name: src\n      - name: src2\n";

const TIMESTAMP_SNAPSHOTS: &str = r#"
{% snapshot ts_ignore %}
{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at') }}
select * from {{ source('raw', 'src') }}
{% endsnapshot %}
{% snapshot ts_invalidate %}
{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at', hard_deletes='invalidate') }}
select * from {{ source('raw', 'src') }}
{% endsnapshot %}
{% snapshot ts_new_record %}
{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at', hard_deletes='new_record') }}
select * from {{ source('raw', 'src') }}
{% endsnapshot %}
{% snapshot ts_legacy %}
{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at', invalidate_hard_deletes=true) }}
select * from {{ source('raw', 'src') }}
{% endsnapshot %}
{% snapshot ts_current %}
{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at', hard_deletes='invalidate', dbt_valid_to_current="'9999-12-31'::timestamp") }}
select * from {{ source('raw', 'src') }}
{% endsnapshot %}
{% snapshot ts_meta %}
{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at', hard_deletes='new_record', snapshot_meta_column_names={'dbt_valid_from': 'valid_from', 'dbt_valid_to': 'valid_to', 'dbt_scd_id': 'scd_id', 'dbt_updated_at': 'changed_at', 'dbt_is_deleted': 'is_deleted'}) }}
select * from {{ source('raw', 'src') }}
{% endsnapshot %}
{% snapshot composite %}
{{ config(unique_key=['k1', 'k2'], strategy='timestamp', updated_at='updated_at', hard_deletes='new_record') }}
select * from {{ source('raw', 'src2') }}
{% endsnapshot %}
"#;

const CHECK_SNAPSHOTS: &str = r#"
{% snapshot chk_cols %}
{{ config(unique_key='id', strategy='check', check_cols=['name'], hard_deletes='invalidate') }}
select id, name, updated_at from {{ source('raw', 'src') }}
{% endsnapshot %}
{% snapshot chk_all %}
{{ config(unique_key='id', strategy='check', check_cols='all', hard_deletes='new_record') }}
select * from {{ source('raw', 'src') }}
{% endsnapshot %}
"#;

const YAML_SNAPSHOT: &str = "snapshots:\n  - name: yml_snap\n    relation: source('raw', 'src')\n    config:\n      unique_key: id\n      strategy: timestamp\n      updated_at: updated_at\n      hard_deletes: invalidate\n      schema: yml\n";

/// The source before run 1, and the changes before runs 2, 3 (and none before 4).
const SEED_SQL: &str = "create schema raw;
create table raw.src (id int, name text, updated_at timestamp);
insert into raw.src values (1, 'a', '2024-01-01'), (2, 'b', '2024-01-01'), (3, 'c', '2024-01-01');
create table raw.src2 (k1 int, k2 text, v text, updated_at timestamp);
insert into raw.src2 values (1, 'x', 'a', '2024-01-01'), (1, 'y', 'b', '2024-01-01'), (2, 'x', 'c', '2024-01-01');";

/// Before run 2: 2 updated, 3 deleted, 4 new, 1 changed without a new updated_at.
const CHANGES_2: &str = "update raw.src set name = 'b2', updated_at = '2024-02-01' where id = 2;
delete from raw.src where id = 3;
insert into raw.src values (4, 'd', '2024-02-01');
update raw.src set name = 'a_silent' where id = 1;
update raw.src2 set v = 'a2', updated_at = '2024-02-01' where k1 = 1 and k2 = 'x';
delete from raw.src2 where k1 = 1 and k2 = 'y';
insert into raw.src2 values (3, 'z', 'd', '2024-02-01');";

/// Before run 3: 3 comes back, 1 updated, 4 deleted, a new column.
const CHANGES_3: &str = "insert into raw.src values (3, 'c3', '2024-03-01');
update raw.src set name = 'a2', updated_at = '2024-03-01' where id = 1;
delete from raw.src where id = 4;
alter table raw.src add column extra text;
update raw.src set extra = 'e' where id = 2;
insert into raw.src2 values (1, 'y', 'b3', '2024-03-01');
delete from raw.src2 where k1 = 3;";

/// Runs the four-run scenario over a project with `snapshot_files`.
fn four_runs<'a>(db: &'a TestDb, dir: &'a Path) -> (Runs<'a>, Vec<String>) {
    db.batch_execute(SEED_SQL);
    let mut runs = Runs {
        db,
        dir,
        starts: Vec::new(),
    };
    let mut outputs = vec![runs.snapshot()];
    db.batch_execute(CHANGES_2);
    outputs.push(runs.snapshot());
    db.batch_execute(CHANGES_3);
    outputs.push(runs.snapshot());
    // Nothing changed: nothing is written.
    outputs.push(runs.snapshot());
    (runs, outputs)
}

fn project(dir: &Path, db: &TestDb, files: &[(&str, &str)]) {
    write(dir, "dbt_project.yml", PROJECT);
    write(dir, "models/sources.yml", SOURCES);
    for (path, text) in files {
        write(dir, path, text);
    }
    db.write_profiles_yml(dir, "sn", "analytics").unwrap();
}

/// ts_ignore and yml_snap (hard_deletes ignore / invalidate without deletions left open).
const IGNORE_ROWS: [&str; 7] = [
    "1|a2|2024-03-01 00:00:00|e61b923ae5396261d5f3f53f83090fa0|2024-03-01 00:00:00|2024-03-01 00:00:00||",
    "1|a|2024-01-01 00:00:00|8bd6037542377309505ab720e545f24e|2024-01-01 00:00:00|2024-01-01 00:00:00|2024-03-01 00:00:00|",
    "2|b2|2024-02-01 00:00:00|30acef375f593e281672ea14aa7ec237|2024-02-01 00:00:00|2024-02-01 00:00:00||",
    "2|b|2024-01-01 00:00:00|f8e4dcba7004839b9c5b44a77923cd0a|2024-01-01 00:00:00|2024-01-01 00:00:00|2024-02-01 00:00:00|",
    "3|c3|2024-03-01 00:00:00|4decfd410d34bf1c19c59125b682ba5e|2024-03-01 00:00:00|2024-03-01 00:00:00||",
    // Deleted in run 2 and ignored: still current until it came back in run 3.
    "3|c|2024-01-01 00:00:00|36d97e6f161bf778b28647771ac013ae|2024-01-01 00:00:00|2024-01-01 00:00:00|2024-03-01 00:00:00|",
    "4|d|2024-02-01 00:00:00|d7dca5374327b22f4249cf80d33a6ac2|2024-02-01 00:00:00|2024-02-01 00:00:00||",
];

/// ts_invalidate, ts_legacy, yml_snap: deleted rows end when the run saw them gone.
const INVALIDATE_ROWS: [&str; 7] = [
    "1|a2|2024-03-01 00:00:00|e61b923ae5396261d5f3f53f83090fa0|2024-03-01 00:00:00|2024-03-01 00:00:00||",
    "1|a|2024-01-01 00:00:00|8bd6037542377309505ab720e545f24e|2024-01-01 00:00:00|2024-01-01 00:00:00|2024-03-01 00:00:00|",
    "2|b2|2024-02-01 00:00:00|30acef375f593e281672ea14aa7ec237|2024-02-01 00:00:00|2024-02-01 00:00:00||",
    "2|b|2024-01-01 00:00:00|f8e4dcba7004839b9c5b44a77923cd0a|2024-01-01 00:00:00|2024-01-01 00:00:00|2024-02-01 00:00:00|",
    "3|c3|2024-03-01 00:00:00|4decfd410d34bf1c19c59125b682ba5e|2024-03-01 00:00:00|2024-03-01 00:00:00||",
    "3|c|2024-01-01 00:00:00|36d97e6f161bf778b28647771ac013ae|2024-01-01 00:00:00|2024-01-01 00:00:00|run2|",
    "4|d|2024-02-01 00:00:00|d7dca5374327b22f4249cf80d33a6ac2|2024-02-01 00:00:00|2024-02-01 00:00:00|run3|",
];

/// ts_new_record and ts_meta: a deletion adds a current `True` row; a key coming back
/// ends it (at the source's updated_at, as dbt does).
const NEW_RECORD_ROWS: [&str; 9] = [
    "1|a2|2024-03-01 00:00:00|e61b923ae5396261d5f3f53f83090fa0|2024-03-01 00:00:00|2024-03-01 00:00:00||False|",
    "1|a|2024-01-01 00:00:00|8bd6037542377309505ab720e545f24e|2024-01-01 00:00:00|2024-01-01 00:00:00|2024-03-01 00:00:00|False|",
    "2|b2|2024-02-01 00:00:00|30acef375f593e281672ea14aa7ec237|2024-02-01 00:00:00|2024-02-01 00:00:00||False|",
    "2|b|2024-01-01 00:00:00|f8e4dcba7004839b9c5b44a77923cd0a|2024-01-01 00:00:00|2024-01-01 00:00:00|2024-02-01 00:00:00|False|",
    "3|c3|2024-03-01 00:00:00|4decfd410d34bf1c19c59125b682ba5e|2024-03-01 00:00:00|2024-03-01 00:00:00||False|",
    "3|c|2024-01-01 00:00:00|36d97e6f161bf778b28647771ac013ae|2024-01-01 00:00:00|2024-01-01 00:00:00|run2|False|",
    "3|c|2024-01-01 00:00:00|h|run2|run2|2024-03-01 00:00:00|True|",
    "4|d|2024-02-01 00:00:00|d7dca5374327b22f4249cf80d33a6ac2|2024-02-01 00:00:00|2024-02-01 00:00:00|run3|False|",
    "4|d|2024-02-01 00:00:00|h|run3|run3||True|",
];

#[test]
fn timestamp_snapshots_match_dbt_over_four_runs() {
    let db = TestDb::create("mfb_snap_ts");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    project(
        p,
        &db,
        &[
            ("snapshots/ts.sql", TIMESTAMP_SNAPSHOTS),
            ("snapshots/props.yml", YAML_SNAPSHOT),
        ],
    );
    let (runs, outputs) = four_runs(&db, p);
    assert!(
        outputs[0].contains("OK snapshotted snaps.ts_ignore")
            && outputs[0].contains("[SELECT 3 in"),
        "{}",
        outputs[0]
    );
    assert!(
        outputs[0].contains("Done. PASS=8 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=8"),
        "{}",
        outputs[0]
    );
    // dbt's counts per run: run 2 inserts 2 (ignore/invalidate) or 3 (new_record) rows.
    assert!(
        outputs[1].contains("OK snapshotted snaps.ts_ignore")
            && outputs[1].contains("[INSERT 0 2 in"),
        "{}",
        outputs[1]
    );
    assert!(
        outputs[3].matches("[INSERT 0 0 in").count() == 8,
        "{}",
        outputs[3]
    );

    assert_eq!(runs.rows("snaps.ts_ignore"), sorted(&IGNORE_ROWS));
    assert_eq!(runs.rows("snaps.ts_invalidate"), sorted(&INVALIDATE_ROWS));
    // invalidate_hard_deletes=true (legacy) is `invalidate`.
    assert_eq!(runs.rows("snaps.ts_legacy"), sorted(&INVALIDATE_ROWS));
    assert_eq!(runs.rows("snaps.ts_new_record"), sorted(&NEW_RECORD_ROWS));
    // Renamed meta columns hold the same values.
    assert_eq!(runs.rows("snaps.ts_meta"), sorted(&NEW_RECORD_ROWS));
    // The YAML-defined snapshot: target_schema (from the project) wins over `schema`.
    assert_eq!(runs.rows("snaps.yml_snap"), sorted(&INVALIDATE_ROWS));
    // dbt_valid_to_current marks the current rows instead of null.
    let current: Vec<String> = INVALIDATE_ROWS
        .iter()
        .map(|r| r.replace("||", "|9999-12-31 00:00:00|"))
        .collect();
    assert_eq!(runs.rows("snaps.ts_current"), sorted(&current));
    assert_eq!(
        runs.rows("snaps.composite"),
        [
            "1|x|a2|2024-02-01 00:00:00|c5ba5db05938338ea3058dea21bf6b60|2024-02-01 00:00:00|2024-02-01 00:00:00||False",
            "1|x|a|2024-01-01 00:00:00|699493e369b2f460d4c598f6104b4b27|2024-01-01 00:00:00|2024-01-01 00:00:00|2024-02-01 00:00:00|False",
            "1|y|b3|2024-03-01 00:00:00|ae72f8bcef0ea66ba23d232b2f805b47|2024-03-01 00:00:00|2024-03-01 00:00:00||False",
            "1|y|b|2024-01-01 00:00:00|c8076180e25d5c717d036b2870704c9a|2024-01-01 00:00:00|2024-01-01 00:00:00|run2|False",
            "1|y|b|2024-01-01 00:00:00|h|run2|run2|2024-03-01 00:00:00|True",
            "2|x|c|2024-01-01 00:00:00|d125b423374977493b30a34883d784eb|2024-01-01 00:00:00|2024-01-01 00:00:00||False",
            "3|z|d|2024-02-01 00:00:00|975e3748018629bc13e687d910d4af3c|2024-02-01 00:00:00|2024-02-01 00:00:00|run3|False",
            "3|z|d|2024-02-01 00:00:00|h|run3|run3||True",
        ]
    );
    // Column names, order and types as dbt creates and extends them.
    assert_eq!(
        db.query_text(
            "select string_agg(column_name || ' ' || data_type, ', ' order by ordinal_position) \
             from information_schema.columns where table_schema = 'snaps' and table_name = 'ts_meta'"
        )[0][0]
            .as_deref()
            .unwrap(),
        "id integer, name text, updated_at timestamp without time zone, scd_id text, \
         changed_at timestamp without time zone, valid_from timestamp without time zone, \
         valid_to timestamp without time zone, is_deleted text, extra text"
    );
    // A deletion row's scd id hashes the closed row's id with the time of the deletion.
    assert_eq!(
        db.query_text(
            "select count(*)::text from snaps.ts_new_record d join snaps.ts_new_record c \
             on c.id = d.id and c.dbt_valid_to = d.dbt_valid_from and c.dbt_is_deleted = 'False' \
             where d.dbt_is_deleted = 'True' \
               and d.dbt_scd_id = md5(c.dbt_scd_id || '|' || d.dbt_valid_from::varchar)"
        )[0][0]
            .as_deref(),
        Some("2")
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("target/run_results.json")).unwrap())
            .unwrap();
    assert_eq!(results["args"]["which"], "snapshot");
    let first = &results["results"][0];
    assert_eq!(first["status"], "success");
    assert_eq!(first["adapter_response"]["_message"], "INSERT 0 0");
}

/// `rows`, sorted like [`Runs::rows`]. (The source's `extra` column, new before run 3,
/// is the last cell: empty, since the timestamp strategy makes no version for it.)
fn sorted(rows: &[impl AsRef<str>]) -> Vec<String> {
    let mut rows: Vec<String> = rows.iter().map(|r| r.as_ref().to_owned()).collect();
    rows.sort();
    rows
}

#[test]
fn check_snapshots_match_dbt_over_four_runs() {
    let db = TestDb::create("mfb_snap_check");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    project(p, &db, &[("snapshots/chk.sql", CHECK_SNAPSHOTS)]);
    let (runs, outputs) = four_runs(&db, p);
    assert!(
        outputs[1].contains("OK snapshotted snaps.chk_all")
            && outputs[1].contains("[INSERT 0 4 in"),
        "{}",
        outputs[1]
    );
    // check_cols=['name']: a name change without a new updated_at is a new version; the
    // deleted 4 ends (invalidate); the query's columns are fixed, so no `extra`.
    assert_eq!(
        runs.rows("snaps.chk_cols"),
        [
            "1|a2|2024-03-01 00:00:00|h|run3|run3|",
            "1|a_silent|2024-01-01 00:00:00|h|run2|run2|run3",
            "1|a|2024-01-01 00:00:00|h|run1|run1|run2",
            "2|b2|2024-02-01 00:00:00|h|run2|run2|",
            "2|b|2024-01-01 00:00:00|h|run1|run1|run2",
            "3|c3|2024-03-01 00:00:00|h|run3|run3|",
            "3|c|2024-01-01 00:00:00|h|run1|run1|run2",
            "4|d|2024-02-01 00:00:00|h|run2|run2|run3",
        ]
    );
    // check_cols='all' with new_record: the column added in run 3 makes every current
    // row a new version (2 gets one for `extra` alone), as dbt does.
    assert_eq!(
        runs.rows("snaps.chk_all"),
        [
            "1|a2|2024-03-01 00:00:00|h|run3|run3||False|",
            "1|a_silent|2024-01-01 00:00:00|h|run2|run2|run3|False|",
            "1|a|2024-01-01 00:00:00|h|run1|run1|run2|False|",
            "2|b2|2024-02-01 00:00:00|h|run2|run2|run3|False|",
            "2|b2|2024-02-01 00:00:00|h|run3|run3||False|e",
            "2|b|2024-01-01 00:00:00|h|run1|run1|run2|False|",
            "3|c3|2024-03-01 00:00:00|h|run3|run3||False|",
            "3|c|2024-01-01 00:00:00|h|run1|run1|run2|False|",
            "3|c|2024-01-01 00:00:00|h|run2|run2|run3|True|",
            "4|d|2024-02-01 00:00:00|h|run2|run2|run3|False|",
            "4|d|2024-02-01 00:00:00|h|run3|run3||True|",
        ]
    );
    // The check strategy's scd id: md5 of the key and the run's time.
    for (table, versions, expected) in [
        ("snaps.chk_cols", "true", "8/8"),
        ("snaps.chk_all", "dbt_is_deleted = 'False'", "9/9"),
    ] {
        assert_eq!(
            db.query_text(&format!(
                "select (count(*) filter (where dbt_scd_id = md5(id::varchar || '|' || dbt_updated_at::varchar)))::text \
                 || '/' || count(*)::text from {table} where {versions}"
            ))[0][0]
                .as_deref(),
            Some(expected)
        );
    }
}

#[test]
fn yaml_snapshot_without_target_schema_uses_generate_schema_name() {
    let db = TestDb::create("mfb_snap_yaml");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(
        p,
        "dbt_project.yml",
        "name: sn\nprofile: sn\nversion: '1.0'\n",
    );
    write(p, "models/sources.yml", SOURCES);
    write(
        p,
        "snapshots/y.yml",
        "snapshots:\n  - name: y_snap\n    relation: source('raw', 'src2')\n    config:\n      unique_key: [k1, k2]\n      strategy: check\n      check_cols: [v]\n      schema: yml\n",
    );
    db.write_profiles_yml(p, "sn", "analytics").unwrap();
    db.batch_execute(SEED_SQL);
    let mut runs = Runs {
        db: &db,
        dir: p,
        starts: Vec::new(),
    };
    let out = runs.snapshot();
    assert!(out.contains("OK snapshotted analytics_yml.y_snap"), "{out}");
    db.batch_execute("update raw.src2 set v = 'a2' where k1 = 1 and k2 = 'x'; delete from raw.src2 where k2 = 'y'");
    runs.snapshot();
    assert_eq!(
        runs.rows("analytics_yml.y_snap"),
        [
            "1|x|a2|2024-01-01 00:00:00|h|run2|run2|",
            "1|x|a|2024-01-01 00:00:00|h|run1|run1|run2",
            // hard_deletes defaults to ignore.
            "1|y|b|2024-01-01 00:00:00|h|run1|run1|",
            "2|x|c|2024-01-01 00:00:00|h|run1|run1|",
        ]
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("target/manifest.json")).unwrap())
            .unwrap();
    let node = &manifest["nodes"]["snapshot.sn.y_snap"];
    assert_eq!(node["original_file_path"], "snapshots/y.yml");
    assert_eq!(
        node["raw_code"],
        "select * from {{ source('raw', 'src2') }}"
    );
    assert_eq!(node["schema"], "analytics_yml");
}

#[test]
fn non_unique_key_or_a_late_failure_leaves_the_table_as_it_was() {
    let db = TestDb::create("mfb_snap_dup");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    project(
        p,
        &db,
        &[(
            "snapshots/orders.sql",
            "{% snapshot orders_snap %}\n{{ config(\n    strategy='check',\n    unique_key=['k1', 'k2'],\n    check_cols='all',\n) }}\nselect * from {{ source('raw', 'src2') }}\n{% endsnapshot %}\n",
        )],
    );
    db.batch_execute(SEED_SQL);
    // First run: a duplicated key creates no table.
    db.batch_execute("insert into raw.src2 values (1, 'x', 'again', '2024-05-01')");
    let (code, text) = mfb(p, &["snapshot"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("1 of 1 ERROR snapshotting snaps.orders_snap"),
        "{text}"
    );
    assert!(
        text.contains("error[snapshot-unique-key]: snapshot `orders_snap` (snapshots/orders.sql): unique_key (k1, k2) is not unique in the snapshot's query: (k1, k2) = (1, x) is in 2 rows"),
        "{text}"
    );
    assert!(text.contains("--> snapshots/orders.sql:4:5"), "{text}");
    assert!(
        text.contains("help: make unique_key identify one row"),
        "{text}"
    );
    assert_eq!(
        db.query_text("select count(*)::text from pg_tables where schemaname = 'snaps'")[0][0]
            .as_deref(),
        Some("0")
    );
    // Later run: the table stays as it was.
    db.batch_execute("delete from raw.src2 where v = 'again'");
    let (code, text) = mfb(p, &["snapshot"]);
    assert_eq!(code, 0, "{text}");
    db.batch_execute(
        "update raw.src2 set v = 'changed'; insert into raw.src2 values (2, 'x', 'dup', '2024-05-01'), (2, 'x', 'dup2', '2024-05-01')",
    );
    let (code, text) = mfb(p, &["snapshot"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("(k1, k2) = (2, x) is in 3 rows"), "{text}");
    assert_eq!(
        db.query_text(
            "select string_agg(v, ',' order by v) from snaps.orders_snap where dbt_valid_to is null"
        )[0][0]
            .as_deref(),
        Some("a,b,c")
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("target/run_results.json")).unwrap())
            .unwrap();
    assert_eq!(results["results"][0]["status"], "error");

    // A failure after the changes were applied (a post-hook, inside the transaction)
    // rolls all of them back.
    db.batch_execute("delete from raw.src2 where v like 'dup%'");
    write(
        p,
        "snapshots/orders.sql",
        "{% snapshot orders_snap %}\n{{ config(strategy='check', unique_key=['k1', 'k2'], check_cols='all', post_hook='select 1/0') }}\nselect * from {{ source('raw', 'src2') }}\n{% endsnapshot %}\n",
    );
    let (code, text) = mfb(p, &["snapshot"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("division by zero"), "{text}");
    assert_eq!(
        db.query_text("select count(*)::text || ' ' || string_agg(v, ',' order by v) from snaps.orders_snap where dbt_valid_to is null")[0][0]
            .as_deref(),
        Some("3 a,b,c")
    );
}

#[test]
fn new_record_on_a_table_without_dbt_is_deleted_is_refused_like_dbt() {
    let db = TestDb::create("mfb_snap_migrate");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let snapshot = |hard_deletes: &str| {
        format!(
            "{{% snapshot s %}}\n{{{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at', hard_deletes='{hard_deletes}') }}}}\nselect * from {{{{ source('raw', 'src') }}}}\n{{% endsnapshot %}}\n"
        )
    };
    project(p, &db, &[("snapshots/s.sql", &snapshot("ignore"))]);
    db.batch_execute(SEED_SQL);
    let mut runs = Runs {
        db: &db,
        dir: p,
        starts: Vec::new(),
    };
    runs.snapshot();
    write(p, "snapshots/s.sql", &snapshot("new_record"));
    db.batch_execute("delete from raw.src where id = 2");
    let (code, text) = mfb(p, &["snapshot"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("error[snapshot-columns-missing]: snapshot `s`: \"snaps\".\"s\" has no column `dbt_is_deleted`"),
        "{text}"
    );
    assert!(
        text.contains("add column \"dbt_is_deleted\" text"),
        "{text}"
    );
    // After the migration the help suggests, deletions are recorded (by the second
    // successful run, `run2`).
    db.batch_execute("alter table snaps.s add column dbt_is_deleted text; update snaps.s set dbt_is_deleted = 'False'");
    runs.snapshot();
    assert_eq!(
        runs.rows("snaps.s"),
        [
            "1|a|2024-01-01 00:00:00|8bd6037542377309505ab720e545f24e|2024-01-01 00:00:00|2024-01-01 00:00:00||False",
            "2|b|2024-01-01 00:00:00|f8e4dcba7004839b9c5b44a77923cd0a|2024-01-01 00:00:00|2024-01-01 00:00:00|run2|False",
            "2|b|2024-01-01 00:00:00|h|run2|run2||True",
            "3|c|2024-01-01 00:00:00|36d97e6f161bf778b28647771ac013ae|2024-01-01 00:00:00|2024-01-01 00:00:00||False",
        ]
    );
}
