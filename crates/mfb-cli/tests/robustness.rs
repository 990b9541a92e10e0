//! What happens to the warehouse when a run is interrupted: Ctrl-C, SIGKILL, or the
//! server restarting in the middle of a model. In every case the relations built before
//! keep their rows, nothing half-built is left behind, and the next run succeeds.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mfb_testkit::TestDb;

mod common;
use common::{one, write};

fn mfb_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mfb"));
    c.args(args)
        .arg("--project-dir")
        .arg(dir)
        .arg("--profiles-dir")
        .arg(dir);
    c
}

fn mfb(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = mfb_cmd(dir, args).output().expect("run mfb");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("panicked"), "{text}");
    (out.status.code().unwrap_or(-1), text)
}

/// A table `base` of `n` rows whose build sleeps `sleep` seconds, and a view on it.
fn project(p: &Path, db: &TestDb, profile: &str) {
    write(
        p,
        "dbt_project.yml",
        &format!("name: {profile}\nprofile: {profile}\n"),
    );
    write(
        p,
        "models/base.sql",
        "{{ config(materialized='table') }}\n\
         with pause as (select pg_sleep({{ var('sleep', 0) }}))\n\
         select g as id from generate_series(1, {{ var('n', 3) }}) g, pause",
    );
    write(
        p,
        "models/child.sql",
        "select count(*) as n from {{ ref('base') }}",
    );
    db.write_profiles_yml(p, profile, "analytics").unwrap();
}

/// Starts the slow rebuild and waits until PostgreSQL is running its statement. The caller
/// waits for the child (clippy cannot see that through the return).
#[allow(clippy::zombie_processes)]
fn start_slow_run(p: &Path, db: &TestDb) -> Child {
    let mut child = mfb_cmd(p, &["run", "--vars", "{n: 5, sleep: 30}"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mfb");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let busy = one(
            db,
            "select count(*)::text from pg_stat_activity \
             where state = 'active' and query like '%pg_sleep(30)%' and pid <> pg_backend_pid()",
        );
        if busy == "1" {
            return child;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the slow model never started");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_with_timeout(mut child: Child, limit: Duration) -> (i32, String) {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            return (status.code().unwrap_or(-1), text);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("mfb did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn no_leftovers(db: &TestDb) {
    assert_eq!(
        one(
            db,
            "select count(*)::text from pg_class where relname like '%__dbt_tmp' or relname like '%__dbt_backup'"
        ),
        "0",
        "temporary relations left behind"
    );
}

#[test]
fn ctrl_c_cancels_the_statement_on_the_server_and_exits_130() {
    let db = TestDb::create("mfb_sigint");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    project(p, &db, "sigint");
    let (code, text) = mfb(p, &["run"]);
    assert_eq!(code, 0, "{text}");

    let child = start_slow_run(p, &db);
    let pid = child.id().to_string();
    let sent = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let (code, text) = wait_with_timeout(child, Duration::from_secs(10));
    assert_eq!(code, 130, "{text}");
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "cancel took {:?}",
        sent.elapsed()
    );
    assert!(text.contains("Interrupted"), "{text}");
    // The server stopped the statement (no backend still sleeping), the old table is intact.
    assert_eq!(
        one(
            &db,
            "select count(*)::text from pg_stat_activity where query like '%pg_sleep(30)%' and pid <> pg_backend_pid()"
        ),
        "0"
    );
    assert_eq!(one(&db, "select count(*)::text from analytics.base"), "3");
    assert_eq!(one(&db, "select n::text from analytics.child"), "3");
    no_leftovers(&db);

    let (code, text) = mfb(p, &["run", "--vars", "{n: 5}"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(one(&db, "select n::text from analytics.child"), "5");
}

#[test]
fn sigkill_mid_run_keeps_the_old_tables_and_the_next_run_succeeds() {
    let db = TestDb::create("mfb_sigkill");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    project(p, &db, "sigkill");
    let (code, text) = mfb(p, &["run"]);
    assert_eq!(code, 0, "{text}");

    let mut child = start_slow_run(p, &db);
    child.kill().unwrap(); // SIGKILL: no chance to clean up.
    let _ = child.wait();
    // Readers still see the old table while the orphaned statement runs on.
    assert_eq!(one(&db, "select count(*)::text from analytics.base"), "3");
    assert_eq!(one(&db, "select n::text from analytics.child"), "3");
    // The server notices the dead client within a second (client_connection_check_interval)
    // and rolls the orphaned statement back, so the next run is not held up by its locks.
    let next = Instant::now();
    let (code, text) = mfb(p, &["run", "--vars", "{n: 5}"]);
    assert!(
        next.elapsed() < Duration::from_secs(10),
        "the next run waited {:?} for the killed one",
        next.elapsed()
    );
    assert_eq!(code, 0, "{text}");
    assert_eq!(one(&db, "select n::text from analytics.child"), "5");
    no_leftovers(&db);
}

/// A private cluster (the shared one cannot be restarted under other tests).
struct Cluster {
    dir: tempfile::TempDir,
    url: String,
}

impl Cluster {
    fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let url = pg_sh(&["start", dir.path().join("data").to_str().unwrap()]);
        Cluster { dir, url }
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_string_lossy().into_owned()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(repo_root().join("scripts/pg.sh"))
            .args(["stop", &self.data()])
            .output();
    }
}

fn repo_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn pg_sh(args: &[&str]) -> String {
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/pg.sh"))
        .args(args)
        .env("PG_NO_INSTALL", "1")
        .output()
        .expect("run scripts/pg.sh");
    assert!(
        out.status.success(),
        "scripts/pg.sh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-XtAc", sql])
        .output()
        .expect("run psql");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn a_server_restart_mid_run_fails_the_model_and_keeps_the_old_table() {
    let cluster = Cluster::start();
    // host/port of the private cluster, e.g. postgres://postgres@127.0.0.1:PORT/postgres
    let port = cluster
        .url
        .rsplit(':')
        .next()
        .and_then(|s| s.split('/').next())
        .unwrap()
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(p, "dbt_project.yml", "name: rs\nprofile: rs\n");
    write(
        p,
        "models/base.sql",
        "{{ config(materialized='table') }}\n\
         with pause as (select pg_sleep({{ var('sleep', 0) }}))\n\
         select g as id from generate_series(1, {{ var('n', 3) }}) g, pause",
    );
    write(
        p,
        "profiles.yml",
        &format!(
            "rs:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: 127.0.0.1\n      port: {port}\n      user: postgres\n      password: ''\n      dbname: postgres\n      schema: analytics\n      threads: 2\n"
        ),
    );
    let (code, text) = mfb(p, &["run"]);
    assert_eq!(code, 0, "{text}");

    let child = mfb_cmd(p, &["run", "--vars", "{n: 5, sleep: 30}"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while psql(
        &cluster.url,
        "select count(*) from pg_stat_activity where state = 'active' and query like '%pg_sleep(30)%' and pid <> pg_backend_pid()",
    ) != "1"
    {
        assert!(Instant::now() < deadline, "the slow model never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    pg_sh(&["stop", &cluster.data()]);
    let (code, text) = wait_with_timeout(child, Duration::from_secs(20));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("ERROR=1"), "{text}");
    pg_sh(&["start", &cluster.data(), &port]);

    assert_eq!(
        psql(&cluster.url, "select count(*) from analytics.base"),
        "3"
    );
    let (code, text) = mfb(p, &["run", "--vars", "{n: 5}"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        psql(&cluster.url, "select count(*) from analytics.base"),
        "5"
    );
    assert_eq!(
        psql(
            &cluster.url,
            "select count(*) from pg_class where relname like '%__dbt_tmp' or relname like '%__dbt_backup'"
        ),
        "0"
    );
}
