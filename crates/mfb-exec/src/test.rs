//! `mfb test`: one data test run against the live database, the way dbt's test
//! materialization runs it.
//!
//! A test's compiled code selects the rows that fail it. [`run`] wraps it as
//! `select <fail_calc> as failures, <fail_calc> <warn_if> as should_warn, <fail_calc>
//! <error_if> as should_error from (<compiled code> [limit N]) dbt_internal_test` and
//! turns that one row into a status: `severity: error` fails when `should_error`, else
//! warns when `should_warn`, else passes; `severity: warn` only ever warns. A failure or
//! warning carries a diagnostic naming the test's definition, dbt's `Got N results,
//! configured to fail if != 0`, the compiled file and up to five failing rows.
//!
//! With `store_failures` (or `store_failures_as: table|view`, or `--store-failures` when
//! the test sets neither) the failing rows first replace the audit relation
//! `<schema>.<alias>` (by default `<target schema>_dbt_test__audit.<test name>`) and the
//! count is taken from it, all in one transaction: a test whose SQL breaks leaves the
//! previous audit relation as it was. A test whose SQL fails in PostgreSQL is an error
//! naming the file and line that define the test and what PostgreSQL said.
//!
//! Everything test-specific lives here: `mfb test` and `mfb build` both call [`run`] per
//! node through the [session](crate::engine::Session).

use std::collections::HashSet;
use std::sync::Mutex;

use indexmap::IndexSet;
use mfb_diagnostics::{Diagnostic, IntoDiagnostic};
use mfb_graph::{Node, ResourceType, UniqueId};
use mfb_postgres::{Cell, Connection, PgError, RelationKind, Table, quote_ident};
use serde_json::Value;

use crate::engine::{Outcome, Session};
use crate::results::{NodeResult, Status};
use crate::schedule::{Policy, Progress};
use crate::{Diagnostics, Parsed};

/// How many failing rows a failure or warning shows.
const SAMPLE_ROWS: usize = 5;
/// The widest a cell of that sample is shown.
const CELL_WIDTH: usize = 40;

/// Where a test's failing rows are kept (`store_failures_as`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreAs {
    Table,
    View,
}

/// A data test's run-time config, with dbt's defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestConfig {
    /// `severity: warn`: the test can warn but never fail.
    pub warn_only: bool,
    /// `fail_calc` (default `count(*)`).
    pub fail_calc: String,
    /// `warn_if` (default `!= 0`).
    pub warn_if: String,
    /// `error_if` (default `!= 0`).
    pub error_if: String,
    /// `limit`: at most this many failing rows are counted.
    pub limit: Option<i64>,
    /// Whether and how the failing rows are stored.
    pub store: Option<StoreAs>,
}

impl TestConfig {
    /// Reads `node.config`; `store_failures_flag` is `--store-failures`, which applies
    /// only to tests that set neither `store_failures` nor `store_failures_as` (as in dbt).
    pub fn of(node: &Node, store_failures_flag: bool) -> Result<TestConfig, Diagnostic> {
        let config = &node.config;
        let text = |key: &str, default: &str| -> Result<String, Diagnostic> {
            match config.get(key) {
                None | Some(Value::Null) => Ok(default.to_owned()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                Some(other) => Err(config_error(
                    node,
                    format!("`{key}` must be a string, not {other}"),
                )),
            }
        };
        let severity = text("severity", "error")?;
        let warn_only = match severity.to_ascii_lowercase().as_str() {
            "warn" => true,
            "error" => false,
            _ => {
                return Err(config_error(
                    node,
                    format!("`severity` is `{severity}`; it must be `warn` or `error`"),
                ));
            }
        };
        let limit = match config.get("limit") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
            Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => s.trim().parse().ok(),
            Some(other) => {
                return Err(config_error(
                    node,
                    format!("`limit` must be a whole number, not {other}"),
                ));
            }
        };
        let store_as = match config.get("store_failures_as") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "table" => Some(Some(StoreAs::Table)),
                "view" => Some(Some(StoreAs::View)),
                "ephemeral" => Some(None),
                _ => {
                    return Err(config_error(
                        node,
                        format!(
                            "`store_failures_as` is `{s}`; it must be table, view or ephemeral"
                        ),
                    ));
                }
            },
            Some(other) => {
                return Err(config_error(
                    node,
                    format!("`store_failures_as` must be table, view or ephemeral, not {other}"),
                ));
            }
        };
        let store = match store_as {
            Some(decided) => decided,
            None => match config.get("store_failures").and_then(Value::as_bool) {
                Some(true) => Some(StoreAs::Table),
                Some(false) => None,
                None => store_failures_flag.then_some(StoreAs::Table),
            },
        };
        Ok(TestConfig {
            warn_only,
            fail_calc: text("fail_calc", "count(*)")?,
            warn_if: text("warn_if", "!= 0")?,
            error_if: text("error_if", "!= 0")?,
            limit,
            store,
        })
    }

    /// The query that counts failures over `main` (the failing rows).
    pub fn wrap(&self, main: &str) -> String {
        let limit = self
            .limit
            .map(|n| format!("\n  limit {n}"))
            .unwrap_or_default();
        let calc = &self.fail_calc;
        format!(
            "select\n  {calc} as failures,\n  {calc} {} as should_warn,\n  {calc} {} as should_error\nfrom (\n{main}{limit}\n) dbt_internal_test",
            self.warn_if, self.error_if
        )
    }
}

fn config_error(node: &Node, message: String) -> Diagnostic {
    Diagnostic::error("test-config", format!("test {}: {message}", node.name))
        .at(node.defined_at.clone())
        .with_help(
            "fix the test's config (see https://docs.getdbt.com/reference/data-test-configs)",
        )
}

/// The one row of the wrapped query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counted {
    failures: i64,
    should_warn: bool,
    should_error: bool,
}

/// The status a test ends with, dbt's way.
fn status_of(config: &TestConfig, c: Counted) -> Status {
    if !config.warn_only && c.should_error {
        Status::Fail
    } else if c.should_warn {
        Status::Warn
    } else {
        Status::Pass
    }
}

/// dbt's run_results message for a failed or warning test.
fn message_of(config: &TestConfig, status: Status, failures: i64) -> String {
    let (verb, threshold) = match status {
        Status::Fail => ("fail", &config.error_if),
        _ => ("warn", &config.warn_if),
    };
    let noun = if failures == 1 { "result" } else { "results" };
    format!("Got {failures} {noun}, configured to {verb} if {threshold}")
}

/// Runs one data test on `conn`.
pub fn run(s: &Session<'_>, conn: &mut Connection, node: &Node) -> Result<Outcome, Diagnostic> {
    let config = TestConfig::of(node, s.parsed.loaded.settings.store_failures)?;
    let sql = node.compiled_code.clone().ok_or_else(|| {
        Diagnostic::error(
            "test-not-compiled",
            format!("{} was not compiled before it ran", node.unique_id),
        )
        .with_help("report this as a bug in mfb")
    })?;
    let audit = format!("{}.{}", quote_ident(&node.schema), quote_ident(&node.alias));
    let mut ran: Vec<String> = Vec::new();
    let checked = match config.store {
        None => {
            let wrapped = config.wrap(&sql);
            ran.push(wrapped.clone());
            s.block_on(async {
                let table = conn
                    .fetch(&wrapped)
                    .await
                    .map_err(|e| Ok((e, wrapped.clone())))?;
                let counted = counted(node, &table).map_err(Err)?;
                let sample = if status_of(&config, counted) == Status::Pass {
                    None
                } else {
                    let q =
                        format!("select * from (\n{sql}\n) dbt_internal_test limit {SAMPLE_ROWS}");
                    Some(conn.fetch(&q).await.map_err(|e| Ok((e, q.clone())))?)
                };
                Ok::<_, StepError>((counted, sample))
            })
        }
        Some(kind) => {
            ensure_schema(s, conn, node)?;
            s.block_on(store_and_count(
                conn, node, &config, kind, &sql, &audit, &mut ran,
            ))
        }
    };
    let (counted, sample) = match checked {
        Ok(done) => done,
        Err(Ok((e, statement))) => {
            if !statement.is_empty() {
                let run_file = crate::compile::compiled_path(&s.run_dir, node);
                let _ = crate::compile::write_file(&run_file, &statement);
            }
            return Err(sql_error(s, node, e, &statement));
        }
        Err(Err(d)) => return Err(d),
    };
    let status = status_of(&config, counted);
    let mut outcome = Outcome {
        status: Some(status),
        code: "SELECT".to_owned(),
        rows: 1,
        failures: Some(if status == Status::Pass {
            0
        } else {
            counted.failures
        }),
        executed: Some(ran.join(";\n\n")),
        relation_name: stored_relation(node, &config, s.parsed.loaded.settings.store_failures),
        ..Outcome::default()
    };
    if status != Status::Pass {
        outcome.message = message_of(&config, status, counted.failures);
        outcome.warning = Some(failure_diagnostic(
            s,
            node,
            status,
            &outcome.message,
            config.store.map(|_| &audit),
            sample.as_ref(),
        ));
    }
    Ok(outcome)
}

/// The audit relation run_results.json names: set, as in dbt, when the test's config or
/// `--store-failures` asks to store failures (even if `store_failures_as: ephemeral`
/// then keeps them from being stored).
fn stored_relation(node: &Node, config: &TestConfig, flag: bool) -> Option<String> {
    let asked = flag
        || config.store.is_some()
        || node.config.get("store_failures").and_then(Value::as_bool) == Some(true);
    asked.then(|| {
        format!(
            "{}.{}.{}",
            quote_ident(&node.database),
            quote_ident(&node.schema),
            quote_ident(&node.alias)
        )
    })
}

/// An error while running a statement: PostgreSQL's (with the statement) or ours.
type StepError = Result<(PgError, String), Diagnostic>;

/// Replaces the audit relation with the failing rows and counts them, in one transaction.
async fn store_and_count(
    conn: &mut Connection,
    node: &Node,
    config: &TestConfig,
    kind: StoreAs,
    sql: &str,
    audit: &str,
    ran: &mut Vec<String>,
) -> Result<(Counted, Option<Table>), StepError> {
    let pg = |e: PgError, statement: &str| Ok((e, statement.to_owned()));
    let txn = conn.begin().await.map_err(|e| pg(e, ""))?;
    if let Some(old) = txn
        .get_relation(&node.schema, &node.alias)
        .await
        .map_err(|e| pg(e, ""))?
    {
        let what = match old.kind {
            RelationKind::View => "view",
            RelationKind::MaterializedView => "materialized view",
            RelationKind::Foreign => "foreign table",
            _ => "table",
        };
        let drop = format!("drop {what} if exists {audit} cascade");
        txn.execute(&drop).await.map_err(|e| pg(e, &drop))?;
        ran.push(drop);
    }
    let what = match kind {
        StoreAs::Table => "table",
        StoreAs::View => "view",
    };
    let create = format!("create {what} {audit} as (\n{sql}\n)");
    txn.execute(&create).await.map_err(|e| pg(e, &create))?;
    ran.push(create);
    let stored = format!("select * from {audit}");
    let wrapped = config.wrap(&stored);
    let table = txn.fetch(&wrapped).await.map_err(|e| pg(e, &wrapped))?;
    ran.push(wrapped);
    let counted = counted(node, &table).map_err(Err)?;
    let sample = if status_of(config, counted) == Status::Pass {
        None
    } else {
        let q = format!("{stored} limit {SAMPLE_ROWS}");
        Some(txn.fetch(&q).await.map_err(|e| pg(e, &q))?)
    };
    txn.commit().await.map_err(|e| pg(e, ""))?;
    Ok((counted, sample))
}

/// Creates the audit schema once per process. Concurrent `create schema if not exists`
/// of one name can collide in PostgreSQL's catalog, so this runs under a lock.
fn ensure_schema(s: &Session<'_>, conn: &Connection, node: &Node) -> Result<(), Diagnostic> {
    static CREATED: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut created = CREATED.lock().unwrap_or_else(|e| e.into_inner());
    let created = created.get_or_insert_with(HashSet::new);
    let key = format!("{}.{}", node.database, node.schema);
    if created.contains(&key) {
        return Ok(());
    }
    s.exec(
        conn,
        &format!("create schema if not exists {}", quote_ident(&node.schema)),
        node,
    )?;
    created.insert(key);
    Ok(())
}

/// Reads the wrapped query's single row.
fn counted(node: &Node, table: &Table) -> Result<Counted, Diagnostic> {
    let bad = |what: String| {
        Diagnostic::error("test-result", format!("test {}: {what}", node.name))
            .at(node.defined_at.clone())
            .with_help("`fail_calc` must be an aggregate that returns one whole number, like `count(*)` or `sum(n_records)`")
    };
    if table.rows.len() != 1 {
        return Err(bad(format!(
            "the failure count query returned {} rows, expected 1",
            table.rows.len()
        )));
    }
    let cell = |name: &str| {
        table
            .column_index(name)
            .map(|i| &table.rows[0][i])
            .unwrap_or(&Cell::Null)
    };
    let failures = match cell("failures") {
        Cell::Int(n) => *n,
        Cell::Float(f) if f.is_finite() => f.trunc() as i64,
        Cell::Decimal(t) | Cell::Text(t) => match t.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => f.trunc() as i64,
            _ => return Err(bad(format!("`fail_calc` returned `{t}`, not a number"))),
        },
        Cell::Null => return Err(bad("`fail_calc` returned NULL, not a number".to_owned())),
        other => {
            return Err(bad(format!(
                "`fail_calc` returned `{}`, not a number",
                other.as_text().unwrap_or_default()
            )));
        }
    };
    Ok(Counted {
        failures,
        should_warn: matches!(cell("should_warn"), Cell::Bool(true)),
        should_error: matches!(cell("should_error"), Cell::Bool(true)),
    })
}

/// The text of the file that defines `node` (for the source line of a diagnostic).
fn definition_source(s: &Session<'_>, node: &Node) -> Option<String> {
    let project = &s.parsed.loaded.project;
    let root = project
        .package(&node.package_name)
        .map(|p| p.root.clone())
        .unwrap_or_else(|| project.root.clone());
    std::fs::read_to_string(root.join(&node.defined_at.file)).ok()
}

/// `node.defined_at` with its source line, when the file can be read.
fn locate(s: &Session<'_>, node: &Node, d: Diagnostic) -> Diagnostic {
    match definition_source(s, node) {
        Some(text) => d.at_in(node.defined_at.clone(), &text),
        None => d.at(node.defined_at.clone()),
    }
}

/// A path under `target/` as the user sees it: relative to the project when inside it.
fn shown_path(s: &Session<'_>, path: &std::path::Path) -> String {
    path.strip_prefix(&s.parsed.loaded.project.root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The diagnostic of a failed or warning test: dbt's words, where the test is defined,
/// the compiled file, the audit relation and the first failing rows.
fn failure_diagnostic(
    s: &Session<'_>,
    node: &Node,
    status: Status,
    message: &str,
    audit: Option<&String>,
    sample: Option<&Table>,
) -> Diagnostic {
    let head = format!("in test {} ({})", node.name, node.original_file_path);
    let d = if status == Status::Fail {
        Diagnostic::error("test-failed", format!("Failure {head}"))
    } else {
        Diagnostic::warning("test-warned", format!("Warning {head}"))
    };
    let compiled =
        crate::compile::compiled_path(&crate::compile::target_dir(s.parsed).join("compiled"), node);
    let mut d = locate(s, node, d)
        .with_note(message.to_owned())
        .with_note(format!("compiled code at {}", shown_path(s, &compiled)));
    if let Some(audit) = audit {
        d = d.with_note(format!(
            "see test failures: select * from {}.{audit}",
            quote_ident(&node.database)
        ));
    }
    if let Some(table) = sample.filter(|t| !t.columns.is_empty()) {
        let title = if table.rows.len() < SAMPLE_ROWS {
            "failing rows:".to_owned()
        } else {
            format!("first {SAMPLE_ROWS} failing rows:")
        };
        d = d.with_note(format!("{title}\n{}", render_rows(table)));
    }
    d.with_help(if status == Status::Fail {
        "fix the rows above (the compiled code selects all of them), or the test; `severity: warn` or `error_if` let the run go on"
    } else {
        "fix the rows above (the compiled code selects all of them), or the test's `warn_if`"
    })
}

/// A small psql-like table of `table`, each line indented to sit under a note.
fn render_rows(table: &Table) -> String {
    let show = |c: &Cell| {
        let text = c.as_text().unwrap_or_else(|| "null".to_owned());
        if text.chars().count() > CELL_WIDTH {
            let cut: String = text.chars().take(CELL_WIDTH - 1).collect();
            format!("{cut}…")
        } else {
            text
        }
    };
    let cells: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| r.iter().map(show).collect())
        .collect();
    let widths: Vec<usize> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([c.name.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: Vec<&str>| {
        values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!(" {v:<w$} "))
            .collect::<Vec<_>>()
            .join("|")
            .trim_end()
            .to_owned()
    };
    let indent = " ".repeat(11);
    let mut out = vec![line(
        table.columns.iter().map(|c| c.name.as_str()).collect(),
    )];
    out.push(
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("+"),
    );
    for r in &cells {
        out.push(line(r.iter().map(String::as_str).collect()));
    }
    out.iter()
        .map(|l| format!("{indent}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A PostgreSQL error in a test's SQL: names the test's definition (file and line) and
/// what PostgreSQL said, and where in the statement (written to `target/run/`).
fn sql_error(s: &Session<'_>, node: &Node, e: PgError, statement: &str) -> Diagnostic {
    let (said, at_line, undefined_column) = match &e {
        PgError::Statement(st) => (
            st.message.clone(),
            st.line_column(statement),
            st.sqlstate == "42703",
        ),
        other => (other.to_string(), None, false),
    };
    let mut d = e.into_diagnostic();
    d.message = format!(
        "Database Error in test {} ({}): {said}",
        node.name, node.original_file_path
    );
    d = locate(s, node, d);
    let run_file = shown_path(s, &crate::compile::compiled_path(&s.run_dir, node));
    let whereabouts = match at_line {
        Some((line, column)) => {
            let text = statement
                .lines()
                .nth(line as usize - 1)
                .unwrap_or_default()
                .trim();
            Some(format!("at {run_file}:{line}:{column}: {text}"))
        }
        None if !statement.is_empty() => Some(format!("the statement is in {run_file}")),
        None => None,
    };
    if let Some(note) = whereabouts {
        d.notes.insert(0, note);
    }
    if undefined_column {
        d = d.with_help(format!(
            "the test names a column that {} does not have: fix the test where it is defined, or add the column",
            node.attached_node
                .as_deref()
                .and_then(|id| id.rsplit('.').next())
                .unwrap_or("the tested relation")
        ));
    }
    d
}

/// Runs the selected data tests on the session's threads (`mfb test`).
pub fn test(
    parsed: &mut Parsed,
    selected: &IndexSet<UniqueId>,
    policy: Policy,
    progress: &dyn Progress,
) -> Result<Vec<NodeResult>, Diagnostics> {
    crate::run::run_plan(
        parsed,
        selected,
        |n| matches!(n.resource_type, ResourceType::Test | ResourceType::UnitTest),
        policy,
        progress,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(warn_only: bool, warn_if: &str, error_if: &str) -> TestConfig {
        TestConfig {
            warn_only,
            fail_calc: "count(*)".into(),
            warn_if: warn_if.into(),
            error_if: error_if.into(),
            limit: None,
            store: None,
        }
    }

    fn counted(failures: i64, should_warn: bool, should_error: bool) -> Counted {
        Counted {
            failures,
            should_warn,
            should_error,
        }
    }

    #[test]
    fn severity_and_thresholds_pick_the_status() {
        let error = config(false, "!= 0", "!= 0");
        assert_eq!(status_of(&error, counted(0, false, false)), Status::Pass);
        assert_eq!(status_of(&error, counted(3, true, true)), Status::Fail);
        assert_eq!(status_of(&error, counted(3, true, false)), Status::Warn);
        let warn = config(true, "!= 0", "!= 0");
        assert_eq!(status_of(&warn, counted(3, true, true)), Status::Warn);
        assert_eq!(status_of(&warn, counted(3, false, true)), Status::Pass);
    }

    #[test]
    fn messages_name_the_threshold_that_was_crossed() {
        let c = config(false, ">0", ">10");
        assert_eq!(
            message_of(&c, Status::Warn, 1),
            "Got 1 result, configured to warn if >0"
        );
        assert_eq!(
            message_of(&c, Status::Fail, 12),
            "Got 12 results, configured to fail if >10"
        );
    }

    #[test]
    fn wrap_applies_fail_calc_thresholds_and_limit() {
        let mut c = config(false, ">5", "!= 0");
        c.fail_calc = "sum(n)".into();
        c.limit = Some(3);
        assert_eq!(
            c.wrap("select 1 as n"),
            "select\n  sum(n) as failures,\n  sum(n) >5 as should_warn,\n  sum(n) != 0 as should_error\nfrom (\nselect 1 as n\n  limit 3\n) dbt_internal_test"
        );
    }

    #[test]
    fn rows_render_as_a_small_table() {
        let table = Table {
            columns: vec![
                mfb_postgres::Column {
                    name: "id".into(),
                    type_name: "int4".into(),
                },
                mfb_postgres::Column {
                    name: "name".into(),
                    type_name: "text".into(),
                },
            ],
            rows: vec![
                vec![Cell::Int(3), Cell::Null],
                vec![Cell::Int(12), Cell::Text("ann".into())],
            ],
        };
        let expected = [
            "            id | name",
            "           ----+------",
            "            3  | null",
            "            12 | ann",
        ]
        .join("\n");
        assert_eq!(render_rows(&table), expected);
    }
}
