//! The `mfb` command line: flags → [`settings`], one module per subcommand under
//! `commands/`, terminal output in [`output`], diagnostics rendered only by [`report`].
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod args;
pub mod commands;
pub mod output;
pub mod report;
pub mod settings;

use clap::Parser;

/// How `mfb` exits (DESIGN.md: 0 success, 1 a node failed, 2 usage/config/compile error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitStatus {
    /// Everything worked.
    Success = 0,
    /// A model or test failed.
    Failure = 1,
    /// Bad usage, configuration or a compile error.
    Error = 2,
    /// Ctrl-C: in-flight statements were cancelled and rolled back.
    Interrupted = 130,
}

/// Runs `mfb` with these arguments and returns the exit status.
pub fn run(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitStatus {
    let cli = match args::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                ExitStatus::Error
            } else {
                ExitStatus::Success
            };
            let _ = e.print();
            return code;
        }
    };
    let out = output::Output::new(&cli.global);
    commands::dispatch(cli, &out)
}
