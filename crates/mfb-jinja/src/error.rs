//! Jinja errors with the user's file, line, column and source line.

use std::collections::HashMap;
use std::sync::Arc;

use mfb_diagnostics::{Diagnostic, IntoDiagnostic, Location};
use minijinja::ErrorKind;

/// A render failure, located in the user's file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct JinjaError {
    /// Stable diagnostic code.
    pub code: &'static str,
    /// One line saying what went wrong.
    pub message: String,
    /// Where (project-relative file, line, column), when known.
    pub location: Option<Location>,
    /// The source line at `location`.
    pub source_line: Option<String>,
    /// What was being rendered (`model.my_project.orders`).
    pub node: Option<String>,
    /// Outer frames: macro call sites from innermost to outermost.
    pub called_from: Vec<Location>,
    /// What to do next.
    pub help: Option<String>,
}

/// The original sources of templates, by template name (macro templates are named
/// `<file>#<macro>`; the part before `#` is the file).
pub(crate) type Sources = HashMap<String, Arc<str>>;

fn file_of(template: &str) -> &str {
    template.split_once('#').map_or(template, |(f, _)| f)
}

impl JinjaError {
    /// Converts a minijinja error. `sources` maps file names to their original text.
    pub(crate) fn from_minijinja(
        err: &minijinja::Error,
        sources: &Sources,
        extra: Option<(&str, &str)>,
        node: Option<&str>,
    ) -> Self {
        // Walk the chain: the innermost located error is the most precise.
        let mut chain: Vec<&minijinja::Error> = vec![err];
        let mut cur: &dyn std::error::Error = err;
        while let Some(next) = cur.source() {
            if let Some(e) = next.downcast_ref::<minijinja::Error>() {
                chain.push(e);
            }
            cur = next;
        }
        let located: Vec<&minijinja::Error> = chain
            .iter()
            .copied()
            .filter(|e| e.name().is_some() && e.line().is_some())
            .collect();
        let innermost = located.last().copied().unwrap_or(err);
        let deepest = chain.last().copied().unwrap_or(err);
        let message = describe(deepest);
        let locate = |e: &minijinja::Error| -> Option<(Location, Option<String>)> {
            let name = e.name()?;
            let line = e.line()? as u32;
            let file = file_of(name);
            let source = sources
                .get(file)
                .map(|s| &**s)
                .or_else(|| extra.filter(|(n, _)| *n == file).map(|(_, s)| s));
            let source_line = source
                .and_then(|s| s.lines().nth(line as usize - 1))
                .map(|l| l.trim_end().to_owned());
            let column = match (e.range(), e.template_source()) {
                (Some(r), Some(src)) if r.start <= src.len() => {
                    let before = &src[..r.start];
                    before[before.rfind('\n').map_or(0, |p| p + 1)..]
                        .chars()
                        .count() as u32
                        + 1
                }
                _ => 0,
            };
            Some((Location::new(file, line, column), source_line))
        };
        let (location, source_line) = match locate(innermost) {
            Some((l, s)) => (Some(l), s),
            None => (None, None),
        };
        let mut called_from: Vec<Location> = located
            .iter()
            .rev()
            .skip(1)
            .filter_map(|e| locate(e).map(|(l, _)| l))
            .collect();
        called_from.dedup();
        if called_from.first() == location.as_ref() {
            called_from.remove(0);
        }
        let (code, help) = classify(deepest, &message);
        JinjaError {
            code,
            message,
            location,
            source_line,
            node: node.map(str::to_owned),
            called_from,
            help,
        }
    }
}

fn describe(e: &minijinja::Error) -> String {
    let detail = e.detail().map(str::to_owned);
    match (e.kind(), detail) {
        (ErrorKind::SyntaxError, Some(d)) => format!("syntax error: {d}"),
        (ErrorKind::UndefinedError, Some(d)) => format!("undefined value: {d}"),
        (ErrorKind::UnknownFunction, Some(d)) => d,
        (ErrorKind::UnknownFunction, None) => "unknown function".to_owned(),
        (ErrorKind::UnknownMethod, Some(d)) => d,
        (_, Some(d)) => d,
        (kind, None) => kind.to_string(),
    }
}

fn classify(e: &minijinja::Error, message: &str) -> (&'static str, Option<String>) {
    match e.kind() {
        ErrorKind::SyntaxError => (
            "jinja-syntax",
            Some("fix the Jinja syntax at this line".to_owned()),
        ),
        ErrorKind::UnknownFunction => (
            "unknown-macro",
            Some(
                "define the macro in macros/, install its package, or check the spelling"
                    .to_owned(),
            ),
        ),
        ErrorKind::UnknownMethod => ("unknown-method", None),
        ErrorKind::UndefinedError => (
            "undefined",
            Some("check the name, or guard it with `is defined`".to_owned()),
        ),
        _ if message.starts_with("required var") => ("var-missing", None),
        _ if message.starts_with("env var required") => ("env-var-missing", None),
        _ if message.starts_with("compilation error") => ("compiler-error", None),
        _ => ("jinja-render", None),
    }
}

impl IntoDiagnostic for JinjaError {
    fn into_diagnostic(self) -> Diagnostic {
        let mut d = Diagnostic::error(self.code, self.message);
        d.location = self.location;
        d.source_line = self.source_line;
        if let Some(node) = self.node {
            d.notes.push(format!("while rendering {node}"));
        }
        for at in self.called_from {
            d.notes.push(format!("called from {at}"));
        }
        d.help = self.help;
        d
    }
}
