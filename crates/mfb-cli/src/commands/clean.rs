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
    for t in targets {
        let path = root.join(&t);
        let inside = path
            .canonicalize()
            .map(|p| p.starts_with(&root))
            .unwrap_or(true);
        if !inside || path == root {
            return super::fail(
                &[Diagnostic::error(
                    "clean-outside-project",
                    format!("clean-targets entry `{t}` is outside the project"),
                )
                .with_help("clean-targets may only name directories inside the project")],
                out,
            );
        }
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
