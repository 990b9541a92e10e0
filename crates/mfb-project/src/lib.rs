//! Reads a dbt project from disk into typed structs.
//!
//! This crate owns everything about files: `dbt_project.yml` (of the root project and of
//! each package under `dbt_packages/`), `profiles.yml`, discovery of models, macros, tests,
//! seeds, snapshots, analyses and docs, properties YAML (`schema.yml`, `sources.yml`), and
//! the config precedence rules of dbt_project.yml trees. It does not render Jinja: strings
//! that need rendering (profile values, Jinja in config values) are handed to a
//! [`Render`] implementation supplied by the caller (the Jinja runtime lives higher up).
//!
//! Every value read from YAML is kept as a [`serde_json::Value`] (object keys keep their
//! file order) together with the file and line it came from, so that later stages can
//! point errors at the right place.

pub mod config;
mod docs_blocks;
pub mod error;
pub mod files;
mod ignore;
pub mod profile;
pub mod project;
pub mod properties;
mod property_files;
mod yaml;
mod yaml_fast;
mod yaml_lines;

pub use config::{
    ConfigLayer, ConfigTree, NodeConfig, known_config_keys, merge_config, native_value,
    render_config_strings, render_config_tree, unknown_config_keys,
};
pub use error::ProjectError;
pub use files::{FileKind, ProjectFile};
pub use profile::{Profile, ProfileTarget, load_profile, load_profile_with_env};
pub use project::{
    DispatchEntry, LoadOptions, Package, Project, load_project, load_project_with_render,
};
pub use properties::{
    ColumnProps, DocBlock, ExposureProps, MacroProps, NodeProps, Origin, Properties, SourceProps,
    SourceTableProps, TestSpec, UnitTestProps,
};

/// The seam through which this crate renders Jinja strings found in YAML.
///
/// `mfb-exec` implements it with the Jinja runtime (context: `env_var`, `var`, `target`).
pub trait Render {
    /// Renders `source` (a YAML string that contains `{{` or `{%`) found at `location`.
    /// Returns the rendered text, or a one-line error message.
    fn render(&self, source: &str, location: &mfb_diagnostics::Location) -> Result<String, String>;
}
