//! Loads a project directory and prints how long it took (`cargo run --release -p
//! mfb-project --example load_bench -- /tmp/proj-n10000 [runs]`).

use std::path::PathBuf;
use std::time::Instant;

use mfb_diagnostics::IntoDiagnostic;
use mfb_project::{FileKind, LoadOptions, load_project};

#[allow(clippy::print_stdout)]
fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| ".".to_owned()));
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    let options = LoadOptions { project_dir: dir };
    let mut best = f64::MAX;
    for run in 0..runs {
        let start = Instant::now();
        let project = match load_project(&options) {
            Ok(p) => p,
            Err(errors) => {
                for e in errors {
                    println!("{}", e.into_diagnostic());
                }
                return;
            }
        };
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        if run == 0 {
            for w in &project.warnings {
                println!("{w}");
            }
        }
        best = best.min(ms);
        let root = project.root_package();
        let count = |k: FileKind| root.files.iter().filter(|f| f.kind == k).count();
        let tests: usize = root
            .properties
            .models
            .iter()
            .map(|m| m.tests.len() + m.columns.iter().map(|c| c.tests.len()).sum::<usize>())
            .sum();
        println!(
            "run {run}: {ms:.1} ms: {} packages, {} files ({} models, {} macros, {} properties), {} model entries, {} yaml tests, {} docs",
            project.packages.len(),
            root.files.len(),
            count(FileKind::Model),
            count(FileKind::Macro),
            count(FileKind::Properties),
            root.properties.models.len(),
            tests,
            root.properties.docs.len(),
        );
    }
    println!("best of {runs}: {best:.1} ms");
}
