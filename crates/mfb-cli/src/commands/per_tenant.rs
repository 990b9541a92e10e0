//! Per-tenant runs of `run`, `build`, `seed`, `test` and `run-operation` (`--tenant ID`,
//! `--all-tenants`): the command once per tenant (see [`mfb_exec::tenants_run`]), each
//! tenant's lines prefixed `[<id>] `, its artifacts in `target/tenants/<id>/`, then one
//! summary for all tenants and one `target/run_results.json` holding every tenant's
//! results (each with a `"tenant"` field). Exit 1 if a node of any tenant failed, 2 if a
//! tenant could not even start (a compile error), whatever the other tenants did.

use std::sync::Arc;
use std::time::Instant;

use mfb_diagnostics::Diagnostic;
use mfb_exec::results::{NodeResult, Status};
use mfb_exec::tenants_run::{self, TenantChoice};
use mfb_exec::{Parsed, Settings};
use serde_json::json;

use crate::ExitStatus;
use crate::output::{Output, TemplateLog};

/// What one tenant's run left: its results (artifacts already written) and what ran, in
/// dbt's words (`3 table models`).
pub(super) struct TenantDone {
    pub results: Vec<NodeResult>,
    pub stats: String,
}

/// Runs a node command (`execute`: load, parse, select, run) once per tenant of `choice`.
pub(super) fn run_nodes(
    settings: Settings,
    choice: &TenantChoice,
    which: &str,
    noun: &str,
    out: &Output,
    execute: impl Fn(Settings, &Output) -> Result<(Parsed, Vec<NodeResult>), ExitStatus> + Sync,
) -> ExitStatus {
    run(settings, choice, which, out, |s, out| {
        let started = Instant::now();
        let (parsed, results) = execute(s, out)?;
        finish_tenant(&parsed, results, which, noun, started, out)
    })
}

/// Writes one tenant's manifest.json and run_results.json into its own target directory.
fn finish_tenant(
    parsed: &Parsed,
    results: Vec<NodeResult>,
    which: &str,
    noun: &str,
    started: Instant,
    out: &Output,
) -> Result<TenantDone, ExitStatus> {
    let target = mfb_exec::compile::target_dir(parsed);
    let args = super::run_args(parsed, which);
    super::write_manifest(parsed)
        .and_then(|_| {
            mfb_exec::results::write_run_results(
                &target,
                &results,
                &out.invocation_id,
                started.elapsed().as_secs_f64(),
                args,
            )
        })
        .map_err(|d| super::fail(&[d], out))?;
    Ok(TenantDone {
        stats: super::stat_line(parsed, &results, noun),
        results,
    })
}

/// An operation's outcome as a node result, for the summary.
pub(super) fn operation_result(r: mfb_exec::operation::OperationResult) -> NodeResult {
    NodeResult {
        unique_id: r.unique_id,
        status: if r.error.is_some() {
            Status::Error
        } else {
            Status::Success
        },
        message: r
            .error
            .as_ref()
            .map(|d| d.message.clone())
            .unwrap_or_default(),
        rows_affected: -1,
        code: String::new(),
        started_at: r.started_at,
        completed_at: r.completed_at,
        execution_time: r.execution_time,
        relation_name: None,
        compiled_code: None,
        diagnostic: r.error,
        failures: None,
        thread_id: "MainThread".to_owned(),
    }
}

/// Runs `job` once per tenant of `choice`, tenants side by side (see
/// [`tenants_run::budget`]), then merges run_results.json and prints the summary.
pub(super) fn run(
    settings: Settings,
    choice: &TenantChoice,
    which: &str,
    out: &Output,
    job: impl Fn(Settings, &Output) -> Result<TenantDone, ExitStatus> + Sync,
) -> ExitStatus {
    let started = Instant::now();
    let plan = match tenants_run::plan(&settings, choice) {
        Ok(p) => p,
        Err(d) => return super::fail(&d, out),
    };
    let ids: Vec<&str> = plan.runs.iter().map(|r| r.id.as_str()).collect();
    out.info(
        "TenantRunStart",
        &format!(
            "Running {which} for {} tenant{} ({}), {} at a time",
            ids.len(),
            super::plural(ids.len()),
            ids.join(", "),
            plan.parallel
        ),
    );
    let outcomes = tenants_run::run_all(&plan, |run| {
        let tenant_out = Output {
            prefix: format!("[{}] ", run.id),
            ..out.clone()
        };
        let mut s = run.settings.clone();
        s.log = Some(Arc::new(TemplateLog(tenant_out.clone())));
        let name = if run.name == run.id {
            String::new()
        } else {
            format!(" ({})", run.name)
        };
        tenant_out.info(
            "TenantStart",
            &format!("Tenant {}{name} in schema {}", run.id, run.schema),
        );
        job(s, &tenant_out)
    });

    let elapsed = started.elapsed().as_secs_f64();
    let args = json!({
        "which": which,
        "full_refresh": settings.full_refresh,
        "select": settings.selection.select,
        "exclude": settings.selection.exclude,
        "selector": settings.selection.selector,
        "vars": settings.vars,
    });
    if let Err(d) = tenants_run::merge_run_results(&plan, &out.invocation_id, elapsed, args) {
        return super::fail(&[d], out);
    }

    // The summary: one line per tenant, then the problems and the totals of all tenants.
    let mut status = ExitStatus::Success;
    let mut all: Vec<NodeResult> = Vec::new();
    for (run, outcome) in plan.runs.iter().zip(outcomes) {
        let head = format!("Tenant {} ({})", run.id, run.schema);
        match outcome {
            None => out.info("TenantSummary", &format!("{head}: not run (interrupted)")),
            Some(Err(s)) => {
                status = worse(status, s);
                out.info(
                    "TenantSummary",
                    &format!(
                        "{head}: {} before running anything (errors above)",
                        out.paint("stopped", "31")
                    ),
                );
            }
            Some(Ok(done)) => {
                let count = |s: &[Status]| {
                    done.results
                        .iter()
                        .filter(|r| s.contains(&r.status))
                        .count()
                };
                out.info(
                    "TenantSummary",
                    &format!(
                        "{head}: {}: PASS={} WARN={} ERROR={} SKIP={}",
                        done.stats,
                        count(&[Status::Success, Status::Pass]),
                        count(&[Status::Warn]),
                        count(&[Status::Error, Status::Fail]),
                        count(&[Status::Skipped])
                    ),
                );
                if done
                    .results
                    .iter()
                    .any(|r| r.status.blocks_downstream() && r.status != Status::Skipped)
                {
                    status = worse(status, ExitStatus::Failure);
                }
                all.extend(done.results.into_iter().map(|mut r| {
                    r.diagnostic = r
                        .diagnostic
                        .map(|d| d.with_note(format!("tenant {} (schema {})", run.id, run.schema)));
                    r
                }));
            }
        }
    }
    summarize(&all, plan.runs.len(), elapsed, out);
    if mfb_exec::engine::interrupted() {
        return ExitStatus::Interrupted;
    }
    status
}

/// The more serious of two exit statuses.
fn worse(a: ExitStatus, b: ExitStatus) -> ExitStatus {
    let rank = |s: ExitStatus| match s {
        ExitStatus::Success => 0,
        ExitStatus::Failure => 1,
        ExitStatus::Error => 2,
        ExitStatus::Interrupted => 3,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// `Finished running ...`, the problems of every tenant, and `Done. PASS=..` over all.
fn summarize(results: &[NodeResult], tenants: usize, elapsed: f64, out: &Output) {
    let problems: Vec<Diagnostic> = results
        .iter()
        .filter_map(|r| r.diagnostic.clone())
        .collect();
    let errors = problems.iter().filter(|d| d.is_error()).count();
    let warnings = problems.len() - errors;
    let count = |s: Status| results.iter().filter(|r| r.status == s).count();
    out.info(
        "FinishedRunningStats",
        &format!(
            "Finished running {tenants} tenant{} in {} hours {} minutes and {:.2} seconds ({elapsed:.2}s).",
            super::plural(tenants),
            (elapsed / 3600.0) as u64,
            ((elapsed % 3600.0) / 60.0) as u64,
            elapsed % 60.0
        ),
    );
    if problems.is_empty() {
        out.info(
            "EndOfRunSummary",
            &out.paint("Completed successfully", "32"),
        );
    } else {
        let what = format!(
            "Completed with {errors} error{} and {warnings} warning{}:",
            super::plural(errors),
            super::plural(warnings)
        );
        out.info(
            "EndOfRunSummary",
            &out.paint(&what, if errors == 0 { "33" } else { "31" }),
        );
        crate::report::emit(&problems, out);
    }
    out.info(
        "StatsLine",
        &format!(
            "Done. PASS={} WARN={} ERROR={} SKIP={} NO-OP=0 TOTAL={}",
            count(Status::Success) + count(Status::Pass),
            count(Status::Warn),
            count(Status::Error) + count(Status::Fail),
            count(Status::Skipped),
            results.len()
        ),
    );
}
