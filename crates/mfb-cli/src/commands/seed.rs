//! `mfb seed`: load the selected seeds, print dbt-style progress, write run_results.json.

use std::time::Instant;

use mfb_exec::Settings;

use crate::ExitStatus;
use crate::output::Output;

pub(super) fn run(settings: Settings, fail_fast: bool, out: &Output) -> ExitStatus {
    let started = Instant::now();
    let mut parsed = match super::load_and_parse(settings, out) {
        Ok(p) => p,
        Err(status) => return status,
    };
    let selected = match super::select(&parsed, out) {
        Ok(s) => s,
        Err(d) => return super::fail(&d, out),
    };
    let results = match mfb_exec::seed::seed(
        &mut parsed,
        &selected,
        mfb_exec::schedule::Policy { fail_fast },
        &super::progress::Lines(out),
    ) {
        Ok(r) => r,
        Err(d) => return super::fail(&d, out),
    };
    let status = super::finish_run(&parsed, &results, started, "seed", "seeds", out);
    // The process ends next: freeing a large project's manifest would only cost time.
    std::mem::forget(parsed);
    status
}
