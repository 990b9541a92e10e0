//! What a project asks for: the `packages:` list of `packages.yml` or `dependencies.yml`,
//! each entry a [`PackageSpec`], and the `sha1_hash` that package-lock.yml records of that
//! list so a later `deps` knows whether the lock still matches. Resolving the specs is
//! `resolve.rs`'s job.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use mfb_diagnostics::{Diagnostic, Location};
use serde_json::Value;
use sha1::{Digest, Sha1};

/// One entry of `packages:`.
#[derive(Debug, Clone, PartialEq)]
pub enum PackageSpec {
    /// `local: path` (relative to the root project).
    Local { path: String },
    /// `git: url` with an optional `revision` and `subdirectory`.
    Git {
        url: String,
        revision: Option<String>,
        subdirectory: Option<String>,
        warn_unpinned: Option<bool>,
    },
    /// `package: org/name` from the package hub, with `version:` requirements.
    Hub {
        package: String,
        versions: Vec<String>,
        install_prerelease: bool,
    },
    /// `tarball: url` with its `name`.
    Tarball { url: String, name: String },
    /// `private: org/repo` (dbt Cloud's git integrations), with an optional `provider`,
    /// `revision` and `subdirectory`. dbt-core cannot fetch it; mfb can when told the URL
    /// (see `resolve::private_git_url`).
    Private {
        repo: String,
        provider: Option<String>,
        revision: Option<String>,
        subdirectory: Option<String>,
        warn_unpinned: Option<bool>,
    },
}

/// A spec as written, with where it came from.
#[derive(Debug, Clone)]
pub struct SpecEntry {
    pub spec: PackageSpec,
    /// `name:` given next to the source, if any.
    pub name: Option<String>,
    /// The entry after rendering (`env_var()`), as JSON.
    pub rendered: Value,
    /// The entry as written, as JSON (dbt hashes both).
    pub unrendered: Value,
}

impl PackageSpec {
    /// How this source is shown in messages: `../pkg`, `https://…/repo.git`, `org/name`.
    pub fn source(&self) -> String {
        match self {
            PackageSpec::Local { path } => path.clone(),
            PackageSpec::Git {
                url, subdirectory, ..
            } => match subdirectory {
                Some(s) => format!("{url}/{s}"),
                None => url.clone(),
            },
            PackageSpec::Hub { package, .. } => package.clone(),
            PackageSpec::Tarball { url, .. } => url.clone(),
            PackageSpec::Private {
                repo, subdirectory, ..
            } => match subdirectory {
                Some(s) => format!("{repo}/{s}"),
                None => repo.clone(),
            },
        }
    }
}

/// The packages file of a project directory: `packages.yml`, else `dependencies.yml`.
/// Both listing packages is an error, as in dbt.
pub fn packages_file(dir: &Path) -> Result<Option<PathBuf>, Diagnostic> {
    let listed = |name: &str| -> Option<PathBuf> {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).ok()?;
        let v: Value = serde_yaml::from_str(&text).ok()?;
        v.get("packages").is_some().then_some(path)
    };
    match (listed("packages.yml"), listed("dependencies.yml")) {
        (Some(_), Some(_)) => Err(Diagnostic::error(
            "deps-two-packages-files",
            "both packages.yml and dependencies.yml list packages",
        )
        .at(Location::file(dir.join("dependencies.yml")))
        .with_help("keep the `packages:` list in one of the two files")),
        (Some(p), None) | (None, Some(p)) => Ok(Some(p)),
        (None, None) => {
            let p = dir.join("packages.yml");
            Ok(p.is_file().then_some(p))
        }
    }
}

/// Reads the `packages:` list of `file`, rendering strings with `render` (`env_var()`).
/// `shown` is how the file is named in messages.
pub fn read_specs(
    file: &Path,
    shown: &str,
    render: &dyn Fn(&str) -> Result<String, String>,
) -> Result<Vec<SpecEntry>, Vec<Diagnostic>> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        vec![
            Diagnostic::error("deps-read-failed", format!("cannot read {shown}: {e}"))
                .at(Location::file(shown)),
        ]
    })?;
    let doc: Value = serde_yaml::from_str(&text).map_err(|e| {
        let at = e
            .location()
            .map(|l| Location::new(shown, l.line() as u32, l.column() as u32))
            .unwrap_or_else(|| Location::file(shown));
        vec![
            Diagnostic::error("yaml-syntax", format!("invalid YAML in {shown}: {e}"))
                .at(at)
                .with_help("fix the YAML syntax"),
        ]
    })?;
    let list = match doc.get("packages") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list.clone(),
        Some(_) => {
            return Err(vec![
                Diagnostic::error("deps-spec-invalid", format!("`packages:` in {shown} is not a list"))
                    .at(Location::file(shown))
                    .with_help("write `packages:` followed by `- local: ...`, `- git: ...` or `- package: ...` entries"),
            ]);
        }
    };
    let mut errors = Vec::new();
    let mut specs = Vec::new();
    for (i, raw) in list.iter().enumerate() {
        let at = Location::new(shown, entry_line(&text, i), 0);
        let rendered = match render_value(raw, render) {
            Ok(v) => v,
            Err(e) => {
                errors.push(
                    Diagnostic::error(
                        "deps-spec-render",
                        format!("entry {} of {shown}: {e}", i + 1),
                    )
                    .at(at)
                    .with_help("only env_var() and --vars can be used in a packages file"),
                );
                continue;
            }
        };
        match spec_from(&rendered) {
            Ok(spec) => specs.push(SpecEntry {
                spec,
                name: rendered.get("name").and_then(Value::as_str).map(str::to_owned),
                rendered,
                unrendered: raw.clone(),
            }),
            Err(msg) => errors.push(
                Diagnostic::error("deps-spec-invalid", format!("entry {} of {shown}: {msg}", i + 1))
                    .at(at)
                    .with_help("each entry needs one of `local:`, `git:`, `package:` (with `version:`), `tarball:` (with `name:`) or `private:`"),
            ),
        }
    }
    if errors.is_empty() {
        Ok(specs)
    } else {
        Err(errors)
    }
}

/// The line of the `i`th `- ` item under `packages:` (1-based; 0 if not found).
fn entry_line(text: &str, i: usize) -> u32 {
    let mut seen = 0;
    let mut in_packages = false;
    let mut indent = None;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if line.starts_with("packages:") {
            in_packages = true;
            continue;
        }
        if !in_packages || trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let this = line.len() - trimmed.len();
        if this == 0 && !trimmed.starts_with('-') {
            break;
        }
        if (trimmed.starts_with("- ") || trimmed == "-") && *indent.get_or_insert(this) == this {
            if seen == i {
                return n as u32 + 1;
            }
            seen += 1;
        }
    }
    0
}

fn render_value(
    v: &Value,
    render: &dyn Fn(&str) -> Result<String, String>,
) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) if s.contains("{{") || s.contains("{%") => Value::String(render(s)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| render_value(i, render))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_value(v, render)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// An entry given as data (a hub package's dependency list) rather than read from a file.
pub(crate) fn entry_from_value(v: &Value) -> Result<SpecEntry, String> {
    Ok(SpecEntry {
        spec: spec_from(v)?,
        name: v.get("name").and_then(Value::as_str).map(str::to_owned),
        rendered: v.clone(),
        unrendered: v.clone(),
    })
}

/// A YAML scalar as dbt reads a version or revision (`1.0` stays `1.0`).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn spec_from(v: &Value) -> Result<PackageSpec, String> {
    let Some(map) = v.as_object() else {
        return Err("is not a mapping".into());
    };
    let text = |k: &str| map.get(k).and_then(scalar_text).filter(|s| !s.is_empty());
    if map.contains_key("local") {
        let path = text("local").ok_or("`local:` is empty")?;
        return Ok(PackageSpec::Local { path });
    }
    if map.contains_key("git") {
        let url = text("git").ok_or("`git:` is empty")?;
        return Ok(PackageSpec::Git {
            url,
            revision: text("revision"),
            subdirectory: text("subdirectory"),
            warn_unpinned: map.get("warn-unpinned").and_then(Value::as_bool),
        });
    }
    if map.contains_key("package") {
        let package = text("package").ok_or("`package:` is empty")?;
        if !package.contains('/') {
            return Err(format!(
                "`package: {package}` must name the hub package as `org/name`, e.g. `dbt-labs/dbt_utils`"
            ));
        }
        let versions = match map.get("version") {
            Some(Value::Array(list)) => list.iter().filter_map(scalar_text).collect(),
            Some(v) => scalar_text(v).into_iter().collect(),
            None => Vec::new(),
        };
        if versions.is_empty() {
            return Err(format!("`package: {package}` has no `version:`"));
        }
        if let Some(bad) = versions
            .iter()
            .find(|s| super::semver::Requirement::parse(s).is_none())
        {
            return Err(format!(
                "`{bad}` is not a version requirement (write `1.1.0`, or a list such as [\">=1.0.0\", \"<2.0.0\"])"
            ));
        }
        return Ok(PackageSpec::Hub {
            package,
            versions,
            install_prerelease: map
                .get("install_prerelease")
                .or_else(|| map.get("install-prerelease"))
                .and_then(Value::as_bool)
                .unwrap_or(false),
        });
    }
    if map.contains_key("tarball") {
        let url = text("tarball").ok_or("`tarball:` is empty")?;
        let name = text("name").ok_or("a `tarball:` package needs a `name:`")?;
        return Ok(PackageSpec::Tarball { url, name });
    }
    if map.contains_key("private") {
        let repo = text("private").ok_or("`private:` is empty")?;
        return Ok(PackageSpec::Private {
            repo,
            provider: text("provider"),
            revision: text("revision"),
            subdirectory: text("subdirectory"),
            warn_unpinned: map.get("warn-unpinned").and_then(Value::as_bool),
        });
    }
    Err("names no package source".into())
}

/// The `sha1_hash` dbt writes into package-lock.yml for a `packages:` list: each entry's
/// fields (every field of its kind, unset ones as null, `name` only when given) plus
/// `unrendered`, as JSON with sorted keys; the lines sorted and joined by newlines.
pub fn sha1_hash(specs: &[SpecEntry]) -> String {
    let mut lines: Vec<String> = specs.iter().map(|s| hash_json(&hash_fields(s))).collect();
    lines.sort();
    let digest = Sha1::digest(lines.join("\n").as_bytes());
    digest.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The `sha1_hash` dbt writes right after `deps --add-package`: it rebuilds the list from
/// the file as written, without the unrendered copy the hash otherwise holds, so the next
/// plain `deps` finds the hash changed and resolves again. mfb writes the same hash.
pub fn sha1_hash_as_added(specs: &[SpecEntry]) -> String {
    let as_added: Vec<SpecEntry> = specs
        .iter()
        .map(|s| SpecEntry {
            rendered: s.unrendered.clone(),
            unrendered: Value::Object(serde_json::Map::new()),
            ..s.clone()
        })
        .collect();
    sha1_hash(&as_added)
}

fn hash_fields(s: &SpecEntry) -> Value {
    let r = &s.rendered;
    let field = |k: &str| r.get(k).cloned().unwrap_or(Value::Null);
    let mut m = serde_json::Map::new();
    match &s.spec {
        PackageSpec::Local { .. } => {
            m.insert("local".into(), field("local"));
        }
        PackageSpec::Git { .. } => {
            m.insert("git".into(), field("git"));
            m.insert("revision".into(), field("revision"));
            m.insert("subdirectory".into(), field("subdirectory"));
            m.insert("warn-unpinned".into(), field("warn-unpinned"));
        }
        PackageSpec::Hub {
            install_prerelease, ..
        } => {
            m.insert("package".into(), field("package"));
            m.insert("version".into(), field("version"));
            m.insert(
                "install_prerelease".into(),
                Value::Bool(*install_prerelease),
            );
        }
        PackageSpec::Tarball { .. } => {
            m.insert("tarball".into(), field("tarball"));
        }
        PackageSpec::Private { .. } => {
            m.insert("private".into(), field("private"));
            m.insert("provider".into(), field("provider"));
            m.insert("revision".into(), field("revision"));
            m.insert("subdirectory".into(), field("subdirectory"));
            m.insert("warn-unpinned".into(), field("warn-unpinned"));
        }
    }
    if let Some(name) = r.get("name").filter(|v| !v.is_null()) {
        m.insert("name".into(), name.clone());
    }
    m.insert("unrendered".into(), s.unrendered.clone());
    Value::Object(m)
}

/// JSON the way Python's `json.dumps(..., sort_keys=True)` writes it: `", "` and `": "`
/// separators, non-ASCII escaped, so the hash matches dbt's.
fn hash_json(v: &Value) -> String {
    let mut out = String::new();
    write_json(v, &mut out);
    out
}

fn write_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json_string(k, out);
                out.push_str(": ");
                write_json(&map[*k], out);
            }
            out.push('}');
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(yaml: &str) -> Vec<SpecEntry> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("packages.yml");
        std::fs::write(&file, yaml).unwrap();
        read_specs(&file, "packages.yml", &|s| Ok(s.to_owned())).unwrap()
    }

    // The hashes below are what dbt-core 1.10.9 wrote into package-lock.yml for these files.
    #[test]
    fn hash_matches_dbt_for_local_packages() {
        let s = specs("packages:\n  - local: ../localpkg\n");
        assert_eq!(sha1_hash(&s), "471e45622fb6822ecb160a7e61e2557a10fb4597");
    }

    #[test]
    fn hash_matches_dbt_for_git_packages() {
        let s = specs(
            "packages:\n  - local: ../localpkg\n  - git: \"file:///tmp/depsx/gitrepo.git\"\n    revision: v1.0\n    subdirectory: sub\n",
        );
        assert_eq!(sha1_hash(&s), "64ef8f032dc02203d51b90d4c7eeb0270a725962");
        let s =
            specs("packages:\n  - git: \"file:///tmp/depsx/gitrepo.git\"\n    subdirectory: sub\n");
        assert_eq!(sha1_hash(&s), "9dd9ecb985d522cb1feac3c599459d9a5dc9edb5");
    }

    #[test]
    fn hash_matches_dbt_for_hub_packages() {
        let s = specs(
            "packages:\n  - package: fixture/utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n",
        );
        assert_eq!(sha1_hash(&s), "853f16271a3290220cdb77c368aabd460d98776c");
    }

    // dbt-core 1.10.9 cannot lock `private:` packages (it stops before writing the lock);
    // these are the hashes its own `_create_sha1_hash` gives for the same files.
    #[test]
    fn hash_matches_dbt_for_private_packages() {
        let s = specs(
            "packages:\n  - private: org/repo\n    revision: v1.0\n    subdirectory: sub\n    provider: github\n",
        );
        assert_eq!(sha1_hash(&s), "187589f2ec9c7cebaf4b65e51b660142e48b1aa9");
        assert_eq!(
            s[0].spec,
            PackageSpec::Private {
                repo: "org/repo".into(),
                provider: Some("github".into()),
                revision: Some("v1.0".into()),
                subdirectory: Some("sub".into()),
                warn_unpinned: None,
            }
        );
        let s = specs("packages:\n  - private: org/repo\n");
        assert_eq!(sha1_hash(&s), "a90b94ecc462239df60a1e40587b6a0773ecd3f8");
    }

    // What dbt-core 1.10.9 wrote into package-lock.yml right after `dbt deps --add-package`.
    #[test]
    fn hash_after_add_package_matches_dbt() {
        let s = specs("packages:\n  - local: ../pkgs/a\n");
        assert_eq!(
            sha1_hash_as_added(&s),
            "9124fabb62b517d185db0ec69dc351d162bf367c"
        );
        assert_eq!(sha1_hash(&s), "86c0fc602330867cb78e030aceca2a0c3e309855");
        let s = specs(
            "packages:\n  - local: ../pkgs/a\n  - git: file:///tmp/dbtx/repo.git\n    revision: v1.0\n",
        );
        assert_eq!(
            sha1_hash_as_added(&s),
            "57d1398b3504ae3ed7fb8ca1a0e82fc89f4635db"
        );
    }

    #[test]
    fn reads_hub_specs_and_rejects_bad_ones() {
        let s = specs(
            "packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n",
        );
        assert_eq!(
            s[0].spec,
            PackageSpec::Hub {
                package: "dbt-labs/dbt_utils".into(),
                versions: vec![">=1.0.0".into(), "<2.0.0".into()],
                install_prerelease: false
            }
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("packages.yml");
        std::fs::write(
            &file,
            "packages:\n  - package: dbt_utils\n    version: 1.0.0\n  - foo: bar\n",
        )
        .unwrap();
        let errs = read_specs(&file, "packages.yml", &|s| Ok(s.to_owned())).unwrap_err();
        assert_eq!(errs.len(), 2);
        assert!(errs[0].message.contains("org/name"), "{}", errs[0].message);
        assert_eq!(errs[1].location.as_ref().unwrap().line, 4);
    }

    #[test]
    fn python_style_json() {
        let v: Value = serde_json::json!({"b": [1, "é"], "a": null});
        assert_eq!(hash_json(&v), r#"{"a": null, "b": [1, "\u00e9"]}"#);
    }
}
