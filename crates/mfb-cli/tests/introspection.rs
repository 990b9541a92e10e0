//! Models whose SQL depends on what is in the database (`run_query`, column lists of an
//! upstream relation: the way dbt_utils' `star`, `get_column_values`, `pivot` and
//! `union_relations` work) are compiled just before they run, after their upstream is
//! built, as dbt does; and the relation and column objects those packages inspect behave
//! like dbt's.

use mfb_testkit::TestDb;

mod common;
use common::{mfb, one, write};

#[test]
fn introspective_models_compile_after_their_upstream_is_built() {
    let db = TestDb::create("mfb_introspect");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(p, "dbt_project.yml", "name: ix\nprofile: ix\n");
    write(
        p,
        "models/base.sql",
        "{{ config(materialized='table') }}\nselect g as id, 'n' || g as label, (g * 1.5)::numeric(6,2) as amount \
         from generate_series(1, 4) g",
    );
    // Counts the rows of the freshly built upstream while compiling.
    write(
        p,
        "models/counted.sql",
        "-- depends_on: {{ ref('base') }}\n\
         {% set n = run_query('select count(*) from ' ~ ref('base')).columns[0].values()[0] if execute else 0 %}\
         select {{ n }} as n",
    );
    // Lists the upstream's columns, like dbt_utils.star, through an ephemeral model.
    write(
        p,
        "models/cols.sql",
        "{{ config(materialized='ephemeral') }}\n\
         {%- set cols = adapter.get_columns_in_relation(ref('base')) -%}\n\
         select {% for c in cols %}{{ c.quoted }}{% if not loop.last %}, {% endif %}{% endfor %} from {{ ref('base') }}",
    );
    write(p, "models/uses_cols.sql", "select * from {{ ref('cols') }}");
    // dbt_utils checks `obj is mapping and obj.get('metadata').type ends with 'Relation'`,
    // and calls the column methods of dbt's Column.
    write(
        p,
        "models/shapes.sql",
        "{%- set rel = ref('base') -%}\n\
         {%- set cols = adapter.get_columns_in_relation(rel) -%}\n\
         select {{ (rel is mapping) and rel.get('metadata', {}).get('type', '').endswith('Relation') }} as is_relation,\n\
         '{% for c in cols %}{{ c.name }}:{{ c.dtype }}:{{ c.is_string() }}:{{ c.is_number() }}:{{ c.is_integer() }}:{{ c.is_numeric() }}:{{ c.numeric_precision }}:{{ c.numeric_scale }}{% if c.is_string() %}:{{ c.string_size() }}{% endif %};{% endfor %}' as described",
    );
    // numeric results render like Python's Decimal (dbt_utils.get_single_value).
    write(
        p,
        "models/decimals.sql",
        "{% set r = run_query('select 250.00::numeric, 7.25::numeric, 12::numeric, 0.00::numeric') if execute else none %}\
         {% if execute %}select '{{ r.rows[0][0] }}|{{ r.rows[0][1] }}|{{ r.rows[0][2] }}|{{ r.rows[0][3] }}|{{ not r.rows[0][3] }}' as v{% endif %}",
    );
    db.write_profiles_yml(p, "ix", "analytics").unwrap();

    // A fresh database: nothing exists before the run.
    let (code, text) = mfb(p, &["run"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(one(&db, "select n::text from analytics.counted"), "4");
    assert_eq!(
        one(&db, "select count(*)::text from analytics.uses_cols"),
        "4"
    );
    assert_eq!(
        db.query_text(
            "select column_name::text from information_schema.columns \
             where table_schema = 'analytics' and table_name = 'uses_cols' order by ordinal_position"
        )
        .into_iter()
        .map(|r| r[0].clone().unwrap_or_default())
        .collect::<Vec<_>>(),
        vec!["id", "label", "amount"]
    );
    assert_eq!(
        one(&db, "select is_relation::text from analytics.shapes"),
        "true"
    );
    assert_eq!(
        one(&db, "select described from analytics.shapes"),
        "id:integer:False:True:True:False:None:None;\
         label:text:True:False:False:False:None:None:256;\
         amount:numeric:False:True:False:True:6:2;"
    );
    assert_eq!(
        one(&db, "select v from analytics.decimals"),
        "250.00|7.25|12|0.00|True"
    );
    // The compiled SQL of a deferred node is written when it runs.
    let compiled =
        std::fs::read_to_string(p.join("target/compiled/ix/models/counted.sql")).unwrap();
    assert!(compiled.trim().ends_with("select 4 as n"), "{compiled}");
    let compiled =
        std::fs::read_to_string(p.join("target/compiled/ix/models/uses_cols.sql")).unwrap();
    assert!(
        compiled.contains("__dbt__cte__cols as (\nselect \"id\", \"label\", \"amount\" from"),
        "{compiled}"
    );

    // `mfb build` on a fresh schema too, with a test of the introspective model.
    db.batch_execute("drop schema analytics cascade");
    write(
        p,
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: counted\n    columns:\n      - name: n\n        data_tests: [not_null]\n",
    );
    let (code, text) = mfb(p, &["build"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("PASS=6"), "{text}");
}

#[test]
fn a_test_on_a_missing_model_is_disabled_with_a_warning() {
    let db = TestDb::create("mfb_orphan_test");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(p, "dbt_project.yml", "name: ot\nprofile: ot\n");
    write(p, "models/a.sql", "select 1 as id");
    // dbt 1.10 warns "Test '...' (models/schema.yml) depends on a node named 'gone' in
    // package '' which was not found", disables the test and goes on.
    write(
        p,
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        data_tests:\n          - not_null\n          - relationships:\n              arguments: {to: ref('gone'), field: id}\n",
    );
    db.write_profiles_yml(p, "ot", "analytics").unwrap();
    let (code, text) = mfb(p, &["build"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("depends on a node named 'gone' in package '' which was not found"),
        "{text}"
    );
    assert!(text.contains("PASS=2"), "{text}");
    let (code, text) = mfb(p, &["ls", "--resource-type", "test"]);
    assert_eq!(code, 0, "{text}");
    let listed: Vec<&str> = text.lines().filter(|l| l.starts_with("ot.")).collect();
    assert_eq!(listed, vec!["ot.not_null_a_id"], "{text}");
    // A model with the same bad ref is still an error.
    write(p, "models/b.sql", "select * from {{ ref('gone') }}");
    let (code, text) = mfb(p, &["parse"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("ref-not-found"), "{text}");
}

#[test]
fn adapter_ddl_methods_act_on_the_database() {
    let db = TestDb::create("mfb_adapter_ddl");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(p, "dbt_project.yml", "name: ad\nprofile: ad\n");
    write(
        p,
        "macros/ddl.sql",
        "{% macro ddl() %}\n\
         {% set s = api.Relation.create(database=target.database, schema='scratch', identifier='t') %}\n\
         {% do adapter.create_schema(s) %}\n\
         {% do run_query('create table scratch.t as select 1 as x union all select 2') %}\n\
         {% do run_query('create view scratch.v as select 1 as x') %}\n\
         {% do adapter.truncate_relation(s) %}\n\
         {% do adapter.rename_relation(s, s.incorporate(path={'identifier': 't2'})) %}\n\
         {% do adapter.drop_relation(api.Relation.create(database=target.database, schema='scratch', identifier='v')) %}\n\
         {% do adapter.drop_relation(api.Relation.create(database=target.database, schema='scratch', identifier='never_there')) %}\n\
         {% endmacro %}\n\
         {% macro cleanup() %}{% do adapter.drop_schema(api.Relation.create(database=target.database, schema='scratch')) %}{% endmacro %}\n",
    );
    db.write_profiles_yml(p, "ad", "analytics").unwrap();
    let (code, text) = mfb(p, &["run-operation", "ddl"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        one(
            &db,
            "select string_agg(relname::text || ':' || relkind::text, ',' order by relname) from pg_class c \
             join pg_namespace n on n.oid = c.relnamespace where nspname = 'scratch'"
        ),
        "t2:r"
    );
    assert_eq!(one(&db, "select count(*)::text from scratch.t2"), "0");
    let (code, text) = mfb(p, &["run-operation", "cleanup"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        one(
            &db,
            "select count(*)::text from pg_namespace where nspname = 'scratch'"
        ),
        "0"
    );
}
