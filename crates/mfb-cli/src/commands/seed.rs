//! `mfb seed`: load the selected seeds, print dbt-style progress, write run_results.json.
//! With `--tenant` / `--all-tenants`, once per tenant (see [`super::per_tenant`]).

use std::time::Instant;

use mfb_exec::results::NodeResult;
use mfb_exec::{Parsed, Settings};

use crate::ExitStatus;
use crate::args::TenantArgs;
use crate::output::Output;

pub(super) fn run(
    settings: Settings,
    fail_fast: bool,
    tenants: &TenantArgs,
    out: &Output,
) -> ExitStatus {
    if let Some(choice) = tenants.choice() {
        return super::per_tenant::run_nodes(settings, &choice, "seed", "seeds", out, |s, o| {
            execute(s, fail_fast, o)
        });
    }
    let started = Instant::now();
    let (parsed, results) = match execute(settings, fail_fast, out) {
        Ok(r) => r,
        Err(status) => return status,
    };
    let status = super::finish_run(&parsed, &results, started, "seed", "seeds", out);
    // The process ends next: freeing a large project's manifest would only cost time.
    std::mem::forget(parsed);
    status
}

/// Loads, parses, selects and loads the seeds.
fn execute(
    settings: Settings,
    fail_fast: bool,
    out: &Output,
) -> Result<(Parsed, Vec<NodeResult>), ExitStatus> {
    let mut parsed = super::load_and_parse(settings, out)?;
    let selected = super::select(&parsed, out).map_err(|d| super::fail(&d, out))?;
    let results = mfb_exec::seed::seed(
        &mut parsed,
        &selected,
        mfb_exec::schedule::Policy { fail_fast },
        &super::progress::Lines(out),
    )
    .map_err(|d| super::fail(&d, out))?;
    Ok((parsed, results))
}
