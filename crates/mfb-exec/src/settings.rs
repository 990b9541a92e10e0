//! Everything a command decided before the engine runs (resolved from flags by the CLI).

use std::path::PathBuf;

use indexmap::IndexMap;
use mfb_graph::SelectionCriteria;

/// Resolved command settings. Paths are absolute.
#[derive(Clone, Default)]
pub struct Settings {
    /// `--project-dir` (default: the current directory).
    pub project_dir: PathBuf,
    /// `--profiles-dir`, if given.
    pub profiles_dir: Option<PathBuf>,
    /// `--target`, if given.
    pub target: Option<String>,
    /// `--vars` (parsed YAML mapping).
    pub vars: IndexMap<String, serde_json::Value>,
    /// `--threads`, if given.
    pub threads: Option<u32>,
    /// `--target-path`, if given (relative to the project dir).
    pub target_path: Option<PathBuf>,
    /// `--select` / `--exclude` / `--selector`.
    pub selection: SelectionCriteria,
    /// `--state DIR`.
    pub state: Option<PathBuf>,
    /// `--full-refresh`.
    pub full_refresh: bool,
    /// `--store-failures` (`mfb test`, `mfb build`).
    pub store_failures: bool,
    /// The command being run (`parse`, `compile`, `ls`, ...), for `flags.WHICH`.
    pub which: String,
    /// The invocation id (`invocation_id` in templates and artifacts); a new one if None.
    pub invocation_id: Option<String>,
    /// Where `log()`, `print()` and `exceptions.warn()` output goes (the CLI prints it).
    pub log: Option<std::sync::Arc<dyn mfb_jinja::LogSink>>,
    /// Replaces the profile target's `schema` (a per-tenant build's `tenant_<id>`), so
    /// `target.schema`, `generate_schema_name` and every relation follow it.
    pub schema_override: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("project_dir", &self.project_dir)
            .field("profiles_dir", &self.profiles_dir)
            .field("target", &self.target)
            .field("which", &self.which)
            .field("schema_override", &self.schema_override)
            .finish_non_exhaustive()
    }
}
