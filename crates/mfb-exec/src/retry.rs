//! `retry`: what the previous invocation was and which of its nodes to run again, read
//! from its `target/run_results.json`.
//!
//! A node is retried when it ended `error`, `fail` or `skipped` (dbt's retryable
//! statuses, with `runtime error` and `partial success`). The previous command and its
//! arguments (`args.which`, selection, `full_refresh`, `vars`) are kept so the rerun
//! behaves, and records itself, as that command did.

use std::path::Path;

use indexmap::{IndexMap, IndexSet};
use mfb_diagnostics::Diagnostic;
use serde_json::{Map, Value};

/// Statuses in run_results.json that make a node run again.
const RETRYABLE: [&str; 5] = [
    "error",
    "fail",
    "skipped",
    "runtime error",
    "partial success",
];

/// The previous invocation, as its run_results.json recorded it.
#[derive(Debug, Clone, Default)]
pub struct PreviousRun {
    /// `args.which`: `run`, `seed`, `test`, `build`, `snapshot`, `run-operation`, ...
    pub which: String,
    /// `args` as written.
    pub args: Map<String, Value>,
    /// Unique ids to run again, in the order they were recorded.
    pub retry: IndexSet<String>,
}

impl PreviousRun {
    /// A string-list argument (`select`, `exclude`); a single string counts as one item.
    pub fn list(&self, key: &str) -> Vec<String> {
        match self.args.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }

    /// A boolean argument (`full_refresh`, `fail_fast`, `store_failures`), false if absent.
    pub fn flag(&self, key: &str) -> bool {
        self.args.get(key).and_then(Value::as_bool).unwrap_or(false)
    }

    /// `args.vars` as a mapping.
    pub fn vars(&self) -> IndexMap<String, Value> {
        match self.args.get("vars") {
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            _ => IndexMap::new(),
        }
    }
}

/// Reads `<target_dir>/run_results.json`. No file is an error saying to run a command
/// first.
pub fn read_previous(target_dir: &Path) -> Result<PreviousRun, Diagnostic> {
    let path = target_dir.join("run_results.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        let message = if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "no previous run to retry: {} does not exist",
                path.display()
            )
        } else {
            format!("cannot read {}: {e}", path.display())
        };
        Diagnostic::error("retry-no-previous-run", message).with_help(
            "run `mfb run`, `seed`, `test`, `snapshot` or `build` first; retry reruns what it left failed or skipped",
        )
    })?;
    parse_previous(&text).map_err(|m| {
        Diagnostic::error(
            "retry-bad-run-results",
            format!("{} is not a run_results.json: {m}", path.display()),
        )
        .with_help("run the command again instead of retrying it")
    })
}

/// Parses the text of a run_results.json.
pub fn parse_previous(text: &str) -> Result<PreviousRun, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let args = doc
        .get("args")
        .and_then(Value::as_object)
        .cloned()
        .ok_or("it has no `args`")?;
    let which = args
        .get("which")
        .and_then(Value::as_str)
        .ok_or("`args.which` is missing")?
        .to_owned();
    let retry = doc
        .get("results")
        .and_then(Value::as_array)
        .ok_or("it has no `results`")?
        .iter()
        .filter(|r| {
            r.get("status")
                .and_then(Value::as_str)
                .is_some_and(|s| RETRYABLE.contains(&s))
        })
        .filter_map(|r| {
            r.get("unique_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    Ok(PreviousRun { which, args, retry })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_errors_failures_and_skips() {
        let prev = parse_previous(
            r#"{"results": [
                {"unique_id": "model.p.a", "status": "success"},
                {"unique_id": "model.p.b", "status": "error"},
                {"unique_id": "model.p.c", "status": "skipped"},
                {"unique_id": "test.p.t", "status": "fail"},
                {"unique_id": "test.p.w", "status": "warn"}
            ], "args": {"which": "build", "select": ["b+"], "full_refresh": true, "vars": {"x": 1}}}"#,
        )
        .unwrap();
        assert_eq!(prev.which, "build");
        assert_eq!(
            prev.retry.iter().collect::<Vec<_>>(),
            ["model.p.b", "model.p.c", "test.p.t"]
        );
        assert_eq!(prev.list("select"), ["b+"]);
        assert!(prev.flag("full_refresh"));
        assert!(!prev.flag("fail_fast"));
        assert_eq!(prev.vars()["x"], serde_json::json!(1));
        assert!(parse_previous("{}").is_err());
    }

    #[test]
    fn missing_file_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_previous(dir.path()).unwrap_err();
        assert_eq!(e.code, "retry-no-previous-run");
        assert!(e.help.unwrap().contains("mfb run"));
    }
}
