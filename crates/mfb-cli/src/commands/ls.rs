//! `mfb ls`: list resources as selectors, names, paths or JSON.

use std::collections::HashSet;

use mfb_diagnostics::Diagnostic;
use mfb_exec::Settings;
use mfb_graph::{ResourceType, UniqueId};
use serde_json::{Value, json};

use crate::ExitStatus;
use crate::args::LsOutput;
use crate::output::Output;

fn parse_types(types: &[String]) -> Result<Option<HashSet<&'static str>>, Diagnostic> {
    let known = [
        "model",
        "seed",
        "snapshot",
        "test",
        "unit_test",
        "source",
        "exposure",
        "analysis",
        "metric",
        "semantic_model",
        "saved_query",
    ];
    let mut set = HashSet::new();
    for t in types {
        match t.as_str() {
            // `all` lists everything, analyses included; `default` is dbt's default set.
            "all" => return Ok(Some(known.iter().copied().collect())),
            "default" => return Ok(None),
            other => match known.iter().find(|k| **k == other) {
                Some(k) => {
                    set.insert(*k);
                }
                None => {
                    return Err(Diagnostic::error(
                        "bad-resource-type",
                        format!("unknown resource type `{other}`"),
                    )
                    .with_help(format!("use one of: {}, all", known.join(", "))));
                }
            },
        }
    }
    Ok((!set.is_empty()).then_some(set))
}

pub(super) fn run(
    settings: Settings,
    types: &[String],
    output: LsOutput,
    keys: &[String],
    out: &Output,
) -> ExitStatus {
    let quiet_out = Output {
        quiet: true,
        ..out.clone()
    };
    let types = match parse_types(types) {
        Ok(t) => t,
        Err(d) => return super::fail(&[d], out),
    };
    let parsed = match super::load_and_parse(settings, &quiet_out) {
        Ok(p) => p,
        Err(status) => return status,
    };
    let selected = match super::select(&parsed, out) {
        Ok(s) => s,
        Err(d) => return super::fail(&d, out),
    };
    let m = &parsed.manifest;
    // dbt lists in unique-id order.
    let mut selected: Vec<UniqueId> = selected.into_iter().collect();
    selected.sort();
    for id in &selected {
        let Some(entry) = describe(m, id) else {
            continue;
        };
        let wanted = match &types {
            Some(t) => t.contains(entry.resource_type.as_str()),
            // Like `dbt ls`, analyses are listed only when asked for.
            None => entry.resource_type != ResourceType::Analysis,
        };
        if !wanted {
            continue;
        }
        let line = match output {
            LsOutput::Name => entry.name.clone(),
            LsOutput::Path => entry.path.clone(),
            LsOutput::Selector => entry.selector.clone(),
            LsOutput::Json => {
                let mut v = entry.json.clone();
                if !keys.is_empty()
                    && let Value::Object(map) = &mut v
                {
                    map.retain(|k, _| keys.iter().any(|want| want == k));
                }
                python_json(&v)
            }
        };
        out.result(&line);
    }
    // The process ends next: freeing a large project's manifest would only cost time.
    std::mem::forget(parsed);
    ExitStatus::Success
}

struct Entry {
    resource_type: ResourceType,
    name: String,
    path: String,
    selector: String,
    json: Value,
}

fn describe(m: &mfb_graph::Manifest, id: &UniqueId) -> Option<Entry> {
    if let Some(n) = m.nodes.get(id) {
        if n.resource_type == ResourceType::Operation {
            return None;
        }
        // dbt lists a seed's depends_on without `nodes` (a seed depends on nothing).
        let depends_on = if n.resource_type == ResourceType::Seed {
            json!({"macros": n.depends_on.macros})
        } else {
            json!({"macros": n.depends_on.macros, "nodes": n.depends_on.nodes})
        };
        let json = json!({
            "name": n.name, "resource_type": n.resource_type.as_str(), "package_name": n.package_name,
            "original_file_path": n.original_file_path, "unique_id": n.unique_id.as_str(), "alias": n.alias,
            "config": mfb_graph::manifest_json::node_config_json(n), "tags": n.tags, "depends_on": depends_on,
        });
        // dbt lists a unit test as `unit_test:<package>.<name>`.
        let selector = if n.resource_type == ResourceType::UnitTest {
            format!("unit_test:{}.{}", n.package_name, n.name)
        } else {
            n.fqn.join(".")
        };
        return Some(Entry {
            resource_type: n.resource_type,
            name: n.name.clone(),
            path: n.original_file_path.clone(),
            selector,
            json,
        });
    }
    if let Some(s) = m.sources.get(id) {
        return Some(Entry {
            resource_type: ResourceType::Source,
            name: format!("{}.{}", s.source_name, s.name),
            path: s.original_file_path.clone(),
            selector: format!(
                "source:{}",
                s.fqn.first().map_or(String::new(), |p| format!(
                    "{p}.{}.{}",
                    s.source_name, s.name
                ))
            ),
            // dbt's keys, in dbt's order.
            json: json!({"name": s.name, "resource_type": "source", "package_name": s.package_name,
                "original_file_path": s.original_file_path, "unique_id": s.unique_id.as_str(),
                "source_name": s.source_name, "tags": s.tags,
                "config": mfb_graph::manifest_json::source_config_json(s)}),
        });
    }
    if let Some(e) = m.exposures.get(id) {
        return Some(Entry {
            resource_type: ResourceType::Exposure,
            name: e.name.clone(),
            path: e.original_file_path.clone(),
            selector: format!("exposure:{}.{}", e.package_name, e.name),
            json: json!({"name": e.name, "resource_type": "exposure", "package_name": e.package_name,
                "original_file_path": e.original_file_path, "unique_id": e.unique_id.as_str(), "tags": e.tags,
                "config": {"enabled": true, "tags": e.tags, "meta": e.meta},
                "depends_on": {"macros": e.depends_on.macros, "nodes": e.depends_on.nodes}}),
        });
    }
    None
}

/// JSON as Python's `json.dumps` writes it (`", "` and `": "` separators), like `dbt ls`.
fn python_json(v: &Value) -> String {
    match v {
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_json).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), python_json(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}
