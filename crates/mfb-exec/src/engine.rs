//! A session against the warehouse: the connection pool, what relations exist, and the
//! per-node dispatch the scheduler calls for `run`, `seed`, `test`, `snapshot` and `build`.
//!
//! One small multi-threaded tokio runtime drives every connection's socket; the worker
//! threads of the [scheduler](crate::schedule) block on it for each statement and keep one
//! pooled connection each. Ctrl-C sets the run's cancel flag and sends a server-side
//! cancel to every connection in use, so in-flight transactions roll back and nothing new
//! starts; [`interrupted`] then tells the CLI to exit 130.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use indexmap::{IndexMap, IndexSet};
use mfb_diagnostics::{Diagnostic, IntoDiagnostic};
use mfb_graph::{Node, ResourceType, UniqueId};
use mfb_jinja::JinjaValue;
use mfb_jinja::collections::from_serde;
use mfb_postgres::{Connection, PgError, Pool, PooledConnection, RelationKind};
use serde_json::Value;

use crate::compile::{compile_context, inject_ctes, is_ephemeral, render_for_node, render_node};
use crate::context::RefIndex;
use crate::results::{NodeResult, Status, now};
use crate::schedule::{Plan, Policy, Progress};
use crate::{Diagnostics, Parsed};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// True once Ctrl-C interrupted a run in this process (the CLI exits 130).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// What running one node produced (the engine adds timing and identity).
#[derive(Debug, Default)]
pub struct Outcome {
    pub status: Option<Status>,
    /// dbt's message (`SELECT 3`, `CREATE VIEW`, `PASS`, `Got 3 results...`).
    pub message: String,
    /// The command tag's first word, for `adapter_response.code`.
    pub code: String,
    pub rows: i64,
    /// A test's failure count.
    pub failures: Option<i64>,
    /// The SQL that ran, for `target/run/`.
    pub executed: Option<String>,
    /// A warning to show at the end of the run (a test at warn severity, say).
    pub warning: Option<Diagnostic>,
    /// The relation written, when it is not the node's own (a test's stored failures).
    pub relation_name: Option<String>,
}

/// A worker thread's own state: its connection, opened on first use.
#[derive(Default)]
pub struct Worker {
    conn: Option<PooledConnection>,
}

/// Everything node work shares during one command.
pub struct Session<'a> {
    pub parsed: &'a Parsed,
    pub run: Arc<mfb_jinja::RunContext>,
    pub index: Arc<RefIndex>,
    rt: tokio::runtime::Runtime,
    pool: Pool,
    /// Relations that existed when the session opened, by (schema, name).
    pub existing: HashMap<(String, String), RelationKind>,
    cancel: Arc<AtomicBool>,
    pub run_dir: PathBuf,
    pub threads: usize,
    /// Whether any model of the project has an `rls:` config (most projects: none, and
    /// then no view needs its upstream walked for protected models).
    pub any_rls: bool,
    /// `target/compiled` as shown to the user, for statement errors.
    /// `target/compiled`, as shown to the user (relative when below the current directory).
    pub compiled_dir: PathBuf,
}

impl<'a> Session<'a> {
    /// Connects (one connection now, up to `threads` later), learns which relations exist
    /// in `schemas` with one catalog query, creates the missing schemas, and starts
    /// listening for Ctrl-C.
    pub fn open(parsed: &'a Parsed, schemas: &[&str]) -> Result<Session<'a>, Diagnostics> {
        let loaded = &parsed.loaded;
        let config = crate::warehouse::connection_config(&loaded.target).map_err(|m| {
            vec![Diagnostic::error("profile-invalid", m).with_help("fix the profile's fields")]
        })?;
        let threads = loaded
            .settings
            .threads
            .unwrap_or(loaded.target.threads)
            .max(1) as usize;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| {
                vec![Diagnostic::error(
                    "runtime",
                    format!("cannot start the async runtime: {e}"),
                )]
            })?;
        let pool = rt
            .block_on(Pool::connect(config, threads))
            .map_err(|e| vec![e.into_diagnostic()])?;
        let existing = rt
            .block_on(async {
                let conn = pool.get().await?;
                let found = conn.list_relations(schemas).await?;
                let present: IndexSet<String> = conn
                    .fetch("select nspname::text from pg_catalog.pg_namespace")
                    .await?
                    .rows
                    .iter()
                    .filter_map(|r| r.first().and_then(|c| c.as_text()))
                    .collect();
                for schema in schemas.iter().filter(|s| !present.contains(**s)) {
                    conn.execute(&format!(
                        "create schema if not exists {}",
                        mfb_postgres::quote_ident(schema)
                    ))
                    .await?;
                }
                Ok::<_, PgError>(found)
            })
            .map_err(|e| vec![e.into_diagnostic()])?
            .into_iter()
            .map(|r| ((r.schema, r.name), r.kind))
            .collect();
        let compiled = crate::compile::target_dir(parsed).join("compiled");
        let shown = std::env::current_dir()
            .ok()
            .and_then(|cwd| compiled.strip_prefix(cwd).ok().map(PathBuf::from))
            .unwrap_or(compiled);
        let cancel = Arc::new(AtomicBool::new(false));
        {
            let (cancel, pool) = (cancel.clone(), pool.clone());
            rt.spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    INTERRUPTED.store(true, Ordering::SeqCst);
                    cancel.store(true, Ordering::SeqCst);
                    let _ = pool.cancel_all().await;
                }
            });
        }
        Ok(Session {
            compiled_dir: shown,
            parsed,
            run: compile_context(parsed),
            index: Arc::new(RefIndex::build(&parsed.manifest)),
            rt,
            pool,
            existing,
            cancel,
            run_dir: crate::compile::target_dir(parsed).join("run"),
            threads,
            any_rls: parsed
                .manifest
                .nodes
                .values()
                .any(|n| n.config.get("rls").is_some_and(|v| !v.is_null())),
        })
    }

    /// Blocks the calling (worker) thread on `future`.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    /// The worker's connection, opened on first use.
    pub fn conn<'w>(&self, worker: &'w mut Worker) -> Result<&'w mut Connection, Diagnostic> {
        if worker.conn.as_ref().is_none_or(|c| c.is_closed()) {
            worker.conn = Some(
                self.rt
                    .block_on(self.pool.get())
                    .map_err(|e| e.into_diagnostic())?,
            );
        }
        Ok(worker.conn.as_deref_mut().expect("set above"))
    }

    /// Runs one statement for `node` on `conn`.
    pub fn exec(
        &self,
        conn: &Connection,
        sql: &str,
        node: &Node,
    ) -> Result<mfb_postgres::ExecResponse, Diagnostic> {
        self.rt
            .block_on(conn.execute(sql))
            .map_err(|e| pg_error(e, node))
    }

    /// Renders `template` for `node` at execution time (`execute` true, `this` bound).
    pub fn render(&self, node: &Node, template: &str) -> Result<String, Diagnostic> {
        render_for_node(self.parsed, &self.run, &self.index, node, template, true)
    }

    /// `node` compiled now, with its upstream built: for the nodes the compile before the
    /// run deferred because their SQL reads the database. Writes `target/compiled/` too.
    pub fn compile_now(&self, node: &Node) -> Result<Node, Diagnostic> {
        let body = render_node(self.parsed, &self.run, &self.index, node)?;
        let sql = inject_ctes(&self.parsed.manifest, node, &body, &self.cte_bodies(node)?);
        let target = crate::compile::target_dir(self.parsed).join("compiled");
        let _ = crate::compile::write_file(&crate::compile::compiled_path(&target, node), &sql);
        let mut compiled = node.clone();
        compiled.compiled_code = Some(sql);
        Ok(compiled)
    }

    /// The SQL of every ephemeral model `node` inlines, rendering the deferred ones now.
    pub fn cte_bodies(&self, node: &Node) -> Result<IndexMap<UniqueId, String>, Diagnostic> {
        let manifest = &self.parsed.manifest;
        let mut bodies = IndexMap::new();
        let mut stack: Vec<&str> = node.depends_on.nodes.iter().map(String::as_str).collect();
        while let Some(id) = stack.pop() {
            let id = UniqueId::new(id);
            let Some(dep) = manifest.nodes.get(&id) else {
                continue;
            };
            if bodies.contains_key(&id) || !is_ephemeral(dep) {
                continue;
            }
            let body = match self.parsed.ephemeral_bodies.get(&id) {
                Some(b) => b.clone(),
                None => render_node(self.parsed, &self.run, &self.index, dep)?,
            };
            bodies.insert(id, body);
            stack.extend(dep.depends_on.nodes.iter().map(String::as_str));
        }
        Ok(bodies)
    }

    /// The relation kind of `node`'s relation when the session opened.
    pub fn existing_kind(&self, node: &Node) -> Option<RelationKind> {
        self.existing
            .get(&(node.schema.clone(), node.alias.clone()))
            .copied()
    }

    /// Runs `plan` on the session's threads; each node by its resource type.
    pub fn execute(
        &self,
        plan: &Plan<'_>,
        policy: Policy,
        progress: &dyn Progress,
    ) -> Vec<NodeResult> {
        crate::schedule::execute(
            plan,
            self.threads,
            policy,
            &self.cancel,
            progress,
            |_| Worker::default(),
            |worker, node| self.run_node(worker, node),
        )
    }

    fn run_node(&self, worker: &mut Worker, node: &Node) -> NodeResult {
        let started_at = now();
        let clock = Instant::now();
        // A node whose compile read the database is compiled now, its upstream built.
        let compiled = (node.compiled_code.is_none()
            && self.parsed.deferred.contains(&node.unique_id))
        .then(|| self.compile_now(node));
        let (node, outcome) = match &compiled {
            Some(Ok(n)) => (n, self.run_with_retries(worker, n)),
            Some(Err(d)) => (node, Err(d.clone())),
            None => (node, self.run_with_retries(worker, node)),
        };
        let mut result = NodeResult::not_run(node, Status::Success, String::new());
        result.started_at = started_at;
        match outcome {
            Ok(o) => {
                if let Some(sql) = &o.executed {
                    let _ = crate::compile::write_file(
                        &crate::compile::compiled_path(&self.run_dir, node),
                        sql,
                    );
                }
                result.status = o.status.unwrap_or(Status::Success);
                result.message = o.message;
                result.code = o.code;
                result.rows_affected = o.rows;
                result.failures = o.failures;
                result.diagnostic = o.warning;
                if o.relation_name.is_some() {
                    result.relation_name = o.relation_name;
                }
            }
            Err(d) => {
                result.status = Status::Error;
                result.message = d.message.clone();
                result.diagnostic = Some(d);
            }
        }
        result.completed_at = now();
        result.execution_time = clock.elapsed().as_secs_f64();
        result
    }

    /// [`Self::run_once`], again after a deadlock or serialization failure: that rolled the
    /// node's transaction back whole, so running it again is safe. Two views rebuilt side
    /// by side can deadlock when a view outside the run depends on both (each swap
    /// recreates it); PostgreSQL aborts one of them, and its retry finds the other done.
    fn run_with_retries(&self, worker: &mut Worker, node: &Node) -> Result<Outcome, Diagnostic> {
        let mut attempt = 0;
        loop {
            let outcome = self.run_once(worker, node);
            match &outcome {
                Err(d) if attempt < 5 && is_transient(d) && !self.cancel.load(Ordering::SeqCst) => {
                    attempt += 1;
                    // Spread the retries of nodes that collided with each other.
                    let jitter = u64::from(node.unique_id.as_str().len() as u8 % 7) * 10;
                    std::thread::sleep(std::time::Duration::from_millis(40 * attempt + jitter));
                }
                _ => break outcome,
            }
        }
    }

    fn run_once(&self, worker: &mut Worker, node: &Node) -> Result<Outcome, Diagnostic> {
        self.conn(worker).and_then(|conn| match node.resource_type {
            ResourceType::Model => crate::materialize::build(self, conn, node),
            ResourceType::Seed => crate::seed::load(self, conn, node),
            ResourceType::Test => crate::test::run(self, conn, node),
            ResourceType::Snapshot => crate::snapshot::build(self, conn, node),
            ResourceType::UnitTest => crate::unit_test::run(self, conn, node),
            other => Err(Diagnostic::error(
                "not-runnable",
                format!(
                    "{} is a {other:?}, which has nothing to run",
                    node.unique_id
                ),
            )),
        })
    }

    /// Runs the project's `on-run-start` or `on-run-end` hooks (`kind`), in order, on one
    /// connection. They render now, with `results` (the run's results so far, as dbt's
    /// result objects: `.node`, `.status`, `.message`, `.failures`, ...), `schemas` and
    /// `database_schemas` (where the run built) in their context.
    ///
    /// Each hook is a result, as in dbt (`1 of 1 OK hook: proj.on-run-end.0`). A failing
    /// hook stops the hooks after it and ends with an error result.
    pub fn run_project_hooks(
        &self,
        kind: &str,
        results: &[NodeResult],
        progress: &dyn Progress,
    ) -> Vec<NodeResult> {
        let hooks: Vec<&Node> = self
            .parsed
            .manifest
            .nodes
            .values()
            .filter(|n| n.resource_type == ResourceType::Operation && n.name.contains(kind))
            .collect();
        if hooks.is_empty() {
            return Vec::new();
        }
        let nodes = &self.parsed.manifest.nodes;
        let result_values: Vec<JinjaValue> = results
            .iter()
            .map(|r| {
                let node = nodes
                    .get(r.unique_id.as_str())
                    .map(crate::context::model_value)
                    .unwrap_or_default();
                JinjaValue::from(std::collections::BTreeMap::from([
                    ("node", node),
                    ("unique_id", JinjaValue::from(r.unique_id.as_str())),
                    ("status", JinjaValue::from(r.status.as_str())),
                    ("message", JinjaValue::from(r.message.as_str())),
                    ("execution_time", JinjaValue::from(r.execution_time)),
                    ("failures", from_serde(&r.failures)),
                    ("thread_id", JinjaValue::from(r.thread_id.as_str())),
                    (
                        "adapter_response",
                        from_serde(&serde_json::json!({
                            "_message": r.message, "code": r.code, "rows_affected": r.rows_affected,
                        })),
                    ),
                ]))
            })
            .collect();
        let mut schemas: IndexSet<&str> = IndexSet::new();
        let mut database_schemas: IndexSet<(&str, &str)> = IndexSet::new();
        for r in results {
            if let Some(n) = nodes.get(r.unique_id.as_str())
                && n.resource_type != ResourceType::Test
            {
                schemas.insert(&n.schema);
                database_schemas.insert((&n.database, &n.schema));
            }
        }
        let schemas: Vec<&str> = schemas.into_iter().collect();
        let database_schemas: Vec<Vec<&str>> = database_schemas
            .into_iter()
            .map(|(d, s)| vec![d, s])
            .collect();
        let mut worker = Worker::default();
        let mut out = Vec::with_capacity(hooks.len());
        let total = hooks.len();
        for (i, node) in hooks.into_iter().enumerate() {
            progress.start(i + 1, total, node);
            let started_at = now();
            let clock = Instant::now();
            let outcome = crate::compile::render_for_node_with(
                self.parsed,
                &self.run,
                &self.index,
                node,
                &node.raw_code,
                false,
                vec![
                    ("results", JinjaValue::from(result_values.clone())),
                    ("schemas", from_serde(&schemas)),
                    ("database_schemas", from_serde(&database_schemas)),
                ],
            )
            .and_then(|sql| {
                if sql.trim().is_empty() {
                    return Ok(());
                }
                let conn = self.conn(&mut worker)?;
                self.exec(conn, &sql, node).map(drop)
            });
            let mut result = NodeResult::not_run(node, Status::Success, "OK".to_owned());
            result.started_at = started_at;
            result.code = "OK".to_owned();
            result.relation_name = None;
            let failed = outcome.is_err();
            if let Err(d) = outcome {
                let d = d.with_note(format!("in an {} hook", kind.trim_matches('-')));
                result.status = Status::Error;
                result.message = d.message.clone();
                result.code = String::new();
                result.diagnostic = Some(d);
            }
            result.completed_at = now();
            result.execution_time = clock.elapsed().as_secs_f64();
            progress.done(i + 1, total, node, &result);
            out.push(result);
            if failed {
                break;
            }
        }
        out
    }
}

/// Whether the error comes from another transaction of the run, not from the node: a
/// deadlock, a serialization failure, or a relation dropped by a concurrent swap between
/// name lookup and lock (`could not open relation with OID`). The server rolled the
/// transaction back, and running it again will see the other one finished.
fn is_transient(d: &Diagnostic) -> bool {
    d.notes.iter().any(|n| {
        n == "SQLSTATE 40P01"
            || n == "SQLSTATE 40001"
            || (n == "SQLSTATE XX000" && d.message.contains("could not open relation with OID"))
    })
}

/// A PostgreSQL error of `statement`, run for `node` whose compiled SQL is in
/// `compiled_file`: when PostgreSQL points at a character inside that SQL, the diagnostic
/// points at that line of the file, with the line shown, as a user would open it to rerun
/// it by hand.
pub fn statement_error(
    e: PgError,
    node: &Node,
    statement: &str,
    compiled_file: &std::path::Path,
) -> Diagnostic {
    let at = match (&e, node.compiled_code.as_deref()) {
        (PgError::Statement(s), Some(code)) if !code.is_empty() => s
            .position
            .and_then(|pos| {
                let start = statement.find(code)?;
                // Both in characters: PostgreSQL counts characters, not bytes.
                let before = statement[..start].chars().count();
                let offset = (pos as usize).checked_sub(before + 1)?;
                (offset < code.chars().count()).then_some(offset)
            })
            .map(|offset| {
                let prefix: String = code.chars().take(offset).collect();
                let line = prefix.matches('\n').count() as u32 + 1;
                let column = prefix.rsplit('\n').next().unwrap_or("").chars().count() as u32 + 1;
                (line, column, code)
            }),
        _ => None,
    };
    let mut d = pg_error(e, node);
    let file = compiled_file;
    match at {
        Some((line, column, code)) if d.location.is_none() => {
            d = d.at_in(mfb_diagnostics::Location::new(file, line, column), code);
            if d.help.as_deref().is_some_and(|h| h.contains("target/run/")) {
                d.help = Some(format!(
                    "fix {} (the compiled SQL above is what ran; run it with psql to investigate)",
                    node.original_file_path
                ));
            }
        }
        _ => d = d.with_note(format!("compiled SQL: {}", file.display())),
    }
    d
}

/// A PostgreSQL error while running `node`, as a diagnostic naming the node.
pub fn pg_error(e: PgError, node: &Node) -> Diagnostic {
    e.into_diagnostic()
        .with_note(format!("while running {}", node.unique_id))
}

/// A hook of a node's config: its SQL (a Jinja template) and whether it runs inside the
/// node's transaction.
pub fn hooks(node: &Node, key: &str) -> Vec<(String, bool)> {
    node.config
        .get(key)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|h| match h {
                    Value::String(s) => Some((s.clone(), true)),
                    Value::Object(o) => Some((
                        o.get("sql")?.as_str()?.to_owned(),
                        o.get("transaction")
                            .and_then(Value::as_bool)
                            .unwrap_or(true),
                    )),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}
