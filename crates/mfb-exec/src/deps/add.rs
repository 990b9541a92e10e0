//! `deps --add-package NAME@VERSION [--source hub|git|local]`: put one entry into the
//! packages file before `deps` runs, the way dbt-core 1.10 does it.
//!
//! - The file is the one `deps` reads: `dependencies.yml` when that lists the packages,
//!   else `packages.yml` (created, with `Created packages.yml`, when missing).
//! - Every entry with a value containing NAME (`dbt-labs/dbt_utils` also matches a git URL
//!   holding it, or a version list holding it) is removed, each with dbt's `Found duplicate
//!   package in packages.yml, removing: {...}` line, and the new entry is appended at the end.
//! - The file is rewritten in dbt's layout (`yaml_out`): keys sorted, comments dropped,
//!   other top-level keys kept.
//! - The new entry is `package:` + `version:` (a list when VERSION holds commas) for the hub,
//!   `git:` + `revision:` for git, `local:` for a path. The hub and git need a VERSION.

use std::path::Path;

use mfb_diagnostics::{Diagnostic, Location};
use serde_json::Value;

use super::spec;

/// Where `--add-package` takes the package from (`--source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddSource {
    /// `package: org/name` from the package hub.
    #[default]
    Hub,
    /// `git: URL` with `revision:`.
    Git,
    /// `local: path`.
    Local,
}

impl AddSource {
    fn word(self) -> &'static str {
        match self {
            AddSource::Hub => "hub",
            AddSource::Git => "git",
            AddSource::Local => "local",
        }
    }
}

/// A package to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddPackage {
    /// `org/name`, the git URL, or the path.
    pub name: String,
    /// The version (hub) or revision (git).
    pub version: Option<String>,
    pub source: AddSource,
}

impl AddPackage {
    /// Reads `NAME@VERSION` (or `NAME`) as dbt does: split at the `@`. With more than one
    /// `@` (an ssh git URL such as `git@github.com:org/repo.git@v1.0`) dbt takes the whole
    /// text as the name and then asks for a version; mfb splits at the last `@` instead.
    pub fn parse(text: &str, source: AddSource) -> Result<AddPackage, Diagnostic> {
        let (name, version) = match text.rsplit_once('@') {
            Some((name, version)) => (name.to_owned(), Some(version.to_owned())),
            None => (text.to_owned(), None),
        };
        let version = version.filter(|v| !v.is_empty());
        if version.is_none() && source != AddSource::Local {
            return Err(Diagnostic::error(
                "deps-add-package",
                format!(
                    "Version is required in --add-package when a package when source is {}",
                    source.word()
                ),
            )
            .with_help(match source {
                AddSource::Git => "write the revision after an `@`: --add-package https://github.com/org/repo.git@v1.2.0 --source git",
                _ => "write the version after an `@`: --add-package dbt-labs/dbt_utils@1.3.0 (a range: @\">=1.0.0,<2.0.0\")",
            }));
        }
        if version.is_some() && source == AddSource::Local {
            return Err(Diagnostic::error(
                "deps-add-package",
                format!("a local package has no version: `{text}`"),
            )
            .with_help("give only the path: --add-package ../my_package --source local"));
        }
        if name.is_empty() {
            return Err(
                Diagnostic::error("deps-add-package", "--add-package names no package").with_help(
                    "write it as NAME@VERSION, e.g. --add-package dbt-labs/dbt_utils@1.3.0",
                ),
            );
        }
        Ok(AddPackage {
            name,
            version,
            source,
        })
    }

    /// The entry to write.
    fn entry(&self) -> Value {
        let mut m = serde_json::Map::new();
        match self.source {
            AddSource::Hub => {
                m.insert("package".into(), self.name.clone().into());
                if let Some(v) = &self.version {
                    let version = if v.contains(',') {
                        Value::Array(v.split(',').map(|p| Value::from(p.to_owned())).collect())
                    } else {
                        v.clone().into()
                    };
                    m.insert("version".into(), version);
                }
            }
            AddSource::Git => {
                m.insert("git".into(), self.name.clone().into());
                if let Some(v) = &self.version {
                    m.insert("revision".into(), v.clone().into());
                }
            }
            AddSource::Local => {
                m.insert("local".into(), self.name.clone().into());
            }
        }
        Value::Object(m)
    }

    /// Whether `entry` is one dbt replaces: one of its values contains the name.
    fn replaces(&self, entry: &Value) -> bool {
        entry.as_object().is_some_and(|m| {
            m.values().any(|v| match v {
                Value::String(s) => s.contains(&self.name),
                Value::Array(items) => items.iter().any(|i| i.as_str() == Some(&self.name)),
                _ => false,
            })
        })
    }
}

/// Adds `add` to the project's packages file; progress lines as dbt prints them.
pub fn add_package(
    root: &Path,
    add: &AddPackage,
    progress: &dyn Fn(&'static str, &str),
) -> Result<(), Vec<Diagnostic>> {
    let file = spec::packages_file(root)
        .map_err(|d| vec![d])?
        .unwrap_or_else(|| root.join("packages.yml"));
    let shown = file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut doc = if file.is_file() {
        let text = std::fs::read_to_string(&file).map_err(|e| {
            vec![Diagnostic::error(
                "deps-read-failed",
                format!("cannot read {shown}: {e}"),
            )]
        })?;
        match serde_yaml::from_str::<Value>(&text) {
            Ok(Value::Object(m)) => m,
            Ok(Value::Null) => serde_json::Map::new(),
            Ok(_) => {
                return Err(vec![
                    Diagnostic::error(
                        "deps-spec-invalid",
                        format!("{shown} is not a mapping with a `packages:` list"),
                    )
                    .at(Location::file(&shown))
                    .with_help("write `packages:` followed by the package entries"),
                ]);
            }
            Err(e) => {
                return Err(vec![
                    Diagnostic::error("yaml-syntax", format!("invalid YAML in {shown}: {e}"))
                        .at(Location::file(&shown))
                        .with_help("fix the YAML syntax, then run `mfb deps --add-package` again"),
                ]);
            }
        }
    } else {
        progress("Formatting", "Created packages.yml");
        serde_json::Map::new()
    };
    let mut list = match doc.remove("packages") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(vec![
                Diagnostic::error(
                    "deps-spec-invalid",
                    format!("`packages:` in {shown} is not a list"),
                )
                .at(Location::file(&shown))
                .with_help("write `packages:` followed by `- package: ...` entries"),
            ]);
        }
    };
    let entry = add.entry();
    if let Err(msg) = spec::entry_from_value(&entry) {
        return Err(vec![
            Diagnostic::error(
                "deps-add-package",
                format!("cannot add `{}`: {msg}", add.name),
            )
            .with_help("check the name and --source (hub packages are `org/name`)"),
        ]);
    }
    list.retain(|e| {
        let dup = add.replaces(e);
        if dup {
            progress(
                "DepsFoundDuplicatePackage",
                &format!(
                    "Found duplicate package in packages.yml, removing: {}",
                    python_repr(e)
                ),
            );
        }
        !dup
    });
    list.push(entry);
    doc.insert("packages".into(), Value::Array(list));
    std::fs::write(&file, super::yaml_out::dump(&Value::Object(doc))).map_err(|e| {
        vec![
            Diagnostic::error(
                "deps-write-failed",
                format!("cannot write {}: {e}", file.display()),
            )
            .with_help("check that the project directory is writable"),
        ]
    })?;
    progress(
        "DepsAddPackage",
        &format!(
            "Added new package {}@{} to {}",
            add.name,
            add.version.as_deref().unwrap_or(""),
            file.display()
        ),
    );
    Ok(())
}

/// A value as Python prints it (`{'local': '../a', 'flag': True}`): dbt's messages show
/// entries that way.
fn python_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => python_str(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", python_str(k), python_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn python_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_and_version_like_dbt() {
        let p = AddPackage::parse("dbt-labs/dbt_utils@1.3.0", AddSource::Hub).unwrap();
        assert_eq!(p.name, "dbt-labs/dbt_utils");
        assert_eq!(p.version.as_deref(), Some("1.3.0"));
        assert_eq!(
            p.entry(),
            serde_json::json!({"package": "dbt-labs/dbt_utils", "version": "1.3.0"})
        );
        let p = AddPackage::parse("a/b@>=1.0.0,<2.0.0", AddSource::Hub).unwrap();
        assert_eq!(
            p.entry(),
            serde_json::json!({"package": "a/b", "version": [">=1.0.0", "<2.0.0"]})
        );
        let e = AddPackage::parse("dbt-labs/dbt_utils", AddSource::Hub).unwrap_err();
        assert_eq!(
            e.message,
            "Version is required in --add-package when a package when source is hub"
        );
        let e = AddPackage::parse("https://x/r.git", AddSource::Git).unwrap_err();
        assert!(e.message.ends_with("source is git"), "{}", e.message);
        let p = AddPackage::parse("git@github.com:org/repo.git@v1.0", AddSource::Git).unwrap();
        assert_eq!(
            p.entry(),
            serde_json::json!({"git": "git@github.com:org/repo.git", "revision": "v1.0"})
        );
        let p = AddPackage::parse("../pkg", AddSource::Local).unwrap();
        assert_eq!(p.entry(), serde_json::json!({"local": "../pkg"}));
        assert!(AddPackage::parse("../pkg@1.0", AddSource::Local).is_err());
    }

    #[test]
    fn duplicates_are_what_dbt_matches() {
        let p = AddPackage::parse("dbt-labs/dbt_utils@1.3.0", AddSource::Hub).unwrap();
        assert!(p.replaces(&serde_json::json!({"package": "dbt-labs/dbt_utils", "version": 1.0})));
        assert!(
            p.replaces(&serde_json::json!({"git": "https://github.com/dbt-labs/dbt_utils.git"}))
        );
        assert!(!p.replaces(&serde_json::json!({"package": "dbt-labs/codegen", "version": "1"})));
    }

    #[test]
    fn python_repr_of_entries() {
        let v = serde_json::json!({"package": "a/b", "version": [">=1.0", "<2"], "install_prerelease": true, "x": null, "n": 1.0, "q": "it's"});
        assert_eq!(
            python_repr(&v),
            r#"{'package': 'a/b', 'version': ['>=1.0', '<2'], 'install_prerelease': True, 'x': None, 'n': 1.0, 'q': "it's"}"#
        );
    }
}
