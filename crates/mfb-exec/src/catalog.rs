//! `target/catalog.json` (dbt's v1 shape) from one `pg_catalog` query over every schema the
//! project's models, seeds, snapshots and sources live in: each relation's kind, owner,
//! comment and columns (type as `format_type` prints it, position, comment), keyed by the
//! node or source that owns it.
//!
//! What dbt-postgres leaves out is added as `stats` entries, which the v1 schema allows:
//! the row estimate and total size, and the row-level-security facts (enabled, forced,
//! policies with their predicates, `security_invoker` on views) the docs site shows.

use std::collections::HashMap;

use indexmap::IndexMap;
use mfb_diagnostics::{Diagnostic, IntoDiagnostic};
use mfb_graph::ResourceType;
use mfb_postgres::quote_literal;
use serde_json::{Value, json};

use crate::results::now;
use crate::{Diagnostics, Parsed};

/// One relation found in the catalog.
struct Found {
    kind: &'static str,
    owner: Option<String>,
    comment: Option<String>,
    rows: Option<i64>,
    bytes: Option<i64>,
    rls: bool,
    forced: bool,
    invoker: bool,
    policies: Value,
    columns: IndexMap<String, Value>,
}

fn query(schemas: &[&str]) -> String {
    let list = schemas
        .iter()
        .map(|s| quote_literal(s))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "select n.nspname::text, c.relname::text, c.relkind::text,
                pg_catalog.pg_get_userbyid(c.relowner)::text,
                pg_catalog.obj_description(c.oid, 'pg_class'),
                c.reltuples::bigint::text,
                case when c.relkind in ('r', 'm', 'p') then pg_catalog.pg_total_relation_size(c.oid)::text end,
                c.relrowsecurity::text, c.relforcerowsecurity::text,
                coalesce('security_invoker=true' = any(c.reloptions), false)::text,
                (select json_agg(json_build_object(
                     'name', p.polname, 'command', p.polcmd, 'permissive', p.polpermissive,
                     'roles', (select coalesce(json_agg(case when r = 0 then 'public' else pg_catalog.pg_get_userbyid(r)::text end), '[]')
                               from unnest(p.polroles) r),
                     'using', pg_catalog.pg_get_expr(p.polqual, p.polrelid))
                   order by p.polname)
                 from pg_catalog.pg_policy p where p.polrelid = c.oid)::text,
                a.attname::text, a.attnum::text,
                pg_catalog.format_type(a.atttypid, a.atttypmod),
                pg_catalog.col_description(c.oid, a.attnum)
         from pg_catalog.pg_class c
         join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
         where n.nspname in ({list}) and c.relkind in ('r', 'v', 'm', 'f', 'p')
         order by n.nspname, c.relname, a.attnum"
    )
}

fn kind_name(relkind: &str) -> &'static str {
    match relkind {
        "v" => "VIEW",
        "m" => "MATERIALIZED VIEW",
        "f" => "FOREIGN TABLE",
        _ => "BASE TABLE",
    }
}

fn stat(id: &str, label: &str, value: Value, description: &str) -> (String, Value) {
    (
        id.to_owned(),
        json!({"id": id, "label": label, "value": value, "include": true, "description": description}),
    )
}

fn entry(unique_id: &str, database: &str, schema: &str, name: &str, f: &Found) -> Value {
    let mut stats: IndexMap<String, Value> = IndexMap::new();
    if let Some(rows) = f.rows.filter(|r| *r >= 0) {
        stats.extend([stat(
            "row_count",
            "Row Count",
            json!(rows),
            "An estimate of the number of rows (pg_class.reltuples)",
        )]);
    }
    if let Some(bytes) = f.bytes {
        stats.extend([stat(
            "bytes",
            "Approximate Size",
            json!(bytes),
            "Total size on disk, indexes included",
        )]);
    }
    if f.kind == "VIEW" {
        stats.extend([stat(
            "security_invoker",
            "Security Invoker",
            json!(f.invoker),
            "Whether the view reads with the querying role's rights (and row-level security)",
        )]);
    } else {
        stats.extend([
            stat(
                "rls_enabled",
                "Row Level Security",
                json!(f.rls),
                "Whether row-level security is enabled",
            ),
            stat(
                "rls_forced",
                "RLS Forced",
                json!(f.forced),
                "Whether row-level security applies to the owner too",
            ),
        ]);
        if !f.policies.is_null() {
            stats.extend([stat(
                "rls_policies",
                "RLS Policies",
                f.policies.clone(),
                "The row-level security policies and their predicates",
            )]);
        }
    }
    stats.insert(
        "has_stats".to_owned(),
        json!({"id": "has_stats", "label": "Has Stats?", "value": !stats.is_empty(), "include": false,
               "description": "Indicates whether there are statistics for this table"}),
    );
    json!({
        "metadata": {
            "type": f.kind, "schema": schema, "name": name, "database": database,
            "comment": f.comment, "owner": f.owner,
        },
        "columns": f.columns,
        "stats": stats,
        "unique_id": unique_id,
    })
}

/// Reads the catalog of the project's relations and returns catalog.json's document.
pub fn catalog(parsed: &Parsed, invocation_id: &str) -> Result<Value, Diagnostics> {
    let manifest = &parsed.manifest;
    let relational = |t: ResourceType| {
        matches!(
            t,
            ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
        )
    };
    let mut schemas: Vec<&str> = manifest
        .nodes
        .values()
        .filter(|n| relational(n.resource_type))
        .map(|n| n.schema.as_str())
        .chain(manifest.sources.values().map(|s| s.schema.as_str()))
        .collect();
    schemas.sort_unstable();
    schemas.dedup();
    let config = crate::warehouse::connection_config(&parsed.loaded.target).map_err(|m| {
        vec![Diagnostic::error("profile-invalid", m).with_help("fix the profile's fields")]
    })?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            vec![Diagnostic::error(
                "runtime",
                format!("cannot start the async runtime: {e}"),
            )]
        })?;
    let table = rt
        .block_on(async {
            let conn = mfb_postgres::connect(&config).await?;
            if schemas.is_empty() {
                return Ok(None);
            }
            conn.fetch(&query(&schemas)).await.map(Some)
        })
        .map_err(|e| vec![e.into_diagnostic().with_note("while reading the catalog")])?;
    let mut found: HashMap<(String, String), Found> = HashMap::new();
    for row in table.map(|t| t.rows).unwrap_or_default() {
        let text = |i: usize| row.get(i).and_then(|c| c.as_text());
        let (Some(schema), Some(name)) = (text(0), text(1)) else {
            continue;
        };
        let f = found.entry((schema, name)).or_insert_with(|| Found {
            kind: kind_name(&text(2).unwrap_or_default()),
            owner: text(3),
            comment: text(4),
            rows: text(5).and_then(|s| s.parse().ok()),
            bytes: text(6).and_then(|s| s.parse().ok()),
            rls: text(7).as_deref() == Some("true"),
            forced: text(8).as_deref() == Some("true"),
            invoker: text(9).as_deref() == Some("true"),
            policies: text(10)
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or(Value::Null),
            columns: IndexMap::new(),
        });
        if let Some(column) = text(11) {
            f.columns.insert(
                column.clone(),
                json!({
                    "type": text(13),
                    "index": text(12).and_then(|s| s.parse::<i64>().ok()),
                    "name": column,
                    "comment": text(14),
                }),
            );
        }
    }
    let mut nodes = serde_json::Map::new();
    for n in manifest.nodes.values() {
        if !relational(n.resource_type) {
            continue;
        }
        if let Some(f) = found.get(&(n.schema.clone(), n.alias.clone())) {
            nodes.insert(
                n.unique_id.to_string(),
                entry(n.unique_id.as_str(), &n.database, &n.schema, &n.alias, f),
            );
        }
    }
    let mut sources = serde_json::Map::new();
    for s in manifest.sources.values() {
        if let Some(f) = found.get(&(s.schema.clone(), s.identifier.clone())) {
            sources.insert(
                s.unique_id.to_string(),
                entry(
                    s.unique_id.as_str(),
                    &s.database,
                    &s.schema,
                    &s.identifier,
                    f,
                ),
            );
        }
    }
    Ok(json!({
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json",
            "dbt_version": crate::load::DBT_VERSION,
            "generated_at": now(),
            "invocation_id": invocation_id,
            "invocation_started_at": Value::Null,
            "env": crate::load::metadata_envs(),
        },
        "nodes": nodes,
        "sources": sources,
        "errors": Value::Null,
    }))
}
