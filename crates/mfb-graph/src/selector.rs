//! Node selection: `--select`, `--exclude`, `--selector` with dbt's methods and operators.
//!
//! A selection is parsed into an expression (`parse`: unions by space or separate
//! values, intersections by comma, `selectors.yml` definitions in `yaml`) whose leaves
//! are one method and value with graph operators (`+x`, `x+`, `n+x+m`, `@x`). Leaves are
//! matched by `methods` (`state:` in `state`) and evaluated over the [`Dag`] as
//! bitsets indexed by vertex.
//!
//! Tests are selected indirectly like dbt 1.10. For each leaf, after graph operators, the
//! tests and unit tests that depend on a selected node are the leaf's indirect candidates:
//! - `eager` (the default, and always for `--exclude`): every candidate joins the leaf's
//!   selection, so it then takes part in unions, intersections and exclusions like any
//!   directly selected node (excluding a model also excludes its tests);
//! - `cautious`: a candidate joins the leaf when all its parents are in the leaf's
//!   selection; otherwise it is kept aside and joins at the end if all its parents are
//!   in the final selection;
//! - `buildable`: the same, where a parent may also be upstream of the selection or a
//!   source (sources are never built);
//! - `empty`: candidates are dropped.
//!
//! dbt applies the end-of-selection check with the mode of the whole selection; mfb
//! applies it with the mode of the leaf that found the candidate, which is the same when
//! one mode is used throughout. The `fqn` method matches nodes, unit tests and
//! exposures (not sources), as in dbt.

mod methods;
mod parse;
mod state;
mod yaml;

use indexmap::IndexSet;
use petgraph::Direction;

use crate::{Dag, GraphError, Manifest, ResourceType, UniqueId};

pub use parse::{IndirectSelection, VALID_METHODS};

/// The parsed selection of one command.
#[derive(Debug, Clone, Default)]
pub struct SelectionCriteria {
    /// `--select` values (each may contain spaces = union, commas = intersection).
    pub select: Vec<String>,
    /// `--exclude` values.
    pub exclude: Vec<String>,
    /// `--selector NAME` (from selectors.yml).
    pub selector: Option<String>,
}

/// Context a selection needs besides the manifest and DAG.
#[derive(Debug, Clone, Default)]
pub struct SelectorSpec {
    /// Contents of `selectors.yml` (parsed YAML), if the project has one.
    pub selectors_yml: Option<serde_json::Value>,
    /// `--state DIR` manifest (parsed JSON of `DIR/manifest.json`), for `state:` methods.
    pub state_manifest: Option<serde_json::Value>,
    /// `DIR/run_results.json` of `--state`, for `result:` methods.
    pub state_run_results: Option<serde_json::Value>,
    /// `DIR/sources.json` of `--state` (the earlier freshness check), for `source_status:`.
    pub state_sources: Option<serde_json::Value>,
    /// `target/sources.json` of this project (the latest freshness check).
    pub current_sources: Option<serde_json::Value>,
}

/// Resolves the selection to a set of unique ids (nodes, sources, exposures) in
/// topological order. With no `select` and no `selector`, selects everything (the
/// caller filters by resource type).
///
/// Like dbt: `--selector` takes precedence over `--select`/`--exclude`; with neither
/// `--select` nor `--exclude`, the `selectors.yml` selector marked `default: true` is
/// used when there is one. Tests are selected indirectly in `eager` mode.
pub fn select(
    manifest: &Manifest,
    dag: &Dag,
    criteria: &SelectionCriteria,
    spec: &SelectorSpec,
) -> Result<IndexSet<UniqueId>, GraphError> {
    select_with(manifest, dag, criteria, spec, IndirectSelection::Eager)
}

/// [`select`] with an explicit `--indirect-selection` mode for `--select` (YAML selectors
/// carry their own `indirect_selection`, default `eager`).
pub fn select_with(
    manifest: &Manifest,
    dag: &Dag,
    criteria: &SelectionCriteria,
    spec: &SelectorSpec,
    indirect: IndirectSelection,
) -> Result<IndexSet<UniqueId>, GraphError> {
    select_detailed(manifest, dag, criteria, spec, indirect).map(|r| r.ids)
}

/// The outcome of a selection with what the user may want to hear about.
#[derive(Debug, Clone, Default)]
pub struct SelectionResult {
    /// Selected ids in topological order.
    pub ids: IndexSet<UniqueId>,
    /// Selectors (as written, e.g. `tag:nightly`) whose method matched no enabled
    /// resource; dbt warns about each ("does not match any enabled nodes").
    pub unmatched: Vec<String>,
}

impl SelectionResult {
    /// One warning per selector that matched nothing (code `selector-matches-nothing`).
    pub fn warnings(&self) -> Vec<mfb_diagnostics::Diagnostic> {
        self.unmatched
            .iter()
            .map(|s| {
                mfb_diagnostics::Diagnostic::warning(
                    "selector-matches-nothing",
                    format!("the selection criterion `{s}` does not match any enabled nodes"),
                )
                .with_help("check the spelling with `mfb ls`, and that the node is not disabled")
            })
            .collect()
    }
}

/// [`select_with`], also reporting selectors that matched nothing.
pub fn select_detailed(
    manifest: &Manifest,
    dag: &Dag,
    criteria: &SelectionCriteria,
    spec: &SelectorSpec,
    indirect: IndirectSelection,
) -> Result<SelectionResult, GraphError> {
    let selectors = match &spec.selectors_yml {
        Some(doc) => yaml::Selectors::parse(doc)?,
        None => yaml::Selectors::default(),
    };
    let expr = if let Some(name) = &criteria.selector {
        selectors.get(name)?.clone()
    } else if criteria.select.is_empty() && criteria.exclude.is_empty() {
        match selectors.default_selector() {
            Some(def) => def.clone(),
            None => parse::Expr::Everything,
        }
    } else {
        let include = if criteria.select.is_empty() {
            parse::Expr::Everything
        } else {
            parse::parse_cli(&criteria.select, indirect)?
        };
        if criteria.exclude.is_empty() {
            include
        } else {
            let exclude = parse::parse_cli(&criteria.exclude, IndirectSelection::Eager)?;
            parse::Expr::Difference(Box::new(include), Box::new(exclude))
        }
    };
    let ctx = Context::new(manifest, dag, spec);
    let sel = ctx.eval(&expr)?;
    let chosen = ctx.finish(sel);
    let ids = dag
        .topo_indices()
        .iter()
        .filter(|&&i| chosen[i as usize])
        .map(|&i| dag.id_at(i as usize).clone())
        .collect();
    Ok(SelectionResult {
        ids,
        unmatched: ctx.unmatched.into_inner(),
    })
}

/// One resource the selection can match, by vertex.
#[derive(Clone, Copy)]
pub(crate) enum Item<'a> {
    Node(&'a crate::Node),
    Source(&'a crate::SourceNode),
    Exposure(&'a crate::Exposure),
}

impl<'a> Item<'a> {
    fn unique_id(&self) -> &'a str {
        match self {
            Item::Node(n) => n.unique_id.as_str(),
            Item::Source(s) => s.unique_id.as_str(),
            Item::Exposure(e) => e.unique_id.as_str(),
        }
    }

    fn resource_type(&self) -> ResourceType {
        match self {
            Item::Node(n) => n.resource_type,
            Item::Source(_) => ResourceType::Source,
            Item::Exposure(_) => ResourceType::Exposure,
        }
    }
}

/// Selected vertices of a (sub)expression: directly selected ones and tests waiting for
/// the cautious/buildable check.
struct Selection {
    direct: Vec<bool>,
    cautious: Vec<bool>,
    buildable: Vec<bool>,
}

struct Context<'a> {
    dag: &'a Dag,
    items: Vec<Option<Item<'a>>>,
    manifest: &'a Manifest,
    spec: &'a SelectorSpec,
    state: std::cell::OnceCell<state::StateIndex<'a>>,
    /// Selectors (as written) whose method matched nothing.
    unmatched: std::cell::RefCell<Vec<String>>,
}

impl<'a> Context<'a> {
    fn new(manifest: &'a Manifest, dag: &'a Dag, spec: &'a SelectorSpec) -> Self {
        let items = (0..dag.len())
            .map(|i| {
                let id = dag.id_at(i);
                if let Some(n) = manifest.nodes.get(id) {
                    Some(Item::Node(n))
                } else if let Some(s) = manifest.sources.get(id) {
                    Some(Item::Source(s))
                } else {
                    manifest.exposures.get(id).map(Item::Exposure)
                }
            })
            .collect();
        Context {
            dag,
            items,
            manifest,
            spec,
            state: std::cell::OnceCell::new(),
            unmatched: std::cell::RefCell::new(Vec::new()),
        }
    }

    fn n(&self) -> usize {
        self.items.len()
    }

    fn eval(&self, expr: &parse::Expr) -> Result<Selection, GraphError> {
        let n = self.n();
        match expr {
            parse::Expr::Everything => {
                let direct = self
                    .items
                    .iter()
                    .map(|it| it.is_some_and(|it| it.resource_type() != ResourceType::Operation))
                    .collect();
                Ok(Selection {
                    direct,
                    cautious: vec![false; n],
                    buildable: vec![false; n],
                })
            }
            parse::Expr::Leaf(leaf) => self.eval_leaf(leaf),
            parse::Expr::Union(parts) => {
                let mut acc = Selection::empty(n);
                for p in parts {
                    let s = self.eval(p)?;
                    acc.combine(&s, |a, b| a || b);
                }
                Ok(acc)
            }
            parse::Expr::Intersection(parts) => {
                let mut acc: Option<Selection> = None;
                for p in parts {
                    let s = self.eval(p)?;
                    match &mut acc {
                        None => acc = Some(s),
                        Some(a) => a.combine(&s, |a, b| a && b),
                    }
                }
                Ok(acc.unwrap_or_else(|| Selection::empty(n)))
            }
            parse::Expr::Difference(include, exclude) => {
                let mut acc = self.eval(include)?;
                let s = self.eval(exclude)?;
                acc.combine(&s, |a, b| a && !b);
                Ok(acc)
            }
        }
    }

    fn eval_leaf(&self, leaf: &parse::Leaf) -> Result<Selection, GraphError> {
        let n = self.n();
        let mut base = vec![false; n];
        if matches!(
            leaf.method,
            parse::Method::Result | parse::Method::SourceStatus
        ) {
            for (i, it) in self.items.iter().enumerate() {
                if let Some(it) = it {
                    base[i] = self.matches_artifact(leaf, *it)?;
                }
            }
        } else if leaf.method == parse::Method::State {
            let st = self.state_index()?;
            for (i, it) in self.items.iter().enumerate() {
                if let Some(it) = it {
                    base[i] = st.matches(leaf, self.manifest, *it)?;
                }
            }
        } else {
            for (i, it) in self.items.iter().enumerate() {
                if let Some(it) = it
                    && it.resource_type() != ResourceType::Operation
                {
                    base[i] = methods::matches(leaf, self.manifest, *it)?;
                }
            }
        }

        if !base.iter().any(|&b| b) {
            let mut unmatched = self.unmatched.borrow_mut();
            if !unmatched.contains(&leaf.text) {
                unmatched.push(leaf.text.clone());
            }
        }
        let mut selected = base.clone();
        if leaf.childrens_parents {
            let mut down = self.reach(&base, None, Direction::Outgoing);
            or_into(&mut down, &base);
            let up = self.reach(&down, None, Direction::Incoming);
            or_into(&mut selected, &down);
            or_into(&mut selected, &up);
        } else {
            if leaf.parents {
                let up = self.reach(&base, leaf.parents_depth, Direction::Incoming);
                or_into(&mut selected, &up);
            }
            if leaf.children {
                let down = self.reach(&base, leaf.children_depth, Direction::Outgoing);
                or_into(&mut selected, &down);
            }
        }

        // Tests and unit tests attached to anything selected.
        let mut candidates = vec![false; n];
        for (i, &s) in selected.iter().enumerate() {
            if !s {
                continue;
            }
            for &c in self.dag.children_of_index(i) {
                let c = c as usize;
                if !selected[c] && self.is_test(c) {
                    candidates[c] = true;
                }
            }
        }
        let mut out = Selection {
            direct: selected,
            cautious: vec![false; n],
            buildable: vec![false; n],
        };
        match leaf.indirect {
            IndirectSelection::Eager => or_into(&mut out.direct, &candidates),
            IndirectSelection::Cautious => {
                // Tests whose parents are all selected join now; the others may still
                // join at the end if the rest of the selection brings their parents.
                for i in (0..n).filter(|&i| candidates[i]) {
                    if self.parents_within(i, &out.direct) {
                        out.direct[i] = true;
                    } else {
                        out.cautious[i] = true;
                    }
                }
            }
            IndirectSelection::Buildable => {
                let buildable = self.buildable_set(&out.direct);
                for i in (0..n).filter(|&i| candidates[i]) {
                    if self.parents_within(i, &buildable) {
                        out.direct[i] = true;
                    } else {
                        out.buildable[i] = true;
                    }
                }
            }
            IndirectSelection::Empty => {}
        }
        Ok(out)
    }

    /// Applies the cautious/buildable checks and returns the final set.
    fn finish(&self, sel: Selection) -> Vec<bool> {
        let Selection {
            mut direct,
            cautious,
            buildable,
        } = sel;
        let selected_before = direct.clone();
        for (i, &c) in cautious.iter().enumerate() {
            if c && self.parents_within(i, &selected_before) {
                direct[i] = true;
            }
        }
        if buildable.iter().any(|&b| b) {
            let within = self.buildable_set(&selected_before);
            for (i, &b) in buildable.iter().enumerate() {
                if b && self.parents_within(i, &within) {
                    direct[i] = true;
                }
            }
        }
        direct
    }

    fn parents_within(&self, i: usize, set: &[bool]) -> bool {
        self.dag
            .parents_of_index(i)
            .iter()
            .all(|&p| set[p as usize])
    }

    /// What a `buildable` test may depend on: the selection, everything upstream of it,
    /// and every source (sources are never built, so they never block a test).
    fn buildable_set(&self, selected: &[bool]) -> Vec<bool> {
        let mut set = self.reach(selected, None, Direction::Incoming);
        or_into(&mut set, selected);
        for (i, it) in self.items.iter().enumerate() {
            if matches!(it, Some(Item::Source(_))) {
                set[i] = true;
            }
        }
        set
    }

    fn is_test(&self, i: usize) -> bool {
        matches!(
            self.items[i].map(|it| it.resource_type()),
            Some(ResourceType::Test | ResourceType::UnitTest)
        )
    }

    /// Vertices reachable from any start vertex within `depth` edges (start vertices are
    /// included only when reached from another start vertex).
    fn reach(&self, start: &[bool], depth: Option<usize>, direction: Direction) -> Vec<bool> {
        let mut seen = vec![false; start.len()];
        let mut frontier: Vec<u32> = start
            .iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .map(|(i, _)| i as u32)
            .collect();
        let mut level = 0usize;
        while !frontier.is_empty() && depth.is_none_or(|d| level < d) {
            let mut next = Vec::new();
            for v in frontier {
                let adj = match direction {
                    Direction::Incoming => self.dag.parents_of_index(v as usize),
                    Direction::Outgoing => self.dag.children_of_index(v as usize),
                };
                for &w in adj {
                    if !seen[w as usize] {
                        seen[w as usize] = true;
                        next.push(w);
                    }
                }
            }
            frontier = next;
            level += 1;
        }
        seen
    }

    /// `result:<status>` and `source_status:fresher`, against the artifacts of `--state`.
    fn matches_artifact(&self, leaf: &parse::Leaf, item: Item<'_>) -> Result<bool, GraphError> {
        let missing = |what: &str, method: &str| GraphError::State {
            path: "--state".to_owned(),
            reason: format!(
                "`{method}:` selectors read {what} of a previous run, but the --state directory has none (or no --state was given)"
            ),
        };
        let v = leaf.value.as_str();
        let id = item.unique_id();
        match leaf.method {
            parse::Method::Result => {
                const STATUSES: &[&str] = &[
                    "success",
                    "error",
                    "fail",
                    "warn",
                    "pass",
                    "skipped",
                    "runtime error",
                ];
                if !STATUSES.contains(&v) {
                    return Err(parse::bad(
                        &leaf.text,
                        "result must be one of success, error, fail, warn, pass, skipped",
                    ));
                }
                let doc = self
                    .spec
                    .state_run_results
                    .as_ref()
                    .ok_or_else(|| missing("run_results.json", "result"))?;
                Ok(doc["results"].as_array().is_some_and(|rs| {
                    rs.iter().any(|r| {
                        r["unique_id"].as_str() == Some(id) && r["status"].as_str() == Some(v)
                    })
                }))
            }
            _ => {
                if v != "fresher" {
                    return Err(parse::bad(&leaf.text, "source_status supports `fresher`"));
                }
                if item.resource_type() != ResourceType::Source {
                    return Ok(false);
                }
                let old = self
                    .spec
                    .state_sources
                    .as_ref()
                    .ok_or_else(|| missing("sources.json", "source_status"))?;
                let Some(new) = self.spec.current_sources.as_ref() else {
                    return Err(GraphError::State {
                        path: "target/sources.json".to_owned(),
                        reason: "`source_status:` compares this project's latest `mfb source freshness` with --state's; run `mfb source freshness` first".to_owned(),
                    });
                };
                let loaded = |doc: &serde_json::Value| -> Option<String> {
                    doc["results"].as_array()?.iter().find_map(|r| {
                        (r["unique_id"].as_str() == Some(id))
                            .then(|| r["max_loaded_at"].as_str().map(str::to_owned))
                            .flatten()
                    })
                };
                // Fresher: loaded since the earlier check, or not checked then. ISO times
                // of one format compare as strings.
                Ok(match (loaded(new), loaded(old)) {
                    (Some(n), Some(o)) => n > o,
                    (Some(_), None) => true,
                    _ => false,
                })
            }
        }
    }

    fn state_index(&self) -> Result<&state::StateIndex<'a>, GraphError> {
        if let Some(index) = self.state.get() {
            return Ok(index);
        }
        let index = match &self.spec.state_manifest {
            Some(doc) => state::StateIndex::new(doc, self.manifest)?,
            None => {
                return Err(GraphError::State {
                    path: "--state".to_owned(),
                    reason: "`state:` selectors compare against a previous manifest, but no \
                             --state directory was given"
                        .to_owned(),
                });
            }
        };
        Ok(self.state.get_or_init(|| index))
    }
}

impl Selection {
    fn empty(n: usize) -> Self {
        Selection {
            direct: vec![false; n],
            cautious: vec![false; n],
            buildable: vec![false; n],
        }
    }

    fn combine(&mut self, other: &Selection, op: impl Fn(bool, bool) -> bool) {
        for (a, b) in [
            (&mut self.direct, &other.direct),
            (&mut self.cautious, &other.cautious),
            (&mut self.buildable, &other.buildable),
        ] {
            for (x, &y) in a.iter_mut().zip(b.iter()) {
                *x = op(*x, y);
            }
        }
    }
}

fn or_into(acc: &mut [bool], other: &[bool]) {
    for (a, &b) in acc.iter_mut().zip(other) {
        *a |= b;
    }
}

/// Shell-style wildcard match as Python's `fnmatch.fnmatchcase`: `*` matches any run of
/// characters (slashes and dots included), `?` one character, `[abc]`/`[!abc]` a set.
pub(crate) fn glob_match(text: &str, pattern: &str) -> bool {
    if !pattern.contains(['*', '?', '[']) {
        return text == pattern;
    }
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    ti += 1;
                    pi += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = match_class(&p, pi, t[ti]) {
                        if matched {
                            ti += 1;
                            pi = next;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        ti += 1;
                        pi += 1;
                        continue;
                    }
                }
                c if c == t[ti] => {
                    ti += 1;
                    pi += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class starting at `p[start] == '['`; returns whether it
/// matched and the index after `]`, or None when the class is not closed.
fn match_class(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = i < p.len() && p[i] == '!';
    if negate {
        i += 1;
    }
    let first = i;
    let mut matched = false;
    while i < p.len() && (p[i] != ']' || i == first) {
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            matched |= p[i] <= c && c <= p[i + 2];
            i += 3;
        } else {
            matched |= p[i] == c;
            i += 1;
        }
    }
    if i >= p.len() {
        return None;
    }
    Some((matched != negate, i + 1))
}

#[cfg(test)]
mod tests;
