//! Compiling: selected nodes rendered with `execute = true` against their real relations,
//! ephemeral models injected as CTEs, and `target/compiled/` written like dbt lays it out.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::{IndexMap, IndexSet};
use mfb_diagnostics::{Diagnostic, IntoDiagnostic};
use mfb_graph::{Manifest, Node, ResourceType, UniqueId};
use mfb_jinja::{JinjaValue, NodeScope, RunOptions};
use rayon::prelude::*;
use serde_json::Value;

use crate::context::{CompileResolver, RefIndex, graph_json, node_relation};
use crate::{Diagnostics, Parsed};

/// What `compile` produced.
#[derive(Debug)]
pub struct CompileOutput {
    /// The compiled nodes, in topological order.
    pub compiled: Vec<UniqueId>,
    /// Where `target/` is.
    pub target_dir: PathBuf,
    /// The nodes whose SQL goes to `target/compiled/` ([`write_compiled`]), in order.
    pub to_write: Vec<UniqueId>,
}

pub(crate) fn is_ephemeral(node: &Node) -> bool {
    node.config.get("materialized").and_then(Value::as_str) == Some("ephemeral")
}

/// The `target` directory for this invocation.
pub fn target_dir(parsed: &Parsed) -> PathBuf {
    let loaded = &parsed.loaded;
    match &loaded.settings.target_path {
        Some(p) => loaded.project.root.join(p),
        None => loaded.project.root.join(&loaded.project.target_path),
    }
}

/// Renders one node at compile time (without CTE injection).
pub(crate) fn render_node(
    parsed: &Parsed,
    run: &Arc<mfb_jinja::RunContext>,
    index: &Arc<RefIndex>,
    node: &Node,
) -> Result<String, Diagnostic> {
    render_for_node(parsed, run, index, node, node_source(parsed, node), false)
}

/// The template a node compiles from: its generated invocation (tests), or its code.
fn node_source<'p>(parsed: &'p Parsed, node: &'p Node) -> &'p str {
    parsed
        .invocations
        .get(&node.unique_id)
        .map_or(&node.raw_code, |s| s.as_str())
}

/// Renders `source` (the node's SQL, or one of its hooks) in the node's context:
/// `this`, `model`, `config`, `ref`, `source`, `is_incremental()`.
pub fn render_for_node(
    parsed: &Parsed,
    run: &Arc<mfb_jinja::RunContext>,
    index: &Arc<RefIndex>,
    node: &Node,
    source: &str,
    incremental: bool,
) -> Result<String, Diagnostic> {
    render_for_node_with(parsed, run, index, node, source, incremental, Vec::new())
}

/// [`render_for_node`] with more names in the context (`results` in on-run-end hooks).
pub fn render_for_node_with(
    parsed: &Parsed,
    run: &Arc<mfb_jinja::RunContext>,
    index: &Arc<RefIndex>,
    node: &Node,
    source: &str,
    incremental: bool,
    extra: Vec<(&str, JinjaValue)>,
) -> Result<String, Diagnostic> {
    let loaded = &parsed.loaded;
    let display = node.defined_at.file.to_string_lossy().into_owned();
    let scope = node_scope(parsed, index, node, source, incremental);
    let scope = extra
        .into_iter()
        .fold(scope, |scope, (name, value)| scope.set(name, value));
    loaded
        .runtime
        .render(run, &display, source, scope)
        .map_err(|e| {
            crate::parse::relocate_test_error(
                e.into_diagnostic(),
                node,
                source,
                &loaded.project.root,
            )
        })
}

/// What a node's render sees besides the invocation's values: `this`, `config`, `ref`,
/// `source`, `execute`, `database`, `schema`, `is_incremental()`, `should_full_refresh`,
/// and `model` when something may read it. Every node gets the same names (only `model`
/// depends on the template), which `static_compile` relies on.
pub(crate) fn node_scope(
    parsed: &Parsed,
    index: &Arc<RefIndex>,
    node: &Node,
    source: &str,
    incremental: bool,
) -> NodeScope {
    let loaded = &parsed.loaded;
    let config = Arc::new(node.config.clone());
    let scope = NodeScope::new(&node.package_name, Some(node.unique_id.as_str()))
        .resolve_with(Arc::new(CompileResolver {
            index: index.clone(),
            package: node.package_name.clone(),
        }))
        .config(Some(config))
        .set("execute", JinjaValue::from(true))
        .set("this", node_relation(node).into_value())
        .set("database", JinjaValue::from(node.database.as_str()))
        .set("schema", JinjaValue::from(node.schema.as_str()))
        .set(
            "is_incremental",
            JinjaValue::from_function(move || incremental),
        )
        .set(
            "should_full_refresh",
            JinjaValue::from(loaded.settings.full_refresh),
        );
    crate::context::with_model(scope, &loaded.runtime, source, node)
}

/// Prepends the ephemeral models a node refers to (recursively, dependencies first) as
/// CTEs, the way dbt does: into the existing `with` clause, or as a new one.
pub fn inject_ctes(
    manifest: &Manifest,
    node: &Node,
    sql: &str,
    bodies: &IndexMap<UniqueId, String>,
) -> String {
    let mut order: IndexSet<UniqueId> = IndexSet::new();
    fn visit(manifest: &Manifest, id: &str, order: &mut IndexSet<UniqueId>) {
        let Some(n) = manifest.nodes.get(&UniqueId::new(id)) else {
            return;
        };
        if !is_ephemeral(n) || order.contains(&n.unique_id) {
            return;
        }
        for dep in &n.depends_on.nodes {
            visit(manifest, dep, order);
        }
        order.insert(n.unique_id.clone());
    }
    for dep in &node.depends_on.nodes {
        visit(manifest, dep, &mut order);
    }
    if order.is_empty() {
        return sql.to_owned();
    }
    let ctes: Vec<String> = order
        .iter()
        .map(|id| {
            let n = &manifest.nodes[id];
            format!(
                " __dbt__cte__{} as (\n{}\n)",
                n.alias,
                bodies.get(id).map_or("", String::as_str)
            )
        })
        .collect();
    let joined = ctes.join(", ");
    match find_leading_with(sql) {
        Some((start, end)) => format!(
            "{}with {joined}, {}",
            &sql[..start],
            sql[end..].trim_start()
        ),
        None => format!("with{joined} {sql}"),
    }
}

/// Finds a leading `with` keyword (after whitespace and comments), returning its byte range.
fn find_leading_with(sql: &str) -> Option<(usize, usize)> {
    let bytes = sql.as_bytes();
    let mut i = 0;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if sql[i..].starts_with("--") {
            i += sql[i..].find('\n').map_or(sql.len() - i, |p| p + 1);
        } else if sql[i..].starts_with("/*") {
            i += sql[i..].find("*/").map_or(sql.len() - i, |p| p + 2);
        } else {
            break;
        }
    }
    let word = sql.get(i..i + 4)?;
    let after = bytes.get(i + 4).copied().unwrap_or(b' ');
    (word.eq_ignore_ascii_case("with") && !after.is_ascii_alphanumeric() && after != b'_')
        .then_some((i, i + 4))
}

/// True when some template could read `graph` (a node, a hook or a macro mentions it).
/// Building `graph` for a large project costs more than compiling it, so it is built
/// only then.
fn mentions_graph(parsed: &Parsed) -> bool {
    parsed
        .manifest
        .nodes
        .values()
        .any(|n| n.raw_code.contains("graph"))
        || parsed
            .loaded
            .runtime
            .registry()
            .defs()
            .iter()
            .any(|d| d.sql.contains("graph"))
}

/// The run context for compiling: `graph` available, `execute` true.
pub fn compile_context(parsed: &Parsed) -> Arc<mfb_jinja::RunContext> {
    compile_context_with(
        parsed,
        Arc::new(crate::warehouse::PgWarehouse::lazy(&parsed.loaded.target)),
    )
}

/// [`compile_context`] with another warehouse.
fn compile_context_with(
    parsed: &Parsed,
    warehouse: Arc<dyn mfb_jinja::Warehouse>,
) -> Arc<mfb_jinja::RunContext> {
    let loaded = &parsed.loaded;
    let mut globals = crate::load::globals(
        &loaded.target_value,
        &loaded.settings,
        &loaded.project,
        &loaded.invocation_id,
        loaded.target.threads,
    );
    globals.insert("execute".to_owned(), JinjaValue::from(true));
    let graph: Option<Box<dyn FnOnce() -> JinjaValue + Send>> = if mentions_graph(parsed) {
        let graph = graph_json(&parsed.manifest);
        Some(Box::new(move || mfb_jinja::collections::from_serde(&graph)))
    } else {
        None
    };
    loaded.runtime.run_context(RunOptions {
        globals,
        vars: loaded.vars.clone(),
        graph,
        warehouse: Some(warehouse),
        sink: loaded.settings.log.clone(),
    })
}

/// Compiles the selected nodes (models, tests, analyses, snapshots) and writes
/// `target/compiled/<package>/<path>`. Errors of every node are reported together.
pub fn compile(
    parsed: &mut Parsed,
    selected: &IndexSet<UniqueId>,
) -> Result<CompileOutput, Diagnostics> {
    let output = render_selected(parsed, selected)?;
    write_compiled(parsed, &output)?;
    Ok(output)
}

/// [`compile`] before a run: nodes whose rendering reads the database (introspective
/// macros such as `run_query`, `dbt_utils.get_column_values`, `star`) are not rendered
/// now but left in `parsed.deferred`, to be compiled just before they run, when their
/// upstream relations are built (as dbt compiles every node at that moment). So are the
/// nodes that inline such an ephemeral model.
pub fn compile_for_run(
    parsed: &mut Parsed,
    selected: &IndexSet<UniqueId>,
) -> Result<CompileOutput, Diagnostics> {
    let output = render_selected_with(parsed, selected, true)?;
    write_compiled(parsed, &output)?;
    Ok(output)
}

/// The first half of [`compile`]: renders the selected nodes and stores each one's SQL in
/// its `compiled_code`, without writing files (see [`write_compiled`]).
pub fn render_selected(
    parsed: &mut Parsed,
    selected: &IndexSet<UniqueId>,
) -> Result<CompileOutput, Diagnostics> {
    render_selected_with(parsed, selected, false)
}

fn render_selected_with(
    parsed: &mut Parsed,
    selected: &IndexSet<UniqueId>,
    defer: bool,
) -> Result<CompileOutput, Diagnostics> {
    let run = if defer {
        compile_context_with(parsed, Arc::new(crate::warehouse::DeferringWarehouse))
    } else {
        compile_context(parsed)
    };
    let index = Arc::new(RefIndex::build(&parsed.manifest));
    let packages: Vec<&str> = parsed
        .loaded
        .project
        .packages
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let builtin_tests = crate::builtin_tests::BuiltinTests::new(
        parsed.loaded.runtime.registry(),
        &packages,
        parsed.loaded.settings.store_failures,
    );
    let nodes = &parsed.manifest.nodes;
    // Nodes are handled by their position in the manifest from here on, so that no id is
    // hashed again. Each `todo` entry: position, and whether it counts as selected.
    let mut todo: Vec<(usize, bool)> = selected
        .iter()
        .collect::<Vec<_>>()
        .into_par_iter()
        .filter_map(|id| {
            let (i, _, node) = nodes.get_full(id)?;
            (node.resource_type != ResourceType::Seed).then_some((i, true))
        })
        .collect();
    // Hooks are part of every invocation, whatever is selected.
    let (hooks, any_ephemeral) = (0..nodes.len())
        .into_par_iter()
        .map(|i| {
            let node = &nodes[i];
            let hook = node.resource_type == ResourceType::Operation;
            (hook.then_some(i), is_ephemeral(node))
        })
        .fold(
            || (Vec::new(), false),
            |(mut hooks, eph), (hook, e)| {
                hooks.extend(hook);
                (hooks, eph || e)
            },
        )
        .reduce(
            || (Vec::new(), false),
            |(mut a, ea), (b, eb)| {
                a.extend(b);
                (a, ea || eb)
            },
        );
    for i in hooks {
        if !selected.contains(nodes.get_index(i).map_or("", |(id, _)| id.as_str())) {
            todo.push((i, true));
        }
    }
    if any_ephemeral {
        // Plus the ephemeral models the nodes need (recursively), which are compiled as
        // CTEs but not selected themselves.
        let mut seen: IndexSet<usize> = todo.iter().map(|(i, _)| *i).collect();
        let mut stack: Vec<usize> = seen.iter().copied().collect();
        while let Some(i) = stack.pop() {
            for dep in &nodes[i].depends_on.nodes {
                if let Some((d, _, dep_node)) = nodes.get_full(dep.as_str())
                    && is_ephemeral(dep_node)
                    && seen.insert(d)
                {
                    stack.push(d);
                    todo.push((d, false));
                }
            }
        }
    }
    let results: Vec<Result<String, Diagnostic>> = {
        let parsed_ref = &*parsed;
        let static_compiler = crate::static_compile::enabled()
            .then(|| crate::static_compile::StaticCompiler::new(parsed_ref, &run, &index));
        let results = todo
            .par_iter()
            .map(|&(i, _)| {
                let node = &parsed_ref.manifest.nodes[i];
                if let Some(sql) = builtin_tests.render(node, &index) {
                    return Ok(sql);
                }
                let source = node_source(parsed_ref, node);
                match static_compiler
                    .as_ref()
                    .and_then(|c| c.compile(node, source))
                {
                    Some(sql) => Ok(sql),
                    None => render_for_node(parsed_ref, &run, &index, node, source, false),
                }
            })
            .collect();
        if let Some(c) = &static_compiler {
            mfb_diagnostics::phase::mark_with(|| {
                format!(
                    "render: nodes ({} of {} compiled from their text)",
                    c.compiled.load(std::sync::atomic::Ordering::Relaxed),
                    todo.len()
                )
            });
        }
        results
    };
    // Before a run, a node that read the database waits to be compiled when it runs.
    let mut deferred: Vec<bool> = results
        .iter()
        .map(|r| defer && r.as_ref().is_err_and(reads_database))
        .collect();
    let mut errors = Vec::new();
    let mut results: Vec<Option<String>> = results
        .into_iter()
        .zip(&deferred)
        .map(|(r, &d)| match r {
            Ok(sql) => Some(sql),
            Err(_) if d => None,
            Err(e) => {
                errors.push(e);
                None
            }
        })
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    if deferred.iter().any(|d| *d) {
        // A node that inlines a deferred ephemeral model waits for it.
        let nodes = &parsed.manifest.nodes;
        loop {
            let waiting: std::collections::HashSet<&str> = todo
                .iter()
                .zip(&deferred)
                .filter(|(_, d)| **d)
                .map(|(&(i, _), _)| nodes[i].unique_id.as_str())
                .collect();
            let more: Vec<usize> = (0..todo.len())
                .filter(|&k| !deferred[k])
                .filter(|&k| {
                    nodes[todo[k].0].depends_on.nodes.iter().any(|d| {
                        waiting.contains(d.as_str())
                            && nodes.get(d.as_str()).is_some_and(is_ephemeral)
                    })
                })
                .collect();
            if more.is_empty() {
                break;
            }
            for k in more {
                deferred[k] = true;
                results[k] = None;
            }
        }
        for (&(i, _), _) in todo.iter().zip(&deferred).filter(|(_, d)| **d) {
            parsed.deferred.insert(nodes[i].unique_id.clone());
        }
        let mut keep = deferred.iter().map(|d| !d);
        todo.retain(|_| keep.next().unwrap_or(true));
    }
    let bodies: Vec<String> = results.into_iter().flatten().collect();
    // Ephemeral models become CTEs of the nodes that use them; without any, every body is
    // final as it is.
    let finals: Vec<String> = if any_ephemeral {
        let manifest = &parsed.manifest;
        let by_id: IndexMap<UniqueId, String> = todo
            .iter()
            .map(|&(i, _)| manifest.nodes.get_index(i).map(|(id, _)| id.clone()))
            .zip(bodies)
            .filter_map(|(id, body)| Some((id?, body)))
            .collect();
        for (id, body) in &by_id {
            if manifest.nodes.get(id).is_some_and(is_ephemeral) {
                parsed.ephemeral_bodies.insert(id.clone(), body.clone());
            }
        }
        todo.par_iter()
            .map(|&(i, _)| {
                let node = &manifest.nodes[i];
                inject_ctes(manifest, node, &by_id[&node.unique_id], &by_id)
            })
            .collect()
    } else {
        bodies
    };
    // Where each node stands in the DAG's order, by manifest position.
    let mut topo_position = vec![usize::MAX; parsed.manifest.nodes.len()];
    for (pos, i) in parsed
        .dag
        .topo_order()
        .par_iter()
        .enumerate()
        .filter_map(|(pos, id)| Some((pos, parsed.manifest.nodes.get_index_of(id)?)))
        .collect::<Vec<_>>()
    {
        topo_position[i] = pos;
    }
    let mut compiled = Vec::new();
    let mut to_write = Vec::new();
    for (&(i, is_selected), sql) in todo.iter().zip(finals) {
        let Some((id, node)) = parsed.manifest.nodes.get_index_mut(i) else {
            continue;
        };
        // dbt compile writes no files for snapshots, nor for ephemeral models that were
        // only pulled in as CTEs.
        let skip = (!is_selected && is_ephemeral(node))
            || node.resource_type == ResourceType::Snapshot
            // dbt skips empty models: nothing to write or build.
            || node.raw_code.trim().is_empty();
        node.compiled_code = Some(sql);
        if !skip {
            to_write.push(id.clone());
        }
        if is_selected {
            compiled.push((topo_position[i], id.clone()));
        }
    }
    compiled.sort_by_key(|(pos, _)| *pos);
    Ok(CompileOutput {
        compiled: compiled.into_iter().map(|(_, id)| id).collect(),
        target_dir: target_dir(parsed),
        to_write,
    })
}

/// True when the render failed because it read the database during a deferring compile.
fn reads_database(d: &Diagnostic) -> bool {
    let marker = crate::warehouse::NEEDS_DATABASE;
    d.message.contains(marker) || d.notes.iter().any(|n| n.contains(marker))
}

/// The second half of [`compile`]: writes the compiled SQL of `output.to_write` under
/// `target/compiled/`, each directory created once, the files in parallel.
pub fn write_compiled(parsed: &Parsed, output: &CompileOutput) -> Result<(), Diagnostics> {
    let compiled_dir = output.target_dir.join("compiled");
    let nodes = &parsed.manifest.nodes;
    let files: Vec<(PathBuf, &str)> = output
        .to_write
        .par_iter()
        .filter_map(|id| {
            let node = nodes.get(id)?;
            Some((
                compiled_path(&compiled_dir, node),
                node.compiled_code.as_deref().unwrap_or_default(),
            ))
        })
        .collect();
    let write_error = |what: &str, path: &Path, e: std::io::Error| {
        Diagnostic::error(
            "write-failed",
            format!("cannot {what} {}: {e}", path.display()),
        )
        .with_help("check that the target directory is writable")
    };
    // Files are created relative to a handle of their directory, which spares the kernel
    // walking the whole path for each of tens of thousands of files. Grouped by directory
    // and written in chunks, each chunk opening the directories it meets in turn: at most
    // one handle per thread is open, however many directories there are.
    let mut dirs: IndexSet<&Path> = IndexSet::new();
    let mut files: Vec<(usize, &Path, &str)> = files
        .iter()
        .filter_map(|(path, sql)| {
            let (dir, _) = dirs.insert_full(path.parent()?);
            Some((dir, path.as_path(), *sql))
        })
        .collect();
    files.sort_by_key(|&(dir, _, _)| dir);
    let mut errors: Diagnostics = dirs
        .iter()
        .filter_map(|d| {
            std::fs::create_dir_all(d)
                .err()
                .map(|e| write_error("create", d, e))
        })
        .collect();
    if errors.is_empty() {
        errors = files
            .par_chunks(256)
            .flat_map_iter(|chunk| {
                // The directory last opened (None: it could not be, and that is reported).
                let mut open: Option<(usize, Option<DirHandle>)> = None;
                let mut failed = Vec::new();
                for &(dir, path, sql) in chunk {
                    if open.as_ref().is_none_or(|(d, _)| *d != dir) {
                        let handle = DirHandle::open(dirs[dir])
                            .map_err(|e| failed.push(write_error("open", dirs[dir], e)))
                            .ok();
                        open = Some((dir, handle));
                    }
                    if let Some((_, Some(h))) = &open
                        && let Err(e) = h.write(path, sql.as_bytes())
                    {
                        failed.push(write_error("write", path, e));
                    }
                }
                failed
            })
            .collect();
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// An open directory that files are written into by name (`openat`), where the platform
/// has it; elsewhere, by full path.
struct DirHandle {
    #[cfg(unix)]
    dir: std::fs::File,
}

impl DirHandle {
    #[cfg(unix)]
    fn open(path: &Path) -> std::io::Result<Self> {
        Ok(DirHandle {
            dir: std::fs::File::open(path)?,
        })
    }

    #[cfg(not(unix))]
    fn open(_path: &Path) -> std::io::Result<Self> {
        Ok(DirHandle {})
    }

    /// Writes `bytes` to the file at `path` (a child of this directory) with
    /// [`write_or_update`].
    #[cfg(unix)]
    fn write(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        use rustix::fs::{Mode, OFlags};
        let name = path.file_name().unwrap_or(path.as_os_str());
        write_or_update(
            |how| {
                let flags = match how {
                    Open::New => OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
                    Open::Existing => OFlags::RDWR,
                    Open::Replace => OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC,
                };
                let fd = rustix::fs::openat(
                    &self.dir,
                    name,
                    flags | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o666),
                )?;
                Ok(std::fs::File::from(fd))
            },
            bytes,
        )
    }

    #[cfg(not(unix))]
    fn write(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        write_path(path, bytes)
    }
}

/// `target/compiled/<package>/<original_file_path>` (for generic tests,
/// `<yml path>/<test alias>.sql`).
pub fn compiled_path(compiled_dir: &Path, node: &Node) -> PathBuf {
    let base = compiled_dir.join(&node.package_name);
    if (node.resource_type == ResourceType::Test && node.test_metadata.is_some())
        || node.resource_type == ResourceType::Operation
    {
        base.join(&node.original_file_path).join(&node.path)
    } else {
        base.join(&node.original_file_path)
    }
}

/// How [`write_or_update`] asks for the file it writes.
enum Open {
    /// Create it; fails with `AlreadyExists` when it exists.
    New,
    /// Open the existing file for reading and writing.
    Existing,
    /// Create or truncate it.
    Replace,
}

/// Writes `bytes` to the file that `open` opens: creates it when missing; else leaves it
/// alone when it already holds these bytes, or overwrites it in place and cuts it to
/// length. Truncating first is what it avoids: on ext4, truncating a written file to zero
/// and writing it again forces its blocks to disk at close (`auto_da_alloc`), which made
/// every `mfb compile` after the first of a large project several times slower. A file it
/// may not read is replaced.
fn write_or_update(
    open: impl Fn(Open) -> std::io::Result<std::fs::File>,
    bytes: &[u8],
) -> std::io::Result<()> {
    use std::io::{Read, Seek, Write};
    match open(Open::New) {
        Ok(mut file) => return file.write_all(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let Ok(mut file) = open(Open::Existing) else {
        return open(Open::Replace)?.write_all(bytes);
    };
    let len = file.metadata()?.len();
    if len == bytes.len() as u64 {
        let mut current = Vec::with_capacity(bytes.len());
        (&file).take(len).read_to_end(&mut current)?;
        if current == bytes {
            return Ok(());
        }
        file.seek(std::io::SeekFrom::Start(0))?;
    }
    file.write_all(bytes)?;
    if len > bytes.len() as u64 {
        file.set_len(bytes.len() as u64)?;
    }
    Ok(())
}

/// [`write_or_update`] on a path.
fn write_path(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_or_update(
        |how| {
            let mut options = std::fs::OpenOptions::new();
            match how {
                Open::New => options.write(true).create_new(true),
                Open::Existing => options.read(true).write(true),
                Open::Replace => options.write(true).create(true).truncate(true),
            };
            options.open(path)
        },
        bytes,
    )
}

/// Writes a file, creating its directory; an existing file is updated in place (see
/// [`write_or_update`]).
pub fn write_file(path: &Path, contents: &str) -> Result<(), Diagnostic> {
    let io = |e: std::io::Error| {
        Diagnostic::error(
            "write-failed",
            format!("cannot write {}: {e}", path.display()),
        )
        .with_help("check that the target directory is writable")
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    write_path(path, contents.as_bytes()).map_err(io)
}

/// Compiles a SQL string given with `--inline`, as if it were a model of the root project.
pub fn compile_inline(parsed: &Parsed, sql: &str) -> Result<String, Diagnostics> {
    let run = compile_context(parsed);
    let index = Arc::new(RefIndex::build(&parsed.manifest));
    let root = &parsed.loaded.project.root_package().name;
    let scope = NodeScope::new(root, Some("sql_operation.inline_query"))
        .resolve_with(Arc::new(CompileResolver {
            index,
            package: root.clone(),
        }))
        .config(Some(Arc::new(IndexMap::new())))
        .set("execute", JinjaValue::from(true))
        .set("is_incremental", JinjaValue::from_function(|| false))
        // dbt names the inline query `inline_query`, a `sql_operation` in the target schema.
        .set(
            "this",
            mfb_jinja::Relation::new(
                &parsed.loaded.target.dbname,
                &parsed.loaded.target.schema,
                "inline_query",
                None,
            )
            .into_value(),
        )
        .set(
            "model",
            mfb_jinja::collections::from_serde(&serde_json::json!({
                "name": "inline_query",
                "alias": "inline_query",
                "resource_type": "sql_operation",
                "unique_id": "sql_operation.inline_query",
                "package_name": root,
                "schema": parsed.loaded.target.schema,
                "database": parsed.loaded.target.dbname,
                "config": {},
            })),
        );
    parsed
        .loaded
        .runtime
        .render(&run, "<inline>", sql, scope)
        .map_err(|e| vec![e.into_diagnostic()])
}

#[cfg(test)]
mod tests {
    use super::find_leading_with;

    #[test]
    fn finds_with_after_comments() {
        assert_eq!(
            find_leading_with("  -- c\n/* x */ WITH a as (select 1)"),
            Some((15, 19))
        );
        assert_eq!(find_leading_with("select 1"), None);
        assert_eq!(find_leading_with("without"), None);
    }
}
