//! Locations and diagnostics shared by every mfb crate.
//!
//! A [`Diagnostic`] is a value: a stable code, a one-line message, where it happened,
//! notes and a `help:` line saying what to do next. Libraries build them; only
//! `mfb-cli` renders them (human or JSON). Nothing here performs I/O or prints, except the
//! opt-in [`phase`] timings for performance work.

pub mod phase;

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// A position in a project file. `file` is relative to the project root when the file is
/// inside it; `line` and `column` are 1-based (0 means "unknown").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Location {
    /// The file, relative to the project root where possible.
    pub file: PathBuf,
    /// 1-based line, 0 when unknown.
    pub line: u32,
    /// 1-based column, 0 when unknown.
    pub column: u32,
}

impl Location {
    /// A location pointing at a whole file.
    pub fn file(file: impl Into<PathBuf>) -> Self {
        Location {
            file: file.into(),
            line: 0,
            column: 0,
        }
    }

    /// A location pointing at a line (and optionally a column) of a file.
    pub fn new(file: impl Into<PathBuf>, line: u32, column: u32) -> Self {
        Location {
            file: file.into(),
            line,
            column,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        Ok(())
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Stops the command (exit code 2 for compile/config errors).
    Error,
    /// Reported, but the command goes on.
    Warning,
}

/// A problem to show the user: what went wrong, where, and what to do.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnostic {
    /// Stable, kebab-case code such as `ref-not-found`.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// One line saying what is wrong.
    pub message: String,
    /// Where it happened, if known.
    pub location: Option<Location>,
    /// The source line at `location` (without the trailing newline), when known.
    pub source_line: Option<String>,
    /// How many characters to underline from `location.column` (0: just a caret).
    pub span_len: u32,
    /// Extra context lines (`= note: ...`).
    pub notes: Vec<String>,
    /// What to do next (`= help: ...`).
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with a code and a message and nothing else yet.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            location: None,
            source_line: None,
            span_len: 0,
            notes: Vec::new(),
            help: None,
        }
    }

    /// A warning with a code and a message.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// Sets the location.
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    /// Sets the location and fills the source line from `source` (the file's text).
    pub fn at_in(mut self, location: Location, source: &str) -> Self {
        if location.line > 0 {
            self.source_line = source
                .lines()
                .nth(location.line as usize - 1)
                .map(|l| l.trim_end_matches('\r').to_owned());
        }
        self.location = Some(location);
        self
    }

    /// Underlines `len` characters from the location's column.
    pub fn with_span_len(mut self, len: u32) -> Self {
        self.span_len = len;
        self
    }

    /// Adds a note line.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Sets the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.code, self.message)?;
        if let Some(loc) = &self.location {
            write!(f, " ({loc})")?;
        }
        Ok(())
    }
}

/// Converts a crate's typed error into a [`Diagnostic`].
pub trait IntoDiagnostic {
    /// The diagnostic for this error.
    fn into_diagnostic(self) -> Diagnostic;
}

/// Returns the candidate closest to `name` (Jaro-Winkler-free, edit distance based), for
/// "did you mean" hints. Candidates further than a third of the name's length are ignored.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (levenshtein(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j + 1] + 1).min(cur[j] + 1).min(prev[j] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_finds_a_typo() {
        let names = ["stg_screeners", "stg_programs", "fct_screens"];
        assert_eq!(closest("stg_screener", names), Some("stg_screeners"));
        assert_eq!(closest("totally_else", names), None);
    }

    #[test]
    fn location_display_omits_unknown_parts() {
        assert_eq!(Location::file("a.sql").to_string(), "a.sql");
        assert_eq!(Location::new("a.sql", 3, 0).to_string(), "a.sql:3");
        assert_eq!(Location::new("a.sql", 3, 7).to_string(), "a.sql:3:7");
    }

    #[test]
    fn at_in_fills_the_source_line() {
        let d = Diagnostic::error("x", "m").at_in(Location::new("f", 2, 1), "one\ntwo\r\nthree");
        assert_eq!(d.source_line.as_deref(), Some("two"));
    }
}
