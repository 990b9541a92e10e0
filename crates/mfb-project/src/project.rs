//! `dbt_project.yml` of the root project and of every installed package.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use mfb_diagnostics::{Diagnostic, Location, closest};
use rayon::prelude::*;
use serde_json::{Map, Value};

use crate::docs_blocks::parse_docs_file;
use crate::files::{ResourcePaths, discover};
use crate::property_files::{parse_properties_file, type_name};
use crate::yaml_lines::{self, LineNode};
use crate::{ConfigTree, FileKind, ProjectError, ProjectFile, Properties, Render, yaml};

/// What the caller decides before loading.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--project-dir` (absolute).
    pub project_dir: PathBuf,
}

/// An entry of the project's `dispatch:` list.
#[derive(Debug, Clone)]
pub struct DispatchEntry {
    /// `macro_namespace`, e.g. `dbt_utils`.
    pub macro_namespace: String,
    /// `search_order`, e.g. `["my_project", "dbt_utils"]`.
    pub search_order: Vec<String>,
}

/// One package: the root project or one installed under `dbt_packages/`.
#[derive(Debug, Clone)]
pub struct Package {
    /// `name:` of its dbt_project.yml.
    pub name: String,
    /// True for the project being run.
    pub is_root: bool,
    /// Absolute directory of the package.
    pub root: PathBuf,
    /// `version:` as written, if any.
    pub version: Option<String>,
    /// `profile:` (root project only matters).
    pub profile: Option<String>,
    pub model_paths: Vec<String>,
    pub seed_paths: Vec<String>,
    pub test_paths: Vec<String>,
    pub macro_paths: Vec<String>,
    pub snapshot_paths: Vec<String>,
    pub analysis_paths: Vec<String>,
    pub docs_paths: Vec<String>,
    pub asset_paths: Vec<String>,
    /// Project-level `vars:` of this package's dbt_project.yml: global vars, and
    /// package-scoped ones under a package-name key, exactly as written.
    pub vars: IndexMap<String, Value>,
    /// `models:` tree (and the same for the other resource types below).
    pub models: ConfigTree,
    pub seeds: ConfigTree,
    pub snapshots: ConfigTree,
    /// `data_tests:` (or legacy `tests:`) tree.
    pub tests: ConfigTree,
    pub sources: ConfigTree,
    pub analyses: ConfigTree,
    pub unit_tests: ConfigTree,
    pub exposures: ConfigTree,
    /// `on-run-start` / `on-run-end` hooks as written (a string or a list in YAML).
    pub on_run_start: Vec<String>,
    pub on_run_end: Vec<String>,
    /// Every discovered file, sorted by path.
    pub files: Vec<ProjectFile>,
    /// Properties YAML of this package, parsed.
    pub properties: Properties,
    /// Where this package's files are, relative to the project root (empty for the root
    /// project, `dbt_packages/<dir>/` for a package): prefix it to a [`ProjectFile::path`]
    /// or an [`crate::Origin::file`] to point at the file from the project root.
    pub path_prefix: String,
    /// The raw dbt_project.yml of this package.
    pub raw: Value,
}

/// A loaded project: the root package and the installed packages.
#[derive(Debug, Clone)]
pub struct Project {
    /// Absolute project directory.
    pub root: PathBuf,
    /// Root first, then packages sorted by name. Every package name is unique.
    pub packages: Vec<Package>,
    /// `require-dbt-version` as written (accepted, not enforced).
    pub require_dbt_version: Option<Value>,
    /// `target-path` (default `target`), relative to `root`.
    pub target_path: String,
    /// `clean-targets` (default `[target-path]`).
    pub clean_targets: Vec<String>,
    /// `packages-install-path` (default `dbt_packages`).
    pub packages_install_path: String,
    /// `dispatch:` entries of the root project.
    pub dispatch: Vec<DispatchEntry>,
    /// `flags:` of the root project.
    pub flags: IndexMap<String, Value>,
    /// `quoting:` of the root project.
    pub quoting: IndexMap<String, Value>,
    /// The raw root dbt_project.yml (for anything not modelled above).
    pub raw: Value,
    /// Warnings found while loading (unknown dbt_project.yml keys), for the caller to show.
    pub warnings: Vec<Diagnostic>,
}

impl Project {
    /// The root package.
    pub fn root_package(&self) -> &Package {
        &self.packages[0]
    }

    /// A package by name.
    pub fn package(&self, name: &str) -> Option<&Package> {
        self.packages.iter().find(|p| p.name == name)
    }
}

/// Loads the project at `options.project_dir` and the packages installed under its
/// `packages-install-path`: reads every dbt_project.yml, discovers files, parses
/// properties YAML. Reports every problem found (not just the first).
pub fn load_project(options: &LoadOptions) -> Result<Project, Vec<ProjectError>> {
    load(options, None)
}

/// [`load_project`], rendering Jinja (`"{{ env_var('DBT_PROFILE') }}"`) in the top-level
/// values of every dbt_project.yml first, as dbt does: everything but `vars`, the
/// `on-run-*` hooks and the config trees (`models:`, `seeds:`, ... are rendered later with
/// [`crate::render_config_strings`], once `target` is known).
pub fn load_project_with_render(
    options: &LoadOptions,
    render: &dyn Render,
) -> Result<Project, Vec<ProjectError>> {
    load(options, Some(render))
}

/// Top-level keys of dbt_project.yml that are not rendered at load time.
const UNRENDERED_KEYS: &[&str] = &[
    "vars",
    "on-run-start",
    "on-run-end",
    "models",
    "seeds",
    "snapshots",
    "data_tests",
    "tests",
    "sources",
    "analyses",
    "unit_tests",
    "exposures",
    "metrics",
    "semantic-models",
    "saved-queries",
];

/// Renders the top-level values of a parsed dbt_project.yml (see [`load_project_with_render`]).
fn render_project_values(
    raw: &mut Value,
    source: &str,
    label: &str,
    render: &dyn Render,
    errors: &mut Vec<ProjectError>,
) {
    let Value::Object(map) = raw else { return };
    let lines = yaml_lines::scan(source);
    for (key, value) in map.iter_mut() {
        if UNRENDERED_KEYS.contains(&key.as_str()) {
            continue;
        }
        let at = Location::new(label, lines.key_line(key), 0);
        if let Err(e) = render_strings(value, render, &at) {
            errors.push(e);
        }
    }
}

fn render_strings(
    value: &mut Value,
    render: &dyn Render,
    at: &Location,
) -> Result<(), ProjectError> {
    match value {
        Value::String(text) if text.contains("{{") || text.contains("{%") => {
            let rendered = render
                .render(text, at)
                .map_err(|message| ProjectError::Render {
                    source_text: text.clone(),
                    message,
                    at: at.clone(),
                })?;
            *text = rendered;
            Ok(())
        }
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|v| render_strings(v, render, at)),
        Value::Object(map) => map
            .values_mut()
            .try_for_each(|v| render_strings(v, render, at)),
        _ => Ok(()),
    }
}

fn load(options: &LoadOptions, render: Option<&dyn Render>) -> Result<Project, Vec<ProjectError>> {
    let root = absolute(&options.project_dir);
    let mut errors = Vec::new();
    let Some((mut raw, source)) = read_project_file(&root, "", &mut errors) else {
        return Err(errors);
    };
    let mut warnings = unknown_project_keys(&raw, &source, "dbt_project.yml");
    if let Some(r) = render {
        render_project_values(&mut raw, &source, "dbt_project.yml", r, &mut errors);
    }
    let lines = yaml_lines::scan(&source);
    let mut reader = FieldReader {
        file: "dbt_project.yml".to_owned(),
        lines: &lines,
        errors: &mut errors,
    };
    let obj = raw.as_object().cloned().unwrap_or_default();
    let target_path = reader
        .string(&obj, "target-path")
        .unwrap_or_else(|| "target".to_owned());
    let clean_targets = reader
        .string_list(&obj, "clean-targets")
        .unwrap_or_else(|| vec![target_path.clone()]);
    let packages_install_path = reader
        .string(&obj, "packages-install-path")
        .unwrap_or_else(|| "dbt_packages".to_owned());
    let dispatch = reader.dispatch(&obj);
    let flags = reader.dict(&obj, "flags");
    let quoting = reader.dict(&obj, "quoting");
    let require_dbt_version = obj.get("require-dbt-version").cloned();
    let root_pkg = package_from_raw(&raw, &root, true, "", &lines, &mut errors);

    // Installed packages: every directory under packages-install-path with a dbt_project.yml.
    let mut packages: Vec<Package> = Vec::new();
    let install_dir = root.join(&packages_install_path);
    if let Ok(entries) = std::fs::read_dir(&install_dir) {
        let mut dirs: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path())
            .filter(|p| p.join("dbt_project.yml").is_file())
            .collect();
        dirs.sort();
        for dir in dirs {
            let dir_name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let prefix = format!(
                "{}/{dir_name}/",
                packages_install_path.trim_end_matches('/')
            );
            let Some((mut praw, psource)) = read_project_file(&dir, &prefix, &mut errors) else {
                continue;
            };
            if let Some(r) = render {
                render_project_values(
                    &mut praw,
                    &psource,
                    &format!("{prefix}dbt_project.yml"),
                    r,
                    &mut errors,
                );
            }
            warnings.extend(unknown_project_keys(
                &praw,
                &psource,
                &format!("{prefix}dbt_project.yml"),
            ));
            let plines = yaml_lines::scan(&psource);
            if let Some(pkg) = package_from_raw(&praw, &dir, false, &prefix, &plines, &mut errors) {
                packages.push(pkg);
            }
        }
    }
    let Some(root_pkg) = root_pkg else {
        return Err(errors);
    };
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    let mut all = vec![root_pkg];
    for pkg in packages {
        if let Some(first) = all.iter().find(|p| p.name == pkg.name) {
            errors.push(ProjectError::Invalid {
                message: format!(
                    "two packages are named `{}`: {}dbt_project.yml and {}dbt_project.yml",
                    pkg.name, first.path_prefix, pkg.path_prefix
                ),
                at: Location::new(format!("{}dbt_project.yml", pkg.path_prefix), 0, 0),
                help: Some("remove one of them from packages.yml and run `dbt deps` again".into()),
            });
            continue;
        }
        all.push(pkg);
    }

    let skip_root = vec![target_path.clone(), packages_install_path.clone()];
    for pkg in &mut all {
        let skip: &[String] = if pkg.is_root { &skip_root } else { &[] };
        load_files(pkg, skip, &mut errors);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Project {
        root,
        packages: all,
        require_dbt_version,
        target_path,
        clean_targets,
        packages_install_path,
        dispatch,
        flags,
        quoting,
        raw,
        warnings,
    })
}

fn absolute(dir: &Path) -> PathBuf {
    if dir.as_os_str().is_empty() {
        return std::env::current_dir().unwrap_or_default();
    }
    if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(dir))
            .unwrap_or_else(|_| dir.to_path_buf())
    }
}

/// Reads and parses `<dir>/dbt_project.yml`; `prefix` is the dir relative to the project root.
fn read_project_file(
    dir: &Path,
    prefix: &str,
    errors: &mut Vec<ProjectError>,
) -> Option<(Value, String)> {
    let path = dir.join("dbt_project.yml");
    let label = format!("{prefix}dbt_project.yml");
    let source = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            errors.push(ProjectError::NoProjectFile {
                dir: dir.display().to_string(),
            });
            return None;
        }
        Err(e) => {
            errors.push(ProjectError::Io {
                path: label,
                reason: e.to_string(),
            });
            return None;
        }
    };
    match yaml::parse_yaml(&source, &label) {
        Ok(Value::Object(map)) => Some((Value::Object(map), source)),
        Ok(other) => {
            errors.push(ProjectError::Invalid {
                message: format!("{label} must be a mapping, found {}", type_name(&other)),
                at: Location::new(label, 1, 0),
                help: Some("start it with `name: my_project` and `version: '1.0.0'`".into()),
            });
            None
        }
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

/// Reads typed fields of a dbt_project.yml, recording errors with their lines.
struct FieldReader<'a> {
    file: String,
    lines: &'a LineNode<'a>,
    errors: &'a mut Vec<ProjectError>,
}

impl FieldReader<'_> {
    fn invalid(&mut self, key: &str, message: String, help: String) {
        let line = self.lines.key(key).map_or(0, |n| n.line);
        self.errors.push(ProjectError::Invalid {
            message,
            at: Location::new(&self.file, line, 0),
            help: Some(help),
        });
    }

    fn string(&mut self, obj: &Map<String, Value>, key: &str) -> Option<String> {
        match obj.get(key)? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            other => {
                let found = type_name(other);
                self.invalid(
                    key,
                    format!("`{key}` must be text, found {found}"),
                    format!("write `{key}: <text>`"),
                );
                None
            }
        }
    }

    fn string_list(&mut self, obj: &Map<String, Value>, key: &str) -> Option<Vec<String>> {
        match obj.get(key)? {
            Value::Null => None,
            Value::String(s) => Some(vec![s.clone()]),
            Value::Array(items) if items.iter().all(Value::is_string) => Some(
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
            ),
            other => {
                let found = type_name(other);
                self.invalid(
                    key,
                    format!("`{key}` must be a list of strings, found {found}"),
                    format!("write `{key}: [\"first\", \"second\"]`"),
                );
                None
            }
        }
    }

    fn dict(&mut self, obj: &Map<String, Value>, key: &str) -> IndexMap<String, Value> {
        match obj.get(key) {
            None | Some(Value::Null) => IndexMap::new(),
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Some(other) => {
                let found = type_name(other);
                self.invalid(
                    key,
                    format!("`{key}` must be a mapping, found {found}"),
                    format!("write `{key}:` as `name: value` lines"),
                );
                IndexMap::new()
            }
        }
    }

    fn tree(&mut self, obj: &Map<String, Value>, key: &str) -> ConfigTree {
        let raw = match obj.get(key) {
            None | Some(Value::Null) => Value::Null,
            Some(v @ Value::Object(_)) => v.clone(),
            Some(other) => {
                let found = type_name(other);
                self.invalid(
                    key,
                    format!("`{key}:` must be a mapping of configs and folders, found {found}"),
                    format!(
                        "write `{key}:` then `  <project name>:` then `    +materialized: view`"
                    ),
                );
                Value::Null
            }
        };
        ConfigTree {
            raw,
            file: self.file.clone(),
        }
    }

    /// `on-run-start` / `on-run-end`: a string or a list of strings.
    fn hooks(&mut self, obj: &Map<String, Value>, key: &str) -> Vec<String> {
        match obj.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(other) => {
                let found = type_name(other);
                self.invalid(
                    key,
                    format!("`{key}` must be a SQL string or a list of them, found {found}"),
                    format!("write `{key}: [\"grant usage on schema x to y\"]`"),
                );
                Vec::new()
            }
        }
    }

    fn dispatch(&mut self, obj: &Map<String, Value>) -> Vec<DispatchEntry> {
        let help = || {
            "write `dispatch:` as a list of `- macro_namespace: pkg` with `search_order: [a, b]`"
                .to_owned()
        };
        let items = match obj.get("dispatch") {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(other) => {
                let found = type_name(other);
                self.invalid(
                    "dispatch",
                    format!("`dispatch` must be a list, found {found}"),
                    help(),
                );
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for item in items {
            let namespace = item.get("macro_namespace").and_then(Value::as_str);
            let order = item.get("search_order").and_then(Value::as_array);
            match (namespace, order) {
                (Some(ns), Some(order)) if order.iter().all(Value::is_string) => out.push(DispatchEntry {
                    macro_namespace: ns.to_owned(),
                    search_order: order.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
                }),
                _ => self.invalid(
                    "dispatch",
                    "a `dispatch` entry needs `macro_namespace` (text) and `search_order` (list of package names)".into(),
                    help(),
                ),
            }
        }
        out
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Builds a package (without files) from its parsed dbt_project.yml.
fn package_from_raw(
    raw: &Value,
    dir: &Path,
    is_root: bool,
    prefix: &str,
    lines: &LineNode<'_>,
    errors: &mut Vec<ProjectError>,
) -> Option<Package> {
    let obj = raw.as_object()?;
    let file = format!("{prefix}dbt_project.yml");
    let mut r = FieldReader {
        file: file.clone(),
        lines,
        errors,
    };
    let name = match obj.get("name") {
        Some(Value::String(n)) if is_identifier(n) => n.clone(),
        Some(Value::String(n)) => {
            r.invalid(
                "name",
                format!("project name `{n}` is not valid"),
                "use letters, digits and underscores only, starting with a letter, e.g. `name: my_project`".into(),
            );
            return None;
        }
        _ => {
            r.errors.push(ProjectError::Invalid {
                message: format!("{file} has no `name:`"),
                at: Location::new(&file, 1, 0),
                help: Some("add `name: my_project` (letters, digits and underscores)".into()),
            });
            return None;
        }
    };
    if let Some(cv) = obj.get("config-version")
        && cv.as_i64() != Some(2)
    {
        r.invalid(
            "config-version",
            format!("config-version {cv} is not supported"),
            "write `config-version: 2` (or leave the key out)".into(),
        );
    }
    let paths = |r: &mut FieldReader<'_>,
                 key: &str,
                 legacy: Option<&str>,
                 default: &[&str]|
     -> Vec<String> {
        let found = if obj.contains_key(key) {
            r.string_list(obj, key)
        } else {
            legacy.and_then(|l| r.string_list(obj, l))
        };
        found.unwrap_or_else(|| default.iter().map(|s| (*s).to_owned()).collect())
    };
    let model_paths = paths(&mut r, "model-paths", Some("source-paths"), &["models"]);
    let seed_paths = paths(&mut r, "seed-paths", Some("data-paths"), &["seeds"]);
    let test_paths = paths(&mut r, "test-paths", None, &["tests"]);
    let macro_paths = paths(&mut r, "macro-paths", None, &["macros"]);
    let snapshot_paths = paths(&mut r, "snapshot-paths", None, &["snapshots"]);
    let analysis_paths = paths(&mut r, "analysis-paths", None, &["analyses"]);
    let docs_paths = match r.string_list(obj, "docs-paths") {
        Some(p) => p,
        None => {
            // dbt's default: every resource path, once each.
            let mut all: Vec<String> = Vec::new();
            for p in [
                &model_paths,
                &seed_paths,
                &snapshot_paths,
                &analysis_paths,
                &macro_paths,
                &test_paths,
            ]
            .into_iter()
            .flatten()
            {
                let p = p.trim_end_matches('/').to_owned();
                if !all.contains(&p) {
                    all.push(p);
                }
            }
            all
        }
    };
    let asset_paths = r.string_list(obj, "asset-paths").unwrap_or_default();
    let tests_key = if obj.contains_key("data_tests") {
        "data_tests"
    } else {
        "tests"
    };
    Some(Package {
        version: r.string(obj, "version"),
        profile: r.string(obj, "profile"),
        vars: r.dict(obj, "vars"),
        models: r.tree(obj, "models"),
        seeds: r.tree(obj, "seeds"),
        snapshots: r.tree(obj, "snapshots"),
        tests: r.tree(obj, tests_key),
        sources: r.tree(obj, "sources"),
        analyses: r.tree(obj, "analyses"),
        unit_tests: r.tree(obj, "unit_tests"),
        exposures: r.tree(obj, "exposures"),
        on_run_start: r.hooks(obj, "on-run-start"),
        on_run_end: r.hooks(obj, "on-run-end"),
        name,
        is_root,
        root: dir.to_path_buf(),
        model_paths,
        seed_paths,
        test_paths,
        macro_paths,
        snapshot_paths,
        analysis_paths,
        docs_paths,
        asset_paths,
        files: Vec::new(),
        properties: Properties::default(),
        path_prefix: prefix.to_owned(),
        raw: raw.clone(),
    })
}

/// What reading and parsing one file produced.
enum Parsed {
    None,
    Properties(Properties),
    Docs(Vec<crate::DocBlock>),
}

/// Discovers, reads (in parallel) and parses the files of `pkg`.
fn load_files(pkg: &mut Package, skip: &[String], errors: &mut Vec<ProjectError>) {
    let paths = ResourcePaths {
        model: &pkg.model_paths,
        seed: &pkg.seed_paths,
        test: &pkg.test_paths,
        macros: &pkg.macro_paths,
        snapshot: &pkg.snapshot_paths,
        analysis: &pkg.analysis_paths,
        docs: &pkg.docs_paths,
    };
    let listed = discover(&pkg.root, &paths, skip);
    let root = &pkg.root;
    let prefix = &pkg.path_prefix;
    let results: Vec<(Option<ProjectFile>, Parsed, Vec<ProjectError>)> = listed
        .into_par_iter()
        .map(|(kind, path, resource_path)| {
            let abs_path = root.join(&path);
            let label = format!("{prefix}{path}");
            let contents: Arc<str> = if kind == FileKind::Seed {
                Arc::from("")
            } else {
                match std::fs::read(&abs_path) {
                    Ok(bytes) => match String::from_utf8(bytes) {
                        Ok(mut text) => {
                            if text.starts_with('\u{feff}') {
                                text.drain(..3);
                            }
                            Arc::from(text)
                        }
                        Err(_) => {
                            let err = ProjectError::Io {
                                path: label,
                                reason: "the file is not valid UTF-8".into(),
                            };
                            return (None, Parsed::None, vec![err]);
                        }
                    },
                    Err(e) => {
                        return (
                            None,
                            Parsed::None,
                            vec![ProjectError::Io {
                                path: label,
                                reason: e.to_string(),
                            }],
                        );
                    }
                }
            };
            let (parsed, errs) = match kind {
                FileKind::Properties => {
                    let (props, errs) = parse_properties_file(&path, &label, &contents);
                    (Parsed::Properties(props), errs)
                }
                FileKind::Docs => {
                    let (docs, errs) = parse_docs_file(&path, &label, &contents);
                    (Parsed::Docs(docs), errs)
                }
                _ => (Parsed::None, Vec::new()),
            };
            (
                Some(ProjectFile {
                    kind,
                    path,
                    resource_path,
                    abs_path,
                    contents,
                }),
                parsed,
                errs,
            )
        })
        .collect();
    let mut files = Vec::with_capacity(results.len());
    let mut props = Properties::default();
    for (file, parsed, errs) in results {
        files.extend(file);
        errors.extend(errs);
        match parsed {
            Parsed::Properties(p) => props.append(p),
            Parsed::Docs(d) => props.docs.extend(d),
            Parsed::None => {}
        }
    }
    check_duplicates(&props, prefix, errors);
    pkg.files = files;
    pkg.properties = props;
}

/// dbt refuses two properties entries (or docs blocks) for the same resource in one
/// package: report the second one, naming where the first is.
fn check_duplicates(props: &Properties, prefix: &str, errors: &mut Vec<ProjectError>) {
    use crate::Origin;
    let mut groups: Vec<(&str, Vec<(String, &Origin)>)> = vec![
        (
            "model",
            props
                .models
                .iter()
                .map(|n| (n.name.clone(), &n.origin))
                .collect(),
        ),
        (
            "seed",
            props
                .seeds
                .iter()
                .map(|n| (n.name.clone(), &n.origin))
                .collect(),
        ),
        (
            "snapshot",
            props
                .snapshots
                .iter()
                .map(|n| (n.name.clone(), &n.origin))
                .collect(),
        ),
        (
            "analysis",
            props
                .analyses
                .iter()
                .map(|n| (n.name.clone(), &n.origin))
                .collect(),
        ),
        (
            "macro",
            props
                .macros
                .iter()
                .map(|n| (n.name.clone(), &n.origin))
                .collect(),
        ),
        (
            "exposure",
            props
                .exposures
                .iter()
                .map(|n| (n.name.clone(), &n.origin))
                .collect(),
        ),
        (
            "unit test",
            props
                .unit_tests
                .iter()
                .map(|n| (n.name.clone(), &n.origin))
                .collect(),
        ),
        (
            "docs block",
            props
                .docs
                .iter()
                .map(|n| (n.name.clone(), &n.origin))
                .collect(),
        ),
    ];
    groups.push((
        "source table",
        props
            .sources
            .iter()
            .flat_map(|s| {
                s.tables
                    .iter()
                    .map(move |t| (format!("{}.{}", s.name, t.name), &t.origin))
            })
            .collect(),
    ));
    for (kind, entries) in groups {
        let mut seen: IndexMap<&str, &Origin> = IndexMap::new();
        for (name, origin) in &entries {
            if let Some(first) = seen.get(name.as_str()) {
                let help = if kind == "docs block" {
                    "rename or remove one of the two blocks"
                } else {
                    "merge the two entries into one"
                };
                errors.push(ProjectError::Invalid {
                    message: format!(
                        "{kind} `{name}` is defined twice (first at {prefix}{}:{})",
                        first.file, first.line
                    ),
                    at: Location::new(format!("{prefix}{}", origin.file), origin.line, 0),
                    help: Some(help.into()),
                });
            } else {
                seen.insert(name, origin);
            }
        }
    }
}

/// Top-level keys dbt-core 1.10 reads from dbt_project.yml.
const PROJECT_KEYS: &[&str] = &[
    "name",
    "version",
    "config-version",
    "profile",
    "model-paths",
    "source-paths",
    "seed-paths",
    "data-paths",
    "test-paths",
    "analysis-paths",
    "macro-paths",
    "snapshot-paths",
    "docs-paths",
    "asset-paths",
    "target-path",
    "log-path",
    "packages-install-path",
    "clean-targets",
    "query-comment",
    "require-dbt-version",
    "restrict-access",
    "dbt-cloud",
    "quoting",
    "on-run-start",
    "on-run-end",
    "dispatch",
    "flags",
    "vars",
    "packages",
    "models",
    "seeds",
    "snapshots",
    "analyses",
    "sources",
    "tests",
    "data_tests",
    "unit_tests",
    "metrics",
    "semantic-models",
    "saved-queries",
    "exposures",
];

/// Warnings for top-level keys of a dbt_project.yml that dbt does not know, with the
/// closest known key when there is one (`model-path` -> `model-paths`).
fn unknown_project_keys(raw: &Value, source: &str, label: &str) -> Vec<Diagnostic> {
    let Value::Object(map) = raw else {
        return Vec::new();
    };
    let lines = yaml_lines::scan(source);
    let mut out = Vec::new();
    for key in map.keys() {
        if PROJECT_KEYS.contains(&key.as_str()) {
            continue;
        }
        let (line, column) = lines.key(key).map_or((0, 0), |n| (n.line, n.column));
        let d = Diagnostic::warning(
            "unknown-project-key",
            format!("`{key}` is not a dbt_project.yml key; it is ignored"),
        )
        .at_in(Location::new(label, line, column), source)
        .with_span_len(key.chars().count() as u32);
        out.push(match closest(key, PROJECT_KEYS.iter().copied()) {
            Some(c) => d.with_help(format!("did you mean `{c}`?")),
            None => d.with_help("remove it, or move it under `vars:` if templates read it"),
        });
    }
    out
}
