//! `mfb`: parse arguments, run the command, map the result to an exit code.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::exit)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let status = mfb_cli::run(std::env::args_os());
    ExitCode::from(status as u8)
}
