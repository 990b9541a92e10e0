//! The dependency graph (petgraph) over nodes, sources and exposures.
//!
//! Vertices are every enabled manifest node (models, seeds, snapshots, analyses, tests,
//! unit tests, operations), every source and every exposure. An edge goes from each id
//! in a node's `depends_on.nodes` to the node (upstream -> downstream). Ids that name
//! nothing are the parser's to report; they are skipped here. Vertices are added in
//! unique-id order, so a vertex index orders like its id: sorting indices gives a
//! deterministic, id-sorted result without comparing strings.

use indexmap::IndexMap;
use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use rayon::slice::ParallelSliceMut;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::{GraphError, Manifest, UniqueId};

/// Dependency DAG. Edges point from a dependency to its dependent (upstream -> downstream).
/// Tests depend on the nodes they test. Built from `Node::depends_on.nodes`.
#[derive(Debug, Clone)]
pub struct Dag {
    graph: DiGraph<UniqueId, ()>,
    index: crate::manifest::IdMap<NodeIndex>,
    /// Direct upstream vertices of each vertex, sorted by id, without duplicates.
    parents: Vec<Vec<u32>>,
    /// Direct downstream vertices of each vertex, sorted by id, without duplicates.
    children: Vec<Vec<u32>>,
    /// Vertex indices in topological order.
    topo: Vec<u32>,
    /// Position of each vertex in `topo`.
    topo_pos: Vec<u32>,
}

impl Dag {
    /// Builds the DAG; a cycle is an error with the cycle's path.
    pub fn build(manifest: &Manifest) -> Result<Dag, GraphError> {
        let mut ids: Vec<&UniqueId> = manifest
            .nodes
            .keys()
            .chain(manifest.sources.keys())
            .chain(manifest.exposures.keys())
            .collect();
        ids.par_sort_unstable();
        ids.dedup();

        let mut graph = DiGraph::with_capacity(ids.len(), ids.len() * 2);
        let mut index =
            crate::manifest::IdMap::with_capacity_and_hasher(ids.len(), Default::default());
        for id in ids {
            let ix = graph.add_node(id.clone());
            index.insert(id.clone(), ix);
        }

        let n = graph.node_count();
        let mut parents: Vec<Vec<u32>> = vec![Vec::new(); n];
        let deps = manifest
            .nodes
            .iter()
            .map(|(id, node)| (id, &node.depends_on.nodes))
            .chain(
                manifest
                    .exposures
                    .iter()
                    .map(|(id, e)| (id, &e.depends_on.nodes)),
            );
        for (id, dep_ids) in deps {
            let to = index[id];
            let list = &mut parents[to.index()];
            for dep in dep_ids {
                if let Some(&from) = index.get(dep.as_str()) {
                    list.push(from.index() as u32);
                }
            }
            list.sort_unstable();
            list.dedup();
            for &from in list.iter() {
                graph.add_edge(NodeIndex::new(from as usize), to, ());
            }
        }
        let mut children: Vec<Vec<u32>> = vec![Vec::new(); n];
        // Pushing in ascending child order keeps every child list sorted.
        for (child, ps) in parents.iter().enumerate() {
            for &p in ps {
                children[p as usize].push(child as u32);
            }
        }

        let topo = kahn(&parents, &children).map_err(|remaining| GraphError::Cycle {
            path: cycle_path(&parents, &remaining)
                .into_iter()
                .map(|i| graph[NodeIndex::new(i as usize)].to_string())
                .collect(),
        })?;
        let mut topo_pos = vec![0u32; n];
        for (pos, &v) in topo.iter().enumerate() {
            topo_pos[v as usize] = pos as u32;
        }
        Ok(Dag {
            graph,
            index,
            parents,
            children,
            topo,
            topo_pos,
        })
    }

    /// Number of vertices (nodes, sources, exposures).
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    /// True when the DAG has no vertices.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when `id` is a vertex of the DAG.
    pub fn contains(&self, id: &UniqueId) -> bool {
        self.index.contains_key(id)
    }

    /// All ids in a deterministic topological order (ties broken by unique id).
    pub fn topo_order(&self) -> Vec<UniqueId> {
        self.topo
            .iter()
            .map(|&i| self.id_at(i as usize).clone())
            .collect()
    }

    /// Direct upstream ids of `id`, sorted by id (empty for an unknown id).
    pub fn parents(&self, id: &UniqueId) -> Vec<UniqueId> {
        self.neighbours(id, &self.parents)
    }

    /// Direct downstream ids of `id`, sorted by id (empty for an unknown id).
    pub fn children(&self, id: &UniqueId) -> Vec<UniqueId> {
        self.neighbours(id, &self.children)
    }

    /// Direct upstream ids of `id` without allocating: what the scheduler waits on.
    pub fn upstream(&self, id: &UniqueId) -> impl Iterator<Item = &UniqueId> + '_ {
        let list = self
            .index_of(id)
            .map(|i| self.parents[i].as_slice())
            .unwrap_or(&[]);
        list.iter().map(|&p| self.id_at(p as usize))
    }

    /// Every vertex with its direct upstream ids, in topological order (dbt's
    /// `parent_map`, ordered so a scheduler can walk it front to back).
    pub fn upstream_map(&self) -> IndexMap<UniqueId, Vec<UniqueId>> {
        self.topo
            .iter()
            .map(|&i| {
                let i = i as usize;
                let ps = self.parents[i]
                    .iter()
                    .map(|&p| self.id_at(p as usize).clone());
                (self.id_at(i).clone(), ps.collect())
            })
            .collect()
    }

    /// All upstream ids of `id`, up to `depth` edges away (`None`: no limit), sorted by id.
    /// `id` itself is not included.
    pub fn ancestors(&self, id: &UniqueId, depth: Option<usize>) -> Vec<UniqueId> {
        self.walk_ids(id, depth, Direction::Incoming)
    }

    /// All downstream ids of `id`, up to `depth` edges away (`None`: no limit), sorted by id.
    /// `id` itself is not included.
    pub fn descendants(&self, id: &UniqueId, depth: Option<usize>) -> Vec<UniqueId> {
        self.walk_ids(id, depth, Direction::Outgoing)
    }

    /// The vertex index of `id` (indices order like ids; `0..len()`).
    pub fn index_of(&self, id: &UniqueId) -> Option<usize> {
        self.index.get(id).map(|ix| ix.index())
    }

    /// The id at vertex index `i`.
    pub fn id_at(&self, i: usize) -> &UniqueId {
        &self.graph[NodeIndex::new(i)]
    }

    /// Direct upstream vertex indices of vertex `i`, sorted.
    pub fn parents_of_index(&self, i: usize) -> &[u32] {
        &self.parents[i]
    }

    /// Direct downstream vertex indices of vertex `i`, sorted.
    pub fn children_of_index(&self, i: usize) -> &[u32] {
        &self.children[i]
    }

    /// Vertex indices in topological order.
    pub fn topo_indices(&self) -> &[u32] {
        &self.topo
    }

    /// Position of vertex `i` in the topological order.
    pub fn topo_position(&self, i: usize) -> usize {
        self.topo_pos[i] as usize
    }

    /// Marks in `seen` every vertex reachable from `start` within `depth` edges in
    /// `direction` (the start vertex is not marked unless reached through a cycle).
    pub(crate) fn mark_reachable(
        &self,
        start: usize,
        depth: Option<usize>,
        direction: Direction,
        seen: &mut [bool],
    ) {
        let adj = match direction {
            Direction::Incoming => &self.parents,
            Direction::Outgoing => &self.children,
        };
        let mut frontier = vec![start as u32];
        let mut level = 0usize;
        while !frontier.is_empty() && depth.is_none_or(|d| level < d) {
            let mut next = Vec::new();
            for v in frontier {
                for &w in &adj[v as usize] {
                    if !seen[w as usize] {
                        seen[w as usize] = true;
                        next.push(w);
                    }
                }
            }
            frontier = next;
            level += 1;
        }
    }

    fn walk_ids(&self, id: &UniqueId, depth: Option<usize>, direction: Direction) -> Vec<UniqueId> {
        let Some(start) = self.index_of(id) else {
            return Vec::new();
        };
        let mut seen = vec![false; self.len()];
        self.mark_reachable(start, depth, direction, &mut seen);
        seen[start] = false;
        seen.iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .map(|(i, _)| self.id_at(i).clone())
            .collect()
    }

    fn neighbours(&self, id: &UniqueId, adj: &[Vec<u32>]) -> Vec<UniqueId> {
        match self.index_of(id) {
            Some(i) => adj[i]
                .iter()
                .map(|&j| self.id_at(j as usize).clone())
                .collect(),
            None => Vec::new(),
        }
    }
}

/// Kahn's algorithm; among ready vertices the smallest index (= smallest id) goes first.
/// On a cycle, returns the vertices that could not be ordered.
fn kahn(parents: &[Vec<u32>], children: &[Vec<u32>]) -> Result<Vec<u32>, Vec<bool>> {
    let n = parents.len();
    let mut indegree: Vec<u32> = parents.iter().map(|p| p.len() as u32).collect();
    let mut ready: BinaryHeap<Reverse<u32>> = (0..n as u32)
        .filter(|&i| indegree[i as usize] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(v)) = ready.pop() {
        order.push(v);
        for &c in &children[v as usize] {
            indegree[c as usize] -= 1;
            if indegree[c as usize] == 0 {
                ready.push(Reverse(c));
            }
        }
    }
    if order.len() == n {
        Ok(order)
    } else {
        Err(indegree.iter().map(|&d| d > 0).collect())
    }
}

/// One cycle among the vertices Kahn's algorithm left over, upstream first, starting and
/// ending at its smallest id: `a -> b -> c -> a`.
///
/// Every leftover vertex has a leftover parent, so walking from the smallest leftover
/// vertex to its smallest leftover parent must revisit a vertex; the revisited stretch
/// is a cycle.
fn cycle_path(parents: &[Vec<u32>], remaining: &[bool]) -> Vec<u32> {
    let Some(start) = remaining.iter().position(|&r| r) else {
        return Vec::new();
    };
    let mut visited_at: Vec<Option<usize>> = vec![None; parents.len()];
    let mut walk: Vec<u32> = Vec::new();
    let mut v = start as u32;
    loop {
        if let Some(pos) = visited_at[v as usize] {
            // walk[pos..] goes downstream -> upstream; reverse it to read upstream first.
            let mut cycle: Vec<u32> = walk[pos..].iter().rev().copied().collect();
            let min_pos = cycle
                .iter()
                .enumerate()
                .min_by_key(|(_, x)| **x)
                .map_or(0, |(i, _)| i);
            cycle.rotate_left(min_pos);
            cycle.push(cycle[0]);
            return cycle;
        }
        visited_at[v as usize] = Some(walk.len());
        walk.push(v);
        let next = parents[v as usize]
            .iter()
            .copied()
            .find(|&p| remaining[p as usize]);
        match next {
            Some(p) => v = p,
            // Cannot happen for Kahn leftovers; return what was walked rather than loop.
            None => return walk,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ResourceType::{Model, Seed, Test};
    use crate::test_support::{exposure, generic_test, m, manifest, node, source};

    fn ids(v: &[UniqueId]) -> Vec<&str> {
        v.iter().map(UniqueId::as_str).collect()
    }

    fn uid(s: &str) -> UniqueId {
        UniqueId::new(s)
    }

    /// seed -> a -> {b, c} -> d, plus a source feeding b and an exposure on d.
    fn diamond() -> Manifest {
        manifest(
            vec![
                node(Model, "d", &[&m("c"), &m("b")]),
                node(Model, "b", &[&m("a"), "source.proj.raw.events"]),
                node(Model, "c", &[&m("a")]),
                node(Model, "a", &["seed.proj.s"]),
                node(Seed, "s", &[]),
                generic_test("unique", &m("d"), "id", &[]),
            ],
            vec![source("raw", "events")],
            vec![exposure("dash", &[&m("d")])],
        )
    }

    #[test]
    fn topo_order_is_deterministic_and_breaks_ties_by_id() {
        let dag = Dag::build(&diamond()).unwrap();
        let order = dag.topo_order();
        assert_eq!(
            ids(&order),
            [
                "seed.proj.s",
                "model.proj.a",
                "model.proj.c",
                "source.proj.raw.events",
                "model.proj.b",
                "model.proj.d",
                "exposure.proj.dash",
                "test.proj.unique_d_id.abc123",
            ]
        );
        // Same manifest built from nodes in another insertion order: same order.
        let mut reversed = diamond();
        reversed.nodes.reverse();
        assert_eq!(Dag::build(&reversed).unwrap().topo_order(), order);
    }

    #[test]
    fn parents_children_and_walks() {
        let dag = Dag::build(&diamond()).unwrap();
        assert_eq!(ids(&dag.parents(&uid(&m("d")))), [m("b"), m("c")]);
        assert_eq!(
            ids(&dag.parents(&uid(&m("b")))),
            [m("a").as_str(), "source.proj.raw.events"]
        );
        assert_eq!(
            ids(&dag.children(&uid(&m("d")))),
            ["exposure.proj.dash", "test.proj.unique_d_id.abc123"]
        );
        assert_eq!(
            ids(&dag.ancestors(&uid(&m("d")), Some(1))),
            [m("b"), m("c")]
        );
        assert_eq!(
            ids(&dag.ancestors(&uid(&m("d")), None)),
            [
                m("a").as_str(),
                m("b").as_str(),
                m("c").as_str(),
                "seed.proj.s",
                "source.proj.raw.events"
            ]
        );
        assert_eq!(
            ids(&dag.descendants(&uid("seed.proj.s"), Some(2))),
            [m("a"), m("b"), m("c")]
        );
        assert_eq!(dag.descendants(&uid("seed.proj.s"), None).len(), 6);
        let up: Vec<&str> = dag.upstream(&uid(&m("b"))).map(UniqueId::as_str).collect();
        assert_eq!(up, [m("a").as_str(), "source.proj.raw.events"]);
        let map = dag.upstream_map();
        assert_eq!(map.len(), 8);
        assert_eq!(map.keys().next().unwrap().as_str(), "seed.proj.s");
        assert!(dag.parents(&uid("model.proj.nope")).is_empty());
    }

    #[test]
    fn unknown_and_duplicate_dependencies_are_ignored() {
        let mf = manifest(
            vec![
                node(Model, "a", &[]),
                node(Model, "b", &[&m("a"), &m("a"), "model.proj.missing"]),
            ],
            vec![],
            vec![],
        );
        let dag = Dag::build(&mf).unwrap();
        assert_eq!(ids(&dag.parents(&uid(&m("b")))), [m("a")]);
        assert_eq!(dag.len(), 2);
    }

    #[test]
    fn a_cycle_reports_its_path_from_the_smallest_id() {
        // b uses a, c uses b, a uses c; x hangs below the cycle and is not part of it.
        let mf = manifest(
            vec![
                node(Model, "x", &[&m("c")]),
                node(Model, "c", &[&m("b")]),
                node(Model, "b", &[&m("a")]),
                node(Model, "a", &[&m("c")]),
                node(Model, "ok", &[]),
            ],
            vec![],
            vec![],
        );
        let err = Dag::build(&mf).unwrap_err();
        let GraphError::Cycle { path } = &err else {
            panic!("expected a cycle, got {err:?}")
        };
        assert_eq!(path, &[m("a"), m("b"), m("c"), m("a")]);
        assert_eq!(
            err.to_string(),
            "dependency cycle: model.proj.a -> model.proj.b -> model.proj.c -> model.proj.a"
        );
    }

    #[test]
    fn a_self_reference_is_a_cycle() {
        let mf = manifest(vec![node(Model, "a", &[&m("a")])], vec![], vec![]);
        let Err(GraphError::Cycle { path }) = Dag::build(&mf) else {
            panic!("expected a cycle")
        };
        assert_eq!(path, [m("a"), m("a")]);
    }

    #[test]
    fn builds_25000_nodes_quickly() {
        let mut nodes = Vec::with_capacity(25_000);
        for i in 0..10_000 {
            let deps: Vec<String> = (1..=3)
                .filter(|k| i >= k * 7)
                .map(|k| m(&format!("m{:05}", i - k * 7)))
                .collect();
            let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
            nodes.push(node(Model, &format!("m{i:05}"), &deps));
        }
        for i in 0..15_000 {
            let mut t = node(
                Test,
                &format!("t{i:05}"),
                &[&m(&format!("m{:05}", i % 10_000))],
            );
            t.unique_id = UniqueId::new(format!("test.proj.t{i:05}"));
            nodes.push(t);
        }
        let mf = manifest(nodes, vec![], vec![]);
        let start = std::time::Instant::now();
        let dag = Dag::build(&mf).unwrap();
        let took = start.elapsed();
        assert_eq!(dag.len(), 25_000);
        let order = dag.topo_order();
        let pos: std::collections::HashMap<&str, usize> = order
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        for n in mf.nodes.values() {
            for d in &n.depends_on.nodes {
                assert!(
                    pos[d.as_str()] < pos[n.unique_id.as_str()],
                    "{d} must come before {}",
                    n.unique_id
                );
            }
        }
        // Generous bound for unoptimised test builds on a shared machine; release is ~ms.
        let limit_ms = if cfg!(debug_assertions) { 5_000 } else { 200 };
        assert!(took.as_millis() < limit_ms, "building took {took:?}");
    }
}
