//! The static parser (`mfb_jinja::static_parse`) must not change what parsing finds: for
//! every fixture project and every compat project, `mfb parse` with it and without it
//! (`MFB_STATIC_PARSE=0`, every template rendered) exits the same, prints the same and
//! writes the same `manifest.json`.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::copy_dir;

/// `mfb parse` on a fresh copy of `project`: exit code, output and manifest, with times,
/// ids and the temporary path blanked.
fn parse(project: &Path, static_parse: bool) -> (i32, String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    copy_dir(project, &dir);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mfb"));
    cmd.arg("parse")
        .arg("--project-dir")
        .arg(&dir)
        .arg("--profiles-dir")
        .arg(&dir)
        .env("HOME", tmp.path())
        .env_remove("MFB_TEST_DATABASE_URL");
    if !static_parse {
        cmd.env("MFB_STATIC_PARSE", "0");
    }
    let out = cmd.output().expect("run mfb");
    let output = blank_times(
        &format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .replace(&dir.display().to_string(), "<dir>"),
    );
    let manifest = std::fs::read_to_string(dir.join("target/manifest.json"))
        .map(|m| {
            let mut json: serde_json::Value = serde_json::from_str(&m).unwrap();
            blank_ids(&mut json);
            serde_json::to_string_pretty(&json).unwrap()
        })
        .unwrap_or_default();
    (out.status.code().unwrap_or(-1), output, manifest)
}

/// Blanks the values that differ between two runs of the same project.
fn blank_ids(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if matches!(
                    k.as_str(),
                    "generated_at" | "invocation_id" | "invocation_started_at" | "created_at"
                ) {
                    *v = serde_json::Value::Null;
                } else {
                    blank_ids(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(blank_ids),
        _ => {}
    }
}

/// Blanks `hh:mm:ss` clock times and `(1.23s)` durations in the log.
fn blank_times(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let b = rest.as_bytes();
        let clock = b.len() >= 8
            && b[..8].iter().enumerate().all(|(i, c)| {
                if i == 2 || i == 5 {
                    *c == b':'
                } else {
                    c.is_ascii_digit()
                }
            });
        if clock {
            out.push_str("[TIME]");
            rest = &rest[8..];
            continue;
        }
        if c == '(' {
            let after = &rest[1..];
            let digits = after
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(after.len());
            if digits > 0 && after[digits..].starts_with("s)") {
                out.push_str("([T])");
                rest = &after[digits + 2..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn projects() -> Vec<PathBuf> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = Vec::new();
    for base in [
        manifest_dir.join("tests/fixtures"),
        manifest_dir.join("../../compat"),
        manifest_dir.join("../../examples"),
    ] {
        let Ok(entries) = std::fs::read_dir(&base) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.join("dbt_project.yml").is_file() {
                dirs.push(path);
            } else if path.is_dir() {
                // Folders of small projects (`bad_files_no_panic/*`).
                for sub in std::fs::read_dir(&path).unwrap() {
                    let sub = sub.unwrap().path();
                    if sub.join("dbt_project.yml").is_file() {
                        dirs.push(sub);
                    }
                }
            }
        }
    }
    dirs.sort();
    dirs
}

#[test]
fn static_parse_finds_what_rendering_finds() {
    let projects = projects();
    assert!(
        projects.len() > 40,
        "found only {} projects",
        projects.len()
    );
    let mut differing = Vec::new();
    for project in &projects {
        let rendered = parse(project, false);
        let statically = parse(project, true);
        if rendered != statically {
            differing.push(format!(
                "{}:\n--- rendered (exit {})\n{}\n--- static (exit {})\n{}",
                project.display(),
                rendered.0,
                rendered.1,
                statically.0,
                statically.1
            ));
        }
    }
    assert!(differing.is_empty(), "{}", differing.join("\n\n"));
}
