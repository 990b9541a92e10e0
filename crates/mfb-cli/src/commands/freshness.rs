//! `mfb source freshness`: check how recently each selected source table was loaded,
//! print dbt-style lines (PASS / WARN / ERROR STALE / ERROR), write target/sources.json,
//! and exit 1 when a table is past its `error_after` or could not be checked.

use std::time::Instant;

use indexmap::IndexSet;
use mfb_exec::Settings;
use mfb_exec::freshness::{FreshnessProgress, FreshnessResult, FreshnessStatus};
use mfb_graph::{SourceNode, UniqueId};

use crate::ExitStatus;
use crate::output::Output;

struct Lines<'a>(&'a Output);

impl FreshnessProgress for Lines<'_> {
    fn start(&self, index: usize, total: usize, s: &SourceNode) {
        let what = format!(
            "{index} of {total} START freshness of {}.{}",
            s.source_name, s.name
        );
        self.0.info("LogStartLine", &super::dotted(&what, "RUN"));
    }

    fn done(&self, index: usize, total: usize, s: &SourceNode, r: &FreshnessResult) {
        let out = self.0;
        let (word, color) = match r.status {
            FreshnessStatus::Pass => ("PASS", "32"),
            FreshnessStatus::Warn => ("WARN", "33"),
            FreshnessStatus::Error => ("ERROR STALE", "31"),
            FreshnessStatus::RuntimeError => ("ERROR", "31"),
        };
        let what = format!(
            "{index} of {total} {} freshness of {}.{}",
            out.paint(word, color),
            s.source_name,
            s.name
        );
        let status = format!("{} in {:.2}s", out.paint(word, color), r.execution_time);
        out.info("LogFreshnessResult", &super::dotted(&what, &status));
    }
}

pub(super) fn run(
    settings: Settings,
    output: Option<&std::path::Path>,
    out: &Output,
) -> ExitStatus {
    let started = Instant::now();
    let parsed = match super::load_and_parse(settings, out) {
        Ok(p) => p,
        Err(status) => return status,
    };
    let selected: IndexSet<UniqueId> = match super::select(&parsed, out) {
        Ok(s) => s,
        Err(d) => return super::fail(&d, out),
    };
    let checks = match mfb_exec::freshness::plan(&parsed, &selected) {
        Ok(c) => c,
        Err(d) => return super::fail(&d, out),
    };
    if checks.is_empty() {
        out.info(
            "NothingToDo",
            "Nothing to do: no selected source has freshness criteria (warn_after or error_after)",
        );
    }
    let results = if checks.is_empty() {
        Vec::new()
    } else {
        match mfb_exec::freshness::run_checks(&parsed, &checks, &Lines(out)) {
            Ok(r) => r,
            Err(d) => return super::fail(&d, out),
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    let path = match output {
        Some(p) => p.to_path_buf(),
        None => mfb_exec::compile::target_dir(&parsed).join("sources.json"),
    };
    if let Err(d) = super::write_manifest(&parsed).and_then(|_| {
        mfb_exec::freshness::write_sources_json(&path, &results, &out.invocation_id, elapsed)
    }) {
        return super::fail(&[d], out);
    }
    if !results.is_empty() {
        out.info(
            "FinishedRunningStats",
            &format!(
                "Finished running {} source{} in {elapsed:.2}s.",
                results.len(),
                if results.len() == 1 { "" } else { "s" }
            ),
        );
    }
    // Warnings were on their progress lines; errors get their reason.
    let errors: Vec<_> = results
        .iter()
        .filter_map(|r| r.diagnostic.clone())
        .filter(|d| d.is_error())
        .collect();
    crate::report::emit(&errors, out);
    out.info("StatsLine", "Done.");
    if mfb_exec::engine::interrupted() {
        return ExitStatus::Interrupted;
    }
    if errors.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    }
}
