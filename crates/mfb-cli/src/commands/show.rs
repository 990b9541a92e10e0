//! `mfb show`: preview the rows of a model or of inline SQL.

use mfb_diagnostics::Diagnostic;
use mfb_exec::Settings;

use crate::ExitStatus;
use crate::output::Output;

pub(super) fn run(_settings: Settings, _inline: Option<&str>, _limit: i64, _output: &str, out: &Output) -> ExitStatus {
    super::fail(
        &[Diagnostic::error("not-implemented", "`mfb show` is not implemented yet")],
        out,
    )
}
