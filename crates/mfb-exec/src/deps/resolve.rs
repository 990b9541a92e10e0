//! From the root project's `packages:` list to the flat, pinned list of every package of
//! the tree. Local packages are read in place, git and tarball packages are fetched into
//! the scratch directory (their own `packages.yml` is read from there), hub versions come
//! from the hub's metadata. A hub package's version is the highest one meeting every
//! requirement in the tree; since picking a version changes which requirements its own
//! dependencies add, the walk repeats until the picks settle. Conflicts name who asked for
//! what. Installing the result is `install.rs`'s job.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use mfb_diagnostics::{Diagnostic, Location};

use super::fetch::{self, FetchError};
use super::hub::{Hub, HubVersion};
use super::lock::LockedSource;
use super::semver::{Requirement, Version, highest_satisfying};
use super::spec::{PackageSpec, SpecEntry, packages_file, read_specs};
use crate::load::DBT_VERSION;

/// Who asked for a package: the root project, or an installed package by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    /// `None` for the root project.
    pub package: Option<String>,
    /// The packages file that asked, as shown in messages.
    pub file: String,
}

impl std::fmt::Display for Requester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.package {
            None => write!(f, "the root project ({})", self.file),
            Some(p) => write!(f, "package `{p}` ({})", self.file),
        }
    }
}

/// A package of the resolved tree.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub name: String,
    pub source: LockedSource,
    /// The package's files when they are already on disk (local, or fetched for reading).
    pub tree: Option<PathBuf>,
    /// For a hub package: the newest version published (for "Updated version available").
    pub latest: Option<String>,
}

/// Why resolution stopped.
#[derive(Debug)]
pub enum ResolveError {
    /// These packages could not be fetched: (source, reason).
    Unfetched(Vec<(String, FetchError)>),
    /// The tree is inconsistent or a package is broken.
    Invalid(Vec<Diagnostic>),
}

/// A package's tree on disk, read.
#[derive(Debug, Clone)]
struct Tree {
    name: String,
    dir: PathBuf,
    /// Commit of a git checkout.
    commit: Option<String>,
    dependencies: Vec<SpecEntry>,
    deps_file: String,
}

#[derive(Debug, Clone)]
enum Node {
    Tree(Tree),
    Hub(HubVersion),
}

/// Resolves specs against the hub, git and the disk, keeping what it fetched.
pub struct Resolver<'a> {
    pub(crate) root: PathBuf,
    pub(crate) scratch: PathBuf,
    pub(crate) hub: &'a mut Hub,
    pub(crate) render: &'a dyn Fn(&str) -> Result<String, String>,
    trees: HashMap<String, Result<Tree, FetchError>>,
    next_dir: usize,
}

/// The identity of a source: two specs with one key are one package.
fn key_of(spec: &PackageSpec, root: &Path) -> String {
    match spec {
        PackageSpec::Local { path } => {
            let abs = root.join(path);
            format!(
                "local:{}",
                abs.canonicalize().unwrap_or(abs).to_string_lossy()
            )
        }
        PackageSpec::Git {
            url, subdirectory, ..
        } => format!("git:{url}#{}", subdirectory.as_deref().unwrap_or("")),
        PackageSpec::Hub { package, .. } => format!("hub:{}", package.to_lowercase()),
        PackageSpec::Tarball { url, .. } => format!("tarball:{url}"),
        PackageSpec::Private {
            repo, subdirectory, ..
        } => format!("private:{repo}#{}", subdirectory.as_deref().unwrap_or("")),
    }
}

/// The environment variables that may give the URL of a `private:` package: the provider's
/// own (`MFB_PRIVATE_GIT_URL_GITHUB` for `provider: github`), then `MFB_PRIVATE_GIT_URL`.
fn private_url_vars(provider: Option<&str>) -> Vec<String> {
    let mut vars = Vec::new();
    if let Some(p) = provider.filter(|p| !p.is_empty()) {
        let suffix: String = p
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        vars.push(format!("MFB_PRIVATE_GIT_URL_{suffix}"));
    }
    vars.push("MFB_PRIVATE_GIT_URL".to_owned());
    vars
}

/// The git URL of `private: repo`. dbt-core 1.10 resolves these only inside dbt Cloud (from
/// its git provider integration) and otherwise stops with the error below, which mfb gives
/// too unless an `MFB_PRIVATE_GIT_URL[_<PROVIDER>]` template (with `{private}` standing for
/// `org/repo`) says where the repository is: an mfb extension.
pub(crate) fn private_git_url(repo: &str, provider: Option<&str>) -> Result<String, Diagnostic> {
    let vars = private_url_vars(provider);
    let found = vars.iter().find_map(|k| {
        std::env::var(k)
            .ok()
            .filter(|v| !v.is_empty())
            .map(|v| (k, v))
    });
    match found {
        None => Err(Diagnostic::error(
            "deps-private-package",
            format!(
                "Cannot resolve private package {repo} because git provider integration is missing. Please use a \"git\" package instead."
            ),
        )
        .with_note("dbt-core resolves `private:` packages only inside dbt Cloud")
        .with_help(format!(
            "use `git:` with the repository's URL, or set {} to a URL template such as `https://github.com/{{private}}.git` (an mfb extension, see docs/packages.md)",
            vars[0]
        ))),
        Some((var, template)) if !template.contains("{private}") => Err(Diagnostic::error(
            "deps-private-package",
            format!("{var} does not contain `{{private}}`, so it cannot give the URL of private package {repo}"),
        )
        .with_help(format!("write it as a URL template, e.g. {var}='https://github.com/{{private}}.git'"))),
        Some((_, template)) => Ok(template.replace("{private}", repo)),
    }
}

impl<'a> Resolver<'a> {
    /// A resolver for the project at `root`, fetching into `scratch`.
    pub fn new(
        root: &Path,
        scratch: &Path,
        hub: &'a mut Hub,
        render: &'a dyn Fn(&str) -> Result<String, String>,
    ) -> Resolver<'a> {
        Resolver {
            root: root.to_path_buf(),
            scratch: scratch.to_path_buf(),
            hub,
            render,
            trees: HashMap::new(),
            next_dir: 0,
        }
    }

    /// A fresh directory under the scratch directory.
    pub(crate) fn scratch_dir(&mut self, what: &str) -> PathBuf {
        self.next_dir += 1;
        self.scratch.join(format!("{what}-{}", self.next_dir))
    }

    /// Reads a package directory: its name and its own packages file.
    /// `place` is where the package comes from, as written (`../pkg`, the git URL).
    fn read_tree(
        &self,
        dir: &Path,
        place: &str,
        shown: &str,
        commit: Option<String>,
    ) -> Result<Tree, Diagnostic> {
        let project = dir.join("dbt_project.yml");
        let text = std::fs::read_to_string(&project).map_err(|_| {
            Diagnostic::error(
                "deps-not-a-package",
                format!("{shown} has no dbt_project.yml (looked for {})", project.display()),
            )
            .with_help("point the entry at a directory holding a dbt project (for git, `subdirectory:` picks one inside the repository)")
        })?;
        let name = serde_yaml::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_owned))
            .ok_or_else(|| {
                Diagnostic::error(
                    "deps-not-a-package",
                    format!("the dbt_project.yml of {shown} has no `name:`"),
                )
                .at(Location::file(project.clone()))
                .with_help("a package's directory is named after its `name:`; add one")
            })?;
        let (dependencies, deps_file) = match packages_file(dir)? {
            Some(file) => {
                let file_name = file
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let deps_file = format!("{place}/{file_name}");
                let specs = read_specs(&file, &file.to_string_lossy(), self.render)
                    .map_err(|mut e| e.remove(0))?;
                (specs, deps_file)
            }
            None => (Vec::new(), String::new()),
        };
        Ok(Tree {
            name,
            dir: dir.to_path_buf(),
            commit,
            dependencies,
            deps_file,
        })
    }

    /// The tree of a local, git or tarball spec (fetched once per run).
    fn tree(
        &mut self,
        key: &str,
        spec: &PackageSpec,
    ) -> Result<Result<Tree, FetchError>, Diagnostic> {
        let cache_key = match spec {
            PackageSpec::Git { revision, .. } | PackageSpec::Private { revision, .. } => {
                format!("{key}@{}", revision.as_deref().unwrap_or(""))
            }
            _ => key.to_owned(),
        };
        if let Some(t) = self.trees.get(&cache_key) {
            return Ok(t.clone());
        }
        let result = match spec {
            PackageSpec::Local { path } => Ok(self.read_tree(
                &self.root.join(path),
                path,
                &format!("local package `{path}`"),
                None,
            )?),
            PackageSpec::Git {
                url,
                revision,
                subdirectory,
                ..
            } => self.checkout(
                url,
                revision.as_deref(),
                subdirectory.as_deref(),
                &spec.source(),
                &format!("git package {}", spec.source()),
            )?,
            PackageSpec::Private {
                repo,
                provider,
                revision,
                subdirectory,
                ..
            } => {
                let url = private_git_url(repo, provider.as_deref())?;
                self.checkout(
                    &url,
                    revision.as_deref(),
                    subdirectory.as_deref(),
                    &spec.source(),
                    &format!("private package {}", spec.source()),
                )?
            }
            PackageSpec::Tarball { url, .. } => {
                let dest = self.scratch_dir("tarball");
                let archive = dest.with_extension("tar.gz");
                match fetch::download(url, &archive)
                    .and_then(|()| fetch::unpack_tarball(&archive, &dest))
                {
                    Ok(dir) => Ok(self.read_tree(&dir, url, &format!("tarball {url}"), None)?),
                    Err(e) => Err(e),
                }
            }
            PackageSpec::Hub { .. } => unreachable!("hub packages have no tree before install"),
        };
        self.trees.insert(cache_key, result.clone());
        Ok(result)
    }

    /// Clones `url` at `revision` into the scratch directory and reads the package in it.
    fn checkout(
        &mut self,
        url: &str,
        revision: Option<&str>,
        subdirectory: Option<&str>,
        place: &str,
        shown: &str,
    ) -> Result<Result<Tree, FetchError>, Diagnostic> {
        let dest = self.scratch_dir("git");
        match fetch::git_checkout(url, revision, &dest) {
            Ok(commit) => {
                let dir = match subdirectory {
                    Some(s) => dest.join(s),
                    None => dest,
                };
                Ok(Ok(self.read_tree(&dir, place, shown, Some(commit))?))
            }
            Err(e) => Ok(Err(e)),
        }
    }

    /// Resolves the root project's specs into the flat list to install and lock.
    pub fn resolve(
        &mut self,
        root_specs: &[SpecEntry],
        root_file: &str,
    ) -> Result<Vec<Resolved>, ResolveError> {
        let mut choices: HashMap<String, Version> = HashMap::new();
        for _round in 0..10 {
            let walk = self.walk(root_specs, root_file, &choices)?;
            if !walk.unfetched.is_empty() {
                return Err(ResolveError::Unfetched(walk.unfetched));
            }
            let mut next = HashMap::new();
            let mut problems = Vec::new();
            for (key, asks) in &walk.constraints {
                if let Some(p) = self.pick_hub(key, asks, &mut problems) {
                    next.insert(key.clone(), p);
                }
            }
            if !problems.is_empty() {
                return Err(ResolveError::Invalid(problems));
            }
            if next == choices {
                return self.finish(walk);
            }
            choices = next;
        }
        Err(ResolveError::Invalid(vec![Diagnostic::error(
            "deps-unresolvable",
            "the hub package versions did not settle after 10 rounds (each pick changed the requirements of another)",
        )
        .with_help("pin the hub packages of packages.yml to exact versions")]))
    }

    /// The version of a hub package meeting every request, or a problem naming them.
    fn pick_hub(
        &mut self,
        key: &str,
        asks: &[(Requester, SpecEntry)],
        problems: &mut Vec<Diagnostic>,
    ) -> Option<Version> {
        let PackageSpec::Hub { package, .. } = &asks.first()?.1.spec else {
            return None;
        };
        let mut reqs = Vec::new();
        let mut prerelease = false;
        for (_, s) in asks {
            if let PackageSpec::Hub {
                versions,
                install_prerelease,
                ..
            } = &s.spec
            {
                reqs.extend(versions.iter().filter_map(|v| Requirement::parse(v)));
                prerelease |= *install_prerelease;
            }
        }
        let available = self.hub.versions(package).ok()?;
        let versions: Vec<Version> = available.iter().map(|v| v.version.clone()).collect();
        // Prefer versions whose require_dbt_version admits the dbt version mfb follows.
        let dbt = Version::parse(DBT_VERSION)?;
        let compatible: Vec<Version> = available
            .iter()
            .filter(|v| v.require_dbt_version.iter().all(|r| r.matches(&dbt)))
            .map(|v| v.version.clone())
            .collect();
        let pick = highest_satisfying(&compatible, &reqs, prerelease)
            .or_else(|| highest_satisfying(&versions, &reqs, prerelease))
            .cloned();
        if pick.is_none() {
            let who: Vec<String> = asks
                .iter()
                .map(|(r, s)| match &s.spec {
                    PackageSpec::Hub { versions, .. } => {
                        format!("{r} asks for {}", versions.join(", "))
                    }
                    _ => String::new(),
                })
                .collect();
            let shown: Vec<String> = versions
                .iter()
                .rev()
                .take(12)
                .map(|v| v.to_string())
                .collect();
            let _ = key;
            problems.push(
                Diagnostic::error(
                    "deps-version-conflict",
                    format!(
                        "no version of `{package}` meets every requirement: {}",
                        who.join("; ")
                    ),
                )
                .with_note(format!(
                    "versions on the hub (newest first): {}",
                    shown.join(", ")
                ))
                .with_help(
                    "widen or align the `version:` ranges so that one version meets them all",
                ),
            );
        }
        pick
    }

    /// One walk of the tree with the current hub picks.
    fn walk(
        &mut self,
        root_specs: &[SpecEntry],
        root_file: &str,
        choices: &HashMap<String, Version>,
    ) -> Result<Walk, ResolveError> {
        let mut walk = Walk::default();
        let mut problems = Vec::new();
        let root_req = Requester {
            package: None,
            file: root_file.to_owned(),
        };
        let mut queue: VecDeque<(Requester, SpecEntry)> = root_specs
            .iter()
            .map(|s| (root_req.clone(), s.clone()))
            .collect();
        while let Some((who, entry)) = queue.pop_front() {
            let key = key_of(&entry.spec, &self.root);
            let seen = walk.constraints.contains_key(&key);
            walk.constraints
                .entry(key.clone())
                .or_default()
                .push((who.clone(), entry.clone()));
            if seen {
                continue;
            }
            let node = match &entry.spec {
                PackageSpec::Hub { package, .. } => {
                    match self.hub.versions(package) {
                        Err(e) => {
                            // A name the hub's index does not list is a typo, not an outage.
                            let listed = match self.hub.index() {
                                Ok(index) => index.iter().any(|p| p.eq_ignore_ascii_case(package)),
                                Err(_) => true,
                            };
                            if listed {
                                walk.unfetched.push((package.clone(), e));
                            } else {
                                problems.push(self.not_on_hub(package, &who));
                            }
                            continue;
                        }
                        Ok([]) => {
                            problems.push(self.not_on_hub(package, &who));
                            continue;
                        }
                        Ok(_) => {}
                    }
                    let version = match choices.get(&key) {
                        Some(v) => v.clone(),
                        None => match self.pick_hub(
                            &key,
                            &walk.constraints[&key].clone(),
                            &mut problems,
                        ) {
                            Some(v) => v,
                            None => continue,
                        },
                    };
                    let list = self.hub.versions(package).unwrap_or_default();
                    match list.iter().find(|v| v.version == version) {
                        Some(v) => Node::Hub(v.clone()),
                        None => continue,
                    }
                }
                spec => match self.tree(&key, spec) {
                    Err(d) => {
                        problems.push(d);
                        continue;
                    }
                    Ok(Err(e)) => {
                        walk.unfetched.push((spec.source(), e));
                        continue;
                    }
                    Ok(Ok(tree)) => Node::Tree(tree),
                },
            };
            let (name, deps, file) = match &node {
                Node::Tree(t) => (t.name.clone(), t.dependencies.clone(), t.deps_file.clone()),
                Node::Hub(h) => (
                    h.name.clone(),
                    h.dependencies.clone(),
                    format!("hub: {} {}", entry.spec.source(), h.version),
                ),
            };
            let asker = Requester {
                package: Some(name),
                file,
            };
            queue.extend(deps.into_iter().map(|d| (asker.clone(), d)));
            walk.nodes.insert(key, node);
        }
        if problems.is_empty() {
            Ok(walk)
        } else {
            Err(ResolveError::Invalid(problems))
        }
    }

    fn not_on_hub(&mut self, package: &str, who: &Requester) -> Diagnostic {
        let mut d = Diagnostic::error(
            "deps-hub-unknown-package",
            format!(
                "{who} asks for `{package}`, which the package hub ({}) does not list",
                self.hub.base()
            ),
        );
        if let Ok(index) = self.hub.index()
            && let Some(close) = mfb_diagnostics::closest(package, index.iter().map(String::as_str))
        {
            d = d.with_help(format!("did you mean `{close}`?"));
        } else {
            d = d.with_help("check the `package:` name on hub.getdbt.com (it is `org/name`)");
        }
        d
    }

    /// Checks the settled walk (git revisions, duplicate names) and flattens it.
    fn finish(&mut self, walk: Walk) -> Result<Vec<Resolved>, ResolveError> {
        let mut problems = Vec::new();
        let mut out: Vec<Resolved> = Vec::new();
        let mut by_name: HashMap<String, String> = HashMap::new();
        for (key, asks) in &walk.constraints {
            let Some(node) = walk.nodes.get(key) else {
                continue;
            };
            let first = &asks[0].1.spec;
            if let PackageSpec::Git { .. } | PackageSpec::Private { .. } = first {
                let what = match first {
                    PackageSpec::Git { url, .. } => format!("git package {url}"),
                    _ => format!("private package {}", first.source()),
                };
                let mut revs: Vec<(String, &Requester)> = asks
                    .iter()
                    .filter_map(|(r, s)| match &s.spec {
                        PackageSpec::Git {
                            revision: Some(rev),
                            ..
                        }
                        | PackageSpec::Private {
                            revision: Some(rev),
                            ..
                        } => Some((rev.clone(), r)),
                        _ => None,
                    })
                    .collect();
                revs.dedup_by(|a, b| a.0 == b.0);
                if revs.len() > 1 {
                    let who: Vec<String> = revs
                        .iter()
                        .map(|(rev, r)| format!("{r} asks for revision `{rev}`"))
                        .collect();
                    problems.push(
                        Diagnostic::error(
                            "deps-version-conflict",
                            format!(
                                "{what} is asked for at different revisions: {}",
                                who.join("; ")
                            ),
                        )
                        .with_help("use one revision of the repository everywhere"),
                    );
                    continue;
                }
            }
            let resolved = match node {
                Node::Tree(t) => Resolved {
                    name: t.name.clone(),
                    source: match first {
                        PackageSpec::Local { path } => LockedSource::Local { path: path.clone() },
                        PackageSpec::Git {
                            url, subdirectory, ..
                        } => LockedSource::Git {
                            url: url.clone(),
                            revision: t.commit.clone().unwrap_or_default(),
                            subdirectory: subdirectory.clone(),
                        },
                        PackageSpec::Tarball { url, .. } => {
                            LockedSource::Tarball { url: url.clone() }
                        }
                        PackageSpec::Private {
                            repo,
                            provider,
                            subdirectory,
                            ..
                        } => LockedSource::Private {
                            repo: repo.clone(),
                            provider: provider.clone(),
                            revision: t.commit.clone().unwrap_or_default(),
                            subdirectory: subdirectory.clone(),
                        },
                        PackageSpec::Hub { .. } => unreachable!("hub specs give hub nodes"),
                    },
                    tree: Some(t.dir.clone()),
                    latest: None,
                },
                Node::Hub(h) => {
                    let PackageSpec::Hub { package, .. } = first else {
                        unreachable!("hub nodes come from hub specs")
                    };
                    let latest = self
                        .hub
                        .versions(package)
                        .ok()
                        .and_then(|l| l.iter().rfind(|v| !v.version.is_prerelease()))
                        .map(|v| v.version.to_string());
                    Resolved {
                        name: h.name.clone(),
                        source: LockedSource::Hub {
                            package: package.clone(),
                            version: h.version.to_string(),
                        },
                        tree: None,
                        latest,
                    }
                }
            };
            let shown = asks[0].1.spec.source();
            if let Some(other) = by_name.insert(resolved.name.clone(), shown.clone()) {
                problems.push(
                    Diagnostic::error(
                        "deps-duplicate-name",
                        format!(
                            "two packages are named `{}`: {other} and {shown}",
                            resolved.name
                        ),
                    )
                    .with_help(
                        "each package installs into dbt_packages/<its name>; keep only one of them",
                    ),
                );
                continue;
            }
            out.push(resolved);
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(ResolveError::Invalid(problems))
        }
    }
}

#[derive(Default)]
struct Walk {
    /// Every source met, in the order met, with who asked for it and how.
    constraints: IndexMap<String, Vec<(Requester, SpecEntry)>>,
    nodes: HashMap<String, Node>,
    unfetched: Vec<(String, FetchError)>,
}
