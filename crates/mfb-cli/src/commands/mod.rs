//! One module per subcommand, and the steps they share (load + parse, selection,
//! manifest.json).

mod build;
mod clean;
mod compile;
mod debug;
mod deps;
mod docs;
mod freshness;
mod ls;
mod parse;
mod per_tenant;
mod progress;
mod retry;
mod run;
mod run_operation;
mod seed;
mod show;
mod snapshot;
mod tenants;
mod test;

use std::time::Instant;

use indexmap::IndexSet;
use mfb_diagnostics::{Diagnostic, IntoDiagnostic};
use mfb_exec::{Parsed, Settings};
use mfb_graph::{SelectorSpec, UniqueId};

use crate::args::{Cli, Command};
use crate::output::Output;
use crate::{ExitStatus, report, settings};

/// Runs the parsed command line.
pub fn dispatch(cli: Cli, out: &Output) -> ExitStatus {
    let g = &cli.global;
    let with_log = |mut s: Settings| {
        s.invocation_id = Some(out.invocation_id.clone());
        s.log = Some(std::sync::Arc::new(crate::output::TemplateLog(out.clone())));
        s
    };
    let result = match &cli.command {
        Command::Parse => {
            settings::resolve(g, None, "parse", false).map(|s| parse::run(with_log(s), out))
        }
        Command::Compile {
            select,
            inline,
            full_refresh,
            ..
        } => settings::resolve(g, Some(select), "compile", *full_refresh)
            .map(|s| compile::run(with_log(s), inline.as_deref(), out)),
        Command::Ls {
            select,
            resource_type,
            output,
            output_keys,
        } => settings::resolve(g, Some(select), "list", false).map(|mut s| {
            // ls output is for pipes: templates' log lines stay out of it.
            s.invocation_id = Some(out.invocation_id.clone());
            ls::run(s, resource_type, *output, output_keys, out)
        }),
        Command::Clean => settings::resolve(g, None, "clean", false).map(|s| clean::run(s, out)),
        Command::Deps {
            upgrade,
            lock,
            add_package,
            source,
            dry_run,
        } => settings::resolve(g, None, "deps", false).map(|s| {
            deps::run(
                s,
                deps::Flags {
                    upgrade: *upgrade,
                    lock: *lock,
                    add_package: add_package.as_deref(),
                    source: *source,
                    dry_run: *dry_run,
                },
                out,
            )
        }),
        Command::Debug => settings::resolve(g, None, "debug", false).map(|s| debug::run(s, out)),
        Command::Run {
            select,
            full_refresh,
            fail_fast,
            tenants,
        } => settings::resolve(g, Some(select), "run", *full_refresh)
            .map(|s| run::run(with_log(s), *fail_fast, tenants, out)),
        Command::Seed {
            select,
            full_refresh,
            tenants,
            ..
        } => settings::resolve(g, Some(select), "seed", *full_refresh)
            .map(|s| seed::run(with_log(s), false, tenants, out)),
        Command::Test {
            select,
            fail_fast,
            store_failures,
            resource_type,
            tenants,
        } => settings::resolve(g, Some(select), "test", false).map(|s| {
            test::run(
                with_log(s),
                test::Flags {
                    fail_fast: *fail_fast,
                    store_failures: *store_failures,
                    resource_types: resource_type.clone(),
                },
                tenants,
                out,
            )
        }),
        Command::Snapshot { select } => settings::resolve(g, Some(select), "snapshot", false)
            .map(|s| snapshot::run(with_log(s), out)),
        Command::Build {
            select,
            full_refresh,
            fail_fast,
            store_failures,
            resource_type,
            tenants,
        } => settings::resolve(g, Some(select), "build", *full_refresh).map(|s| {
            build::run(
                with_log(s),
                test::Flags {
                    fail_fast: *fail_fast,
                    store_failures: *store_failures,
                    resource_types: resource_type.clone(),
                },
                tenants,
                out,
            )
        }),
        Command::RunOperation {
            macro_name,
            args,
            tenants,
        } => settings::resolve(g, None, "run-operation", false)
            .map(|s| run_operation::run(with_log(s), macro_name, args.as_deref(), tenants, out)),
        Command::Show {
            select,
            inline,
            limit,
            output,
        } => settings::resolve(g, Some(select), "show", false)
            .map(|s| show::run(with_log(s), inline.as_deref(), *limit, output, out)),
        Command::Retry => {
            settings::resolve(g, None, "retry", false).map(|s| retry::run(with_log(s), out))
        }
        Command::Tenants { command } => {
            settings::resolve(g, None, "tenants", false).map(|s| tenants::run(s, command, out))
        }
        Command::Docs {
            command:
                crate::args::DocsCommand::Generate {
                    select,
                    no_compile,
                    empty_catalog,
                    static_file,
                },
        } => settings::resolve(g, Some(select), "generate", false).map(|s| {
            docs::generate(
                with_log(s),
                docs::Flags {
                    no_compile: *no_compile,
                    empty_catalog: *empty_catalog,
                    static_file: *static_file,
                },
                out,
            )
        }),
        Command::Docs {
            command: crate::args::DocsCommand::Serve { port, host },
        } => settings::resolve(g, None, "serve", false).map(|s| docs::serve(s, host, *port, out)),
        Command::Source {
            command: crate::args::SourceCommand::Freshness { select, output },
        } => settings::resolve(g, Some(select), "freshness", false)
            .map(|s| freshness::run(with_log(s), output.as_deref(), out)),
    };
    result.unwrap_or_else(|d| fail(&[d], out))
}

/// Prints the diagnostics and returns exit code 2.
pub(crate) fn fail(diagnostics: &[Diagnostic], out: &Output) -> ExitStatus {
    let n = report::emit(diagnostics, out);
    if n > 1 && !out.json {
        eprintln!("{n} errors");
    }
    ExitStatus::Error
}

/// Loads and parses the project, printing warnings; errors end the command with exit 2.
pub(crate) fn load_and_parse(settings: Settings, out: &Output) -> Result<Parsed, ExitStatus> {
    let started = Instant::now();
    let loaded = mfb_exec::load(settings).map_err(|d| fail(&d, out))?;
    mfb_diagnostics::phase::mark("load");
    let parsed = mfb_exec::parse(loaded).map_err(|d| fail(&d, out))?;
    mfb_diagnostics::phase::mark("parse");
    report::emit(&parsed.warnings, out);
    let m = &parsed.manifest;
    let count =
        |rt: mfb_graph::ResourceType| m.nodes.values().filter(|n| n.resource_type == rt).count();
    out.info(
        "ParseDone",
        &format!(
            "Found {} models, {} seeds, {} snapshots, {} data tests, {} analyses, {} sources, {} exposures, {} macros ({:.2}s)",
            count(mfb_graph::ResourceType::Model),
            count(mfb_graph::ResourceType::Seed),
            count(mfb_graph::ResourceType::Snapshot),
            count(mfb_graph::ResourceType::Test),
            count(mfb_graph::ResourceType::Analysis),
            m.sources.len(),
            m.exposures.len(),
            m.macros.len(),
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(parsed)
}

/// Resolves `--select`/`--exclude`/`--selector` against the parsed project.
pub(crate) fn select(parsed: &Parsed, out: &Output) -> Result<IndexSet<UniqueId>, Vec<Diagnostic>> {
    let settings = &parsed.loaded.settings;
    let root = &parsed.loaded.project.root;
    let read_yaml = |path: std::path::PathBuf| -> Result<Option<serde_json::Value>, Diagnostic> {
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_yaml::from_str(&text).map(Some).map_err(|e| {
                Diagnostic::error(
                    "yaml-syntax",
                    format!("invalid YAML in {}: {e}", path.display()),
                )
                .with_help("fix the YAML syntax")
            }),
            Err(_) => Ok(None),
        }
    };
    let selectors_yml = read_yaml(root.join("selectors.yml")).map_err(|d| vec![d])?;
    let state_manifest = match &settings.state {
        Some(dir) => {
            let path = dir.join("manifest.json");
            let text = std::fs::read_to_string(&path).map_err(|e| {
                vec![
                    Diagnostic::error(
                        "state-manifest",
                        format!("cannot read {}: {e}", path.display()),
                    )
                    .with_help("point --state at the target/ directory of an earlier run"),
                ]
            })?;
            Some(serde_json::from_str(&text).map_err(|e| {
                vec![Diagnostic::error(
                    "state-manifest",
                    format!("{} is not valid JSON: {e}", path.display()),
                )]
            })?)
        }
        None => None,
    };
    // run_results.json and sources.json beside --state's manifest (result:, source_status:),
    // and this project's latest sources.json; a missing file only matters to those methods.
    let read_json = |path: std::path::PathBuf| -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    };
    let spec = SelectorSpec {
        selectors_yml,
        state_manifest,
        state_run_results: settings
            .state
            .as_ref()
            .and_then(|d| read_json(d.join("run_results.json"))),
        state_sources: settings
            .state
            .as_ref()
            .and_then(|d| read_json(d.join("sources.json"))),
        current_sources: read_json(mfb_exec::compile::target_dir(parsed).join("sources.json")),
    };
    let result = mfb_graph::selector::select_detailed(
        &parsed.manifest,
        &parsed.dag,
        &settings.selection,
        &spec,
        mfb_graph::IndirectSelection::Eager,
    )
    .map_err(|e| vec![e.into_diagnostic()])?;
    // A typo in --select must not silently do nothing (dbt warns the same way).
    report::emit(&result.warnings(), out);
    if result.ids.is_empty() {
        out.info("NothingToDo", "No nodes selected!");
    }
    Ok(result.ids)
}

/// Writes `target/manifest.json`.
pub(crate) fn write_manifest(parsed: &Parsed) -> Result<std::path::PathBuf, Diagnostic> {
    let dir = mfb_exec::compile::target_dir(parsed);
    std::fs::create_dir_all(&dir).map_err(|e| {
        Diagnostic::error(
            "write-failed",
            format!("cannot create {}: {e}", dir.display()),
        )
    })?;
    let path = dir.join("manifest.json");
    let file = std::fs::File::create(&path).map_err(|e| {
        Diagnostic::error(
            "write-failed",
            format!("cannot write {}: {e}", path.display()),
        )
    })?;
    mfb_graph::manifest_json::write_manifest_json(
        &parsed.manifest,
        // Small: the node chunks (hundreds of kilobytes each) bypass it, uncopied.
        std::io::BufWriter::with_capacity(64 << 10, file),
    )
    .map_err(|e| {
        Diagnostic::error(
            "write-failed",
            format!("cannot write {}: {e}", path.display()),
        )
    })?;
    Ok(path)
}

/// What ran, counted the way dbt words it: `3 view models, 1 seed, 12 data tests`.
fn stat_line(parsed: &Parsed, results: &[mfb_exec::results::NodeResult], noun: &str) -> String {
    use mfb_graph::ResourceType;
    // Keyed the way dbt keys them (a data test is `test`), shown in key order.
    let mut counts: std::collections::BTreeMap<String, (String, usize)> =
        std::collections::BTreeMap::new();
    for r in results {
        let Some(node) = parsed.manifest.nodes.get(r.unique_id.as_str()) else {
            continue;
        };
        let (key, shown) = match node.resource_type {
            ResourceType::Model => {
                let m = format!(
                    "{} model",
                    node.config
                        .get("materialized")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("view")
                );
                (m.clone(), m)
            }
            ResourceType::Seed => ("seed".to_owned(), "seed".to_owned()),
            ResourceType::Snapshot => ("snapshot".to_owned(), "snapshot".to_owned()),
            ResourceType::Test => ("test".to_owned(), "data test".to_owned()),
            ResourceType::UnitTest => ("unit_test".to_owned(), "unit test".to_owned()),
            ResourceType::Operation => ("project hook".to_owned(), "project hook".to_owned()),
            _ => continue,
        };
        counts.entry(key).or_insert((shown, 0)).1 += 1;
    }
    if counts.is_empty() {
        return format!("0 {noun}");
    }
    counts
        .values()
        .map(|(k, n)| format!("{n} {k}{}", plural(*n)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A progress line padded with dots to a status in brackets, like dbt's.
pub(crate) fn dotted(text: &str, status: &str) -> String {
    let width = 70usize.saturating_sub(text.chars().count()).max(3);
    format!("{text} {} [{status}]", ".".repeat(width))
}

/// `args` of run_results.json: the command, and what `mfb retry` needs to rerun it
/// (selection, `--full-refresh`, `--vars`, `--store-failures`).
pub(crate) fn run_args(parsed: &Parsed, which: &str) -> serde_json::Value {
    let s = &parsed.loaded.settings;
    let mut args = serde_json::json!({
        "which": which,
        "full_refresh": s.full_refresh,
        "select": s.selection.select,
        "exclude": s.selection.exclude,
        "selector": s.selection.selector,
        "vars": s.vars,
    });
    if s.store_failures {
        args["store_failures"] = true.into();
    }
    args
}

/// The end of a command that ran nodes: writes manifest.json and run_results.json, prints
/// the summary (`Done. PASS=.. ERROR=.. SKIP=..`) and the errors, and picks the exit code.
pub(crate) fn finish_run(
    parsed: &Parsed,
    results: &[mfb_exec::results::NodeResult],
    started: Instant,
    which: &str,
    noun: &str,
    out: &Output,
) -> ExitStatus {
    use mfb_exec::results::Status;
    let elapsed = started.elapsed().as_secs_f64();
    let target = mfb_exec::compile::target_dir(parsed);
    let args = run_args(parsed, which);
    if let Err(d) = write_manifest(parsed).and_then(|_| {
        mfb_exec::results::write_run_results(&target, results, &out.invocation_id, elapsed, args)
    }) {
        return fail(&[d], out);
    }
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
            "Finished running {} in {} hours {} minutes and {:.2} seconds ({elapsed:.2}s).",
            stat_line(parsed, results, noun),
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
        // dbt 1.10's wording.
        let what = if errors == 0 {
            out.paint(
                &format!("Completed with {warnings} warning{}:", plural(warnings)),
                "33",
            )
        } else {
            out.paint(
                &format!(
                    "Completed with {errors} error{}, 0 partial successes, and {warnings} warning{}:",
                    plural(errors),
                    plural(warnings)
                ),
                "31",
            )
        };
        out.info("EndOfRunSummary", &what);
        report::emit(&problems, out);
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
    if mfb_exec::engine::interrupted() {
        out.info(
            "CancelLine",
            "Interrupted: the statements in flight were cancelled and rolled back; every relation is as it was before its statement.",
        );
        return ExitStatus::Interrupted;
    }
    if results
        .iter()
        .any(|r| r.status.blocks_downstream() && r.status != Status::Skipped)
    {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    }
}
