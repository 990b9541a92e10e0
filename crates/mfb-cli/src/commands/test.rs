//! `mfb test`: run the selected data tests (and unit tests) against the database.

use mfb_diagnostics::Diagnostic;
use mfb_exec::Settings;

use crate::ExitStatus;
use crate::output::Output;

/// The flags of `mfb test` (and the test part of `mfb build`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Flags {
    pub fail_fast: bool,
    pub store_failures: bool,
    pub resource_types: Vec<String>,
}

pub(super) fn run(_settings: Settings, _flags: Flags, out: &Output) -> ExitStatus {
    super::fail(
        &[Diagnostic::error(
            "not-implemented",
            "`mfb test` is not implemented yet",
        )],
        out,
    )
}
