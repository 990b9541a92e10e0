//! `mfb seed`: each selected seed's CSV loaded with `COPY` by `mfb-postgres`, each in its
//! own transaction (a failed load leaves the previous table as it was).

use std::time::Instant;

use indexmap::IndexSet;
use mfb_diagnostics::{Diagnostic, IntoDiagnostic, Location};
use mfb_graph::{Node, ResourceType, UniqueId};
use mfb_postgres::SeedTarget;
use serde_json::Value;

use crate::results::{NodeResult, Status, now};
use crate::{Diagnostics, Parsed};

/// Told about each seed as it starts and ends (the CLI prints progress lines).
pub trait Progress {
    /// Seed `index` of `total` starts.
    fn start(&self, index: usize, total: usize, node: &Node);
    /// Seed `index` of `total` ended.
    fn done(&self, index: usize, total: usize, node: &Node, result: &NodeResult);
}

fn seed_target(node: &Node, full_refresh: bool) -> SeedTarget {
    let mut t = SeedTarget::new(&node.schema, &node.alias);
    if let Some(types) = node.config.get("column_types").and_then(Value::as_object) {
        t.column_types = types
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect();
    }
    if let Some(q) = node.config.get("quote_columns").and_then(Value::as_bool) {
        t.quote_columns = q;
    }
    if let Some(d) = node
        .config
        .get("delimiter")
        .and_then(Value::as_str)
        .and_then(|d| d.bytes().next())
    {
        t.delimiter = d;
    }
    t.full_refresh =
        full_refresh || node.config.get("full_refresh").and_then(Value::as_bool) == Some(true);
    t
}

/// Loads the selected seeds, in order, over one connection.
pub fn seed(
    parsed: &Parsed,
    selected: &IndexSet<UniqueId>,
    progress: &dyn Progress,
) -> Result<Vec<NodeResult>, Diagnostics> {
    let loaded = &parsed.loaded;
    let seeds: Vec<&Node> = selected
        .iter()
        .filter_map(|id| parsed.manifest.nodes.get(id))
        .filter(|n| n.resource_type == ResourceType::Seed)
        .collect();
    if seeds.is_empty() {
        return Ok(Vec::new());
    }
    let config = crate::warehouse::connection_config(&loaded.target).map_err(|m| {
        vec![Diagnostic::error("profile-invalid", m).with_help("fix the profile's fields")]
    })?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            vec![Diagnostic::error(
                "runtime",
                format!("cannot start the async runtime: {e}"),
            )]
        })?;
    rt.block_on(async {
        let mut conn = mfb_postgres::connect(&config)
            .await
            .map_err(|e| vec![e.into_diagnostic()])?;
        let mut results = Vec::with_capacity(seeds.len());
        for (i, node) in seeds.iter().enumerate() {
            progress.start(i + 1, seeds.len(), node);
            let started_at = now();
            let clock = Instant::now();
            let csv = loaded
                .project
                .package(&node.package_name)
                .map(|p| p.root.join(&node.original_file_path))
                .unwrap_or_else(|| loaded.project.root.join(&node.original_file_path));
            let outcome = mfb_postgres::load_seed(
                &mut conn,
                &csv,
                &seed_target(node, loaded.settings.full_refresh),
            )
            .await;
            let (status, message, rows, diagnostic) = match outcome {
                Ok(r) => (
                    Status::Success,
                    format!("INSERT {}", r.rows),
                    r.rows as i64,
                    None,
                ),
                Err(e) => {
                    let mut d = e.into_diagnostic();
                    if d.location.is_none() {
                        d = d.at(Location::file(&node.original_file_path));
                    }
                    d.notes.push(format!("while loading {}", node.unique_id));
                    (Status::Error, d.message.clone(), 0, Some(d))
                }
            };
            let result = NodeResult {
                unique_id: node.unique_id.to_string(),
                status,
                message,
                rows_affected: rows,
                code: "INSERT".to_owned(),
                started_at,
                completed_at: now(),
                execution_time: clock.elapsed().as_secs_f64(),
                relation_name: node.relation_name.clone(),
                compiled_code: None,
                diagnostic,
            };
            progress.done(i + 1, seeds.len(), node, &result);
            results.push(result);
        }
        Ok(results)
    })
}
