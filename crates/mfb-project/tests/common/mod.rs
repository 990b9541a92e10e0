//! Shared helpers of the integration tests: fixture paths and a tiny `Render` seam that
//! understands `{{ env_var('X', 'default') }}` and `| int` (the real renderer is the Jinja
//! runtime in mfb-jinja; this crate only needs something that renders).

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use mfb_diagnostics::Location;
use mfb_project::{LoadOptions, Project, ProjectError, Render, load_project};
use regex::Regex;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn load(name: &str) -> Project {
    match load_project(&LoadOptions {
        project_dir: fixture(name),
    }) {
        Ok(p) => p,
        Err(errors) => panic!("fixture {name} failed to load: {errors:#?}"),
    }
}

pub fn load_err(name: &str) -> Vec<ProjectError> {
    match load_project(&LoadOptions {
        project_dir: fixture(name),
    }) {
        Ok(_) => panic!("fixture {name} loaded but should not"),
        Err(errors) => errors,
    }
}

/// Renders `env_var()` calls from a fixed environment.
pub struct EnvRender {
    pub env: HashMap<String, String>,
    pattern: Regex,
}

impl EnvRender {
    pub fn new(vars: &[(&str, &str)]) -> Self {
        EnvRender {
            env: vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            pattern: Regex::new(
                r"\{\{\s*env_var\(\s*'([^']+)'\s*(?:,\s*'([^']*)'\s*)?\)\s*(\|\s*int\s*)?\}\}",
            )
            .unwrap(),
        }
    }
}

impl Render for EnvRender {
    fn render(&self, source: &str, _at: &Location) -> Result<String, String> {
        let mut error = None;
        let out = self
            .pattern
            .replace_all(source, |caps: &regex::Captures<'_>| {
                let name = &caps[1];
                let value = self
                    .env
                    .get(name)
                    .cloned()
                    .or_else(|| caps.get(2).map(|d| d.as_str().to_owned()));
                match value {
                    Some(v) => {
                        if caps.get(3).is_some() && v.trim().parse::<i64>().is_err() {
                            error = Some(format!("cannot convert `{v}` of {name} to int"));
                        }
                        v
                    }
                    None => {
                        error = Some(format!("Env var required but not provided: '{name}'"));
                        String::new()
                    }
                }
            });
        match error {
            Some(e) => Err(e),
            None => Ok(out.into_owned()),
        }
    }
}
