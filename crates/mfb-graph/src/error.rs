//! Errors of building and selecting from the DAG.

use mfb_diagnostics::{Diagnostic, IntoDiagnostic, Location};

/// Graph and selection errors.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// A `ref()` names nothing. `suggestion` is a close name, if any.
    #[error("{from} refers to `{name}`, which is not a model, seed or snapshot")]
    UnknownRef {
        from: String,
        name: String,
        at: Option<Location>,
        suggestion: Option<String>,
    },
    /// A `source()` names nothing.
    #[error("{from} refers to source `{source_name}.{table}`, which is not defined")]
    UnknownSource {
        from: String,
        source_name: String,
        table: String,
        at: Option<Location>,
        suggestion: Option<String>,
    },
    /// A dependency cycle, as the path of unique ids `a -> b -> a`.
    #[error("dependency cycle: {}", path.join(" -> "))]
    Cycle { path: Vec<String> },
    /// A selector could not be parsed or names an unknown method/selector.
    #[error("invalid selector `{selector}`: {reason}")]
    BadSelector { selector: String, reason: String },
    /// `--state` manifest could not be read.
    #[error("cannot read state manifest {path}: {reason}")]
    State { path: String, reason: String },
}

impl IntoDiagnostic for GraphError {
    fn into_diagnostic(self) -> Diagnostic {
        let message = self.to_string();
        match self {
            GraphError::UnknownRef { from, name, at, suggestion } => {
                let d = Diagnostic::error("ref-not-found", format!("`ref('{name}')` does not name a model, seed or snapshot"))
                    .with_note(format!("in {from}"));
                let d = match suggestion {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help(format!(
                        "create `{name}` (e.g. models/{name}.sql), fix the name, or check that it is not disabled"
                    )),
                };
                with_location(d, at)
            }
            GraphError::UnknownSource { from, source_name, table, at, suggestion } => {
                let d = Diagnostic::error(
                    "source-not-found",
                    format!("`source('{source_name}', '{table}')` is not defined in any sources YAML"),
                )
                .with_note(format!("in {from}"));
                let d = match suggestion {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help(format!(
                        "declare table `{table}` under source `{source_name}` in a properties file (e.g. models/sources.yml)"
                    )),
                };
                with_location(d, at)
            }
            GraphError::Cycle { path } => {
                let first = path.first().cloned().unwrap_or_default();
                Diagnostic::error("dependency-cycle", message)
                    .with_note(format!("each node in the cycle depends on the one before it; `{first}` ends up depending on itself"))
                    .with_help("remove one of the ref()/source() calls in the cycle, or move the shared logic into a separate model")
            }
            GraphError::BadSelector { .. } => Diagnostic::error("bad-selector", message).with_help(
                "see dbt's node selection syntax: `name`, `+name`, `name+`, `@name`, `tag:x`, `path:models/x`, \
                 `config.materialized:table`, `source:s.t`, `state:modified`; space = union, comma = intersection",
            ),
            GraphError::State { path, .. } => {
                let d = Diagnostic::error("state-manifest", message);
                // `path` is a file when one was read, or the flag that was missing.
                let d = if path.starts_with('-') { d } else { d.at(Location::file(path)) };
                d.with_help(
                    "pass --state DIR where DIR holds the manifest.json of a previous `mfb`/`dbt` run (usually its target/)",
                )
            }
        }
    }
}

fn with_location(d: Diagnostic, at: Option<Location>) -> Diagnostic {
    match at {
        Some(loc) => d.at(loc),
        None => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_code_and_a_next_step() {
        let cases = [
            (
                GraphError::UnknownRef {
                    from: "model.p.screens".into(),
                    name: "stg_screener".into(),
                    at: Some(Location::new("models/marts/screens.sql", 14, 10)),
                    suggestion: Some("stg_screeners".into()),
                },
                "ref-not-found",
                "did you mean `stg_screeners`?",
            ),
            (
                GraphError::UnknownSource {
                    from: "model.p.stg".into(),
                    source_name: "raw".into(),
                    table: "screner".into(),
                    at: None,
                    suggestion: Some("raw.screener".into()),
                },
                "source-not-found",
                "did you mean `raw.screener`?",
            ),
            (
                GraphError::Cycle {
                    path: vec!["model.p.a".into(), "model.p.b".into(), "model.p.a".into()],
                },
                "dependency-cycle",
                "remove one of the ref()",
            ),
            (
                GraphError::BadSelector {
                    selector: "colour:red".into(),
                    reason: "unknown method".into(),
                },
                "bad-selector",
                "node selection syntax",
            ),
            (
                GraphError::State {
                    path: "prod/manifest.json".into(),
                    reason: "no such file".into(),
                },
                "state-manifest",
                "--state DIR",
            ),
        ];
        for (err, code, help) in cases {
            let message = err.to_string();
            let d = err.into_diagnostic();
            assert_eq!(d.code, code);
            assert!(d.is_error());
            assert!(
                d.help.as_deref().unwrap_or_default().contains(help),
                "{code}: {:?}",
                d.help
            );
            assert!(!d.message.is_empty());
            if code == "dependency-cycle" || code == "bad-selector" {
                assert_eq!(d.message, message);
            }
        }
    }

    #[test]
    fn unknown_ref_points_at_the_call_and_says_what_to_do_without_a_suggestion() {
        let d = GraphError::UnknownRef {
            from: "model.p.screens".into(),
            name: "nope".into(),
            at: Some(Location::new("models/marts/screens.sql", 14, 10)),
            suggestion: None,
        }
        .into_diagnostic();
        assert_eq!(
            d.message,
            "`ref('nope')` does not name a model, seed or snapshot"
        );
        assert_eq!(
            d.location,
            Some(Location::new("models/marts/screens.sql", 14, 10))
        );
        assert!(d.help.unwrap().contains("models/nope.sql"));
        assert_eq!(d.notes, ["in model.p.screens"]);
    }

    #[test]
    fn cycle_message_is_the_path() {
        let d = GraphError::Cycle {
            path: vec!["model.p.a".into(), "model.p.b".into(), "model.p.a".into()],
        }
        .into_diagnostic();
        assert_eq!(
            d.message,
            "dependency cycle: model.p.a -> model.p.b -> model.p.a"
        );
    }
}
