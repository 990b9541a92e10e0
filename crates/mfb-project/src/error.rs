//! Errors of project loading. Each carries the file (and line where known).

use mfb_diagnostics::{Diagnostic, IntoDiagnostic, Location};

/// Everything that can go wrong reading a project from disk.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// No `dbt_project.yml` in the project directory.
    #[error("no dbt_project.yml in {dir}")]
    NoProjectFile { dir: String },
    /// A file could not be read.
    #[error("cannot read {path}: {reason}")]
    Io { path: String, reason: String },
    /// YAML syntax error.
    #[error("invalid YAML: {message}")]
    Yaml { message: String, at: Location },
    /// A value has the wrong shape (e.g. `models:` is a list).
    #[error("{message}")]
    Invalid {
        message: String,
        at: Location,
        help: Option<String>,
    },
    /// Jinja in a YAML value failed to render.
    #[error("cannot render `{source_text}`: {message}")]
    Render {
        source_text: String,
        message: String,
        at: Location,
    },
    /// profiles.yml was not found in any of the searched directories.
    #[error("could not find profiles.yml (looked in {searched})")]
    NoProfiles { searched: String },
    /// The profile named by dbt_project.yml is not in profiles.yml.
    #[error("profile `{profile}` is not in {file}")]
    UnknownProfile {
        profile: String,
        file: String,
        available: Vec<String>,
    },
    /// The selected target is not in the profile.
    #[error("target `{target}` is not in profile `{profile}`")]
    UnknownTarget {
        target: String,
        profile: String,
        available: Vec<String>,
        file: String,
    },
}

impl ProjectError {
    /// The stable diagnostic code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ProjectError::NoProjectFile { .. } => "project-file-missing",
            ProjectError::Io { .. } => "file-unreadable",
            ProjectError::Yaml { .. } => "yaml-syntax",
            ProjectError::Invalid { .. } => "invalid-value",
            ProjectError::Render { .. } => "yaml-render",
            ProjectError::NoProfiles { .. } => "profiles-file-missing",
            ProjectError::UnknownProfile { .. } => "profile-not-found",
            ProjectError::UnknownTarget { .. } => "target-not-found",
        }
    }
}

/// "a, b, c" for a help line, or "none" when empty.
fn names(list: &[String]) -> String {
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl IntoDiagnostic for ProjectError {
    fn into_diagnostic(self) -> Diagnostic {
        let code = self.code();
        let message = self.to_string();
        let d = Diagnostic::error(code, message);
        match self {
            ProjectError::NoProjectFile { dir } => d
                .at(Location::file(format!("{dir}/dbt_project.yml")))
                .with_help("run mfb from the directory that holds dbt_project.yml, or pass --project-dir"),
            ProjectError::Io { path, .. } => {
                d.at(Location::file(path)).with_help("check that the file exists, is readable and is UTF-8 text")
            }
            ProjectError::Yaml { at, .. } => d
                .at(at)
                .with_help("fix the YAML syntax at this position (check indentation, colons and quotes)"),
            ProjectError::Invalid { at, help, .. } => {
                let d = d.at(at);
                match help {
                    Some(h) => d.with_help(h),
                    None => d,
                }
            }
            ProjectError::Render { at, .. } => d
                .at(at)
                .with_help("fix the Jinja expression, or set the environment variable or var it reads"),
            ProjectError::NoProfiles { .. } => d.with_help(
                "create profiles.yml in the project directory or ~/.dbt, or pass --profiles-dir / set DBT_PROFILES_DIR",
            ),
            ProjectError::UnknownProfile { profile, file, available } => {
                let d = d.at(Location::file(file)).with_note(format!("profiles in this file: {}", names(&available)));
                match mfb_diagnostics::closest(&profile, available.iter().map(String::as_str)) {
                    Some(c) => d.with_help(format!("did you mean `{c}`? set `profile:` in dbt_project.yml to it")),
                    None => d.with_help(format!("add a `{profile}:` profile to this file, or change `profile:` in dbt_project.yml")),
                }
            }
            ProjectError::UnknownTarget { target, profile, available, file } => {
                let d = d.at(Location::file(file)).with_note(format!("targets of `{profile}`: {}", names(&available)));
                match mfb_diagnostics::closest(&target, available.iter().map(String::as_str)) {
                    Some(c) => d.with_help(format!("did you mean `{c}`? pass --target {c}")),
                    None => d.with_help(format!(
                        "pass --target with one of the targets above, or add `{target}:` under `outputs:`"
                    )),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_own_code_and_a_help() {
        let at = Location::new("models/schema.yml", 3, 5);
        let errors = vec![
            ProjectError::NoProjectFile { dir: "/p".into() },
            ProjectError::Io {
                path: "models/a.sql".into(),
                reason: "denied".into(),
            },
            ProjectError::Yaml {
                message: "bad".into(),
                at: at.clone(),
            },
            ProjectError::Invalid {
                message: "m".into(),
                at: at.clone(),
                help: Some("h".into()),
            },
            ProjectError::Render {
                source_text: "{{ x }}".into(),
                message: "m".into(),
                at,
            },
            ProjectError::NoProfiles {
                searched: "/a, /b".into(),
            },
            ProjectError::UnknownProfile {
                profile: "jafle".into(),
                file: "p.yml".into(),
                available: vec!["jaffle".into()],
            },
            ProjectError::UnknownTarget {
                target: "prod".into(),
                profile: "p".into(),
                available: vec!["dev".into()],
                file: "p.yml".into(),
            },
        ];
        let mut codes = Vec::new();
        for e in errors {
            let d = e.into_diagnostic();
            assert!(d.help.is_some(), "{} has no help", d.code);
            assert!(!codes.contains(&d.code), "{} twice", d.code);
            codes.push(d.code);
        }
        assert_eq!(codes.len(), 8);
    }

    #[test]
    fn unknown_profile_suggests_the_closest_name() {
        let d = ProjectError::UnknownProfile {
            profile: "jafle".into(),
            file: "p.yml".into(),
            available: vec!["jaffle".into()],
        }
        .into_diagnostic();
        assert_eq!(d.code, "profile-not-found");
        assert!(d.help.unwrap().contains("`jaffle`"));
    }
}
