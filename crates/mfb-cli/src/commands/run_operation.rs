//! `mfb run-operation MACRO --args '{..}'`: call a macro that runs SQL, print what it logs,
//! write run_results.json; exit 1 if the macro raised an error, 2 if it does not exist.

use std::time::Instant;

use mfb_exec::Settings;
use serde_json::json;

use crate::ExitStatus;
use crate::output::Output;

pub(super) fn run(
    settings: Settings,
    macro_name: &str,
    args: Option<&str>,
    out: &Output,
) -> ExitStatus {
    let started = Instant::now();
    let args = match mfb_exec::operation::parse_args(args) {
        Ok(a) => a,
        Err(d) => return super::fail(&[d], out),
    };
    let parsed = match super::load_and_parse(settings, out) {
        Ok(p) => p,
        Err(status) => return status,
    };
    let result = match mfb_exec::operation::run_operation(&parsed, macro_name, &args) {
        Ok(r) => r,
        Err(d) => return super::fail(&[d], out),
    };
    let run_args = json!({
        "which": "run-operation",
        "macro": macro_name,
        "args": args,
        "vars": parsed.loaded.settings.vars,
    });
    let target = mfb_exec::compile::target_dir(&parsed);
    if let Err(d) = super::write_manifest(&parsed).and_then(|_| {
        mfb_exec::operation::write_run_results(
            &target,
            &result,
            &out.invocation_id,
            started.elapsed().as_secs_f64(),
            run_args,
        )
    }) {
        return super::fail(&[d], out);
    }
    match result.error {
        Some(d) => {
            crate::report::emit(&[d], out);
            ExitStatus::Failure
        }
        None => ExitStatus::Success,
    }
}
