//! `mfb seed`: load the selected seeds, print dbt-style progress, write run_results.json.

use std::time::Instant;

use mfb_exec::Settings;
use mfb_exec::results::{NodeResult, Status};
use mfb_graph::Node;

use crate::ExitStatus;
use crate::output::Output;

struct Lines<'a>(&'a Output);

impl mfb_exec::seed::Progress for Lines<'_> {
    fn start(&self, index: usize, total: usize, node: &Node) {
        let what = format!(
            "{index} of {total} START seed file {}.{}",
            node.schema, node.alias
        );
        self.0.info("SeedStart", &super::dotted(&what, "RUN"));
    }
    fn done(&self, index: usize, total: usize, node: &Node, r: &NodeResult) {
        let (word, status) = match r.status {
            Status::Success => (
                self.0.paint("OK", "32"),
                format!("{} in {:.2}s", r.message, r.execution_time),
            ),
            _ => (
                self.0.paint("ERROR", "31"),
                format!(
                    "{} in {:.2}s",
                    self.0.paint("ERROR", "31"),
                    r.execution_time
                ),
            ),
        };
        let what = format!(
            "{index} of {total} {word} loaded seed file {}.{}",
            node.schema, node.alias
        );
        self.0.info("SeedDone", &super::dotted(&what, &status));
    }
}

pub(super) fn run(settings: Settings, out: &Output) -> ExitStatus {
    let started = Instant::now();
    let parsed = match super::load_and_parse(settings, out) {
        Ok(p) => p,
        Err(status) => return status,
    };
    let selected = match super::select(&parsed, out) {
        Ok(s) => s,
        Err(d) => return super::fail(&d, out),
    };
    let results = match mfb_exec::seed::seed(&parsed, &selected, &Lines(out)) {
        Ok(r) => r,
        Err(d) => return super::fail(&d, out),
    };
    let status = super::finish_run(&parsed, &results, started, "seed", "seeds", out);
    // The process ends next: freeing a large project's manifest would only cost time.
    std::mem::forget(parsed);
    status
}
