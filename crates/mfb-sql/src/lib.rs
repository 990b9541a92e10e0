//! Understanding compiled SQL: which columns a model outputs, which tables it reads, and
//! where each output column comes from (column-level lineage).
//!
//! [`parse`] reads SQL once with sqlparser's PostgreSQL dialect; [`ParsedSql::analyze`]
//! walks it with a [`SchemaProvider`] that knows the columns of upstream relations (the
//! catalog, or upstream models' own analyses), so `select *` and `t.*` expand. Lineage
//! follows CTEs, joins (`using` and `natural` included), derived tables, `lateral`,
//! correlated and scalar subqueries, set operations, window functions and aggregates.
//! What cannot be known (a `*` over a relation nobody knows the columns of, a name that
//! does not resolve) makes the [`Analysis`] incomplete instead of failing.
//!
//! This crate only reads SQL. It does not decide what a missing column means (mfb-exec
//! does, for row-level security), and it never touches a database. sqlparser's types stay
//! inside: callers see [`TableRef`], [`OutputColumn`] and [`ParseProblem`].

mod lineage;
mod names;
mod schema;

use std::fmt;
use std::path::Path;

use mfb_diagnostics::{Diagnostic, Location};
use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};

pub use schema::{SchemaMap, SchemaProvider};

/// A relation named in SQL, with PostgreSQL's folding applied (unquoted parts lower case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableRef {
    /// The database (catalog), when the SQL names one.
    pub database: Option<String>,
    /// The schema, when the SQL names one.
    pub schema: Option<String>,
    /// The relation's name.
    pub name: String,
}

impl TableRef {
    /// A relation named by all three parts.
    pub fn new(database: &str, schema: &str, name: &str) -> Self {
        TableRef {
            database: Some(database.to_owned()),
            schema: Some(schema.to_owned()),
            name: name.to_owned(),
        }
    }

    /// A relation named by its name only.
    pub fn bare(name: &str) -> Self {
        TableRef {
            database: None,
            schema: None,
            name: name.to_owned(),
        }
    }
}

impl fmt::Display for TableRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in [&self.database, &self.schema].into_iter().flatten() {
            write!(f, "{part}.")?;
        }
        f.write_str(&self.name)
    }
}

/// A column of a relation the SQL reads: the end of a lineage edge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ColumnRef {
    /// The relation (never a CTE or a derived table: those are looked through).
    pub table: TableRef,
    /// The column's name.
    pub column: String,
}

impl fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.table, self.column)
    }
}

/// How an output column relates to the upstream columns it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineageKind {
    /// The upstream column's value, under the same name (`select id`, `t.id`, `select *`).
    PassThrough,
    /// The upstream column's value under another name (`select id as screen_id`).
    Renamed,
    /// Computed: a function, cast, operator, aggregate, window, constant or subquery.
    Transformed,
}

impl LineageKind {
    /// `pass_through`, `renamed` or `transformed`.
    pub fn as_str(self) -> &'static str {
        match self {
            LineageKind::PassThrough => "pass_through",
            LineageKind::Renamed => "renamed",
            LineageKind::Transformed => "transformed",
        }
    }
}

/// One column of the SQL's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputColumn {
    /// Its name as PostgreSQL gives it (`?column?` for an unnamed expression).
    pub name: String,
    /// The upstream columns its value is computed from, in order of first appearance.
    /// Empty for constants and `count(*)`.
    pub sources: Vec<ColumnRef>,
    /// Pass-through, renamed or transformed.
    pub kind: LineageKind,
}

/// What [`ParsedSql::analyze`] learned about one query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Analysis {
    /// The output columns, in order. When `columns_known` is false these are only the
    /// ones that could be named (a `*` over an unknown relation hides the rest).
    pub columns: Vec<OutputColumn>,
    /// Every relation read, anywhere in the query (CTEs and derived tables excluded), in
    /// order of first appearance.
    pub tables: Vec<TableRef>,
    /// Whether `columns` is exactly the list of output columns.
    pub columns_known: bool,
    /// Whether the analysis is complete: columns known and every column reference resolved.
    pub complete: bool,
    /// Line and column (1-based) of the outermost `SELECT` keyword, when there is one.
    pub select_at: Option<(u32, u32)>,
}

impl Analysis {
    /// The output column called `name`, if any.
    pub fn column(&self, name: &str) -> Option<&OutputColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The output column names, in order.
    pub fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }
}

/// SQL that sqlparser could not read, with where it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseProblem {
    /// sqlparser's message, without its trailing position.
    pub message: String,
    /// 1-based line in the SQL, 0 when unknown.
    pub line: u32,
    /// 1-based column in the SQL, 0 when unknown.
    pub column: u32,
}

impl ParseProblem {
    fn from_parser(error: ParserError) -> Self {
        let text = match error {
            ParserError::TokenizerError(m) | ParserError::ParserError(m) => m,
            ParserError::RecursionLimitExceeded => "the SQL is nested too deeply".to_owned(),
        };
        // sqlparser only puts the position in the text: "... at Line: 3, Column: 14".
        if let Some(at) = text.rfind(" at Line: ") {
            let tail = &text[at + " at Line: ".len()..];
            let mut parts = tail.split(", Column: ");
            let line = parts.next().and_then(|l| l.trim().parse().ok());
            let column = parts.next().and_then(|c| {
                let digits: String = c.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            });
            if let (Some(line), Some(column)) = (line, column) {
                return ParseProblem {
                    message: text[..at].to_owned(),
                    line,
                    column,
                };
            }
        }
        ParseProblem {
            message: text,
            line: 0,
            column: 0,
        }
    }

    /// A warning (`sql-unparsed`) naming `file` (the compiled SQL) and the line; `source`
    /// is the file's text, for the snippet. Lineage of the model is then unknown, nothing
    /// else changes: the build goes on.
    pub fn into_warning(self, file: &Path, source: &str) -> Diagnostic {
        Diagnostic::warning(
            "sql-unparsed",
            format!(
                "{}: mfb could not read this SQL ({}), so its column lineage is unknown",
                file.display(),
                self.message
            ),
        )
        .at_in(Location::new(file, self.line, self.column), source)
        .with_help(
            "PostgreSQL may still accept it; if it does, report the construct so mfb-sql learns it",
        )
    }
}

impl fmt::Display for ParseProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{} at line {}, column {}",
                self.message, self.line, self.column
            )
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for ParseProblem {}

/// SQL parsed once, ready to be analysed (possibly later, against another schema).
#[derive(Debug, Clone)]
pub struct ParsedSql {
    statements: Vec<Statement>,
}

/// Parses `sql` (PostgreSQL dialect).
pub fn parse(sql: &str) -> Result<ParsedSql, ParseProblem> {
    Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .map(|statements| ParsedSql { statements })
        .map_err(ParseProblem::from_parser)
}

impl ParsedSql {
    /// The output columns, tables and lineage of the last query statement. SQL with no
    /// query (DDL only) gives an empty, incomplete analysis.
    pub fn analyze(&self, schema: &dyn SchemaProvider) -> Analysis {
        let query = self.statements.iter().rev().find_map(|s| match s {
            Statement::Query(q) => Some(q),
            _ => None,
        });
        match query {
            Some(q) => lineage::analyze_query(q, schema),
            None => Analysis::default(),
        }
    }
}

/// [`parse`] then [`ParsedSql::analyze`].
pub fn analyze(sql: &str, schema: &dyn SchemaProvider) -> Result<Analysis, ParseProblem> {
    Ok(parse(sql)?.analyze(schema))
}

/// How much of a project's SQL was fully analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Coverage {
    /// Models looked at.
    pub total: usize,
    /// Models whose SQL parsed.
    pub parsed: usize,
    /// Models whose analysis is complete.
    pub complete: usize,
}

impl Coverage {
    /// Counts one model's outcome.
    pub fn add(&mut self, outcome: &Result<Analysis, ParseProblem>) {
        self.total += 1;
        if let Ok(a) = outcome {
            self.parsed += 1;
            self.complete += usize::from(a.complete);
        }
    }

    /// The share of models fully analysed, 0.0 to 1.0 (1.0 for no models).
    pub fn share(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.complete as f64 / self.total as f64
        }
    }
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "column lineage: {} of {} models fully analysed ({:.0}%), {} unparsed",
            self.complete,
            self.total,
            self.share() * 100.0,
            self.total - self.parsed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_problems_carry_line_and_column() {
        let err = parse("select a,\n  from from t").unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
        assert!(err.column > 0, "{err:?}");
        assert!(!err.message.contains("Line:"), "{err:?}");
        let warning = err.into_warning(Path::new("target/compiled/p/models/a.sql"), "x\ny");
        assert_eq!(warning.code, "sql-unparsed");
        assert!(!warning.is_error());
        assert_eq!(warning.location.unwrap().line, 2);
        assert_eq!(warning.source_line.as_deref(), Some("y"));
    }

    #[test]
    fn coverage_counts_complete_models() {
        let mut c = Coverage::default();
        c.add(&analyze("select 1 as a", &SchemaMap::default()));
        c.add(&analyze("select * from unknown_t", &SchemaMap::default()));
        c.add(&analyze("select (1", &SchemaMap::default()));
        assert_eq!(
            c,
            Coverage {
                total: 3,
                parsed: 2,
                complete: 1
            }
        );
        assert_eq!(
            c.to_string(),
            "column lineage: 1 of 3 models fully analysed (33%), 1 unparsed"
        );
    }

    #[test]
    fn statements_before_the_query_are_skipped() {
        let a = analyze(
            "set search_path = x; select 1 as one",
            &SchemaMap::default(),
        )
        .unwrap();
        assert_eq!(a.column_names(), ["one"]);
        assert!(a.complete);
    }
}
