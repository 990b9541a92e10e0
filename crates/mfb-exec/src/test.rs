//! `mfb test`: data tests against the live database.

use mfb_diagnostics::Diagnostic;
use mfb_graph::Node;
use mfb_postgres::Connection;

use crate::engine::{Outcome, Session};

/// Runs one data test.
pub fn run(_s: &Session<'_>, _conn: &mut Connection, node: &Node) -> Result<Outcome, Diagnostic> {
    Err(Diagnostic::error(
        "not-implemented",
        format!(
            "{}: running data tests is not implemented yet",
            node.unique_id
        ),
    ))
}
