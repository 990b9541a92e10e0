//! `mfb deps`: install the packages of packages.yml / dependencies.yml (the work is in
//! `mfb_exec::deps`; this file prints its progress and warnings and picks the exit code).

use mfb_diagnostics::Diagnostic;
use mfb_exec::Settings;
use mfb_exec::deps::{DepsOptions, deps};

use crate::ExitStatus;
use crate::output::Output;
use crate::report;

pub(super) fn run(settings: Settings, upgrade: bool, lock: bool, out: &Output) -> ExitStatus {
    let options = DepsOptions {
        project_dir: settings.project_dir,
        vars: settings.vars,
        upgrade,
        lock_only: lock,
    };
    let warn = |d: Diagnostic| {
        report::emit(std::slice::from_ref(&d), out);
    };
    match deps(&options, &|event, message| out.info(event, message), &warn) {
        Ok(_) => ExitStatus::Success,
        Err(diagnostics) => super::fail(&diagnostics, out),
    }
}
