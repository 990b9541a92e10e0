//! Snapshots: SCD type 2 history tables, as `dbt snapshot` builds them on PostgreSQL.
//!
//! The first run creates the table from the snapshot's query plus four meta columns
//! (`dbt_scd_id`, `dbt_updated_at`, `dbt_valid_from`, `dbt_valid_to`, renamed by
//! `snapshot_meta_column_names`; `dbt_is_deleted` too with `hard_deletes: new_record`).
//! Later runs compare the query with the table's current rows (those whose `dbt_valid_to`
//! is null, or `dbt_valid_to_current`): new keys are inserted, changed rows (by the
//! `timestamp` or `check` strategy) are closed and get a new version, and keys that left
//! the query are closed (`invalidate`) or closed and followed by a deletion row
//! (`new_record`). Columns new in the query are added to the table first.
//!
//! Guarantees: one snapshot's statements run in one transaction, so a failure leaves the
//! table as it was; the query runs once per run (into a temporary table), so the
//! uniqueness check and the changes see the same rows; and a `unique_key` that is not
//! unique in the query fails the snapshot before anything is written, since dbt would
//! silently close and duplicate history rows for it.
//!
//! The rows written are the ones dbt-postgres 1.10 writes for the same configs and the
//! same source changes (`dbt_scd_id` is the same md5 of the key and the update time).

use indexmap::IndexSet;
use mfb_diagnostics::{Diagnostic, Location};
use mfb_graph::{Node, ResourceType, UniqueId};
use mfb_postgres::{Connection, RelationKind, Transaction, quote_ident};
use mfb_project::NodeConfig;
use regex::Regex;
use serde_json::Value;

use crate::engine::{Outcome, Session, pg_error as pg};
use crate::results::NodeResult;
use crate::schedule::{Policy, Progress};
use crate::{Diagnostics, Parsed};

/// The snapshot's query, materialized once per run.
const SOURCE: &str = "mfb_snapshot_source";
/// The changes to apply (one row per insert, closure or deletion), dbt's staging table.
const CHANGES: &str = "mfb_snapshot_changes";
/// What PostgreSQL calls the time of a check-strategy change and of a deletion.
const NOW: &str = "now()::timestamp without time zone";

/// How changed rows are detected.
#[derive(Debug, Clone, PartialEq)]
enum Strategy {
    /// A row changed when its `updated_at` is later than its current version's.
    Timestamp { updated_at: String },
    /// A row changed when one of `cols` differs; versions are stamped `updated_at` (a
    /// column) when configured, else the time of the run.
    Check {
        cols: CheckCols,
        updated_at: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum CheckCols {
    All,
    List(Vec<String>),
}

/// What happens to rows whose key left the query.
#[derive(Debug, Clone, Copy, PartialEq)]
enum HardDeletes {
    Ignore,
    Invalidate,
    NewRecord,
}

/// The meta columns' names.
#[derive(Debug, Clone, PartialEq)]
struct MetaColumns {
    scd_id: String,
    updated_at: String,
    valid_from: String,
    valid_to: String,
    is_deleted: String,
}

/// A snapshot's configuration, checked.
#[derive(Debug, Clone, PartialEq)]
struct Spec {
    strategy: Strategy,
    /// Column names or SQL expressions, as dbt takes them.
    unique_key: Vec<String>,
    hard_deletes: HardDeletes,
    meta: MetaColumns,
    /// SQL for `dbt_valid_to` of current rows (None: null).
    valid_to_current: Option<String>,
}

fn config_error(name: &str, at: Location, message: String, help: &str) -> Diagnostic {
    Diagnostic::error("snapshot-config", format!("snapshot `{name}`: {message}"))
        .at(at)
        .with_help(help.to_owned())
}

impl Spec {
    /// Reads and checks the snapshot configs `cfg` of snapshot `name`.
    fn of(name: &str, cfg: &NodeConfig, at: &Location) -> Result<Spec, Diagnostic> {
        let text = |key: &str| cfg.get(key).and_then(Value::as_str).map(str::to_owned);
        let err = |message: String, help: &str| config_error(name, at.clone(), message, help);
        let unique_key: Vec<String> = match cfg.get("unique_key") {
            Some(Value::String(k)) if !k.trim().is_empty() => vec![k.clone()],
            Some(Value::Array(ks)) if !ks.is_empty() => ks
                .iter()
                .map(|k| k.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    err(
                        "`unique_key` must be a column name or a list of column names".into(),
                        "write unique_key='id' or unique_key=['id', 'valid_on']",
                    )
                })?,
            _ => {
                return Err(err(
                    "no `unique_key` is configured".into(),
                    "add unique_key='<column that identifies a row>' (or a list of columns) to the snapshot's config",
                ));
            }
        };
        let strategy = match text("strategy").as_deref() {
            Some("timestamp") => Strategy::Timestamp {
                updated_at: text("updated_at").ok_or_else(|| {
                    err(
                        "the timestamp strategy needs `updated_at`".into(),
                        "add updated_at='<column holding when the row last changed>', or use strategy='check'",
                    )
                })?,
            },
            Some("check") => {
                let cols = match cfg.get("check_cols") {
                    Some(Value::String(s)) if s == "all" => CheckCols::All,
                    Some(Value::Array(cs)) if !cs.is_empty() => CheckCols::List(
                        cs.iter()
                            .map(|c| c.as_str().map(str::to_owned))
                            .collect::<Option<_>>()
                            .ok_or_else(|| {
                                err(
                                    "`check_cols` must list column names".into(),
                                    "write check_cols=['status', 'amount'] or check_cols='all'",
                                )
                            })?,
                    ),
                    _ => {
                        return Err(err(
                            "the check strategy needs `check_cols`: a list of columns or 'all'".into(),
                            "add check_cols=['<column>', ...] or check_cols='all'",
                        ));
                    }
                };
                Strategy::Check {
                    cols,
                    updated_at: text("updated_at"),
                }
            }
            Some(other) => {
                return Err(err(
                    format!("unknown strategy `{other}`"),
                    "use strategy='timestamp' (with updated_at) or strategy='check' (with check_cols)",
                ));
            }
            None => {
                return Err(err(
                    "no `strategy` is configured".into(),
                    "add strategy='timestamp' (with updated_at) or strategy='check' (with check_cols)",
                ));
            }
        };
        let legacy = cfg.get("invalidate_hard_deletes").filter(|v| !v.is_null());
        if legacy.is_some() && text("hard_deletes").is_some() {
            // dbt refuses the pair, whatever the values.
            return Err(err(
                "both `invalidate_hard_deletes` and `hard_deletes` are set".into(),
                "keep only hard_deletes (invalidate_hard_deletes=true is hard_deletes='invalidate')",
            ));
        }
        let hard_deletes = match text("hard_deletes").as_deref() {
            None if legacy.and_then(Value::as_bool) == Some(true) => HardDeletes::Invalidate,
            None | Some("ignore") => HardDeletes::Ignore,
            Some("invalidate") => HardDeletes::Invalidate,
            Some("new_record") => HardDeletes::NewRecord,
            Some(other) => {
                return Err(err(
                    format!("unknown hard_deletes `{other}`"),
                    "use hard_deletes: ignore, invalidate or new_record",
                ));
            }
        };
        let names = cfg.get("snapshot_meta_column_names");
        let name = |key: &str| {
            names
                .and_then(|n| n.get(key))
                .and_then(Value::as_str)
                .filter(|n| !n.trim().is_empty())
                .unwrap_or(key)
                .to_owned()
        };
        let meta = MetaColumns {
            scd_id: name("dbt_scd_id"),
            updated_at: name("dbt_updated_at"),
            valid_from: name("dbt_valid_from"),
            valid_to: name("dbt_valid_to"),
            is_deleted: name("dbt_is_deleted"),
        };
        Ok(Spec {
            strategy,
            unique_key,
            hard_deletes,
            meta,
            valid_to_current: text("dbt_valid_to_current").filter(|v| !v.trim().is_empty()),
        })
    }

    /// The SQL of a version's update time, over the query's columns.
    fn updated_at(&self) -> &str {
        match &self.strategy {
            Strategy::Timestamp { updated_at } => updated_at,
            Strategy::Check {
                updated_at: Some(u),
                ..
            } => u,
            Strategy::Check { .. } => NOW,
        }
    }

    /// `dbt_valid_to` of a new current row, typed like the update time.
    fn open_valid_to(&self) -> String {
        let u = self.updated_at();
        match &self.valid_to_current {
            Some(v) => format!("coalesce(nullif({u}, {u}), {v})"),
            None => format!("nullif({u}, {u})"),
        }
    }

    /// True for current rows: `dbt_valid_to` null (or `dbt_valid_to_current`, when set).
    fn is_current(&self, valid_to: &str) -> String {
        match &self.valid_to_current {
            Some(v) => format!("({valid_to} = {v} or {valid_to} is null)"),
            None => format!("{valid_to} is null"),
        }
    }

    /// True for current rows, without the rows written before `dbt_valid_to_current` was set.
    fn is_current_strictly(&self, valid_to: &str) -> String {
        match &self.valid_to_current {
            Some(v) => format!("{valid_to} = {v}"),
            None => format!("{valid_to} is null"),
        }
    }

    /// `dbt_scd_id`: md5 of the key parts and the update time, `|`-separated.
    fn scd_id(&self) -> String {
        let parts: Vec<&str> = self
            .unique_key
            .iter()
            .map(String::as_str)
            .chain([self.updated_at()])
            .collect();
        md5_of(&parts)
    }

    /// `select` items naming each key part `__mfb_key_<i>`.
    fn key_items(&self) -> String {
        self.unique_key
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{k} as __mfb_key_{}", i + 1))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn key_join(&self, a: &str, b: &str) -> String {
        (1..=self.unique_key.len())
            .map(|i| format!("{a}.__mfb_key_{i} = {b}.__mfb_key_{i}"))
            .collect::<Vec<_>>()
            .join(" and ")
    }

    fn key_label(&self) -> String {
        match self.unique_key.as_slice() {
            [one] => one.clone(),
            many => format!("({})", many.join(", ")),
        }
    }
}

/// md5 of the parts cast to varchar, nulls as '', joined by '|' (dbt's scd_id hash).
fn md5_of(parts: &[&str]) -> String {
    let joined = parts
        .iter()
        .map(|p| format!("coalesce(cast({p} as varchar), '')"))
        .collect::<Vec<_>>()
        .join(" || '|' || ");
    format!("md5({joined})")
}

/// A column of a relation: quoted-ready name and PostgreSQL type.
#[derive(Debug, Clone)]
struct Col {
    name: String,
    data_type: String,
}

/// The first run: the query's rows, each current.
fn create_sql(spec: &Spec, target: &str) -> String {
    let m = &spec.meta;
    let u = spec.updated_at();
    let deleted = if spec.hard_deletes == HardDeletes::NewRecord {
        format!(",\n    'False' as {}", quote_ident(&m.is_deleted))
    } else {
        String::new()
    };
    format!(
        "create table {target} as (\n  select *,\n    {} as {},\n    {u} as {},\n    {u} as {},\n    {} as {}{deleted}\n  from {SOURCE} as sbq\n)",
        spec.scd_id(),
        quote_ident(&m.scd_id),
        quote_ident(&m.updated_at),
        quote_ident(&m.valid_from),
        spec.open_valid_to(),
        quote_ident(&m.valid_to),
    )
}

/// The changes of a later run, into the temporary table [`CHANGES`]: `__mfb_change` is
/// `insert` for rows to add, `close` for current rows to end at `valid_to`.
/// `source` are the query's columns, `existing` the names of the table's columns, and
/// `column_added` whether a checked column is new (then every row counts as changed).
fn changes_sql(
    spec: &Spec,
    target: &str,
    source: &[Col],
    existing: &[String],
    column_added: bool,
) -> String {
    let m = &spec.meta;
    let q = |n: &str| quote_ident(n);
    let (scd, upd, from, to, del) = (
        q(&m.scd_id),
        q(&m.updated_at),
        q(&m.valid_from),
        q(&m.valid_to),
        q(&m.is_deleted),
    );
    let new_record = spec.hard_deletes == HardDeletes::NewRecord;
    let u = spec.updated_at();
    let changed = match &spec.strategy {
        Strategy::Timestamp { .. } => format!("c.{from} < s.__mfb_updated_at"),
        Strategy::Check { .. } if column_added => "true".to_owned(),
        Strategy::Check { cols, .. } => {
            let names: Vec<&str> = match cols {
                CheckCols::All => source.iter().map(|c| c.name.as_str()).collect(),
                CheckCols::List(l) => l.iter().map(String::as_str).collect(),
            };
            names
                .iter()
                .map(|n| format!("c.{} is distinct from s.{}", q(n), q(n)))
                .collect::<Vec<_>>()
                .join(" or ")
        }
    };
    // A deletion row comes back to life as a new version.
    let changed = if new_record {
        format!("({changed}) or c.{del} = 'True'")
    } else {
        format!("({changed})")
    };
    let join = spec.key_join("c", "s");
    let from_source = |alias: &str| {
        source
            .iter()
            .map(|c| format!("{alias}.{}", q(&c.name)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let deleted_col = |value: &str| {
        if new_record {
            format!(", {value} as {del}")
        } else {
            String::new()
        }
    };
    let mut parts = vec![
        format!(
            "with source_rows as (\n  select *, {keys}, {u} as __mfb_updated_at, {open} as __mfb_valid_to, {hash} as __mfb_scd_id\n  from {SOURCE}\n),\ncurrent_rows as (\n  select *, {keys}\n  from {target}\n  where {current}\n)",
            keys = spec.key_items(),
            open = spec.open_valid_to(),
            hash = spec.scd_id(),
            current = spec.is_current(&to),
        ),
        // New keys, and new versions of changed rows.
        format!(
            "select 'insert' as __mfb_change, {cols}, s.__mfb_updated_at as {upd}, s.__mfb_updated_at as {from}, s.__mfb_valid_to as {to}, s.__mfb_scd_id as {scd}{d}\nfrom source_rows as s\nleft join current_rows as c on {join}\nwhere c.__mfb_key_1 is null or ({changed})",
            cols = from_source("s"),
            d = deleted_col("'False'"),
        ),
        // The current versions of changed rows end when the new ones start.
        format!(
            "union all\nselect 'close', {cols}, s.__mfb_updated_at, s.__mfb_updated_at, s.__mfb_updated_at, c.{scd}{d}\nfrom source_rows as s\njoin current_rows as c on {join}\nwhere {changed}",
            cols = from_source("s"),
            d = deleted_col(&format!("c.{del}")),
        ),
    ];
    if spec.hard_deletes != HardDeletes::Ignore {
        // A key that left the query: its current row ends now (unless it is already the
        // row saying it was deleted).
        let not_marked = if new_record {
            format!(
                " and not (c.{del} = 'True' and {})",
                spec.is_current_strictly(&format!("c.{to}"))
            )
        } else {
            String::new()
        };
        let nulls = vec!["null"; source.len()].join(", ");
        parts.push(format!(
            "union all\nselect 'close', {nulls}, {NOW}, {NOW}, {NOW}, c.{scd}{d}\nfrom current_rows as c\nleft join source_rows as s on {join}\nwhere s.__mfb_key_1 is null{not_marked}",
            d = deleted_col(&format!("c.{del}")),
        ));
        if new_record {
            // ...and a new current row says it was deleted, with its last values.
            let last_values = source
                .iter()
                .map(|c| {
                    if existing.contains(&c.name) {
                        format!("c.{}", q(&c.name))
                    } else {
                        format!("cast(null as {})", c.data_type)
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            parts.push(format!(
                "union all\nselect 'insert', {last_values}, {NOW}, {NOW}, c.{to}, {hash}, 'True'\nfrom current_rows as c\nleft join source_rows as s on {join}\nwhere s.__mfb_key_1 is null{not_marked}",
                hash = md5_of(&[&format!("c.{scd}"), NOW]),
            ));
        }
    }
    format!(
        "create temporary table {CHANGES} on commit drop as (\n{}\n)",
        parts.join("\n")
    )
}

/// The statements that apply [`CHANGES`] to the table.
fn apply_sql(spec: &Spec, target: &str, insert_cols: &[String]) -> [String; 2] {
    let m = &spec.meta;
    let (scd, to) = (quote_ident(&m.scd_id), quote_ident(&m.valid_to));
    let cols = insert_cols
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    [
        format!(
            "update {target} as t\nset {to} = ch.{to}\nfrom {CHANGES} as ch\nwhere ch.__mfb_change = 'close'\n  and ch.{scd}::text = t.{scd}::text\n  and {}",
            spec.is_current(&format!("t.{to}"))
        ),
        format!(
            "insert into {target} ({cols})\nselect {cols} from {CHANGES} where __mfb_change = 'insert'"
        ),
    ]
}

/// Where the snapshot is defined: the YAML entry's line, or the line of `unique_key`
/// (else of `{% snapshot name %}`) in its SQL file.
fn location(s: &Session<'_>, node: &Node) -> Location {
    if node.defined_at.line > 0 {
        return node.defined_at.clone();
    }
    let loaded = &s.parsed.loaded;
    let path = loaded
        .project
        .package(&node.package_name)
        .map(|p| p.root.join(&node.original_file_path))
        .unwrap_or_else(|| loaded.project.root.join(&node.original_file_path));
    let Ok(text) = std::fs::read_to_string(path) else {
        return node.defined_at.clone();
    };
    let block = Regex::new(&format!(
        r"(?s)\{{%-?\s*snapshot\s+{}\s*-?%\}}(.*?)\{{%-?\s*endsnapshot",
        regex::escape(&node.name)
    ))
    .ok()
    .and_then(|re| re.captures(&text));
    let Some(block) = block else {
        return node.defined_at.clone();
    };
    let (Some(whole), Some(body)) = (block.get(0), block.get(1)) else {
        return node.defined_at.clone();
    };
    let offset = body
        .as_str()
        .find("unique_key")
        .map_or(whole.start(), |i| body.start() + i);
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[..offset].matches('\n').count() as u32 + 1;
    let column = text[line_start..offset].chars().count() as u32 + 1;
    Location::new(node.defined_at.file.clone(), line, column)
}

/// Renders a node's `pre-hook` or `post-hook` list: (inside the transaction, outside it).
fn render_hooks(
    s: &Session<'_>,
    node: &Node,
    key: &str,
) -> Result<(Vec<String>, Vec<String>), Diagnostic> {
    let mut inside = Vec::new();
    let mut outside = Vec::new();
    for (sql, in_txn) in crate::engine::hooks(node, key) {
        let text = s.render(node, &sql)?;
        if !text.trim().is_empty() {
            if in_txn {
                inside.push(text);
            } else {
                outside.push(text);
            }
        }
    }
    Ok((inside, outside))
}

/// Builds or updates one snapshot.
pub fn build(s: &Session<'_>, conn: &mut Connection, node: &Node) -> Result<Outcome, Diagnostic> {
    let at = location(s, node);
    let spec = Spec::of(&node.name, &node.config, &at)?;
    let query = node.compiled_code.clone().unwrap_or_default();
    let (pre_in, pre_out) = render_hooks(s, node, "pre-hook")?;
    let (post_in, post_out) = render_hooks(s, node, "post-hook")?;
    let mut ran = Vec::new();
    for h in &pre_out {
        s.exec(conn, h, node)?;
        ran.push(h.clone());
    }
    let (message, rows) = s.block_on(async {
        let txn = conn.begin().await.map_err(|e| pg(e, node))?;
        for h in &pre_in {
            run(&txn, h.clone(), node, &mut ran).await?;
        }
        let result = apply(&txn, node, &spec, &query, &at, &mut ran).await?;
        for h in &post_in {
            run(&txn, h.clone(), node, &mut ran).await?;
        }
        txn.commit().await.map_err(|e| pg(e, node))?;
        Ok::<_, Diagnostic>(result)
    })?;
    for h in &post_out {
        s.exec(conn, h, node)?;
        ran.push(h.clone());
    }
    Ok(Outcome {
        code: message
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
        message,
        rows,
        executed: Some(ran.join(";\n\n")),
        ..Outcome::default()
    })
}

/// Builds the selected snapshots on the session's threads (`mfb snapshot`).
pub fn snapshot(
    parsed: &mut Parsed,
    selected: &IndexSet<UniqueId>,
    policy: Policy,
    progress: &dyn Progress,
) -> Result<Vec<NodeResult>, Diagnostics> {
    crate::run::run_plan(
        parsed,
        selected,
        |n| n.resource_type == ResourceType::Snapshot,
        policy,
        progress,
    )
}

/// Runs one statement of the snapshot's transaction, remembering it for `target/run/`.
async fn run(
    txn: &Transaction<'_>,
    sql: String,
    node: &Node,
    ran: &mut Vec<String>,
) -> Result<mfb_postgres::ExecResponse, Diagnostic> {
    let response = txn.execute(&sql).await.map_err(|e| pg(e, node))?;
    ran.push(sql);
    Ok(response)
}

/// The snapshot's work inside its transaction; returns (message, rows affected).
async fn apply(
    txn: &Transaction<'_>,
    node: &Node,
    spec: &Spec,
    query: &str,
    at: &Location,
    ran: &mut Vec<String>,
) -> Result<(String, i64), Diagnostic> {
    let target = format!("{}.{}", quote_ident(&node.schema), quote_ident(&node.alias));
    let existing = txn
        .get_relation(&node.schema, &node.alias)
        .await
        .map_err(|e| pg(e, node))?;
    if let Some(info) = &existing
        && info.kind != RelationKind::Table
    {
        return Err(Diagnostic::error(
            "snapshot-not-a-table",
            format!(
                "snapshot `{}`: {target} exists and is a {}, not a snapshot table",
                node.name,
                info.kind.dbt_type()
            ),
        )
        .at(at.clone())
        .with_help(format!(
            "drop {target} or give the snapshot another name (alias) or schema"
        )));
    }
    run(
        txn,
        format!("create temporary table {SOURCE} on commit drop as (\n{query}\n)"),
        node,
        ran,
    )
    .await?;
    check_unique(txn, node, spec, at).await?;
    if existing.is_none() {
        let r = run(txn, create_sql(spec, &target), node, ran).await?;
        return Ok((r.status, r.rows_affected as i64));
    }

    let source = temp_columns(txn, node, SOURCE).await?;
    let table: Vec<Col> = txn
        .columns_in_relation(&node.schema, &node.alias)
        .await
        .map_err(|e| pg(e, node))?
        .into_iter()
        .map(|c| Col {
            name: c.name,
            data_type: c.data_type,
        })
        .collect();
    let names: Vec<String> = table.iter().map(|c| c.name.clone()).collect();
    let m = &spec.meta;
    // Like dbt, a table made before `new_record` was configured is refused rather than
    // migrated: its rows have no dbt_is_deleted to tell deletions apart.
    let new_record = spec.hard_deletes == HardDeletes::NewRecord;
    let missing_meta: Vec<&str> = [&m.scd_id, &m.updated_at, &m.valid_from, &m.valid_to]
        .into_iter()
        .chain(new_record.then_some(&m.is_deleted))
        .filter(|c| !names.contains(c))
        .map(String::as_str)
        .collect();
    if !missing_meta.is_empty() {
        return Err(Diagnostic::error(
            "snapshot-columns-missing",
            format!(
                "snapshot `{}`: {target} has no column {}",
                node.name,
                missing_meta
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .at(at.clone())
        .with_help(if new_record && missing_meta == [m.is_deleted.as_str()] {
            format!(
                "hard_deletes='new_record' needs the column: add it (alter table {target} add column {col} text; update {target} set {col} = 'False') or drop the table to rebuild the snapshot",
                col = quote_ident(&m.is_deleted)
            )
        } else {
            "if the table's meta columns have other names, set snapshot_meta_column_names to them; if the table is not a snapshot, drop it or snapshot into another relation".to_owned()
        }));
    }
    let column_added = match &spec.strategy {
        Strategy::Check {
            cols: CheckCols::All,
            ..
        } => source.iter().any(|c| !names.contains(&c.name)),
        Strategy::Check {
            cols: CheckCols::List(l),
            ..
        } => l.iter().any(|c| !names.contains(c)),
        Strategy::Timestamp { .. } => false,
    };
    // Columns new in the query join the table; varchar columns that grew in the query grow in the table. Whether
    // a checked column is new was decided above, on the table as it was.
    let mut alters = Vec::new();
    for c in &source {
        match table.iter().find(|t| t.name == c.name) {
            None => alters.push(format!(
                "alter table {target} add column {} {}",
                quote_ident(&c.name),
                c.data_type
            )),
            Some(t) if varchar_grew(&t.data_type, &c.data_type) => alters.push(format!(
                "alter table {target} alter column {} type {}",
                quote_ident(&c.name),
                c.data_type
            )),
            Some(_) => {}
        }
    }
    for a in alters {
        run(txn, a, node, ran).await?;
    }
    run(
        txn,
        changes_sql(spec, &target, &source, &names, column_added),
        node,
        ran,
    )
    .await?;
    let mut insert_cols: Vec<String> = source.iter().map(|c| c.name.clone()).collect();
    insert_cols.extend([
        m.updated_at.clone(),
        m.valid_from.clone(),
        m.valid_to.clone(),
        m.scd_id.clone(),
    ]);
    if spec.hard_deletes == HardDeletes::NewRecord {
        insert_cols.push(m.is_deleted.clone());
    }
    let [update, insert] = apply_sql(spec, &target, &insert_cols);
    run(txn, update, node, ran).await?;
    let r = run(txn, insert, node, ran).await?;
    Ok((r.status, r.rows_affected as i64))
}

/// True when `to` is a longer `character varying(n)` than `from`.
fn varchar_grew(from: &str, to: &str) -> bool {
    let len = |t: &str| {
        t.strip_prefix("character varying(")
            .and_then(|r| r.strip_suffix(')'))
            .and_then(|n| n.parse::<u32>().ok())
    };
    matches!((len(from), len(to)), (Some(a), Some(b)) if b > a)
}

/// The columns of a temporary table, in order, with their full types.
async fn temp_columns(
    txn: &Transaction<'_>,
    node: &Node,
    table: &str,
) -> Result<Vec<Col>, Diagnostic> {
    let rows = txn
        .fetch(&format!(
            "select attname::text, format_type(atttypid, atttypmod) from pg_catalog.pg_attribute \
             where attrelid = 'pg_temp.{table}'::regclass and attnum > 0 and not attisdropped order by attnum"
        ))
        .await
        .map_err(|e| pg(e, node))?;
    Ok(rows
        .rows
        .iter()
        .filter_map(|r| {
            Some(Col {
                name: r.first()?.as_text()?,
                data_type: r.get(1)?.as_text()?,
            })
        })
        .collect())
}

/// Fails when two rows of the query share a `unique_key` value: the snapshot would close
/// and duplicate history rows for them, run after run.
async fn check_unique(
    txn: &Transaction<'_>,
    node: &Node,
    spec: &Spec,
    at: &Location,
) -> Result<(), Diagnostic> {
    let parts: Vec<String> = spec.unique_key.iter().map(|k| format!("({k})")).collect();
    let shown = parts
        .iter()
        .map(|p| format!("cast({p} as text)"))
        .collect::<Vec<_>>()
        .join(", ");
    let duplicates = txn
        .fetch(&format!(
            "select {shown}, count(*) from {SOURCE} group by {} having count(*) > 1 order by count(*) desc limit 4",
            parts.join(", ")
        ))
        .await
        .map_err(|e| {
            pg(e, node).with_help(format!(
                "unique_key `{}` must name columns of the snapshot's query",
                spec.key_label()
            ))
        })?;
    let Some(first) = duplicates.rows.first() else {
        return Ok(());
    };
    let value = |row: &[mfb_postgres::Cell]| {
        let parts: Vec<String> = row[..spec.unique_key.len()]
            .iter()
            .map(|c| c.as_text().unwrap_or_else(|| "null".to_owned()))
            .collect();
        match parts.as_slice() {
            [one] => one.clone(),
            many => format!("({})", many.join(", ")),
        }
    };
    let count = first.last().and_then(|c| c.as_text()).unwrap_or_default();
    let mut d = Diagnostic::error(
        "snapshot-unique-key",
        format!(
            "snapshot `{}` ({}): unique_key {} is not unique in the snapshot's query: {} = {} is in {count} rows",
            node.name,
            node.original_file_path,
            spec.key_label(),
            spec.key_label(),
            value(first),
        ),
    )
    .at(at.clone());
    if duplicates.rows.len() > 1 {
        let others: Vec<String> = duplicates.rows[1..]
            .iter()
            .take(2)
            .map(|r| value(r))
            .collect();
        let more = if duplicates.rows.len() > 3 {
            ", and more"
        } else {
            ""
        };
        d = d.with_note(format!("also duplicated: {}{more}", others.join(", ")));
    }
    Err(d.with_note("nothing was written: the snapshot table is as it was").with_help(
        "make unique_key identify one row of the query: add columns to it (unique_key=['id', 'other_column']), or remove the duplicates in the query (e.g. keep the latest row per key with row_number())",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(config: Value) -> Result<Spec, Diagnostic> {
        let config: NodeConfig = config
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Spec::of("s", &config, &Location::file("snapshots/s.sql"))
    }

    #[test]
    fn reads_strategies_and_defaults() {
        let s = spec(
            serde_json::json!({"unique_key": "id", "strategy": "timestamp", "updated_at": "u"}),
        )
        .unwrap();
        assert_eq!(s.hard_deletes, HardDeletes::Ignore);
        assert_eq!(s.meta.valid_to, "dbt_valid_to");
        assert_eq!(
            s.scd_id(),
            "md5(coalesce(cast(id as varchar), '') || '|' || coalesce(cast(u as varchar), ''))"
        );
        let s = spec(serde_json::json!({"unique_key": ["a", "b"], "strategy": "check", "check_cols": "all", "invalidate_hard_deletes": true, "snapshot_meta_column_names": {"dbt_valid_to": "vt", "dbt_scd_id": null}})).unwrap();
        assert_eq!(s.hard_deletes, HardDeletes::Invalidate);
        assert_eq!(s.meta.valid_to, "vt");
        assert_eq!(s.meta.scd_id, "dbt_scd_id");
        assert_eq!(s.updated_at(), NOW);
        assert_eq!(s.key_label(), "(a, b)");
    }

    #[test]
    fn refuses_incomplete_configs() {
        for (config, expected) in [
            (
                serde_json::json!({"strategy": "timestamp", "updated_at": "u"}),
                "no `unique_key`",
            ),
            (serde_json::json!({"unique_key": "id"}), "no `strategy`"),
            (
                serde_json::json!({"unique_key": "id", "strategy": "timestamp"}),
                "needs `updated_at`",
            ),
            (
                serde_json::json!({"unique_key": "id", "strategy": "check"}),
                "needs `check_cols`",
            ),
            (
                serde_json::json!({"unique_key": "id", "strategy": "check", "check_cols": "all", "hard_deletes": "drop"}),
                "unknown hard_deletes",
            ),
            (
                serde_json::json!({"unique_key": "id", "strategy": "check", "check_cols": "all", "hard_deletes": "ignore", "invalidate_hard_deletes": false}),
                "both `invalidate_hard_deletes` and `hard_deletes`",
            ),
        ] {
            let d = spec(config).unwrap_err();
            assert!(d.message.contains(expected), "{}", d.message);
        }
    }

    #[test]
    fn varchar_growth() {
        assert!(varchar_grew(
            "character varying(10)",
            "character varying(20)"
        ));
        assert!(!varchar_grew(
            "character varying(20)",
            "character varying(10)"
        ));
        assert!(!varchar_grew("text", "character varying(10)"));
    }
}
