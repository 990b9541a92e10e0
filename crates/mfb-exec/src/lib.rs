//! The pipeline of an mfb command: load, parse, graph, compile.
//!
//! [`load`] reads the project and profile and builds the Jinja runtime; [`parse`] renders
//! every node once with `execute = false` (in parallel) to learn its dependencies and
//! config, and builds the [`Manifest`](mfb_graph::Manifest) and DAG; [`compile`] renders
//! the selected nodes against their resolved relations and writes `target/`. This crate is
//! the only one that knows the order of those stages.

pub mod builtin_tests;
pub mod catalog;
pub mod compile;
pub mod context;
pub mod deps;
pub mod engine;
pub mod freshness;
pub mod lineage;
pub mod load;
pub mod materialize;
pub mod naming;
pub mod operation;
pub mod parse;
pub mod results;
pub mod retry;
pub mod rls;
pub mod rls_static;
pub mod run;
pub mod schedule;
pub mod seed;
pub mod settings;
pub mod show;
pub mod snapshot;
mod static_compile;
pub mod tenants_run;
pub mod test;
pub mod tests_gen;
pub mod unit_test;
pub mod warehouse;

pub use compile::{CompileOutput, compile, compile_inline};
pub use load::{Loaded, load};
pub use mfb_jinja::LogSink;
pub use parse::{Parsed, parse};
pub use settings::Settings;

/// Errors of a stage: every problem found, as diagnostics (the CLI renders them).
pub type Diagnostics = Vec<mfb_diagnostics::Diagnostic>;
