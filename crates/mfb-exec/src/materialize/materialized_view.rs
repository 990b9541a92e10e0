//! `materialized: materialized_view`.
//!
//! The first build, a `--full-refresh`, or a relation of another kind in the way is built
//! like a table: under a temporary name with its indexes, then swapped in (see
//! [`super::swap`]). On a later run the existing materialized view is compared with the
//! model: its query (PostgreSQL's own `pg_get_viewdef` of the existing view against that of
//! the new query, created `with no data` in a transaction that is rolled back) and its
//! indexes (columns, uniqueness, method). Unchanged, it is refreshed, `concurrently` when
//! it is populated and has a unique index on plain columns, so readers keep reading during
//! the refresh. Changed, `on_configuration_change` decides: `apply` (the default) rebuilds
//! and swaps, `continue` leaves it untouched with a warning, `fail` stops with an error.
//! dbt-postgres compares only indexes; mfb also notices a changed query, since refreshing
//! would silently keep the old one.

use mfb_diagnostics::Diagnostic;
use mfb_postgres::{Connection, RelationKind, quote_ident, quote_literal};
use serde_json::Value;

use super::{Built, Kind, Model, finish, indexes, run_sql, swap};
use crate::engine::{Session, pg_error as pg};

/// Builds, refreshes or rebuilds a materialized view model.
pub fn build(
    ctx: &Session<'_>,
    conn: &mut Connection,
    m: &Model<'_>,
    sql: &str,
    existing: Option<RelationKind>,
    full_refresh: bool,
    ran: &mut Vec<String>,
) -> Result<Built, Diagnostic> {
    if full_refresh || existing != Some(RelationKind::MaterializedView) {
        return swap(ctx, conn, m, Kind::MaterializedView, sql, ran);
    }
    let node = m.node;
    let setting = node
        .config
        .get("on_configuration_change")
        .and_then(Value::as_str)
        .unwrap_or("apply");
    let changes = ctx.block_on(changes(conn, m, sql))?;
    if !changes.is_empty() {
        let relation = node
            .relation_name
            .clone()
            .unwrap_or_else(|| m.target.clone());
        match setting {
            "apply" => return swap(ctx, conn, m, Kind::MaterializedView, sql, ran),
            "continue" => {
                let mut built = keep(ctx, conn, m, None, ran)?;
                built.message = format!("skip {relation}");
                built.warning = Some(
                    Diagnostic::warning(
                        "configuration-change-skipped",
                        format!(
                            "Configuration changes were identified and `on_configuration_change` was set to `continue` for `{relation}`"
                        ),
                    )
                    .at(node.defined_at.clone())
                    .with_note(format!("changed: {}", changes.join(", ")))
                    .with_help("run with --full-refresh, or set on_configuration_change to apply, to rebuild it"),
                );
                return Ok(built);
            }
            "fail" => {
                return Err(Diagnostic::error(
                    "configuration-change-failed",
                    format!(
                        "Configuration changes were identified and `on_configuration_change` was set to `fail` for `{relation}`"
                    ),
                )
                .at(node.defined_at.clone())
                .with_note(format!("changed: {}", changes.join(", ")))
                .with_help("run with --full-refresh, or set on_configuration_change to apply, to rebuild it; nothing was changed"));
            }
            other => {
                return Err(Diagnostic::error(
                    "configuration-change-invalid",
                    format!(
                        "on_configuration_change `{other}` of {} is not apply, continue or fail",
                        node.unique_id
                    ),
                )
                .at(node.defined_at.clone())
                .with_help("use apply, continue or fail"));
            }
        }
    }
    let concurrently = ctx
        .block_on(refreshable_concurrently(conn, &m.target))
        .map_err(|e| pg(e, node))?;
    let refresh = format!(
        "refresh materialized view {}{}",
        if concurrently { "concurrently " } else { "" },
        m.target
    );
    keep(ctx, conn, m, Some(refresh), ran)
}

/// Runs the in-transaction hooks, `statement` (if any), grants and comments on the kept
/// materialized view, in one transaction.
fn keep(
    ctx: &Session<'_>,
    conn: &mut Connection,
    m: &Model<'_>,
    statement: Option<String>,
    ran: &mut Vec<String>,
) -> Result<Built, Diagnostic> {
    let node = m.node;
    ctx.block_on(async {
        let txn = conn.begin().await.map_err(|e| pg(e, node))?;
        for h in &m.pre {
            run_sql(&txn, h.clone(), m, ran).await?;
        }
        let mut message = String::new();
        if let Some(s) = statement {
            message = run_sql(&txn, s, m, ran).await?.status;
        }
        for h in &m.post {
            run_sql(&txn, h.clone(), m, ran).await?;
        }
        finish(&txn, m, Kind::MaterializedView, true, ran).await?;
        txn.commit().await.map_err(|e| pg(e, node))?;
        Ok(Built {
            message,
            rows: -1,
            warning: None,
        })
    })
}

/// What differs between the existing materialized view and the model: `sql`, `indexes`.
async fn changes(
    conn: &mut Connection,
    m: &Model<'_>,
    sql: &str,
) -> Result<Vec<String>, Diagnostic> {
    let node = m.node;
    let probe = format!("{}__dbt_tmp", node.alias);
    let txn = conn.begin().await.map_err(|e| pg(e, node))?;
    if let Some(info) = txn
        .get_relation(&node.schema, &probe)
        .await
        .map_err(|e| pg(e, node))?
    {
        txn.execute(&format!(
            "drop {} {}.{} cascade",
            info.kind.ddl_keyword(),
            m.schema,
            quote_ident(&probe)
        ))
        .await
        .map_err(|e| pg(e, node))?;
    }
    let probe_relation = format!("{}.{}", m.schema, quote_ident(&probe));
    txn.execute(&format!(
        "create materialized view {probe_relation} as (\n{sql}\n) with no data"
    ))
    .await
    .map_err(|e| pg(e, node))?;
    let defs = txn
        .fetch(&format!(
            "select pg_catalog.pg_get_viewdef(to_regclass({})), pg_catalog.pg_get_viewdef(to_regclass({}))",
            quote_literal(&m.target),
            quote_literal(&probe_relation)
        ))
        .await
        .map_err(|e| pg(e, node))?;
    let existing_indexes = indexes::existing(&txn, &node.schema, &node.alias)
        .await
        .map_err(|e| pg(e, node))?;
    // Nothing of the probe may remain.
    txn.rollback().await.map_err(|e| pg(e, node))?;
    let mut out = Vec::new();
    let row = defs.rows.first();
    let def = |i: usize| row.and_then(|r| r.get(i)).and_then(|c| c.as_text());
    if def(0) != def(1) {
        out.push("sql".to_owned());
    }
    if !indexes::same(&existing_indexes, &m.indexes) {
        out.push("indexes".to_owned());
    }
    Ok(out)
}

/// True when `relation` is populated and has a unique index on plain columns, which
/// `refresh materialized view concurrently` needs.
async fn refreshable_concurrently(
    conn: &Connection,
    relation: &str,
) -> Result<bool, mfb_postgres::PgError> {
    let table = conn
        .fetch(&format!(
            "select c.relispopulated and exists (
                 select 1 from pg_catalog.pg_index i
                 where i.indrelid = c.oid and i.indisunique and i.indisvalid
                   and i.indpred is null and i.indexprs is null)
             from pg_catalog.pg_class c where c.oid = to_regclass({})",
            quote_literal(relation)
        ))
        .await?;
    Ok(table
        .rows
        .first()
        .and_then(|r| r.first())
        .and_then(|c| c.as_text())
        .as_deref()
        == Some("true"))
}
