//! Unit tests (`unit_tests:` in properties YAML, dbt 1.8+): each entry becomes a
//! `unit_test` node at parse time, and runs against the database without building anything.
//!
//! Parsing checks what can be checked without a database: the tested model exists, every
//! `given` input is a `ref()`/`source()` the model makes (or `this`), formats are `dict`,
//! `csv` or `sql`, and fixture files exist under `<test-path>/fixtures/`. CSV rows are read
//! into dicts of strings, as dbt stores them in `manifest.json`.
//!
//! Running renders the tested model with each input replaced by a CTE of the given rows
//! (columns not given are NULL, cast to the type the upstream relation has in the catalog;
//! when it does not exist yet the types come from the given values), the overrides applied
//! (`vars`, `env_vars`, `macros` including `is_incremental`), and compares the model's output
//! with `expect` on the columns `expect` names, ignoring row order. Values are compared as
//! PostgreSQL prints them after casting the expected rows to the model's output types, like
//! dbt does. A difference fails the test with dbt's table (`actual differs from expected:`,
//! rows marked `→`, `+++`, `---`). Nothing is created: the probes of column types are
//! temporary views rolled back at once.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use indexmap::{IndexMap, IndexSet};
use mfb_diagnostics::{Diagnostic, IntoDiagnostic, Location};
use mfb_graph::{DependsOn, Manifest, Node, ResourceType, UniqueId};
use mfb_jinja::object::Object;
use mfb_jinja::{JinjaValue, NodeScope, Relation, Resolver, RunOptions};
use mfb_postgres::{Cell, Connection, Table, quote_ident, quote_literal};
use mfb_project::{Package, UnitTestProps};
use regex::Regex;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::context::{RefIndex, model_value, node_relation};
use crate::engine::{Outcome, Session};
use crate::load::display_prefix;
use crate::results::Status;
use crate::{Diagnostics, Loaded};

/// What a `given:` item's `input:` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The tested model itself (an incremental model's existing rows).
    This,
    Ref {
        package: Option<String>,
        name: String,
    },
    Source {
        source: String,
        table: String,
    },
}

static INPUT_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^\s*(ref|source)\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"]\s*)?(?:,\s*(?:v|version)\s*=\s*['"]?[^'")]*['"]?\s*)?\)\s*$"#,
    )
    .expect("valid regex")
});

impl Input {
    /// Reads `this`, `ref('m')`, `ref('pkg', 'm')` or `source('s', 't')`.
    pub fn parse(text: &str) -> Option<Input> {
        if text.trim() == "this" {
            return Some(Input::This);
        }
        let c = INPUT_CALL.captures(text)?;
        match (&c[1], c.get(3)) {
            ("ref", None) => Some(Input::Ref {
                package: None,
                name: c[2].to_owned(),
            }),
            ("ref", Some(n)) => Some(Input::Ref {
                package: Some(c[2].to_owned()),
                name: n.as_str().to_owned(),
            }),
            ("source", Some(t)) => Some(Input::Source {
                source: c[2].to_owned(),
                table: t.as_str().to_owned(),
            }),
            _ => None,
        }
    }

    /// The CTE the input becomes (`__dbt__cte__<name>`, without the prefix).
    fn cte(&self, model: &Node) -> String {
        match self {
            Input::This => model.name.clone(),
            Input::Ref { name, .. } => name.clone(),
            Input::Source { table, .. } => table.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Parse
// ---------------------------------------------------------------------------------------

/// Adds a `unit_test` node for every `unit_tests:` entry of every package (disabled ones
/// to `manifest.disabled`). Needs the models' refs and sources resolved.
pub(crate) fn add_nodes(loaded: &Loaded, manifest: &mut Manifest, errors: &mut Diagnostics) {
    let project = &loaded.project;
    for pkg in &project.packages {
        let prefix = display_prefix(project, pkg);
        for ut in &pkg.properties.unit_tests {
            match unit_test_node(pkg, &prefix, ut, manifest) {
                Ok(Some(node)) => {
                    let enabled =
                        node.config.get("enabled").and_then(Value::as_bool) != Some(false);
                    let target = if enabled {
                        &mut manifest.nodes
                    } else {
                        &mut manifest.disabled
                    };
                    if let Some(prev) = target.insert(node.unique_id.clone(), node)
                        && enabled
                    {
                        errors.push(
                            Diagnostic::error(
                                "duplicate-unit-test",
                                format!(
                                    "two unit tests of model `{}` are named `{}`",
                                    ut.model, ut.name
                                ),
                            )
                            .at(Location::new(
                                format!("{prefix}{}", ut.origin.file),
                                ut.origin.line,
                                0,
                            ))
                            .with_note(format!("also defined in {}", prev.defined_at))
                            .with_help("rename one of them: names must be unique per model"),
                        );
                    }
                }
                Ok(None) => {}
                Err(mut found) => errors.append(&mut found),
            }
        }
    }
}

fn unit_test_node(
    pkg: &Package,
    prefix: &str,
    ut: &UnitTestProps,
    manifest: &Manifest,
) -> Result<Option<Node>, Diagnostics> {
    let file = format!("{prefix}{}", ut.origin.file);
    let at = |line: u32| Location::new(&file, line, 0);
    let is_model = |n: &&Node| {
        n.resource_type == ResourceType::Model
            && n.package_name == pkg.name
            && n.name == ut.model
            && (n.version.is_none() || n.version == n.latest_version)
    };
    let Some(model) = manifest.nodes.values().find(is_model) else {
        if manifest.disabled.values().any(|n| is_model(&n)) {
            return Ok(None);
        }
        let models = manifest
            .nodes
            .values()
            .filter(|n| n.resource_type == ResourceType::Model && n.package_name == pkg.name)
            .map(|n| n.name.as_str());
        let help = match mfb_diagnostics::closest(&ut.model, models) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "set `model:` to the name of a SQL model of this project".to_owned(),
        };
        return Err(vec![
            Diagnostic::error(
                "unit-test-model-not-found",
                format!(
                    "unit test `{}` tests model `{}`, which does not exist",
                    ut.name, ut.model
                ),
            )
            .at(at(ut.origin.line))
            .with_help(help),
        ]);
    };
    let mut errors = Vec::new();
    let what = format!("unit test `{}`", ut.name);
    let mut given = Vec::new();
    for (i, item) in ut.given.iter().enumerate() {
        let line = ut.given_lines.get(i).copied().unwrap_or(ut.origin.line);
        match given_input(pkg, model, item, &at(line), &what) {
            Ok(v) => given.push(v),
            Err(d) => errors.push(d),
        }
    }
    let expect_at = at(if ut.expect_line > 0 {
        ut.expect_line
    } else {
        ut.origin.line
    });
    let expect = match &ut.expect {
        Value::Object(map) => fixture(pkg, map, &expect_at, &format!("`expect` of {what}")),
        _ => Err(Diagnostic::error(
            "unit-test-expect",
            format!("{what} has no `expect:` mapping"),
        )
        .at(expect_at.clone())
        .with_help("add `expect:` with `rows:` (a list of dicts, or CSV/SQL text with `format:`)")),
    };
    let expect = expect.map_err(|d| errors.push(d)).ok();
    let overrides = match &ut.overrides {
        None => Value::Null,
        Some(Value::Object(o)) => {
            let mut o = o.clone();
            for key in ["macros", "vars", "env_vars"] {
                match o.get(key) {
                    None | Some(Value::Null) => {
                        o.insert(key.to_owned(), json!({}));
                    }
                    Some(Value::Object(_)) => {}
                    Some(_) => errors.push(
                        Diagnostic::error(
                            "unit-test-overrides",
                            format!("`overrides.{key}` of {what} must be a mapping"),
                        )
                        .at(at(ut.origin.line))
                        .with_help(format!("write `{key}:` as `name: value` pairs")),
                    ),
                }
            }
            Value::Object(o)
        }
        Some(_) => {
            errors.push(
                Diagnostic::error(
                    "unit-test-overrides",
                    format!("`overrides` of {what} must be a mapping"),
                )
                .at(at(ut.origin.line))
                .with_help("write `overrides:` with `macros:`, `vars:` and/or `env_vars:`"),
            );
            Value::Null
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let definition = json!({
        "model": ut.model,
        "given": given,
        "expect": expect.unwrap_or(Value::Null),
        "overrides": overrides,
        "versions": ut.versions.clone().unwrap_or(Value::Null),
        "version": Value::Null,
    });
    let mut config: IndexMap<String, Value> = ut.config.clone();
    let tags = match config.get("tags") {
        Some(Value::String(s)) => json!([s]),
        Some(Value::Array(a)) => Value::Array(a.clone()),
        _ => json!([]),
    };
    config.insert("tags".into(), tags.clone());
    config.entry("meta".into()).or_insert_with(|| json!({}));
    config.entry("enabled".into()).or_insert(json!(true));
    // The YAML file's path under its resource folder (`models/sub/u.yml` -> `sub/u.yml`).
    let path = pkg
        .model_paths
        .iter()
        .find_map(|p| {
            ut.origin
                .file
                .strip_prefix(&format!("{}/", p.trim_end_matches('/')))
        })
        .unwrap_or(&ut.origin.file)
        .to_owned();
    let mut fqn = vec![pkg.name.clone()];
    let mut dirs: Vec<&str> = path.split('/').collect();
    dirs.pop();
    fqn.extend(dirs.into_iter().map(str::to_owned));
    fqn.push(model.name.clone());
    fqn.push(ut.name.clone());
    let checksum = format!(
        "{:x}",
        Sha256::digest(
            serde_json::to_string(&json!([
                definition["given"],
                definition["expect"],
                definition["overrides"]
            ]))
            .unwrap_or_default()
            .as_bytes()
        )
    );
    Ok(Some(Node {
        unique_id: UniqueId::new(format!("unit_test.{}.{}.{}", pkg.name, model.name, ut.name)),
        resource_type: ResourceType::UnitTest,
        package_name: pkg.name.clone(),
        name: ut.name.clone(),
        fqn,
        path,
        original_file_path: ut.origin.file.clone(),
        patch_path: None,
        raw_code: Arc::from(""),
        checksum,
        tags: tags
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        meta: config
            .get("meta")
            .and_then(Value::as_object)
            .map(|m| m.clone().into_iter().collect())
            .unwrap_or_default(),
        config,
        description: ut.description.clone(),
        columns: IndexMap::new(),
        database: model.database.clone(),
        schema: model.schema.clone(),
        alias: ut.name.clone(),
        relation_name: None,
        refs: Vec::new(),
        sources: Vec::new(),
        depends_on: DependsOn {
            nodes: vec![model.unique_id.to_string()],
            ..DependsOn::default()
        },
        compiled_code: None,
        test_metadata: None,
        column_name: None,
        attached_node: None,
        file_key_name: None,
        unit_test: Some(definition),
        version: None,
        latest_version: None,
        defined_at: at(ut.origin.line),
    }))
}

/// One `given:` item, checked against what the model refers to and normalized.
fn given_input(
    pkg: &Package,
    model: &Node,
    item: &Value,
    at: &Location,
    what: &str,
) -> Result<Value, Diagnostic> {
    let Value::Object(map) = item else {
        return Err(Diagnostic::error(
            "unit-test-input",
            format!("a `given:` item of {what} must be a mapping"),
        )
        .at(at.clone())
        .with_help("write `- input: ref('model')` followed by `rows:`"));
    };
    let text = map.get("input").and_then(Value::as_str).unwrap_or_default();
    let Some(input) = Input::parse(text) else {
        return Err(Diagnostic::error(
            "unit-test-input",
            format!("`input: {text}` of {what} is not `ref(...)`, `source(...)` or `this`"),
        )
        .at(at.clone())
        .with_help("write `input: ref('model_name')` or `input: source('source', 'table')`"));
    };
    let known = match &input {
        Input::This => true,
        Input::Ref { package, name } => model.refs.iter().any(|r| {
            &r.name == name && (package.is_none() || r.package.is_none() || r.package == *package)
        }),
        Input::Source { source, table } => {
            model.sources.iter().any(|[s, t]| s == source && t == table)
        }
    };
    if !known {
        let mut calls: Vec<String> = model
            .refs
            .iter()
            .map(|r| format!("ref('{}')", r.name))
            .collect();
        calls.extend(
            model
                .sources
                .iter()
                .map(|[s, t]| format!("source('{s}', '{t}')")),
        );
        return Err(Diagnostic::error(
            "unit-test-input",
            format!(
                "`input: {text}` of {what} is not used by model `{}`",
                model.name
            ),
        )
        .at(at.clone())
        .with_help(if calls.is_empty() {
            format!("model `{}` refers to no model or source", model.name)
        } else {
            format!("model `{}` reads {}", model.name, calls.join(", "))
        }));
    }
    let mut out = fixture(pkg, map, at, &format!("input `{text}` of {what}"))?;
    if let Value::Object(o) = &mut out {
        o.shift_insert(0, "input".into(), json!(text.trim()));
    }
    Ok(out)
}

/// `rows`/`format`/`fixture` of a given input or of `expect`, normalized like dbt's
/// manifest: CSV (inline or from a fixture file) becomes a list of dicts of strings; SQL
/// stays text.
fn fixture(
    pkg: &Package,
    map: &Map<String, Value>,
    at: &Location,
    what: &str,
) -> Result<Value, Diagnostic> {
    let format = match map.get("format") {
        None | Some(Value::Null) => "dict",
        Some(Value::String(f)) if ["dict", "csv", "sql"].contains(&f.as_str()) => f.as_str(),
        Some(other) => {
            return Err(Diagnostic::error(
                "unit-test-format",
                format!("`format: {other}` of {what} is not dict, csv or sql"),
            )
            .at(at.clone())
            .with_help("use `format: dict` (the default), `format: csv` or `format: sql`"));
        }
    };
    let fixture_name = map.get("fixture").and_then(Value::as_str);
    let text = match (fixture_name, map.get("rows")) {
        (Some(_), _) if format == "dict" => {
            return Err(Diagnostic::error(
                "unit-test-fixture",
                format!("{what} names a fixture file, which needs `format: csv` or `format: sql`"),
            )
            .at(at.clone())
            .with_help("add `format: csv` (for tests/fixtures/<name>.csv) or `format: sql`"));
        }
        (Some(name), _) => Some(read_fixture_file(pkg, name, format, at, what)?),
        (None, Some(Value::String(s))) if format != "dict" => Some(s.clone()),
        (None, Some(rows @ Value::Array(_))) if format == "dict" => {
            check_dict_rows(rows, at, what)?;
            return Ok(json!({"rows": rows, "format": "dict", "fixture": null}));
        }
        (None, None | Some(Value::Null)) => {
            return Err(Diagnostic::error(
                "unit-test-rows",
                format!("{what} has neither `rows:` nor `fixture:`"),
            )
            .at(at.clone())
            .with_help("add `rows:` (`rows: []` for no rows)"));
        }
        (None, Some(_)) => {
            let want = if format == "dict" {
                "a list of dicts like `- {id: 1, name: a}`"
            } else {
                "text (a `|` block)"
            };
            return Err(Diagnostic::error(
                "unit-test-rows",
                format!("`rows` of {what} must be {want} for format {format}"),
            )
            .at(at.clone())
            .with_help("match `rows:` to `format:` (dict: list of dicts; csv and sql: text)"));
        }
    };
    let text = text.unwrap_or_default();
    let rows = if format == "csv" {
        let rows = parse_csv(&text).map_err(|m| {
            Diagnostic::error("unit-test-csv", format!("{what}: {m}"))
                .at(at.clone())
                .with_help("write a header line of column names, then one line per row")
        })?;
        Value::Array(rows.into_iter().map(Value::Object).collect())
    } else {
        Value::String(text.trim_end().to_owned())
    };
    Ok(json!({"rows": rows, "format": format, "fixture": fixture_name}))
}

fn check_dict_rows(rows: &Value, at: &Location, what: &str) -> Result<(), Diagnostic> {
    let bad = rows
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| !r.is_object());
    if bad {
        return Err(Diagnostic::error(
            "unit-test-rows",
            format!("every row of {what} must be a mapping of column to value"),
        )
        .at(at.clone())
        .with_help("write each row as `- {id: 1, name: a}`"));
    }
    Ok(())
}

/// Finds `<name>.csv` / `<name>.sql` under `<test-path>/fixtures/` (any depth).
fn read_fixture_file(
    pkg: &Package,
    name: &str,
    format: &str,
    at: &Location,
    what: &str,
) -> Result<String, Diagnostic> {
    fn find(dir: &Path, file: &str) -> Option<PathBuf> {
        let mut subdirs = Vec::new();
        for entry in std::fs::read_dir(dir).ok()?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                subdirs.push(path);
            } else if path.file_name().is_some_and(|f| f == file) {
                return Some(path);
            }
        }
        subdirs.sort();
        subdirs.iter().find_map(|d| find(d, file))
    }
    let file = format!("{name}.{format}");
    let found = pkg
        .test_paths
        .iter()
        .find_map(|tp| find(&pkg.root.join(tp).join("fixtures"), &file));
    let Some(path) = found else {
        let dirs: Vec<String> = pkg
            .test_paths
            .iter()
            .map(|tp| format!("{tp}/fixtures/"))
            .collect();
        return Err(Diagnostic::error(
            "unit-test-fixture",
            format!(
                "fixture `{name}` of {what} not found: no {file} under {}",
                dirs.join(" or ")
            ),
        )
        .at(at.clone())
        .with_help(format!(
            "create {}{file}, or fix the fixture name",
            dirs.first().map_or("tests/fixtures/", String::as_str)
        )));
    };
    std::fs::read_to_string(&path).map_err(|e| {
        Diagnostic::error(
            "unit-test-fixture",
            format!("cannot read fixture {}: {e}", path.display()),
        )
        .at(at.clone())
        .with_help("check the file's permissions and encoding (UTF-8)")
    })
}

/// CSV text (header line first) as rows of column -> string. Quotes as in RFC 4180.
fn parse_csv(text: &str) -> Result<Vec<Map<String, Value>>, String> {
    let mut records: Vec<Vec<String>> = Vec::new();
    let mut field = String::new();
    let mut record: Vec<String> = Vec::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                any = true;
            }
            ',' => {
                record.push(std::mem::take(&mut field));
                any = true;
            }
            '\r' => {}
            '\n' => {
                if any || !field.is_empty() {
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                any = false;
            }
            _ => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted CSV value is not closed".to_owned());
    }
    if any || !field.is_empty() {
        record.push(field);
        records.push(record);
    }
    let mut records = records.into_iter();
    let Some(header) = records.next() else {
        return Ok(Vec::new());
    };
    let header: Vec<String> = header.into_iter().map(|h| h.trim().to_owned()).collect();
    records
        .enumerate()
        .map(|(i, r)| {
            if r.len() != header.len() {
                return Err(format!(
                    "CSV row {} has {} values but the header names {} columns",
                    i + 1,
                    r.len(),
                    header.len()
                ));
            }
            Ok(header
                .iter()
                .cloned()
                .zip(r.into_iter().map(Value::String))
                .collect())
        })
        .collect()
}

/// Edges `mfb build` needs for unit tests, as `(before, after)` unique ids: each unit test
/// runs after the parents of the model it tests (their relations give the input column
/// types) and before that model, so a failing unit test skips the model.
pub fn build_edges(manifest: &Manifest) -> Vec<(String, String)> {
    let mut edges = Vec::new();
    for n in manifest.nodes.values() {
        if n.resource_type != ResourceType::UnitTest {
            continue;
        }
        for model_id in &n.depends_on.nodes {
            if let Some(model) = manifest.nodes.get(&UniqueId::new(model_id.as_str())) {
                for parent in &model.depends_on.nodes {
                    edges.push((parent.clone(), n.unique_id.to_string()));
                }
            }
            edges.push((n.unique_id.to_string(), model_id.clone()));
        }
    }
    edges
}

// ---------------------------------------------------------------------------------------
// Run
// ---------------------------------------------------------------------------------------

/// A column of a fixture: name and SQL type.
type Columns = Vec<(String, String)>;

/// Runs one unit test: Pass when the model's output equals `expect`, Fail with dbt's diff.
pub fn run(s: &Session<'_>, conn: &mut Connection, node: &Node) -> Result<Outcome, Diagnostic> {
    let manifest = &s.parsed.manifest;
    let def = node.unit_test.as_ref().ok_or_else(|| {
        Diagnostic::error(
            "unit-test-definition",
            format!("{} has no unit test definition", node.unique_id),
        )
    })?;
    let model = node
        .depends_on
        .nodes
        .first()
        .and_then(|id| manifest.nodes.get(&UniqueId::new(id.as_str())))
        .ok_or_else(|| {
            Diagnostic::error(
                "unit-test-model-not-found",
                format!(
                    "the model tested by {} is not in the project",
                    node.unique_id
                ),
            )
            .at(node.defined_at.clone())
        })?;
    let what = format!("unit test `{}`", node.name);
    let fail_at = |d: Diagnostic| -> Diagnostic {
        let d = if d.location.is_none() {
            d.at(node.defined_at.clone())
        } else {
            d
        };
        d.with_note(format!("in {what} of model `{}`", model.name))
    };

    // 1. Each input as a CTE body.
    let mut ctes: Vec<(String, String)> = Vec::new();
    let mut inputs: HashMap<String, Input> = HashMap::new();
    // Inputs whose relation is not in the database: their columns are the given ones.
    let mut guessed: Vec<String> = Vec::new();
    for g in def["given"].as_array().into_iter().flatten() {
        let text = g["input"].as_str().unwrap_or_default();
        let input = Input::parse(text).ok_or_else(|| {
            fail_at(Diagnostic::error(
                "unit-test-input",
                format!("bad input `{text}`"),
            ))
        })?;
        let relation = match &input {
            Input::This => Some(node_relation(model)),
            Input::Ref { package, name } => s
                .index
                .find(&model.package_name, package.as_deref(), name, None)
                .map(|t| t.relation.clone()),
            Input::Source { source, table } => {
                s.index.source(source, table).map(|(_, r)| r.clone())
            }
        };
        let cte = input.cte(model);
        let body = if g["format"] == "sql" {
            g["rows"].as_str().unwrap_or_default().to_owned()
        } else {
            let catalog = match &relation {
                Some(r) if !r.is_cte => s
                    .block_on(conn.columns_in_relation(
                        r.schema.as_deref().unwrap_or_default(),
                        r.identifier.as_deref().unwrap_or_default(),
                    ))
                    .map_err(|e| fail_at(e.into_diagnostic()))?,
                _ => Vec::new(),
            };
            let catalog: Columns = catalog.into_iter().map(|c| (c.name, c.data_type)).collect();
            let rows = rows_of(&g["rows"]);
            if catalog.is_empty() {
                guessed.push(format!("`{text}`"));
            }
            let rendered_rel = relation.as_ref().map(|r| r.render()).unwrap_or_default();
            input_sql(&rows, &catalog, g["format"] == "csv").map_err(|m| {
                fail_at(
                    Diagnostic::error(
                        "unit-test-columns",
                        format!("input `{text}` of {what}: {m}"),
                    )
                    .with_help(if catalog.is_empty() {
                        format!("{rendered_rel} does not exist yet: build it (mfb run -s {cte}) or give the rows as `format: sql`")
                    } else {
                        format!(
                            "{rendered_rel} has the columns {}",
                            catalog.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                        )
                    }),
                )
            })?
        };
        ctes.push((cte.clone(), format!("\n-- Fixture for {cte}\n{body}\n")));
        inputs.insert(input_key(&input), input);
    }

    // 2. The model, rendered against the fixtures with the overrides.
    let overrides = &def["overrides"];
    let sql = render_model(s, model, node, &inputs, overrides).map_err(fail_at)?;
    let actual_sql = with_ctes(&sql, &ctes);

    // 3. Column types of the model's output (and of an SQL `expect`).
    let expect = &def["expect"];
    let expect_sql =
        (expect["format"] == "sql").then(|| expect["rows"].as_str().unwrap_or_default().to_owned());
    let run_path = s
        .run_dir
        .join(&node.package_name)
        .join(&node.original_file_path)
        .join("models")
        .join(format!("{}.sql", node.name));
    let _ = crate::compile::write_file(&run_path, &actual_sql);
    let (actual_cols, expect_sql_cols) = s
        .block_on(probe_columns(conn, &actual_sql, expect_sql.as_deref()))
        .map_err(|e| {
            let mut d = e.into_diagnostic()
                .with_note("while running the model on the unit test's inputs; there may be an error in the unit test definition: check the data types");
            if !guessed.is_empty() {
                d = d.with_note(format!(
                    "{} not in the database yet, so only the given columns exist, typed from their values; build the upstream models first (or give every column the model reads)",
                    if guessed.len() == 1 { format!("{} is", guessed[0]) } else { format!("{} are", guessed.join(", ")) }
                ));
            }
            fail_at(d)
        })?;

    // 4. Expected rows, cast to those types, on the columns `expect` names.
    let (columns, expected_body) = match (expect_sql, expect_sql_cols) {
        (Some(sql), Some(cols)) => (cols.into_iter().map(|(n, _)| n).collect::<Vec<_>>(), sql),
        _ => {
            let rows = rows_of(&expect["rows"]);
            let mut names: IndexSet<String> = IndexSet::new();
            for r in &rows {
                names.extend(r.keys().cloned());
            }
            let missing: Vec<&String> = names
                .iter()
                .filter(|n| !actual_cols.iter().any(|(c, _)| c == *n))
                .collect();
            if !missing.is_empty() {
                return Err(fail_at(
                    Diagnostic::error(
                        "unit-test-columns",
                        format!(
                            "`expect` of {what} names columns model `{}` does not return: {}",
                            model.name,
                            missing
                                .iter()
                                .map(|m| m.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                    .with_help(format!(
                        "the model returns {}",
                        actual_cols
                            .iter()
                            .map(|(n, _)| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                ));
            }
            let types: Columns = names
                .iter()
                .map(|n| {
                    let t = actual_cols
                        .iter()
                        .find(|(c, _)| c == n)
                        .map(|(_, t)| t.clone());
                    (n.clone(), t.unwrap_or_else(|| "text".into()))
                })
                .collect();
            let body = rows_sql(&rows, &types, &types);
            (names.into_iter().collect(), body)
        }
    };
    for c in &columns {
        if !actual_cols.iter().any(|(n, _)| n == c) {
            return Err(fail_at(
                Diagnostic::error(
                    "unit-test-columns",
                    format!(
                        "`expect` of {what} has column `{c}`, which model `{}` does not return",
                        model.name
                    ),
                )
                .with_help("compare only columns the model returns"),
            ));
        }
    }
    let list = columns.iter().map(|c| quote_ident(c)).collect::<Vec<_>>();
    let final_sql = format!(
        "\n    -- Build actual result given inputs\nwith dbt_internal_unit_test_actual as (\n  select\n    {}, 'actual' as \"actual_or_expected\"\n  from (\n    {actual_sql}\n  ) _dbt_internal_unit_test_actual\n),\n-- Build expected result\ndbt_internal_unit_test_expected as (\n  select\n    {}, 'expected' as \"actual_or_expected\"\n  from (\n    {expected_body}\n  ) _dbt_internal_unit_test_expected\n)\n-- Union actual and expected results\nselect * from dbt_internal_unit_test_actual\nunion all\nselect * from dbt_internal_unit_test_expected",
        list.join(","),
        list.join(", ")
    );
    let _ = crate::compile::write_file(&run_path, &final_sql);
    let table =
        s.block_on(conn.fetch(&final_sql)).map_err(|e| {
            fail_at(e.into_diagnostic().with_note(
                "there may be an error in the unit test definition: check the data types",
            ))
        })?;
    let (actual, expected) = split(&table);
    let rows = table.rows.len() as i64;
    let mut outcome = Outcome {
        message: format!("SELECT {rows}"),
        code: "SELECT".into(),
        rows,
        failures: Some(0),
        status: Some(Status::Pass),
        ..Outcome::default()
    };
    if let Some(lines) = diff_table(&columns, &expected, &actual) {
        let table_text: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
        outcome.status = Some(Status::Fail);
        outcome.failures = Some(1);
        outcome.message = format!("\n\nactual differs from expected:\n\n{table_text}\n");
        let mut d = Diagnostic::error(
            "unit-test-failed",
            format!(
                "{what} of model `{}` failed: actual differs from expected:\n\n{}\n",
                model.name,
                lines.join("\n")
            ),
        )
        .at(node.defined_at.clone());
        d.notes
            .push(format!("the SQL that ran is in {}", run_path.display()));
        outcome.warning = Some(d.with_help(
            "`→` marks expected→actual values, `+++` rows only the model returned, `---` rows only `expect` has",
        ));
    }
    Ok(outcome)
}

fn input_key(input: &Input) -> String {
    match input {
        Input::This => "this".into(),
        Input::Ref { name, .. } => format!("ref:{name}"),
        Input::Source { source, table } => format!("source:{source}.{table}"),
    }
}

/// Rows of a normalized fixture (dicts).
fn rows_of(rows: &Value) -> Vec<Map<String, Value>> {
    rows.as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_object().cloned())
        .collect()
}

/// The SQL of a dict/CSV input. With the upstream's catalog columns, every row has all
/// of them (NULL where not given) and a column the upstream lacks is an error; without,
/// the columns are those given, typed from their values.
fn input_sql(rows: &[Map<String, Value>], catalog: &Columns, csv: bool) -> Result<String, String> {
    let mut given: IndexSet<String> = IndexSet::new();
    for r in rows {
        given.extend(r.keys().cloned());
    }
    if catalog.is_empty() {
        if given.is_empty() {
            return Err(
                "it has no rows and its relation does not exist, so its columns are unknown".into(),
            );
        }
        let columns: Columns = given
            .iter()
            .map(|c| (c.clone(), infer_type(rows.iter().map(|r| r.get(c)), csv)))
            .collect();
        return Ok(rows_sql(rows, &columns, &columns));
    }
    let find = |name: &str| {
        catalog
            .iter()
            .find(|(c, _)| c == name)
            .or_else(|| catalog.iter().find(|(c, _)| c.eq_ignore_ascii_case(name)))
    };
    let extra: Vec<&str> = given
        .iter()
        .filter(|g| find(g).is_none())
        .map(String::as_str)
        .collect();
    if !extra.is_empty() {
        return Err(format!(
            "the given rows have columns the relation does not have: {}",
            extra.join(", ")
        ));
    }
    Ok(rows_sql(rows, catalog, catalog))
}

/// `select cast(v as type) as "c", ... union all ...` over `columns`: each row's own keys
/// first (in its order), then the other columns as NULL. No rows: one NULL row, `limit 0`.
fn rows_sql(rows: &[Map<String, Value>], columns: &Columns, all: &Columns) -> String {
    let ty = |name: &str| -> String {
        all.iter()
            .find(|(c, _)| c == name)
            .or_else(|| all.iter().find(|(c, _)| c.eq_ignore_ascii_case(name)))
            .map_or_else(|| "text".into(), |(_, t)| t.clone())
    };
    let null_col =
        |(name, t): &(String, String)| format!("cast(null as {t}) as {}", quote_ident(name));
    if rows.is_empty() {
        let cols: Vec<String> = columns.iter().map(null_col).collect();
        return format!("select {}\n    limit 0", cols.join(", "));
    }
    rows.iter()
        .map(|r| {
            let mut cols: Vec<String> = Vec::new();
            for (name, value) in r {
                let t = ty(name);
                let t = if value.is_null() {
                    t
                } else {
                    without_length(&t)
                };
                let name = all
                    .iter()
                    .find(|(c, _)| c.eq_ignore_ascii_case(name))
                    .map_or(name.as_str(), |(c, _)| c.as_str());
                cols.push(format!(
                    "cast({} as {t}) as {}",
                    literal(value),
                    quote_ident(name)
                ));
            }
            for c in columns {
                if !r.keys().any(|k| k.eq_ignore_ascii_case(&c.0)) {
                    cols.push(null_col(c));
                }
            }
            format!("select {}", cols.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\nunion all\n")
}

/// A string value is cast to `character varying` without its length, as dbt does, so a
/// fixture value is never silently cut.
fn without_length(t: &str) -> String {
    for base in ["character varying(", "character(", "varchar("] {
        if t.starts_with(base) {
            return "character varying".into();
        }
    }
    t.to_owned()
}

fn literal(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote_literal(s),
        other => quote_literal(&other.to_string()),
    }
}

/// A column's type from its given values (the upstream relation does not exist yet).
fn infer_type<'a>(values: impl Iterator<Item = Option<&'a Value>>, csv: bool) -> String {
    let mut kind: Option<&str> = None;
    let mut widen = |k: &'static str| {
        kind = Some(match (kind, k) {
            (None, k) => k,
            (Some(a), b) if a == b => a,
            (Some("integer" | "bigint" | "numeric"), "integer" | "bigint" | "numeric") => {
                if kind == Some("numeric") || k == "numeric" {
                    "numeric"
                } else {
                    "bigint"
                }
            }
            _ => "text",
        });
    };
    for v in values.flatten() {
        match v {
            Value::Null => {}
            Value::Bool(_) => widen("boolean"),
            Value::Number(n) if n.is_i64() || n.is_u64() => match n.as_i64() {
                Some(i) if i32::try_from(i).is_ok() => widen("integer"),
                _ => widen("bigint"),
            },
            Value::Number(_) => widen("numeric"),
            Value::String(s) if csv => {
                let t = s.trim();
                if t.is_empty() {
                } else if let Ok(i) = t.parse::<i64>() {
                    widen(if i32::try_from(i).is_ok() {
                        "integer"
                    } else {
                        "bigint"
                    });
                } else if t.parse::<f64>().is_ok() {
                    widen("numeric");
                } else if ["true", "false"].contains(&t.to_ascii_lowercase().as_str()) {
                    widen("boolean");
                } else {
                    widen("text");
                }
            }
            _ => widen("text"),
        }
    }
    kind.unwrap_or("text").to_owned()
}

/// Puts the fixture CTEs in front of the model's SQL: into its leading `with`, or as one.
fn with_ctes(sql: &str, ctes: &[(String, String)]) -> String {
    if ctes.is_empty() {
        return sql.to_owned();
    }
    let joined = ctes
        .iter()
        .map(|(name, body)| format!("__dbt__cte__{name} as ({body})"))
        .collect::<Vec<_>>()
        .join(",  ");
    match leading_with(sql) {
        Some((start, end)) => format!(
            "{}with {joined}, {}",
            &sql[..start],
            sql[end..].trim_start()
        ),
        None => format!("with {joined} {sql}"),
    }
}

/// The byte range of a leading `with` keyword (after whitespace and comments).
fn leading_with(sql: &str) -> Option<(usize, usize)> {
    let mut i = 0;
    loop {
        let rest = &sql[i..];
        let trimmed = rest.trim_start();
        i += rest.len() - trimmed.len();
        if trimmed.starts_with("--") {
            i += trimmed.find('\n').map_or(trimmed.len(), |p| p + 1);
        } else if trimmed.starts_with("/*") {
            i += trimmed.find("*/").map_or(trimmed.len(), |p| p + 2);
        } else {
            break;
        }
    }
    let word = sql.get(i..i + 4)?;
    let after = sql.as_bytes().get(i + 4).copied().unwrap_or(b' ');
    (word.eq_ignore_ascii_case("with") && !after.is_ascii_alphanumeric() && after != b'_')
        .then_some((i, i + 4))
}

/// Resolves the tested model's refs and sources to the fixtures' CTEs. A ref without an
/// input is an error, except a seed, which is read as it is (as dbt does).
struct FixtureResolver {
    inputs: HashMap<String, Input>,
    index: Arc<RefIndex>,
    package: String,
    test: String,
}

impl Resolver for FixtureResolver {
    fn resolve_ref(
        &self,
        package: Option<&str>,
        name: &str,
        version: Option<&str>,
    ) -> Result<Relation, String> {
        if self.inputs.contains_key(&format!("ref:{name}")) {
            return Ok(Relation::cte(name));
        }
        match self.index.find(&self.package, package, name, version) {
            Some(t) if t.unique_id.starts_with("seed.") => Ok(t.relation.clone()),
            Some(_) => Err(format!(
                "unit test `{}` gives no input for ref('{name}'): add `- input: ref('{name}')` with its `rows:` under `given:`",
                self.test
            )),
            None => Err(format!(
                "ref('{name}') does not name a model, seed or snapshot"
            )),
        }
    }

    fn resolve_source(&self, source: &str, table: &str) -> Result<Relation, String> {
        if self
            .inputs
            .contains_key(&format!("source:{source}.{table}"))
        {
            return Ok(Relation::cte(table));
        }
        Err(format!(
            "unit test `{}` gives no input for source('{source}', '{table}'): add `- input: source('{source}', '{table}')` with its `rows:` under `given:`",
            self.test
        ))
    }
}

/// A macro replaced by a unit test's override: calling it (with any arguments) gives the
/// value, and printing it prints the value.
#[derive(Debug)]
struct OverriddenMacro(JinjaValue);

impl Object for OverriddenMacro {
    fn call(
        self: &Arc<Self>,
        _state: &mut mfb_jinja::object::State<'_, '_>,
        _args: &[JinjaValue],
    ) -> Result<JinjaValue, mfb_jinja::object::Error> {
        Ok(self.0.clone())
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&mfb_jinja::collections::python_str(&self.0))
    }
}

/// A package namespace (`dbt_utils`) with some of its macros overridden.
#[derive(Debug)]
struct OverriddenNamespace {
    registry: Arc<mfb_jinja::MacroRegistry>,
    package: String,
    overrides: HashMap<String, JinjaValue>,
}

impl Object for OverriddenNamespace {
    fn get_value(self: &Arc<Self>, key: &JinjaValue) -> Option<JinjaValue> {
        let name = key.as_str()?;
        if let Some(v) = self.overrides.get(name) {
            return Some(v.clone());
        }
        self.registry.lookup_in(&self.package, name).cloned()
    }
}

/// `env_var()` that answers the overridden names first.
#[derive(Debug)]
struct OverriddenEnv(HashMap<String, String>);

impl Object for OverriddenEnv {
    fn call(
        self: &Arc<Self>,
        _state: &mut mfb_jinja::object::State<'_, '_>,
        args: &[JinjaValue],
    ) -> Result<JinjaValue, mfb_jinja::object::Error> {
        let name = args.first().and_then(|a| a.as_str()).unwrap_or_default();
        if let Some(v) = self.0.get(name) {
            return Ok(JinjaValue::from(v.as_str()));
        }
        if let Ok(v) = std::env::var(name) {
            return Ok(JinjaValue::from(v));
        }
        match args.get(1) {
            Some(d) if d.is_none() => Ok(JinjaValue::from(())),
            Some(d) => Ok(JinjaValue::from(mfb_jinja::collections::python_str(d))),
            None => Err(mfb_jinja::object::Error::new(
                mfb_jinja::object::ErrorKind::InvalidOperation,
                format!(
                    "env var required but not provided: `{name}`; add it under `overrides: env_vars:` of the unit test, or export it"
                ),
            )),
        }
    }
}

fn render_model(
    s: &Session<'_>,
    model: &Node,
    test: &Node,
    inputs: &HashMap<String, Input>,
    overrides: &Value,
) -> Result<String, Diagnostic> {
    let parsed = s.parsed;
    let loaded = &parsed.loaded;
    let macros = overrides["macros"].as_object().cloned().unwrap_or_default();
    let vars = overrides["vars"].as_object().cloned().unwrap_or_default();
    let env_vars = overrides["env_vars"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let run = if vars.is_empty() {
        s.run.clone()
    } else {
        let mut globals = crate::load::globals(
            &loaded.target_value,
            &loaded.settings,
            &loaded.project,
            &loaded.invocation_id,
            loaded.target.threads,
        );
        globals.insert("execute".to_owned(), JinjaValue::from(true));
        let mut all_vars = loaded.vars.clone();
        for pkg in &loaded.project.packages {
            all_vars.entry(pkg.name.clone()).or_default();
        }
        for map in all_vars.values_mut() {
            let m = Arc::make_mut(map);
            for (k, v) in &vars {
                m.insert(k.clone(), v.clone());
            }
        }
        loaded.runtime.run_context(RunOptions {
            globals,
            vars: all_vars,
            graph: None,
            warehouse: Some(Arc::new(crate::warehouse::PgWarehouse::lazy(
                &loaded.target,
            ))),
            sink: loaded.settings.log.clone(),
        })
    };
    let incremental = macros.get("is_incremental").is_some_and(truthy);
    let this = if inputs.contains_key("this") {
        Relation::cte(&model.name)
    } else {
        node_relation(model)
    };
    let resolver = FixtureResolver {
        inputs: inputs.clone(),
        index: s.index.clone(),
        package: model.package_name.clone(),
        test: test.name.clone(),
    };
    let mut scope = NodeScope::new(&model.package_name, Some(model.unique_id.as_str()))
        .resolve_with(Arc::new(resolver))
        .config(Some(Arc::new(model.config.clone())))
        .set("execute", JinjaValue::from(true))
        .set("this", this.into_value())
        .set("model", model_value(model))
        .set("database", JinjaValue::from(model.database.as_str()))
        .set("schema", JinjaValue::from(model.schema.as_str()))
        .set_over_macros(
            "is_incremental",
            JinjaValue::from_function(move || incremental),
        )
        .set(
            "should_full_refresh",
            JinjaValue::from(loaded.settings.full_refresh),
        );
    if !env_vars.is_empty() {
        let map = env_vars
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect();
        scope = scope.set_over_macros("env_var", JinjaValue::from_object(OverriddenEnv(map)));
    }
    let registry = loaded.runtime.registry();
    let mut namespaces: HashMap<String, HashMap<String, JinjaValue>> = HashMap::new();
    for (name, value) in &macros {
        if name == "is_incremental" {
            continue;
        }
        let v = mfb_jinja::collections::from_serde(value);
        if let Some((ns, m)) = name.split_once('.') {
            namespaces
                .entry(ns.to_owned())
                .or_default()
                .insert(m.to_owned(), JinjaValue::from_object(OverriddenMacro(v)));
        } else if registry.lookup(&model.package_name, name).is_some() {
            scope = scope.set_over_macros(name, JinjaValue::from_object(OverriddenMacro(v)));
        } else {
            // A context value such as `invocation_id`, not a macro.
            scope = scope.set_over_macros(name, v);
        }
    }
    for (ns, overrides) in namespaces {
        let namespace = OverriddenNamespace {
            registry: registry.clone(),
            package: ns.clone(),
            overrides,
        };
        scope = scope.set_over_macros(&ns, JinjaValue::from_object(namespace));
    }
    let display = model.defined_at.file.to_string_lossy().into_owned();
    loaded
        .runtime
        .render(&run, &display, &model.raw_code, scope)
        .map_err(IntoDiagnostic::into_diagnostic)
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        _ => false,
    }
}

/// Column names and types of the model's output (and of an SQL `expect`), from temporary
/// views created and rolled back in one transaction.
async fn probe_columns(
    conn: &mut Connection,
    actual_sql: &str,
    expect_sql: Option<&str>,
) -> Result<(Columns, Option<Columns>), mfb_postgres::PgError> {
    let tx = conn.begin().await?;
    let probe = |name: &'static str| {
        format!(
            "select a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod) \
             from pg_catalog.pg_attribute a \
             where a.attrelid = 'pg_temp.{name}'::regclass and a.attnum > 0 and not a.attisdropped \
             order by a.attnum"
        )
    };
    let columns = |t: Table| -> Columns {
        t.rows
            .iter()
            .map(|r| {
                (
                    r[0].as_text().unwrap_or_default(),
                    r[1].as_text().unwrap_or_default(),
                )
            })
            .collect()
    };
    let result = async {
        tx.execute(&format!(
            "create temporary view mfb_unit_test_actual as {actual_sql}"
        ))
        .await?;
        let actual = columns(tx.fetch(&probe("mfb_unit_test_actual")).await?);
        let expected = match expect_sql {
            Some(sql) => {
                tx.execute(&format!(
                    "create temporary view mfb_unit_test_expected as {sql}"
                ))
                .await?;
                Some(columns(tx.fetch(&probe("mfb_unit_test_expected")).await?))
            }
            None => None,
        };
        Ok((actual, expected))
    }
    .await;
    tx.rollback().await?;
    result
}

/// A result row as dbt shows it: each value's text, `None` for NULL.
type Row = Vec<Option<String>>;

fn display(cell: &Cell) -> Option<String> {
    match cell {
        Cell::Null => None,
        Cell::Bool(true) => Some("True".into()),
        Cell::Bool(false) => Some("False".into()),
        other => other.as_text(),
    }
}

/// The fetched union split into (actual, expected) rows, each sorted like dbt sorts them
/// (column by column, NULL last; numbers as numbers).
fn split(table: &Table) -> (Vec<Row>, Vec<Row>) {
    let n = table.columns.len().saturating_sub(1);
    let mut actual: Vec<&Vec<Cell>> = Vec::new();
    let mut expected: Vec<&Vec<Cell>> = Vec::new();
    for r in &table.rows {
        match r.get(n).and_then(Cell::as_text).as_deref() {
            Some("actual") => actual.push(r),
            _ => expected.push(r),
        }
    }
    let sort = |rows: &mut Vec<&Vec<Cell>>| {
        rows.sort_by(|a, b| {
            for i in 0..n {
                let o = compare_cells(&a[i], &b[i]);
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
    };
    sort(&mut actual);
    sort(&mut expected);
    let show = |rows: Vec<&Vec<Cell>>| -> Vec<Row> {
        rows.into_iter()
            .map(|r| r[..n].iter().map(display).collect())
            .collect()
    };
    (show(actual), show(expected))
}

fn compare_cells(a: &Cell, b: &Cell) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let num = |c: &Cell| match c {
        Cell::Int(i) => Some(*i as f64),
        Cell::Float(f) => Some(*f),
        Cell::Decimal(d) => d.parse::<f64>().ok(),
        _ => None,
    };
    match (a, b) {
        (Cell::Null, Cell::Null) => Ordering::Equal,
        (Cell::Null, _) => Ordering::Greater,
        (_, Cell::Null) => Ordering::Less,
        (Cell::Bool(x), Cell::Bool(y)) => x.cmp(y),
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => a.as_text().cmp(&b.as_text()),
        },
    }
}

// ---------------------------------------------------------------------------------------
// The diff table
// ---------------------------------------------------------------------------------------

/// How a row of the diff relates expected to actual.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Same,
    Modified,
    /// Only the model returned it.
    Added,
    /// Only `expect` has it.
    Removed,
}

/// dbt's (daff's) diff of `expected` against `actual`, one string per line without the
/// line ends; `None` when they are equal. Both lists must be sorted.
fn diff_table(columns: &[String], expected: &[Row], actual: &[Row]) -> Option<Vec<String>> {
    let (links, index_columns) = align(columns.len(), expected, actual);
    // Merge into one ordered list of (expected row, actual row).
    let mut units: Vec<(Option<usize>, Option<usize>)> = Vec::new();
    let partner_of_actual: HashMap<usize, usize> = links.iter().map(|(&e, &a)| (a, e)).collect();
    let (mut ei, mut ai) = (0, 0);
    while ei < expected.len() || ai < actual.len() {
        // Rows only the model returned come before rows only `expect` has, up to the next pair.
        if ai < actual.len() && !partner_of_actual.contains_key(&ai) {
            units.push((None, Some(ai)));
            ai += 1;
        } else if ei < expected.len() && !links.contains_key(&ei) {
            units.push((Some(ei), None));
            ei += 1;
        } else if ei < expected.len() && ai < actual.len() {
            let a = links[&ei];
            if a == ai {
                units.push((Some(ei), Some(ai)));
                ei += 1;
                ai += 1;
            } else if a > ai {
                // Paired out of order: emit the actual side's pair first.
                let e = partner_of_actual[&ai];
                units.push((Some(e), Some(ai)));
                ai += 1;
                if e == ei {
                    ei += 1;
                }
            } else {
                ei += 1;
            }
        } else {
            break;
        }
    }
    // Drop units emitted twice by the out-of-order branch.
    let mut seen_e = HashSet::new();
    units.retain(|(e, _)| e.is_none_or(|e| seen_e.insert(e)));

    let ncols = columns.len();
    let mut changes = Vec::with_capacity(units.len());
    let mut cells: Vec<Vec<String>> = Vec::with_capacity(units.len());
    let mut changed_columns = vec![false; ncols];
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "NULL".into());
    for &(e, a) in &units {
        match (e, a) {
            (Some(e), Some(a)) => {
                let mut row = Vec::with_capacity(ncols);
                let mut modified = false;
                for c in 0..ncols {
                    let (x, y) = (&expected[e][c], &actual[a][c]);
                    if x == y {
                        row.push(show(x));
                    } else {
                        modified = true;
                        changed_columns[c] = true;
                        row.push(format!("{}→{}", show(x), show(y)));
                    }
                }
                changes.push(if modified {
                    Change::Modified
                } else {
                    Change::Same
                });
                cells.push(row);
            }
            (None, Some(a)) => {
                changes.push(Change::Added);
                cells.push(actual[a].iter().map(show).collect());
            }
            (Some(e), None) => {
                changes.push(Change::Removed);
                cells.push(expected[e].iter().map(show).collect());
            }
            (None, None) => {}
        }
    }
    if changes.iter().all(|c| *c == Change::Same) {
        return None;
    }
    // Active columns: the index columns and changed ones; all when rows were added or removed.
    let whole_rows = changes
        .iter()
        .any(|c| matches!(c, Change::Added | Change::Removed));
    let active: Vec<bool> = (0..ncols)
        .map(|c| whole_rows || changed_columns[c] || index_columns.contains(&c))
        .collect();
    let shown_columns = spread(&active);
    // Rows: changed ones, one row of context each side, then `...`.
    let row_active: Vec<bool> = changes.iter().map(|c| *c != Change::Same).collect();
    let shown_rows = spread(&row_active);

    let mut table: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["@@".to_owned()];
    header.extend(columns.iter().cloned());
    table.push(header);
    let mut showed_dots = false;
    for (i, row) in cells.into_iter().enumerate() {
        match shown_rows[i] {
            Shown::Yes => {
                showed_dots = false;
                let action = match changes[i] {
                    Change::Same => "",
                    Change::Modified => "→",
                    Change::Added => "+++",
                    Change::Removed => "---",
                };
                let mut r = vec![action.to_owned()];
                r.extend(row);
                table.push(r);
            }
            Shown::Dots if !showed_dots => {
                showed_dots = true;
                table.push(vec!["...".to_owned(); ncols + 1]);
            }
            _ => {}
        }
    }
    // Hidden columns: each run becomes one `...` column.
    let mut keep: Vec<Option<bool>> = vec![Some(true)]; // Some(true) keep, Some(false) dots, None drop
    let mut previous_hidden = false;
    for s in &shown_columns {
        if *s == Shown::Yes {
            keep.push(Some(true));
            previous_hidden = false;
        } else if previous_hidden {
            keep.push(None);
        } else {
            keep.push(Some(false));
            previous_hidden = true;
        }
    }
    let table: Vec<Vec<String>> = table
        .into_iter()
        .map(|row| {
            row.into_iter()
                .zip(&keep)
                .filter_map(|(cell, k)| match k {
                    Some(true) => Some(cell),
                    Some(false) => Some("...".to_owned()),
                    None => None,
                })
                .map(|c| csv_cell(&c))
                .collect()
        })
        .collect();
    Some(render_aligned(&table))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Yes,
    Dots,
    No,
}

/// Active items, the ones next to them, and `Dots` two away (daff's context of 1).
fn spread(active: &[bool]) -> Vec<Shown> {
    let active_at: Vec<usize> = (0..active.len()).filter(|&i| active[i]).collect();
    (0..active.len())
        .map(|i| {
            let d = active_at.iter().map(|&a| a.abs_diff(i)).min();
            match d {
                Some(0 | 1) => Shown::Yes,
                Some(2) => Shown::Dots,
                _ => Shown::No,
            }
        })
        .collect()
}

/// Pairs expected rows with actual rows (expected index -> actual index), and the columns
/// used as keys to pair them. Keys are tried like daff does: single columns first, then
/// combinations (of the five most varied columns when there are more); a pair needs a key
/// value that occurs once on each side. Rows still unpaired are paired with an identical
/// row next to a paired neighbour's partner.
fn align(ncols: usize, expected: &[Row], actual: &[Row]) -> (HashMap<usize, usize>, Vec<usize>) {
    let mut links: HashMap<usize, usize> = HashMap::new();
    let mut used: HashSet<usize> = HashSet::new();
    let mut index_columns: Vec<usize> = Vec::new();
    let mut candidates: Vec<usize> = (0..ncols).collect();
    if ncols > 5 {
        let distinct =
            |rows: &[Row], c: usize| rows.iter().map(|r| &r[c]).collect::<HashSet<_>>().len();
        candidates.sort_by_key(|&c| {
            (
                std::cmp::Reverse(distinct(expected, c) + distinct(actual, c)),
                c,
            )
        });
        candidates.truncate(5);
    }
    let top = 1usize << candidates.len();
    let height = expected.len().max(actual.len()) + 1;
    let mut indexes_used = 0;
    let mut finished_all = true;
    for k in 1..top {
        if links.len() == expected.len() {
            finished_all = false;
            break;
        }
        let subset: Vec<usize> = (0..candidates.len())
            .filter(|b| k & (1 << b) != 0)
            .map(|b| candidates[b])
            .collect();
        for &c in &subset {
            if !index_columns.contains(&c) {
                index_columns.push(c);
            }
        }
        let key =
            |r: &Row| -> Vec<Option<String>> { subset.iter().map(|&c| r[c].clone()).collect() };
        let mut count_e: HashMap<Vec<Option<String>>, Vec<usize>> = HashMap::new();
        let mut count_a: HashMap<Vec<Option<String>>, Vec<usize>> = HashMap::new();
        for (i, r) in expected.iter().enumerate() {
            count_e.entry(key(r)).or_default().push(i);
        }
        for (i, r) in actual.iter().enumerate() {
            count_a.entry(key(r)).or_default().push(i);
        }
        let top_freq = count_e
            .values()
            .chain(count_a.values())
            .map(Vec::len)
            .max()
            .unwrap_or(0);
        if top_freq as f64 / (height + 20) as f64 >= 0.1 && (indexes_used > 0 || k < top - 1) {
            continue;
        }
        indexes_used += 1;
        for (e, row) in expected.iter().enumerate() {
            if links.contains_key(&e) {
                continue;
            }
            let kv = key(row);
            if subset.len() == 1 && kv[0].as_deref().is_none_or(str::is_empty) {
                continue;
            }
            if let (Some(es), Some(as_)) = (count_e.get(&kv), count_a.get(&kv))
                && es.len() == 1
                && as_.len() == 1
                && !used.contains(&as_[0])
            {
                links.insert(e, as_[0]);
                used.insert(as_[0]);
            }
        }
    }
    if finished_all {
        // Identical rows next to an already paired neighbour's partner (duplicates).
        let same = |e: usize, a: usize| candidates.iter().all(|&c| expected[e][c] == actual[a][c]);
        for backward in [false, true] {
            let order: Vec<usize> = if backward {
                (0..expected.len()).rev().collect()
            } else {
                (0..expected.len()).collect()
            };
            let mut next: Option<isize> = backward.then(|| actual.len() as isize - 1);
            for e in order {
                if let Some(&a) = links.get(&e) {
                    next = Some(if backward {
                        a as isize - 1
                    } else {
                        a as isize + 1
                    });
                    continue;
                }
                let Some(a) = next.filter(|&a| a >= 0 && (a as usize) < actual.len()) else {
                    continue;
                };
                let a = a as usize;
                if used.contains(&a) || !same(e, a) {
                    continue;
                }
                links.insert(e, a);
                used.insert(a);
                next = Some(if backward {
                    a as isize - 1
                } else {
                    a as isize + 1
                });
            }
        }
    }
    (links, index_columns)
}

/// A cell as daff writes it in CSV: quoted when it holds a comma, quote, tab, line break,
/// or starts or ends with a space.
fn csv_cell(s: &str) -> String {
    let needs = s.starts_with(' ') || s.ends_with(' ') || s.contains([',', '"', '\r', '\n', '\t']);
    if needs {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Lays the table out like daff's terminal renderer: each column padded to a width that
/// ignores outliers (mean + 2 standard deviations, at least the header), unless the table
/// would be wider than 130 characters.
fn render_aligned(table: &[Vec<String>]) -> Vec<String> {
    let width = table.first().map_or(0, Vec::len);
    let h = table.len() as f64;
    let len = |s: &str| s.chars().count();
    let mut sizes = Vec::with_capacity(width);
    let mut total = width.saturating_sub(1);
    for x in 0..width {
        let lens: Vec<usize> = table.iter().map(|r| len(&r[x])).collect();
        let mean = lens.iter().sum::<usize>() as f64 / h;
        let var = lens.iter().map(|&l| (l * l) as f64).sum::<f64>() / h - mean * mean;
        let most = (mean + 2.0 * var.max(0.0).sqrt() + 0.5).floor() as usize;
        let mut size = lens
            .iter()
            .copied()
            .filter(|&l| l <= most)
            .max()
            .unwrap_or(0);
        size = size.max(lens[0]);
        sizes.push(size);
        total += size;
    }
    let aligned = total <= 130;
    table
        .iter()
        .map(|row| {
            let mut line = String::new();
            let (mut target, mut at) = (0usize, 0usize);
            for (x, cell) in row.iter().enumerate() {
                if aligned {
                    while at < target {
                        line.push(' ');
                        at += 1;
                    }
                }
                if x > 0 {
                    line.push(',');
                }
                line.push_str(cell);
                if aligned {
                    at += len(cell);
                    target += sizes[x];
                }
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(v: &[&[&str]]) -> Vec<Row> {
        v.iter()
            .map(|r| {
                r.iter()
                    .map(|c| (*c != "NULL").then(|| (*c).to_owned()))
                    .collect()
            })
            .collect()
    }

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_inputs() {
        assert_eq!(Input::parse("this"), Some(Input::This));
        assert_eq!(
            Input::parse("ref('a')"),
            Some(Input::Ref {
                package: None,
                name: "a".into()
            })
        );
        assert_eq!(
            Input::parse("source(\"raw\", 'orders')"),
            Some(Input::Source {
                source: "raw".into(),
                table: "orders".into()
            })
        );
        assert_eq!(Input::parse("model('a')"), None);
    }

    #[test]
    fn reads_csv() {
        let r = parse_csv("id,name\n1,\"a, b\"\n2,\"say \"\"hi\"\"\"\n").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0]["name"], json!("a, b"));
        assert_eq!(r[1]["name"], json!("say \"hi\""));
        assert!(parse_csv("id,name\n1\n").is_err());
    }

    #[test]
    fn equal_tables_have_no_diff() {
        let r = rows(&[&["1", "a"]]);
        assert_eq!(diff_table(&cols(&["id", "n"]), &r, &r), None);
    }

    // Each expected table below is what dbt 1.10 (daff 1.4.2) printed for the same rows.
    #[test]
    fn modified_and_removed_rows() {
        let e = rows(&[&["1", "3", "foo"], &["2", "4", "NULL"], &["7", "14", "bar"]]);
        let a = rows(&[&["1", "2", "foo"], &["2", "4", "NULL"]]);
        let out = diff_table(&cols(&["id", "doubled", "name"]), &e, &a).unwrap();
        assert_eq!(
            out,
            [
                "@@ ,id,doubled,name",
                "→  ,1 ,3→2    ,foo",
                "   ,2 ,4      ,NULL",
                "---,7 ,14     ,bar",
            ]
        );
    }

    #[test]
    fn added_before_removed() {
        let e = rows(&[
            &["1", "x", "2"],
            &["2", "yy", "4"],
            &["3", "zz", "6"],
            &["4", "w", "8"],
            &["5", "v", "10"],
        ]);
        let a = rows(&[
            &["1", "x", "2"],
            &["2", "y", "4"],
            &["3", "z", "6"],
            &["4", "w", "8"],
            &["9", "extra", "18"],
        ]);
        let out = diff_table(&cols(&["id", "name", "doubled"]), &e, &a).unwrap();
        assert_eq!(
            out,
            [
                "@@ ,id,name ,doubled",
                "   ,1 ,x    ,2",
                "→  ,2 ,yy→y ,4",
                "→  ,3 ,zz→z ,6",
                "   ,4 ,w    ,8",
                "+++,9 ,extra,18",
                "---,5 ,v    ,10",
            ]
        );
    }

    #[test]
    fn elides_far_rows_and_columns() {
        let names = cols(&["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"]);
        let a: Vec<Row> = (1..=8).map(|i| vec![Some(i.to_string()); 8]).collect();
        let mut e = a.clone();
        e[3][4] = Some("9".into());
        let out = diff_table(&names, &e, &a).unwrap();
        assert_eq!(
            out,
            [
                "@@ ,c1 ,c2 ,...,c4 ,c5 ,c6 ,...",
                "...,...,...,...,...,...,...,...",
                "   ,3  ,3  ,...,3  ,3  ,3  ,...",
                "→  ,4  ,4  ,...,4  ,9→4,4  ,...",
                "   ,5  ,5  ,...,5  ,5  ,5  ,...",
                "...,...,...,...,...,...,...,...",
            ]
        );
        let e = rows(&[
            &["9", "1", "1", "1", "1", "1", "1", "1"],
            &["2", "2", "2", "2", "2", "2", "2", "2"],
        ]);
        let a = rows(&[
            &["1", "1", "1", "1", "1", "1", "1", "1"],
            &["2", "2", "2", "2", "2", "2", "2", "2"],
        ]);
        let out = diff_table(&names, &e, &a).unwrap();
        assert_eq!(
            out,
            ["@@,c1 ,c2,c3,...", "→ ,9→1,1 ,1 ,...", "  ,2  ,2 ,2 ,..."]
        );
    }
}
