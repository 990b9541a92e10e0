//! The manifest and the DAG.
//!
//! [`Manifest`] holds every parsed node (models, seeds, snapshots, analyses, tests),
//! source, macro, doc block and exposure, keyed by dbt's unique ids
//! (`model.my_project.orders`). [`Dag`] is the petgraph dependency graph over them;
//! selection (`--select`, `--exclude`, `--selector`) walks it. [`manifest_json`] writes
//! `target/manifest.json` in dbt's v12 shape.

pub mod dag;
pub mod error;
pub mod manifest;
pub mod manifest_json;
pub mod selector;

/// Builders of small manifests, for the unit tests of this crate and the crates above.
#[doc(hidden)]
pub mod test_support;

pub use dag::Dag;
pub use error::GraphError;
pub use manifest::{
    ColumnInfo, DependsOn, DocNode, Exposure, IdMap, MacroNode, Manifest, Node, RefCall,
    ResourceType, SourceNode, TestMetadata, UniqueId,
};
pub use selector::{
    IndirectSelection, SelectionCriteria, SelectionResult, SelectorSpec, select, select_detailed,
    select_with,
};
