//! `mfb`: parse arguments, run the command, map the result to an exit code.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::exit)]

use std::process::ExitCode;

/// mimalloc instead of the system allocator: parsing and compiling a large project
/// allocates millions of small strings and maps from several threads at once.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    mfb_diagnostics::phase::mark("start");
    let status = mfb_cli::run(std::env::args_os());
    ExitCode::from(status as u8)
}
