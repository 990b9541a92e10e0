//! `mfb build`: seeds, models, snapshots and tests in DAG order, each test right after
//! the node it tests, skipping everything downstream of a failure.

use std::time::Instant;

use mfb_exec::Settings;

use crate::ExitStatus;
use crate::output::Output;

pub(super) fn run(mut settings: Settings, flags: super::test::Flags, out: &Output) -> ExitStatus {
    let started = Instant::now();
    settings.store_failures = flags.store_failures;
    let mut parsed = match super::load_and_parse(settings, out) {
        Ok(p) => p,
        Err(status) => return status,
    };
    let mut selected = match super::select(&parsed, out) {
        Ok(s) => s,
        Err(d) => return super::fail(&d, out),
    };
    if !flags.resource_types.is_empty() {
        let wanted = &flags.resource_types;
        selected.retain(|id| {
            parsed.manifest.nodes.get(id).is_some_and(|n| {
                let kind = n.resource_type.as_str();
                wanted.iter().any(|w| w == kind)
            })
        });
    }
    let results = match mfb_exec::run::build(
        &mut parsed,
        &selected,
        mfb_exec::schedule::Policy {
            fail_fast: flags.fail_fast,
        },
        &super::progress::Lines(out),
    ) {
        Ok(r) => r,
        Err(d) => return super::fail(&d, out),
    };
    let status = super::finish_run(&parsed, &results, started, "build", "nodes", out);
    // The process ends next: freeing a large project's manifest would only cost time.
    std::mem::forget(parsed);
    status
}
