//! `dbt_project.yml` of the root project and of every installed package.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::Value;

use crate::{ConfigTree, ProjectError, ProjectFile, Properties};

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
    let _ = options;
    let _: Option<&Path> = None;
    todo!("mfb-project helper")
}
