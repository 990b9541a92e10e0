//! `mfb run`: build the selected models, print dbt-style progress, write run_results.json.

use std::time::Instant;

use mfb_exec::Settings;
use mfb_exec::results::{NodeResult, Status};
use mfb_graph::Node;
use serde_json::Value;

use crate::ExitStatus;
use crate::output::Output;

struct Lines<'a>(&'a Output);

fn dotted(text: &str, status: &str) -> String {
    let width = 70usize.saturating_sub(text.chars().count()).max(3);
    format!("{text} {} [{status}]", ".".repeat(width))
}

fn materialized(node: &Node) -> &str {
    node.config
        .get("materialized")
        .and_then(Value::as_str)
        .unwrap_or("view")
}

impl mfb_exec::seed::Progress for Lines<'_> {
    fn start(&self, index: usize, total: usize, node: &Node) {
        let what = format!(
            "{index} of {total} START sql {} model {}.{}",
            materialized(node),
            node.schema,
            node.alias
        );
        self.0.info("LogStartLine", &dotted(&what, "RUN"));
    }
    fn done(&self, index: usize, total: usize, node: &Node, r: &NodeResult) {
        let (word, status) = match r.status {
            Status::Success => (
                self.0.paint("OK created", "32"),
                format!("{} in {:.2}s", r.message, r.execution_time),
            ),
            Status::Skipped => (self.0.paint("SKIP relation", "33"), "SKIP".to_owned()),
            Status::Error => (
                self.0.paint("ERROR creating", "31"),
                format!(
                    "{} in {:.2}s",
                    self.0.paint("ERROR", "31"),
                    r.execution_time
                ),
            ),
        };
        let what = format!(
            "{index} of {total} {word} sql {} model {}.{}",
            materialized(node),
            node.schema,
            node.alias
        );
        self.0.info("LogModelResult", &dotted(&what, &status));
    }
}

pub(super) fn run(settings: Settings, out: &Output) -> ExitStatus {
    let started = Instant::now();
    let mut parsed = match super::load_and_parse(settings, out) {
        Ok(p) => p,
        Err(status) => return status,
    };
    let selected = match super::select(&parsed, out) {
        Ok(s) => s,
        Err(d) => return super::fail(&d, out),
    };
    let results = match mfb_exec::run::run(&mut parsed, &selected, &Lines(out)) {
        Ok(r) => r,
        Err(d) => return super::fail(&d, out),
    };
    let elapsed = started.elapsed().as_secs_f64();
    let target = mfb_exec::compile::target_dir(&parsed);
    let args =
        serde_json::json!({"which": "run", "full_refresh": parsed.loaded.settings.full_refresh});
    if let Err(d) = super::write_manifest(&parsed).and_then(|_| {
        mfb_exec::results::write_run_results(&target, &results, &out.invocation_id, elapsed, args)
    }) {
        return super::fail(&[d], out);
    }
    let errors: Vec<_> = results
        .iter()
        .filter_map(|r| r.diagnostic.clone())
        .collect();
    let count = |s: Status| results.iter().filter(|r| r.status == s).count();
    out.info(
        "FinishedRunningStats",
        &format!(
            "Finished running {} models in {elapsed:.2}s.",
            results.len()
        ),
    );
    if errors.is_empty() {
        out.info(
            "EndOfRunSummary",
            &out.paint("Completed successfully", "32"),
        );
    } else {
        out.info(
            "EndOfRunSummary",
            &out.paint(&format!("Completed with {} errors:", errors.len()), "31"),
        );
        crate::report::emit(&errors, out);
    }
    out.info(
        "StatsLine",
        &format!(
            "Done. PASS={} WARN=0 ERROR={} SKIP={} TOTAL={}",
            count(Status::Success),
            count(Status::Error),
            count(Status::Skipped),
            results.len()
        ),
    );
    std::mem::forget(parsed);
    if errors.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    }
}
