//! `mfb parse`: parse the project and write target/manifest.json.

use mfb_exec::Settings;

use crate::ExitStatus;
use crate::output::Output;

pub(super) fn run(settings: Settings, out: &Output) -> ExitStatus {
    let parsed = match super::load_and_parse(settings, out) {
        Ok(p) => p,
        Err(status) => return status,
    };
    match super::write_manifest(&parsed) {
        Ok(path) => {
            out.info("ArtifactWritten", &format!("Wrote {}", path.display()));
            // The process ends next: freeing a large project's manifest would only cost time.
            std::mem::forget(parsed);
            ExitStatus::Success
        }
        Err(d) => super::fail(&[d], out),
    }
}
