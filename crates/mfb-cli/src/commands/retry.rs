//! `mfb retry`: rerun what failed or was skipped in the last run.

use mfb_diagnostics::Diagnostic;
use mfb_exec::Settings;

use crate::ExitStatus;
use crate::output::Output;

pub(super) fn run(_settings: Settings,  out: &Output) -> ExitStatus {
    super::fail(
        &[Diagnostic::error("not-implemented", "`mfb retry` is not implemented yet")],
        out,
    )
}
