//! Materializations and model configs against a real throwaway PostgreSQL: indexes,
//! grants, persist_docs, unlogged tables, contracts with constraints, on_schema_change,
//! incremental_predicates, materialized views, ephemeral models, and the guarantees of
//! the swap: a concurrent reader never sees a partial table, and a failing rebuild keeps
//! the old table with its rows, grants and indexes.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mfb_testkit::{TestDb, unique_name};

mod common;
use common::{mfb, one, write};

/// Runs mfb and asserts it succeeded.
fn ok(dir: &Path, args: &[&str]) -> String {
    let (code, text) = mfb(dir, args);
    assert_eq!(code, 0, "mfb {args:?} failed:\n{text}");
    text
}

/// Runs mfb and asserts it failed with exit code 1.
fn fails(dir: &Path, args: &[&str]) -> String {
    let (code, text) = mfb(dir, args);
    assert_eq!(code, 1, "mfb {args:?} should fail:\n{text}");
    text
}

fn column(db: &TestDb, sql: &str) -> Vec<String> {
    db.query_text(sql)
        .into_iter()
        .map(|r| r[0].clone().unwrap_or_default())
        .collect()
}

/// Cluster-wide roles for one test, dropped (after the test's database, which holds
/// their privileges) when the value goes out of scope. Declare it before the `TestDb`.
struct Roles(Vec<String>);

impl Roles {
    fn create(n: usize) -> Roles {
        let names: Vec<String> = (0..n).map(|i| unique_name(&format!("role{i}"))).collect();
        let scratch = TestDb::create("mfb_roles");
        for name in &names {
            scratch.batch_execute(&format!("create role {name}"));
        }
        Roles(names)
    }
}

impl Drop for Roles {
    fn drop(&mut self) {
        let scratch = TestDb::create("mfb_roles");
        for name in &self.0 {
            scratch.batch_execute(&format!("drop role if exists {name}"));
        }
    }
}

/// A temporary project `mt` whose models build into schema `analytics`.
fn project(db: &TestDb, project_yml_extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "dbt_project.yml",
        &format!("name: mt\nprofile: mt\n{project_yml_extra}"),
    );
    db.write_profiles_yml(dir.path(), "mt", "analytics")
        .unwrap();
    dir
}

fn indexes_of(db: &TestDb, table: &str) -> Vec<String> {
    column(
        db,
        &format!(
            "select regexp_replace(indexdef, 'INDEX \\S+ ON', 'INDEX ON') from pg_indexes \
             where schemaname = 'analytics' and tablename = '{table}' order by 1"
        ),
    )
}

#[test]
fn table_configs_indexes_grants_docs_unlogged() {
    let roles = Roles::create(2);
    let (a, b) = (&roles.0[0], &roles.0[1]);
    let db = TestDb::create("mfb_mat_table");
    let dir = project(&db, "");
    let p = dir.path();
    write(
        p,
        "models/wide.sql",
        &format!(
            "{{{{ config(materialized='table', unlogged=true,\n  indexes=[{{'columns': ['id'], 'unique': true}}, {{'columns': ['id', 'name'], 'type': 'btree'}}, {{'columns': ['name'], 'type': 'hash'}}],\n  grants={{'select': ['{a}', '{b}']}},\n  persist_docs={{'relation': true, 'columns': true}}) }}}}\nselect g as id, 'n' || g as name, g * 2 as undocumented from generate_series(1, 4) g"
        ),
    );
    write(
        p,
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: wide\n    description: \"Wide's 'table'\"\n    columns:\n      - name: id\n        description: the key\n      - name: name\n        description: a name\n      - name: not_in_the_model\n        description: skipped\n",
    );
    for round in 0..2 {
        ok(p, &["run"]);
        if round == 0 {
            // Relations mfb does not manage, on top of the model: a rebuild recreates them
            // with the privileges they had, and refills the materialized view.
            db.batch_execute(&format!(
                "create view analytics.wide_names as select name from analytics.wide;\n\
                 grant select on analytics.wide_names to {a};\n\
                 create materialized view analytics.wide_count as select count(*) as n from analytics.wide"
            ));
        } else {
            assert_eq!(
                one(
                    &db,
                    &format!(
                        "select has_table_privilege('{a}', 'analytics.wide_names', 'select')::text"
                    )
                ),
                "true"
            );
            assert_eq!(one(&db, "select n::text from analytics.wide_count"), "4");
        }
        assert_eq!(
            indexes_of(&db, "wide"),
            [
                "CREATE INDEX ON analytics.wide USING btree (id, name)",
                "CREATE INDEX ON analytics.wide USING hash (name)",
                "CREATE UNIQUE INDEX ON analytics.wide USING btree (id)",
            ],
            "indexes are created once per build, on the new table"
        );
        for role in [a, b] {
            assert_eq!(
                one(
                    &db,
                    &format!(
                        "select has_table_privilege('{role}', 'analytics.wide', 'select')::text"
                    )
                ),
                "true"
            );
            assert_eq!(
                one(
                    &db,
                    &format!(
                        "select has_table_privilege('{role}', 'analytics.wide', 'insert')::text"
                    )
                ),
                "false"
            );
        }
        assert_eq!(
            one(
                &db,
                "select obj_description('analytics.wide'::regclass, 'pg_class')"
            ),
            "Wide's 'table'"
        );
        assert_eq!(
            column(
                &db,
                "select coalesce(col_description('analytics.wide'::regclass, attnum), '-') from pg_attribute \
                 where attrelid = 'analytics.wide'::regclass and attnum > 0 order by attnum"
            ),
            ["the key", "a name", "-"]
        );
        assert_eq!(
            one(
                &db,
                "select relpersistence::text from pg_class where oid = 'analytics.wide'::regclass"
            ),
            "u"
        );
        assert_eq!(one(&db, "select count(*)::text from analytics.wide"), "4");
    }
    // Index names are dbt's md5 hashes.
    let names = column(
        &db,
        "select indexname::text from pg_indexes where tablename = 'wide'",
    );
    assert!(
        names
            .iter()
            .all(|n| n.len() == 32 && n.chars().all(|c| c.is_ascii_hexdigit())),
        "{names:?}"
    );
}

#[test]
fn plus_grants_add_to_project_grants() {
    let roles = Roles::create(2);
    let (a, b) = (&roles.0[0], &roles.0[1]);
    let db = TestDb::create("mfb_mat_plus_grants");
    let dir = project(
        &db,
        &format!("models:\n  mt:\n    +materialized: table\n    +grants:\n      select: ['{a}']\n"),
    );
    let p = dir.path();
    write(
        p,
        "models/added.sql",
        &format!("{{{{ config(grants={{'+select': ['{b}']}}) }}}}\nselect 1 as x"),
    );
    write(
        p,
        "models/replaced.sql",
        &format!("{{{{ config(grants={{'select': ['{b}']}}) }}}}\nselect 1 as x"),
    );
    write(p, "models/inherited.sql", "select 1 as x");
    ok(p, &["run"]);
    let can = |role: &str, table: &str| {
        one(
            &db,
            &format!("select has_table_privilege('{role}', 'analytics.{table}', 'select')::text"),
        )
    };
    assert_eq!(
        (can(a, "added"), can(b, "added")),
        ("true".into(), "true".into())
    );
    assert_eq!(
        (can(a, "replaced"), can(b, "replaced")),
        ("false".into(), "true".into())
    );
    assert_eq!(
        (can(a, "inherited"), can(b, "inherited")),
        ("true".into(), "false".into())
    );
}

#[test]
fn incremental_runs_revoke_grants_no_longer_configured() {
    let roles = Roles::create(2);
    let (a, b) = (&roles.0[0], &roles.0[1]);
    let db = TestDb::create("mfb_mat_revoke");
    let dir = project(&db, "");
    let p = dir.path();
    write(
        p,
        "models/events.sql",
        "{{ config(materialized='incremental', unique_key='id', grants={'select': var('readers')}) }}\nselect 1 as id",
    );
    ok(p, &["run", "--vars", &format!("{{readers: [{a}]}}")]);
    db.batch_execute(&format!(
        "grant insert on analytics.events to {b}; grant update on analytics.events to {a}"
    ));
    let text = ok(p, &["run", "--vars", &format!("{{readers: [{b}]}}")]);
    let privilege = |role: &str, what: &str| {
        one(
            &db,
            &format!("select has_table_privilege('{role}', 'analytics.events', '{what}')::text"),
        )
    };
    assert_eq!(privilege(a, "select"), "false", "{text}");
    assert_eq!(privilege(a, "update"), "false");
    assert_eq!(privilege(b, "select"), "true");
    assert_eq!(privilege(b, "insert"), "false");
    let run_sql = std::fs::read_to_string(p.join("target/run/mt/models/events.sql")).unwrap();
    assert!(run_sql.contains("revoke select on"), "{run_sql}");
    assert!(
        run_sql.contains("delete from"),
        "an incremental run: {run_sql}"
    );
}

const CONTRACT_YML: &str = r#"version: 2
models:
  - name: parent
    columns:
      - name: id
  - name: orders
    config:
      contract: {enforced: true}
    constraints:
      - type: check
        name: amount_positive
        expression: "amount > 0"
      - type: unique
        columns: [id, customer]
      - type: foreign_key
        columns: [parent_id]
        to: ref('parent')
        to_columns: [id]
    columns:
      - name: id
        data_type: integer
        constraints:
          - type: not_null
          - type: primary_key
      - name: customer
        data_type: string
        constraints:
          - type: check
            expression: "length(customer) > 0"
      - name: amount
        data_type: numeric(10,2)
      - name: parent_id
        data_type: int
        constraints:
          - type: foreign_key
            expression: "analytics.parent (id)"
"#;

#[test]
fn contracts_create_declared_columns_and_constraints() {
    let db = TestDb::create("mfb_mat_contract");
    let dir = project(&db, "");
    let p = dir.path();
    write(
        p,
        "models/parent.sql",
        "{{ config(materialized='table', post_hook='alter table {{ this }} add primary key (id)') }}\nselect 1 as id",
    );
    write(
        p,
        "models/orders.sql",
        "{{ config(materialized='table') }}\n-- depends_on: {{ ref('parent') }}\nselect 'c' || g as customer, g as id, g * 1.5 as amount, 1 as parent_id from generate_series(1, 3) g",
    );
    write(p, "models/schema.yml", CONTRACT_YML);
    let text = ok(p, &["run"]);
    assert!(text.contains("INSERT 0 3"), "{text}");
    // Declared order and types, not the query's.
    assert_eq!(
        column(
            &db,
            "select column_name || ' ' || data_type || ' ' || is_nullable from information_schema.columns \
             where table_schema = 'analytics' and table_name = 'orders' order by ordinal_position"
        ),
        [
            "id integer NO",
            "customer text YES",
            "amount numeric YES",
            "parent_id integer YES"
        ]
    );
    assert_eq!(
        one(
            &db,
            "select format_type(atttypid, atttypmod) from pg_attribute where attrelid = 'analytics.orders'::regclass and attname = 'amount'"
        ),
        "numeric(10,2)"
    );
    let constraints = column(
        &db,
        "select contype::text || ' ' || pg_get_constraintdef(oid) from pg_constraint \
         where conrelid = 'analytics.orders'::regclass order by 1",
    );
    assert_eq!(
        constraints,
        [
            "c CHECK ((amount > (0)::numeric))",
            "c CHECK ((length(customer) > 0))",
            "f FOREIGN KEY (parent_id) REFERENCES analytics.parent(id)",
            "f FOREIGN KEY (parent_id) REFERENCES analytics.parent(id)",
            "p PRIMARY KEY (id)",
            "u UNIQUE (id, customer)",
        ]
    );
    assert_eq!(
        one(
            &db,
            "select count(*)::text from pg_constraint where conname = 'amount_positive'"
        ),
        "1"
    );
    assert_eq!(
        one(&db, "select sum(amount)::text from analytics.orders"),
        "9.00"
    );

    // A rebuild that breaks a constraint fails and keeps the old rows.
    write(
        p,
        "models/orders.sql",
        "{{ config(materialized='table') }}\nselect 'c' as customer, 1 as id, -1.0 as amount, 1 as parent_id",
    );
    let text = fails(p, &["run", "--select", "orders"]);
    assert!(text.contains("amount_positive"), "{text}");
    assert_eq!(one(&db, "select count(*)::text from analytics.orders"), "3");
}

#[test]
fn contract_mismatch_fails_with_a_table_before_anything_changes() {
    let roles = Roles::create(1);
    let db = TestDb::create("mfb_mat_contract_fail");
    let dir = project(&db, "");
    let p = dir.path();
    write(p, "models/parent.sql", "select 1 as id");
    write(
        p,
        "models/orders.sql",
        &format!(
            "{{{{ config(materialized='table', indexes=[{{'columns': ['id']}}], grants={{'select': ['{}']}}) }}}}\nselect 'c' as customer, 1 as id, 1.5 as amount, 1 as parent_id",
            roles.0[0]
        ),
    );
    write(
        p,
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: orders\n    config:\n      contract: {enforced: true}\n    columns:\n      - name: id\n        data_type: integer\n        constraints: [{type: primary_key}]\n      - name: customer\n        data_type: string\n      - name: amount\n        data_type: numeric(10,2)\n      - name: parent_id\n        data_type: int\n",
    );
    ok(p, &["run"]);
    write(
        p,
        "models/orders.sql",
        &format!(
            "{{{{ config(materialized='table', indexes=[{{'columns': ['id']}}], grants={{'select': ['{}']}}) }}}}\nselect 'c' as customer, 1::bigint as id, 1.5 as amount, 7 as surplus",
            roles.0[0]
        ),
    );
    let text = fails(p, &["run", "--select", "orders"]);
    for expected in [
        "This model has an enforced contract that failed.",
        "| column_name | definition_type | contract_type | mismatch_reason       |",
        "| id          | LONGINTEGER     | INTEGER       | data type mismatch    |",
        "| surplus     | INTEGER         |               | missing in contract   |",
        "| parent_id   |                 | INTEGER       | missing in definition |",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    assert_eq!(one(&db, "select count(*)::text from analytics.orders"), "1");
    assert_eq!(
        indexes_of(&db, "orders").len(),
        2,
        "pkey and the configured index"
    );
    assert_eq!(
        one(
            &db,
            &format!(
                "select has_table_privilege('{}', 'analytics.orders', 'select')::text",
                roles.0[0]
            )
        ),
        "true"
    );
}

#[test]
fn on_schema_change_ignore_fail_append_sync() {
    let db = TestDb::create("mfb_mat_osc");
    let dir = project(&db, "");
    let p = dir.path();
    for (name, setting) in [
        ("m_ignore", "ignore"),
        ("m_fail", "fail"),
        ("m_append", "append_new_columns"),
        ("m_sync", "sync_all_columns"),
    ] {
        write(
            p,
            &format!("models/{name}.sql"),
            &format!(
                "{{{{ config(materialized='incremental', unique_key='id', on_schema_change='{setting}') }}}}\n\
                 {{% if var('v2', false) %}}\n\
                 select 2 as id, 5::bigint as name, 'n' as added, 'wider'::varchar(10) as v\n\
                 {{% else %}}\n\
                 select 1 as id, 1 as name, 2 as dropped, 'abc'::varchar(3) as v\n\
                 {{% endif %}}"
            ),
        );
    }
    ok(p, &["run"]);
    let (code, text) = mfb(p, &["run", "--vars", "{v2: true}"]);
    assert_eq!(code, 1, "{text}");
    let columns = |table: &str| {
        column(
            &db,
            &format!(
                "select column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '') \
                 from information_schema.columns where table_schema = 'analytics' and table_name = '{table}' \
                 order by ordinal_position"
            ),
        )
    };
    // ignore: the query lacks a column the table has: the insert fails, as in dbt.
    assert!(text.contains("column \"dropped\" does not exist"), "{text}");
    assert_eq!(
        one(&db, "select count(*)::text from analytics.m_ignore"),
        "1"
    );
    // fail: dbt's message, nothing changed.
    assert!(text.contains("out of sync"), "{text}");
    assert!(
        text.contains("Source columns not in target: [added (text)]"),
        "{text}"
    );
    assert!(
        text.contains("Target columns not in source: [dropped (integer)]"),
        "{text}"
    );
    assert!(text.contains("New column types: [name (bigint)]"), "{text}");
    assert_eq!(
        columns("m_fail"),
        [
            "id integer",
            "name integer",
            "dropped integer",
            "v character varying(3)"
        ]
    );
    // append_new_columns: the new column added, the old kept and left null.
    assert_eq!(
        columns("m_append"),
        [
            "id integer",
            "name integer",
            "dropped integer",
            "v character varying(10)",
            "added text"
        ]
    );
    assert_eq!(
        column(
            &db,
            "select concat_ws(',', id, name, dropped, v, added) from analytics.m_append order by id"
        ),
        ["1,1,2,abc", "2,5,wider,n"]
    );
    // sync_all_columns: added, dropped, and the retyped column moved to the end.
    assert_eq!(
        columns("m_sync"),
        [
            "id integer",
            "v character varying(10)",
            "added text",
            "name bigint"
        ],
        "{text}"
    );
    assert_eq!(
        column(
            &db,
            "select concat_ws(',', id, v, added, name) from analytics.m_sync order by id"
        ),
        ["1,abc,1", "2,wider,n,5"]
    );
}

#[test]
fn incremental_predicates_limit_delete_insert_and_merge() {
    let db = TestDb::create("mfb_mat_predicates");
    let dir = project(&db, "");
    let p = dir.path();
    // Rows 1..4 first; then every id again with a new value, but the predicate only lets
    // the target rows with id >= 3 be replaced (or matched).
    for strategy in ["delete+insert", "merge"] {
        let name = if strategy == "merge" {
            "m_merge"
        } else {
            "m_delins"
        };
        write(
            p,
            &format!("models/{name}.sql"),
            &format!(
                "{{{{ config(materialized='incremental', unique_key='id', incremental_strategy='{strategy}', incremental_predicates=['DBT_INTERNAL_DEST.id >= 3']) }}}}\n\
                 select g as id, {{{{ var('value', 0) }}}} as value from generate_series(1, 4) g"
            ),
        );
    }
    write(
        p,
        "models/m_merge_nokey.sql",
        "{{ config(materialized='incremental', incremental_strategy='merge', incremental_predicates=['1 = 1']) }}\nselect 1 as id",
    );
    ok(p, &["run"]);
    ok(p, &["run", "--vars", "{value: 1}"]);
    // delete+insert: only ids 3 and 4 were deleted, so 1 and 2 now appear twice.
    assert_eq!(
        column(
            &db,
            "select id || ':' || string_agg(value::text, ',' order by value) from analytics.m_delins group by id order by id"
        ),
        ["1:0,1", "2:0,1", "3:1", "4:1"]
    );
    // merge: 3 and 4 matched and updated; 1 and 2 did not match and were inserted again.
    assert_eq!(
        column(
            &db,
            "select id || ':' || string_agg(value::text, ',' order by value) from analytics.m_merge group by id order by id"
        ),
        ["1:0,1", "2:0,1", "3:1", "4:1"]
    );
    // merge without a unique key only inserts.
    assert_eq!(
        one(&db, "select count(*)::text from analytics.m_merge_nokey"),
        "2"
    );
}

#[test]
fn materialized_views_create_refresh_rebuild() {
    let roles = Roles::create(1);
    let db = TestDb::create("mfb_mat_mv");
    let dir = project(&db, "");
    let p = dir.path();
    db.batch_execute(
        "create schema raw; create table raw.src as select g as id from generate_series(1, 3) g",
    );
    let model = |body: &str, indexes: &str, occ: &str| {
        format!(
            "{{{{ config(materialized='materialized_view', indexes={indexes}, on_configuration_change='{occ}', grants={{'select': ['{}']}}, persist_docs={{'relation': true}}) }}}}\n{body}",
            roles.0[0]
        )
    };
    let unique = "[{'columns': ['id'], 'unique': true}]";
    write(
        p,
        "models/mv.sql",
        &model("select id from raw.src", unique, "apply"),
    );
    write(
        p,
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: mv\n    description: counted ids\n",
    );
    let text = ok(p, &["run"]);
    assert!(text.contains("SELECT 3"), "{text}");
    assert_eq!(
        one(
            &db,
            "select relkind::text from pg_class where oid = 'analytics.mv'::regclass"
        ),
        "m"
    );
    assert_eq!(
        indexes_of(&db, "mv"),
        ["CREATE UNIQUE INDEX ON analytics.mv USING btree (id)"]
    );
    assert_eq!(
        one(
            &db,
            "select obj_description('analytics.mv'::regclass, 'pg_class')"
        ),
        "counted ids"
    );
    let readable = || {
        one(
            &db,
            &format!(
                "select has_table_privilege('{}', 'analytics.mv', 'select')::text",
                roles.0[0]
            ),
        )
    };
    assert_eq!(readable(), "true");

    // Unchanged: refreshed concurrently (a unique index exists), in place.
    db.batch_execute("insert into raw.src values (4)");
    let oid = one(&db, "select 'analytics.mv'::regclass::oid::text");
    let text = ok(p, &["run"]);
    assert!(text.contains("REFRESH MATERIALIZED VIEW"), "{text}");
    let run_sql = std::fs::read_to_string(p.join("target/run/mt/models/mv.sql")).unwrap();
    assert!(
        run_sql.contains("refresh materialized view concurrently \"analytics\".\"mv\""),
        "{run_sql}"
    );
    assert_eq!(one(&db, "select count(*)::text from analytics.mv"), "4");
    assert_eq!(one(&db, "select 'analytics.mv'::regclass::oid::text"), oid);
    assert_eq!(readable(), "true");

    // Without a unique index: a plain refresh.
    write(
        p,
        "models/mv.sql",
        &model("select id from raw.src", "[{'columns': ['id']}]", "apply"),
    );
    ok(p, &["run"]);
    assert_eq!(
        indexes_of(&db, "mv"),
        ["CREATE INDEX ON analytics.mv USING btree (id)"]
    );
    ok(p, &["run"]);
    let run_sql = std::fs::read_to_string(p.join("target/run/mt/models/mv.sql")).unwrap();
    assert!(
        run_sql.contains("refresh materialized view \"analytics\""),
        "{run_sql}"
    );

    // Changed SQL: rebuilt with the new query.
    write(
        p,
        "models/mv.sql",
        &model(
            "select id, id * 10 as ten from raw.src",
            "[{'columns': ['id']}]",
            "apply",
        ),
    );
    ok(p, &["run"]);
    assert_eq!(one(&db, "select sum(ten)::text from analytics.mv"), "100");
    assert_eq!(readable(), "true");

    // continue: left as it was, with dbt's warning.
    write(
        p,
        "models/mv.sql",
        &model("select id from raw.src", unique, "continue"),
    );
    let text = ok(p, &["run"]);
    assert!(
        text.contains("Configuration changes were identified and `on_configuration_change` was set to `continue`"),
        "{text}"
    );
    assert_eq!(one(&db, "select sum(ten)::text from analytics.mv"), "100");

    // fail: an error, nothing changed.
    write(
        p,
        "models/mv.sql",
        &model("select id from raw.src", unique, "fail"),
    );
    let text = fails(p, &["run"]);
    assert!(text.contains("was set to `fail`"), "{text}");
    assert_eq!(one(&db, "select sum(ten)::text from analytics.mv"), "100");

    // --full-refresh rebuilds whatever the setting.
    ok(p, &["run", "--full-refresh"]);
    assert_eq!(
        one(
            &db,
            "select count(*)::text from information_schema.columns where table_name = 'mv'"
        ),
        "0",
        "information_schema does not list materialized views"
    );
    assert_eq!(
        column(
            &db,
            "select attname::text from pg_attribute where attrelid = 'analytics.mv'::regclass and attnum > 0"
        ),
        ["id"]
    );
    assert_eq!(
        indexes_of(&db, "mv"),
        ["CREATE UNIQUE INDEX ON analytics.mv USING btree (id)"]
    );
}

#[test]
fn ephemeral_models_are_never_built() {
    let db = TestDb::create("mfb_mat_ephemeral");
    let dir = project(&db, "");
    let p = dir.path();
    write(
        p,
        "models/eph.sql",
        "{{ config(materialized='ephemeral') }}\nselect 1 as id",
    );
    write(
        p,
        "models/uses.sql",
        "{{ config(materialized='table') }}\nselect id from {{ ref('eph') }}",
    );
    let text = ok(p, &["run"]);
    assert!(text.contains("TOTAL=1"), "{text}");
    assert_eq!(one(&db, "select count(*)::text from analytics.uses"), "1");
    assert_eq!(
        one(
            &db,
            "select count(*)::text from pg_class where relname like 'eph%'"
        ),
        "0"
    );
}

#[test]
fn concurrent_reader_never_sees_a_partial_table_during_50_rebuilds() {
    let db = Arc::new(TestDb::create("mfb_mat_concurrent"));
    let dir = project(&db, "");
    let p = dir.path();
    write(
        p,
        "models/totals.sql",
        "{{ config(materialized='table', indexes=[{'columns': ['x']}]) }}\nselect g as x from generate_series(1, {{ var('n', 1000) }}) g",
    );
    ok(p, &["run"]);
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(Ordering::SeqCst) {
                // query_text panics on any error, which fails the test at join().
                let row =
                    &db.query_text("select count(*)::text, sum(x)::text from analytics.totals")[0];
                let n: i64 = row[0].as_deref().unwrap().parse().unwrap();
                let sum: i64 = row[1].as_deref().unwrap().parse().unwrap();
                assert!(n >= 1000, "saw {n} rows");
                assert_eq!(sum, n * (n + 1) / 2, "a partial table of {n} rows");
                reads += 1;
            }
            reads
        })
    };
    for i in 1..=50 {
        ok(p, &["run", "--vars", &format!("{{n: {}}}", 1000 + i)]);
    }
    stop.store(true, Ordering::SeqCst);
    let reads = reader
        .join()
        .expect("the reader saw an error or a partial table");
    assert!(reads > 0);
    assert_eq!(
        one(&db, "select count(*)::text from analytics.totals"),
        "1050"
    );
    assert_eq!(indexes_of(&db, "totals").len(), 1);
}

#[test]
fn failing_rebuilds_keep_the_old_table_rows_grants_and_indexes() {
    let roles = Roles::create(1);
    let role = &roles.0[0];
    let db = TestDb::create("mfb_mat_failing");
    let dir = project(&db, "");
    let p = dir.path();
    let config = format!(
        "materialized='table', indexes=[{{'columns': ['id'], 'unique': true}}], grants={{'select': ['{role}']}}"
    );
    write(
        p,
        "models/kept.sql",
        &format!("{{{{ config({config}) }}}}\nselect g as id from generate_series(1, 5) g"),
    );
    write(
        p,
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: kept\n    columns:\n      - name: id\n        data_type: integer\n",
    );
    ok(p, &["run"]);
    let check = |why: &str| {
        assert_eq!(
            one(&db, "select count(*)::text from analytics.kept"),
            "5",
            "{why}"
        );
        assert_eq!(
            indexes_of(&db, "kept"),
            ["CREATE UNIQUE INDEX ON analytics.kept USING btree (id)"],
            "{why}"
        );
        assert_eq!(
            one(
                &db,
                &format!("select has_table_privilege('{role}', 'analytics.kept', 'select')::text")
            ),
            "true",
            "{why}"
        );
        assert_eq!(
            one(
                &db,
                "select count(*)::text from pg_class where relname like 'kept__dbt%'"
            ),
            "0",
            "{why}: no temporary or backup relation left"
        );
    };
    check("first build");

    write(
        p,
        "models/kept.sql",
        &format!(
            "{{{{ config({config}) }}}}\nselect g as id, 1/0 as boom from generate_series(1, 2) g"
        ),
    );
    let text = fails(p, &["run"]);
    assert!(text.contains("division by zero"), "{text}");
    check("bad SQL");

    write(
        p,
        "models/kept.sql",
        &format!("{{{{ config({config}, contract={{'enforced': true}}) }}}}\nselect 'x' as id"),
    );
    let text = fails(p, &["run"]);
    assert!(text.contains("enforced contract that failed"), "{text}");
    check("contract mismatch");

    write(
        p,
        "models/kept.sql",
        &format!(
            "{{{{ config({config}, post_hook='select 1 from analytics.no_such_table') }}}}\nselect g as id from generate_series(1, 2) g"
        ),
    );
    let text = fails(p, &["run"]);
    assert!(text.contains("no_such_table"), "{text}");
    check("failing post-hook");
}

#[test]
fn parallel_rebuilds_of_two_parents_of_one_view_do_not_deadlock() {
    let db = TestDb::create("mfb_mat_parallel_parents");
    let dir = project(&db, "models:\n  mt:\n    +materialized: table\n");
    let p = dir.path();
    // Both parents take as long, so their swaps meet at the view they share.
    for name in ["left_side", "right_side"] {
        write(
            p,
            &format!("models/{name}.sql"),
            "select g as id from generate_series(1, 3) g, pg_sleep(0.2)",
        );
    }
    write(
        p,
        "models/joined.sql",
        "{{ config(materialized='view') }}\nselect l.id from {{ ref('left_side') }} l join {{ ref('right_side') }} r using (id)",
    );
    for _ in 0..4 {
        let text = ok(p, &["run", "--threads", "4"]);
        assert!(text.contains("PASS=3"), "{text}");
    }
    assert_eq!(one(&db, "select count(*)::text from analytics.joined"), "3");
}
