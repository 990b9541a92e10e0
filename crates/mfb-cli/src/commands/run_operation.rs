//! `mfb run-operation MACRO --args`: run a macro that executes SQL.

use mfb_diagnostics::Diagnostic;
use mfb_exec::Settings;

use crate::ExitStatus;
use crate::output::Output;

pub(super) fn run(_settings: Settings, _macro_name: &str, _args: Option<&str>, out: &Output) -> ExitStatus {
    super::fail(
        &[Diagnostic::error("not-implemented", "`mfb run-operation` is not implemented yet")],
        out,
    )
}
