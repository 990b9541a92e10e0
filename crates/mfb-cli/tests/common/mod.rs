//! Helpers shared by the integration tests: run the real `mfb` binary on a project
//! directory, write project files, read one value from a test database.
// Each test binary uses its own subset.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use mfb_testkit::TestDb;

/// Runs `mfb ARGS --project-dir DIR --profiles-dir DIR`: (exit code, stdout + stderr).
pub fn mfb(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mfb"))
        .args(args)
        .arg("--project-dir")
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
    assert!(!text.contains("panicked"), "{text}");
    (out.status.code().unwrap_or(-1), text)
}

/// Copies the project folder `from` to `to`, without any `target/` folder in it (what an
/// earlier run may have left in a fixture).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &dest);
            }
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// Writes `text` to `dir/path`, creating folders.
pub fn write(dir: &Path, path: &str, text: &str) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// The first column of the first row of `sql` (as text).
pub fn one(db: &TestDb, sql: &str) -> String {
    db.query_text(sql)[0][0].clone().unwrap_or_default()
}
