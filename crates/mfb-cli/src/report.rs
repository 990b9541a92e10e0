//! The only place diagnostics are rendered: a human form with the source snippet, or a
//! JSON event.

use mfb_diagnostics::{Diagnostic, Severity};

use crate::output::Output;

/// Renders one diagnostic for a terminal.
pub fn render(d: &Diagnostic, out: &Output) -> String {
    let (word, color) = match d.severity {
        Severity::Error => ("error", "1;31"),
        Severity::Warning => ("warning", "1;33"),
    };
    let mut s = format!(
        "{}: {}",
        out.paint(&format!("{word}[{}]", d.code), color),
        d.message
    );
    if let Some(loc) = &d.location {
        let line_no = loc.line.to_string();
        let pad = " ".repeat(line_no.len());
        s.push_str(&format!("\n{pad}--> {loc}"));
        if let Some(src) = &d.source_line {
            s.push_str(&format!("\n{pad} |\n{line_no} | {src}"));
            if loc.column > 0 {
                let carets = "^".repeat(d.span_len.max(1) as usize);
                let indent: String = src
                    .chars()
                    .take(loc.column as usize - 1)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                s.push_str(&format!("\n{pad} | {indent}{}", out.paint(&carets, color)));
            } else {
                s.push_str(&format!("\n{pad} |"));
            }
        }
    }
    for note in &d.notes {
        s.push_str(&format!("\n   = note: {note}"));
    }
    if let Some(help) = &d.help {
        s.push_str(&format!("\n   = help: {help}"));
    }
    s
}

/// Prints every diagnostic; returns how many were errors.
pub fn emit(diagnostics: &[Diagnostic], out: &Output) -> usize {
    for d in diagnostics {
        let level = if d.is_error() { "error" } else { "warn" };
        let data = serde_json::to_value(d).unwrap_or_default();
        let text = if out.json {
            d.to_string()
        } else {
            render(d, out)
        };
        out.problem(level, d.code, &text, data);
    }
    diagnostics.iter().filter(|d| d.is_error()).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mfb_diagnostics::Location;

    #[test]
    fn renders_snippet_with_carets() {
        let out = Output {
            json: false,
            quiet: false,
            color: false,
            ..crate::output::Output::new(&Default::default())
        };
        let d = Diagnostic::error(
            "ref-not-found",
            "`ref('stg_screener')` does not name a model",
        )
        .at(Location::new("models/marts/screens.sql", 14, 11))
        .with_span_len(19)
        .with_help("did you mean `stg_screeners`?");
        let d = Diagnostic {
            source_line: Some("  from {{ ref('stg_screener') }}".into()),
            ..d
        };
        insta::assert_snapshot!(render(&d, &out), @r"
        error[ref-not-found]: `ref('stg_screener')` does not name a model
          --> models/marts/screens.sql:14:11
           |
        14 |   from {{ ref('stg_screener') }}
           |           ^^^^^^^^^^^^^^^^^^^
           = help: did you mean `stg_screeners`?
        ");
    }
}
