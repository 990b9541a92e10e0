//! Errors of project loading. Each carries the file (and line where known).

use mfb_diagnostics::{Diagnostic, IntoDiagnostic, Location};

/// Everything that can go wrong reading a project from disk.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// No `dbt_project.yml` in the project directory.
    #[error("no dbt_project.yml in {dir}")]
    NoProjectFile { dir: String },
    /// A file could not be read.
    #[error("cannot read {path}: {reason}")]
    Io { path: String, reason: String },
    /// YAML syntax error.
    #[error("invalid YAML: {message}")]
    Yaml { message: String, at: Location },
    /// A value has the wrong shape (e.g. `models:` is a list).
    #[error("{message}")]
    Invalid { message: String, at: Location, help: Option<String> },
    /// Jinja in a YAML value failed to render.
    #[error("cannot render `{source_text}`: {message}")]
    Render { source_text: String, message: String, at: Location },
    /// profiles.yml was not found in any of the searched directories.
    #[error("could not find profiles.yml (looked in {searched})")]
    NoProfiles { searched: String },
    /// The profile named by dbt_project.yml is not in profiles.yml.
    #[error("profile `{profile}` is not in {file}")]
    UnknownProfile { profile: String, file: String, available: Vec<String> },
    /// The selected target is not in the profile.
    #[error("target `{target}` is not in profile `{profile}`")]
    UnknownTarget { target: String, profile: String, available: Vec<String>, file: String },
}

impl IntoDiagnostic for ProjectError {
    fn into_diagnostic(self) -> Diagnostic {
        todo!("mfb-project helper: one stable code per variant, location, help")
    }
}
