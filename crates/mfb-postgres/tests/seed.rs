//! Seed loading against a real PostgreSQL server. The expected column types and values
//! were taken from `dbt seed` (dbt-core 1.10.9, dbt-postgres) on the same fixture files.

#[path = "it/support.rs"]
#[allow(dead_code)] // this binary uses only the plain cluster
mod support;

use std::path::{Path, PathBuf};

use mfb_diagnostics::IntoDiagnostic;
use mfb_postgres::{Connection, CsvProblem, SeedError, SeedTarget, connect, load_seed};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seeds")
        .join(name)
}

async fn conn() -> Connection {
    connect(&support::superuser()).await.unwrap()
}

/// `name type, ...` from information_schema, as the expectations were recorded.
async fn column_types(conn: &Connection, schema: &str, table: &str) -> String {
    let t = conn
        .fetch(&format!(
            "select coalesce(string_agg(column_name || ' ' || data_type, ', ' order by ordinal_position), '') \
             from information_schema.columns where table_schema = '{schema}' and table_name = '{table}'"
        ))
        .await
        .unwrap();
    t.rows[0][0].as_text().unwrap()
}

/// Each row as PostgreSQL's record text, in file order (`order by` the given column).
async fn rows(conn: &Connection, relation: &str, order: &str) -> Vec<String> {
    let t = conn
        .fetch(&format!(
            "select x::text from {relation} x order by {order}"
        ))
        .await
        .unwrap();
    t.rows.iter().map(|r| r[0].as_text().unwrap()).collect()
}

fn write(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[tokio::test]
async fn infers_types_like_dbt() {
    let mut conn = conn().await;
    // load_seed creates the schema itself.
    conn.execute("drop schema if exists mfb_t_seed_infer cascade")
        .await
        .unwrap();
    conn.execute("set timezone = 'UTC'").await.unwrap();

    let target = SeedTarget::new("mfb_t_seed_infer", "inference");
    let result = load_seed(&mut conn, &fixture("inference.csv"), &target)
        .await
        .unwrap();
    assert_eq!(result.rows, 3);
    assert_eq!(result.columns[0], ("i".into(), "integer".into()));
    assert_eq!(result.columns[1], ("n".into(), "float8".into()));
    assert_eq!(
        column_types(&conn, "mfb_t_seed_infer", "inference").await,
        "i integer, n double precision, d date, ts timestamp without time zone, \
         tsiso timestamp without time zone, b boolean, t text, empty integer, nullstr text, \
         thousands integer, yesno text, tf text, dmix text, money double precision, \
         sci double precision, ws integer, ints_null integer"
    );
    assert_eq!(
        rows(&conn, "mfb_t_seed_infer.inference", "i nulls last").await,
        [
            r#"(-2,2,2024-02-29,"2024-02-29 00:00:00","2024-02-29 00:00:00",f,,,,2,no,f,"2024-01-01 10:00:00",6.5,0.25,8,)"#,
            r#"(1,1.5,2024-01-31,"2024-01-31 10:11:12","2024-01-31 10:11:12",t,hello,,x,1000,yes,t,2024-01-01,5,1000,7,1)"#,
            "(,,,,,t,,,,,,,,,,,)",
        ]
    );

    let target = SeedTarget::new("mfb_t_seed_infer", "inference_formats");
    let result = load_seed(&mut conn, &fixture("inference_formats.csv"), &target)
        .await
        .unwrap();
    assert_eq!(result.rows, 2);
    assert_eq!(
        column_types(&conn, "mfb_t_seed_infer", "inference_formats").await,
        "d1 date, dt1 timestamp without time zone, iso1 timestamp without time zone, \
         b1 boolean, int_like integer, pct integer, iso_off timestamp without time zone, \
         nulls_ws integer"
    );
    assert_eq!(
        rows(&conn, "mfb_t_seed_infer.inference_formats", "d1").await,
        [
            r#"(2024-01-05,"2024-01-05 01:02:03","2024-01-05 10:11:00",t,2,50,"2024-01-05 08:11:12.25",)"#,
            r#"(2024-12-31,"2024-12-31 23:59:59","2024-12-31 23:59:00",f,1000,-5,"2024-01-05 10:11:12",1)"#,
        ]
    );
    conn.execute("drop schema mfb_t_seed_infer cascade")
        .await
        .unwrap();
}

#[tokio::test]
async fn column_types_override_inference() {
    let mut conn = conn().await;
    support::fresh_schema(&conn, "mfb_t_seed_override").await;
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "codes.csv",
        b"code,amount,flag\n0012,2,true\n0400,3,\n",
    );
    let mut target = SeedTarget::new("mfb_t_seed_override", "codes");
    target.column_types = vec![
        ("code".into(), "varchar(10)".into()),
        ("amount".into(), "bigint".into()),
    ];
    let result = load_seed(&mut conn, &csv, &target).await.unwrap();
    assert_eq!(
        result.columns,
        [
            ("code".to_owned(), "varchar(10)".to_owned()),
            ("amount".to_owned(), "bigint".to_owned()),
            ("flag".to_owned(), "boolean".to_owned()),
        ]
    );
    assert_eq!(
        column_types(&conn, "mfb_t_seed_override", "codes").await,
        "code character varying, amount bigint, flag boolean"
    );
    assert_eq!(
        rows(&conn, "mfb_t_seed_override.codes", "code").await,
        ["(0012,2,t)", "(0400,3,)"]
    );
    conn.execute("drop schema mfb_t_seed_override cascade")
        .await
        .unwrap();
}

#[tokio::test]
async fn reload_replaces_rows_and_keeps_the_table() {
    let mut conn = conn().await;
    support::fresh_schema(&conn, "mfb_t_seed_reload").await;
    let dir = tempfile::tempdir().unwrap();
    let target = SeedTarget::new("mfb_t_seed_reload", "r");
    let csv = write(dir.path(), "r.csv", b"a,b\n1,x\n2,y\n");
    assert_eq!(load_seed(&mut conn, &csv, &target).await.unwrap().rows, 2);
    // A view on the seed survives a reload (the table is truncated, not dropped).
    conn.execute("create view mfb_t_seed_reload.v as select * from mfb_t_seed_reload.r")
        .await
        .unwrap();
    let oid = "select 'mfb_t_seed_reload.r'::regclass::oid::text";
    let before = conn.fetch(oid).await.unwrap().rows[0][0].as_text();

    let csv = write(dir.path(), "r.csv", b"a,b\n3,p\n4,q\n5,r\n");
    assert_eq!(load_seed(&mut conn, &csv, &target).await.unwrap().rows, 3);
    assert_eq!(
        rows(&conn, "mfb_t_seed_reload.v", "a").await,
        ["(3,p)", "(4,q)", "(5,r)"]
    );
    assert_eq!(conn.fetch(oid).await.unwrap().rows[0][0].as_text(), before);

    // Like dbt, a file without a column the table has leaves that column NULL.
    let csv = write(dir.path(), "r.csv", b"a\n6\n");
    assert_eq!(load_seed(&mut conn, &csv, &target).await.unwrap().rows, 1);
    assert_eq!(rows(&conn, "mfb_t_seed_reload.r", "a").await, ["(6,)"]);
    conn.execute("drop schema mfb_t_seed_reload cascade")
        .await
        .unwrap();
}

#[tokio::test]
async fn full_refresh_recreates_a_table_whose_columns_changed() {
    let mut conn = conn().await;
    support::fresh_schema(&conn, "mfb_t_seed_refresh").await;
    let dir = tempfile::tempdir().unwrap();
    let mut target = SeedTarget::new("mfb_t_seed_refresh", "r");
    let csv = write(dir.path(), "r.csv", b"a,b\n1,x\n2,y\n");
    load_seed(&mut conn, &csv, &target).await.unwrap();

    // Without --full-refresh a new column fails, as in dbt, and the old rows stay.
    let csv = write(dir.path(), "r.csv", b"a,c\n5,2024-01-01\n");
    let err = load_seed(&mut conn, &csv, &target).await.unwrap_err();
    assert!(
        matches!(&err, SeedError::Database { source, .. } if source.sqlstate() == Some("42703")),
        "{err:?}"
    );
    assert!(err.fix().contains("--full-refresh"), "{}", err.fix());
    assert_eq!(
        rows(&conn, "mfb_t_seed_refresh.r", "a").await,
        ["(1,x)", "(2,y)"]
    );

    target.full_refresh = true;
    let result = load_seed(&mut conn, &csv, &target).await.unwrap();
    assert_eq!(result.rows, 1);
    assert_eq!(
        column_types(&conn, "mfb_t_seed_refresh", "r").await,
        "a integer, c date"
    );
    assert_eq!(
        rows(&conn, "mfb_t_seed_refresh.r", "a").await,
        ["(5,2024-01-01)"]
    );

    // A full refresh does not drop dependent views behind the user's back.
    conn.execute("create view mfb_t_seed_refresh.v as select * from mfb_t_seed_refresh.r")
        .await
        .unwrap();
    let err = load_seed(&mut conn, &csv, &target).await.unwrap_err();
    match &err {
        SeedError::Dependents { detail, .. } => assert!(detail.contains("mfb_t_seed_refresh.v")),
        other => panic!("expected Dependents, got {other:?}"),
    }
    assert_eq!(err.into_diagnostic().code, "seed-dependents");
    conn.execute("drop schema mfb_t_seed_refresh cascade")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_failed_load_leaves_the_previous_table() {
    let mut conn = conn().await;
    support::fresh_schema(&conn, "mfb_t_seed_fail").await;
    let dir = tempfile::tempdir().unwrap();
    let mut target = SeedTarget::new("mfb_t_seed_fail", "r");
    target.column_types = vec![("n".into(), "integer".into())];
    let good = write(dir.path(), "r.csv", b"id,n\n1,10\n2,20\n");
    load_seed(&mut conn, &good, &target).await.unwrap();

    // Line 4 holds a value that does not fit the overridden type.
    let bad = write(dir.path(), "r.csv", b"id,n\n7,70\n8,80\n9,nine\n");
    for full_refresh in [false, true] {
        target.full_refresh = full_refresh;
        let err = load_seed(&mut conn, &bad, &target).await.unwrap_err();
        match &err {
            SeedError::Database { line, source, .. } => {
                assert_eq!(*line, Some(4), "{err}");
                assert_eq!(source.sqlstate(), Some("22P02"));
            }
            other => panic!("expected a database error, got {other:?}"),
        }
        assert!(err.to_string().contains("r.csv (line 4)"), "{err}");
        assert!(err.fix().contains("column_types"), "{}", err.fix());
        assert_eq!(
            rows(&conn, "mfb_t_seed_fail.r", "id").await,
            ["(1,10)", "(2,20)"]
        );
    }
    conn.execute("drop schema mfb_t_seed_fail cascade")
        .await
        .unwrap();
}

#[tokio::test]
async fn csv_edge_cases_load_like_dbt() {
    let mut conn = conn().await;
    support::fresh_schema(&conn, "mfb_t_seed_edge").await;
    // BOM, CRLF, quoted delimiters and quotes, an embedded CRLF, a blank line (a row of
    // NULLs in dbt), a short row (padded), a repeated and an empty header name.
    let target = SeedTarget::new("mfb_t_seed_edge", "edge_cases");
    let result = load_seed(&mut conn, &fixture("edge_cases.csv"), &target)
        .await
        .unwrap();
    assert_eq!(result.rows, 5);
    assert_eq!(
        column_types(&conn, "mfb_t_seed_edge", "edge_cases").await,
        "id integer, quoted, name text, id_2 integer, d integer, note text"
    );
    assert_eq!(
        rows(&conn, "mfb_t_seed_edge.edge_cases", "id nulls first").await,
        [
            "(,,,,)",
            "(1,\"a, b\",2,3,\"line one\r\nline two\")",
            "(2,\"say \"\"hi\"\"\",,,\"plain text\")",
            "(3,short,,,)",
            "(4,x,5,6,\"tab\there é\")",
        ]
    );

    // Another delimiter, unquoted column names (folded to lower case by PostgreSQL).
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "semi.csv", b"Id;Label\n1;a,b\n2;\"c;d\"\n");
    let mut target = SeedTarget::new("mfb_t_seed_edge", "semi");
    target.delimiter = b';';
    target.quote_columns = false;
    load_seed(&mut conn, &csv, &target).await.unwrap();
    assert_eq!(
        column_types(&conn, "mfb_t_seed_edge", "semi").await,
        "id integer, label text"
    );
    assert_eq!(
        rows(&conn, "mfb_t_seed_edge.semi", "id").await,
        ["(1,\"a,b\")", "(2,c;d)"]
    );

    // A header without rows makes an empty table.
    let csv = write(dir.path(), "empty.csv", b"a,b\n");
    let result = load_seed(&mut conn, &csv, &SeedTarget::new("mfb_t_seed_edge", "e"))
        .await
        .unwrap();
    assert_eq!(result.rows, 0);
    assert_eq!(
        column_types(&conn, "mfb_t_seed_edge", "e").await,
        "a integer, b integer"
    );
    conn.execute("drop schema mfb_t_seed_edge cascade")
        .await
        .unwrap();
}

#[tokio::test]
async fn bad_csv_names_the_file_and_line() {
    let mut conn = conn().await;
    support::fresh_schema(&conn, "mfb_t_seed_bad").await;
    let dir = tempfile::tempdir().unwrap();
    let target = SeedTarget::new("mfb_t_seed_bad", "bad");
    let cases: [(&str, &[u8], u64, CsvProblem); 4] = [
        (
            "long.csv",
            b"a,b\n1,2\n\"x\ny\",3,4\n",
            3,
            CsvProblem::TooManyValues {
                found: 3,
                expected: 2,
            },
        ),
        (
            "latin1.csv",
            b"a,b\n1,2\n3,caf\xe9\n",
            3,
            CsvProblem::InvalidUtf8,
        ),
        (
            "open.csv",
            b"a,b\n1,\"never closed\n2,3\n",
            2,
            CsvProblem::UnterminatedQuote,
        ),
        ("empty.csv", b"", 1, CsvProblem::Empty),
    ];
    for (name, contents, want_line, want_problem) in cases {
        let csv = write(dir.path(), name, contents);
        let err = load_seed(&mut conn, &csv, &target).await.unwrap_err();
        match &err {
            SeedError::Csv {
                path,
                line,
                problem,
            } => {
                assert_eq!((path, *line, problem), (&csv, want_line, &want_problem));
            }
            other => panic!("{name}: expected a CSV error, got {other:?}"),
        }
        assert!(
            err.to_string()
                .starts_with(&format!("{}:{want_line}: ", csv.display())),
            "{err}"
        );
        let d = err.into_diagnostic();
        assert_eq!(d.code, "seed-csv");
        assert!(d.help.is_some_and(|h| !h.is_empty()));
    }
    let mut target_pct = target.clone();
    target_pct.delimiter = 0xA7; // the second byte of `§` in UTF-8
    let csv = write(dir.path(), "pct.csv", "a§b\n1§2\n".as_bytes());
    let err = load_seed(&mut conn, &csv, &target_pct).await.unwrap_err();
    assert!(
        matches!(
            &err,
            SeedError::Csv {
                line: 1,
                problem: CsvProblem::UnsupportedDelimiter(0xA7),
                ..
            }
        ),
        "{err:?}"
    );
    // Nothing was created by the failed loads.
    assert_eq!(column_types(&conn, "mfb_t_seed_bad", "bad").await, "");
    conn.execute("drop schema mfb_t_seed_bad cascade")
        .await
        .unwrap();
}

#[tokio::test]
async fn loads_a_million_rows() {
    use std::io::Write;
    let mut conn = conn().await;
    support::fresh_schema(&conn, "mfb_t_seed_big").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(out, "id,amount,day,label,active").unwrap();
    for i in 0..1_000_000u32 {
        writeln!(
            out,
            "{i},{}.{:02},2024-{:02}-{:02},\"name {i}, ok\",{}",
            i % 997,
            i % 100,
            i % 12 + 1,
            i % 28 + 1,
            i % 2 == 0
        )
        .unwrap();
    }
    out.flush().unwrap();
    drop(out);

    let target = SeedTarget::new("mfb_t_seed_big", "big");
    let result = load_seed(&mut conn, &path, &target).await.unwrap();
    assert_eq!(result.rows, 1_000_000);
    let names: Vec<&str> = result.columns.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(names, ["integer", "float8", "date", "text", "boolean"]);
    let t = conn
        .fetch("select count(*), count(distinct label), sum(id) from mfb_t_seed_big.big")
        .await
        .unwrap();
    assert_eq!(
        t.rows[0]
            .iter()
            .map(|c| c.as_text().unwrap())
            .collect::<Vec<_>>(),
        ["1000000", "1000000", "499999500000"]
    );
    conn.execute("drop schema mfb_t_seed_big cascade")
        .await
        .unwrap();
}
