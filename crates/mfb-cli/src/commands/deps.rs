//! `mfb deps`: install the packages of packages.yml / dependencies.yml (the work is in
//! `mfb_exec::deps`; this file reads the flags, prints progress and warnings, and picks the
//! exit code).

use mfb_diagnostics::Diagnostic;
use mfb_exec::Settings;
use mfb_exec::deps::add::{AddPackage, AddSource};
use mfb_exec::deps::{DepsOptions, deps};

use crate::ExitStatus;
use crate::args::DepsSource;
use crate::output::Output;
use crate::report;

/// The flags of `mfb deps`.
pub(super) struct Flags<'a> {
    pub upgrade: bool,
    pub lock: bool,
    pub add_package: Option<&'a str>,
    pub source: DepsSource,
    pub dry_run: bool,
}

pub(super) fn run(settings: Settings, flags: Flags<'_>, out: &Output) -> ExitStatus {
    if flags.dry_run {
        // dbt-core 1.10 has no --dry-run either ("No such option"); say what replaced it.
        let d = Diagnostic::error(
            "deps-dry-run-removed",
            "`--dry-run` is not an option of `deps` (dbt-core removed it; dbt 1.10 refuses it too)",
        )
        .with_help("to update packages.yml and package-lock.yml without installing, use `mfb deps --add-package NAME@VERSION --lock`");
        return super::fail(&[d], out);
    }
    let source = match flags.source {
        DepsSource::Hub => AddSource::Hub,
        DepsSource::Git => AddSource::Git,
        DepsSource::Local => AddSource::Local,
    };
    let add_package = match flags.add_package.map(|p| AddPackage::parse(p, source)) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(d)) => return super::fail(&[d], out),
    };
    let options = DepsOptions {
        project_dir: settings.project_dir,
        vars: settings.vars,
        upgrade: flags.upgrade,
        lock_only: flags.lock,
        add_package,
    };
    let warn = |d: Diagnostic| {
        report::emit(std::slice::from_ref(&d), out);
    };
    match deps(&options, &|event, message| out.info(event, message), &warn) {
        Ok(_) => ExitStatus::Success,
        Err(diagnostics) => super::fail(&diagnostics, out),
    }
}
