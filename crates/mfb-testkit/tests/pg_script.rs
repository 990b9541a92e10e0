//! scripts/pg.sh, the throwaway-server script behind the testkit and the demo:
//! start/url/stop, idempotence, and recovery from a leftover directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg.sh")
}

fn pg_sh(args: &[&str]) -> Output {
    Command::new("bash")
        .arg(script())
        .args(args)
        // a test must not install packages; without binaries pg.sh fails and says why
        .env("PG_NO_INSTALL", "1")
        .output()
        .expect("run scripts/pg.sh")
}

fn ok_stdout(args: &[&str]) -> String {
    let out = pg_sh(args);
    assert!(
        out.status.success(),
        "pg.sh {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A data directory the `postgres` OS user can reach when tests run as root.
fn data_dir() -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::Builder::new()
        .prefix("mfb-pgsh-test-")
        .tempdir()
        .expect("temp dir");
    let data = root.path().join("data");
    (root, data)
}

fn answers(url: &str) -> i32 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
        tokio::spawn(connection);
        client
            .query_one("select 40 + 2", &[])
            .await
            .expect("query")
            .get(0)
    })
}

/// Stops the cluster even when an assertion fails half-way.
struct Stop<'a>(&'a Path);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        let _ = pg_sh(&["stop", &self.0.display().to_string()]);
    }
}

#[test]
fn start_is_idempotent_and_stop_is_quiet() {
    let (_root, data) = data_dir();
    let dir = data.display().to_string();
    let _stop = Stop(&data);

    let url = ok_stdout(&["start", &dir]);
    assert!(url.starts_with("postgres://postgres@127.0.0.1:"), "{url}");
    assert_eq!(answers(&url), 42);
    assert_eq!(ok_stdout(&["url", &dir]), url);
    assert_eq!(
        ok_stdout(&["start", &dir]),
        url,
        "a second start reuses the running cluster"
    );

    ok_stdout(&["stop", &dir]);
    ok_stdout(&["stop", &dir]);
    let out = pg_sh(&["url", &dir]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no cluster running"));
}

#[test]
fn a_stale_pid_file_from_a_crashed_run_does_not_block_a_restart() {
    let (_root, data) = data_dir();
    let dir = data.display().to_string();
    let _stop = Stop(&data);

    ok_stdout(&["start", &dir]);
    ok_stdout(&["stop", &dir]);
    // what a killed server leaves behind: a pid file naming a process that is gone
    let pid_file = data.join("postmaster.pid");
    std::fs::write(
        &pid_file,
        format!("999999\n{dir}\n0\n5432\n{dir}\n127.0.0.1\n"),
    )
    .expect("write stale pid file");

    let url = ok_stdout(&["start", &dir]);
    assert_eq!(answers(&url), 42);
}

#[test]
fn usage_errors_exit_2_and_say_how_to_call_it() {
    let out = pg_sh(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: scripts/pg.sh start DIR [PORT]"));
}

#[test]
fn a_non_empty_directory_without_a_cluster_is_refused() {
    let (root, _) = data_dir();
    std::fs::write(root.path().join("notes.txt"), "not a cluster").expect("write");
    let out = pg_sh(&["start", &root.path().display().to_string()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("holds no cluster"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
