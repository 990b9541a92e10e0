//! `profiles.yml`: finding it, choosing the profile and target, rendering `env_var()`.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::Value;

use crate::{ProjectError, Render};

/// A whole profile as read (all targets), for `mfb debug`.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Profile name.
    pub name: String,
    /// The `target:` default of the profile.
    pub default_target: String,
    /// Target names in file order.
    pub targets: Vec<String>,
    /// The profiles.yml this came from.
    pub file: PathBuf,
}

/// The selected target of the profile, with every value rendered.
#[derive(Debug, Clone)]
pub struct ProfileTarget {
    /// Profile name.
    pub profile_name: String,
    /// Target name (`target.name`).
    pub target_name: String,
    /// `type` (e.g. `postgres`).
    pub adapter_type: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    /// `dbname` (or `database`).
    pub dbname: String,
    pub schema: String,
    pub threads: u32,
    pub sslmode: Option<String>,
    pub connect_timeout: Option<u64>,
    pub keepalives_idle: Option<u64>,
    pub search_path: Option<String>,
    pub role: Option<String>,
    pub sslrootcert: Option<String>,
    pub sslcert: Option<String>,
    pub sslkey: Option<String>,
    /// Every rendered field as written (for `target.<anything>` in Jinja), password included.
    pub fields: IndexMap<String, Value>,
    /// The profiles.yml this came from.
    pub file: PathBuf,
}

/// Finds profiles.yml (`explicit_dir`, then `$DBT_PROFILES_DIR`, then `project_dir`,
/// then `~/.dbt`), picks `profile_name` and the target (`target_override`, then
/// `$DBT_TARGET`, then the profile's `target:`), renders every string value that contains
/// Jinja with `render`, and converts types (`port: "{{ env_var('PGPORT') | int }}"` -> 5432).
pub fn load_profile(
    explicit_dir: Option<&Path>,
    project_dir: &Path,
    profile_name: &str,
    target_override: Option<&str>,
    render: &dyn Render,
) -> Result<(Profile, ProfileTarget), ProjectError> {
    let _ = (explicit_dir, project_dir, profile_name, target_override, render);
    todo!("mfb-project helper")
}
