//! `mfb snapshot`: build the selected snapshots, print dbt-style progress, write
//! run_results.json.

use std::time::Instant;

use mfb_exec::Settings;

use crate::ExitStatus;
use crate::output::Output;

pub(super) fn run(settings: Settings, out: &Output) -> ExitStatus {
    let started = Instant::now();
    let mut parsed = match super::load_and_parse(settings, out) {
        Ok(p) => p,
        Err(status) => return status,
    };
    let selected = match super::select(&parsed, out) {
        Ok(s) => s,
        Err(d) => return super::fail(&d, out),
    };
    let results = match mfb_exec::snapshot::snapshot(
        &mut parsed,
        &selected,
        mfb_exec::schedule::Policy { fail_fast: false },
        &super::progress::Lines(out),
    ) {
        Ok(r) => r,
        Err(d) => return super::fail(&d, out),
    };
    let status = super::finish_run(&parsed, &results, started, "snapshot", "snapshots", out);
    // The process ends next: freeing a large project's manifest would only cost time.
    std::mem::forget(parsed);
    status
}
