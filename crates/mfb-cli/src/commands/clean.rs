//! `mfb clean`: delete the `clean-targets` directories (only inside the project).

use mfb_diagnostics::Diagnostic;
use mfb_exec::Settings;

use crate::ExitStatus;
use crate::output::Output;

pub(super) fn run(settings: Settings, out: &Output) -> ExitStatus {
    let project = match mfb_project_clean_targets(&settings) {
        Ok(p) => p,
        Err(d) => return super::fail(&d, out),
    };
    let (root, targets) = project;
    // Check every entry before deleting anything: a bad entry must not leave half a clean.
    let outside: Vec<&String> = targets
        .iter()
        .filter(|t| {
            let path = root.join(t);
            let resolved = path.canonicalize().unwrap_or_else(|_| normalize(&path));
            !resolved.starts_with(&root) || resolved == root
        })
        .collect();
    if !outside.is_empty() {
        let list: Vec<String> = outside.iter().map(|t| format!("`{t}`")).collect();
        return super::fail(
            &[Diagnostic::error(
                "clean-outside-project",
                format!(
                    "clean-targets names directories outside the project: {}",
                    list.join(", ")
                ),
            )
            .with_help(
                "clean-targets may only name directories inside the project; nothing was deleted",
            )],
            out,
        );
    }
    for t in targets {
        let path = root.join(&t);
        if path.exists() {
            if let Err(e) = std::fs::remove_dir_all(&path) {
                return super::fail(
                    &[Diagnostic::error(
                        "clean-failed",
                        format!("cannot delete {}: {e}", path.display()),
                    )],
                    out,
                );
            }
            out.info("CleanedPath", &format!("Cleaned {}", path.display()));
        } else {
            out.info("CleanedPath", &format!("Nothing to clean in {t}"));
        }
    }
    ExitStatus::Success
}

fn mfb_project_clean_targets(
    settings: &Settings,
) -> Result<(std::path::PathBuf, Vec<String>), Vec<Diagnostic>> {
    let loaded = mfb_exec::load(settings.clone())?;
    let root = loaded
        .project
        .root
        .canonicalize()
        .unwrap_or(loaded.project.root.clone());
    Ok((root, loaded.project.clean_targets.clone()))
}

/// Resolves `.` and `..` without touching the disk (for paths that do not exist yet).
fn normalize(path: &std::path::Path) -> std::path::PathBuf {
    let mut out = std::path::PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
