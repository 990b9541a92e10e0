//! Results of running nodes, and `target/run_results.json` in dbt's v6 shape.

use std::path::Path;

use mfb_diagnostics::Diagnostic;
use serde_json::{Value, json};

/// How a node ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    Error,
    Skipped,
}

impl Status {
    /// dbt's word for it in run_results.json.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Error => "error",
            Status::Skipped => "skipped",
        }
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
            let adapter_response = if r.status == Status::Success {
                json!({"_message": r.message, "code": r.code, "rows_affected": r.rows_affected})
            } else {
                json!({})
            };
            json!({
                "status": r.status.as_str(),
                "timing": [
                    {"name": "compile", "started_at": r.started_at, "completed_at": r.started_at},
                    {"name": "execute", "started_at": r.started_at, "completed_at": r.completed_at},
                ],
                "thread_id": "Thread-1",
                "execution_time": r.execution_time,
                "adapter_response": adapter_response,
                "message": r.message,
                "failures": Value::Null,
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
