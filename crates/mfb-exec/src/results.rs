//! Results of running nodes, and `target/run_results.json` in dbt's v6 shape.

use std::path::Path;

use mfb_diagnostics::Diagnostic;
use serde_json::{Value, json};

/// How a node ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A model, seed or snapshot was built.
    Success,
    Error,
    Skipped,
    /// A test found no failing rows (or fewer than its thresholds).
    Pass,
    /// A test crossed its `error_if` threshold (with `severity: error`).
    Fail,
    /// A test crossed its `warn_if` threshold, or failed with `severity: warn`.
    Warn,
}

impl Status {
    /// dbt's word for it in run_results.json.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Error => "error",
            Status::Skipped => "skipped",
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
        }
    }

    /// Whether nodes downstream of one that ended so must be skipped.
    pub fn blocks_downstream(self) -> bool {
        matches!(self, Status::Error | Status::Skipped | Status::Fail)
    }
}

/// The result of one node.
#[derive(Debug, Clone)]
pub struct NodeResult {
    pub unique_id: String,
    pub status: Status,
    /// dbt's `message` (e.g. `INSERT 900`), or the error's message.
    pub message: String,
    pub rows_affected: i64,
    /// Command tag word (`INSERT`), for `adapter_response.code`.
    pub code: String,
    pub started_at: String,
    pub completed_at: String,
    pub execution_time: f64,
    pub relation_name: Option<String>,
    pub compiled_code: Option<String>,
    /// The error, for the terminal.
    pub diagnostic: Option<Diagnostic>,
    /// A test's failure count (`failures` in run_results.json); None for other nodes.
    pub failures: Option<i64>,
    /// The worker that ran it (`Thread-1 (worker)` in dbt's words).
    pub thread_id: String,
}

impl NodeResult {
    /// A result for `node` that did not run (`status` Skipped or Error) with `message`.
    pub fn not_run(node: &mfb_graph::Node, status: Status, message: String) -> NodeResult {
        let at = now();
        NodeResult {
            unique_id: node.unique_id.to_string(),
            status,
            message,
            rows_affected: -1,
            code: String::new(),
            started_at: at.clone(),
            completed_at: at,
            execution_time: 0.0,
            relation_name: node.relation_name.clone(),
            compiled_code: node.compiled_code.clone(),
            diagnostic: None,
            failures: None,
            thread_id: "Thread-1".to_owned(),
        }
    }
}

/// Current UTC time as dbt writes it.
pub fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// Writes `run_results.json` (dbt's v6 shape) into `target_dir`.
pub fn write_run_results(
    target_dir: &Path,
    results: &[NodeResult],
    invocation_id: &str,
    elapsed: f64,
    args: Value,
) -> Result<(), Diagnostic> {
    let results: Vec<Value> = results
        .iter()
        .map(|r| {
            // A test's message is its verdict; its adapter response is the count query's.
            let is_test = matches!(r.status, Status::Pass | Status::Fail | Status::Warn);
            let adapter_message = if is_test {
                format!("{} {}", r.code, r.rows_affected)
            } else {
                r.message.clone()
            };
            let adapter_response =
                if !matches!(r.status, Status::Error | Status::Skipped) && !r.code.is_empty() {
                    json!({"_message": adapter_message, "code": r.code, "rows_affected": r.rows_affected})
                } else {
                    json!({})
                };
            // dbt writes no message for a passing test.
            let message = (!(r.status == Status::Pass && r.message.is_empty())).then_some(&r.message);
            json!({
                "status": r.status.as_str(),
                "timing": [
                    {"name": "compile", "started_at": r.started_at, "completed_at": r.started_at},
                    {"name": "execute", "started_at": r.started_at, "completed_at": r.completed_at},
                ],
                "thread_id": r.thread_id,
                "execution_time": r.execution_time,
                "adapter_response": adapter_response,
                "message": message,
                "failures": r.failures,
                "unique_id": r.unique_id,
                "compiled": r.compiled_code.is_some(),
                "compiled_code": r.compiled_code,
                "relation_name": r.relation_name,
                "batch_results": Value::Null,
            })
        })
        .collect();
    let doc = json!({
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "dbt_version": crate::load::DBT_VERSION,
            "generated_at": now(),
            "invocation_id": invocation_id,
            "invocation_started_at": Value::Null,
            "env": crate::load::metadata_envs(),
        },
        "results": results,
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
        })
}
