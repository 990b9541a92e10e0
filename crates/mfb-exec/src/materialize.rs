//! Materializations: how a model's compiled SQL becomes a relation.
//!
//! A view, table or materialized view is built under `<name>__dbt_tmp` (with its indexes,
//! or created from its contract's column list and constraints and filled by an insert),
//! the old relation is renamed to `<name>__dbt_backup`, the new one renamed into place,
//! post-hooks, grants and `persist_docs` comments applied, the backup dropped and the views
//! that depended on it recreated: all in one transaction. A reader never sees a missing,
//! half-built, ungranted relation, and any failure (bad SQL, a contract mismatch, a
//! failing post-hook, a dependent view that no longer fits) leaves the old relation as it
//! was, rows, grants, indexes and comments included. Swaps running in parallel that
//! share a dependent view queue on a per-view advisory lock instead of deadlocking (a
//! swap PostgreSQL still picks as a deadlock victim is retried). An incremental run changes the
//! existing table in one transaction the same way (see [`incremental`]); a materialized
//! view may be refreshed in place (see [`materialized_view`]). Hooks with
//! `transaction: false` run before and after that transaction. Templates (hooks, an
//! incremental model's SQL, a contract's `ref()`) render between database calls, never
//! inside them (the Jinja runtime's own database access blocks on its own runtime).
//! Ephemeral models never get here: the run plan leaves them out
//! ([`crate::run::builds_relation`]).

mod contract;
mod grants;
mod indexes;
mod materialized_view;
mod persist_docs;
mod schema_change;

use mfb_diagnostics::Diagnostic;
use mfb_graph::Node;
use mfb_postgres::{Connection, RelationKind, quote_ident, quote_literal};
use serde_json::Value;

use crate::compile::inject_ctes;
use crate::engine::{Outcome, Session, hooks, pg_error as pg};
use contract::Contract;
use grants::Grants;
use indexes::Index;
use persist_docs::PersistDocs;
use schema_change::OnSchemaChange;

/// What a build creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    View,
    Table,
    MaterializedView,
}

impl Kind {
    fn keyword(self) -> &'static str {
        match self {
            Kind::View => "view",
            Kind::Table => "table",
            Kind::MaterializedView => "materialized view",
        }
    }
}

/// A model with its configs resolved and its hooks rendered, before any transaction.
struct Model<'n> {
    node: &'n Node,
    /// Its compiled SQL's file, for errors that point into it.
    compiled_file: std::path::PathBuf,
    /// Quoted schema.
    schema: String,
    /// Quoted, schema-qualified relation.
    target: String,
    /// Hooks that run inside the model's transaction.
    pre: Vec<String>,
    post: Vec<String>,
    indexes: Vec<Index>,
    grants: Grants,
    docs: PersistDocs,
    unlogged: bool,
    contract: Option<Contract>,
    /// `rls:`: the policies to apply before the swap commits.
    rls: Option<mfb_tenancy::RlsConfig>,
    /// A view reading a protected relation: created `security_invoker`.
    invoker_view: bool,
}

/// The result of a build: dbt's message, rows affected, and a warning to show.
#[derive(Debug, Default)]
struct Built {
    message: String,
    rows: i64,
    warning: Option<Diagnostic>,
}

/// Renders a node's `pre-hook` or `post-hook` list: (inside the transaction, outside it).
fn render_hooks(
    s: &Session<'_>,
    node: &Node,
    key: &str,
) -> Result<(Vec<String>, Vec<String>), Diagnostic> {
    let mut inside = Vec::new();
    let mut outside = Vec::new();
    for (sql, in_txn) in hooks(node, key) {
        let text = s.render(node, &sql)?;
        if !text.trim().is_empty() {
            if in_txn {
                inside.push(text)
            } else {
                outside.push(text)
            }
        }
    }
    Ok((inside, outside))
}

/// Builds one model as its `materialized` config says.
pub fn build(s: &Session<'_>, conn: &mut Connection, node: &Node) -> Result<Outcome, Diagnostic> {
    let existing = s.existing_kind(node);
    let (built, sql) = materialize(s, conn, node, existing)?;
    Ok(Outcome {
        code: built
            .message
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
        message: built.message,
        rows: built.rows,
        executed: Some(sql),
        warning: built.warning,
        ..Outcome::default()
    })
}

/// Builds one model; returns what it built and the SQL that ran.
fn materialize(
    ctx: &Session<'_>,
    conn: &mut Connection,
    node: &Node,
    existing: Option<RelationKind>,
) -> Result<(Built, String), Diagnostic> {
    let loaded = &ctx.parsed.loaded;
    let materialized = node
        .config
        .get("materialized")
        .and_then(Value::as_str)
        .unwrap_or("view");
    if !matches!(
        materialized,
        "view" | "table" | "incremental" | "materialized_view"
    ) {
        return Err(Diagnostic::error(
            "materialization-unsupported",
            format!("materialization `{materialized}` is not supported by mfb yet"),
        )
        .at(node.defined_at.clone())
        .with_help(
            "use view, table, incremental, materialized_view or ephemeral; see docs/compatibility.md",
        ));
    }
    let full_refresh = match node.config.get("full_refresh").and_then(Value::as_bool) {
        Some(configured) => configured,
        None => loaded.settings.full_refresh,
    };
    // An incremental run needs a table to add to; a view in the way is replaced.
    let is_incremental = materialized == "incremental"
        && matches!(
            existing,
            Some(RelationKind::Table | RelationKind::Partitioned)
        )
        && !full_refresh;
    let sql = if is_incremental {
        let body = ctx.render(node, &node.raw_code)?;
        inject_ctes(&ctx.parsed.manifest, node, &body, &ctx.cte_bodies(node)?)
    } else {
        node.compiled_code.clone().unwrap_or_default()
    };
    let (pre_in, pre_out) = render_hooks(ctx, node, "pre-hook")?;
    let (post_in, post_out) = render_hooks(ctx, node, "post-hook")?;
    let schema = quote_ident(&node.schema);
    let model = Model {
        node,
        compiled_file: crate::compile::compiled_path(&ctx.compiled_dir, node),
        target: format!("{schema}.{}", quote_ident(&node.alias)),
        schema,
        pre: pre_in,
        post: post_in,
        indexes: indexes::configured(node)?,
        grants: Grants::configured(node),
        docs: PersistDocs::configured(node),
        unlogged: node.config.get("unlogged").and_then(Value::as_bool) == Some(true),
        contract: Contract::of(ctx, node)?,
        rls: crate::rls::config_of(node)?,
        invoker_view: materialized == "view"
            && ctx.any_rls
            && crate::rls::reads_protected(&ctx.parsed.manifest, node),
    };
    let mut ran = Vec::new();
    for h in &pre_out {
        ctx.exec(conn, h, node)?;
        ran.push(h.clone());
    }
    let built = match materialized {
        "view" => swap(ctx, conn, &model, Kind::View, &sql, &mut ran),
        "materialized_view" => {
            materialized_view::build(ctx, conn, &model, &sql, existing, full_refresh, &mut ran)
        }
        _ if is_incremental => incremental(ctx, conn, &model, &sql, &mut ran),
        _ => swap(ctx, conn, &model, Kind::Table, &sql, &mut ran),
    }?;
    for h in &post_out {
        ctx.exec(conn, h, node)?;
        ran.push(h.clone());
    }
    Ok((built, ran.join(";\n\n")))
}

/// The views depending (through any chain of views) on `$REL`, in name order, from the
/// catalog alone (without opening, and so locking, them).
const DEPENDENT_NAMES: &str = "
with recursive deps(oid) as (
    select r.ev_class
    from pg_catalog.pg_depend d
    join pg_catalog.pg_rewrite r on r.oid = d.objid
    where d.classid = 'pg_catalog.pg_rewrite'::regclass
      and d.refclassid = 'pg_catalog.pg_class'::regclass
      and d.refobjid = to_regclass($REL)
      and r.ev_class <> d.refobjid
    union
    select r.ev_class
    from deps
    join pg_catalog.pg_depend d
      on d.refobjid = deps.oid
     and d.classid = 'pg_catalog.pg_rewrite'::regclass
     and d.refclassid = 'pg_catalog.pg_class'::regclass
    join pg_catalog.pg_rewrite r on r.oid = d.objid
    where r.ev_class <> deps.oid
)
select distinct n.nspname::text || '.' || c.relname::text as name
from deps
join pg_catalog.pg_class c on c.oid = deps.oid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
order by 1";

/// Builds `kind` under a temporary name and swaps it in: see the module docs. A deadlock
/// victim is retried by the engine (`engine::run_node`): its transaction rolled back whole.
fn swap(
    ctx: &Session<'_>,
    conn: &mut Connection,
    m: &Model<'_>,
    kind: Kind,
    sql: &str,
    ran: &mut Vec<String>,
) -> Result<Built, Diagnostic> {
    let node = m.node;
    let schema = &m.schema;
    let tmp_name = format!("{}__dbt_tmp", node.alias);
    let backup_name = format!("{}__dbt_backup", node.alias);
    let tmp = format!("{schema}.{}", quote_ident(&tmp_name));
    ctx.block_on(async {
        let txn = conn.begin().await.map_err(|e| pg(e, node))?;
        // Leftovers of a killed run.
        for leftover in [&tmp_name, &backup_name] {
            if let Some(info) = txn.get_relation(&node.schema, leftover).await.map_err(|e| pg(e, node))? {
                run_sql(&txn, format!("drop {} if exists {schema}.{} cascade", info.kind.ddl_keyword(), quote_ident(leftover)), m, ran).await?;
            }
        }
        for h in &m.pre {
            run_sql(&txn, h.clone(), m, ran).await?;
        }
        if let Some(contract) = &m.contract {
            contract.check(&txn, node, sql).await?;
        }
        let unlogged = if m.unlogged { "unlogged " } else { "" };
        let creates = match (kind, &m.contract) {
            (Kind::Table, Some(contract)) => contract.create_table(&tmp, m.unlogged, sql),
            (Kind::Table, None) => vec![format!("create {unlogged}table {tmp} as (\n{sql}\n)")],
            (kind, _) => vec![format!("create {} {tmp} as (\n{sql}\n)", kind.keyword())],
        };
        let mut response = None;
        for create in creates {
            response = Some(run_sql(&txn, create, m, ran).await?);
        }
        if kind != Kind::View {
            for index in &m.indexes {
                run_sql(&txn, index.create_statement(&node.database, &node.schema, &tmp_name), m, ran).await?;
            }
        }
        protect(ctx, &txn, m, kind, &tmp_name, ran).await?;
        // The relation as it is now, not as the run found it: another process may have
        // built or dropped it since.
        let old = txn.get_relation(&node.schema, &node.alias).await.map_err(|e| pg(e, node))?;
        let mut dependents = Vec::new();
        if let Some(old) = &old {
            // Two parents of one view rebuilt at once (parallel threads) would each hold
            // their own relation and wait for the view the other is recreating: a
            // deadlock. Taking a lock per dependent view first, in name order, makes the
            // second swap wait before it holds anything the first needs.
            // (Named from the catalog alone: reading a view's definition would lock it.)
            let names = txn.fetch(&DEPENDENT_NAMES.replace("$REL", &quote_literal(&m.target))).await.map_err(|e| pg(e, node))?;
            for name in names.rows.iter().filter_map(|r| r.first()?.as_text()) {
                let lock = format!("select pg_catalog.pg_advisory_xact_lock(hashtext({}))", quote_literal(&format!("mfb swap: {name}")));
                txn.execute(&lock).await.map_err(|e| pg(e, node))?;
            }
            // Each dependent view with the privileges this role granted on it, which
            // recreating it would otherwise lose; listed again now that no other swap
            // is recreating them.
            for d in txn.dependent_views(&node.schema, &node.alias).await.map_err(|e| pg(e, node))? {
                let granted = grants::granted(&txn, &d.relation.schema_qualified()).await.map_err(|e| pg(e, node))?;
                dependents.push((d, granted));
            }
            let rename = format!("alter {} {} rename to {}", old.kind.ddl_keyword(), m.target, quote_ident(&backup_name));
            run_sql(&txn, rename, m, ran).await?;
        }
        let rename = format!("alter {} {tmp} rename to {}", kind.keyword(), quote_ident(&node.alias));
        run_sql(&txn, rename, m, ran).await?;
        for h in &m.post {
            run_sql(&txn, h.clone(), m, ran).await?;
        }
        finish(&txn, m, kind, false, ran).await?;
        if let Some(old) = &old {
            run_sql(&txn, format!("drop {} {schema}.{} cascade", old.kind.ddl_keyword(), quote_ident(&backup_name)), m, ran).await?;
            // Views on the old relation were dropped with it: recreate them on the new one.
            for (d, granted) in &dependents {
                run_sql(&txn, d.create_statement(), m, ran).await.map_err(|e| {
                    e.with_help(format!(
                        "view {} depends on {} and no longer fits its new definition; nothing was changed (rolled back). Change or rebuild that view too",
                        d.relation.schema_qualified(),
                        node.relation_name.as_deref().unwrap_or_default()
                    ))
                })?;
                if d.relation.kind == Some(RelationKind::MaterializedView) {
                    run_sql(&txn, format!("refresh materialized view {}", d.relation.schema_qualified()), m, ran).await?;
                }
                for statement in granted.statements(&d.relation.schema_qualified(), None) {
                    run_sql(&txn, statement, m, ran).await?;
                }
            }
        }
        txn.commit().await.map_err(|e| pg(e, node))?;
        Ok(match (kind, response) {
            (Kind::Table | Kind::MaterializedView, Some(r)) => Built { message: r.status, rows: r.rows_affected as i64, warning: None },
            _ => Built { message: "CREATE VIEW".to_owned(), rows: -1, warning: None },
        })
    })
}

/// Row-level security on the model's new relation `name` (still under its temporary name
/// when swapping), inside its transaction: the `rls:` policies, index and grants, or
/// `security_invoker` for a view over protected relations.
async fn protect(
    ctx: &Session<'_>,
    txn: &mfb_postgres::Transaction<'_>,
    m: &Model<'_>,
    kind: Kind,
    name: &str,
    ran: &mut Vec<String>,
) -> Result<(), Diagnostic> {
    let node = m.node;
    let relation = mfb_postgres::Relation::new(&node.database, &node.schema, name).with_kind(
        if kind == Kind::View {
            RelationKind::View
        } else {
            RelationKind::Table
        },
    );
    if let Some(cfg) = &m.rls {
        let columns = txn
            .columns_in_relation(&node.schema, name)
            .await
            .map_err(|e| pg(e, node))?;
        let column_type = columns
            .iter()
            .find(|c| c.name == cfg.tenant_column)
            .map(|c| c.data_type.clone());
        if column_type.is_none() && kind != Kind::View {
            return Err(Diagnostic::error(
                "rls-tenant-column-missing",
                format!(
                    "{} is protected by rls on `{}`, but its SQL does not output that column",
                    node.unique_id, cfg.tenant_column
                ),
            )
            .at(node.defined_at.clone())
            .with_help(format!(
                "select `{}` in {} (the policy filters on it), or fix `tenant_column`",
                cfg.tenant_column, node.original_file_path
            )));
        }
        let statements = crate::rls::protect_statements(
            ctx.parsed,
            node,
            cfg,
            &relation,
            column_type.as_deref(),
        )?;
        for statement in statements {
            run_sql(txn, statement, m, ran).await?;
        }
    } else if m.invoker_view && kind == Kind::View {
        let statement = format!(
            "alter view {} set (security_invoker = true)",
            relation.schema_qualified()
        );
        run_sql(txn, statement, m, ran).await?;
    }
    Ok(())
}

/// Grants and `persist_docs` comments on the model's relation, inside its transaction.
/// `kept`: the relation existed before this build (privileges no longer configured are
/// revoked) rather than being new.
async fn finish(
    txn: &mfb_postgres::Transaction<'_>,
    m: &Model<'_>,
    kind: Kind,
    kept: bool,
    ran: &mut Vec<String>,
) -> Result<(), Diagnostic> {
    let node = m.node;
    let current = if kept && !m.grants.is_empty() {
        Some(
            grants::granted(txn, &m.target)
                .await
                .map_err(|e| pg(e, node))?,
        )
    } else {
        None
    };
    for statement in m.grants.statements(&m.target, current.as_ref()) {
        run_sql(txn, statement, m, ran).await?;
    }
    if !m.docs.is_off() {
        let columns = txn
            .columns_in_relation(&node.schema, &node.alias)
            .await
            .map_err(|e| pg(e, node))?;
        for statement in m.docs.statements(node, kind.keyword(), &m.target, &columns) {
            run_sql(txn, statement, m, ran).await?;
        }
    }
    Ok(())
}

/// Runs one statement of a model's transaction, remembering it for `target/run/`.
async fn run_sql(
    txn: &mfb_postgres::Transaction<'_>,
    sql: String,
    m: &Model<'_>,
    ran: &mut Vec<String>,
) -> Result<mfb_postgres::ExecResponse, Diagnostic> {
    let response = txn
        .execute(&sql)
        .await
        .map_err(|e| crate::engine::statement_error(e, m.node, &sql, &m.compiled_file))?;
    ran.push(sql);
    Ok(response)
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(xs)) => xs
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// incremental on an existing table, in one transaction: the new rows into a temporary
/// table (dropped at commit), the table's columns reconciled per `on_schema_change`, then
/// append, delete+insert or merge (with `incremental_predicates`), post-hooks, grants
/// (revoking what is no longer configured) and comments.
fn incremental(
    ctx: &Session<'_>,
    conn: &mut Connection,
    m: &Model<'_>,
    sql: &str,
    ran: &mut Vec<String>,
) -> Result<Built, Diagnostic> {
    let node = m.node;
    let target = &m.target;
    let unique_key = strings(node.config.get("unique_key"));
    let predicates = strings(node.config.get("incremental_predicates"));
    let strategy = node
        .config
        .get("incremental_strategy")
        .and_then(Value::as_str)
        .unwrap_or(if unique_key.is_empty() {
            "append"
        } else {
            "delete+insert"
        });
    if !matches!(strategy, "append" | "delete+insert" | "merge") {
        return Err(Diagnostic::error(
            "incremental-strategy",
            format!("incremental_strategy `{strategy}` is not supported"),
        )
        .at(node.defined_at.clone())
        .with_help("use append, delete+insert or merge"));
    }
    let (on_schema_change, warning) = OnSchemaChange::configured(node);
    let tmp_name = format!("{}__dbt_tmp", node.alias);
    let tmp = quote_ident(&tmp_name);
    ctx.block_on(async {
        let txn = conn.begin().await.map_err(|e| pg(e, node))?;
        for h in &m.pre {
            run_sql(&txn, h.clone(), m, ran).await?;
        }
        if let Some(contract) = &m.contract {
            contract.check(&txn, node, sql).await?;
        }
        run_sql(&txn, format!("create temporary table {tmp} on commit drop as (\n{sql}\n)"), m, ran).await?;
        let source = txn.columns_in_relation("pg_temp", &tmp_name).await.map_err(|e| pg(e, node))?;
        let existing = txn.columns_in_relation(&node.schema, &node.alias).await.map_err(|e| pg(e, node))?;
        let sync = schema_change::plan((node.unique_id.as_str(), &node.defined_at), on_schema_change, target, &source, &existing)?;
        for statement in sync.statements {
            run_sql(&txn, statement, m, ran).await?;
        }
        let columns: Vec<String> = sync.columns.iter().map(|c| quote_ident(c)).collect();
        let cols = columns.join(", ");
        let insert = format!("insert into {target} ({cols})\n(\n    select {cols}\n    from {tmp}\n)");
        let apply: Vec<String> = match strategy {
            "delete+insert" if !unique_key.is_empty() => {
                let keys = unique_key.join(", ");
                let mut delete = format!(
                    "delete from {target} as DBT_INTERNAL_DEST\nwhere ({keys}) in (\n    select distinct {keys}\n    from {tmp} as DBT_INTERNAL_SOURCE\n)"
                );
                for p in &predicates {
                    delete.push_str(&format!("\n    and {p}"));
                }
                vec![delete, insert]
            }
            "merge" => {
                let mut on: Vec<String> = predicates.iter().map(|p| format!("({p})")).collect();
                if unique_key.is_empty() {
                    on.push("(FALSE)".to_owned());
                } else {
                    on.extend(unique_key.iter().map(|k| format!("(DBT_INTERNAL_SOURCE.{k} = DBT_INTERNAL_DEST.{k})")));
                }
                let update_columns = strings(node.config.get("merge_update_columns"));
                let exclude = strings(node.config.get("merge_exclude_columns"));
                let set: Vec<String> = sync
                    .columns
                    .iter()
                    .filter(|c| update_columns.is_empty() || update_columns.iter().any(|u| u.eq_ignore_ascii_case(c)))
                    .filter(|c| !exclude.iter().any(|x| x.eq_ignore_ascii_case(c)))
                    .map(|c| format!("{q} = DBT_INTERNAL_SOURCE.{q}", q = quote_ident(c)))
                    .collect();
                let matched = if unique_key.is_empty() || set.is_empty() {
                    String::new()
                } else {
                    format!("when matched then update set\n    {}\n", set.join(", "))
                };
                vec![format!(
                    "merge into {target} as DBT_INTERNAL_DEST\nusing {tmp} as DBT_INTERNAL_SOURCE\non {}\n{matched}when not matched then insert\n    ({cols})\nvalues\n    ({cols})",
                    on.join(" and ")
                )]
            }
            // append, and delete+insert without a unique key (dbt appends then too)
            _ => vec![insert],
        };
        let mut last = (String::from("INSERT 0 0"), 0i64);
        for statement in apply {
            let r = run_sql(&txn, statement, m, ran).await?;
            last = (r.status, r.rows_affected as i64);
        }
        for h in &m.post {
            run_sql(&txn, h.clone(), m, ran).await?;
        }
        protect(ctx, &txn, m, Kind::Table, &node.alias, ran).await?;
        finish(&txn, m, Kind::Table, true, ran).await?;
        txn.commit().await.map_err(|e| pg(e, node))?;
        Ok(Built { message: last.0, rows: last.1, warning })
    })
}
