//! `mfb run` and `mfb build`: plan the selected nodes and run them on the session's
//! threads (see [`crate::engine`] and [`crate::schedule`]).

use indexmap::IndexSet;
use mfb_graph::{Node, ResourceType, UniqueId};
use serde_json::Value;

use crate::engine::Session;
use crate::results::NodeResult;
use crate::schedule::{Plan, Policy, Progress};
use crate::{Diagnostics, Parsed};

/// Whether `node` is a model that builds a relation (not ephemeral, not empty).
pub fn builds_relation(n: &Node) -> bool {
    n.resource_type == ResourceType::Model
        && n.config.get("materialized").and_then(Value::as_str) != Some("ephemeral")
        && !n.raw_code.trim().is_empty()
}

/// Compiles the selected nodes, opens a session for the schemas of `nodes`, runs the
/// on-run-start hooks, the plan, and the on-run-end hooks.
pub fn run_plan(
    parsed: &mut Parsed,
    selected: &IndexSet<UniqueId>,
    keep: impl Fn(&Node) -> bool,
    policy: Policy,
    progress: &dyn Progress,
) -> Result<Vec<NodeResult>, Diagnostics> {
    crate::compile(parsed, selected)?;
    let parsed: &Parsed = parsed;
    let nodes: Vec<&Node> = parsed
        .dag
        .topo_order()
        .iter()
        .filter(|id| selected.contains(*id))
        .filter_map(|id| parsed.manifest.nodes.get(id))
        .filter(|n| keep(n))
        .collect();
    let schemas: IndexSet<&str> = nodes
        .iter()
        .filter(|n| n.resource_type != ResourceType::Test)
        .map(|n| n.schema.as_str())
        .collect();
    let schemas: Vec<&str> = schemas.into_iter().collect();
    let session = Session::open(parsed, &schemas)?;
    session.run_project_hooks("-on-run-start-")?;
    let plan = Plan::new(nodes);
    let results = session.execute(&plan, policy, progress);
    if !crate::engine::interrupted() {
        session.run_project_hooks("-on-run-end-")?;
    }
    Ok(results)
}

/// Runs the selected models (and the project's on-run-start / on-run-end hooks).
pub fn run(
    parsed: &mut Parsed,
    selected: &IndexSet<UniqueId>,
    policy: Policy,
    progress: &dyn Progress,
) -> Result<Vec<NodeResult>, Diagnostics> {
    run_plan(parsed, selected, builds_relation, policy, progress)
}
