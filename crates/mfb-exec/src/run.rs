//! `mfb run` and `mfb build`: plan the selected nodes and run them on the session's
//! threads (see [`crate::engine`] and [`crate::schedule`]).

use std::collections::{HashMap, HashSet};

use indexmap::IndexSet;
use mfb_graph::{Dag, Node, ResourceType, UniqueId};
use serde_json::Value;

use crate::engine::Session;
use crate::results::{NodeResult, Status};
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
    run_plan_with(parsed, selected, keep, |_, _| {}, policy, progress)
}

/// [`run_plan`], with `edges` adding dependencies to the plan before it runs.
pub fn run_plan_with(
    parsed: &mut Parsed,
    selected: &IndexSet<UniqueId>,
    keep: impl Fn(&Node) -> bool,
    edges: impl Fn(&Parsed, &mut Plan<'_>),
    policy: Policy,
    progress: &dyn Progress,
) -> Result<Vec<NodeResult>, Diagnostics> {
    // Only what this command runs is compiled (`mfb seed` compiles no model).
    let to_compile: IndexSet<UniqueId> = selected
        .iter()
        .filter(|id| parsed.manifest.nodes.get(*id).is_some_and(&keep))
        .cloned()
        .collect();
    crate::compile::compile_for_run(parsed, &to_compile)?;
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
    // Bad `rls:` configs stop the run before anything touches the database.
    let protected = crate::rls::validate(parsed, &nodes)?;
    // A protected model whose SQL certainly lacks its tenant column stops here too.
    crate::rls_static::check(parsed, &nodes)?;
    let session = Session::open(parsed, &schemas)?;
    let start_hooks = session.run_project_hooks("-on-run-start-", &[], progress);
    if start_hooks.iter().any(|r| r.status == Status::Error) {
        // dbt stops the run when an on-run-start hook fails.
        return Ok(start_hooks);
    }
    if protected {
        crate::rls::prepare(&session).map_err(|d| vec![d])?;
    }
    let mut plan = Plan::with_manifest(nodes, &parsed.manifest);
    edges(parsed, &mut plan);
    let mut results = start_hooks;
    results.extend(session.execute(&plan, policy, progress));
    // `mfb test` and `mfb build` prove the isolation of every protected table they cover.
    if session.any_rls
        && matches!(parsed.loaded.settings.which.as_str(), "test" | "build")
        && !crate::engine::interrupted()
    {
        let models = crate::rls::checked_models(parsed, &plan.nodes);
        results.extend(crate::rls::isolation_results(&session, &models));
    }
    if !crate::engine::interrupted() {
        // `results` in on-run-end: the nodes' results, not the on-run-start hooks'.
        let nodes_only: Vec<NodeResult> = results
            .iter()
            .filter(|r| !r.unique_id.starts_with("operation."))
            .cloned()
            .collect();
        let end_hooks = session.run_project_hooks("-on-run-end-", &nodes_only, progress);
        results.extend(end_hooks);
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

/// `mfb build`: seeds, models, snapshots and tests of the selection in DAG order, each test
/// right after what it tests, and nothing downstream of a failed test.
pub fn build(
    parsed: &mut Parsed,
    selected: &IndexSet<UniqueId>,
    policy: Policy,
    progress: &dyn Progress,
) -> Result<Vec<NodeResult>, Diagnostics> {
    let keep = |n: &Node| match n.resource_type {
        ResourceType::Model => builds_relation(n),
        ResourceType::Seed
        | ResourceType::Snapshot
        | ResourceType::Test
        | ResourceType::UnitTest => true,
        _ => false,
    };
    run_plan_with(
        parsed,
        selected,
        keep,
        |p, plan| {
            add_test_edges(&p.dag, plan);
            add_unit_test_edges(plan);
        },
        policy,
        progress,
    )
}

/// Makes every node wait for the tests of the nodes it depends on, so a failed test skips
/// its downstream. A test of several nodes (`relationships`) only holds back a node that
/// depends on all of them (directly or further up), as in dbt; otherwise a test between
/// two branches would stop both.
pub fn add_test_edges(dag: &Dag, plan: &mut Plan<'_>) {
    let position: HashMap<&str, usize> = plan
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (&*n.unique_id.0, i))
        .collect();
    // For each tested node, the tests of it in the plan.
    let mut tests_of: HashMap<usize, Vec<usize>> = HashMap::new();
    for (t, node) in plan.nodes.iter().enumerate() {
        if node.resource_type != ResourceType::Test {
            continue;
        }
        for dep in &node.depends_on.nodes {
            if let Some(&p) = position.get(dep.as_str()) {
                tests_of.entry(p).or_default().push(t);
            }
        }
    }
    if tests_of.is_empty() {
        return;
    }
    let mut ancestors: HashMap<usize, HashSet<UniqueId>> = HashMap::new();
    let mut edges = Vec::new();
    for (d, node) in plan.nodes.iter().enumerate() {
        if node.resource_type == ResourceType::Test {
            continue;
        }
        for &p in &plan.deps[d] {
            for &t in tests_of.get(&p).map(Vec::as_slice).unwrap_or_default() {
                let parents: Vec<usize> = plan.deps[t].clone();
                let covers = parents.len() <= 1
                    || parents.iter().all(|&q| {
                        q == d || {
                            let set = ancestors.entry(d).or_insert_with(|| {
                                dag.ancestors(&node.unique_id, None).into_iter().collect()
                            });
                            set.contains(&plan.nodes[q].unique_id)
                        }
                    });
                if covers && !parents.contains(&d) {
                    edges.push((d, t));
                }
            }
        }
    }
    for (d, t) in edges {
        plan.add_dep(d, t);
    }
}

/// A unit test runs before the model it tests (dbt build: a failing unit test skips the
/// model and its downstream), after the model's own parents (their catalog types shape the
/// test's inputs).
pub fn add_unit_test_edges(plan: &mut Plan<'_>) {
    let position: HashMap<&str, usize> = plan
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (&*n.unique_id.0, i))
        .collect();
    let mut moves = Vec::new();
    for (u, node) in plan.nodes.iter().enumerate() {
        if node.resource_type != ResourceType::UnitTest {
            continue;
        }
        for model in &node.depends_on.nodes {
            if let Some(&m) = position.get(model.as_str()) {
                moves.push((u, m));
            }
        }
    }
    for (u, m) in moves {
        plan.deps[u].retain(|&d| d != m);
        let parents = plan.deps[m].clone();
        for p in parents {
            plan.add_dep(u, p);
        }
        plan.add_dep(m, u);
    }
}

#[cfg(test)]
mod tests {
    use mfb_graph::ResourceType::Model;
    use mfb_graph::test_support::{generic_test, m, manifest, node};

    use super::*;

    #[test]
    fn downstream_waits_for_the_tests_of_its_parents_only() {
        // a -> b -> c; x alone; not_null on a; relationships b -> x; unique on c.
        let nodes = vec![
            node(Model, "a", &[]),
            node(Model, "x", &[]),
            generic_test("not_null", &m("a"), "id", &[]),
            node(Model, "b", &[&m("a")]),
            generic_test("relationships", &m("b"), "x_id", &[&m("x")]),
            node(Model, "c", &[&m("b")]),
            generic_test("unique", &m("c"), "id", &[]),
        ];
        let manifest = manifest(nodes.clone(), vec![], vec![]);
        let dag = Dag::build(&manifest).unwrap();
        let mut plan = Plan::new(nodes.iter().collect());
        add_test_edges(&dag, &mut plan);
        let waits_for = |i: usize| -> Vec<&str> {
            let mut v: Vec<&str> = plan.deps[i]
                .iter()
                .map(|&d| plan.nodes[d].name.as_str())
                .collect();
            v.sort();
            v
        };
        // b waits for a and a's test; c for b but not for the relationships test, whose
        // other parent x is not upstream of c.
        assert_eq!(waits_for(3), ["a", "not_null_a_id"]);
        assert_eq!(waits_for(5), ["b"]);
        // Tests wait for what they test, and nothing waits for the last test.
        assert_eq!(waits_for(4), ["b", "x"]);
        assert!(plan.deps.iter().all(|d| !d.contains(&6)));
    }
}
