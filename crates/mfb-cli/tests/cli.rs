//! End-to-end tests of the `mfb` binary on fixture projects.
//!
//! Each folder under `tests/fixtures/` is one behaviour: a dbt project (with its own
//! `profiles.yml`) plus a `commands.txt` script. The script is run against a fresh copy of
//! the folder in a temp directory, and everything a user would see is snapshotted in one
//! `.snap` per fixture: each command's exit code, stdout, stderr, and the SQL that
//! `compile` wrote under `target/compiled/`. A new case is a new folder.
//!
//! Script lines (blank lines and `# comments` are skipped):
//!
//! - `mfb ARGS...` runs the binary in the project directory; `NAME=value mfb ...` sets
//!   environment variables for that one run. Words are split like a shell would, with
//!   single and double quotes.
//! - `@files` lists every file of the project (to show what `clean` removed).
//! - `@manifest-keys` prints the sorted key sets of `target/manifest.json`: the top level,
//!   and per resource type the keys of its nodes, their `config` and their `depends_on`.
//! - `@copy FROM TO`, `@append FILE TEXT`, `@remove FILE` change the project between runs
//!   (for `state:modified`).
//! - `@cat FILE` prints a file.
//!
//! Compiled SQL of every fixture here was checked against dbt-core 1.10 on the same
//! project before its snapshot was accepted; where mfb differed, the case went to the bug
//! log instead of into a snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::copy_dir;

/// Splits a script line into words, honouring single and double quotes.
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            None => {
                word.push(c);
                in_word = true;
            }
        }
    }
    assert!(quote.is_none(), "unclosed quote in script line: {line}");
    if in_word {
        words.push(word);
    }
    words
}

/// Every file below `dir`, as sorted paths relative to `dir` with `/` separators.
fn list_files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).unwrap();
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn keys_of(value: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

/// The key sets of a manifest: top level, and the union of keys per resource type.
fn manifest_keys(path: &Path) -> String {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = format!("top: {}\n", keys_of(&manifest).join(", "));
    let metadata = &manifest["metadata"];
    writeln!(out, "metadata: {}", keys_of(metadata).join(", ")).unwrap();
    let mut per_type: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for section in ["nodes", "sources", "exposures", "macros"] {
        let Some(entries) = manifest[section].as_object() else {
            continue;
        };
        for node in entries.values() {
            let rt = node["resource_type"].as_str().unwrap_or("?").to_owned();
            // Macros come by the hundred from the built-in package: one row is enough.
            per_type
                .entry(format!("{section}.{rt}"))
                .or_default()
                .extend(keys_of(node));
            for inner in ["config", "depends_on"] {
                if node[inner].is_object() {
                    per_type
                        .entry(format!("{section}.{rt}.{inner}"))
                        .or_default()
                        .extend(keys_of(&node[inner]));
                }
            }
        }
    }
    for (kind, keys) in per_type {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        writeln!(out, "{kind}: {}", keys.join(", ")).unwrap();
    }
    out
}

/// Runs one fixture's script and returns the transcript.
fn run_fixture(fixture: &Path) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let project = tmp.path().join("project");
    copy_dir(fixture, &project);
    let script = std::fs::read_to_string(project.join("commands.txt")).unwrap();

    let mut transcript = String::new();
    for line in script.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        writeln!(transcript, "$ {line}").unwrap();
        let words = split_words(line);
        match words[0].as_str() {
            "@files" => {
                for f in list_files(&project) {
                    writeln!(transcript, "{f}").unwrap();
                }
            }
            "@manifest-keys" => {
                transcript.push_str(&manifest_keys(&project.join("target/manifest.json")));
            }
            "@copy" => {
                let from = project.join(&words[1]);
                let to = project.join(&words[2]);
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::copy(from, to).unwrap();
            }
            "@append" => {
                let path = project.join(&words[1]);
                let mut text = std::fs::read_to_string(&path).unwrap();
                text.push_str(&words[2]);
                text.push('\n');
                std::fs::write(path, text).unwrap();
            }
            "@remove" => std::fs::remove_file(project.join(&words[1])).unwrap(),
            "@cat" => {
                let text = std::fs::read_to_string(project.join(&words[1])).unwrap();
                transcript.push_str(&text);
                if !text.ends_with('\n') {
                    transcript.push('\n');
                }
            }
            _ => run_mfb(&project, &home, &words, &mut transcript),
        }
        transcript.push('\n');
    }
    let tmp_path = tmp.path().to_string_lossy().into_owned();
    transcript.replace(&tmp_path, "[TMP]")
}

fn run_mfb(project: &Path, home: &Path, words: &[String], transcript: &mut String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mfb"));
    cmd.current_dir(project)
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("TZ", "UTC");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("DBT_") {
            cmd.env_remove(key);
        }
    }
    let mut args = words.iter();
    for word in args.by_ref() {
        if word == "mfb" {
            break;
        }
        let (key, value) = word
            .split_once('=')
            .unwrap_or_else(|| panic!("expected NAME=value or `mfb`, got `{word}`"));
        cmd.env(key, value);
    }
    let args: Vec<&String> = args.collect();
    let compiling = args.iter().any(|a| *a == "compile");
    let flag = |name: &str| {
        args.iter()
            .position(|a| *a == name)
            .map(|i| args[i + 1].as_str())
    };
    let root = project.join(flag("--project-dir").unwrap_or("."));
    let target_dir = root.join(flag("--target-path").unwrap_or("target"));
    let compiled_dir = target_dir.join("compiled");
    if compiling && compiled_dir.exists() {
        std::fs::remove_dir_all(&compiled_dir).unwrap();
    }
    let output = cmd.args(&args).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("panicked"),
        "mfb panicked on `{}`:\n{stderr}",
        words.join(" ")
    );
    let code = output
        .status
        .code()
        .map_or_else(|| "killed by a signal".to_owned(), |c| c.to_string());
    writeln!(transcript, "exit: {code}").unwrap();
    if !stdout.is_empty() {
        writeln!(transcript, "--- stdout\n{}", stdout.trim_end()).unwrap();
    }
    if !stderr.is_empty() {
        writeln!(transcript, "--- stderr\n{}", stderr.trim_end()).unwrap();
    }
    if compiling {
        for file in list_files(&compiled_dir) {
            let sql = std::fs::read_to_string(compiled_dir.join(&file)).unwrap();
            writeln!(transcript, "--- compiled/{file}\n{}", sql.trim_end()).unwrap();
        }
    }
}

fn fixture_dir(script: &Path) -> PathBuf {
    script.parent().unwrap().to_path_buf()
}

#[test]
fn fixtures() {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\b\d{2}:\d{2}:\d{2}\b", "[TIME]");
    settings.add_filter(r"\(\d+\.\d+s\)", "([TIME])");
    settings.add_filter(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?",
        "[TIMESTAMP]",
    );
    // The built-in macro count grows with the built-in package; it is not under test here.
    settings.add_filter(r"\b\d+ macros\b", "[N] macros");
    settings.add_filter(r#""pid":\d+"#, r#""pid":[PID]"#);
    settings.add_filter(
        r#""invocation_id":"[0-9a-f-]*""#,
        r#""invocation_id":"[ID]""#,
    );
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("fixtures/*/commands.txt", |script| {
            let transcript = run_fixture(&fixture_dir(script));
            insta::assert_snapshot!(transcript);
        });
    });
}

#[test]
fn split_words_honours_quotes() {
    assert_eq!(
        split_words(r#"A=1 mfb compile --vars '{x: "a b"}' -s "tag:x y""#),
        vec![
            "A=1",
            "mfb",
            "compile",
            "--vars",
            r#"{x: "a b"}"#,
            "-s",
            "tag:x y"
        ]
    );
}
