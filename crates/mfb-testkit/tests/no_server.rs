//! With no URL and no server binaries, TestDb panics and says how to get a server.
//!
//! The check runs in a child process (this same test binary) so that its environment,
//! with `PG_BINDIR` pointing at an empty directory, cannot leak into other tests.

use std::process::Command;

use mfb_testkit::TestDb;

const CHILD_MARKER: &str = "MFB_TESTKIT_NO_SERVER_CHILD";

#[test]
fn without_url_or_binaries_creating_a_database_panics_with_instructions() {
    if std::env::var_os(CHILD_MARKER).is_some() {
        // child: must not get a database
        let db = TestDb::create("must_fail");
        panic!("expected a panic, got database {}", db.dbname);
    }
    let empty = tempfile::tempdir().expect("temp dir");
    let output = Command::new(std::env::current_exe().expect("test binary path"))
        .args([
            "--exact",
            "without_url_or_binaries_creating_a_database_panics_with_instructions",
            "--nocapture",
        ])
        .env(CHILD_MARKER, "1")
        .env("PG_BINDIR", empty.path())
        .env_remove("MFB_TEST_DATABASE_URL")
        .output()
        .expect("run the child test");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "child test should fail:\n{stderr}"
    );
    assert!(
        stderr.contains("no PostgreSQL to test against"),
        "missing explanation:\n{stderr}"
    );
    assert!(stderr.contains("apt-get install postgresql"), "{stderr}");
    assert!(stderr.contains("MFB_TEST_DATABASE_URL="), "{stderr}");
    assert!(!stderr.contains("expected a panic"), "{stderr}");
}
