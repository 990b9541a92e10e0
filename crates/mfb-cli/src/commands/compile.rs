//! `mfb compile`: render the selected nodes to target/compiled/ (or print `--inline` SQL).

use std::time::Instant;

use mfb_exec::Settings;

use crate::ExitStatus;
use crate::output::Output;

pub(super) fn run(settings: Settings, inline: Option<&str>, out: &Output) -> ExitStatus {
    let started = Instant::now();
    let mut parsed = match super::load_and_parse(settings, out) {
        Ok(p) => p,
        Err(status) => return status,
    };
    if let Some(sql) = inline {
        return match mfb_exec::show::compile_inline(&parsed, sql) {
            Ok(compiled) => {
                out.info("CompiledNode", "Compiled inline node is:");
                out.result(&compiled);
                ExitStatus::Success
            }
            Err(d) => super::fail(&d, out),
        };
    }
    let selected = match super::select(&parsed, out) {
        Ok(s) => s,
        Err(d) => return super::fail(&d, out),
    };
    mfb_diagnostics::phase::mark("select");
    let compiled = match mfb_exec::compile::render_selected(&mut parsed, &selected) {
        Ok(c) => c,
        Err(d) => return super::fail(&d, out),
    };
    mfb_diagnostics::phase::mark("render");
    // The compiled files and manifest.json are independent: write them side by side.
    let (files, manifest) = rayon::join(
        || {
            let r = mfb_exec::compile::write_compiled(&parsed, &compiled);
            mfb_diagnostics::phase::mark("compiled files written");
            r
        },
        || {
            let r = super::write_manifest(&parsed);
            mfb_diagnostics::phase::mark("manifest written");
            r
        },
    );
    if let Err(d) = files {
        return super::fail(&d, out);
    }
    if let Err(d) = manifest {
        return super::fail(&[d], out);
    }
    out.info(
        "CompileDone",
        &format!(
            "Compiled {} nodes into {} ({:.2}s)",
            compiled.compiled.len(),
            compiled.target_dir.join("compiled").display(),
            started.elapsed().as_secs_f64()
        ),
    );
    // The process ends next: freeing a large project's manifest would only cost time.
    std::mem::forget(parsed);
    ExitStatus::Success
}
