//! `package-lock.yml`: every package of the tree, pinned (a git commit, a hub version), and
//! the `sha1_hash` of the `packages:` list it was resolved from. Written in dbt's layout
//! (keys sorted, list items indented) so dbt and mfb can share one lock file.

use std::path::Path;

use mfb_diagnostics::{Diagnostic, Location};
use serde_json::Value;

/// Where a locked package comes from, pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockedSource {
    Local {
        path: String,
    },
    Git {
        url: String,
        /// The resolved commit.
        revision: String,
        subdirectory: Option<String>,
    },
    Hub {
        package: String,
        version: String,
    },
    Tarball {
        url: String,
    },
    /// A `private: org/repo` package (see `resolve::private_git_url`): the URL is not
    /// locked, only the commit, so the lock holds no credentials.
    Private {
        repo: String,
        provider: Option<String>,
        /// The resolved commit.
        revision: String,
        subdirectory: Option<String>,
    },
}

/// One package of the lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPackage {
    /// The package's project name: its directory under `dbt_packages/`.
    pub name: String,
    pub source: LockedSource,
}

/// The whole lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub packages: Vec<LockedPackage>,
    pub sha1_hash: Option<String>,
}

/// Reads `package-lock.yml`; `Ok(None)` when there is none.
pub fn read_lock(path: &Path) -> Result<Option<Lock>, Diagnostic> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(None);
    };
    let bad = |msg: String| {
        Diagnostic::error("deps-lock-invalid", msg)
            .at(Location::file("package-lock.yml"))
            .with_help("delete package-lock.yml and run `mfb deps` again to resolve afresh")
    };
    let doc: Value = serde_yaml::from_str(&text)
        .map_err(|e| bad(format!("package-lock.yml is not valid YAML: {e}")))?;
    let mut packages = Vec::new();
    for (i, entry) in doc
        .get("packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let text = |k: &str| {
            entry.get(k).and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        let source = if let Some(path) = text("local") {
            LockedSource::Local { path }
        } else if let Some(url) = text("git") {
            LockedSource::Git {
                url,
                revision: text("revision")
                    .ok_or_else(|| bad(format!("entry {} (git) has no `revision`", i + 1)))?,
                subdirectory: text("subdirectory"),
            }
        } else if let Some(package) = text("package") {
            LockedSource::Hub {
                package,
                version: text("version")
                    .ok_or_else(|| bad(format!("entry {} (package) has no `version`", i + 1)))?,
            }
        } else if let Some(url) = text("tarball") {
            LockedSource::Tarball { url }
        } else if let Some(repo) = text("private") {
            LockedSource::Private {
                repo,
                provider: text("provider"),
                revision: text("revision")
                    .ok_or_else(|| bad(format!("entry {} (private) has no `revision`", i + 1)))?,
                subdirectory: text("subdirectory"),
            }
        } else {
            return Err(bad(format!("entry {} names no package source", i + 1)));
        };
        let name = text("name").ok_or_else(|| bad(format!("entry {} has no `name`", i + 1)))?;
        packages.push(LockedPackage { name, source });
    }
    Ok(Some(Lock {
        packages,
        sha1_hash: doc
            .get("sha1_hash")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }))
}

/// The text of `package-lock.yml` for `lock`, laid out as dbt writes it.
pub fn render_lock(lock: &Lock) -> String {
    let packages = lock
        .packages
        .iter()
        .map(|p| {
            let mut m = serde_json::Map::new();
            m.insert("name".into(), p.name.clone().into());
            let mut put = |k: &str, v: &Option<String>| {
                if let Some(v) = v {
                    m.insert(k.into(), v.clone().into());
                }
            };
            match &p.source {
                LockedSource::Local { path } => put("local", &Some(path.clone())),
                LockedSource::Git {
                    url,
                    revision,
                    subdirectory,
                } => {
                    put("git", &Some(url.clone()));
                    put("revision", &Some(revision.clone()));
                    put("subdirectory", subdirectory);
                }
                LockedSource::Hub { package, version } => {
                    put("package", &Some(package.clone()));
                    put("version", &Some(version.clone()));
                }
                LockedSource::Tarball { url } => put("tarball", &Some(url.clone())),
                LockedSource::Private {
                    repo,
                    provider,
                    revision,
                    subdirectory,
                } => {
                    put("private", &Some(repo.clone()));
                    put("provider", provider);
                    put("revision", &Some(revision.clone()));
                    put("subdirectory", subdirectory);
                }
            }
            Value::Object(m)
        })
        .collect();
    let mut doc = serde_json::Map::new();
    doc.insert("packages".into(), Value::Array(packages));
    if let Some(h) = &lock.sha1_hash {
        doc.insert("sha1_hash".into(), h.clone().into());
    }
    super::yaml_out::dump(&Value::Object(doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_dbt_and_reads_back() {
        let lock = Lock {
            packages: vec![
                LockedPackage {
                    name: "my_local".into(),
                    source: LockedSource::Local {
                        path: "../localpkg".into(),
                    },
                },
                LockedPackage {
                    name: "git_pkg".into(),
                    source: LockedSource::Git {
                        url: "file:///tmp/depsx/gitrepo.git".into(),
                        revision: "a64e081573ddca3e2681438113bf29973811d6f5".into(),
                        subdirectory: Some("sub".into()),
                    },
                },
                LockedPackage {
                    name: "dbt_utils".into(),
                    source: LockedSource::Hub {
                        package: "dbt-labs/dbt_utils".into(),
                        version: "1.0".into(),
                    },
                },
            ],
            sha1_hash: Some("64ef8f032dc02203d51b90d4c7eeb0270a725962".into()),
        };
        let text = render_lock(&lock);
        assert_eq!(
            text,
            "packages:\n  - local: ../localpkg\n    name: my_local\n  - git: file:///tmp/depsx/gitrepo.git\n    name: git_pkg\n    revision: a64e081573ddca3e2681438113bf29973811d6f5\n    subdirectory: sub\n  - name: dbt_utils\n    package: dbt-labs/dbt_utils\n    version: '1.0'\n sha1_hash: 64ef8f032dc02203d51b90d4c7eeb0270a725962\n"
                .replace("\n sha1", "\nsha1")
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("package-lock.yml");
        std::fs::write(&path, &text).unwrap();
        assert_eq!(read_lock(&path).unwrap(), Some(lock));
    }

    #[test]
    fn private_packages_lock_without_their_url() {
        let lock = Lock {
            packages: vec![LockedPackage {
                name: "secret_pkg".into(),
                source: LockedSource::Private {
                    repo: "org/repo".into(),
                    provider: None,
                    revision: "a64e081573ddca3e2681438113bf29973811d6f5".into(),
                    subdirectory: None,
                },
            }],
            sha1_hash: None,
        };
        let text = render_lock(&lock);
        assert_eq!(
            text,
            "packages:\n  - name: secret_pkg\n    private: org/repo\n    revision: a64e081573ddca3e2681438113bf29973811d6f5\n"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("package-lock.yml");
        std::fs::write(&path, &text).unwrap();
        assert_eq!(read_lock(&path).unwrap(), Some(lock));
    }
}
