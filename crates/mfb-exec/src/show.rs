//! `show`: run a compiled node (or inline SQL) with a row limit and present the rows the
//! way dbt 1.10 does: a text table in agate's `print_table` layout, or JSON objects.
//!
//! The query is `select * from (<compiled>) limit N`, so a model that ends in a comment or
//! orders its rows keeps working; `limit -1` runs the compiled SQL as it is. Ephemeral
//! models referenced by inline SQL become CTEs, as they do in compiled models. Nothing
//! here prints: the CLI chooses where the text goes.

use std::sync::Arc;

use indexmap::IndexMap;
use mfb_diagnostics::{Diagnostic, IntoDiagnostic};
use mfb_graph::{Node, UniqueId};
use mfb_postgres::Cell;
pub use mfb_postgres::Table;
use serde_json::{Map, Value};

use crate::compile::{compile_context, inject_ctes, render_for_node};
use crate::context::RefIndex;
use crate::{Diagnostics, Parsed};

/// agate's defaults in `print_table`, which dbt keeps.
const MAX_COLUMNS: usize = 6;
const MAX_COLUMN_WIDTH: usize = 20;
const MAX_PRECISION: usize = 3;

/// The SQL that previews `compiled` with at most `limit` rows (all rows when negative).
pub fn limited_sql(compiled: &str, limit: i64) -> String {
    let body = compiled.trim_end().trim_end_matches(';').trim_end();
    if limit < 0 {
        return body.to_owned();
    }
    // The newline before `)` keeps a trailing `-- comment` from swallowing the rest.
    format!("select * from (\n{body}\n) as model_limit_subq\nlimit {limit}")
}

/// Compiles `--inline` SQL; ephemeral models it refers to are prepended as CTEs.
pub fn compile_inline(parsed: &Parsed, sql: &str) -> Result<String, Diagnostics> {
    let compiled = crate::compile::compile_inline(parsed, sql)?;
    let manifest = &parsed.manifest;
    let used: Vec<String> = manifest
        .nodes
        .values()
        .filter(|n| {
            n.config.get("materialized").and_then(Value::as_str) == Some("ephemeral")
                && compiled.contains(&format!("__dbt__cte__{}", n.alias))
        })
        .map(|n| n.unique_id.to_string())
        .collect();
    let Some(any) = manifest.nodes.values().next() else {
        return Ok(compiled);
    };
    if used.is_empty() {
        return Ok(compiled);
    }
    // Every ephemeral model, rendered, so nested ones can be injected in order too.
    let run = compile_context(parsed);
    let index = Arc::new(RefIndex::build(manifest));
    let mut bodies: IndexMap<UniqueId, String> = IndexMap::new();
    let mut errors = Vec::new();
    for n in manifest.nodes.values() {
        if n.config.get("materialized").and_then(Value::as_str) != Some("ephemeral") {
            continue;
        }
        match render_for_node(parsed, &run, &index, n, &n.raw_code, false) {
            Ok(body) => {
                bodies.insert(n.unique_id.clone(), body);
            }
            Err(d) => errors.push(d),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut inline: Node = any.clone();
    inline.depends_on.nodes = used;
    Ok(inject_ctes(manifest, &inline, &compiled, &bodies))
}

/// Runs `sql` on a new connection of the project's target and returns its rows.
pub fn fetch(parsed: &Parsed, sql: &str) -> Result<Table, Diagnostic> {
    let config = crate::warehouse::connection_config(&parsed.loaded.target).map_err(|m| {
        Diagnostic::error("profile-invalid", m).with_help("fix the profile's fields")
    })?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Diagnostic::error("runtime", format!("cannot start the async runtime: {e}"))
        })?;
    rt.block_on(async {
        let conn = mfb_postgres::connect(&config)
            .await
            .map_err(IntoDiagnostic::into_diagnostic)?;
        conn.fetch(sql)
            .await
            .map_err(IntoDiagnostic::into_diagnostic)
    })
}

/// How agate types a column, which decides its format and alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Number,
    Other,
    Text,
}

fn kind_of(table: &Table, col: usize) -> Kind {
    let mut kind = None;
    for row in &table.rows {
        let k = match &row[col] {
            Cell::Null => continue,
            Cell::Int(_) => Kind::Integer,
            Cell::Decimal(_) | Cell::Float(_) => Kind::Number,
            Cell::Bool(_) | Cell::Date(_) | Cell::Timestamp(_) => Kind::Other,
            Cell::Text(_) | Cell::Json(_) => Kind::Text,
        };
        kind = Some(match kind {
            None => k,
            Some(prev) if prev == k => k,
            Some(Kind::Integer | Kind::Number) if matches!(k, Kind::Integer | Kind::Number) => {
                Kind::Number
            }
            Some(_) => Kind::Text,
        });
    }
    kind.unwrap_or(match table.columns[col].type_name.as_str() {
        "int2" | "int4" | "int8" | "oid" => Kind::Integer,
        "numeric" | "float4" | "float8" | "money" => Kind::Number,
        "bool" | "date" | "timestamp" | "timestamptz" | "time" | "timetz" => Kind::Other,
        _ => Kind::Text,
    })
}

/// A number's decimal digits as text: sign, integer digits, fraction digits.
fn split_number(text: &str) -> Option<(bool, String, String)> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    (ok(int) && ok(frac) && !int.is_empty()).then(|| (neg, int.to_owned(), frac.to_owned()))
}

fn number_text(cell: &Cell) -> Option<String> {
    match cell {
        Cell::Int(i) => Some(i.to_string()),
        Cell::Float(f) if f.is_finite() => Some(f.to_string()),
        Cell::Decimal(d) => Some(d.clone()),
        _ => None,
    }
}

/// Rounds to `places` decimals (half to even, like Python's decimal) and groups thousands.
fn format_number(text: &str, places: usize) -> String {
    let Some((neg, int, frac)) = split_number(text) else {
        return text.to_owned();
    };
    let mut digits: Vec<u8> = int.bytes().map(|b| b - b'0').collect();
    let mut kept: Vec<u8> = frac.bytes().map(|b| b - b'0').collect();
    let rest: Vec<u8> = if kept.len() > places {
        kept.split_off(places)
    } else {
        Vec::new()
    };
    kept.resize(places, 0);
    let last = kept.last().or(digits.last()).copied().unwrap_or(0);
    let round_up = match rest.first() {
        Some(d) if *d > 5 => true,
        Some(5) => rest[1..].iter().any(|d| *d > 0) || last % 2 == 1,
        _ => false,
    };
    if round_up {
        let mut all: Vec<u8> = digits.iter().chain(kept.iter()).copied().collect();
        let mut i = all.len();
        loop {
            if i == 0 {
                all.insert(0, 1);
                break;
            }
            i -= 1;
            if all[i] == 9 {
                all[i] = 0;
            } else {
                all[i] += 1;
                break;
            }
        }
        let split = all.len() - places;
        kept = all.split_off(split);
        digits = all;
    }
    let int: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let zero = digits.iter().chain(kept.iter()).all(|d| *d == 0);
    let mut out = String::new();
    if neg && !zero {
        out.push('-');
    }
    out.push_str(&grouped);
    if places > 0 {
        out.push('.');
        out.extend(kept.iter().map(|d| char::from(b'0' + d)));
    }
    out
}

/// PostgreSQL's timestamp text as Python prints a datetime (`+00` offsets as `+00:00`,
/// fractions to microseconds); `iso` puts a `T` between date and time, as JSON does.
fn python_datetime(text: &str, iso: bool) -> String {
    let (date, time) = match text.split_once(' ') {
        Some((d, t)) => (Some(d), t),
        None => (None, text),
    };
    let offset_at = time.rfind(['+', '-']).filter(|i| *i > 0);
    let (clock, offset) = match offset_at {
        Some(i) => (&time[..i], &time[i..]),
        None => (time, ""),
    };
    let clock = match clock.split_once('.') {
        Some((hms, frac)) => format!("{hms}.{frac:0<6}"),
        None => clock.to_owned(),
    };
    let offset = if offset.len() == 3 {
        format!("{offset}:00")
    } else {
        offset.to_owned()
    };
    match date {
        Some(d) => format!("{d}{}{clock}{offset}", if iso { 'T' } else { ' ' }),
        None => format!("{clock}{offset}"),
    }
}

/// JSON text with Python's `json.dumps` separators (`, ` and `: `).
fn python_json(v: &Value) -> String {
    match v {
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_json).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), python_json(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

fn plain_text(cell: &Cell) -> String {
    match cell {
        Cell::Null => String::new(),
        Cell::Bool(true) => "True".to_owned(),
        Cell::Bool(false) => "False".to_owned(),
        Cell::Timestamp(t) => python_datetime(t, false),
        Cell::Json(v) => python_json(v),
        other => other.as_text().unwrap_or_default(),
    }
}

fn truncate(text: String) -> String {
    if text.chars().count() > MAX_COLUMN_WIDTH {
        let kept: String = text.chars().take(MAX_COLUMN_WIDTH - 3).collect();
        format!("{kept}...")
    } else {
        text
    }
}

/// The rows as a text table in agate's `print_table` layout: text left-aligned and
/// everything else right-aligned, numbers grouped by thousands with the column's
/// precision (at most 3 decimals, `…` when cut), values and names cut at 20 characters,
/// and only the first 6 columns, then a `...` column.
pub fn text_table(table: &Table) -> String {
    let shown = table.columns.len().min(MAX_COLUMNS);
    let more = table.columns.len() > MAX_COLUMNS;
    let mut columns: Vec<(String, Vec<String>, bool)> = Vec::new();
    for c in 0..shown {
        let kind = kind_of(table, c);
        let places = if kind == Kind::Number {
            table
                .rows
                .iter()
                .filter_map(|r| number_text(&r[c]))
                .filter_map(|t| split_number(&t).map(|(_, _, frac)| frac.len()))
                .max()
                .unwrap_or(0)
        } else {
            0
        };
        let ellipsis = places > MAX_PRECISION;
        let values = table
            .rows
            .iter()
            .map(|r| {
                let cell = &r[c];
                let text = match (kind, number_text(cell)) {
                    (Kind::Number, Some(t)) => {
                        let mut s = format_number(&t, places.min(MAX_PRECISION));
                        if ellipsis {
                            s.push('…');
                        }
                        s
                    }
                    _ => plain_text(cell),
                };
                truncate(text)
            })
            .collect();
        columns.push((
            truncate(table.columns[c].name.clone()),
            values,
            kind != Kind::Text,
        ));
    }
    if more {
        columns.push((
            "...".to_owned(),
            vec!["...".to_owned(); table.rows.len()],
            false,
        ));
    }
    let widths: Vec<usize> = columns
        .iter()
        .map(|(name, values, _)| {
            values
                .iter()
                .map(|v| v.chars().count())
                .chain([name.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let pad = |text: &str, width: usize, right: bool| {
        let fill = " ".repeat(width.saturating_sub(text.chars().count()));
        if right {
            format!("{fill}{text}")
        } else {
            format!("{text}{fill}")
        }
    };
    let line = |cells: Vec<String>| format!("| {} |", cells.join(" | "));
    let mut out = vec![
        line(
            columns
                .iter()
                .zip(&widths)
                .map(|((name, _, right), w)| pad(name, *w, *right))
                .collect(),
        ),
        line(widths.iter().map(|w| "-".repeat(*w)).collect()),
    ];
    for r in 0..table.rows.len() {
        out.push(line(
            columns
                .iter()
                .zip(&widths)
                .map(|((_, values, right), w)| pad(&values[r], *w, *right))
                .collect(),
        ));
    }
    out.join("\n")
}

/// One JSON object per row, as dbt's `--output json` gives them.
pub fn json_rows(table: &Table) -> Vec<Value> {
    table
        .rows
        .iter()
        .map(|row| {
            let mut obj = Map::new();
            for (col, cell) in table.columns.iter().zip(row) {
                let v = match cell {
                    Cell::Null => Value::Null,
                    Cell::Bool(b) => Value::Bool(*b),
                    Cell::Int(i) => Value::from(*i),
                    Cell::Float(f) => serde_json::Number::from_f64(*f)
                        .map(Value::Number)
                        .unwrap_or(Value::Null),
                    Cell::Decimal(d) => d
                        .parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map(Value::Number)
                        .unwrap_or_else(|| Value::String(d.clone())),
                    Cell::Timestamp(t) => Value::String(python_datetime(t, true)),
                    Cell::Json(j) => Value::String(python_json(j)),
                    Cell::Date(s) | Cell::Text(s) => Value::String(s.clone()),
                };
                obj.insert(col.name.clone(), v);
            }
            Value::Object(obj)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mfb_postgres::Column;

    fn table(cols: &[(&str, &str)], rows: Vec<Vec<Cell>>) -> Table {
        Table {
            columns: cols
                .iter()
                .map(|(n, t)| Column {
                    name: (*n).to_owned(),
                    type_name: (*t).to_owned(),
                })
                .collect(),
            rows,
        }
    }

    #[test]
    fn numbers_round_half_even_and_group_thousands() {
        assert_eq!(format_number("12345.678", 3), "12,345.678");
        assert_eq!(format_number("1.1", 3), "1.100");
        assert_eq!(format_number("0.3333333", 3), "0.333");
        assert_eq!(format_number("0.6666666", 3), "0.667");
        assert_eq!(format_number("2.5", 0), "2");
        assert_eq!(format_number("3.5", 0), "4");
        assert_eq!(format_number("999.9996", 3), "1,000.000");
        assert_eq!(format_number("-1000", 0), "-1,000");
        assert_eq!(
            format_number("100000000000000000000", 0),
            "100,000,000,000,000,000,000"
        );
    }

    #[test]
    fn prints_like_agate() {
        let t = table(
            &[
                ("id", "int4"),
                ("customer", "text"),
                ("amount", "numeric"),
                ("day", "date"),
                ("even", "bool"),
                ("note", "text"),
            ],
            vec![
                vec![
                    Cell::Int(1),
                    Cell::Text("cust_1".into()),
                    Cell::Decimal("1.5".into()),
                    Cell::Date("2024-01-02".into()),
                    Cell::Bool(false),
                    Cell::Null,
                ],
                vec![
                    Cell::Int(2),
                    Cell::Text("cust_2".into()),
                    Cell::Decimal("3.0".into()),
                    Cell::Date("2024-01-03".into()),
                    Cell::Bool(true),
                    Cell::Null,
                ],
            ],
        );
        insta::assert_snapshot!(text_table(&t), @r"
        | id | customer | amount |        day |  even | note |
        | -- | -------- | ------ | ---------- | ----- | ---- |
        |  1 | cust_1   |    1.5 | 2024-01-02 | False |      |
        |  2 | cust_2   |    3.0 | 2024-01-03 |  True |      |
        ");
    }

    #[test]
    fn cuts_wide_tables_long_values_and_precision() {
        let t = table(
            &[
                ("a", "numeric"),
                ("b", "text"),
                ("c", "timestamptz"),
                ("d", "int4"),
                ("e", "int4"),
                ("a_very_long_column_name", "int4"),
                ("g", "int4"),
            ],
            vec![vec![
                Cell::Decimal("0.33333333".into()),
                Cell::Text("x".repeat(40)),
                Cell::Timestamp("2024-01-01 10:00:00.5+00".into()),
                Cell::Int(1234567),
                Cell::Null,
                Cell::Int(1),
                Cell::Int(2),
            ]],
        );
        insta::assert_snapshot!(text_table(&t), @r"
        |      a | b                    |                    c |       d | e | a_very_long_colum... | ... |
        | ------ | -------------------- | -------------------- | ------- | - | -------------------- | --- |
        | 0.333… | xxxxxxxxxxxxxxxxx... | 2024-01-01 10:00:... | 1234567 |   |                    1 | ... |
        ");
    }

    #[test]
    fn json_rows_use_python_forms() {
        let t = table(
            &[("ts", "timestamptz"), ("j", "jsonb"), ("n", "numeric")],
            vec![vec![
                Cell::Timestamp("2024-01-01 10:00:00+00".into()),
                Cell::Json(serde_json::json!({"a": [1, 2]})),
                Cell::Decimal("3.0".into()),
            ]],
        );
        assert_eq!(
            Value::Array(json_rows(&t)).to_string(),
            r#"[{"ts":"2024-01-01T10:00:00+00:00","j":"{\"a\": [1, 2]}","n":3.0}]"#
        );
    }

    #[test]
    fn limit_wraps_the_compiled_sql() {
        assert_eq!(
            limited_sql("select 1 -- note\n;\n", 5),
            "select * from (\nselect 1 -- note\n) as model_limit_subq\nlimit 5"
        );
        assert_eq!(limited_sql("select 1;", -1), "select 1");
    }
}
