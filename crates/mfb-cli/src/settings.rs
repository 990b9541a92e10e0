//! Raw flags → [`mfb_exec::Settings`]: paths made absolute, `--vars` parsed, selection
//! collected. Engine crates never see clap.

use std::path::PathBuf;

use indexmap::IndexMap;
use mfb_diagnostics::Diagnostic;
use mfb_graph::SelectionCriteria;

use crate::args::{GlobalArgs, SelectArgs};

fn absolute(p: PathBuf) -> PathBuf {
    if p.is_absolute() {
        p
    } else {
        std::env::current_dir().map(|c| c.join(&p)).unwrap_or(p)
    }
}

/// Parses `--vars` (a YAML mapping).
pub fn parse_vars(text: &str) -> Result<IndexMap<String, serde_json::Value>, Diagnostic> {
    if text.trim().is_empty() {
        return Ok(IndexMap::new());
    }
    let value: serde_json::Value = serde_yaml::from_str(text).map_err(|e| {
        Diagnostic::error("vars-invalid", format!("--vars is not valid YAML: {e}"))
            .with_help("pass a mapping, e.g. --vars '{start_date: 2024-01-01, tenants: [co, nc]}'")
    })?;
    match value {
        serde_json::Value::Object(map) => Ok(map.into_iter().collect()),
        serde_json::Value::Null => Ok(IndexMap::new()),
        other => Err(Diagnostic::error(
            "vars-invalid",
            format!("--vars must be a YAML mapping, got `{other}`"),
        )
        .with_help("pass a mapping, e.g. --vars '{key: value}'")),
    }
}

/// Resolves the settings of one command.
pub fn resolve(
    global: &GlobalArgs,
    select: Option<&SelectArgs>,
    which: &str,
    full_refresh: bool,
) -> Result<mfb_exec::Settings, Diagnostic> {
    let project_dir = absolute(
        global
            .project_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(".")),
    );
    if !project_dir.join("dbt_project.yml").is_file() {
        return Err(Diagnostic::error(
            "project-file-missing",
            format!("no dbt_project.yml in {}", project_dir.display()),
        )
        .with_help("run mfb inside a dbt project, or pass --project-dir DIR"));
    }
    let vars = match &global.vars {
        Some(v) => parse_vars(v)?,
        None => IndexMap::new(),
    };
    let selection = select.map_or_else(SelectionCriteria::default, |s| SelectionCriteria {
        select: s.select.clone(),
        exclude: s.exclude.clone(),
        selector: s.selector.clone(),
    });
    Ok(mfb_exec::Settings {
        project_dir,
        profiles_dir: global.profiles_dir.clone().map(absolute),
        target: global.target.clone(),
        vars,
        threads: global.threads,
        target_path: global.target_path.clone(),
        selection,
        state: select.and_then(|s| s.state.clone()).map(absolute),
        full_refresh,
        store_failures: false,
        which: which.to_owned(),
        invocation_id: None,
        log: None,
        schema_override: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_must_be_a_mapping() {
        assert_eq!(
            parse_vars("{a: 1, b: [x]}").unwrap()["b"],
            serde_json::json!(["x"])
        );
        assert!(parse_vars("[1, 2]").is_err());
        assert!(parse_vars("{a: ").is_err());
        assert!(parse_vars("").unwrap().is_empty());
    }
}
