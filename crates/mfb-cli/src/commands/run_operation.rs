//! `mfb run-operation MACRO --args '{..}'`: call a macro that runs SQL, print what it logs,
//! write run_results.json; exit 1 if the macro raised an error, 2 if it does not exist.
//! With `--tenant` / `--all-tenants`, once per tenant, in the tenant's schema: migrations
//! applied to every tenant schema (see [`super::per_tenant`]).

use std::time::Instant;

use mfb_exec::Settings;
use serde_json::json;

use crate::ExitStatus;
use crate::args::TenantArgs;
use crate::output::Output;

pub(super) fn run(
    settings: Settings,
    macro_name: &str,
    args: Option<&str>,
    tenants: &TenantArgs,
    out: &Output,
) -> ExitStatus {
    let args = match mfb_exec::operation::parse_args(args) {
        Ok(a) => a,
        Err(d) => return super::fail(&[d], out),
    };
    if let Some(choice) = tenants.choice() {
        return super::per_tenant::run(settings, &choice, "run-operation", out, |s, o| {
            let result = execute(s, macro_name, &args, o)?;
            let line = format!(
                "{} {}",
                result.unique_id,
                if result.error.is_some() {
                    "ERROR"
                } else {
                    "OK"
                }
            );
            o.info(
                "OperationDone",
                &super::dotted(&line, &format!("{:.2}s", result.execution_time)),
            );
            Ok(super::per_tenant::TenantDone {
                results: vec![super::per_tenant::operation_result(result)],
                stats: "1 operation".to_owned(),
            })
        });
    }
    let result = match execute(settings, macro_name, &args, out) {
        Ok(r) => r,
        Err(status) => return status,
    };
    match result.error {
        Some(d) => {
            crate::report::emit(&[d], out);
            ExitStatus::Failure
        }
        None => ExitStatus::Success,
    }
}

/// Loads and parses the project, calls the macro, writes manifest.json and run_results.json.
fn execute(
    settings: Settings,
    macro_name: &str,
    args: &indexmap::IndexMap<String, serde_json::Value>,
    out: &Output,
) -> Result<mfb_exec::operation::OperationResult, ExitStatus> {
    let started = Instant::now();
    let parsed = super::load_and_parse(settings, out)?;
    let result = mfb_exec::operation::run_operation(&parsed, macro_name, args)
        .map_err(|d| super::fail(&[d], out))?;
    let run_args = json!({
        "which": "run-operation",
        "macro": macro_name,
        "args": args,
        "vars": parsed.loaded.settings.vars,
    });
    let target = mfb_exec::compile::target_dir(&parsed);
    super::write_manifest(&parsed)
        .and_then(|_| {
            mfb_exec::operation::write_run_results(
                &target,
                &result,
                &out.invocation_id,
                started.elapsed().as_secs_f64(),
                run_args,
            )
        })
        .map_err(|d| super::fail(&[d], out))?;
    Ok(result)
}
