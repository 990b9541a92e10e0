//! The manifest's data: what the parser produced for every node.

use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

use mfb_diagnostics::Location;
use mfb_project::NodeConfig;

/// A dbt unique id, e.g. `model.my_project.orders`, `source.my_project.raw.orders`,
/// `test.my_project.not_null_orders_id.5fb22c2a2a`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UniqueId(pub Arc<str>);

impl UniqueId {
    /// Wraps a string.
    pub fn new(s: impl Into<Arc<str>>) -> Self {
        UniqueId(s.into())
    }
    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Lets maps keyed by `UniqueId` be queried with a `&str`.
impl std::borrow::Borrow<str> for UniqueId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UniqueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// dbt's resource types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceType {
    Model,
    Seed,
    Snapshot,
    Analysis,
    Test,
    UnitTest,
    Source,
    Exposure,
    Macro,
    Doc,
    Operation,
}

impl ResourceType {
    /// The name dbt uses (`model`, `seed`, `unit_test`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Model => "model",
            ResourceType::Seed => "seed",
            ResourceType::Snapshot => "snapshot",
            ResourceType::Analysis => "analysis",
            ResourceType::Test => "test",
            ResourceType::UnitTest => "unit_test",
            ResourceType::Source => "source",
            ResourceType::Exposure => "exposure",
            ResourceType::Macro => "macro",
            ResourceType::Doc => "doc",
            ResourceType::Operation => "operation",
        }
    }
}

/// A `ref()` call as written: `ref('pkg', 'name', v=2)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct RefCall {
    pub package: Option<String>,
    pub name: String,
    pub version: Option<String>,
    /// Where the call was written (model file and line), for errors.
    #[serde(skip)]
    pub at: Option<Location>,
}

/// `depends_on` of a node: macros and nodes (models, seeds, snapshots, sources) by unique id.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DependsOn {
    pub macros: Vec<String>,
    pub nodes: Vec<String>,
}

/// A documented column.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ColumnInfo {
    pub name: String,
    pub description: String,
    pub meta: IndexMap<String, Value>,
    pub data_type: Option<String>,
    pub constraints: Vec<Value>,
    pub quote: Option<bool>,
    pub tags: Vec<String>,
}

/// What a generic test node was generated from.
#[derive(Debug, Clone, Serialize)]
pub struct TestMetadata {
    /// Test name, e.g. `unique`.
    pub name: String,
    /// Test arguments, including `model` (as the Jinja string dbt stores, e.g.
    /// `"{{ get_where_subquery(ref('orders')) }}"`) and `column_name` when set.
    pub kwargs: IndexMap<String, Value>,
    /// Package namespace for `pkg.test_name`.
    pub namespace: Option<String>,
}

/// A model, seed, snapshot, analysis, test or unit test.
#[derive(Debug, Clone)]
pub struct Node {
    pub unique_id: UniqueId,
    pub resource_type: ResourceType,
    pub package_name: String,
    pub name: String,
    /// `[package, folder.., name]` (dbt's fqn).
    pub fqn: Vec<String>,
    /// Path relative to the resource folder (`staging/stg_orders.sql`).
    pub path: String,
    /// Path relative to the package root (`models/staging/stg_orders.sql`).
    pub original_file_path: String,
    /// The YAML file that documents this node, if any (`package://models/schema.yml`).
    pub patch_path: Option<String>,
    /// The SQL as written (for generic tests, the generated Jinja that calls the test macro).
    pub raw_code: Arc<str>,
    /// sha256 of the file contents, hex.
    pub checksum: String,
    /// Final config after all precedence rules (`materialized`, `schema`, `tags`, ...).
    pub config: NodeConfig,
    /// Union of config `tags` (dbt exposes them at the node level too).
    pub tags: Vec<String>,
    pub description: String,
    pub meta: IndexMap<String, Value>,
    pub columns: IndexMap<String, ColumnInfo>,
    /// Relation naming (after `generate_*_name` macros). None for tests/analyses where N/A.
    pub database: String,
    pub schema: String,
    /// Relation name; for tests, the test's name.
    pub alias: String,
    /// `"db"."schema"."alias"` for relations that exist in the warehouse.
    pub relation_name: Option<String>,
    pub refs: Vec<RefCall>,
    /// `source('a', 'b')` calls as `[a, b]`.
    pub sources: Vec<[String; 2]>,
    pub depends_on: DependsOn,
    /// Set by `compile`: the rendered SQL.
    pub compiled_code: Option<String>,
    /// For generic tests.
    pub test_metadata: Option<TestMetadata>,
    /// For column tests, the column.
    pub column_name: Option<String>,
    /// For tests: the node or source they test.
    pub attached_node: Option<String>,
    /// For generic tests: the YAML key under which they were defined (`columns` / model name).
    pub file_key_name: Option<String>,
    /// Unit test definition (for unit_test nodes), raw.
    pub unit_test: Option<Value>,
    /// For a versioned model, its version (`1` for `dim_accounts_v1`).
    pub version: Option<String>,
    /// For a versioned model, the version `ref()` without `v=` resolves to.
    pub latest_version: Option<String>,
    /// Where the node was defined (file, line) for errors.
    pub defined_at: Location,
}

/// A source table.
#[derive(Debug, Clone)]
pub struct SourceNode {
    pub unique_id: UniqueId,
    pub package_name: String,
    pub source_name: String,
    pub name: String,
    pub identifier: String,
    pub database: String,
    pub schema: String,
    pub relation_name: String,
    pub fqn: Vec<String>,
    pub path: String,
    pub original_file_path: String,
    pub description: String,
    pub source_description: String,
    pub loader: String,
    pub loaded_at_field: Option<String>,
    pub freshness: Option<Value>,
    pub columns: IndexMap<String, ColumnInfo>,
    pub meta: IndexMap<String, Value>,
    pub source_meta: IndexMap<String, Value>,
    pub tags: Vec<String>,
    pub config: NodeConfig,
    pub quoting: IndexMap<String, Value>,
    pub defined_at: Location,
}

/// A macro (project, package or built-in).
#[derive(Debug, Clone)]
pub struct MacroNode {
    pub unique_id: UniqueId,
    pub package_name: String,
    pub name: String,
    pub path: String,
    pub original_file_path: String,
    pub macro_sql: Arc<str>,
    pub description: String,
    pub depends_on_macros: Vec<String>,
    pub arguments: Vec<Value>,
    pub meta: IndexMap<String, Value>,
}

/// A `{% docs %}` block.
#[derive(Debug, Clone)]
pub struct DocNode {
    pub unique_id: UniqueId,
    pub package_name: String,
    pub name: String,
    pub path: String,
    pub original_file_path: String,
    pub block_contents: String,
}

/// An exposure.
#[derive(Debug, Clone)]
pub struct Exposure {
    pub unique_id: UniqueId,
    pub package_name: String,
    pub name: String,
    pub label: Option<String>,
    pub exposure_type: String,
    pub url: Option<String>,
    pub maturity: Option<String>,
    pub description: String,
    pub owner: IndexMap<String, Value>,
    pub fqn: Vec<String>,
    pub path: String,
    pub original_file_path: String,
    pub refs: Vec<RefCall>,
    pub sources: Vec<[String; 2]>,
    pub depends_on: DependsOn,
    pub meta: IndexMap<String, Value>,
    pub tags: Vec<String>,
    pub config: NodeConfig,
}

/// A map keyed by unique id, in insertion order, hashing with foldhash: a large project's
/// manifest holds tens of thousands of nodes, looked up by id at every step.
pub type IdMap<V> = IndexMap<UniqueId, V, foldhash::fast::RandomState>;

/// Everything parsed, keyed by unique id, in a deterministic order.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    /// Models, seeds, snapshots, analyses, tests, unit tests.
    pub nodes: IdMap<Node>,
    pub sources: IdMap<SourceNode>,
    pub macros: IndexMap<UniqueId, MacroNode>,
    pub docs: IndexMap<UniqueId, DocNode>,
    pub exposures: IndexMap<UniqueId, Exposure>,
    /// Disabled nodes (excluded from the DAG), by unique id.
    pub disabled: IdMap<Node>,
    /// Root project name.
    pub project_name: String,
    /// `adapter_type` for metadata (always `postgres`).
    pub adapter_type: String,
    /// The invocation id of the run that produced the manifest.
    pub invocation_id: String,
    /// ISO-8601 UTC time the manifest was generated.
    pub generated_at: String,
    /// Environment variable names starting `DBT_ENV_CUSTOM_ENV_` and their values.
    pub env: IndexMap<String, String>,
}
