//! `run-operation`: one macro called with keyword arguments at execution time.
//!
//! The macro is found like dbt finds it: `package.name` names its package; a bare name is
//! looked up in the root project, then in the installed packages, then among the built-in
//! macros. It renders with `execute` true and the invocation's warehouse, so `run_query`,
//! `statement`, `log` and `adapter.*` reach PostgreSQL. Each statement a macro runs is
//! committed when it completes (dbt commits too: a later error does not undo earlier
//! statements). Nothing here prints; `log()` goes to the settings' log sink.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use indexmap::IndexMap;
use mfb_diagnostics::{Diagnostic, IntoDiagnostic};
use mfb_jinja::{INTERNAL_PACKAGE, JinjaValue, NodeScope};
use serde_json::{Value, json};

use crate::Parsed;
use crate::compile::compile_context;
use crate::context::{CompileResolver, RefIndex};
use crate::results::now;

/// The name of the template that calls the macro (it appears in no user file).
const CALL_TEMPLATE: &str = "<run-operation>";

/// A macro found for `run-operation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroRef {
    pub package: String,
    pub name: String,
}

impl MacroRef {
    /// dbt's unique id, `macro.<package>.<name>`.
    pub fn unique_id(&self) -> String {
        format!("macro.{}.{}", self.package, self.name)
    }
}

/// How one operation ended.
#[derive(Debug)]
pub struct OperationResult {
    pub unique_id: String,
    /// The macro's error, if it raised one (compiler error, SQL error, ...).
    pub error: Option<Diagnostic>,
    pub started_at: String,
    pub completed_at: String,
    pub execution_time: f64,
}

/// Finds `spec` (`name` or `package.name`); an unknown macro is an error naming the
/// closest existing one.
pub fn find_macro(parsed: &Parsed, spec: &str) -> Result<MacroRef, Diagnostic> {
    let registry = parsed.loaded.runtime.registry();
    let root = &parsed.loaded.project.root_package().name;
    let (package, name) = match spec.rsplit_once('.') {
        Some((p, n)) => (Some(p), n),
        None => (None, spec),
    };
    let found = match package {
        Some(p) => registry.lookup_in(p, name).map(|_| p.to_owned()),
        None => {
            // Root project first, then any installed package, then the built-in macros.
            let package_of = |pred: &dyn Fn(&str) -> bool| {
                registry
                    .defs()
                    .iter()
                    .find(|d| d.name == name && pred(&d.package))
                    .map(|d| d.package.clone())
            };
            package_of(&|p| p == root)
                .or_else(|| package_of(&|p| p != root && p != INTERNAL_PACKAGE))
                .or_else(|| package_of(&|p| p == INTERNAL_PACKAGE))
        }
    };
    if let Some(package) = found {
        return Ok(MacroRef {
            package,
            name: name.to_owned(),
        });
    }
    let candidates: Vec<String> = registry
        .defs()
        .iter()
        .map(|d| match package {
            Some(_) => format!("{}.{}", d.package, d.name),
            None => d.name.clone(),
        })
        .collect();
    let closest = mfb_diagnostics::closest(spec, candidates.iter().map(String::as_str));
    let where_ = match package {
        Some(p) if !registry.has_package(p) => format!(" (there is no package `{p}`)"),
        Some(p) => format!(" in package `{p}`"),
        None => " in any package".to_owned(),
    };
    Err(Diagnostic::error(
        "unknown-macro",
        format!("could not find a macro named `{spec}`{where_}"),
    )
    .with_help(match closest {
        Some(c) => format!("did you mean `{c}`?"),
        None => "define it under macro-paths, or install its package with `dbt deps`".to_owned(),
    }))
}

/// Parses `--args` (a YAML mapping) into keyword arguments.
pub fn parse_args(text: Option<&str>) -> Result<IndexMap<String, Value>, Diagnostic> {
    let text = text.unwrap_or_default();
    if text.trim().is_empty() {
        return Ok(IndexMap::new());
    }
    let value: Value = serde_yaml::from_str(text).map_err(|e| {
        Diagnostic::error("args-invalid", format!("--args is not valid YAML: {e}"))
            .with_help("pass a mapping, e.g. --args '{role: reporter, tables: [orders]}'")
    })?;
    match value {
        Value::Object(map) => Ok(map.into_iter().collect()),
        Value::Null => Ok(IndexMap::new()),
        other => Err(Diagnostic::error(
            "args-invalid",
            format!("--args must be a YAML mapping of argument names to values, got `{other}`"),
        )
        .with_help("pass a mapping, e.g. --args '{name: value}'")),
    }
}

/// Calls the macro with `args` as keyword arguments. `Err` is only for a macro that does
/// not exist; what the macro raises is in the result's `error`.
pub fn run_operation(
    parsed: &Parsed,
    spec: &str,
    args: &IndexMap<String, Value>,
) -> Result<OperationResult, Diagnostic> {
    let found = find_macro(parsed, spec)?;
    let started_at = now();
    let clock = Instant::now();
    let registry = parsed.loaded.runtime.registry();
    let callable = registry
        .lookup_in(&found.package, &found.name)
        .cloned()
        .unwrap_or_default();
    let run = compile_context(parsed);
    let index = Arc::new(RefIndex::build(&parsed.manifest));
    let kwargs: serde_json::Map<String, Value> =
        args.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let unique_id = found.unique_id();
    // The macro's own package comes first in name lookups inside it, as in dbt.
    let scope = NodeScope::new(&found.package, Some(&unique_id))
        .resolve_with(Arc::new(CompileResolver {
            index,
            package: found.package.clone(),
        }))
        .config(Some(Arc::new(IndexMap::new())))
        .set("execute", JinjaValue::from(true))
        .set("__mfb_operation", callable)
        .set(
            "__mfb_operation_args",
            mfb_jinja::collections::from_serde(&Value::Object(kwargs)),
        );
    let rendered = parsed.loaded.runtime.render(
        &run,
        CALL_TEMPLATE,
        "{{ __mfb_operation(**__mfb_operation_args) }}",
        scope,
    );
    let error = rendered.err().map(|e| {
        let mut d = e.into_diagnostic();
        // The one-line call template is ours, not the user's: point at the macro instead.
        d.notes.retain(|n| !n.contains(CALL_TEMPLATE));
        if d.location
            .as_ref()
            .is_some_and(|l| l.file == Path::new(CALL_TEMPLATE))
        {
            d.source_line = None;
            d.location = registry
                .defs()
                .iter()
                .find(|m| m.package == found.package && m.name == found.name)
                .map(|m| {
                    let file = m
                        .template
                        .split_once('#')
                        .map_or(m.template.as_str(), |t| t.0);
                    mfb_diagnostics::Location::new(file, m.line, 0)
                });
        }
        d.with_help(format!(
            "fix macro `{}` or the --args passed to it",
            found.name
        ))
    });
    Ok(OperationResult {
        unique_id,
        error,
        started_at,
        completed_at: now(),
        execution_time: clock.elapsed().as_secs_f64(),
    })
}

/// Writes `run_results.json` for an operation, in the shape dbt gives it (`MainThread`,
/// no message, `failures` 1 on error).
pub fn write_run_results(
    target_dir: &Path,
    result: &OperationResult,
    invocation_id: &str,
    elapsed: f64,
    args: Value,
) -> Result<(), Diagnostic> {
    let failed = result.error.is_some();
    let doc = json!({
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "dbt_version": crate::load::DBT_VERSION,
            "generated_at": now(),
            "invocation_id": invocation_id,
            "invocation_started_at": Value::Null,
            "env": crate::load::metadata_envs(),
        },
        "results": [{
            "status": if failed { "error" } else { "success" },
            "timing": [
                {"name": "compile", "started_at": result.started_at, "completed_at": result.started_at},
                {"name": "execute", "started_at": result.started_at, "completed_at": result.completed_at},
            ],
            "thread_id": "MainThread",
            "execution_time": result.execution_time,
            "adapter_response": {},
            "message": Value::Null,
            "failures": i64::from(failed),
            "unique_id": result.unique_id,
            "compiled": false,
            "compiled_code": Value::Null,
            "relation_name": Value::Null,
            "batch_results": Value::Null,
        }],
        "elapsed_time": elapsed,
        "args": args,
    });
    let path = target_dir.join("run_results.json");
    std::fs::create_dir_all(target_dir)
        .and_then(|()| std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap_or_default()))
        .map_err(|e| {
            Diagnostic::error(
                "write-failed",
                format!("cannot write {}: {e}", path.display()),
            )
            .with_help("check that the target directory is writable")
        })
}

#[cfg(test)]
mod tests {
    use super::parse_args;

    #[test]
    fn args_are_a_yaml_mapping() {
        let args = parse_args(Some("{name: t1, n: 4, tags: [a]}")).unwrap();
        assert_eq!(args["n"], serde_json::json!(4));
        assert_eq!(args["tags"], serde_json::json!(["a"]));
        assert!(parse_args(None).unwrap().is_empty());
        assert!(parse_args(Some("[1]")).is_err());
        assert!(parse_args(Some("{a: ")).is_err());
    }
}
