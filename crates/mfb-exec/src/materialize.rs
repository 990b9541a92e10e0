//! Materializations: how a model's compiled SQL becomes a relation.
//!
//! Each model is built under a temporary name and swapped in by renames inside one
//! transaction, so a reader never sees a missing or half-built relation and a failure
//! leaves the old one as it was. Views that depend on the old relation (and would be
//! dropped with it) are recreated in the same transaction: if one no longer fits the new
//! relation, the whole swap is rolled back and the error names it. Templates (hooks, an
//! incremental model's SQL) render between database calls, never inside them (the Jinja
//! runtime's own database access blocks on its own runtime).

use mfb_diagnostics::Diagnostic;
use mfb_graph::{Node, UniqueId};
use mfb_postgres::{Connection, RelationKind, quote_ident};
use serde_json::Value;

use crate::compile::inject_ctes;
use crate::engine::{Outcome, Session, hooks, pg_error as pg};

fn keyword(kind: RelationKind) -> &'static str {
    match kind {
        RelationKind::View => "view",
        RelationKind::MaterializedView => "materialized view",
        RelationKind::Foreign => "foreign table",
        _ => "table",
    }
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
    let (message, rows, sql) = materialize(s, conn, node, existing)?;
    Ok(Outcome {
        code: message
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
        message,
        rows,
        executed: Some(sql),
        ..Outcome::default()
    })
}

/// Builds one model; returns (message, rows affected, the SQL that ran).
fn materialize(
    ctx: &Session<'_>,
    conn: &mut Connection,
    node: &Node,
    existing: Option<RelationKind>,
) -> Result<(String, i64, String), Diagnostic> {
    let loaded = &ctx.parsed.loaded;
    let materialized = node
        .config
        .get("materialized")
        .and_then(Value::as_str)
        .unwrap_or("view");
    let full_refresh = loaded.settings.full_refresh
        || node.config.get("full_refresh").and_then(Value::as_bool) == Some(true);
    let incremental = materialized == "incremental" && existing.is_some() && !full_refresh;
    let sql = if incremental {
        let source = &node.raw_code;
        let body = ctx.render(node, source)?;
        let bodies: indexmap::IndexMap<UniqueId, String> = ctx
            .parsed
            .manifest
            .nodes
            .values()
            .filter_map(|n| Some((n.unique_id.clone(), n.compiled_code.clone()?)))
            .collect();
        inject_ctes(&ctx.parsed.manifest, node, &body, &bodies)
    } else {
        node.compiled_code.clone().unwrap_or_default()
    };
    let (pre_in, pre_out) = render_hooks(ctx, node, "pre-hook")?;
    let (post_in, post_out) = render_hooks(ctx, node, "post-hook")?;
    let (schema, alias) = (quote_ident(&node.schema), quote_ident(&node.alias));
    let target = format!("{schema}.{alias}");
    let mut ran = Vec::new();
    for h in &pre_out {
        ctx.exec(conn, h, node)?;
        ran.push(h.clone());
    }
    let result = match materialized {
        "view" | "table" => swap(
            ctx,
            conn,
            node,
            materialized,
            &sql,
            existing,
            &pre_in,
            &post_in,
            &mut ran,
        ),
        "incremental" if incremental => {
            merge_in(ctx, conn, node, &sql, &target, &pre_in, &post_in, &mut ran)
        }
        "incremental" => swap(
            ctx, conn, node, "table", &sql, existing, &pre_in, &post_in, &mut ran,
        ),
        other => Err(Diagnostic::error(
            "materialization-unsupported",
            format!("materialization `{other}` is not supported by mfb yet"),
        )
        .at(node.defined_at.clone())
        .with_help("use view, table or incremental for now; see docs/compatibility.md")),
    }?;
    for h in &post_out {
        ctx.exec(conn, h, node)?;
        ran.push(h.clone());
    }
    Ok((result.0, result.1, ran.join(";\n\n")))
}

/// view/table: create under a temporary name, swap by renames, recreate dependent views,
/// all in one transaction.
#[allow(clippy::too_many_arguments)]
fn swap(
    ctx: &Session<'_>,
    conn: &mut Connection,
    node: &Node,
    kind: &str,
    sql: &str,
    existing: Option<RelationKind>,
    pre: &[String],
    post: &[String],
    ran: &mut Vec<String>,
) -> Result<(String, i64), Diagnostic> {
    let schema = quote_ident(&node.schema);
    let tmp_name = format!("{}__dbt_tmp", node.alias);
    let backup_name = format!("{}__dbt_backup", node.alias);
    ctx.block_on(async {
        let txn = conn.begin().await.map_err(|e| pg(e, node))?;
        // Leftovers of a killed run.
        for leftover in [&tmp_name, &backup_name] {
            if let Some(info) = txn.get_relation(&node.schema, leftover).await.map_err(|e| pg(e, node))? {
                run_sql(&txn, format!("drop {} if exists {schema}.{} cascade", keyword(info.kind), quote_ident(leftover)), node, ran).await?;
            }
        }
        for h in pre {
            run_sql(&txn, h.clone(), node, ran).await?;
        }
        let create = format!("create {kind} {schema}.{} as (\n{sql}\n)", quote_ident(&tmp_name));
        let response = run_sql(&txn, create, node, ran).await?;
        let mut dependents = Vec::new();
        if let Some(old) = existing {
            dependents = txn.dependent_views(&node.schema, &node.alias).await.map_err(|e| pg(e, node))?;
            let rename = format!("alter {} {schema}.{} rename to {}", keyword(old), quote_ident(&node.alias), quote_ident(&backup_name));
            run_sql(&txn, rename, node, ran).await?;
        }
        let rename = format!("alter {kind} {schema}.{} rename to {}", quote_ident(&tmp_name), quote_ident(&node.alias));
        run_sql(&txn, rename, node, ran).await?;
        for h in post {
            run_sql(&txn, h.clone(), node, ran).await?;
        }
        if let Some(old) = existing {
            run_sql(&txn, format!("drop {} {schema}.{} cascade", keyword(old), quote_ident(&backup_name)), node, ran).await?;
            // Views on the old relation were dropped with it: recreate them on the new one.
            for d in &dependents {
                run_sql(&txn, d.create_statement(), node, ran).await.map_err(|e| {
                    e.with_help(format!(
                        "view {} depends on {} and no longer fits its new definition; nothing was changed (rolled back). Change or rebuild that view too",
                        d.relation.schema_qualified(),
                        node.relation_name.as_deref().unwrap_or_default()
                    ))
                })?;
            }
        }
        txn.commit().await.map_err(|e| pg(e, node))?;
        let message = if kind == "view" { "CREATE VIEW".to_owned() } else { response.status.clone() };
        Ok((message, if kind == "view" { -1 } else { response.rows_affected as i64 }))
    })
}

/// Runs one statement of a model's transaction, remembering it for `target/run/`.
async fn run_sql(
    txn: &mfb_postgres::Transaction<'_>,
    sql: String,
    node: &Node,
    ran: &mut Vec<String>,
) -> Result<mfb_postgres::ExecResponse, Diagnostic> {
    let response = txn.execute(&sql).await.map_err(|e| pg(e, node))?;
    ran.push(sql);
    Ok(response)
}

/// incremental on an existing relation: new rows into a temporary table, then append,
/// delete+insert or merge into the target, in one transaction.
#[allow(clippy::too_many_arguments)]
fn merge_in(
    ctx: &Session<'_>,
    conn: &mut Connection,
    node: &Node,
    sql: &str,
    target: &str,
    pre: &[String],
    post: &[String],
    ran: &mut Vec<String>,
) -> Result<(String, i64), Diagnostic> {
    let unique_key: Vec<String> = match node.config.get("unique_key") {
        Some(Value::String(k)) => vec![k.clone()],
        Some(Value::Array(ks)) => ks
            .iter()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let strategy = node
        .config
        .get("incremental_strategy")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| {
            if unique_key.is_empty() {
                "append".into()
            } else {
                "delete+insert".into()
            }
        });
    let tmp = quote_ident(&format!("{}__dbt_tmp", node.alias));
    ctx.block_on(async {
        let txn = conn.begin().await.map_err(|e| pg(e, node))?;
        let mut stmts = Vec::new();
        for h in pre {
            stmts.push(h.clone());
        }
        stmts.push(format!("drop table if exists {tmp}"));
        stmts.push(format!("create temporary table {tmp} as (\n{sql}\n)"));
        for s in stmts {
            run_sql(&txn, s, node, ran).await?;
        }
        let columns: Vec<String> = txn
            .columns_in_relation(&node.schema, &node.alias)
            .await
            .map_err(|e| pg(e, node))?
            .into_iter()
            .map(|c| quote_ident(&c.name))
            .collect();
        let cols = columns.join(", ");
        let on = |a: &str, b: &str| unique_key.iter().map(|k| format!("{a}.{q} = {b}.{q}", q = quote_ident(k))).collect::<Vec<_>>().join(" and ");
        let apply: Vec<String> = match strategy.as_str() {
            "append" => vec![format!("insert into {target} ({cols})\n(select {cols} from {tmp})")],
            "delete+insert" if !unique_key.is_empty() => vec![
                format!("delete from {target} using {tmp} where {}", on(target, &tmp)),
                format!("insert into {target} ({cols})\n(select {cols} from {tmp})"),
            ],
            "merge" if !unique_key.is_empty() => {
                let set = columns.iter().map(|c| format!("{c} = DBT_INTERNAL_SOURCE.{c}")).collect::<Vec<_>>().join(", ");
                let values = columns.iter().map(|c| format!("DBT_INTERNAL_SOURCE.{c}")).collect::<Vec<_>>().join(", ");
                vec![format!(
                    "merge into {target} as DBT_INTERNAL_DEST using {tmp} as DBT_INTERNAL_SOURCE on ({})\nwhen matched then update set {set}\nwhen not matched then insert ({cols}) values ({values})",
                    on("DBT_INTERNAL_DEST", "DBT_INTERNAL_SOURCE")
                )]
            }
            other => {
                return Err(Diagnostic::error("incremental-strategy", format!("incremental_strategy `{other}` needs a unique_key or is not supported"))
                    .at(node.defined_at.clone())
                    .with_help("use append, or delete+insert / merge with a unique_key"));
            }
        };
        let mut last = (String::from("INSERT 0 0"), 0i64);
        for (i, s) in apply.iter().chain(post).enumerate() {
            let r = run_sql(&txn, s.clone(), node, ran).await?;
            if i < apply.len() {
                last = (r.status, r.rows_affected as i64);
            }
        }
        txn.commit().await.map_err(|e| pg(e, node))?;
        Ok(last)
    })
}
