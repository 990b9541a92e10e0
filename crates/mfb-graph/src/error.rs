//! Errors of building and selecting from the DAG.

use mfb_diagnostics::{Diagnostic, IntoDiagnostic, Location};

/// Graph and selection errors.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// A `ref()` names nothing. `suggestion` is a close name, if any.
    #[error("{from} refers to `{name}`, which is not a model, seed or snapshot")]
    UnknownRef { from: String, name: String, at: Option<Location>, suggestion: Option<String> },
    /// A `source()` names nothing.
    #[error("{from} refers to source `{source_name}.{table}`, which is not defined")]
    UnknownSource { from: String, source_name: String, table: String, at: Option<Location>, suggestion: Option<String> },
    /// A dependency cycle, as the path of unique ids `a -> b -> a`.
    #[error("dependency cycle: {}", path.join(" -> "))]
    Cycle { path: Vec<String> },
    /// A selector could not be parsed or names an unknown method/selector.
    #[error("invalid selector `{selector}`: {reason}")]
    BadSelector { selector: String, reason: String },
    /// `--state` manifest could not be read.
    #[error("cannot read state manifest {path}: {reason}")]
    State { path: String, reason: String },
}

impl IntoDiagnostic for GraphError {
    fn into_diagnostic(self) -> Diagnostic {
        todo!("mfb-graph helper: stable code per variant, location, help with suggestion")
    }
}
