//! The dependency graph (petgraph) over nodes, sources and exposures.

use crate::{GraphError, Manifest, UniqueId};

/// Dependency DAG. Edges point from a dependency to its dependent (upstream -> downstream).
/// Tests depend on the nodes they test. Built from `Node::depends_on.nodes`.
#[derive(Debug, Clone)]
pub struct Dag {
    _private: (),
}

impl Dag {
    /// Builds the DAG; a cycle is an error with the cycle's path.
    pub fn build(manifest: &Manifest) -> Result<Dag, GraphError> {
        let _ = manifest;
        todo!("mfb-graph helper")
    }

    /// All ids in a deterministic topological order (ties broken by unique id).
    pub fn topo_order(&self) -> Vec<UniqueId> {
        todo!("mfb-graph helper")
    }

    /// Direct upstream ids of `id`.
    pub fn parents(&self, id: &UniqueId) -> Vec<UniqueId> {
        let _ = id;
        todo!("mfb-graph helper")
    }

    /// Direct downstream ids of `id`.
    pub fn children(&self, id: &UniqueId) -> Vec<UniqueId> {
        let _ = id;
        todo!("mfb-graph helper")
    }
}
