//! `mfb debug` against a real throwaway PostgreSQL: OK when the profile reaches it, a
//! located, actionable error (exit 1) when it does not.

use std::process::Command;

use mfb_testkit::TestDb;

fn project(dir: &std::path::Path) {
    std::fs::write(dir.join("dbt_project.yml"), "name: dbg\nprofile: dbg\n").unwrap();
    std::fs::create_dir_all(dir.join("models")).unwrap();
    std::fs::write(dir.join("models/m.sql"), "select 1 as id\n").unwrap();
}

fn mfb_debug(dir: &std::path::Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mfb"))
        .args(["debug", "--project-dir"])
        .arg(dir)
        .arg("--profiles-dir")
        .arg(dir)
        .output()
        .expect("run mfb");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn debug_reports_a_working_connection() {
    let db = TestDb::create("mfb_debug_ok");
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    db.write_profiles_yml(dir.path(), "dbg", "analytics")
        .unwrap();
    let (code, text) = mfb_debug(dir.path());
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("connection test: [OK] PostgreSQL"), "{text}");
}

#[test]
fn debug_names_the_missing_database_and_the_fix() {
    let db = TestDb::create("mfb_debug_missing");
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let profile = db
        .profiles_yml("dbg", "analytics")
        .replace(&db.dbname, "no_such_database_here");
    assert!(
        profile.contains("no_such_database_here"),
        "profile layout changed: {profile}"
    );
    std::fs::write(dir.path().join("profiles.yml"), profile).unwrap();
    let (code, text) = mfb_debug(dir.path());
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("connection test: [ERROR]"), "{text}");
    assert!(text.contains("no_such_database_here"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}
