//! `mfb compile`'s files under `target/compiled/`, for projects larger than a fixture.

use std::process::Command;

mod common;
use common::{mfb, write};

/// `dbt_project.yml` and `profiles.yml` of a project named `name` in `p` (compiling needs
/// no server).
fn project(p: &std::path::Path, name: &str) {
    write(
        p,
        "dbt_project.yml",
        &format!("name: {name}\nversion: '1.0'\nconfig-version: 2\nprofile: {name}\n"),
    );
    write(
        p,
        "profiles.yml",
        &format!(
            "{name}:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: 127.0.0.1\n      port: 5432\n      user: mfb\n      password: mfb\n      dbname: mfb\n      schema: analytics\n      threads: 1\n"
        ),
    );
}

/// The compiled files are created relative to handles of their folders: a project with
/// more folders than the process may hold open files still compiles, every file written.
#[test]
fn compiles_more_folders_than_the_open_file_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    project(p, "many");
    // 120 model folders, each with a properties file holding a test: 240 folders under
    // target/compiled (a test's files go in a folder named after its YAML file).
    let folders = 120;
    for i in 0..folders {
        write(p, &format!("models/f{i}/m{i}.sql"), "select 1 as id");
        write(
            p,
            &format!("models/f{i}/schema.yml"),
            &format!(
                "version: 2\nmodels:\n  - name: m{i}\n    columns:\n      - name: id\n        data_tests: [not_null]\n"
            ),
        );
    }
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 64 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_mfb"))
        .args(["compile", "--threads", "4", "--project-dir"])
        .arg(p)
        .arg("--profiles-dir")
        .arg(p)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    let compiled = p.join("target/compiled/many/models");
    for i in 0..folders {
        let model = std::fs::read_to_string(compiled.join(format!("f{i}/m{i}.sql"))).unwrap();
        assert_eq!(model, "select 1 as id");
        let test = compiled.join(format!("f{i}/schema.yml/not_null_m{i}_id.sql"));
        let sql = std::fs::read_to_string(&test).unwrap();
        assert!(
            sql.contains(&format!("from \"mfb\".\"analytics\".\"m{i}\"")),
            "{sql}"
        );
    }
}

/// A second compile rewrites only the files whose SQL changed, in place: a shorter SQL
/// leaves nothing of the longer one behind, a longer one is whole, an unchanged file is
/// not touched, and a file mfb did not write is replaced.
#[test]
fn recompiling_rewrites_changed_files_exactly_and_leaves_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    project(p, "re");
    let long = "select 1 as id, 'a much longer line of text than the next version' as t";
    write(p, "models/shrinks.sql", long);
    write(p, "models/grows.sql", "select 1 as id");
    write(p, "models/same.sql", "select 2 as id");
    let compile = || {
        let (code, text) = mfb(p, &["compile"]);
        assert_eq!(code, 0, "{text}");
    };
    compile();
    let dir = p.join("target/compiled/re/models");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    assert_eq!(read("shrinks.sql"), long);
    let modified = |name: &str| {
        std::fs::metadata(dir.join(name))
            .unwrap()
            .modified()
            .unwrap()
    };
    let same_before = modified("same.sql");
    // A file of the same length but other bytes, as if edited by hand.
    std::fs::write(dir.join("grows.sql"), "select 9 as id").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));

    write(p, "models/shrinks.sql", "select 1 as id");
    write(p, "models/grows.sql", long);
    compile();
    assert_eq!(read("shrinks.sql"), "select 1 as id");
    assert_eq!(read("grows.sql"), long);
    assert_eq!(read("same.sql"), "select 2 as id");
    assert_eq!(
        modified("same.sql"),
        same_before,
        "an unchanged file was rewritten"
    );

    // Same length, different bytes: rewritten.
    std::fs::write(dir.join("same.sql"), "select 3 as id").unwrap();
    compile();
    assert_eq!(read("same.sql"), "select 2 as id");
}
