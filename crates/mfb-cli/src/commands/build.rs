//! `mfb build`: seeds, models, snapshots and tests in DAG order, each test right after
//! the node it tests, skipping everything downstream of a failure. With `--tenant` /
//! `--all-tenants`, once per tenant (see [`super::per_tenant`]).

use std::time::Instant;

use mfb_exec::results::NodeResult;
use mfb_exec::{Parsed, Settings};

use crate::ExitStatus;
use crate::args::TenantArgs;
use crate::output::Output;

pub(super) fn run(
    settings: Settings,
    flags: super::test::Flags,
    tenants: &TenantArgs,
    out: &Output,
) -> ExitStatus {
    if let Some(choice) = tenants.choice() {
        return super::per_tenant::run_nodes(settings, &choice, "build", "nodes", out, |s, o| {
            execute(s, &flags, o)
        });
    }
    let started = Instant::now();
    let (parsed, results) = match execute(settings, &flags, out) {
        Ok(r) => r,
        Err(status) => return status,
    };
    let status = super::finish_run(&parsed, &results, started, "build", "nodes", out);
    // The process ends next: freeing a large project's manifest would only cost time.
    std::mem::forget(parsed);
    status
}

/// Loads, parses, selects and builds the nodes.
fn execute(
    mut settings: Settings,
    flags: &super::test::Flags,
    out: &Output,
) -> Result<(Parsed, Vec<NodeResult>), ExitStatus> {
    flags.apply_to(&mut settings);
    let mut parsed = super::load_and_parse(settings, out)?;
    let mut selected = super::select(&parsed, out).map_err(|d| super::fail(&d, out))?;
    if !flags.resource_types.is_empty() {
        let wanted = &flags.resource_types;
        selected.retain(|id| {
            parsed.manifest.nodes.get(id).is_some_and(|n| {
                let kind = n.resource_type.as_str();
                wanted.iter().any(|w| w == kind)
            })
        });
    }
    let results = mfb_exec::run::build(
        &mut parsed,
        &selected,
        mfb_exec::schedule::Policy {
            fail_fast: flags.fail_fast,
        },
        &super::progress::Lines(out),
    )
    .map_err(|d| super::fail(&d, out))?;
    Ok((parsed, results))
}
