//! Properties YAML (`version: 2` files): models, seeds, snapshots, analyses, sources,
//! macros, exposures, unit tests, and `{% docs %}` blocks from `.md` files.

use indexmap::IndexMap;
use serde_json::Value;

/// All properties of one package, merged across its YAML files.
#[derive(Debug, Clone, Default)]
pub struct Properties {
    pub models: Vec<NodeProps>,
    pub seeds: Vec<NodeProps>,
    pub snapshots: Vec<NodeProps>,
    pub analyses: Vec<NodeProps>,
    pub sources: Vec<SourceProps>,
    pub macros: Vec<MacroProps>,
    pub exposures: Vec<ExposureProps>,
    pub unit_tests: Vec<UnitTestProps>,
    pub docs: Vec<DocBlock>,
}

impl Properties {
    /// Moves every entry of `other` to the end of `self`.
    pub fn append(&mut self, other: Properties) {
        self.models.extend(other.models);
        self.seeds.extend(other.seeds);
        self.snapshots.extend(other.snapshots);
        self.analyses.extend(other.analyses);
        self.sources.extend(other.sources);
        self.macros.extend(other.macros);
        self.exposures.extend(other.exposures);
        self.unit_tests.extend(other.unit_tests);
        self.docs.extend(other.docs);
    }
}

/// Where an entry was written: file relative to the package root, 1-based line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub line: u32,
}

/// A model/seed/snapshot/analysis entry.
#[derive(Debug, Clone, Default)]
pub struct NodeProps {
    pub name: String,
    pub description: String,
    /// `config:` block.
    pub config: IndexMap<String, Value>,
    pub meta: IndexMap<String, Value>,
    pub tags: Vec<String>,
    pub docs: Option<Value>,
    pub columns: Vec<ColumnProps>,
    /// Model-level `data_tests:` / `tests:`.
    pub tests: Vec<TestSpec>,
    /// Anything else written on the entry (e.g. `versions`, `latest_version`, `access`).
    pub extra: IndexMap<String, Value>,
    pub origin: Origin,
}

/// A column entry.
#[derive(Debug, Clone, Default)]
pub struct ColumnProps {
    pub name: String,
    pub description: String,
    pub data_type: Option<String>,
    pub meta: IndexMap<String, Value>,
    pub tags: Vec<String>,
    pub quote: Option<bool>,
    pub constraints: Vec<Value>,
    pub tests: Vec<TestSpec>,
    /// Anything else written on the column (e.g. `granularity`, `policy_tags`).
    pub extra: IndexMap<String, Value>,
    pub origin: Origin,
}

/// A test attached in YAML: `- unique`, `- accepted_values: {values: [...]}`,
/// `- dbt_utils.expression_is_true: {arguments: {...}, config: {...}}`, or with `name:` /
/// `test_name:`. Both the dbt 1.10 `arguments:` form and the inline form end up in `args`.
#[derive(Debug, Clone, Default)]
pub struct TestSpec {
    /// Package namespace for `pkg.test_name` (None for unqualified names).
    pub namespace: Option<String>,
    /// The generic test's name, e.g. `accepted_values`.
    pub test_name: String,
    /// A custom test node name given with `name:` (None to let dbt-style naming decide).
    pub custom_name: Option<String>,
    /// Test arguments (everything but `config`, `name`, `test_name`; `arguments:` merged in).
    pub args: IndexMap<String, Value>,
    /// `config:` plus the config keys written at the top level of the test entry
    /// (`severity`, `where`, `tags`, `meta`, `enabled`, ...).
    pub config: IndexMap<String, Value>,
    /// `description:` of the test entry, if any.
    pub description: String,
    pub origin: Origin,
}

/// A source (`sources:` entry) with its tables.
#[derive(Debug, Clone, Default)]
pub struct SourceProps {
    pub name: String,
    pub description: String,
    pub database: Option<String>,
    /// Defaults to the source name when absent.
    pub schema: Option<String>,
    pub loader: String,
    pub loaded_at_field: Option<String>,
    pub freshness: Option<Value>,
    pub quoting: IndexMap<String, Value>,
    pub config: IndexMap<String, Value>,
    pub meta: IndexMap<String, Value>,
    pub tags: Vec<String>,
    pub tables: Vec<SourceTableProps>,
    /// Anything else written on the source (e.g. `overrides`, `docs`).
    pub extra: IndexMap<String, Value>,
    pub origin: Origin,
}

/// A table of a source.
#[derive(Debug, Clone, Default)]
pub struct SourceTableProps {
    pub name: String,
    pub description: String,
    /// `identifier:` (defaults to the name).
    pub identifier: Option<String>,
    pub loaded_at_field: Option<String>,
    pub loaded_at_query: Option<String>,
    pub freshness: Option<Value>,
    pub quoting: IndexMap<String, Value>,
    pub config: IndexMap<String, Value>,
    pub meta: IndexMap<String, Value>,
    pub tags: Vec<String>,
    pub columns: Vec<ColumnProps>,
    pub tests: Vec<TestSpec>,
    pub external: Option<Value>,
    /// Anything else written on the table (e.g. `docs`).
    pub extra: IndexMap<String, Value>,
    pub origin: Origin,
}

/// A macro's documentation entry.
#[derive(Debug, Clone, Default)]
pub struct MacroProps {
    pub name: String,
    pub description: String,
    pub arguments: Vec<Value>,
    pub meta: IndexMap<String, Value>,
    pub origin: Origin,
}

/// An exposure.
#[derive(Debug, Clone, Default)]
pub struct ExposureProps {
    pub name: String,
    pub label: Option<String>,
    /// `type:` (dashboard, notebook, analysis, ml, application).
    pub exposure_type: String,
    pub url: Option<String>,
    pub maturity: Option<String>,
    pub description: String,
    pub owner: IndexMap<String, Value>,
    /// `depends_on:` entries as written (`ref('x')`, `source('a','b')` strings).
    pub depends_on: Vec<String>,
    pub meta: IndexMap<String, Value>,
    pub tags: Vec<String>,
    pub config: IndexMap<String, Value>,
    pub origin: Origin,
}

/// A unit test (dbt 1.8+), kept mostly raw for the test runner.
#[derive(Debug, Clone, Default)]
pub struct UnitTestProps {
    pub name: String,
    /// The model under test.
    pub model: String,
    pub description: String,
    pub given: Vec<Value>,
    pub expect: Value,
    pub overrides: Option<Value>,
    pub config: IndexMap<String, Value>,
    /// `versions:` (include/exclude), as written.
    pub versions: Option<Value>,
    pub origin: Origin,
    /// Line of each `given:` item, in order (for errors about one input).
    pub given_lines: Vec<u32>,
    /// Line of the `expect:` key (0 when absent).
    pub expect_line: u32,
}

/// A `{% docs name %}...{% enddocs %}` block.
#[derive(Debug, Clone, Default)]
pub struct DocBlock {
    pub name: String,
    /// The block's text, trimmed like dbt does.
    pub contents: String,
    pub origin: Origin,
}
