//! Seeds: a CSV file loaded into a table with `COPY ... FROM STDIN`, the way dbt-postgres
//! loads it (same column types, same NULLs, same table afterwards).
//!
//! The file is read twice. The first pass checks the CSV and infers each column's type
//! like dbt's agate type tester (number, date, `%Y-%m-%d %H:%M:%S`, ISO 8601 datetime,
//! boolean, else text; `""` and `null` are NULL). The second pass streams the rows,
//! rewritten into canonical PostgreSQL text (`1,000` -> `1000`, `$5` -> `5`, `TRUE` ->
//! `true`), into `COPY`. Create-or-truncate and the load run in one transaction, so a
//! failed load leaves the previous table as it was. Finding the seed files, `column_types`
//! and the other configs is `mfb-project`'s and `mfb-exec`'s job.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor};
use std::path::{Path, PathBuf};

use futures_util::SinkExt;
use mfb_diagnostics::{Diagnostic, IntoDiagnostic};

use crate::connection::{Connection, Transaction};
use crate::error::PgError;
use crate::relation::{quote_ident, quote_literal};

/// Where and how a seed is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedTarget {
    /// Schema of the table (created if missing).
    pub schema: String,
    /// Table name.
    pub table: String,
    /// `column_types` config: column name -> SQL type, overriding inference.
    pub column_types: Vec<(String, String)>,
    /// `quote_columns` config (dbt-postgres default: true).
    pub quote_columns: bool,
    /// `delimiter` config (default `,`).
    pub delimiter: u8,
    /// `--full-refresh`: drop and recreate the table instead of truncating it.
    pub full_refresh: bool,
}

impl SeedTarget {
    /// A target with dbt's defaults: no overrides, quoted columns, comma, no full refresh.
    pub fn new(schema: impl Into<String>, table: impl Into<String>) -> Self {
        SeedTarget {
            schema: schema.into(),
            table: table.into(),
            column_types: Vec::new(),
            quote_columns: true,
            delimiter: b',',
            full_refresh: false,
        }
    }
}

/// What a load did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedResult {
    /// Rows loaded.
    pub rows: u64,
    /// Each column's name and SQL type (inferred, or from `column_types`), in file order.
    pub columns: Vec<(String, String)>,
}

/// What is wrong with a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvProblem {
    /// The file has no header line.
    Empty,
    /// A row has more values than the header has columns.
    TooManyValues {
        /// Values in the row.
        found: usize,
        /// Columns in the header.
        expected: usize,
    },
    /// A line is not valid UTF-8.
    InvalidUtf8,
    /// A quoted value is never closed.
    UnterminatedQuote,
    /// The configured delimiter is not a single ASCII character other than `"` and newlines.
    UnsupportedDelimiter(u8),
}

impl fmt::Display for CsvProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsvProblem::Empty => write!(f, "the file is empty (a header line is required)"),
            CsvProblem::TooManyValues { found, expected } => write!(
                f,
                "the row has {found} values, but the header has {expected} columns"
            ),
            CsvProblem::InvalidUtf8 => write!(f, "the line is not valid UTF-8"),
            CsvProblem::UnterminatedQuote => {
                write!(f, "a quoted value starts here and is never closed")
            }
            CsvProblem::UnsupportedDelimiter(b) => {
                write!(f, "the delimiter {:?} is not supported", char::from(*b))
            }
        }
    }
}

/// Why a seed could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The file could not be read.
    #[error("cannot read seed {}: {reason}", path.display())]
    Read {
        /// The seed file.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The file is not CSV this loader accepts.
    #[error("{}:{line}: {problem}", path.display())]
    Csv {
        /// The seed file.
        path: PathBuf,
        /// 1-based line where the bad row starts.
        line: u64,
        /// What is wrong.
        problem: CsvProblem,
    },
    /// `--full-refresh` would have to drop views built on the seed's table.
    #[error("cannot replace {relation} for seed {}: other objects depend on it", path.display())]
    Dependents {
        /// The seed file.
        path: PathBuf,
        /// `"schema"."table"`.
        relation: String,
        /// PostgreSQL's list of the dependent objects.
        detail: String,
    },
    /// PostgreSQL refused a statement or the COPY (the previous table is unchanged).
    #[error("loading seed {}{} failed: {source}", path.display(), line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Database {
        /// The seed file.
        path: PathBuf,
        /// The 1-based file line of the row PostgreSQL rejected, when known.
        line: Option<u64>,
        /// The server's error.
        source: PgError,
    },
}

impl SeedError {
    /// The stable diagnostic code.
    pub fn code(&self) -> &'static str {
        match self {
            SeedError::Read { .. } => "seed-read",
            SeedError::Csv { .. } => "seed-csv",
            SeedError::Dependents { .. } => "seed-dependents",
            SeedError::Database { .. } => "seed-load",
        }
    }

    /// What the user should do next.
    pub fn fix(&self) -> String {
        match self {
            SeedError::Read { .. } => "check that the file exists and is readable".into(),
            SeedError::Csv { problem, .. } => match problem {
                CsvProblem::Empty => "add a header line naming the columns".into(),
                CsvProblem::TooManyValues { .. } => {
                    "remove the extra values, quote values that contain the delimiter, or add columns to the header".into()
                }
                CsvProblem::InvalidUtf8 => "save the file as UTF-8".into(),
                CsvProblem::UnterminatedQuote => {
                    "close the quote, or write a literal quote inside a quoted value as \"\"".into()
                }
                CsvProblem::UnsupportedDelimiter(_) => {
                    "set `delimiter` to one ASCII character such as `,`, `;`, `|` or a tab".into()
                }
            },
            SeedError::Dependents { .. } => {
                "drop or rebuild the dependent views in the same run (select them with `+`), or load without --full-refresh".into()
            }
            SeedError::Database { source, .. } => match source.sqlstate() {
                Some("42703") => "the table's columns differ from the file's header: run with --full-refresh to recreate it".into(),
                Some("22P02" | "22003" | "22007" | "22008") => {
                    "fix the value on that line, or change the column's type in `column_types`".into()
                }
                _ => source.fix(),
            },
        }
    }
}

impl IntoDiagnostic for SeedError {
    fn into_diagnostic(self) -> Diagnostic {
        let mut d = Diagnostic::error(self.code(), self.to_string()).with_help(self.fix());
        match &self {
            SeedError::Dependents { detail, .. } => {
                d = d.with_note(format!("dependents: {detail}"));
            }
            SeedError::Database { source, .. } => {
                if let PgError::Statement(s) = source {
                    if let Some(detail) = &s.detail {
                        d = d.with_note(format!("detail: {detail}"));
                    }
                    if let Some(context) = &s.context {
                        d = d.with_note(format!("context: {context}"));
                    }
                }
                if let Some(state) = source.sqlstate() {
                    d = d.with_note(format!("SQLSTATE {state}"));
                }
            }
            _ => {}
        }
        d
    }
}

/// Loads `csv` into `target` in one transaction and reports the rows and column types.
///
/// An existing table is truncated and refilled (kept, with its grants and dependent
/// views); with `full_refresh`, or when the name holds a view, it is dropped and created
/// again, and dependent views make that fail ([`SeedError::Dependents`]) rather than
/// being dropped. ISO timestamps with a UTC offset are stored converted to UTC; dbt
/// converts them to the session's time zone, which differs only when that is not UTC.
pub async fn load_seed(
    conn: &mut Connection,
    csv: &Path,
    target: &SeedTarget,
) -> Result<SeedResult, SeedError> {
    let d = target.delimiter;
    if !d.is_ascii() || matches!(d, b'"' | b'\n' | b'\r') {
        return Err(SeedError::Csv {
            path: csv.to_owned(),
            line: 1,
            problem: CsvProblem::UnsupportedDelimiter(d),
        });
    }
    // The first pass reads the whole file: keep it off the async workers.
    let plan = {
        let (path, target) = (csv.to_owned(), target.clone());
        tokio::task::spawn_blocking(move || infer_columns(&path, &target))
            .await
            .map_err(|e| SeedError::Read {
                path: csv.to_owned(),
                reason: format!("the reading task failed: {e}"),
            })??
    };
    let db = |source: PgError| SeedError::Database {
        path: csv.to_owned(),
        line: None,
        source,
    };
    let relation = format!(
        "{}.{}",
        quote_ident(&target.schema),
        quote_ident(&target.table)
    );
    let tx = conn.begin().await.map_err(db)?;
    prepare_table(&tx, &plan, target, &relation, csv).await?;
    let rows = match copy_rows(&tx, csv, target, &plan, &relation).await {
        Ok(rows) => rows,
        Err(SeedError::Database { source, .. }) => {
            let line = copy_error_line(&source).and_then(|n| record_line(csv, target, n));
            return Err(SeedError::Database {
                path: csv.to_owned(),
                line,
                source,
            });
        }
        Err(e) => return Err(e),
    };
    tx.commit().await.map_err(db)?;
    Ok(SeedResult {
        rows,
        columns: plan
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.sql_type.clone()))
            .collect(),
    })
}

/// Creates the schema, then creates, truncates or replaces the table.
async fn prepare_table(
    tx: &Transaction<'_>,
    plan: &Plan,
    target: &SeedTarget,
    relation: &str,
    csv: &Path,
) -> Result<(), SeedError> {
    let db = |source: PgError| SeedError::Database {
        path: csv.to_owned(),
        line: None,
        source,
    };
    // Only when missing: CREATE SCHEMA needs CREATE on the database even with IF NOT EXISTS.
    let schema = tx
        .fetch(&format!(
            "select 1 from pg_catalog.pg_namespace where nspname = {}",
            quote_literal(&target.schema)
        ))
        .await
        .map_err(db)?;
    if schema.rows.is_empty() {
        tx.execute(&format!(
            "create schema if not exists {}",
            quote_ident(&target.schema)
        ))
        .await
        .map_err(db)?;
    }
    let existing = tx
        .fetch(&format!(
            "select c.relkind::text from pg_catalog.pg_class c \
             join pg_catalog.pg_namespace n on n.oid = c.relnamespace \
             where n.nspname = {} and c.relname = {}",
            quote_literal(&target.schema),
            quote_literal(&target.table)
        ))
        .await
        .map_err(db)?;
    let relkind = existing
        .rows
        .first()
        .and_then(|r| r.first())
        .and_then(|c| c.as_text());
    match relkind.as_deref() {
        Some("r" | "p") if !target.full_refresh => {
            // dbt keeps the table (and its grants, dependents) and only replaces the rows.
            tx.execute(&format!("truncate table {relation}"))
                .await
                .map_err(db)?;
            return Ok(());
        }
        Some(kind) => {
            let keyword = match kind {
                "v" => "view",
                "m" => "materialized view",
                "f" => "foreign table",
                _ => "table",
            };
            // No CASCADE: dependent views are reported, never dropped behind the user's back.
            if let Err(e) = tx.execute(&format!("drop {keyword} {relation}")).await {
                if e.sqlstate() == Some("2BP01") {
                    let detail = match &e {
                        PgError::Statement(s) => s.detail.clone().unwrap_or_default(),
                        _ => String::new(),
                    };
                    return Err(SeedError::Dependents {
                        path: csv.to_owned(),
                        relation: relation.to_owned(),
                        detail,
                    });
                }
                return Err(db(e));
            }
        }
        None => {}
    }
    let columns: Vec<String> = plan
        .columns
        .iter()
        .map(|c| format!("{} {}", column_name(&c.name, target), c.sql_type))
        .collect();
    tx.execute(&format!("create table {relation} ({})", columns.join(", ")))
        .await
        .map_err(db)?;
    Ok(())
}

fn column_name(name: &str, target: &SeedTarget) -> String {
    if target.quote_columns {
        quote_ident(name)
    } else {
        name.to_owned()
    }
}

/// Bytes handed to COPY per message.
const COPY_CHUNK: usize = 256 * 1024;

async fn copy_rows(
    tx: &Transaction<'_>,
    csv: &Path,
    target: &SeedTarget,
    plan: &Plan,
    relation: &str,
) -> Result<u64, SeedError> {
    let db = |source: PgError| SeedError::Database {
        path: csv.to_owned(),
        line: None,
        source,
    };
    let names: Vec<String> = plan
        .columns
        .iter()
        .map(|c| column_name(&c.name, target))
        .collect();
    let statement = format!(
        "copy {relation} ({}) from stdin with (format csv, header false, delimiter ',')",
        names.join(", ")
    );
    // A COPY that fails before taking data (a missing column, no INSERT privilege) leaves
    // tokio-postgres's connection out of step, so find those errors with a no-op first.
    let nulls = vec!["null"; names.len()].join(", ");
    tx.execute(&format!(
        "insert into {relation} ({}) select {nulls} where false",
        names.join(", ")
    ))
    .await
    .map_err(db)?;
    let session = tx.session();
    session.check().map_err(db)?;
    let sink = session
        .client
        .copy_in::<_, Cursor<Vec<u8>>>(statement.as_str())
        .await
        .map_err(|e| db(session.err(e)))?;
    let mut sink = std::pin::pin!(sink);

    let mut reader = CsvReader::open(csv, target.delimiter)?;
    let mut record = Record::default();
    reader.next_record(&mut record)?; // the header, checked by the first pass
    let mut out: Vec<u8> = Vec::with_capacity(COPY_CHUNK + 4096);
    while reader.next_record(&mut record)? {
        let line = record.line;
        let text = record.text(csv)?;
        write_row(&mut out, &text, plan).map_err(|problem| SeedError::Csv {
            path: csv.to_owned(),
            line,
            problem,
        })?;
        if out.len() >= COPY_CHUNK {
            let chunk = std::mem::replace(&mut out, Vec::with_capacity(COPY_CHUNK + 4096));
            sink.send(Cursor::new(chunk))
                .await
                .map_err(|e| db(session.err(e)))?;
        }
    }
    if !out.is_empty() {
        sink.send(Cursor::new(out))
            .await
            .map_err(|e| db(session.err(e)))?;
    }
    sink.as_mut().finish().await.map_err(|e| db(session.err(e)))
}

/// The COPY data line PostgreSQL names in its error context (`COPY t, line 3, ...`).
fn copy_error_line(err: &PgError) -> Option<u64> {
    let PgError::Statement(s) = err else {
        return None;
    };
    let context = s.context.as_deref()?;
    let rest = &context[context.find(", line ")? + ", line ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The file line where data row `n` (1-based) starts.
fn record_line(csv: &Path, target: &SeedTarget, n: u64) -> Option<u64> {
    let mut reader = CsvReader::open(csv, target.delimiter).ok()?;
    let mut record = Record::default();
    for _ in 0..=n {
        if !reader.next_record(&mut record).ok()? {
            return None;
        }
    }
    Some(record.line)
}

// ---------------------------------------------------------------------------------------
// Type inference
// ---------------------------------------------------------------------------------------

/// The types dbt's type tester tries, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    Date,
    DateTime,
    IsoDateTime,
    Boolean,
    Text,
    /// A `column_types` override: values go in as written.
    Forced,
}

const CANDIDATES: [Kind; 5] = [
    Kind::Number,
    Kind::Date,
    Kind::DateTime,
    Kind::IsoDateTime,
    Kind::Boolean,
];

#[derive(Debug)]
struct PlannedColumn {
    name: String,
    kind: Kind,
    /// For numbers: load as integer (no value has decimal places).
    integer: bool,
    sql_type: String,
}

#[derive(Debug)]
struct Plan {
    columns: Vec<PlannedColumn>,
}

struct Inference {
    possible: [bool; 5],
    decimal_places: i64,
    seen_value: bool,
}

fn infer_columns(csv: &Path, target: &SeedTarget) -> Result<Plan, SeedError> {
    let mut reader = CsvReader::open(csv, target.delimiter)?;
    let mut record = Record::default();
    if !reader.next_record(&mut record)? || record.ends.is_empty() {
        return Err(SeedError::Csv {
            path: csv.to_owned(),
            line: 1,
            problem: CsvProblem::Empty,
        });
    }
    let names = column_names(&record.text(csv)?);
    let forced: Vec<Option<&String>> = names
        .iter()
        .map(|n| {
            target
                .column_types
                .iter()
                .find(|(name, _)| name == n)
                .map(|(_, t)| t)
        })
        .collect();
    let mut state: Vec<Inference> = names
        .iter()
        .map(|_| Inference {
            possible: [true; 5],
            decimal_places: 0,
            seen_value: false,
        })
        .collect();
    while reader.next_record(&mut record)? {
        let line = record.line;
        let values = record.text(csv)?;
        if values.len() > names.len() {
            return Err(SeedError::Csv {
                path: csv.to_owned(),
                line,
                problem: CsvProblem::TooManyValues {
                    found: values.len(),
                    expected: names.len(),
                },
            });
        }
        for (i, raw) in values.iter().enumerate() {
            if forced[i].is_some() {
                continue;
            }
            let value = raw.trim();
            if is_null(value) {
                continue;
            }
            let s = &mut state[i];
            s.seen_value = true;
            if s.possible[0] {
                if let Some((places, _)) = plain_decimal(value) {
                    s.decimal_places = s.decimal_places.max(places);
                } else {
                    match parse_number(value) {
                        Some(n) => s.decimal_places = s.decimal_places.max(n.decimal_places()),
                        None => s.possible[0] = false,
                    }
                }
            }
            if s.possible[1] && date_fields(value).is_none() {
                s.possible[1] = false;
            }
            if s.possible[2] && datetime_fields(value).is_none() {
                s.possible[2] = false;
            }
            if s.possible[3] && parse_iso_datetime(value).is_none() {
                s.possible[3] = false;
            }
            if s.possible[4] && parse_bool(value).is_none() {
                s.possible[4] = false;
            }
        }
    }
    let columns = names
        .into_iter()
        .zip(forced)
        .zip(state)
        .map(|((name, forced), s)| {
            if let Some(sql_type) = forced {
                return PlannedColumn {
                    name,
                    kind: Kind::Forced,
                    integer: false,
                    sql_type: sql_type.clone(),
                };
            }
            // dbt types a column without any value as an integer.
            let kind = if s.seen_value {
                CANDIDATES
                    .iter()
                    .zip(s.possible)
                    .find(|(_, ok)| *ok)
                    .map(|(k, _)| *k)
                    .unwrap_or(Kind::Text)
            } else {
                Kind::Number
            };
            let integer = kind == Kind::Number && s.decimal_places == 0;
            let sql_type = match kind {
                Kind::Number if integer => "integer",
                Kind::Number => "float8",
                Kind::Date => "date",
                Kind::DateTime | Kind::IsoDateTime => "timestamp without time zone",
                Kind::Boolean => "boolean",
                Kind::Text | Kind::Forced => "text",
            };
            PlannedColumn {
                name,
                kind,
                integer,
                sql_type: sql_type.to_owned(),
            }
        })
        .collect();
    Ok(Plan { columns })
}

/// Header names as agate makes them: an empty name becomes a letter (`a`, `b`, ... `aa`),
/// a repeated one gets `_2`, `_3`.
fn column_names(header: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(header.len());
    for (i, raw) in header.iter().enumerate() {
        let base = if raw.is_empty() {
            let letter = char::from(b'a' + (i % 26) as u8);
            letter.to_string().repeat(i / 26 + 1)
        } else {
            (*raw).to_owned()
        };
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        names.push(name);
    }
    names
}

/// `""` and `null` (any case, surrounding spaces ignored) are NULL, as in dbt.
fn is_null(trimmed: &str) -> bool {
    trimmed.is_empty() || trimmed.eq_ignore_ascii_case("null")
}

/// A decimal number: sign, significant digits (no leading or trailing zeros) and exponent.
#[derive(Debug, PartialEq, Eq)]
enum Number {
    Finite {
        negative: bool,
        digits: String,
        exponent: i64,
    },
    Special(&'static str),
}

impl Number {
    /// Decimal places after normalizing (`2.50` has 1, `2.0` has 0), as agate counts them.
    fn decimal_places(&self) -> i64 {
        match self {
            Number::Finite { exponent, .. } => (-exponent).max(0),
            Number::Special(_) => 0,
        }
    }

    fn write(&self, out: &mut Vec<u8>, integer: bool) {
        match self {
            Number::Special(s) => out.extend_from_slice(s.as_bytes()),
            Number::Finite {
                negative,
                digits,
                exponent,
            } => {
                if *negative && digits != "0" {
                    out.push(b'-');
                }
                out.extend_from_slice(digits.as_bytes());
                if integer && (0..=64).contains(exponent) {
                    out.extend(std::iter::repeat_n(b'0', *exponent as usize));
                } else if *exponent != 0 {
                    out.extend_from_slice(format!("e{exponent}").as_bytes());
                }
            }
        }
    }
}

const CURRENCY_SYMBOLS: &[char] = &[
    '$', '£', '€', '¥', '¢', '₹', '₩', '₪', '₱', '₡', '₭', '₮', '₦', '₽', '₴', '₫', '₲', '₵', '₸',
    '₺', '฿', '៛', '﷼', '؋', 'ƒ',
];

/// `-?digits(.digits)?`, the common case, checked without allocating: its decimal
/// places after dropping trailing zeros, and where the fraction starts.
fn plain_decimal(value: &str) -> Option<(i64, usize)> {
    let b = value.as_bytes();
    let start = usize::from(b.first() == Some(&b'-'));
    let int_digits = b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
    if int_digits == 0 {
        return None;
    }
    let dot = start + int_digits;
    if dot == b.len() {
        return Some((0, dot));
    }
    if b[dot] != b'.' {
        return None;
    }
    let frac = &b[dot + 1..];
    if frac.is_empty() || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let significant = frac.len() - frac.iter().rev().take_while(|c| **c == b'0').count();
    Some((significant as i64, dot))
}

/// Parses a number as agate's `Number` does: `%`, currency symbols and `,` group
/// separators are ignored; Python's `Decimal` syntax otherwise.
fn parse_number(value: &str) -> Option<Number> {
    let mut s = value.trim_matches('%');
    let mut negative = false;
    if let Some(rest) = s.strip_prefix('-') {
        negative = true;
        s = rest;
    }
    let s = s.trim_matches(CURRENCY_SYMBOLS).replace(',', "");
    let s = s.trim();
    let (sign_negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let negative = negative != sign_negative;
    let lower = body.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "infinity" => {
            return Some(Number::Special(if negative {
                "-Infinity"
            } else {
                "Infinity"
            }));
        }
        "nan" | "snan" => return Some(Number::Special("NaN")),
        _ => {}
    }
    let (mantissa, exp) = match lower.find('e') {
        Some(i) => (&lower[..i], Some(&lower[i + 1..])),
        None => (lower.as_str(), None),
    };
    let exp: i64 = match exp {
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
                return None;
            }
            e.replace('_', "").parse().ok()?
        }
        None => 0,
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    for part in [int_part, frac_part] {
        // Python allows single underscores between digits.
        if part.starts_with('_') || part.ends_with('_') || part.contains("__") {
            return None;
        }
        if !part.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
            return None;
        }
    }
    let mut digits: String = int_part
        .chars()
        .chain(frac_part.chars())
        .filter(|c| *c != '_')
        .collect();
    let mut exponent = exp - frac_part.chars().filter(|c| *c != '_').count() as i64;
    let trimmed = digits.trim_start_matches('0');
    digits = if trimmed.is_empty() {
        exponent = 0;
        "0".to_owned()
    } else {
        trimmed.to_owned()
    };
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
        exponent += 1;
    }
    Some(Number::Finite {
        negative,
        digits,
        exponent,
    })
}

/// Up to `max` digits; `(value, digits read)`.
fn take_digits(s: &[u8], max: usize) -> (u32, usize) {
    let mut value = 0u32;
    let mut n = 0;
    while n < max && n < s.len() && s[n].is_ascii_digit() {
        value = value * 10 + u32::from(s[n] - b'0');
        n += 1;
    }
    (value, n)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

fn valid_date(y: u32, m: u32, d: u32) -> bool {
    y >= 1 && (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)
}

/// `%Y-%m-%d` as Python's strptime reads it (month and day may have one digit).
/// Returns the rest of the text after the date.
fn parse_ymd(s: &str) -> Option<((u32, u32, u32), &str)> {
    let b = s.as_bytes();
    let (y, n) = take_digits(b, 4);
    if n != 4 || b.get(4) != Some(&b'-') {
        return None;
    }
    let (m, mn) = take_digits(&b[5..], 2);
    if mn == 0 || b.get(5 + mn) != Some(&b'-') {
        return None;
    }
    let at = 6 + mn;
    let (d, dn) = take_digits(&b[at..], 2);
    if dn == 0 || !valid_date(y, m, d) {
        return None;
    }
    Some(((y, m, d), &s[at + dn..]))
}

fn date_fields(value: &str) -> Option<(u32, u32, u32)> {
    match parse_ymd(value)? {
        (ymd, "") => Some(ymd),
        _ => None,
    }
}

fn parse_date(value: &str) -> Option<String> {
    date_fields(value).map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
}

/// `%Y-%m-%d %H:%M:%S`.
fn parse_datetime(value: &str) -> Option<String> {
    datetime_fields(value)
        .map(|[y, mo, d, h, mi, s]| format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"))
}

fn datetime_fields(value: &str) -> Option<[u32; 6]> {
    let ((y, mo, d), rest) = parse_ymd(value)?;
    let rest = rest.strip_prefix(' ')?.as_bytes();
    let mut parts = [0u32; 3];
    let mut at = 0;
    for (i, part) in parts.iter_mut().enumerate() {
        if i > 0 {
            if rest.get(at) != Some(&b':') {
                return None;
            }
            at += 1;
        }
        let (v, n) = take_digits(&rest[at..], 2);
        if n == 0 {
            return None;
        }
        *part = v;
        at += n;
    }
    let [h, mi, s] = parts;
    if at != rest.len() || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    Some([y, mo, d, h, mi, s])
}

/// ISO 8601 `date T time [zone]` (extended or basic), as `isodate.parse_datetime` reads it.
/// The zone is dropped, as PostgreSQL does for `timestamp without time zone`.
fn parse_iso_datetime(value: &str) -> Option<String> {
    let (date, time) = value.split_once('T')?;
    let (y, m, d) = match parse_ymd(date) {
        Some((ymd, "")) => ymd,
        Some(_) => return None,
        None => {
            let b = date.as_bytes();
            if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let (y, _) = take_digits(b, 4);
            let (m, _) = take_digits(&b[4..], 2);
            let (d, _) = take_digits(&b[6..], 2);
            if !valid_date(y, m, d) {
                return None;
            }
            (y, m, d)
        }
    };
    let zone_at = time.find(['Z', '+', '-']).unwrap_or(time.len());
    let (clock, zone) = time.split_at(zone_at);
    if !(zone.is_empty() || zone == "Z" || valid_zone(&zone[1..])) {
        return None;
    }
    let (hms, fraction) = match clock.find(['.', ',']) {
        Some(i) => (&clock[..i], &clock[i + 1..]),
        None => (clock, ""),
    };
    if clock.len() > hms.len()
        && (fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let fields: Vec<&str> = if hms.contains(':') {
        hms.split(':').collect()
    } else {
        (0..hms.len())
            .step_by(2)
            .map(|i| hms.get(i..i + 2).unwrap_or("x"))
            .collect()
    };
    if fields.is_empty()
        || fields.len() > 3
        || !fields
            .iter()
            .all(|f| f.len() == 2 && f.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let num = |i: usize| fields.get(i).map_or(0, |f| f.parse::<u32>().unwrap_or(99));
    let (h, mi, s) = (num(0), num(1), num(2));
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    // dbt hands PostgreSQL a zoned value, which lands in the column converted to the
    // session's time zone; this converts to UTC (see the gap noted on `load_seed`).
    let offset = zone_minutes(zone);
    let (mut y, mut m, mut d, mut h, mut mi) = (y, m, d, h, mi);
    if offset != 0 {
        let minutes = i64::from(h) * 60 + i64::from(mi) - offset;
        let day_shift = minutes.div_euclid(24 * 60);
        let minutes = minutes.rem_euclid(24 * 60);
        (h, mi) = ((minutes / 60) as u32, (minutes % 60) as u32);
        (y, m, d) = civil_from_days(days_from_civil(y, m, d) + day_shift)?;
    }
    let mut out = format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}");
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    Some(out)
}

/// `+02:00` -> 120, `-0530` -> -330; `Z` and no zone -> 0.
fn zone_minutes(zone: &str) -> i64 {
    let Some(sign) = zone.chars().next().filter(|c| *c == '+' || *c == '-') else {
        return 0;
    };
    let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
    let hours: i64 = digits.get(..2).and_then(|h| h.parse().ok()).unwrap_or(0);
    let minutes: i64 = digits.get(2..4).and_then(|m| m.parse().ok()).unwrap_or(0);
    let total = hours * 60 + minutes;
    if sign == '-' { -total } else { total }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: u32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let m = i64::from(m);
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01; `None` before year 1.
fn civil_from_days(days: i64) -> Option<(u32, u32, u32)> {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let d = day_of_year - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = year_of_era + era * 400 + i64::from(m <= 2);
    Some((
        u32::try_from(y).ok().filter(|y| *y >= 1)?,
        m as u32,
        d as u32,
    ))
}

fn valid_zone(z: &str) -> bool {
    let digits: String = z.chars().filter(|c| *c != ':').collect();
    (digits.len() == 2 || digits.len() == 4)
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (z.len() == digits.len() || z.as_bytes().get(2) == Some(&b':'))
}

/// `true`/`false` in any case; agate also ignores commas.
fn parse_bool(value: &str) -> Option<bool> {
    let v = value.replace(',', "");
    let v = v.trim();
    if v.eq_ignore_ascii_case("true") {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------
// Writing COPY rows
// ---------------------------------------------------------------------------------------

/// Appends one row in COPY's CSV form: NULL is an empty unquoted field, text is quoted.
fn write_row(out: &mut Vec<u8>, values: &[&str], plan: &Plan) -> Result<(), CsvProblem> {
    if values.len() > plan.columns.len() {
        return Err(CsvProblem::TooManyValues {
            found: values.len(),
            expected: plan.columns.len(),
        });
    }
    for (i, column) in plan.columns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Short rows are padded with NULLs, as agate does.
        let Some(raw) = values.get(i) else { continue };
        let value = raw.trim();
        if is_null(value) {
            continue;
        }
        // The first pass checked every value, so the parsers succeed here.
        match column.kind {
            Kind::Number => match plain_decimal(value) {
                // An integer column may hold `2.00`: PostgreSQL's integer input needs `2`.
                Some((_, dot)) if column.integer => {
                    out.extend_from_slice(&value.as_bytes()[..dot]);
                }
                Some(_) => out.extend_from_slice(value.as_bytes()),
                None => {
                    if let Some(n) = parse_number(value) {
                        n.write(out, column.integer);
                    }
                }
            },
            // Already canonical (zero-padded) values go out as they are.
            Kind::Date if value.len() == 10 => out.extend_from_slice(value.as_bytes()),
            Kind::Date => out.extend_from_slice(parse_date(value).unwrap_or_default().as_bytes()),
            Kind::DateTime if value.len() == 19 => out.extend_from_slice(value.as_bytes()),
            Kind::DateTime => {
                out.extend_from_slice(parse_datetime(value).unwrap_or_default().as_bytes());
            }
            Kind::IsoDateTime => {
                out.extend_from_slice(parse_iso_datetime(value).unwrap_or_default().as_bytes());
            }
            Kind::Boolean => out.extend_from_slice(match parse_bool(value) {
                Some(true) => b"true",
                _ => b"false",
            }),
            Kind::Text | Kind::Forced => {
                out.push(b'"');
                let mut parts = raw.split('"');
                if let Some(first) = parts.next() {
                    out.extend_from_slice(first.as_bytes());
                }
                for part in parts {
                    out.extend_from_slice(b"\"\"");
                    out.extend_from_slice(part.as_bytes());
                }
                out.push(b'"');
            }
        }
    }
    out.push(b'\n');
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Reading CSV
// ---------------------------------------------------------------------------------------

/// One CSV record: its fields' bytes back to back, where each field ends, and the
/// 1-based line it starts on.
#[derive(Debug, Default)]
struct Record {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    line: u64,
}

impl Record {
    /// The fields as text; a blank line has none.
    fn text(&self, path: &Path) -> Result<Vec<&str>, SeedError> {
        let all = std::str::from_utf8(&self.bytes).map_err(|_| SeedError::Csv {
            path: path.to_owned(),
            line: self.line,
            problem: CsvProblem::InvalidUtf8,
        })?;
        let mut start = 0;
        // Field boundaries sit at ASCII delimiters, so every slice is on a char boundary.
        Ok(self
            .ends
            .iter()
            .map(|&end| {
                let field = &all[start..end];
                start = end;
                field
            })
            .collect())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

/// A streaming CSV reader with Python `csv` module semantics (the reader dbt uses):
/// `""` escapes a quote, a quote inside an unquoted value is literal, text after a
/// closing quote is kept, `\n`, `\r\n` and `\r` end a record, a blank line is a record
/// without fields. A leading UTF-8 BOM is skipped.
struct CsvReader {
    src: BufReader<File>,
    path: PathBuf,
    delimiter: u8,
    /// The line the next byte is on.
    line: u64,
    /// A record ended with `\r`: a following `\n` belongs to it.
    skip_lf: bool,
}

impl CsvReader {
    fn open(path: &Path, delimiter: u8) -> Result<CsvReader, SeedError> {
        let read_err = |e: io::Error| SeedError::Read {
            path: path.to_owned(),
            reason: e.to_string(),
        };
        let file = File::open(path).map_err(read_err)?;
        let mut src = BufReader::with_capacity(256 * 1024, file);
        let head = src.fill_buf().map_err(read_err)?;
        if head.starts_with(b"\xEF\xBB\xBF") {
            src.consume(3);
        }
        Ok(CsvReader {
            src,
            path: path.to_owned(),
            delimiter,
            line: 1,
            skip_lf: false,
        })
    }

    /// Reads the next record into `rec`; false at the end of the file.
    fn next_record(&mut self, rec: &mut Record) -> Result<bool, SeedError> {
        rec.bytes.clear();
        rec.ends.clear();
        rec.line = self.line;
        let mut state = State::FieldStart;
        let mut started = false;
        loop {
            let chunk = self.src.fill_buf().map_err(|e| SeedError::Read {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
            if chunk.is_empty() {
                return match state {
                    State::Quoted => Err(SeedError::Csv {
                        path: self.path.clone(),
                        line: rec.line,
                        problem: CsvProblem::UnterminatedQuote,
                    }),
                    _ if !started => Ok(false),
                    _ => {
                        rec.ends.push(rec.bytes.len());
                        Ok(true)
                    }
                };
            }
            let mut i = 0;
            let len = chunk.len();
            while i < len {
                let b = chunk[i];
                i += 1;
                if self.skip_lf {
                    self.skip_lf = false;
                    if b == b'\n' {
                        continue;
                    }
                }
                if !started {
                    started = true;
                    rec.line = self.line;
                }
                let newline = b == b'\n' || b == b'\r';
                match state {
                    State::Quoted => {
                        if b == b'"' {
                            state = State::QuoteInQuoted;
                        } else {
                            if b == b'\n' {
                                self.line += 1;
                            }
                            rec.bytes.push(b);
                            // Copy the run up to the next quote or newline in one go.
                            let run = chunk[i..]
                                .iter()
                                .position(|&c| c == b'"' || c == b'\n')
                                .unwrap_or(len - i);
                            rec.bytes.extend_from_slice(&chunk[i..i + run]);
                            i += run;
                        }
                        continue;
                    }
                    State::QuoteInQuoted if b == b'"' => {
                        rec.bytes.push(b'"');
                        state = State::Quoted;
                        continue;
                    }
                    State::FieldStart if b == b'"' => {
                        state = State::Quoted;
                        continue;
                    }
                    _ => {}
                }
                if b == self.delimiter {
                    rec.ends.push(rec.bytes.len());
                    state = State::FieldStart;
                } else if newline {
                    // A blank line is a record without fields (agate pads it with NULLs).
                    if !(state == State::FieldStart && rec.ends.is_empty() && rec.bytes.is_empty())
                    {
                        rec.ends.push(rec.bytes.len());
                    }
                    self.line += 1;
                    self.skip_lf = b == b'\r';
                    self.src.consume(i);
                    return Ok(true);
                } else {
                    rec.bytes.push(b);
                    state = State::Unquoted;
                    let delimiter = self.delimiter;
                    let run = chunk[i..]
                        .iter()
                        .position(|&c| c == delimiter || c == b'\n' || c == b'\r')
                        .unwrap_or(len - i);
                    rec.bytes.extend_from_slice(&chunk[i..i + run]);
                    i += run;
                }
            }
            self.src.consume(len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Option<String> {
        parse_number(s).map(|n| {
            let mut out = Vec::new();
            n.write(&mut out, n.decimal_places() == 0);
            String::from_utf8(out).unwrap()
        })
    }

    #[test]
    fn numbers_parse_like_agate() {
        assert_eq!(n("1,000"), Some("1000".into()));
        assert_eq!(n("$6.50"), Some("65e-1".into()));
        assert_eq!(n("-$5"), Some("-5".into()));
        assert_eq!(n("2.0"), Some("2".into()));
        assert_eq!(n("1e3"), Some("1000".into()));
        assert_eq!(n("2.5E-1"), Some("25e-2".into()));
        assert_eq!(n("50%"), Some("50".into()));
        assert_eq!(n("007"), Some("7".into()));
        assert_eq!(n(".5"), Some("5e-1".into()));
        assert_eq!(n("-0"), Some("0".into()));
        assert_eq!(n("Infinity"), Some("Infinity".into()));
        assert_eq!(n("1_000"), Some("1000".into()));
        for bad in ["abc", "1.2.3", "e5", ".", "1e", "12a", "1-", "1__0", "_1"] {
            assert_eq!(n(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_and_times_parse_like_agate() {
        assert_eq!(parse_date("2024-2-9"), Some("2024-02-09".into()));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-01-31 10:00:00"), None);
        assert_eq!(
            parse_datetime("2024-01-31 1:2:3"),
            Some("2024-01-31 01:02:03".into())
        );
        assert_eq!(parse_datetime("2024-01-31T10:00:00"), None);
        assert_eq!(
            parse_iso_datetime("2024-01-31T10:11:12.5Z"),
            Some("2024-01-31 10:11:12.5".into())
        );
        assert_eq!(
            parse_iso_datetime("20240131T1011"),
            Some("2024-01-31 10:11:00".into())
        );
        assert_eq!(
            parse_iso_datetime("2024-01-05T10:11:12.25+02:00"),
            Some("2024-01-05 08:11:12.25".into())
        );
        assert_eq!(
            parse_iso_datetime("2024-12-31T23:30-0100"),
            Some("2025-01-01 00:30:00".into())
        );
        assert_eq!(
            parse_iso_datetime("2024-03-01T00:30+01"),
            Some("2024-02-29 23:30:00".into())
        );
        assert_eq!(parse_iso_datetime("2024-01-31"), None);
        assert_eq!(parse_iso_datetime("2024-01-31T25:00"), None);
        assert_eq!(parse_bool(" TRUE "), Some(true));
        assert_eq!(parse_bool("t"), None);
    }

    fn records(contents: &[u8], delimiter: u8) -> Vec<(u64, Vec<String>)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, contents).unwrap();
        let mut reader = CsvReader::open(&path, delimiter).unwrap();
        let mut rec = Record::default();
        let mut out = Vec::new();
        while reader.next_record(&mut rec).unwrap() {
            let fields = rec.text(&path).unwrap();
            out.push((rec.line, fields.iter().map(|f| (*f).to_owned()).collect()));
        }
        out
    }

    #[test]
    fn csv_reads_like_pythons_csv_module() {
        // Expected values printed by Python's csv.reader on the same text.
        assert_eq!(
            records(b"a,\"b\"x,c\"d\n\"q\"\"\" , 1", b','),
            [
                (1, vec!["a".into(), "bx".into(), "c\"d".into()]),
                (2, vec!["q\" ".into(), " 1".into()]),
            ]
        );
        assert_eq!(
            records(b"\xEF\xBB\xBFa|b\r\n\"x\ny\"|2\r\n\r\n3|\"\"\r4\n", b'|'),
            [
                (1, vec!["a".into(), "b".into()]),
                (2, vec!["x\ny".into(), "2".into()]),
                (4, vec![]),
                (5, vec!["3".into(), "".into()]),
                (6, vec!["4".into()]),
            ]
        );
    }

    #[test]
    fn header_names_like_agate() {
        assert_eq!(
            column_names(&["a", "B c", "a", ""]),
            ["a", "B c", "a_2", "d"]
        );
    }
}
