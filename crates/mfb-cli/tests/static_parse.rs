//! Reading templates instead of rendering them (`mfb_jinja::static_parse` at parse time,
//! `mfb_exec::static_compile` at compile time) must not change anything: for every fixture,
//! compat and example project, `mfb parse` and `mfb compile` with it and without it
//! (`MFB_STATIC_PARSE=0`, every template rendered) exit the same, print the same and write
//! the same `manifest.json` and `target/compiled/`.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::copy_dir;

/// What one command did: exit code, output, manifest and compiled files, with times, ids
/// and the temporary path blanked.
#[derive(Debug, PartialEq)]
struct Outcome {
    exit: i32,
    output: String,
    manifest: String,
    compiled: Vec<(String, String)>,
}

/// `mfb <command>` on a fresh copy of `project`, and how many nodes were compiled from
/// their text.
fn invoke(project: &Path, command: &str, read_statically: bool) -> (Outcome, usize) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    copy_dir(project, &dir);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mfb"));
    cmd.arg(command)
        .arg("--project-dir")
        .arg(&dir)
        .arg("--profiles-dir")
        .arg(&dir)
        .env("HOME", tmp.path())
        .env("MFB_PHASE_TIMES", "1")
        .env_remove("MFB_TEST_DATABASE_URL");
    if !read_statically {
        cmd.env("MFB_STATIC_PARSE", "0");
    }
    let out = cmd.output().expect("run mfb");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut from_text = 0;
    let mut log = String::new();
    for line in stderr.lines() {
        if let Some(phase) = line.strip_prefix("phase ") {
            if let Some(n) = phase.split("render: nodes (").nth(1) {
                from_text += n
                    .split(' ')
                    .next()
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0);
            }
        } else {
            log.push_str(line);
            log.push('\n');
        }
    }
    let output = blank_times(
        &format!("{}{log}", String::from_utf8_lossy(&out.stdout))
            .replace(&dir.display().to_string(), "<dir>"),
    );
    let manifest = std::fs::read_to_string(dir.join("target/manifest.json"))
        .map(|m| {
            let mut json: serde_json::Value = serde_json::from_str(&m).unwrap();
            blank_ids(&mut json);
            serde_json::to_string_pretty(&json).unwrap()
        })
        .unwrap_or_default();
    let mut compiled = Vec::new();
    let root = dir.join("target/compiled");
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(&root).unwrap().display().to_string();
                compiled.push((name, std::fs::read_to_string(&path).unwrap_or_default()));
            }
        }
    }
    compiled.sort();
    let outcome = Outcome {
        exit: out.status.code().unwrap_or(-1),
        output,
        manifest,
        compiled,
    };
    (outcome, from_text)
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

/// Runs `command` on every project both ways; returns how many nodes were compiled from
/// their text.
fn same_both_ways(command: &str) -> usize {
    let projects = projects();
    assert!(
        projects.len() > 40,
        "found only {} projects",
        projects.len()
    );
    let mut differing = Vec::new();
    let mut from_text = 0;
    for project in &projects {
        let (rendered, _) = invoke(project, command, false);
        let (statically, n) = invoke(project, command, true);
        from_text += n;
        if rendered != statically {
            differing.push(format!(
                "{}:\n--- rendered (exit {})\n{}\n--- static (exit {})\n{}",
                project.display(),
                rendered.exit,
                rendered.output,
                statically.exit,
                statically.output
            ));
        }
    }
    assert!(differing.is_empty(), "{}", differing.join("\n\n"));
    from_text
}

#[test]
fn static_parse_finds_what_rendering_finds() {
    same_both_ways("parse");
}

#[test]
fn static_compile_outputs_what_rendering_outputs() {
    let from_text = same_both_ways("compile");
    assert!(
        from_text > 50,
        "only {from_text} nodes compiled from their text"
    );
}
