//! `profiles.yml`: finding it, choosing the profile and target, rendering `env_var()`.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use mfb_diagnostics::Location;
use serde_json::{Map, Value};

use crate::config::native_value;
use crate::property_files::type_name;
use crate::yaml_lines;
use crate::{ProjectError, Render, yaml};

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

/// Finds profiles.yml, picks `profile_name` and the target, renders every string value
/// that contains Jinja with `render`, and converts types (`port: "{{ env_var('PGPORT') | int }}"`
/// -> 5432).
///
/// Like dbt, the directory is `explicit_dir` (`--profiles-dir`) if given, else
/// `$DBT_PROFILES_DIR` if set, else the first of `project_dir` and `~/.dbt` that holds a
/// profiles.yml. The target is `target_override` (`--target`), else `$DBT_TARGET`, else the
/// profile's `target:`, else `default`. Defaults: port 5432, threads 1.
pub fn load_profile(
    explicit_dir: Option<&Path>,
    project_dir: &Path,
    profile_name: &str,
    target_override: Option<&str>,
    render: &dyn Render,
) -> Result<(Profile, ProfileTarget), ProjectError> {
    load_profile_with_env(
        explicit_dir,
        project_dir,
        profile_name,
        target_override,
        render,
        &|name| std::env::var(name).ok(),
    )
}

/// [`load_profile`] reading environment variables (`DBT_PROFILES_DIR`, `DBT_TARGET`,
/// `HOME`) through `env` instead of the process environment.
pub fn load_profile_with_env(
    explicit_dir: Option<&Path>,
    project_dir: &Path,
    profile_name: &str,
    target_override: Option<&str>,
    render: &dyn Render,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Profile, ProfileTarget), ProjectError> {
    let file = find_profiles(explicit_dir, project_dir, env)?;
    let label = file.display().to_string();
    let source = std::fs::read_to_string(&file).map_err(|e| ProjectError::Io {
        path: label.clone(),
        reason: e.to_string(),
    })?;
    let value = yaml::parse_yaml(&source, &label)?;
    let lines = yaml_lines::scan(&source);
    let empty = yaml_lines::empty();
    let invalid = |line: u32, message: String, help: &str| ProjectError::Invalid {
        message,
        at: Location::new(&label, line, 0),
        help: Some(help.to_owned()),
    };
    let top = match &value {
        Value::Object(m) => m.clone(),
        Value::Null => Map::new(),
        other => {
            return Err(invalid(
                1,
                format!(
                    "profiles.yml must be a mapping of profile names, found {}",
                    type_name(other)
                ),
                "write `my_profile:` with `target: dev` and `outputs:` below it",
            ));
        }
    };
    let available: Vec<String> = top
        .keys()
        .filter(|k| k.as_str() != "config")
        .cloned()
        .collect();
    let Some(profile_value) = top.get(profile_name).filter(|_| profile_name != "config") else {
        return Err(ProjectError::UnknownProfile {
            profile: profile_name.to_owned(),
            file: label,
            available,
        });
    };
    let profile_lines = lines.key(profile_name).unwrap_or(&empty);
    let Value::Object(profile_map) = profile_value else {
        return Err(invalid(
            profile_lines.line,
            format!(
                "profile `{profile_name}` must be a mapping, found {}",
                type_name(profile_value)
            ),
            "give the profile `target: dev` and an `outputs:` mapping of targets",
        ));
    };
    let outputs = match profile_map.get("outputs") {
        Some(Value::Object(o)) => o,
        other => {
            return Err(invalid(
                profile_lines.key_line("outputs"),
                format!(
                    "profile `{profile_name}` needs an `outputs:` mapping of targets, found {}",
                    other.map_or("nothing", type_name)
                ),
                "add `outputs:` with a `dev:` target holding type, host, user, password, port, dbname, schema",
            ));
        }
    };
    let outputs_lines = profile_lines.key("outputs").unwrap_or(&empty);
    let targets: Vec<String> = outputs.keys().cloned().collect();
    let default_target = match profile_map.get("target") {
        Some(Value::String(t)) => render_text(
            t,
            render,
            Location::new(&label, profile_lines.key_line("target"), 0),
        )?,
        Some(other) if !other.is_null() => other.to_string(),
        _ => "default".to_owned(),
    };
    let target_name = target_override
        .map(str::to_owned)
        .or_else(|| env("DBT_TARGET").filter(|t| !t.is_empty()))
        .unwrap_or_else(|| default_target.clone());
    let profile = Profile {
        name: profile_name.to_owned(),
        default_target,
        targets: targets.clone(),
        file: file.clone(),
    };
    let Some(Value::Object(target_map)) = outputs.get(&target_name) else {
        if outputs.contains_key(&target_name) {
            return Err(invalid(
                outputs_lines.key_line(&target_name),
                format!("target `{target_name}` of profile `{profile_name}` must be a mapping"),
                "list the connection fields (type, host, user, ...) under the target name",
            ));
        }
        return Err(ProjectError::UnknownTarget {
            target: target_name,
            profile: profile_name.to_owned(),
            available: targets,
            file: label,
        });
    };
    let target_lines = outputs_lines.key(&target_name).unwrap_or(&empty);
    let mut fields: IndexMap<String, Value> = IndexMap::new();
    for (key, raw) in target_map {
        let at = Location::new(&label, target_lines.key_line(key), 0);
        let mut v = raw.clone();
        render_value(&mut v, render, &at).map_err(|e| hide_secret(key, e))?;
        if NUMERIC_FIELDS.contains(&key.as_str())
            && let Value::String(s) = &v
        {
            v = native_value(s);
        }
        fields.insert(key.clone(), v);
    }
    let what = format!("target `{target_name}` of profile `{profile_name}`");
    let target_line = target_lines.line;
    let field_line = |key: &str| target_lines.key_line(key);
    let text = |key: &str| -> Result<Option<String>, ProjectError> {
        match fields.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(other) => Err(invalid(
                field_line(key),
                format!("`{key}` of {what} must be text, found {}", type_name(other)),
                &format!("write `{key}:` as a string"),
            )),
        }
    };
    let required = |key: &str, alt: Option<&str>| -> Result<String, ProjectError> {
        if let Some(v) = text(key)? {
            return Ok(v);
        }
        if let Some(alt) = alt
            && let Some(v) = text(alt)?
        {
            return Ok(v);
        }
        Err(invalid(
            target_line,
            format!("{what} has no `{key}:`"),
            &format!("add `{key}:` to the target"),
        ))
    };
    let number = |key: &str| -> Result<Option<u64>, ProjectError> {
        match fields.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
            Some(other) => Err(invalid(
                field_line(key),
                format!(
                    "`{key}` of {what} must be a whole number, found {}",
                    describe(key, other)
                ),
                &format!("write `{key}: 10`, or render a number with `| int`"),
            )),
        }
    };
    let adapter_type = required("type", None)?;
    let host = required("host", None)?;
    let user = required("user", None)?;
    // The password is never put into a message: only its key is named.
    let password = match text("password")? {
        Some(p) => p,
        None => text("pass")?.unwrap_or_default(),
    };
    let dbname = required("dbname", Some("database"))?;
    let schema = required("schema", None)?;
    let port = match number("port")? {
        None => 5432,
        Some(p) => u16::try_from(p).map_err(|_| {
            invalid(
                field_line("port"),
                format!("port {p} of {what} is out of range"),
                "use a port between 1 and 65535",
            )
        })?,
    };
    let threads = match number("threads")? {
        None => 1,
        Some(0) => {
            return Err(invalid(
                field_line("threads"),
                format!("`threads` of {what} must be at least 1"),
                "write `threads: 4`",
            ));
        }
        Some(t) => u32::try_from(t).unwrap_or(u32::MAX),
    };
    let target = ProfileTarget {
        profile_name: profile_name.to_owned(),
        target_name,
        adapter_type,
        host,
        port,
        user,
        password,
        dbname,
        schema,
        threads,
        sslmode: text("sslmode")?,
        connect_timeout: number("connect_timeout")?,
        keepalives_idle: number("keepalives_idle")?,
        search_path: text("search_path")?,
        role: text("role")?,
        sslrootcert: text("sslrootcert")?,
        sslcert: text("sslcert")?,
        sslkey: text("sslkey")?,
        fields,
        file,
    };
    Ok((profile, target))
}

/// Target fields read as numbers after rendering.
const NUMERIC_FIELDS: &[&str] = &[
    "port",
    "threads",
    "connect_timeout",
    "keepalives_idle",
    "retries",
];

fn is_secret(key: &str) -> bool {
    key.contains("pass") || key.contains("secret") || key.contains("token")
}

/// A render failure of a secret field does not quote the field's text: a literal password
/// that happens to contain `{{` would otherwise end up in the message.
fn hide_secret(key: &str, e: ProjectError) -> ProjectError {
    match e {
        ProjectError::Render { message, at, .. } if is_secret(key) => ProjectError::Render {
            source_text: format!("<value of `{key}`>"),
            message,
            at,
        },
        other => other,
    }
}

/// A value for a message; never the value of a secret.
fn describe(key: &str, v: &Value) -> String {
    if is_secret(key) {
        type_name(v).to_owned()
    } else {
        format!(
            "{} `{}`",
            type_name(v),
            v.as_str().map_or_else(|| v.to_string(), str::to_owned)
        )
    }
}

fn find_profiles(
    explicit_dir: Option<&Path>,
    project_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<PathBuf, ProjectError> {
    let candidates: Vec<PathBuf> = if let Some(dir) = explicit_dir {
        vec![dir.to_path_buf()]
    } else if let Some(dir) = env("DBT_PROFILES_DIR").filter(|d| !d.is_empty()) {
        vec![PathBuf::from(dir)]
    } else {
        let mut dirs = vec![project_dir.to_path_buf()];
        if let Some(home) = env("HOME")
            .or_else(|| env("USERPROFILE"))
            .filter(|h| !h.is_empty())
        {
            dirs.push(Path::new(&home).join(".dbt"));
        }
        dirs
    };
    for dir in &candidates {
        let file = dir.join("profiles.yml");
        if file.is_file() {
            return Ok(file);
        }
    }
    let searched = candidates
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Err(ProjectError::NoProfiles { searched })
}

fn render_text(text: &str, render: &dyn Render, at: Location) -> Result<String, ProjectError> {
    if !(text.contains("{{") || text.contains("{%")) {
        return Ok(text.to_owned());
    }
    render
        .render(text, &at)
        .map_err(|message| ProjectError::Render {
            source_text: text.to_owned(),
            message,
            at,
        })
}

/// Renders every Jinja string inside `v` (strings stay strings here).
fn render_value(v: &mut Value, render: &dyn Render, at: &Location) -> Result<(), ProjectError> {
    match v {
        Value::String(s) => {
            *s = render_text(s, render, at.clone())?;
            Ok(())
        }
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|i| render_value(i, render, at)),
        Value::Object(map) => map
            .values_mut()
            .try_for_each(|i| render_value(i, render, at)),
        _ => Ok(()),
    }
}
