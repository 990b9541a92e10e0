//! `mfb build`: seeds, models, snapshots and tests in DAG order.

use mfb_diagnostics::Diagnostic;
use mfb_exec::Settings;

use crate::ExitStatus;
use crate::output::Output;

pub(super) fn run(_settings: Settings, _flags: super::test::Flags, out: &Output) -> ExitStatus {
    super::fail(
        &[Diagnostic::error("not-implemented", "`mfb build` is not implemented yet")],
        out,
    )
}
