//! Catalog queries: relations, columns, dependent views.

use mfb_postgres::{RelationKind, connect};

use crate::support;

#[tokio::test]
async fn list_relations_covers_all_kinds_in_one_call() {
    let conn = connect(&support::superuser()).await.unwrap();
    support::fresh_schema(&conn, "mfb_t_cat_a").await;
    support::fresh_schema(&conn, "mfb_t_cat_b").await;
    conn.execute(
        "create table mfb_t_cat_a.t (id int);
         create view mfb_t_cat_a.\"View\" as select * from mfb_t_cat_a.t;
         create materialized view mfb_t_cat_b.m as select 1 as x;
         create table mfb_t_cat_b.p (d date) partition by range (d);
         create index on mfb_t_cat_a.t (id);
         create sequence mfb_t_cat_a.s;",
    )
    .await
    .unwrap();
    let rels = conn
        .list_relations(&["mfb_t_cat_a", "mfb_t_cat_b", "mfb_t_cat_none"])
        .await
        .unwrap();
    let got: Vec<(&str, &str, RelationKind)> = rels
        .iter()
        .map(|r| (r.schema.as_str(), r.name.as_str(), r.kind))
        .collect();
    assert_eq!(
        got,
        [
            ("mfb_t_cat_a", "View", RelationKind::View),
            ("mfb_t_cat_a", "t", RelationKind::Table),
            ("mfb_t_cat_b", "m", RelationKind::MaterializedView),
            ("mfb_t_cat_b", "p", RelationKind::Partitioned),
        ]
    );
    assert_eq!(rels[0].database, conn.database());

    let one = conn
        .get_relation("mfb_t_cat_a", "View")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(one, rels[0]);
    assert!(
        conn.get_relation("mfb_t_cat_a", "view")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        conn.get_relation("mfb_t_cat_a", "s")
            .await
            .unwrap()
            .is_none(),
        "sequences are not relations"
    );
    let cache = conn
        .load_relation_cache(&["mfb_t_cat_a", "mfb_t_cat_b", "mfb_t_cat_none"])
        .await
        .unwrap();
    assert!(cache.is_cached("mfb_t_cat_none"));
    assert_eq!(
        cache.get("mfb_t_cat_b", "m").map(|r| r.kind),
        Some(RelationKind::MaterializedView)
    );
    assert_eq!(
        rels[0].relation().to_string(),
        format!("\"{}\".\"mfb_t_cat_a\".\"View\"", conn.database())
    );
    conn.execute("drop schema mfb_t_cat_a cascade; drop schema mfb_t_cat_b cascade")
        .await
        .unwrap();
}

#[tokio::test]
async fn columns_are_typed_like_dbt_postgres() {
    let conn = connect(&support::superuser()).await.unwrap();
    support::fresh_schema(&conn, "mfb_t_cols").await;
    conn.execute(
        "create table mfb_t_cols.t (
            id integer, name character varying(10), note text, v varchar, amount numeric(10,2),
            n numeric, flag boolean, at timestamp(3), tz timestamptz, code char(3), tags text[],
            gone int, big bigint
         );
         alter table mfb_t_cols.t drop column gone;
         create materialized view mfb_t_cols.\"Mv\" as select id, amount from mfb_t_cols.t;",
    )
    .await
    .unwrap();
    let cols = conn.columns_in_relation("mfb_t_cols", "t").await.unwrap();
    let got: Vec<(&str, &str, u32)> = cols
        .iter()
        .map(|c| (c.name.as_str(), c.data_type.as_str(), c.position))
        .collect();
    assert_eq!(
        got,
        [
            ("id", "integer", 1),
            ("name", "character varying(10)", 2),
            ("note", "text", 3),
            ("v", "character varying", 4),
            ("amount", "numeric(10,2)", 5),
            ("n", "numeric", 6),
            ("flag", "boolean", 7),
            ("at", "timestamp without time zone", 8),
            ("tz", "timestamp with time zone", 9),
            ("code", "character varying(3)", 10),
            ("tags", "text[]", 11),
            ("big", "bigint", 13),
        ]
    );
    let mv = conn.columns_in_relation("mfb_t_cols", "Mv").await.unwrap();
    assert_eq!(
        mv.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["id", "amount"]
    );
    assert!(
        conn.columns_in_relation("mfb_t_cols", "nope")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        conn.columns_in_relation("no_such_schema", "t")
            .await
            .unwrap()
            .is_empty()
    );
    conn.execute("drop schema mfb_t_cols cascade")
        .await
        .unwrap();
}

#[tokio::test]
async fn dependent_views_come_in_rebuild_order() {
    let conn = connect(&support::superuser()).await.unwrap();
    support::fresh_schema(&conn, "mfb_t_deps").await;
    support::fresh_schema(&conn, "mfb_t_deps_other").await;
    conn.execute(
        "create table mfb_t_deps.base (id int, amount int);
         create view mfb_t_deps.v1 as select id from mfb_t_deps.base;
         create view mfb_t_deps_other.v2 as select v1.id, b.amount from mfb_t_deps.v1 join mfb_t_deps.base b using (id);
         create view mfb_t_deps.a3 with (security_barrier = true) as select * from mfb_t_deps_other.v2;
         create materialized view mfb_t_deps.m as select count(*) as n from mfb_t_deps.v1;
         create view mfb_t_deps.unrelated as select 1 as x;
         create view mfb_t_deps.base_self as select * from mfb_t_deps.base where false;",
    )
    .await
    .unwrap();
    let deps = conn.dependent_views("mfb_t_deps", "base").await.unwrap();
    let got: Vec<String> = deps.iter().map(|d| d.relation.schema_qualified()).collect();
    assert_eq!(
        got,
        [
            "\"mfb_t_deps\".\"base_self\"",
            "\"mfb_t_deps\".\"v1\"",
            "\"mfb_t_deps\".\"m\"",
            "\"mfb_t_deps_other\".\"v2\"",
            "\"mfb_t_deps\".\"a3\"",
        ]
    );
    assert_eq!(deps[2].relation.kind, Some(RelationKind::MaterializedView));
    assert_eq!(deps[4].options, ["security_barrier=true"]);

    // Dropping the base with cascade and replaying the statements restores every view.
    let mut tx_sql = String::from(
        "drop table mfb_t_deps.base cascade;\ncreate table mfb_t_deps.base (id int, amount int, extra text);\n",
    );
    for d in &deps {
        tx_sql.push_str(&d.create_statement());
        tx_sql.push_str(";\n");
    }
    conn.execute(&format!("begin;\n{tx_sql}commit;"))
        .await
        .unwrap();
    let again = conn.dependent_views("mfb_t_deps", "base").await.unwrap();
    assert_eq!(again, deps);
    assert!(
        conn.dependent_views("mfb_t_deps", "no_such")
            .await
            .unwrap()
            .is_empty()
    );
    conn.execute("drop schema mfb_t_deps cascade; drop schema mfb_t_deps_other cascade")
        .await
        .unwrap();
}
