//! `mfb deps`: install the packages of `packages.yml` / `dependencies.yml` into
//! `dbt_packages/` (or `packages-install-path`), as dbt-core 1.10 does.
//!
//! When `package-lock.yml` exists and its `sha1_hash` matches the `packages:` list, the
//! locked packages are installed as they are; otherwise (or with `--upgrade`) the tree is
//! resolved afresh (`resolve.rs`) and the lock rewritten; `--lock` only rewrites the lock.
//! Everything is fetched into a hidden scratch directory first: if any package cannot be
//! fetched (no network), nothing under `dbt_packages/` changes and the error names each
//! package that failed. Each package lands in a directory named after its own `name:`
//! (the loader in `load.rs` reads them from there); local packages are symlinked, like dbt.
//! Progress lines and warnings go to callbacks; the CLI prints them.
//!
//! `--add-package` first rewrites the packages file (`add.rs`). A `private:` package is
//! dbt's error unless `MFB_PRIVATE_GIT_URL` gives its URL (`resolve::private_git_url`); a
//! renamed hub package earns dbt's deprecation warning (`hub.rs`).

pub mod add;
pub mod fetch;
pub mod hub;
pub mod lock;
pub mod resolve;
pub mod semver;
pub mod spec;
pub mod yaml_out;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use mfb_diagnostics::{Diagnostic, Location};
use serde_json::Value;

use crate::Diagnostics;
use hub::Hub;
use lock::{Lock, LockedPackage, LockedSource};
use resolve::{ResolveError, Resolved, Resolver};

/// What `mfb deps` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct DepsOptions {
    /// The project directory (absolute).
    pub project_dir: PathBuf,
    /// `--vars`, usable in the packages file.
    pub vars: IndexMap<String, Value>,
    /// `--upgrade`: resolve again even when the lock matches.
    pub upgrade: bool,
    /// `--lock`: write package-lock.yml without installing.
    pub lock_only: bool,
    /// `--add-package` (with `--source`): added to the packages file first.
    pub add_package: Option<add::AddPackage>,
}

/// What `mfb deps` did.
#[derive(Debug, Clone, Default)]
pub struct DepsOutcome {
    /// Packages installed (0 with `--lock`).
    pub installed: usize,
    /// Whether package-lock.yml was (re)written.
    pub lock_written: bool,
}

/// Runs `deps`. `progress(event, message)` receives dbt's progress lines, `warn` the
/// warnings (renamed hub packages) as they come.
pub fn deps(
    options: &DepsOptions,
    progress: &dyn Fn(&'static str, &str),
    warn: &dyn Fn(Diagnostic),
) -> Result<DepsOutcome, Diagnostics> {
    // `--project-dir .` would otherwise show as `proj/./package-lock.yml`.
    let root = &options
        .project_dir
        .canonicalize()
        .unwrap_or_else(|_| options.project_dir.clone());
    let install_path = install_path(root)?;
    let install_dir = root.join(&install_path);
    let render = renderer(root, &options.vars);
    if let Some(add) = &options.add_package {
        add::add_package(root, add, progress)?;
    }
    let Some(file) = spec::packages_file(root).map_err(|d| vec![d])? else {
        progress(
            "DepsNoPackagesFound",
            "Warning: No packages were found in packages.yml",
        );
        return Ok(DepsOutcome::default());
    };
    let shown = file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let specs = spec::read_specs(&file, &shown, &render)?;
    if specs.is_empty() {
        progress(
            "DepsNoPackagesFound",
            &format!("Warning: No packages were found in {shown}"),
        );
        return Ok(DepsOutcome::default());
    }
    let hash = if options.add_package.is_some() {
        spec::sha1_hash_as_added(&specs)
    } else {
        spec::sha1_hash(&specs)
    };
    let lock_path = root.join("package-lock.yml");
    let existing = lock::read_lock(&lock_path).map_err(|d| vec![d])?;

    let scratch = install_dir.join(".mfb-deps-scratch");
    let install_dir_existed = install_dir.exists();
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| {
        vec![
            Diagnostic::error(
                "deps-write-failed",
                format!("cannot create {}: {e}", scratch.display()),
            )
            .with_help("check that the project directory is writable"),
        ]
    })?;
    let result = (|| {
        let mut hub = Hub::from_env();
        let mut resolver = Resolver::new(root, &scratch, &mut hub, &render);
        let reuse_lock = !options.upgrade
            && !options.lock_only
            && existing
                .as_ref()
                .is_some_and(|l| l.sha1_hash.as_deref() == Some(hash.as_str()));
        let (packages, write_lock) = match existing.filter(|_| reuse_lock) {
            Some(lock) => (from_lock(&lock), false),
            None => {
                let resolved = resolver.resolve(&specs, &shown);
                warn_redirects(resolver.hub, warn);
                (
                    resolved.map_err(|e| resolve_diagnostics(e, &install_path))?,
                    true,
                )
            }
        };
        let write = |packages: &[Resolved]| -> Result<(), Diagnostics> {
            let text = lock::render_lock(&Lock {
                packages: packages
                    .iter()
                    .map(|p| LockedPackage {
                        name: p.name.clone(),
                        source: p.source.clone(),
                    })
                    .collect(),
                sha1_hash: Some(hash.clone()),
            });
            progress(
                "DepsLockUpdating",
                &format!("Updating lock file in file path: {}", lock_path.display()),
            );
            std::fs::write(&lock_path, text).map_err(|e| {
                vec![Diagnostic::error(
                    "deps-write-failed",
                    format!("cannot write {}: {e}", lock_path.display()),
                )]
            })
        };
        if options.lock_only {
            write(&packages)?;
            return Ok(DepsOutcome {
                installed: 0,
                lock_written: true,
            });
        }
        let staged = stage(&mut resolver, &packages);
        warn_redirects(resolver.hub, warn);
        let staged = staged.map_err(|e| resolve_diagnostics(e, &install_path))?;
        if write_lock {
            write(&packages)?;
        }
        put_in_place(&install_dir, &packages, &staged, progress)?;
        Ok(DepsOutcome {
            installed: packages.len(),
            lock_written: write_lock,
        })
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    if !install_dir_existed {
        // Only the scratch directory made it (`--lock`, or a failure): dbt leaves none.
        let _ = std::fs::remove_dir(&install_dir);
    }
    result
}

/// dbt's deprecation warning for each renamed hub package met since the last call.
fn warn_redirects(hub: &mut Hub, warn: &dyn Fn(Diagnostic)) {
    for (old, new) in hub.take_redirects() {
        warn(
            Diagnostic::warning(
                "deps-package-redirect",
                format!(
                    "The `{old}` package is deprecated in favor of `{new}`. Please update your `packages.yml` configuration to use `{new}` instead."
                ),
            )
            .with_note("deprecated functionality (dbt's `package-redirect` deprecation)")
            .with_note(format!(
                "as dbt does, the versions the hub still publishes under `{old}` are installed and locked"
            )),
        );
    }
}

/// `packages-install-path` of dbt_project.yml (default `dbt_packages`).
fn install_path(root: &Path) -> Result<String, Diagnostics> {
    let text = std::fs::read_to_string(root.join("dbt_project.yml")).map_err(|e| {
        vec![
            Diagnostic::error(
                "project-file-missing",
                format!("cannot read dbt_project.yml in {}: {e}", root.display()),
            )
            .with_help("run mfb inside a dbt project, or pass --project-dir DIR"),
        ]
    })?;
    let doc: Value = serde_yaml::from_str(&text).map_err(|e| {
        vec![
            Diagnostic::error(
                "yaml-syntax",
                format!("invalid YAML in dbt_project.yml: {e}"),
            )
            .at(Location::file("dbt_project.yml"))
            .with_help("fix the YAML syntax"),
        ]
    })?;
    Ok(doc
        .get("packages-install-path")
        .and_then(Value::as_str)
        .unwrap_or("dbt_packages")
        .trim_end_matches('/')
        .to_owned())
}

/// Renders `env_var()` / `var()` in packages-file strings, as dbt does.
fn renderer(
    root: &Path,
    vars: &IndexMap<String, Value>,
) -> impl Fn(&str) -> Result<String, String> {
    let name = "deps";
    let (runtime, _) = mfb_jinja::Runtime::new(name, HashMap::new(), &[]);
    let run = runtime.run_context(mfb_jinja::RunOptions {
        vars: HashMap::from([(name.to_owned(), Arc::new(vars.clone()))]),
        ..mfb_jinja::RunOptions::default()
    });
    let _ = root;
    move |source: &str| {
        runtime
            .render(
                &run,
                "packages.yml",
                source,
                mfb_jinja::NodeScope::new(name, None),
            )
            .map_err(|e| e.message)
    }
}

/// The lock's packages as a resolved list (nothing fetched yet).
fn from_lock(lock: &Lock) -> Vec<Resolved> {
    lock.packages
        .iter()
        .map(|p| Resolved {
            name: p.name.clone(),
            source: p.source.clone(),
            tree: None,
            latest: None,
        })
        .collect()
}

/// Gets every package's files into the scratch directory (or finds them on disk), without
/// touching `dbt_packages/`. Returns the directory to install for each package.
fn stage(resolver: &mut Resolver<'_>, packages: &[Resolved]) -> Result<Vec<PathBuf>, ResolveError> {
    let mut dirs = Vec::new();
    let mut failed = Vec::new();
    let mut problems = Vec::new();
    for p in packages {
        let got = match (&p.source, &p.tree) {
            (LockedSource::Local { path }, _) => {
                let dir = resolver.root.join(path);
                if dir.join("dbt_project.yml").is_file() {
                    Ok(dir)
                } else {
                    problems.push(
                        Diagnostic::error(
                            "deps-not-a-package",
                            format!("local package `{path}` has no dbt_project.yml (looked in {})", dir.display()),
                        )
                        .with_help("local paths are relative to the root project; fix the path in packages.yml"),
                    );
                    continue;
                }
            }
            (_, Some(tree)) => Ok(tree.clone()),
            (
                LockedSource::Git {
                    url,
                    revision,
                    subdirectory,
                },
                None,
            ) => {
                let dest = resolver.scratch_dir("git");
                fetch::git_checkout(url, Some(revision), &dest).map(|_| match subdirectory {
                    Some(s) => dest.join(s),
                    None => dest,
                })
            }
            (
                LockedSource::Private {
                    repo,
                    provider,
                    revision,
                    subdirectory,
                },
                None,
            ) => {
                let url = match resolve::private_git_url(repo, provider.as_deref()) {
                    Ok(url) => url,
                    Err(d) => {
                        problems.push(d);
                        continue;
                    }
                };
                let dest = resolver.scratch_dir("git");
                fetch::git_checkout(&url, Some(revision), &dest).map(|_| match subdirectory {
                    Some(s) => dest.join(s),
                    None => dest,
                })
            }
            (LockedSource::Tarball { url }, None) => {
                let dest = resolver.scratch_dir("tarball");
                let archive = dest.with_extension("tar.gz");
                fetch::download(url, &archive).and_then(|()| fetch::unpack_tarball(&archive, &dest))
            }
            (LockedSource::Hub { package, version }, None) => {
                let tarball = resolver.hub.versions(package).and_then(|list| {
                    list.iter()
                        .find(|v| v.version.to_string() == *version)
                        .and_then(|v| v.tarball.clone())
                        .ok_or_else(|| {
                            fetch::FetchError(format!(
                                "the hub has no download for version {version}"
                            ))
                        })
                });
                let dest = resolver.scratch_dir("hub");
                let archive = dest.with_extension("tar.gz");
                tarball.and_then(|url| {
                    fetch::download(&url, &archive)
                        .and_then(|()| fetch::unpack_tarball(&archive, &dest))
                })
            }
        };
        match got {
            Ok(dir) => dirs.push(dir),
            Err(e) => failed.push((source_text(&p.source), e)),
        }
    }
    if !problems.is_empty() {
        return Err(ResolveError::Invalid(problems));
    }
    if !failed.is_empty() {
        return Err(ResolveError::Unfetched(failed));
    }
    Ok(dirs)
}

fn source_text(s: &LockedSource) -> String {
    match s {
        LockedSource::Local { path } => path.clone(),
        LockedSource::Git {
            url, subdirectory, ..
        } => match subdirectory {
            Some(sub) => format!("{url}/{sub}"),
            None => url.clone(),
        },
        LockedSource::Hub { package, .. } => package.clone(),
        LockedSource::Tarball { url } => url.clone(),
        // Never the URL: it may hold a token.
        LockedSource::Private {
            repo, subdirectory, ..
        } => match subdirectory {
            Some(sub) => format!("{repo}/{sub}"),
            None => repo.clone(),
        },
    }
}

fn resolve_diagnostics(e: ResolveError, install_path: &str) -> Diagnostics {
    match e {
        ResolveError::Invalid(d) => d,
        ResolveError::Unfetched(list) => list
            .into_iter()
            .map(|(source, why)| {
                Diagnostic::error(
                    "deps-fetch-failed",
                    format!("could not fetch package `{source}`: {why}"),
                )
                .with_note(format!(
                    "nothing was installed or removed: the packages already in {install_path}/ are kept as they were"
                ))
                .with_help("check the network connection (or MFB_HUB_URL / the git URL), then run `mfb deps` again")
            })
            .collect(),
    }
}

/// Replaces what `dbt_packages/` held with the staged packages. Only package directories
/// (holding a dbt_project.yml) and symlinks are removed, never other files.
fn put_in_place(
    install_dir: &Path,
    packages: &[Resolved],
    staged: &[PathBuf],
    progress: &dyn Fn(&'static str, &str),
) -> Result<(), Diagnostics> {
    let failed = |what: &str, path: &Path, e: std::io::Error| {
        vec![
            Diagnostic::error(
                "deps-write-failed",
                format!("cannot {what} {}: {e}", path.display()),
            )
            .with_help(
                "check the permissions of the packages directory, then run `mfb deps` again",
            ),
        ]
    };
    std::fs::create_dir_all(install_dir).map_err(|e| failed("create", install_dir, e))?;
    for entry in std::fs::read_dir(install_dir)
        .map_err(|e| failed("read", install_dir, e))?
        .flatten()
    {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
        if is_link {
            std::fs::remove_file(&path).map_err(|e| failed("remove", &path, e))?;
        } else if path.join("dbt_project.yml").is_file() {
            std::fs::remove_dir_all(&path).map_err(|e| failed("remove", &path, e))?;
        }
    }
    for (p, dir) in packages.iter().zip(staged) {
        progress(
            "DepsStartPackageInstall",
            &format!("Installing {}", source_text(&p.source)),
        );
        let dest = install_dir.join(&p.name);
        match &p.source {
            LockedSource::Local { path } => {
                let abs = dir.canonicalize().unwrap_or_else(|_| dir.clone());
                link_or_copy(&abs, &dest).map_err(|e| failed("link", &dest, e))?;
                progress(
                    "DepsInstallInfo",
                    &format!("Installed from <local @ {path}>"),
                );
            }
            source => {
                std::fs::rename(dir, &dest).map_err(|e| failed("move into place", &dest, e))?;
                // A checkout's history is not part of the package.
                let _ = std::fs::remove_dir_all(dest.join(".git"));
                match source {
                    LockedSource::Git {
                        revision,
                        subdirectory,
                        ..
                    }
                    | LockedSource::Private {
                        revision,
                        subdirectory,
                        ..
                    } => {
                        progress(
                            "DepsInstallInfo",
                            &format!("Installed from revision {revision}"),
                        );
                        if let Some(s) = subdirectory {
                            progress("DepsInstallInfo", &format!("and subdirectory {s}"));
                        }
                    }
                    LockedSource::Hub { version, .. } => {
                        progress(
                            "DepsInstallInfo",
                            &format!("Installed from version {version}"),
                        );
                        match &p.latest {
                            Some(latest) if latest != version => progress(
                                "DepsUpdateAvailable",
                                &format!("Updated version available: {latest}"),
                            ),
                            _ => progress("DepsUpToDate", "Up to date!"),
                        }
                    }
                    _ => progress("DepsInstallInfo", "Installed from tarball"),
                }
            }
        }
    }
    Ok(())
}

#[cfg(unix)]
fn link_or_copy(from: &Path, to: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(from, to)
}

#[cfg(not(unix))]
fn link_or_copy(from: &Path, to: &Path) -> std::io::Result<()> {
    copy_dir(from, to)
}

#[cfg(not(unix))]
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}
