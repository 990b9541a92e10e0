//! `mfb test`: run the selected data tests against the database, print dbt-style
//! progress (`PASS`, `WARN 3`, `FAIL 3`, `ERROR`), write run_results.json with each test's
//! `failures`, and exit 1 when a test at error severity failed or any test errored.
//!
//! Unit tests (`--resource-type unit_test`, `test_type:unit`) are selected but not run
//! yet: only data tests run. With `--tenant` / `--all-tenants`, once per tenant (see
//! [`super::per_tenant`]).

use std::time::Instant;

use mfb_exec::results::NodeResult;
use mfb_exec::{Parsed, Settings};
use mfb_graph::ResourceType;

use crate::ExitStatus;
use crate::args::TenantArgs;
use crate::output::Output;

/// The flags of `mfb test` (and the test part of `mfb build`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Flags {
    pub fail_fast: bool,
    pub store_failures: bool,
    pub resource_types: Vec<String>,
}

impl Flags {
    /// Puts the flags the engine reads into `settings` (`--store-failures`).
    pub(crate) fn apply_to(&self, settings: &mut Settings) {
        settings.store_failures = self.store_failures;
    }

    /// Whether `--resource-type` (if given) lets unit tests run.
    pub(crate) fn runs_unit_tests(&self) -> bool {
        self.resource_types.is_empty()
            || self
                .resource_types
                .iter()
                .any(|t| matches!(t.as_str(), "unit_test" | "all" | "default"))
    }

    /// Whether `--resource-type` (if given) lets data tests run.
    pub(crate) fn runs_data_tests(&self) -> bool {
        self.resource_types.is_empty()
            || self
                .resource_types
                .iter()
                .any(|t| matches!(t.as_str(), "test" | "data_test" | "all" | "default"))
    }
}

pub(super) fn run(
    settings: Settings,
    flags: Flags,
    tenants: &TenantArgs,
    out: &Output,
) -> ExitStatus {
    if let Some(choice) = tenants.choice() {
        return super::per_tenant::run_nodes(settings, &choice, "test", "tests", out, |s, o| {
            execute(s, &flags, o)
        });
    }
    let started = Instant::now();
    let (parsed, results) = match execute(settings, &flags, out) {
        Ok(r) => r,
        Err(status) => return status,
    };
    let status = super::finish_run(&parsed, &results, started, "test", "tests", out);
    // The process ends next: freeing a large project's manifest would only cost time.
    std::mem::forget(parsed);
    status
}

/// Loads, parses, selects and runs the tests.
fn execute(
    mut settings: Settings,
    flags: &Flags,
    out: &Output,
) -> Result<(Parsed, Vec<NodeResult>), ExitStatus> {
    flags.apply_to(&mut settings);
    let mut parsed = super::load_and_parse(settings, out)?;
    let mut selected = super::select(&parsed, out).map_err(|d| super::fail(&d, out))?;
    let runs_data_tests = flags.runs_data_tests();
    let runs_unit_tests = flags.runs_unit_tests();
    selected.retain(|id| {
        parsed
            .manifest
            .nodes
            .get(id)
            .is_some_and(|n| match n.resource_type {
                ResourceType::Test => runs_data_tests,
                ResourceType::UnitTest => runs_unit_tests,
                _ => false,
            })
    });
    let results = mfb_exec::test::test(
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
