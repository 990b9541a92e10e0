//! The scheduler: runs a plan of nodes on N worker threads in dependency order.
//!
//! A node starts once every node it depends on (within the plan) has ended. If one of those
//! ended in a way that blocks its downstream (error, skip, failed test), the node is not
//! run but reported as skipped, naming the cause. Among ready nodes the one earliest in the
//! plan (topological order) goes first, so `--threads 1` runs exactly in plan order.
//!
//! Workers are plain threads: node work renders Jinja (which may block on its own database
//! calls) between database statements, so it cannot run on an async executor.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use std::collections::HashMap;

use mfb_graph::Node;

use crate::results::{NodeResult, Status};

/// Told about each node as it starts and ends (the CLI prints progress lines). Called from
/// worker threads; `index` counts nodes in the order they start.
pub trait Progress: Sync {
    /// Node `index` of `total` starts.
    fn start(&self, index: usize, total: usize, node: &Node);
    /// Node `index` of `total` ended.
    fn done(&self, index: usize, total: usize, node: &Node, result: &NodeResult);
}

/// What to run: nodes in topological order and, for each, the plan positions it waits for.
pub struct Plan<'a> {
    pub nodes: Vec<&'a Node>,
    pub deps: Vec<Vec<usize>>,
}

impl<'a> Plan<'a> {
    /// A plan of `nodes` (in topological order) where each waits for the nodes of the plan
    /// it depends on (`depends_on.nodes`); dependencies outside the plan are taken as built.
    pub fn new(nodes: Vec<&'a Node>) -> Plan<'a> {
        let position: HashMap<&str, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (&*n.unique_id.0, i))
            .collect();
        let deps = nodes
            .iter()
            .map(|n| {
                let mut d: Vec<usize> = n
                    .depends_on
                    .nodes
                    .iter()
                    .filter_map(|id| position.get(id.as_str()).copied())
                    .collect();
                d.sort_unstable();
                d.dedup();
                d
            })
            .collect();
        Plan { nodes, deps }
    }

    /// A plan of `nodes` (in topological order) where each waits for the nearest nodes of
    /// the plan upstream of it, also through nodes outside the plan: a model reading an
    /// ephemeral model waits for what the ephemeral model reads, and with `--select a c`
    /// of `a -> b -> c`, `c` waits for `a` (dbt keeps such transitive edges too).
    pub fn with_manifest(nodes: Vec<&'a Node>, manifest: &mfb_graph::Manifest) -> Plan<'a> {
        let position: HashMap<&str, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (&*n.unique_id.0, i))
            .collect();
        // For a node outside the plan: the nearest plan nodes upstream of it (memoised).
        let mut frontier: HashMap<String, Vec<usize>> = HashMap::new();
        fn reach(
            id: &str,
            manifest: &mfb_graph::Manifest,
            position: &HashMap<&str, usize>,
            frontier: &mut HashMap<String, Vec<usize>>,
            depth: usize,
        ) -> Vec<usize> {
            if let Some(&i) = position.get(id) {
                return vec![i];
            }
            if let Some(f) = frontier.get(id) {
                return f.clone();
            }
            let mut found = Vec::new();
            // Depth bound: the DAG is acyclic, this only guards against a broken manifest.
            if depth < 10_000
                && let Some(node) = manifest.nodes.get(id)
            {
                for dep in &node.depends_on.nodes {
                    found.extend(reach(dep, manifest, position, frontier, depth + 1));
                }
                found.sort_unstable();
                found.dedup();
            }
            frontier.insert(id.to_owned(), found.clone());
            found
        }
        let deps = nodes
            .iter()
            .map(|n| {
                let mut d = Vec::new();
                for dep in &n.depends_on.nodes {
                    d.extend(reach(dep, manifest, &position, &mut frontier, 0));
                }
                d.sort_unstable();
                d.dedup();
                d
            })
            .collect();
        Plan { nodes, deps }
    }

    /// Makes the node at `node` also wait for the node at `on`.
    pub fn add_dep(&mut self, node: usize, on: usize) {
        if !self.deps[node].contains(&on) {
            self.deps[node].push(on);
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// How the run goes on after failures.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    /// `--fail-fast`: after the first error or failed test, start nothing new.
    pub fail_fast: bool,
}

struct State {
    /// How many dependencies each node still waits for.
    waiting: Vec<usize>,
    ready: BinaryHeap<Reverse<usize>>,
    /// The node that blocked each node, if any (its unique id).
    blocked_by: Vec<Option<String>>,
    results: Vec<Option<NodeResult>>,
    running: usize,
    started: usize,
    stop: bool,
}

/// Runs `plan` on `threads` workers. `worker` makes each worker's own state (e.g. its
/// database connection, opened lazily); `work` runs one node. Returns the results in the
/// order nodes ended. Nodes not started because of `cancel` or `--fail-fast` get no result
/// (cancel) or a skipped one (fail-fast).
pub fn execute<W, F>(
    plan: &Plan<'_>,
    threads: usize,
    policy: Policy,
    cancel: &AtomicBool,
    progress: &dyn Progress,
    worker: impl Fn(usize) -> W + Sync,
    work: F,
) -> Vec<NodeResult>
where
    F: Fn(&mut W, &Node) -> NodeResult + Sync,
{
    let n = plan.len();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut waiting = vec![0; n];
    for (i, deps) in plan.deps.iter().enumerate() {
        waiting[i] = deps.len();
        for &d in deps {
            dependents[d].push(i);
        }
    }
    let ready = (0..n).filter(|&i| waiting[i] == 0).map(Reverse).collect();
    let state = Mutex::new(State {
        waiting,
        ready,
        blocked_by: vec![None; n],
        results: vec![None; n],
        running: 0,
        started: 0,
        stop: false,
    });
    let wake = Condvar::new();
    let order = Mutex::new(Vec::with_capacity(n));
    let threads = threads.clamp(1, n.max(1));
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (state, wake, order, worker, work) = (&state, &wake, &order, &worker, &work);
            let dependents = &dependents;
            scope.spawn(move || {
                let mut own = worker(t);
                let thread_id = format!("Thread-{} (worker)", t + 1);
                loop {
                    let picked = {
                        let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
                        loop {
                            if cancel.load(Ordering::SeqCst) {
                                s.stop = true;
                            }
                            if !s.stop
                                && let Some(Reverse(i)) = s.ready.pop()
                            {
                                s.running += 1;
                                s.started += 1;
                                break Some((i, s.started, s.blocked_by[i].clone()));
                            }
                            if s.running == 0 && (s.stop || s.ready.is_empty()) {
                                break None;
                            }
                            s = wake
                                .wait_timeout(s, Duration::from_millis(100))
                                .unwrap_or_else(PoisonError::into_inner)
                                .0;
                        }
                    };
                    let Some((i, index, blocked)) = picked else {
                        wake.notify_all();
                        return;
                    };
                    let node = plan.nodes[i];
                    progress.start(index, n, node);
                    let was_blocked = blocked.is_some();
                    let mut result = match blocked {
                        Some(up) => NodeResult::not_run(
                            node,
                            Status::Skipped,
                            format!("skipped: {up} did not succeed"),
                        ),
                        None => work(&mut own, node),
                    };
                    result.thread_id = thread_id.clone();
                    progress.done(index, n, node, &result);
                    let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
                    s.running -= 1;
                    if result.status.blocks_downstream() && policy.fail_fast && !was_blocked {
                        s.stop = true;
                    }
                    for &d in &dependents[i] {
                        if result.status.blocks_downstream() && s.blocked_by[d].is_none() {
                            s.blocked_by[d] = Some(match result.status {
                                Status::Skipped => s.blocked_by[i]
                                    .clone()
                                    .unwrap_or_else(|| node.unique_id.to_string()),
                                _ => node.unique_id.to_string(),
                            });
                        }
                        s.waiting[d] -= 1;
                        if s.waiting[d] == 0 {
                            s.ready.push(Reverse(d));
                        }
                    }
                    order.lock().unwrap_or_else(PoisonError::into_inner).push(i);
                    s.results[i] = Some(result);
                    drop(s);
                    wake.notify_all();
                }
            });
        }
    });
    let mut s = state.into_inner().unwrap_or_else(PoisonError::into_inner);
    let order = order.into_inner().unwrap_or_else(PoisonError::into_inner);
    let mut ended = vec![false; n];
    for &i in &order {
        ended[i] = true;
    }
    let mut results: Vec<NodeResult> = order
        .into_iter()
        .filter_map(|i| s.results[i].take())
        .collect();
    if policy.fail_fast && !cancel.load(Ordering::SeqCst) {
        for (i, node) in plan.nodes.iter().enumerate() {
            if !ended[i] {
                results.push(NodeResult::not_run(
                    node,
                    Status::Skipped,
                    "skipped: --fail-fast stopped the run".to_owned(),
                ));
            }
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use mfb_graph::ResourceType::{Model, Test};
    use mfb_graph::test_support::node;

    use super::*;

    struct Quiet;
    impl Progress for Quiet {
        fn start(&self, _: usize, _: usize, _: &Node) {}
        fn done(&self, _: usize, _: usize, _: &Node, _: &NodeResult) {}
    }

    fn ok(node: &Node, status: Status) -> NodeResult {
        NodeResult::not_run(node, status, String::new())
    }

    /// a -> b -> d, a -> c -> d, e alone.
    fn diamond() -> Vec<Node> {
        vec![
            node(Model, "a", &[]),
            node(Model, "b", &["model.proj.a"]),
            node(Model, "c", &["model.proj.a"]),
            node(Model, "d", &["model.proj.b", "model.proj.c"]),
            node(Model, "e", &[]),
        ]
    }

    fn statuses(results: &[NodeResult]) -> Vec<(String, &'static str)> {
        let mut v: Vec<_> = results
            .iter()
            .map(|r| (r.unique_id.replace("model.proj.", ""), r.status.as_str()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_node_waits_for_plan_nodes_behind_nodes_outside_the_plan() {
        // a -> eph -> c (eph is ephemeral: not in the plan), and x alone.
        let nodes = [
            node(Model, "a", &[]),
            node(Model, "eph", &["model.proj.a"]),
            node(Model, "c", &["model.proj.eph"]),
            node(Model, "x", &[]),
        ];
        let manifest = mfb_graph::test_support::manifest(nodes.to_vec(), vec![], vec![]);
        let plan = Plan::with_manifest(vec![&nodes[0], &nodes[2], &nodes[3]], &manifest);
        assert_eq!(plan.deps, [vec![], vec![0], vec![]]);
    }

    #[test]
    fn one_thread_runs_in_plan_order() {
        let nodes = diamond();
        let plan = Plan::new(nodes.iter().collect());
        let seen = Mutex::new(Vec::new());
        let results = execute(
            &plan,
            1,
            Policy::default(),
            &AtomicBool::new(false),
            &Quiet,
            |_| (),
            |_, n| {
                seen.lock().unwrap().push(n.name.clone());
                ok(n, Status::Success)
            },
        );
        assert_eq!(seen.into_inner().unwrap(), ["a", "b", "c", "d", "e"]);
        assert_eq!(results.len(), 5);
    }

    #[test]
    fn a_node_never_starts_before_its_dependencies_end() {
        let nodes = diamond();
        let plan = Plan::new(nodes.iter().collect());
        let ended = Mutex::new(Vec::<String>::new());
        let concurrent = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        execute(
            &plan,
            4,
            Policy::default(),
            &AtomicBool::new(false),
            &Quiet,
            |_| (),
            |_, n| {
                for dep in &n.depends_on.nodes {
                    let name = dep.rsplit('.').next().unwrap();
                    assert!(
                        ended.lock().unwrap().iter().any(|e| e == name),
                        "{} started before {name} ended",
                        n.name
                    );
                }
                let now = concurrent.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(30));
                concurrent.fetch_sub(1, Ordering::SeqCst);
                ended.lock().unwrap().push(n.name.clone());
                ok(n, Status::Success)
            },
        );
        // a and e, then b and c, run side by side.
        assert!(peak.load(Ordering::SeqCst) >= 2);
    }

    #[test]
    fn downstream_of_a_failure_is_skipped_and_other_branches_go_on() {
        let nodes = diamond();
        let plan = Plan::new(nodes.iter().collect());
        let results = execute(
            &plan,
            2,
            Policy::default(),
            &AtomicBool::new(false),
            &Quiet,
            |_| (),
            |_, n| {
                ok(
                    n,
                    if n.name == "b" {
                        Status::Error
                    } else {
                        Status::Success
                    },
                )
            },
        );
        assert_eq!(
            statuses(&results),
            [
                ("a".into(), "success"),
                ("b".into(), "error"),
                ("c".into(), "success"),
                ("d".into(), "skipped"),
                ("e".into(), "success")
            ]
        );
        let d = results
            .iter()
            .find(|r| r.unique_id.ends_with(".d"))
            .unwrap();
        assert!(d.message.contains("model.proj.b"), "{}", d.message);
    }

    #[test]
    fn a_warning_does_not_block_but_a_failed_test_does() {
        let nodes = [
            node(Model, "a", &[]),
            node(Test, "t_warn", &["model.proj.a"]),
            node(Test, "t_fail", &["model.proj.a"]),
            node(Model, "b", &["model.proj.a"]),
        ];
        let mut plan = Plan::new(nodes.iter().collect());
        plan.add_dep(3, 1);
        let results = execute(
            &plan,
            1,
            Policy::default(),
            &AtomicBool::new(false),
            &Quiet,
            |_| (),
            |_, n| {
                ok(
                    n,
                    match n.name.as_str() {
                        "t_warn" => Status::Warn,
                        "t_fail" => Status::Fail,
                        _ => Status::Success,
                    },
                )
            },
        );
        let b = results
            .iter()
            .find(|r| r.unique_id.ends_with(".b"))
            .unwrap();
        assert_eq!(b.status, Status::Success);
        plan.add_dep(3, 2);
        let results = execute(
            &plan,
            1,
            Policy::default(),
            &AtomicBool::new(false),
            &Quiet,
            |_| (),
            |_, n| {
                ok(
                    n,
                    match n.name.as_str() {
                        "t_warn" => Status::Warn,
                        "t_fail" => Status::Fail,
                        _ => Status::Success,
                    },
                )
            },
        );
        let b = results
            .iter()
            .find(|r| r.unique_id.ends_with(".b"))
            .unwrap();
        assert_eq!(b.status, Status::Skipped);
    }

    #[test]
    fn fail_fast_starts_nothing_new_and_reports_the_rest_as_skipped() {
        let nodes = diamond();
        let plan = Plan::new(nodes.iter().collect());
        let ran = AtomicUsize::new(0);
        let results = execute(
            &plan,
            1,
            Policy { fail_fast: true },
            &AtomicBool::new(false),
            &Quiet,
            |_| (),
            |_, n| {
                ran.fetch_add(1, Ordering::SeqCst);
                ok(
                    n,
                    if n.name == "a" {
                        Status::Error
                    } else {
                        Status::Success
                    },
                )
            },
        );
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        assert_eq!(results.len(), 5);
        assert!(results[1..].iter().all(|r| r.status == Status::Skipped));
    }

    #[test]
    fn cancel_stops_before_the_next_node() {
        let nodes = diamond();
        let plan = Plan::new(nodes.iter().collect());
        let cancel = AtomicBool::new(false);
        let results = execute(
            &plan,
            1,
            Policy::default(),
            &cancel,
            &Quiet,
            |_| (),
            |_, n| {
                cancel.store(true, Ordering::SeqCst);
                ok(n, Status::Success)
            },
        );
        assert_eq!(results.len(), 1);
    }
}
