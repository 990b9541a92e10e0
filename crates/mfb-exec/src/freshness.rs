//! `source freshness`: how long ago each source table was last loaded, against its
//! `warn_after` / `error_after` criteria, and `target/sources.json` in dbt's v3 shape.
//!
//! Criteria merge key by key from the least to the most specific place they are written:
//! the project's and the source's `config:`, the source's `freshness:`, then the table's
//! `config:` and `freshness:` (a `null` there switches freshness off for that table; a
//! threshold without a count does not override). A table is checked when it ends up with
//! a `warn_after` or `error_after`. The load time comes from `max(loaded_at_field)` (with
//! the criteria's `filter`) or from `loaded_at_query`, next to the server's `now()`;
//! timestamps without a time zone are taken as UTC, as dbt does. A failing query is a
//! runtime error for that table only. Nothing here prints.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use mfb_diagnostics::{Diagnostic, IntoDiagnostic, Location};
use mfb_graph::{SourceNode, UniqueId};
use mfb_jinja::NodeScope;
use mfb_postgres::Cell;
use serde_json::{Map, Value, json};

use crate::Parsed;
use crate::engine::{Session, Worker};
use crate::results::now;

/// A `warn_after` / `error_after` threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Threshold {
    pub count: i64,
    /// `minute`, `hour` or `day`.
    pub period: String,
}

impl Threshold {
    fn seconds(&self) -> f64 {
        let unit = match self.period.as_str() {
            "minute" => 60.0,
            "hour" => 3600.0,
            _ => 86400.0,
        };
        self.count as f64 * unit
    }

    fn describe(&self) -> String {
        let s = if self.count == 1 { "" } else { "s" };
        format!("{} {}{s}", self.count, self.period)
    }
}

/// The resolved freshness criteria of one source table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Criteria {
    pub warn_after: Option<Threshold>,
    pub error_after: Option<Threshold>,
    pub filter: Option<String>,
}

impl Criteria {
    /// `criteria` as sources.json writes it.
    pub fn to_json(&self) -> Value {
        let t = |t: &Option<Threshold>| match t {
            Some(t) => json!({"count": t.count, "period": t.period}),
            None => json!({"count": null, "period": null}),
        };
        json!({
            "warn_after": t(&self.warn_after),
            "error_after": t(&self.error_after),
            "filter": self.filter,
        })
    }
}

/// Where a table's load time comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadedAt {
    Field(String),
    Query(String),
}

/// A source table to check.
#[derive(Debug, Clone)]
pub struct Check<'a> {
    pub source: &'a SourceNode,
    pub criteria: Criteria,
    pub loaded_at: Option<LoadedAt>,
}

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreshnessStatus {
    Pass,
    Warn,
    /// Older than `error_after`.
    Error,
    /// The query failed, or there is nothing to query.
    RuntimeError,
}

impl FreshnessStatus {
    /// dbt's word in sources.json.
    pub fn as_str(self) -> &'static str {
        match self {
            FreshnessStatus::Pass => "pass",
            FreshnessStatus::Warn => "warn",
            FreshnessStatus::Error => "error",
            FreshnessStatus::RuntimeError => "runtime error",
        }
    }
}

/// The result of one check.
#[derive(Debug, Clone)]
pub struct FreshnessResult {
    pub unique_id: UniqueId,
    pub status: FreshnessStatus,
    pub max_loaded_at: Option<DateTime<Utc>>,
    pub snapshotted_at: Option<DateTime<Utc>>,
    pub age_seconds: f64,
    pub criteria: Criteria,
    pub started_at: String,
    pub completed_at: String,
    pub execution_time: f64,
    pub thread_id: String,
    /// Why it is stale or could not be checked.
    pub diagnostic: Option<Diagnostic>,
}

/// Told about each check as it starts and ends (the CLI prints progress lines).
pub trait FreshnessProgress: Sync {
    fn start(&self, index: usize, total: usize, source: &SourceNode);
    fn done(&self, index: usize, total: usize, source: &SourceNode, result: &FreshnessResult);
}

fn threshold(v: Option<&Value>) -> Option<Threshold> {
    let v = v?.as_object()?;
    Some(Threshold {
        count: v.get("count")?.as_i64()?,
        period: v.get("period")?.as_str()?.to_owned(),
    })
}

/// Merges the layers of `freshness:` (least specific first) into criteria; `None` when
/// freshness is off or has no threshold.
pub fn merge_criteria(layers: &[Option<&Value>]) -> Option<Criteria> {
    let mut c = Criteria::default();
    for layer in layers.iter().flatten() {
        match layer {
            Value::Null => c = Criteria::default(),
            Value::Object(m) => {
                if let Some(t) = threshold(m.get("warn_after")) {
                    c.warn_after = Some(t);
                }
                if let Some(t) = threshold(m.get("error_after")) {
                    c.error_after = Some(t);
                }
                if let Some(f) = m.get("filter").and_then(Value::as_str) {
                    c.filter = Some(f.to_owned());
                }
            }
            _ => {}
        }
    }
    (c.warn_after.is_some() || c.error_after.is_some()).then_some(c)
}

/// Checks the criteria's periods.
fn validate(c: &Criteria, source: &SourceNode) -> Result<(), Diagnostic> {
    for t in [&c.warn_after, &c.error_after].into_iter().flatten() {
        if !matches!(t.period.as_str(), "minute" | "hour" | "day") {
            return Err(Diagnostic::error(
                "freshness-invalid",
                format!(
                    "source `{}.{}` has freshness period `{}`",
                    source.source_name, source.name, t.period
                ),
            )
            .at(source.defined_at.clone())
            .with_help("use `minute`, `hour` or `day`"));
        }
    }
    Ok(())
}

/// The checks for the selected sources (those with freshness criteria), by unique id.
pub fn plan<'a>(
    parsed: &'a Parsed,
    selected: impl IntoIterator<Item = &'a UniqueId>,
) -> Result<Vec<Check<'a>>, Vec<Diagnostic>> {
    let mut ids: Vec<&UniqueId> = selected
        .into_iter()
        .filter(|id| parsed.manifest.sources.contains_key(*id))
        .collect();
    ids.sort();
    let mut checks = Vec::new();
    let mut errors = Vec::new();
    for id in ids {
        let s = &parsed.manifest.sources[id];
        let props = parsed
            .loaded
            .project
            .package(&s.package_name)
            .and_then(|p| {
                p.properties
                    .sources
                    .iter()
                    .find(|src| src.name == s.source_name)
            });
        let table = props.and_then(|src| src.tables.iter().find(|t| t.name == s.name));
        let config_of = |m: &indexmap::IndexMap<String, Value>, k: &str| m.get(k).cloned();
        // Least specific first: the node's merged config (project, source and table
        // `config:`), then the source's and the table's own properties.
        let layers: Vec<Option<Value>> = vec![
            s.config.get("freshness").cloned(),
            props.and_then(|src| config_of(&src.config, "freshness")),
            props.and_then(|src| src.freshness.clone()),
            table.and_then(|t| config_of(&t.config, "freshness")),
            table.and_then(|t| t.freshness.clone()),
        ];
        let refs: Vec<Option<&Value>> = layers.iter().map(Option::as_ref).collect();
        let Some(criteria) = merge_criteria(&refs) else {
            continue;
        };
        if let Err(d) = validate(&criteria, s) {
            errors.push(d);
            continue;
        }
        let text = |v: Option<Value>| v.and_then(|v| v.as_str().map(str::to_owned));
        let table_config = |k: &str| text(table.and_then(|t| config_of(&t.config, k)));
        let source_query = props.and_then(|src| {
            text(src.extra.get("loaded_at_query").cloned())
                .or_else(|| text(config_of(&src.config, "loaded_at_query")))
        });
        // The table's own setting wins over the source's; a field over a query at the
        // same level. `s.loaded_at_field` is already the table's or else the source's.
        let loaded_at = if let Some(q) = table.and_then(|t| t.loaded_at_query.clone()) {
            Some(LoadedAt::Query(q))
        } else if table.is_some_and(|t| t.loaded_at_field.is_some()) {
            s.loaded_at_field.clone().map(LoadedAt::Field)
        } else if let Some(f) = table_config("loaded_at_field") {
            Some(LoadedAt::Field(f))
        } else if let Some(q) = table_config("loaded_at_query") {
            Some(LoadedAt::Query(q))
        } else if let Some(f) = s.loaded_at_field.clone() {
            Some(LoadedAt::Field(f))
        } else if let Some(q) = source_query {
            Some(LoadedAt::Query(q))
        } else {
            text(s.config.get("loaded_at_field").cloned())
                .map(LoadedAt::Field)
                .or_else(|| text(s.config.get("loaded_at_query").cloned()).map(LoadedAt::Query))
        }
        .filter(|l| !matches!(l, LoadedAt::Field(f) | LoadedAt::Query(f) if f.trim().is_empty()));
        checks.push(Check {
            source: s,
            criteria,
            loaded_at,
        });
    }
    if errors.is_empty() {
        Ok(checks)
    } else {
        Err(errors)
    }
}

/// Parses a timestamp PostgreSQL printed; one without a zone is UTC.
fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z") {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

/// Python's `datetime.isoformat()` of a UTC time (fraction only when not zero).
pub fn isoformat(t: &DateTime<Utc>) -> String {
    if t.timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    }
}

/// The earliest time Python has: what dbt reports for a table with no rows.
fn min_time() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .unwrap_or_default()
}

fn render(
    parsed: &Parsed,
    session: &Session<'_>,
    s: &SourceNode,
    text: &str,
) -> Result<String, Diagnostic> {
    if !text.contains("{{") && !text.contains("{%") {
        return Ok(text.to_owned());
    }
    let name = s.defined_at.file.to_string_lossy().into_owned();
    parsed
        .loaded
        .runtime
        .render(
            &session.run,
            &name,
            text,
            NodeScope::new(&s.package_name, Some(s.unique_id.as_str())),
        )
        .map_err(IntoDiagnostic::into_diagnostic)
}

/// The query that reads the load time and the server's time.
fn freshness_sql(
    parsed: &Parsed,
    session: &Session<'_>,
    check: &Check<'_>,
) -> Result<String, Diagnostic> {
    let s = check.source;
    match &check.loaded_at {
        Some(LoadedAt::Field(field)) => {
            let field = render(parsed, session, s, field)?;
            let filter = match &check.criteria.filter {
                Some(f) => format!("\nwhere {}", render(parsed, session, s, f)?),
                None => String::new(),
            };
            Ok(format!(
                "select max({field}) as max_loaded_at, now() as snapshotted_at\nfrom {}{filter}",
                s.relation_name
            ))
        }
        Some(LoadedAt::Query(query)) => {
            let query = render(parsed, session, s, query)?;
            let query = query.trim().trim_end_matches(';');
            Ok(format!(
                "select (\n{query}\n) as max_loaded_at, now() as snapshotted_at"
            ))
        }
        None => Err(Diagnostic::error(
            "freshness-no-loaded-at",
            format!(
                "cannot check the freshness of source `{}.{}`: it has no `loaded_at_field` or `loaded_at_query`",
                s.source_name, s.name
            ),
        )
        .at(s.defined_at.clone())
        .with_help("PostgreSQL has no load-time metadata: set `loaded_at_field` (a timestamp column) on the source or table")),
    }
}

fn check_one(
    parsed: &Parsed,
    session: &Session<'_>,
    worker: &mut Worker,
    check: &Check<'_>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), Diagnostic> {
    let s = check.source;
    let sql = freshness_sql(parsed, session, check)?;
    let conn = session.conn(worker)?;
    let table = session
        .block_on(conn.fetch(&sql))
        .map_err(|e| {
            e.into_diagnostic().with_help(format!(
                "check that {} exists and that its loaded_at_field or loaded_at_query is valid SQL; the query was: {}",
                s.relation_name,
                sql.replace('\n', " ")
            ))
        })?;
    let row = table.rows.first().ok_or_else(|| {
        Diagnostic::error("freshness-query", "the freshness query returned no row")
    })?;
    let snapshotted = match row.get(1) {
        Some(Cell::Timestamp(t)) => parse_timestamp(t),
        _ => None,
    }
    .ok_or_else(|| Diagnostic::error("freshness-query", "the server's now() could not be read"))?;
    let max_loaded = match row.first() {
        None | Some(Cell::Null) => min_time(),
        Some(Cell::Timestamp(t)) => parse_timestamp(t).ok_or_else(|| {
            Diagnostic::error(
                "freshness-not-timestamp",
                format!(
                    "the load time of source `{}.{}` is `{t}`, which is not a timestamp",
                    s.source_name, s.name
                ),
            )
        })?,
        Some(other) => {
            let got = table.columns.first().map_or("?", |c| c.type_name.as_str());
            return Err(Diagnostic::error(
                "freshness-not-timestamp",
                format!(
                    "expected a timestamp for the load time of source `{}.{}`, got {} (`{}`)",
                    s.source_name,
                    s.name,
                    got,
                    other.as_text().unwrap_or_default()
                ),
            )
            .with_help(
                "make loaded_at_field a timestamp, e.g. `loaded_at_field: \"my_date::timestamp\"`",
            ));
        }
    };
    Ok((max_loaded, snapshotted))
}

/// Runs the checks on the session's threads, in unique-id order.
pub fn run_checks(
    parsed: &Parsed,
    checks: &[Check<'_>],
    progress: &dyn FreshnessProgress,
) -> Result<Vec<FreshnessResult>, Vec<Diagnostic>> {
    let session = Session::open(parsed, &[])?;
    let total = checks.len();
    let next = AtomicUsize::new(0);
    let started = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, FreshnessResult)>> = Mutex::new(Vec::new());
    let threads = session.threads.min(total).max(1);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (session, next, started, results) = (&session, &next, &started, &results);
            scope.spawn(move || {
                let mut worker = Worker::default();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(check) = checks.get(i) else { break };
                    if crate::engine::interrupted() {
                        break;
                    }
                    let index = started.fetch_add(1, Ordering::SeqCst) + 1;
                    let s = check.source;
                    progress.start(index, total, s);
                    let started_at = now();
                    let clock = Instant::now();
                    let outcome = check_one(parsed, session, &mut worker, check);
                    let mut r = FreshnessResult {
                        unique_id: s.unique_id.clone(),
                        status: FreshnessStatus::Pass,
                        max_loaded_at: None,
                        snapshotted_at: None,
                        age_seconds: 0.0,
                        criteria: check.criteria.clone(),
                        started_at,
                        completed_at: now(),
                        execution_time: clock.elapsed().as_secs_f64(),
                        thread_id: format!("Thread-{} (worker)", t + 1),
                        diagnostic: None,
                    };
                    match outcome {
                        Ok((max_loaded, snapshotted)) => {
                            let age = (snapshotted - max_loaded)
                                .num_microseconds()
                                .map_or((snapshotted - max_loaded).num_seconds() as f64, |us| {
                                    us as f64 / 1e6
                                });
                            r.max_loaded_at = Some(max_loaded);
                            r.snapshotted_at = Some(snapshotted);
                            r.age_seconds = age;
                            let c = &check.criteria;
                            fn over(t: &Option<Threshold>, age: f64) -> Option<&Threshold> {
                                t.as_ref().filter(|t| age > t.seconds())
                            }
                            if let Some(t) = over(&c.error_after, age) {
                                r.status = FreshnessStatus::Error;
                                r.diagnostic = Some(stale(s, age, "error_after", t, true));
                            } else if let Some(t) = over(&c.warn_after, age) {
                                r.status = FreshnessStatus::Warn;
                                r.diagnostic = Some(stale(s, age, "warn_after", t, false));
                            }
                        }
                        Err(d) => {
                            r.status = FreshnessStatus::RuntimeError;
                            r.diagnostic = Some(d.with_note(format!(
                                "while checking the freshness of source `{}.{}` ({})",
                                s.source_name, s.name, s.original_file_path
                            )));
                        }
                    }
                    progress.done(index, total, s, &r);
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((i, r));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);
    Ok(results.into_iter().map(|(_, r)| r).collect())
}

fn describe_age(seconds: f64) -> String {
    let s = seconds.max(0.0);
    if s < 120.0 {
        format!("{s:.0} seconds")
    } else if s < 7200.0 {
        format!("{:.0} minutes", s / 60.0)
    } else if s < 172_800.0 {
        format!("{:.1} hours", s / 3600.0)
    } else {
        format!("{:.1} days", s / 86400.0)
    }
}

fn stale(s: &SourceNode, age: f64, key: &str, t: &Threshold, error: bool) -> Diagnostic {
    // An empty table (or filter) reads as loaded at the year 1.
    let when = if age > 1e10 {
        "has no loaded rows".to_owned()
    } else {
        format!("was last loaded {} ago", describe_age(age))
    };
    let message = format!(
        "source `{}.{}` {when}, more than its {key} of {}",
        s.source_name,
        s.name,
        t.describe()
    );
    let d = if error {
        Diagnostic::error("source-stale", message)
    } else {
        Diagnostic::warning("source-stale", message)
    };
    d.at(Location::new(
        s.defined_at.file.clone(),
        s.defined_at.line,
        0,
    ))
    .with_help(format!(
        "load new rows into {}, or change its freshness `{key}`",
        s.relation_name
    ))
}

/// Writes sources.json (dbt's v3 shape) to `path`. Like dbt 1.10, tables whose check
/// could not run are left out of `results`.
pub fn write_sources_json(
    path: &Path,
    results: &[FreshnessResult],
    invocation_id: &str,
    elapsed: f64,
) -> Result<(), Diagnostic> {
    let results: Vec<Value> = results
        .iter()
        .filter(|r| r.status != FreshnessStatus::RuntimeError)
        .map(|r| {
            let mut m = Map::new();
            m.insert("unique_id".into(), json!(r.unique_id.as_str()));
            m.insert(
                "max_loaded_at".into(),
                json!(r.max_loaded_at.as_ref().map(isoformat)),
            );
            m.insert(
                "snapshotted_at".into(),
                json!(r.snapshotted_at.as_ref().map(isoformat)),
            );
            m.insert("max_loaded_at_time_ago_in_s".into(), json!(r.age_seconds));
            m.insert("status".into(), json!(r.status.as_str()));
            m.insert("criteria".into(), r.criteria.to_json());
            m.insert(
                "adapter_response".into(),
                json!({"_message": "SELECT 1", "code": "SELECT", "rows_affected": 1}),
            );
            m.insert(
                "timing".into(),
                json!([
                    {"name": "compile", "started_at": r.started_at, "completed_at": r.started_at},
                    {"name": "execute", "started_at": r.started_at, "completed_at": r.completed_at},
                ]),
            );
            m.insert("thread_id".into(), json!(r.thread_id));
            m.insert("execution_time".into(), json!(r.execution_time));
            Value::Object(m)
        })
        .collect();
    let doc = json!({
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/sources/v3.json",
            "dbt_version": crate::load::DBT_VERSION,
            "generated_at": now(),
            "invocation_id": invocation_id,
            "invocation_started_at": Value::Null,
            "env": crate::load::metadata_envs(),
        },
        "results": results,
        "elapsed_time": elapsed,
    });
    let io = |e: std::io::Error| {
        Diagnostic::error(
            "write-failed",
            format!("cannot write {}: {e}", path.display()),
        )
        .with_help("check that the output directory is writable")
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(path, serde_json::to_vec_pretty(&doc).unwrap_or_default()).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(count: i64, period: &str) -> Option<Threshold> {
        Some(Threshold {
            count,
            period: period.to_owned(),
        })
    }

    #[test]
    fn criteria_merge_key_by_key() {
        let source = json!({"warn_after": {"count": 1, "period": "hour"}, "error_after": {"count": 1, "period": "day"}});
        let table = json!({"warn_after": {"count": 2, "period": "hour"}, "filter": "id = 2"});
        let c = merge_criteria(&[Some(&source), Some(&table)]).unwrap();
        assert_eq!(c.warn_after, t(2, "hour"));
        assert_eq!(c.error_after, t(1, "day"));
        assert_eq!(c.filter.as_deref(), Some("id = 2"));
        // A threshold without a count does not override; null switches freshness off.
        let blank = json!({"warn_after": {"count": null, "period": null}});
        let c = merge_criteria(&[Some(&source), Some(&blank)]).unwrap();
        assert_eq!(c.warn_after, t(1, "hour"));
        assert_eq!(merge_criteria(&[Some(&source), Some(&Value::Null)]), None);
        assert_eq!(merge_criteria(&[None, Some(&blank)]), None);
    }

    #[test]
    fn timestamps_without_zone_are_utc() {
        let a = parse_timestamp("2024-01-01 10:00:00.5+02").unwrap();
        assert_eq!(isoformat(&a), "2024-01-01T08:00:00.500000+00:00");
        let b = parse_timestamp("2024-01-01 10:00:00").unwrap();
        assert_eq!(isoformat(&b), "2024-01-01T10:00:00+00:00");
        assert_eq!(isoformat(&min_time()), "0001-01-01T00:00:00+00:00");
        assert!(parse_timestamp("2024-01-01").is_none());
    }
}
