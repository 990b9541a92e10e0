//! Row-level security during a run: the `rls:` config of models, applied inside their
//! build transaction before the swap commits (a tenant never sees the new relation
//! unprotected), views over protected relations created `security_invoker`, and the
//! isolation checks `mfb test` / `mfb build` run for every protected relation.
//!
//! The SQL itself comes from `mfb-tenancy`; this module decides when it runs.

use std::collections::HashMap;
use std::sync::OnceLock;

use mfb_diagnostics::Diagnostic;
use mfb_graph::{Manifest, Node, ResourceType};
use mfb_postgres::{Connection, Relation, RelationKind};
use mfb_tenancy::{Registry, RlsConfig};
use serde_json::Value;

use crate::Parsed;
use crate::engine::{Session, Worker};
use crate::results::{NodeResult, Status, now};

/// A model's `rls:` config, validated; `Ok(None)` when it has none (or turns it off).
pub fn config_of(node: &Node) -> Result<Option<RlsConfig>, Diagnostic> {
    match node.config.get("rls") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => RlsConfig::from_model_config(value)
            .map_err(|e| e.into_diagnostic_at(node.defined_at.clone())),
    }
}

/// Checks the `rls:` config of every node about to run, and `enforce:` of tenants.yml,
/// before anything touches the database. Returns whether any node is protected.
pub fn validate(parsed: &Parsed, nodes: &[&Node]) -> Result<bool, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut any = false;
    let enforce = registry(parsed)
        .map_err(|d| vec![d])?
        .map(|r| &r.enforce)
        .filter(|e| !e.paths.is_empty());
    for node in nodes {
        match config_of(node) {
            Ok(Some(_)) => any = true,
            Ok(None) => {
                if let Some(enforce) = enforce
                    && let Some(d) = unprotected(node, enforce)
                {
                    errors.push(d);
                }
            }
            Err(d) => errors.push(d),
        }
    }
    if errors.is_empty() {
        Ok(any)
    } else {
        Err(errors)
    }
}

/// The error for a model under an enforced path with no protection, if it is one.
fn unprotected(node: &Node, enforce: &mfb_tenancy::Enforcement) -> Option<Diagnostic> {
    if node.resource_type != ResourceType::Model {
        return None;
    }
    let materialized = node.config.get("materialized").and_then(Value::as_str);
    if matches!(materialized, Some("ephemeral")) {
        return None;
    }
    let path = node.original_file_path.replace('\\', "/");
    let covered = enforce.paths.iter().any(|p| {
        let p = p.trim_start_matches("./").trim_end_matches('/');
        path == p || path.starts_with(&format!("{p}/"))
    });
    if !covered || node.tags.iter().any(|t| t == "no-rls") {
        return None;
    }
    // A project's own RLS macro in a hook counts (the post-hook convention mfb replaces).
    let hooked = ["post-hook", "pre-hook"].iter().any(|key| {
        crate::engine::hooks(node, key).iter().any(|(sql, _)| {
            enforce
                .satisfied_by
                .iter()
                .any(|m| sql.contains(&format!("{m}(")))
        })
    });
    if hooked {
        return None;
    }
    Some(
        Diagnostic::error(
            "rls-missing",
            format!(
                "{} is under an RLS-enforced path but has no `rls:` config",
                node.original_file_path
            ),
        )
        .at(mfb_diagnostics::Location::file(&node.original_file_path))
        .with_help(format!(
            "protect it (`rls: {{tenant_column: ..., mode: role_map}}` in config() or its folder's `+rls`), \
             tag it `no-rls` if it holds no tenant data{}",
            if enforce.satisfied_by.is_empty() {
                String::new()
            } else {
                format!(", or call {} in a post-hook", enforce.satisfied_by.join(" / "))
            }
        )),
    )
}

/// The project's `tenants.yml`, read once per process (`None` when there is none).
pub fn registry(parsed: &Parsed) -> Result<Option<&'static Registry>, Diagnostic> {
    static REGISTRY: OnceLock<Result<Option<Registry>, Diagnostic>> = OnceLock::new();
    REGISTRY
        .get_or_init(|| {
            Registry::load_optional(&parsed.loaded.project.root).map_err(|e| {
                e.into_diagnostic_at(mfb_diagnostics::Location::file(
                    parsed.loaded.project.root.join("tenants.yml"),
                ))
            })
        })
        .as_ref()
        .map(Option::as_ref)
        .map_err(Clone::clone)
}

/// Whether `node` reads a protected model, directly or through views and ephemeral
/// models: such a view must be `security_invoker`, or it would show every tenant's rows
/// with its owner's rights.
pub fn reads_protected(manifest: &Manifest, node: &Node) -> bool {
    fn walk(manifest: &Manifest, node: &Node, seen: &mut HashMap<String, bool>) -> bool {
        for dep in &node.depends_on.nodes {
            if let Some(&known) = seen.get(dep) {
                if known {
                    return true;
                }
                continue;
            }
            seen.insert(dep.clone(), false);
            let Some(up) = manifest.nodes.get(dep.as_str()) else {
                continue;
            };
            let protected = matches!(config_of(up), Ok(Some(_)));
            let materialized = up.config.get("materialized").and_then(Value::as_str);
            let hit = protected
                || (matches!(materialized, Some("view" | "ephemeral")) && walk(manifest, up, seen));
            seen.insert(dep.clone(), hit);
            if hit {
                return true;
            }
        }
        false
    }
    walk(manifest, node, &mut HashMap::new())
}

/// The `rls:` config of the first protected model `node` reads (through views and
/// ephemeral models).
fn protecting_config(manifest: &Manifest, node: &Node) -> Option<RlsConfig> {
    let mut stack: Vec<&str> = node.depends_on.nodes.iter().map(String::as_str).collect();
    let mut seen = std::collections::HashSet::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let Some(up) = manifest.nodes.get(id) else {
            continue;
        };
        if let Ok(Some(cfg)) = config_of(up) {
            return Some(cfg);
        }
        if matches!(
            up.config.get("materialized").and_then(Value::as_str),
            Some("view" | "ephemeral")
        ) {
            stack.extend(up.depends_on.nodes.iter().map(String::as_str));
        }
    }
    None
}

/// The statements protecting `relation` (the model's new relation, still under its
/// temporary name), for a model with `cfg`; `column_type` is the tenant column's type.
pub fn protect_statements(
    parsed: &Parsed,
    node: &Node,
    cfg: &RlsConfig,
    relation: &Relation,
    column_type: Option<&str>,
) -> Result<Vec<String>, Diagnostic> {
    let registry = registry(parsed)?;
    mfb_tenancy::policy_statements(cfg, relation, column_type, registry)
        .map_err(|e| e.into_diagnostic_at(node.defined_at.clone()))
}

/// Creates mfb's tenancy objects (the current-tenant function, the role map) once per
/// run, committed before any model's transaction names them in a policy.
pub fn prepare(session: &Session<'_>) -> Result<(), Diagnostic> {
    let registry = registry(session.parsed)?;
    let settings = registry.map(|r| r.settings.clone()).unwrap_or_default();
    let mut worker = Worker::default();
    let conn = session.conn(&mut worker)?;
    session
        .block_on(async {
            let txn = conn.begin().await?;
            for statement in mfb_tenancy::support_statements(&settings) {
                txn.execute(&statement).await?;
            }
            txn.commit().await
        })
        .map_err(|e| {
            mfb_diagnostics::IntoDiagnostic::into_diagnostic(e).with_note(
                "while creating mfb's tenancy objects (schema, current-tenant function, role map)",
            )
        })
}

/// The isolation checks of every protected table among `models`, as one test result per
/// relation (`rls_isolation_<model>`): pass when every tenant role sees exactly its rows,
/// a role with no tenant sees none, and the session setting cannot be spoofed.
pub fn isolation_results(session: &Session<'_>, models: &[&Node]) -> Vec<NodeResult> {
    let registry = match registry(session.parsed) {
        Ok(Some(r)) => r,
        _ => return Vec::new(),
    };
    let mut worker = Worker::default();
    let mut results = Vec::new();
    for node in models {
        let materialized = node.config.get("materialized").and_then(Value::as_str);
        let is_view = materialized == Some("view");
        // A view over protected models is checked as their tenants read it: with the
        // config of the protected model it reads, when it shows that model's tenant column.
        let cfg = match config_of(node) {
            Ok(Some(cfg)) if !is_view => cfg,
            _ if is_view => match protecting_config(&session.parsed.manifest, node) {
                Some(cfg) => cfg,
                None => continue,
            },
            _ => continue,
        };
        if !is_view && !matches!(materialized, Some("table" | "incremental")) {
            continue;
        }
        let started_at = now();
        let clock = std::time::Instant::now();
        let relation =
            Relation::new(&node.database, &node.schema, &node.alias).with_kind(if is_view {
                RelationKind::View
            } else {
                RelationKind::Table
            });
        let checks = session.conn(&mut worker).and_then(|conn: &mut Connection| {
            if is_view {
                let columns = session
                    .block_on(conn.columns_in_relation(&node.schema, &node.alias))
                    .map_err(|e| crate::engine::pg_error(e, node))?;
                if !columns.iter().any(|c| c.name == cfg.tenant_column) {
                    // Nothing to compare per tenant: what protects it is security_invoker,
                    // set by the build and shown by the catalog and the docs site.
                    return Ok(Vec::new());
                }
            }
            session
                .block_on(mfb_tenancy::check_isolation(
                    conn, &relation, &cfg, registry,
                ))
                .map_err(|e| e.into_diagnostic_at(node.defined_at.clone()))
        });
        if matches!(&checks, Ok(c) if c.is_empty()) {
            continue;
        }
        let mut result = NodeResult::not_run(node, Status::Pass, String::new());
        result.unique_id = format!("test.{}.rls_isolation_{}", node.package_name, node.name);
        result.started_at = started_at;
        result.relation_name = node.relation_name.clone();
        result.compiled_code = None;
        match checks {
            Ok(checks) => {
                let failed: Vec<_> = checks.iter().filter(|c| !c.passed).collect();
                result.failures = Some(failed.len() as i64);
                if failed.is_empty() {
                    result.message = format!("{} isolation checks passed", checks.len());
                } else {
                    result.status = Status::Fail;
                    result.message = format!(
                        "{} of {} isolation checks failed",
                        failed.len(),
                        checks.len()
                    );
                    let mut d = Diagnostic::error(
                        "rls-isolation",
                        format!(
                            "Failure in RLS isolation of {} ({})",
                            node.relation_name.as_deref().unwrap_or(&node.name),
                            node.original_file_path
                        ),
                    )
                    .at(node.defined_at.clone());
                    for c in failed {
                        d = d.with_note(c.message.clone());
                        if let (None, Some(h)) = (&d.help, &c.help) {
                            d = d.with_help(h.clone());
                        }
                    }
                    result.diagnostic = Some(d);
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
        results.push(result);
    }
    results
}

/// The models whose isolation `mfb test` / `mfb build` checks: protected models among the
/// selection, or tested by a selected test.
pub fn checked_models<'a>(parsed: &'a Parsed, selected: &[&'a Node]) -> Vec<&'a Node> {
    let mut out: Vec<&Node> = Vec::new();
    let mut push = |n: &'a Node| {
        let view = n.config.get("materialized").and_then(Value::as_str) == Some("view");
        if n.resource_type == ResourceType::Model
            && (matches!(config_of(n), Ok(Some(_)))
                || (view && reads_protected(&parsed.manifest, n)))
            && !out.iter().any(|o| o.unique_id == n.unique_id)
        {
            out.push(n);
        }
    };
    for node in selected {
        match node.resource_type {
            ResourceType::Model => push(node),
            ResourceType::Test => {
                for dep in &node.depends_on.nodes {
                    if let Some(up) = parsed.manifest.nodes.get(dep.as_str()) {
                        push(up);
                    }
                }
            }
            _ => {}
        }
    }
    out
}
