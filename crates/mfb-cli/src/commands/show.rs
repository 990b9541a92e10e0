//! `mfb show`: preview the rows of the selected nodes or of `--inline` SQL, as dbt's text
//! table (`Previewing node 'orders':`) or as JSON (`{"node": .., "show": [..]}`).

use std::time::Instant;

use indexmap::IndexSet;
use mfb_diagnostics::Diagnostic;
use mfb_exec::Settings;
use mfb_exec::results::{NodeResult, Status, now};
use mfb_graph::{ResourceType, UniqueId};
use serde_json::json;

use crate::ExitStatus;
use crate::output::Output;

/// One preview: what is shown and the SQL that produced it.
struct Shown {
    /// The node's name; None for `--inline`.
    name: Option<String>,
    table: mfb_exec::show::Table,
    result: NodeResult,
}

pub(super) fn run(
    settings: Settings,
    inline: Option<&str>,
    limit: i64,
    output: &str,
    out: &Output,
) -> ExitStatus {
    let started = Instant::now();
    let json = match output {
        "json" => true,
        "text" => false,
        other => {
            return super::fail(
                &[
                    Diagnostic::error("show-output", format!("unknown --output `{other}`"))
                        .with_help("use --output text or --output json"),
                ],
                out,
            );
        }
    };
    let no_selection =
        settings.selection.select.is_empty() && settings.selection.selector.is_none();
    if inline.is_none() && no_selection {
        return super::fail(
            &[
                Diagnostic::error("show-nothing", "show needs --select or --inline")
                    .with_help("pass --select MODEL, or --inline \"select ...\""),
            ],
            out,
        );
    }
    let mut parsed = match super::load_and_parse(settings, out) {
        Ok(p) => p,
        Err(status) => return status,
    };
    let shown = match inline {
        Some(sql) => show_inline(&parsed, sql, limit).map(|s| vec![s]),
        None => show_selected(&mut parsed, limit, out),
    };
    let shown = match shown {
        Ok(s) => s,
        Err(d) => return super::fail(&d, out),
    };
    for s in &shown {
        let text = if json {
            let mut doc = serde_json::Map::new();
            if let Some(name) = &s.name {
                doc.insert("node".into(), json!(name));
            }
            doc.insert("show".into(), json!(mfb_exec::show::json_rows(&s.table)));
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        } else {
            let table = mfb_exec::show::text_table(&s.table);
            match (&s.name, out.quiet) {
                (_, true) => format!("{table}\n"),
                (Some(name), false) => format!("Previewing node '{name}':\n{table}\n"),
                (None, false) => format!("Previewing inline node:\n{table}\n"),
            }
        };
        out.result(&text);
    }
    let results: Vec<NodeResult> = shown.into_iter().map(|s| s.result).collect();
    let s = &parsed.loaded.settings;
    let args = json!({
        "which": "show",
        "select": s.selection.select,
        "exclude": s.selection.exclude,
        "selector": s.selection.selector,
        "inline": inline,
        "limit": limit,
        "output": output,
        "vars": s.vars,
    });
    let target = mfb_exec::compile::target_dir(&parsed);
    if let Err(d) = super::write_manifest(&parsed).and_then(|_| {
        mfb_exec::results::write_run_results(
            &target,
            &results,
            &out.invocation_id,
            started.elapsed().as_secs_f64(),
            args,
        )
    }) {
        return super::fail(&[d], out);
    }
    ExitStatus::Success
}

/// Runs `sql` limited to `limit` rows and records it as a result of `unique_id`.
fn preview(
    parsed: &mfb_exec::Parsed,
    unique_id: &str,
    relation_name: Option<String>,
    compiled: &str,
    limit: i64,
) -> Result<(mfb_exec::show::Table, NodeResult), Diagnostic> {
    let sql = mfb_exec::show::limited_sql(compiled, limit);
    let started_at = now();
    let clock = Instant::now();
    let table = mfb_exec::show::fetch(parsed, &sql)?;
    let n = table.rows.len() as i64;
    let result = NodeResult {
        unique_id: unique_id.to_owned(),
        status: Status::Success,
        message: format!("SELECT {n}"),
        rows_affected: n,
        code: "SELECT".to_owned(),
        started_at,
        completed_at: now(),
        execution_time: clock.elapsed().as_secs_f64(),
        relation_name,
        compiled_code: Some(sql),
        diagnostic: None,
        failures: None,
        thread_id: "Thread-1 (worker)".to_owned(),
    };
    Ok((table, result))
}

fn show_inline(parsed: &mfb_exec::Parsed, sql: &str, limit: i64) -> Result<Shown, Vec<Diagnostic>> {
    let compiled = mfb_exec::show::compile_inline(parsed, sql)?;
    let unique_id = format!(
        "sql_operation.{}.inline_query",
        parsed.loaded.project.root_package().name
    );
    let (table, result) = preview(parsed, &unique_id, None, &compiled, limit)
        .map_err(|d| vec![d.with_note("while running the --inline SQL")])?;
    Ok(Shown {
        name: None,
        table,
        result,
    })
}

fn show_selected(
    parsed: &mut mfb_exec::Parsed,
    limit: i64,
    out: &Output,
) -> Result<Vec<Shown>, Vec<Diagnostic>> {
    let selected = super::select(parsed, out)?;
    let selected: IndexSet<UniqueId> = selected
        .into_iter()
        .filter(|id| {
            parsed.manifest.nodes.get(id).is_some_and(|n| {
                matches!(
                    n.resource_type,
                    ResourceType::Model
                        | ResourceType::Seed
                        | ResourceType::Snapshot
                        | ResourceType::Analysis
                        | ResourceType::Test
                )
            })
        })
        .collect();
    mfb_exec::compile(parsed, &selected)?;
    let order = parsed.dag.topo_order();
    let mut shown = Vec::new();
    for id in order.iter().filter(|id| selected.contains(*id)) {
        let node = &parsed.manifest.nodes[id];
        // A seed has no SQL of its own: preview its table.
        let compiled = match (&node.compiled_code, &node.relation_name) {
            (Some(sql), _) => sql.clone(),
            (None, Some(relation)) => format!("select * from {relation}"),
            (None, None) => continue,
        };
        let (table, result) = preview(
            parsed,
            node.unique_id.as_str(),
            node.relation_name.clone(),
            &compiled,
            limit,
        )
        .map_err(|d| {
            vec![d.with_note(format!(
                "while previewing {} ({})",
                node.unique_id, node.original_file_path
            ))]
        })?;
        shown.push(Shown {
            name: Some(node.name.clone()),
            table,
            result,
        });
    }
    Ok(shown)
}
