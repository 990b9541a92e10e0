//! `mfb retry`: rerun the previous command (from target/run_results.json) on the nodes it
//! left `error`, `fail` or `skipped`, with its selection, `--full-refresh` and `--vars`.
//! The new run_results.json records the previous command again, so a second retry picks
//! up whatever still fails.

use std::time::Instant;

use indexmap::IndexSet;
use mfb_diagnostics::Diagnostic;
use mfb_exec::Settings;
use mfb_exec::retry::PreviousRun;
use mfb_graph::UniqueId;

use crate::ExitStatus;
use crate::output::Output;

pub(super) fn run(settings: Settings, out: &Output) -> ExitStatus {
    let started = Instant::now();
    let target_dir = match mfb_exec::load(settings.clone()) {
        Ok(loaded) => {
            let root = &loaded.project.root;
            match &loaded.settings.target_path {
                Some(p) => root.join(p),
                None => root.join(&loaded.project.target_path),
            }
        }
        Err(d) => return super::fail(&d, out),
    };
    let prev = match mfb_exec::retry::read_previous(&target_dir) {
        Ok(p) => p,
        Err(d) => return super::fail(&[d], out),
    };
    // A per-tenant run's failures belong to tenant schemas: rerunning them in the profile's
    // schema would build them in the wrong place.
    let tenants = prev.list("tenants");
    if !tenants.is_empty() {
        let failed: IndexSet<String> = prev.retry.iter().cloned().collect();
        return super::fail(
            &[Diagnostic::error(
                "retry-per-tenant",
                format!(
                    "the previous `{}` ran per tenant ({}); retry cannot rerun it in tenant schemas yet",
                    prev.which,
                    tenants.join(", ")
                ),
            )
            .with_note(format!("{} nodes failed or were skipped", failed.len()))
            .with_help(format!(
                "run it again for the tenants that failed: `mfb {} --tenant ID ...` (target/run_results.json names each result's tenant)",
                prev.which
            ))],
            out,
        );
    }
    let settings = with_previous_args(settings, &prev);
    match prev.which.as_str() {
        "run" | "seed" | "test" | "build" | "snapshot" => rerun_nodes(settings, &prev, started, out),
        "run-operation" => rerun_operation(settings, &prev, out),
        other => super::fail(
            &[Diagnostic::error(
                "retry-unsupported",
                format!("the previous command was `{other}`, which retry cannot rerun"),
            )
            .with_help("retry reruns run, seed, test, snapshot, build and run-operation; run the command again instead")],
            out,
        ),
    }
}

/// The previous invocation's command, selection, `--full-refresh`, `--store-failures` and
/// (unless given again now) `--vars`.
fn with_previous_args(mut settings: Settings, prev: &PreviousRun) -> Settings {
    settings.which = prev.which.clone();
    settings.full_refresh = prev.flag("full_refresh");
    settings.store_failures = prev.flag("store_failures");
    settings.selection = mfb_graph::SelectionCriteria {
        select: prev.list("select"),
        exclude: prev.list("exclude"),
        selector: prev
            .args
            .get("selector")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
    };
    if settings.vars.is_empty() {
        settings.vars = prev.vars();
    }
    settings
}

fn rerun_nodes(
    settings: Settings,
    prev: &PreviousRun,
    started: Instant,
    out: &Output,
) -> ExitStatus {
    let mut parsed = match super::load_and_parse(settings, out) {
        Ok(p) => p,
        Err(status) => return status,
    };
    // Nodes removed from the project since are not rerun.
    let ids: IndexSet<UniqueId> = prev
        .retry
        .iter()
        .map(|id| UniqueId::new(id.as_str()))
        .filter(|id| parsed.manifest.nodes.contains_key(id))
        .collect();
    let which = prev.which.as_str();
    if ids.is_empty() {
        out.info(
            "NothingToDo",
            "Nothing to do. Try checking your model configs and model specification args",
        );
        return finish_empty(&parsed, started, which, out);
    }
    let policy = mfb_exec::schedule::Policy {
        fail_fast: prev.flag("fail_fast"),
    };
    let progress = super::progress::Lines(out);
    let results = match which {
        "run" => mfb_exec::run::run(&mut parsed, &ids, policy, &progress),
        "seed" => mfb_exec::seed::seed(&mut parsed, &ids, policy, &progress),
        // build keeps its test edges: a retried test still holds back its downstream.
        "build" => mfb_exec::run::build(&mut parsed, &ids, policy, &progress),
        // test, snapshot: the retried nodes are exactly what to run, each by its
        // resource type.
        _ => mfb_exec::run::run_plan(
            &mut parsed,
            &ids,
            |n| ids.contains(&n.unique_id),
            policy,
            &progress,
        ),
    };
    let results = match results {
        Ok(r) => r,
        Err(d) => return super::fail(&d, out),
    };
    let noun = match which {
        "run" => "models",
        "seed" => "seeds",
        "test" => "data tests",
        "snapshot" => "snapshots",
        _ => "nodes",
    };
    let status = super::finish_run(&parsed, &results, started, which, noun, out);
    std::mem::forget(parsed);
    status
}

fn rerun_operation(settings: Settings, prev: &PreviousRun, out: &Output) -> ExitStatus {
    let Some(macro_name) = prev.args.get("macro").and_then(|v| v.as_str()) else {
        return super::fail(
            &[Diagnostic::error(
                "retry-bad-run-results",
                "the previous run-operation did not record its macro (`args.macro`)",
            )
            .with_help("run the operation again with `mfb run-operation`")],
            out,
        );
    };
    if prev.retry.is_empty() {
        out.info(
            "NothingToDo",
            "Nothing to do. Try checking your model configs and model specification args",
        );
        return ExitStatus::Success;
    }
    let args = prev.args.get("args").map(|a| a.to_string());
    super::run_operation::run(
        settings,
        macro_name,
        args.as_deref(),
        &crate::args::TenantArgs::default(),
        out,
    )
}

/// Nothing to rerun: like dbt, an empty run_results.json that still names the command.
fn finish_empty(
    parsed: &mfb_exec::Parsed,
    started: Instant,
    which: &str,
    out: &Output,
) -> ExitStatus {
    let target = mfb_exec::compile::target_dir(parsed);
    match super::write_manifest(parsed).and_then(|_| {
        mfb_exec::results::write_run_results(
            &target,
            &[],
            &out.invocation_id,
            started.elapsed().as_secs_f64(),
            super::run_args(parsed, which),
        )
    }) {
        Ok(()) => ExitStatus::Success,
        Err(d) => super::fail(&[d], out),
    }
}
