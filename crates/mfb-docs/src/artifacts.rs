//! The parts of dbt's artifacts the site reads: manifest.json (v12), catalog.json (v1),
//! run_results.json (v6), and the optional column lineage. Unknown fields are ignored, so
//! artifacts written by dbt itself work too.

use std::collections::BTreeMap;
use std::path::Path;

use mfb_diagnostics::Diagnostic;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Everything the site is built from.
#[derive(Debug, Default)]
pub struct Artifacts {
    /// target/manifest.json.
    pub manifest: Manifest,
    /// target/catalog.json, when there is one (columns as built, RLS facts).
    pub catalog: Option<Catalog>,
    /// target/run_results.json, when there is one (last run and test results).
    pub run_results: Option<RunResults>,
    /// Column-level lineage, when known (merged with `columns.<c>.lineage` of the manifest).
    pub lineage: ColumnLineage,
}

impl Artifacts {
    /// Reads manifest.json (required), catalog.json and run_results.json (both optional)
    /// from a target directory.
    pub fn read(target: &Path) -> Result<Artifacts, Diagnostic> {
        let manifest = read_json(&target.join("manifest.json"))?.ok_or_else(|| {
            Diagnostic::error(
                "docs-no-manifest",
                format!("{} does not exist", target.join("manifest.json").display()),
            )
            .with_help("run `mfb docs generate` (or `mfb compile`) first")
        })?;
        Ok(Artifacts {
            manifest,
            catalog: read_json(&target.join("catalog.json"))?,
            run_results: read_json(&target.join("run_results.json"))?,
            lineage: ColumnLineage::default(),
        })
    }
}

/// Reads and parses one JSON artifact; `None` when the file does not exist.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, Diagnostic> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Diagnostic::error(
                "docs-read-failed",
                format!("cannot read {}: {e}", path.display()),
            ));
        }
    };
    serde_json::from_slice(&text).map(Some).map_err(|e| {
        Diagnostic::error(
            "docs-bad-artifact",
            format!(
                "{}:{}:{}: not the artifact mfb expects: {e}",
                path.display(),
                e.line(),
                e.column()
            ),
        )
        .with_help("regenerate it with `mfb docs generate`")
    })
}

/// manifest.json.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Manifest {
    pub metadata: ManifestMetadata,
    pub nodes: BTreeMap<String, Node>,
    pub sources: BTreeMap<String, Node>,
    pub exposures: BTreeMap<String, Node>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ManifestMetadata {
    pub project_name: Option<String>,
    pub generated_at: Option<String>,
    pub invocation_id: Option<String>,
    pub dbt_version: Option<String>,
}

/// A node, source or exposure of the manifest (the fields the site shows).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Node {
    pub unique_id: String,
    pub name: String,
    pub resource_type: String,
    pub package_name: String,
    pub original_file_path: String,
    pub description: String,
    pub columns: BTreeMap<String, ManifestColumn>,
    pub raw_code: Option<String>,
    pub compiled_code: Option<String>,
    pub depends_on: DependsOn,
    pub config: Value,
    pub database: Option<String>,
    pub schema: Option<String>,
    pub alias: Option<String>,
    pub identifier: Option<String>,
    pub relation_name: Option<String>,
    pub tags: Vec<String>,
    pub meta: Value,
    pub fqn: Vec<String>,
    // sources
    pub source_name: Option<String>,
    pub loader: Option<String>,
    // tests
    pub attached_node: Option<String>,
    pub column_name: Option<String>,
    pub test_metadata: Option<TestMetadata>,
    // exposures
    #[serde(rename = "type")]
    pub exposure_type: Option<String>,
    pub url: Option<String>,
    pub owner: Value,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DependsOn {
    pub nodes: Vec<String>,
    pub macros: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TestMetadata {
    pub name: String,
}

/// `columns.<name>` of a manifest node (what properties YAML documents).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ManifestColumn {
    pub name: String,
    pub description: String,
    pub data_type: Option<String>,
    /// Column lineage, when an analysis put it in the manifest.
    pub lineage: Vec<ColumnSource>,
}

/// catalog.json.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Catalog {
    pub nodes: BTreeMap<String, CatalogEntry>,
    pub sources: BTreeMap<String, CatalogEntry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CatalogEntry {
    pub metadata: CatalogMetadata,
    pub columns: BTreeMap<String, CatalogColumn>,
    pub stats: BTreeMap<String, CatalogStat>,
}

impl CatalogEntry {
    /// The value of one `stats` entry.
    pub fn stat(&self, id: &str) -> Option<&Value> {
        self.stats.get(id).map(|s| &s.value)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CatalogMetadata {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub owner: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CatalogColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: Option<String>,
    pub index: Option<i64>,
    pub comment: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CatalogStat {
    pub value: Value,
}

/// run_results.json.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunResults {
    pub metadata: RunMetadata,
    pub results: Vec<RunResult>,
    pub args: Value,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunMetadata {
    pub generated_at: Option<String>,
    pub invocation_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunResult {
    pub unique_id: String,
    pub status: String,
    pub execution_time: Option<f64>,
    pub message: Option<String>,
    pub failures: Option<i64>,
    pub timing: Vec<Timing>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Timing {
    pub name: String,
    pub completed_at: Option<String>,
}

/// Column-level lineage: node id -> column -> the upstream columns it comes from.
///
/// As JSON: `{"model.p.orders": {"customer_id": [{"node": "model.p.stg_orders",
/// "column": "customer_id", "kind": "direct"}]}}`. `kind` is free text shown as is
/// (for example `direct`, `transform`, `aggregate`, `filter`).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ColumnLineage(pub BTreeMap<String, BTreeMap<String, Vec<ColumnSource>>>);

/// One upstream column of a column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSource {
    /// The unique id of the upstream node or source.
    pub node: String,
    /// The column of that node.
    pub column: String,
    /// How the column is derived from it.
    #[serde(default)]
    pub kind: String,
}
