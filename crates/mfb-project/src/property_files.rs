//! Parsing one properties YAML file (`schema.yml`, `sources.yml`, ...) into [`Properties`].
//!
//! Each entry gets an [`Origin`] (file relative to the package root, line of its `- name:`)
//! from the line scanner; entries of the wrong shape become [`ProjectError::Invalid`]
//! pointing at their line, and parsing goes on with the next entry.

use indexmap::IndexMap;
use mfb_diagnostics::Location;
use serde_json::{Map, Value};

use crate::properties::{
    ColumnProps, ExposureProps, MacroProps, NodeProps, Origin, Properties, SourceProps,
    SourceTableProps, TestSpec, UnitTestProps,
};
use crate::yaml_lines::{self, LineNode};
use crate::{ProjectError, yaml};

/// Test entry keys that dbt moves into the test's `config` (dbt-core's `CONFIG_ARGS`).
const TEST_CONFIG_ARGS: &[&str] = &[
    "severity",
    "tags",
    "enabled",
    "where",
    "limit",
    "warn_if",
    "error_if",
    "fail_calc",
    "store_failures",
    "store_failures_as",
    "meta",
    "database",
    "schema",
    "alias",
];

/// Parses the properties file at `path` (relative to the package root; `label` is the
/// same file relative to the project root, used in errors).
pub(crate) fn parse_properties_file(
    path: &str,
    label: &str,
    text: &str,
) -> (Properties, Vec<ProjectError>) {
    let mut reader = Reader {
        path,
        label,
        errors: Vec::new(),
    };
    let mut props = Properties::default();
    let value = match yaml::parse_yaml(text, label) {
        Ok(v) => v,
        Err(e) => return (props, vec![e]),
    };
    let lines = yaml_lines::scan(text);
    match &value {
        Value::Null => {}
        Value::Object(top) => reader.read_top(top, &lines, &mut props),
        _ => reader.invalid(
            1,
            "a properties file must be a mapping with keys such as `models:` or `sources:`".into(),
            "start the file with `version: 2` and a `models:` (or `sources:`, `seeds:`, ...) list",
        ),
    }
    (props, reader.errors)
}

struct Reader<'a> {
    path: &'a str,
    label: &'a str,
    errors: Vec<ProjectError>,
}

/// Where to read each field of a mapping from: the mapping and its line node.
struct Entry<'v, 'n> {
    map: &'v Map<String, Value>,
    lines: &'n LineNode,
    /// "model `orders`", for messages.
    what: String,
}

impl Reader<'_> {
    fn origin(&self, line: u32) -> Origin {
        Origin {
            file: self.path.to_owned(),
            line,
        }
    }

    fn invalid(&mut self, line: u32, message: String, help: &str) {
        self.errors.push(ProjectError::Invalid {
            message,
            at: Location::new(self.label, line, 0),
            help: Some(help.to_owned()),
        });
    }

    fn read_top(&mut self, top: &Map<String, Value>, lines: &LineNode, props: &mut Properties) {
        if let Some(version) = top.get("version") {
            let ok = matches!(version, Value::Number(n) if n.as_f64() == Some(2.0))
                || matches!(version, Value::String(s) if s.trim() == "2");
            if !ok {
                self.invalid(
                    lines.key_line("version"),
                    format!("properties file version {version} is not supported"),
                    "write `version: 2` (or leave the key out)",
                );
            }
        }
        let empty = yaml_lines::empty();
        for (key, value) in top {
            let node = lines.key(key).unwrap_or(&empty);
            let kind = match key.as_str() {
                "models" => "model",
                "seeds" => "seed",
                "snapshots" => "snapshot",
                "analyses" => "analysis",
                "sources" => "source",
                "macros" => "macro",
                "exposures" => "exposure",
                "unit_tests" => "unit test",
                // metrics, semantic models, saved queries, groups, data tests of other
                // tools: not modelled by mfb (yet), accepted as written.
                _ => continue,
            };
            let items = match value {
                Value::Null => continue,
                Value::Array(items) => items,
                _ => {
                    self.invalid(
                        node.line,
                        format!("`{key}:` must be a list of {kind} entries"),
                        &format!("write each {kind} as a list item: `{key}:\\n  - name: ...`"),
                    );
                    continue;
                }
            };
            for (i, item) in items.iter().enumerate() {
                let item_lines = node.item(i).unwrap_or(&empty);
                let line = if item_lines.line > 0 {
                    item_lines.line
                } else {
                    node.line
                };
                let Some(entry) = self.entry(item, item_lines, line, kind) else {
                    continue;
                };
                match key.as_str() {
                    "models" => props.models.extend(self.node(&entry, line)),
                    "seeds" => props.seeds.extend(self.node(&entry, line)),
                    "snapshots" => props.snapshots.extend(self.node(&entry, line)),
                    "analyses" => props.analyses.extend(self.node(&entry, line)),
                    "sources" => props.sources.extend(self.source(&entry, line)),
                    "macros" => props.macros.extend(self.macro_props(&entry, line)),
                    "exposures" => props.exposures.extend(self.exposure(&entry, line)),
                    _ => props.unit_tests.extend(self.unit_test(&entry, line)),
                }
            }
        }
    }

    /// A list item that must be a mapping with a `name:`.
    fn entry<'v, 'n>(
        &mut self,
        item: &'v Value,
        lines: &'n LineNode,
        line: u32,
        kind: &str,
    ) -> Option<Entry<'v, 'n>> {
        let Value::Object(map) = item else {
            self.invalid(
                line,
                format!(
                    "a {kind} entry must be a mapping, found {}",
                    type_name(item)
                ),
                &format!("write `- name: <{kind} name>` followed by its properties"),
            );
            return None;
        };
        match map.get("name") {
            Some(Value::String(name)) if !name.trim().is_empty() => Some(Entry {
                map,
                lines,
                what: format!("{kind} `{name}`"),
            }),
            _ => {
                self.invalid(
                    line,
                    format!("a {kind} entry has no `name:`"),
                    &format!("add `name: <{kind} name>` to this entry"),
                );
                None
            }
        }
    }

    fn string(&mut self, e: &Entry<'_, '_>, key: &str) -> Option<String> {
        match e.map.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null => None,
            other => {
                self.invalid(
                    e.lines.key_line(key),
                    format!(
                        "`{key}` of {} must be text, found {}",
                        e.what,
                        type_name(other)
                    ),
                    &format!("write `{key}:` as a single string (quote it if needed)"),
                );
                None
            }
        }
    }

    fn dict(&mut self, e: &Entry<'_, '_>, key: &str) -> IndexMap<String, Value> {
        match e.map.get(key) {
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            None | Some(Value::Null) => IndexMap::new(),
            Some(other) => {
                self.invalid(
                    e.lines.key_line(key),
                    format!(
                        "`{key}` of {} must be a mapping, found {}",
                        e.what,
                        type_name(other)
                    ),
                    &format!("write `{key}:` as `key: value` pairs on indented lines"),
                );
                IndexMap::new()
            }
        }
    }

    fn string_list(&mut self, e: &Entry<'_, '_>, key: &str) -> Vec<String> {
        match e.map.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(other) => {
                self.invalid(
                    e.lines.key_line(key),
                    format!(
                        "`{key}` of {} must be a string or a list of strings, found {}",
                        e.what,
                        type_name(other)
                    ),
                    &format!("write `{key}: [a, b]`"),
                );
                Vec::new()
            }
        }
    }

    fn list(&mut self, e: &Entry<'_, '_>, key: &str) -> Vec<Value> {
        match e.map.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.clone(),
            Some(other) => {
                self.invalid(
                    e.lines.key_line(key),
                    format!(
                        "`{key}` of {} must be a list, found {}",
                        e.what,
                        type_name(other)
                    ),
                    &format!("write each element of `{key}:` as a `- ` list item"),
                );
                Vec::new()
            }
        }
    }

    /// `data_tests:` and the legacy `tests:` of an entry (both may be present).
    fn tests(&mut self, e: &Entry<'_, '_>) -> Vec<TestSpec> {
        let empty = yaml_lines::empty();
        let mut out = Vec::new();
        for key in ["data_tests", "tests"] {
            let node = e.lines.key(key).unwrap_or(&empty);
            match e.map.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        let line = node.item(i).map_or(node.line, |n| n.line);
                        out.extend(self.test(item, line, &e.what));
                    }
                }
                Some(other) => self.invalid(
                    node.line,
                    format!("`{key}` of {} must be a list of tests, found {}", e.what, type_name(other)),
                    "write each test as a list item, e.g. `- unique` or `- accepted_values: {values: [a, b]}`",
                ),
            }
        }
        out
    }

    fn test(&mut self, item: &Value, line: u32, owner: &str) -> Option<TestSpec> {
        const HELP: &str = "write `- unique`, `- accepted_values: {values: [a, b]}` or \
             `- name: my_test` with `test_name: accepted_values`";
        let (full_name, args_src): (String, Map<String, Value>) = match item {
            Value::String(s) => (s.clone(), Map::new()),
            Value::Object(m) if m.contains_key("test_name") => {
                let Some(name) = m.get("test_name").and_then(Value::as_str) else {
                    self.invalid(
                        line,
                        format!("`test_name` of a test on {owner} must be text"),
                        HELP,
                    );
                    return None;
                };
                let mut rest = m.clone();
                rest.remove("test_name");
                (name.to_owned(), rest)
            }
            Value::Object(m) if m.len() == 1 => {
                let (name, args) = m.iter().next().expect("one entry");
                match args {
                    Value::Object(a) => (name.clone(), a.clone()),
                    Value::Null => (name.clone(), Map::new()),
                    other => {
                        self.invalid(
                            line,
                            format!("the arguments of test `{name}` on {owner} must be a mapping, found {}", type_name(other)),
                            HELP,
                        );
                        return None;
                    }
                }
            }
            Value::Object(m) => {
                let keys: Vec<&str> = m.keys().map(String::as_str).collect();
                self.invalid(
                    line,
                    format!("a test on {owner} has several keys ({}) but no `test_name:`", keys.join(", ")),
                    "indent the arguments under the test name, or add `test_name:` to name the test",
                );
                return None;
            }
            other => {
                self.invalid(
                    line,
                    format!(
                        "a test on {owner} must be a name or a mapping, found {}",
                        type_name(other)
                    ),
                    HELP,
                );
                return None;
            }
        };
        let Some((namespace, test_name)) = split_test_name(&full_name) else {
            self.invalid(
                line,
                format!("`{full_name}` is not a valid test name (on {owner})"),
                "a test name is an identifier, optionally prefixed by its package: `dbt_utils.not_empty_string`",
            );
            return None;
        };
        let mut spec = TestSpec {
            namespace,
            test_name,
            origin: self.origin(line),
            ..TestSpec::default()
        };
        let mut args_src = args_src;
        let mut config: Map<String, Value> = match args_src.remove("config") {
            Some(Value::Object(c)) => c,
            None | Some(Value::Null) => Map::new(),
            Some(other) => {
                self.invalid(
                    line,
                    format!(
                        "`config` of test `{full_name}` on {owner} must be a mapping, found {}",
                        type_name(&other)
                    ),
                    HELP,
                );
                Map::new()
            }
        };
        for key in TEST_CONFIG_ARGS {
            if let Some(value) = args_src.remove(*key) {
                if config.contains_key(*key) {
                    self.invalid(
                        line,
                        format!("test `{full_name}` on {owner} sets `{key}` both at the top level and under `config:`"),
                        &format!("keep `{key}` only under `config:`"),
                    );
                    continue;
                }
                spec.config.insert((*key).to_owned(), value);
            }
        }
        spec.config.extend(std::mem::take(&mut config));
        match args_src.remove("name") {
            Some(Value::String(n)) => spec.custom_name = Some(n),
            None | Some(Value::Null) => {}
            Some(other) => self.invalid(
                line,
                format!(
                    "`name` of test `{full_name}` on {owner} must be text, found {}",
                    type_name(&other)
                ),
                HELP,
            ),
        }
        if let Some(d) = args_src.remove("description") {
            spec.description = d.as_str().map_or_else(|| d.to_string(), str::to_owned);
        }
        let arguments = args_src.remove("arguments");
        spec.args = args_src.into_iter().collect();
        match arguments {
            Some(Value::Object(a)) => spec.args.extend(a),
            None | Some(Value::Null) => {}
            Some(other) => self.invalid(
                line,
                format!(
                    "`arguments` of test `{full_name}` on {owner} must be a mapping, found {}",
                    type_name(&other)
                ),
                "write `arguments: {values: [a, b]}`",
            ),
        }
        Some(spec)
    }

    fn columns(&mut self, e: &Entry<'_, '_>) -> Vec<ColumnProps> {
        let empty = yaml_lines::empty();
        let node = e.lines.key("columns").unwrap_or(&empty);
        let items = self.list(e, "columns");
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let lines = node.item(i).unwrap_or(&empty);
            let line = if lines.line > 0 {
                lines.line
            } else {
                node.line
            };
            let Some(c) = self.entry(item, lines, line, "column") else {
                continue;
            };
            let c = Entry {
                what: format!("{} of {}", c.what, e.what),
                ..c
            };
            let mut meta = self.dict(&c, "meta");
            let mut tags = self.string_list(&c, "tags");
            // dbt 1.10 also accepts `config: {meta, tags}` on columns.
            let config = self.dict(&c, "config");
            if let Some(Value::Object(m)) = config.get("meta") {
                meta.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            match config.get("tags") {
                Some(Value::String(t)) => tags.push(t.clone()),
                Some(Value::Array(ts)) => {
                    tags.extend(ts.iter().filter_map(|t| t.as_str().map(str::to_owned)))
                }
                _ => {}
            }
            let quote = match c.map.get("quote") {
                None | Some(Value::Null) => None,
                Some(Value::Bool(b)) => Some(*b),
                Some(other) => {
                    self.invalid(
                        c.lines.key_line("quote"),
                        format!(
                            "`quote` of {} must be true or false, found {}",
                            c.what,
                            type_name(other)
                        ),
                        "write `quote: true` or `quote: false`",
                    );
                    None
                }
            };
            let known = [
                "name",
                "description",
                "data_type",
                "meta",
                "tags",
                "quote",
                "constraints",
                "data_tests",
                "tests",
                "config",
            ];
            out.push(ColumnProps {
                name: c.map["name"].as_str().unwrap_or_default().to_owned(),
                description: self.string(&c, "description").unwrap_or_default(),
                data_type: self.string(&c, "data_type"),
                meta,
                tags,
                quote,
                constraints: self.list(&c, "constraints"),
                tests: self.tests(&c),
                extra: extra(c.map, &known),
                origin: self.origin(line),
            });
        }
        out
    }

    fn node(&mut self, e: &Entry<'_, '_>, line: u32) -> Option<NodeProps> {
        let known = [
            "name",
            "description",
            "config",
            "meta",
            "tags",
            "docs",
            "columns",
            "data_tests",
            "tests",
        ];
        Some(NodeProps {
            name: e.map["name"].as_str().unwrap_or_default().to_owned(),
            description: self.string(e, "description").unwrap_or_default(),
            config: self.dict(e, "config"),
            meta: self.dict(e, "meta"),
            tags: self.string_list(e, "tags"),
            docs: e.map.get("docs").filter(|v| !v.is_null()).cloned(),
            columns: self.columns(e),
            tests: self.tests(e),
            extra: extra(e.map, &known),
            origin: self.origin(line),
        })
    }

    fn source(&mut self, e: &Entry<'_, '_>, line: u32) -> Option<SourceProps> {
        let empty = yaml_lines::empty();
        let node = e.lines.key("tables").unwrap_or(&empty);
        let items = self.list(e, "tables");
        let mut tables = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let lines = node.item(i).unwrap_or(&empty);
            let tline = if lines.line > 0 {
                lines.line
            } else {
                node.line
            };
            let Some(t) = self.entry(item, lines, tline, "source table") else {
                continue;
            };
            let t = Entry {
                what: format!("{} of {}", t.what, e.what),
                ..t
            };
            tables.push(SourceTableProps {
                name: t.map["name"].as_str().unwrap_or_default().to_owned(),
                description: self.string(&t, "description").unwrap_or_default(),
                identifier: self.string(&t, "identifier"),
                loaded_at_field: self.string(&t, "loaded_at_field"),
                loaded_at_query: self.string(&t, "loaded_at_query"),
                freshness: t.map.get("freshness").cloned(),
                quoting: self.dict(&t, "quoting"),
                config: self.dict(&t, "config"),
                meta: self.dict(&t, "meta"),
                tags: self.string_list(&t, "tags"),
                columns: self.columns(&t),
                tests: self.tests(&t),
                external: t.map.get("external").filter(|v| !v.is_null()).cloned(),
                origin: self.origin(tline),
            });
        }
        Some(SourceProps {
            name: e.map["name"].as_str().unwrap_or_default().to_owned(),
            description: self.string(e, "description").unwrap_or_default(),
            database: self.string(e, "database"),
            schema: self.string(e, "schema"),
            loader: self.string(e, "loader").unwrap_or_default(),
            loaded_at_field: self.string(e, "loaded_at_field"),
            freshness: e.map.get("freshness").cloned(),
            quoting: self.dict(e, "quoting"),
            config: self.dict(e, "config"),
            meta: self.dict(e, "meta"),
            tags: self.string_list(e, "tags"),
            tables,
            origin: self.origin(line),
        })
    }

    fn macro_props(&mut self, e: &Entry<'_, '_>, line: u32) -> Option<MacroProps> {
        Some(MacroProps {
            name: e.map["name"].as_str().unwrap_or_default().to_owned(),
            description: self.string(e, "description").unwrap_or_default(),
            arguments: self.list(e, "arguments"),
            meta: self.dict(e, "meta"),
            origin: self.origin(line),
        })
    }

    fn exposure(&mut self, e: &Entry<'_, '_>, line: u32) -> Option<ExposureProps> {
        let depends_on = self.list(e, "depends_on");
        let mut deps = Vec::with_capacity(depends_on.len());
        for d in depends_on {
            match d {
                Value::String(s) => deps.push(s),
                other => self.invalid(
                    e.lines.key_line("depends_on"),
                    format!(
                        "`depends_on` of {} must list strings, found {}",
                        e.what,
                        type_name(&other)
                    ),
                    "write `- ref('model_name')` or `- source('source', 'table')`",
                ),
            }
        }
        let Some(exposure_type) = self.string(e, "type") else {
            self.invalid(
                line,
                format!("{} has no `type:`", e.what),
                "add `type:` with one of dashboard, notebook, analysis, ml, application",
            );
            return None;
        };
        Some(ExposureProps {
            name: e.map["name"].as_str().unwrap_or_default().to_owned(),
            label: self.string(e, "label"),
            exposure_type,
            url: self.string(e, "url"),
            maturity: self.string(e, "maturity"),
            description: self.string(e, "description").unwrap_or_default(),
            owner: self.dict(e, "owner"),
            depends_on: deps,
            meta: self.dict(e, "meta"),
            tags: self.string_list(e, "tags"),
            config: self.dict(e, "config"),
            origin: self.origin(line),
        })
    }

    fn unit_test(&mut self, e: &Entry<'_, '_>, line: u32) -> Option<UnitTestProps> {
        let Some(model) = self.string(e, "model") else {
            self.invalid(
                line,
                format!("{} has no `model:`", e.what),
                "add `model: <name of the model under test>`",
            );
            return None;
        };
        Some(UnitTestProps {
            name: e.map["name"].as_str().unwrap_or_default().to_owned(),
            model,
            description: self.string(e, "description").unwrap_or_default(),
            given: self.list(e, "given"),
            expect: e.map.get("expect").cloned().unwrap_or(Value::Null),
            overrides: e.map.get("overrides").filter(|v| !v.is_null()).cloned(),
            config: self.dict(e, "config"),
            origin: self.origin(line),
        })
    }
}

fn extra(map: &Map<String, Value>, known: &[&str]) -> IndexMap<String, Value> {
    map.iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `pkg.name` -> (Some(pkg), name); `name` -> (None, name); None when not identifiers.
fn split_test_name(full: &str) -> Option<(Option<String>, String)> {
    let is_ident = |s: &str| {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    match full.trim().split_once('.') {
        Some((ns, name)) if is_ident(ns) && is_ident(name) => {
            Some((Some(ns.to_owned()), name.to_owned()))
        }
        None if is_ident(full.trim()) => Some((None, full.trim().to_owned())),
        _ => None,
    }
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_namespaced_test_names() {
        assert_eq!(split_test_name("unique"), Some((None, "unique".into())));
        assert_eq!(
            split_test_name("dbt_utils.at_least_one"),
            Some((Some("dbt_utils".into()), "at_least_one".into()))
        );
        assert_eq!(split_test_name("not valid"), None);
        assert_eq!(split_test_name("a.b.c"), None);
    }
}
