//! Statements, result decoding, transactions, the pool and cancellation.

use std::time::{Duration, Instant};

use mfb_diagnostics::IntoDiagnostic;
use mfb_postgres::{Cell, PgError, Pool, connect};
use serde_json::json;

use crate::support;

#[tokio::test]
async fn execute_reports_tags_and_counts() {
    let conn = connect(&support::superuser()).await.unwrap();
    support::fresh_schema(&conn, "mfb_t_exec").await;
    let r = conn
        .execute("create table mfb_t_exec.t (a int, b text)")
        .await
        .unwrap();
    assert_eq!((r.status.as_str(), r.rows_affected), ("CREATE TABLE", 0));
    let r = conn
        .execute("insert into mfb_t_exec.t values (1, 'x;y'), (2, $$;$$), (3, null)")
        .await
        .unwrap();
    assert_eq!((r.status.as_str(), r.rows_affected), ("INSERT 0 3", 3));
    let r = conn
        .execute("create view mfb_t_exec.v as select * from mfb_t_exec.t; select * from mfb_t_exec.v where a > 1")
        .await
        .unwrap();
    assert_eq!((r.status.as_str(), r.rows_affected), ("SELECT 2", 2));
    let r = conn
        .execute("create table mfb_t_exec.c as select * from mfb_t_exec.t")
        .await
        .unwrap();
    assert_eq!(r.status, "SELECT 3");
    let r = conn
        .execute("update mfb_t_exec.t set b = 'z' where a < 3")
        .await
        .unwrap();
    assert_eq!(r.status, "UPDATE 2");
    conn.execute("drop schema mfb_t_exec cascade")
        .await
        .unwrap();
}

#[tokio::test]
async fn fetch_decodes_many_types() {
    let conn = connect(&support::superuser()).await.unwrap();
    support::fresh_schema(&conn, "mfb_t_types").await;
    conn.execute("set timezone = 'UTC'; create type mfb_t_types.mood as enum ('ok', 'sad')")
        .await
        .unwrap();
    let t = conn
        .fetch(
            "select 1::int2 as i2, 2::int4 as i4, 9007199254740993::int8 as i8, 1.5::float8 as f,
                    'NaN'::float4 as nan, 12.340::numeric(10,3) as n, true as yes, false as no,
                    'héllo'::text as s, 'ab'::char(3) as c, '2024-02-29'::date as d,
                    '2024-02-29 13:14:15.5'::timestamp as ts, '2024-02-29 13:14:15+02'::timestamptz as tstz,
                    '{\"a\": [1, null]}'::jsonb as j, null::int as nothing,
                    'ok'::mfb_t_types.mood as m, array[1,2] as arr, interval '1 day' as iv,
                    '\\x0102'::bytea as b, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid as u",
        )
        .await
        .unwrap();
    let types: Vec<&str> = t.columns.iter().map(|c| c.type_name.as_str()).collect();
    assert_eq!(
        types,
        [
            "int2",
            "int4",
            "int8",
            "float8",
            "float4",
            "numeric",
            "bool",
            "bool",
            "text",
            "bpchar",
            "date",
            "timestamp",
            "timestamptz",
            "jsonb",
            "int4",
            "mood",
            "_int4",
            "interval",
            "bytea",
            "uuid"
        ]
    );
    let row = &t.rows[0];
    assert_eq!(row[0], Cell::Int(1));
    assert_eq!(row[1], Cell::Int(2));
    assert_eq!(row[2], Cell::Int(9007199254740993));
    assert_eq!(row[3], Cell::Float(1.5));
    assert!(matches!(row[4], Cell::Float(f) if f.is_nan()));
    assert_eq!(row[5], Cell::Decimal("12.340".into()));
    assert_eq!((&row[6], &row[7]), (&Cell::Bool(true), &Cell::Bool(false)));
    assert_eq!(row[8], Cell::Text("héllo".into()));
    assert_eq!(row[9], Cell::Text("ab ".into()));
    assert_eq!(row[10], Cell::Date("2024-02-29".into()));
    assert_eq!(row[11], Cell::Timestamp("2024-02-29 13:14:15.5".into()));
    assert_eq!(row[12], Cell::Timestamp("2024-02-29 11:14:15+00".into()));
    assert_eq!(row[13], Cell::Json(json!({"a": [1, null]})));
    assert_eq!(row[14], Cell::Null);
    assert_eq!(row[15], Cell::Text("ok".into()));
    assert_eq!(row[16], Cell::Text("{1,2}".into()));
    assert_eq!(row[17], Cell::Text("1 day".into()));
    assert_eq!(row[18], Cell::Text("\\x0102".into()));
    assert_eq!(
        row[19],
        Cell::Text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into())
    );
    assert_eq!(t.column_values("i4").unwrap(), [&Cell::Int(2)]);

    // Several statements: the last result comes back, typed as text.
    let t = conn
        .fetch("select 1 as a; select 'x' as b, 2 as c")
        .await
        .unwrap();
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["b", "c"]);
    assert_eq!(
        t.rows,
        vec![vec![Cell::Text("x".into()), Cell::Text("2".into())]]
    );
    conn.execute("drop schema mfb_t_types cascade")
        .await
        .unwrap();
}

#[tokio::test]
async fn statement_errors_keep_what_postgres_said() {
    let conn = connect(&support::superuser()).await.unwrap();
    let sql = "select 1\nfrom mfb_t_missing_table";
    let err = conn.fetch(sql).await.unwrap_err();
    let PgError::Statement(s) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(s.sqlstate, "42P01");
    assert_eq!(s.message, "relation \"mfb_t_missing_table\" does not exist");
    assert_eq!(s.line_column(sql), Some((2, 6)));

    let err = conn
        .execute("do $$ begin raise exception 'boom' using detail = 'the detail', hint = 'the hint'; end $$")
        .await
        .unwrap_err();
    let PgError::Statement(s) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((s.sqlstate.as_str(), s.message.as_str()), ("P0001", "boom"));
    assert_eq!(s.detail.as_deref(), Some("the detail"));
    assert_eq!(s.hint.as_deref(), Some("the hint"));
    let d = err.into_diagnostic();
    assert_eq!(d.code, "pg-statement");
    assert_eq!(d.help.as_deref(), Some("the hint"));
    assert!(d.notes.contains(&"detail: the detail".to_owned()));
    assert!(d.notes.contains(&"SQLSTATE P0001".to_owned()));
    // The connection is still usable after an error.
    assert_eq!(conn.execute("select 1").await.unwrap().status, "SELECT 1");
}

#[tokio::test]
async fn transactions_commit_and_roll_back() {
    let mut conn = connect(&support::superuser()).await.unwrap();
    support::fresh_schema(&conn, "mfb_t_tx").await;
    conn.execute("create table mfb_t_tx.t (a int)")
        .await
        .unwrap();

    let tx = conn.begin().await.unwrap();
    tx.execute("insert into mfb_t_tx.t values (1)")
        .await
        .unwrap();
    assert_eq!(
        tx.columns_in_relation("mfb_t_tx", "t").await.unwrap().len(),
        1
    );
    tx.commit().await.unwrap();

    let tx = conn.begin().await.unwrap();
    tx.execute("insert into mfb_t_tx.t values (2)")
        .await
        .unwrap();
    tx.rollback().await.unwrap();

    {
        let tx = conn.begin().await.unwrap();
        tx.execute("insert into mfb_t_tx.t values (3)")
            .await
            .unwrap();
        // Dropped without commit: rolled back.
    }
    let tx = conn.begin().await.unwrap();
    assert!(tx.execute("select * from nowhere_at_all").await.is_err());
    drop(tx);

    let t = conn
        .fetch("select array_agg(a order by a)::text from mfb_t_tx.t")
        .await
        .unwrap();
    assert_eq!(t.rows[0][0], Cell::Text("{1}".into()));
    let t = conn
        .fetch("select now() = statement_timestamp()")
        .await
        .unwrap();
    assert_eq!(
        t.rows[0][0],
        Cell::Bool(true),
        "a transaction was left open"
    );
    conn.execute("drop schema mfb_t_tx cascade").await.unwrap();
}

#[tokio::test]
async fn pool_limits_and_reuses_connections() {
    let pool = Pool::connect(support::superuser(), 2).await.unwrap();
    let a = pool.get().await.unwrap();
    let b = pool.get().await.unwrap();
    assert_eq!(pool.in_use(), 2);
    let pid_a = a.fetch("select pg_backend_pid()").await.unwrap().rows[0][0].clone();
    // A third checkout waits until one is returned.
    let waiting = tokio::time::timeout(Duration::from_millis(200), pool.get()).await;
    assert!(waiting.is_err(), "the pool handed out more than its size");
    drop(a);
    let c = pool.get().await.unwrap();
    let pid_c = c.fetch("select pg_backend_pid()").await.unwrap().rows[0][0].clone();
    assert_eq!(pid_a, pid_c, "the returned connection is reused");
    drop((b, c));
    assert_eq!(pool.in_use(), 0);

    // Work spread over the pool from many tasks.
    let mut handles = Vec::new();
    for i in 0..8 {
        let pool = pool.clone();
        handles.push(tokio::spawn(async move {
            pool.fetch(&format!("select {i} + 1")).await.unwrap().rows[0][0].clone()
        }));
    }
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.await.unwrap(), Cell::Int(i as i64 + 1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_all_stops_running_statements_within_a_second() {
    let pool = Pool::connect(support::superuser(), 2).await.unwrap();
    let mut sleepers = Vec::new();
    for _ in 0..2 {
        let pool = pool.clone();
        sleepers.push(tokio::spawn(async move {
            let conn = pool.get().await.unwrap();
            conn.execute("select pg_sleep(10)").await
        }));
    }
    // Wait until both statements are running on the server.
    let probe = connect(&support::superuser()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let t = probe
            .fetch("select count(*)::int from pg_stat_activity where query = 'select pg_sleep(10)' and state = 'active'")
            .await
            .unwrap();
        if t.rows[0][0] == Cell::Int(2) {
            break;
        }
        assert!(Instant::now() < deadline, "the sleeps never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    assert_eq!(pool.cancel_all().await.unwrap(), 2);
    for s in sleepers {
        let err = s.await.unwrap().unwrap_err();
        assert!(matches!(err, PgError::Cancelled { .. }), "{err:?}");
        assert_eq!(err.code(), "pg-cancelled");
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    // Nothing new starts after a cancel.
    assert!(matches!(
        pool.execute("select 1").await,
        Err(PgError::Cancelled { .. })
    ));
    assert!(pool.is_cancelled());
}

#[tokio::test]
async fn cancel_token_cancels_one_connection() {
    let conn = connect(&support::superuser()).await.unwrap();
    let token = conn.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        token.cancel().await
    });
    let started = Instant::now();
    let err = conn.execute("select pg_sleep(10)").await.unwrap_err();
    assert!(matches!(err, PgError::Cancelled { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    canceller.await.unwrap().unwrap();
    assert_eq!(conn.execute("select 1").await.unwrap().rows_affected, 1);
}

#[tokio::test]
async fn pool_replaces_connections_the_server_closed() {
    let pool = Pool::connect(support::superuser(), 1).await.unwrap();
    let pid = pool.fetch("select pg_backend_pid()").await.unwrap().rows[0][0].clone();
    let admin = connect(&support::superuser()).await.unwrap();
    let Cell::Int(pid_number) = pid else {
        panic!("{pid:?}")
    };
    admin
        .execute(&format!("select pg_terminate_backend({pid_number})"))
        .await
        .unwrap();
    // The terminated session reports an error once, then the pool opens a new one.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match pool.fetch("select pg_backend_pid()").await {
            Ok(t) => {
                assert_ne!(t.rows[0][0], pid);
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "pool did not recover: {e}"),
        }
    }
}
