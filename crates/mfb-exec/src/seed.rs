//! `mfb seed`: each selected seed's CSV loaded with `COPY` by `mfb-postgres`, each in its
//! own transaction (a failed load leaves the previous table as it was), on the session's
//! threads.

use indexmap::IndexSet;
use mfb_diagnostics::{Diagnostic, IntoDiagnostic, Location};
use mfb_graph::{Node, ResourceType, UniqueId};
use mfb_postgres::{Connection, SeedTarget};
use serde_json::Value;

use crate::engine::{Outcome, Session};
use crate::results::NodeResult;
use crate::schedule::{Policy, Progress};
use crate::{Diagnostics, Parsed};

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

/// Loads one seed's CSV on `conn`.
pub fn load(s: &Session<'_>, conn: &mut Connection, node: &Node) -> Result<Outcome, Diagnostic> {
    let loaded = &s.parsed.loaded;
    let csv = loaded
        .project
        .package(&node.package_name)
        .map(|p| p.root.join(&node.original_file_path))
        .unwrap_or_else(|| loaded.project.root.join(&node.original_file_path));
    let target = seed_target(node, loaded.settings.full_refresh);
    match s.block_on(mfb_postgres::load_seed(conn, &csv, &target)) {
        Ok(r) => Ok(Outcome {
            message: format!("INSERT {}", r.rows),
            code: "INSERT".to_owned(),
            rows: r.rows as i64,
            ..Outcome::default()
        }),
        Err(e) => {
            let mut d = e.into_diagnostic();
            if d.location.is_none() {
                d = d.at(Location::file(&node.original_file_path));
            }
            d.notes.push(format!("while loading {}", node.unique_id));
            Err(d)
        }
    }
}

/// Loads the selected seeds on the session's threads.
pub fn seed(
    parsed: &mut Parsed,
    selected: &IndexSet<UniqueId>,
    policy: Policy,
    progress: &dyn Progress,
) -> Result<Vec<NodeResult>, Diagnostics> {
    crate::run::run_plan(
        parsed,
        selected,
        |n| n.resource_type == ResourceType::Seed,
        policy,
        progress,
    )
}
