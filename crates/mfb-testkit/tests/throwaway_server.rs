//! Starts (or reuses, with MFB_TEST_DATABASE_URL) a real PostgreSQL and runs queries on
//! databases made by `TestDb`.

use mfb_testkit::{TestDb, server_info};

#[tokio::test]
async fn a_fresh_database_answers_queries() {
    let db = TestDb::create("answers_queries");
    let client = db.connect().await;
    let row = client
        .query_one("select current_database(), 6 * 7", &[])
        .await
        .expect("query on the test database");
    let name: String = row.get(0);
    let answer: i32 = row.get(1);
    assert_eq!(name, db.dbname);
    assert_eq!(answer, 42);
    let tables: i64 = client
        .query_one(
            "select count(*) from pg_tables where schemaname not in ('pg_catalog', 'information_schema')",
            &[],
        )
        .await
        .expect("count tables")
        .get(0);
    assert_eq!(tables, 0, "a new test database starts empty");
}

#[test]
fn databases_are_isolated_from_each_other() {
    let a = TestDb::create("isolated_a");
    let b = TestDb::create("isolated_b");
    assert_ne!(a.dbname, b.dbname);
    assert_eq!((a.host.as_str(), a.port), (b.host.as_str(), b.port));
    a.batch_execute("create schema s; create table s.t (id int); insert into s.t values (1), (2);");
    assert_eq!(
        a.query_text("select count(*)::text from s.t"),
        vec![vec![Some("2".to_owned())]]
    );
    let seen_in_b = b.query_text("select count(*)::text from pg_namespace where nspname = 's'");
    assert_eq!(seen_in_b, vec![vec![Some("0".to_owned())]]);
}

#[test]
fn dropping_a_test_db_drops_the_database_even_with_open_connections() {
    let observer = TestDb::create("observer");
    let doomed = TestDb::create("doomed");
    let name = doomed.dbname.clone();
    let exists = format!("select count(*)::text from pg_database where datname = '{name}'");
    assert_eq!(
        observer.query_text(&exists),
        vec![vec![Some("1".to_owned())]]
    );

    // keep a session open on the doomed database while it is dropped
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = runtime.block_on(doomed.connect());
    drop(doomed);
    assert_eq!(
        observer.query_text(&exists),
        vec![vec![Some("0".to_owned())]]
    );
    let after = runtime.block_on(client.simple_query("select 1"));
    assert!(
        after.is_err(),
        "the open session was closed by DROP ... WITH (FORCE)"
    );
}

#[test]
fn url_and_fields_describe_the_same_database() {
    let db = TestDb::create("url_fields");
    let info = server_info();
    assert_eq!(db.port, info.port);
    assert!(db.url.ends_with(&format!("/{}", db.dbname)), "{}", db.url);
    assert!(db.url.contains(&format!(":{}/", db.port)), "{}", db.url);
    // the URL works on its own, as other tools (psql, dbt, mfb) will use it
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let user = runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
            .await
            .expect("connect with the URL");
        tokio::spawn(connection);
        let row = client
            .query_one("select current_user::text, current_database()::text", &[])
            .await
            .expect("query");
        (row.get::<_, String>(0), row.get::<_, String>(1))
    });
    assert_eq!(user, (db.user.clone(), db.dbname.clone()));
}

#[test]
fn query_text_reports_nulls_as_none() {
    let db = TestDb::create("nulls");
    assert_eq!(
        db.query_text("select null::text, 'x'"),
        vec![vec![None, Some("x".to_owned())]]
    );
}
