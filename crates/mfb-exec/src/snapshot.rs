//! `mfb snapshot`: SCD type 2 history tables.

use mfb_diagnostics::Diagnostic;
use mfb_graph::Node;
use mfb_postgres::Connection;

use crate::engine::{Outcome, Session};

/// Builds or updates one snapshot.
pub fn build(_s: &Session<'_>, _conn: &mut Connection, node: &Node) -> Result<Outcome, Diagnostic> {
    Err(Diagnostic::error(
        "not-implemented",
        format!("{}: snapshots are not implemented yet", node.unique_id),
    ))
}
