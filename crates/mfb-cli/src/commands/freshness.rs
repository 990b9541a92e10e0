//! `mfb source freshness`: how recently each source table was loaded.

use mfb_diagnostics::Diagnostic;
use mfb_exec::Settings;

use crate::ExitStatus;
use crate::output::Output;

pub(super) fn run(_settings: Settings, _output: Option<&std::path::Path>, out: &Output) -> ExitStatus {
    super::fail(
        &[Diagnostic::error("not-implemented", "`mfb source freshness` is not implemented yet")],
        out,
    )
}
