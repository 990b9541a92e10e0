//! `mfb snapshot`: build the selected snapshots.

use mfb_diagnostics::Diagnostic;
use mfb_exec::Settings;

use crate::ExitStatus;
use crate::output::Output;

pub(super) fn run(_settings: Settings,  out: &Output) -> ExitStatus {
    super::fail(
        &[Diagnostic::error("not-implemented", "`mfb snapshot` is not implemented yet")],
        out,
    )
}
