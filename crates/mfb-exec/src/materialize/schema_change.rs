//! An incremental model's `on_schema_change`: what to do when the new rows' columns differ
//! from the existing table's.
//!
//! - `ignore` (the default): nothing; rows are inserted into the table's columns, so a
//!   column the query no longer has fails the insert (as in dbt).
//! - `fail`: stop with dbt's "out of sync" message before anything changed.
//! - `append_new_columns`: add the query's new columns; keep the others (filled with null).
//! - `sync_all_columns`: add new columns, drop the ones the query lost, and change types
//!   the way dbt-postgres does (a new column filled by an assignment cast, the old one
//!   dropped and the new one renamed, so it moves to the end of the table).
//!
//! Independently of the setting, string columns grow to the query's longer
//! `character varying(n)` first, as dbt's `expand_target_column_types` does. Everything
//! runs inside the incremental transaction.

use mfb_diagnostics::{Diagnostic, Location};
use mfb_graph::Node;
use mfb_postgres::{ColumnInfo, quote_ident};
use serde_json::Value;

/// The `on_schema_change` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnSchemaChange {
    Ignore,
    Fail,
    AppendNewColumns,
    SyncAllColumns,
}

impl OnSchemaChange {
    /// The node's setting; an unknown value is `ignore` plus a warning, as in dbt.
    pub fn configured(node: &Node) -> (OnSchemaChange, Option<Diagnostic>) {
        match node.config.get("on_schema_change").and_then(Value::as_str) {
            None | Some("ignore") => (OnSchemaChange::Ignore, None),
            Some("fail") => (OnSchemaChange::Fail, None),
            Some("append_new_columns") => (OnSchemaChange::AppendNewColumns, None),
            Some("sync_all_columns") => (OnSchemaChange::SyncAllColumns, None),
            Some(other) => (
                OnSchemaChange::Ignore,
                Some(
                    Diagnostic::warning(
                        "on-schema-change-invalid",
                        format!(
                            "invalid value for on_schema_change ({other}) on {}; using `ignore`",
                            node.unique_id
                        ),
                    )
                    .at(node.defined_at.clone())
                    .with_help("use ignore, fail, append_new_columns or sync_all_columns"),
                ),
            ),
        }
    }
}

/// What changes bring `target` (an existing table) in line with `source` (the new rows),
/// and the columns to insert afterwards.
#[derive(Debug, Default)]
pub struct SchemaSync {
    /// DDL to run on the target, in order.
    pub statements: Vec<String>,
    /// The columns to insert (and merge) by name.
    pub columns: Vec<String>,
}

fn varchar_size(data_type: &str) -> Option<u32> {
    data_type
        .strip_prefix("character varying(")?
        .strip_suffix(')')?
        .parse()
        .ok()
}

/// Plans the schema changes of one incremental run of `node` into `relation` (quoted,
/// qualified). Fails for `fail` when the columns differ.
pub fn plan(
    node: (&str, &Location),
    setting: OnSchemaChange,
    relation: &str,
    source: &[ColumnInfo],
    target: &[ColumnInfo],
) -> Result<SchemaSync, Diagnostic> {
    let mut out = SchemaSync::default();
    let mut target: Vec<ColumnInfo> = target.to_vec();
    for t in target.iter_mut() {
        let wider = source
            .iter()
            .find(|s| s.name == t.name)
            .and_then(|s| Some((varchar_size(&s.data_type)?, &s.data_type)))
            .filter(|(size, _)| varchar_size(&t.data_type).is_some_and(|old| *size > old));
        if let Some((_, data_type)) = wider {
            out.statements.push(format!(
                "alter table {relation} alter column {} type {data_type}",
                quote_ident(&t.name)
            ));
            t.data_type = data_type.clone();
        }
    }
    let in_target = |name: &str| target.iter().find(|t| t.name == name);
    let added: Vec<&ColumnInfo> = source
        .iter()
        .filter(|s| in_target(&s.name).is_none())
        .collect();
    let removed: Vec<&ColumnInfo> = target
        .iter()
        .filter(|t| !source.iter().any(|s| s.name == t.name))
        .collect();
    let retyped: Vec<&ColumnInfo> = source
        .iter()
        .filter(|s| in_target(&s.name).is_some_and(|t| t.data_type != s.data_type))
        .collect();
    let changed = !added.is_empty() || !removed.is_empty() || !retyped.is_empty();
    let names = |cs: &[&ColumnInfo]| {
        let listed: Vec<String> = cs
            .iter()
            .map(|c| format!("{} ({})", c.name, c.data_type))
            .collect();
        format!("[{}]", listed.join(", "))
    };
    match setting {
        OnSchemaChange::Ignore => {
            out.columns = target.iter().map(|t| t.name.clone()).collect();
            return Ok(out);
        }
        OnSchemaChange::Fail if changed => {
            return Err(Diagnostic::error(
                "schema-out-of-sync",
                format!(
                    "the source and target schemas of incremental model {} are out of sync",
                    node.0
                ),
            )
            .at(node.1.clone())
            .with_note(format!(
                "Source columns not in target: {}\nTarget columns not in source: {}\nNew column types: {}",
                names(&added),
                names(&removed),
                names(&retyped)
            ))
            .with_help(
                "set `on_schema_change` to append_new_columns or sync_all_columns, re-run with --full-refresh, or change the table by hand; nothing was changed",
            ));
        }
        OnSchemaChange::Fail => {}
        OnSchemaChange::AppendNewColumns | OnSchemaChange::SyncAllColumns => {
            let sync = setting == OnSchemaChange::SyncAllColumns;
            let mut alters: Vec<String> = added
                .iter()
                .map(|c| format!("add column {} {}", quote_ident(&c.name), c.data_type))
                .collect();
            if sync {
                alters.extend(
                    removed
                        .iter()
                        .map(|c| format!("drop column {}", quote_ident(&c.name))),
                );
            }
            if !alters.is_empty() {
                out.statements
                    .push(format!("alter table {relation} {}", alters.join(", ")));
            }
            if sync {
                for c in &retyped {
                    let column = quote_ident(&c.name);
                    let tmp = quote_ident(&format!("{}__dbt_alter", c.name));
                    out.statements.extend([
                        format!("alter table {relation} add column {tmp} {}", c.data_type),
                        format!("update {relation} set {tmp} = {column}"),
                        format!("alter table {relation} drop column {column} cascade"),
                        format!("alter table {relation} rename column {tmp} to {column}"),
                    ]);
                }
            }
        }
    }
    out.columns = source.iter().map(|s| s.name.clone()).collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(spec: &[(&str, &str)]) -> Vec<ColumnInfo> {
        spec.iter()
            .enumerate()
            .map(|(i, (n, t))| ColumnInfo {
                name: n.to_string(),
                data_type: t.to_string(),
                position: i as u32 + 1,
            })
            .collect()
    }

    fn node() -> (&'static str, &'static Location) {
        static AT: std::sync::LazyLock<Location> =
            std::sync::LazyLock::new(|| Location::file("models/m.sql"));
        ("model.p.m", &AT)
    }

    #[test]
    fn sync_adds_drops_and_retypes() {
        let source = cols(&[("id", "integer"), ("name", "integer"), ("new", "text")]);
        let target = cols(&[("id", "integer"), ("name", "text"), ("old", "integer")]);
        let s = plan(
            node(),
            OnSchemaChange::SyncAllColumns,
            "t",
            &source,
            &target,
        )
        .unwrap();
        assert_eq!(
            s.statements,
            vec![
                "alter table t add column \"new\" text, drop column \"old\"",
                "alter table t add column \"name__dbt_alter\" integer",
                "update t set \"name__dbt_alter\" = \"name\"",
                "alter table t drop column \"name\" cascade",
                "alter table t rename column \"name__dbt_alter\" to \"name\"",
            ]
        );
        assert_eq!(s.columns, vec!["id", "name", "new"]);
    }

    #[test]
    fn append_keeps_old_columns_and_ignore_uses_the_target() {
        let source = cols(&[("id", "integer"), ("new", "text")]);
        let target = cols(&[("id", "integer"), ("old", "integer")]);
        let s = plan(
            node(),
            OnSchemaChange::AppendNewColumns,
            "t",
            &source,
            &target,
        )
        .unwrap();
        assert_eq!(s.statements, vec!["alter table t add column \"new\" text"]);
        assert_eq!(s.columns, vec!["id", "new"]);
        let s = plan(node(), OnSchemaChange::Ignore, "t", &source, &target).unwrap();
        assert!(s.statements.is_empty());
        assert_eq!(s.columns, vec!["id", "old"]);
    }

    #[test]
    fn fail_names_the_differences_and_varchars_grow() {
        let source = cols(&[("id", "integer"), ("v", "character varying(10)")]);
        let target = cols(&[("id", "integer"), ("v", "character varying(3)")]);
        let s = plan(node(), OnSchemaChange::Fail, "t", &source, &target).unwrap();
        assert_eq!(
            s.statements,
            vec!["alter table t alter column \"v\" type character varying(10)"]
        );
        let source = cols(&[("id", "bigint")]);
        let err = plan(node(), OnSchemaChange::Fail, "t", &source, &target).unwrap_err();
        assert!(
            err.notes[0].contains("New column types: [id (bigint)]"),
            "{err:?}"
        );
        assert!(
            err.notes[0].contains("Target columns not in source: [v ("),
            "{err:?}"
        );
    }
}
