//! dbt-style progress lines for commands that run nodes (`run`, `seed`, `test`,
//! `snapshot`, `build`): `1 of 12 START sql table model analytics.orders ... [RUN]`, then
//! OK / PASS / WARN / FAIL / ERROR / SKIP with what PostgreSQL said and the seconds.

use mfb_exec::results::{NodeResult, Status};
use mfb_graph::{Node, ResourceType};
use serde_json::Value;

use crate::output::Output;

/// Prints a line when each node starts and ends.
pub(crate) struct Lines<'a>(pub &'a Output);

fn materialized(node: &Node) -> &str {
    node.config
        .get("materialized")
        .and_then(Value::as_str)
        .unwrap_or("view")
}

/// A unit test as dbt names it in progress lines: `<model>::<test>`.
fn unit_test_name(node: &Node) -> String {
    let model = node
        .depends_on
        .nodes
        .first()
        .and_then(|id| id.rsplit('.').next())
        .unwrap_or_default();
    format!("{model}::{}", node.name)
}

/// What the node is, as dbt words it after the verb.
fn describe(node: &Node) -> String {
    let relation = format!("{}.{}", node.schema, node.alias);
    match node.resource_type {
        ResourceType::Seed => format!("seed file {relation}"),
        ResourceType::Test => format!("test {}", node.name),
        ResourceType::UnitTest => format!("unit_test {}", unit_test_name(node)),
        ResourceType::Snapshot => format!("snapshot {relation}"),
        ResourceType::Operation => format!("hook: {}", hook_name(node)),
        _ => format!("sql {} model {relation}", materialized(node)),
    }
}

/// A project hook as dbt names it: `proj-on-run-end-0` -> `proj.on-run-end.0`.
fn hook_name(node: &Node) -> String {
    let rest = node
        .name
        .strip_prefix(&format!("{}-", node.package_name))
        .unwrap_or(&node.name);
    match rest.rsplit_once('-') {
        Some((kind, index)) => format!("{}.{kind}.{index}", node.package_name),
        None => format!("{}.{rest}", node.package_name),
    }
}

impl mfb_exec::schedule::Progress for Lines<'_> {
    fn start(&self, index: usize, total: usize, node: &Node) {
        let what = format!("{index} of {total} START {}", describe(node));
        self.0.info("NodeStart", &super::dotted(&what, "RUN"));
    }

    fn done(&self, index: usize, total: usize, node: &Node, r: &NodeResult) {
        let out = self.0;
        let secs = r.execution_time;
        let is_test = matches!(
            node.resource_type,
            ResourceType::Test | ResourceType::UnitTest
        );
        let failures = r.failures.unwrap_or(0);
        if node.resource_type == ResourceType::Operation {
            let (word, status) = match r.status {
                Status::Success => (
                    out.paint("OK", "32"),
                    format!("{} in {secs:.2}s", out.paint("OK", "32")),
                ),
                _ => (
                    out.paint("ERROR", "31"),
                    format!("{} in {secs:.2}s", out.paint("ERROR", "31")),
                ),
            };
            let what = format!("{index} of {total} {word} hook: {}", hook_name(node));
            out.info("NodeFinished", &super::dotted(&what, &status));
            return;
        }
        let (word, status) = match r.status {
            Status::Success => {
                let verb = match node.resource_type {
                    ResourceType::Seed => "OK loaded",
                    ResourceType::Snapshot => "OK snapshotted",
                    _ => "OK created",
                };
                (
                    out.paint(verb, "32"),
                    format!("{} in {secs:.2}s", r.message),
                )
            }
            Status::Pass => (
                out.paint("PASS", "32"),
                format!("{} in {secs:.2}s", out.paint("PASS", "32")),
            ),
            Status::Warn => (
                out.paint(&format!("WARN {failures}"), "33"),
                format!(
                    "{} in {secs:.2}s",
                    out.paint(&format!("WARN {failures}"), "33")
                ),
            ),
            Status::Fail => (
                out.paint(&format!("FAIL {failures}"), "31"),
                format!(
                    "{} in {secs:.2}s",
                    out.paint(&format!("FAIL {failures}"), "31")
                ),
            ),
            Status::Skipped => (
                out.paint(if is_test { "SKIP" } else { "SKIP relation" }, "33"),
                out.paint("SKIP", "33"),
            ),
            Status::Error => (
                out.paint(
                    match node.resource_type {
                        ResourceType::Test => "ERROR",
                        ResourceType::Snapshot => "ERROR snapshotting",
                        _ => "ERROR creating",
                    },
                    "31",
                ),
                format!("{} in {secs:.2}s", out.paint("ERROR", "31")),
            ),
        };
        let what = match (r.status, node.resource_type) {
            (Status::Success | Status::Error, ResourceType::Snapshot) => {
                format!("{index} of {total} {word} {}.{}", node.schema, node.alias)
            }
            (
                Status::Pass | Status::Warn | Status::Fail | Status::Error,
                ResourceType::UnitTest,
            ) => {
                format!("{index} of {total} {word} {}", unit_test_name(node))
            }
            // dbt names a test without its kind when it ends: `ERROR not_null_orders_id`.
            (Status::Pass | Status::Warn | Status::Fail | Status::Error, ResourceType::Test)
            | (Status::Pass | Status::Warn | Status::Fail, _) => {
                format!("{index} of {total} {word} {}", node.name)
            }
            (
                Status::Skipped,
                ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot,
            ) => {
                format!("{index} of {total} {word} {}.{}", node.schema, node.alias)
            }
            _ => format!("{index} of {total} {word} {}", describe(node)),
        };
        out.info("NodeFinished", &super::dotted(&what, &status));
    }
}
