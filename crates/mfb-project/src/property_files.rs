//! Parsing one properties YAML file (`schema.yml`, `sources.yml`, ...) into [`Properties`].
//!
//! Each entry gets an [`Origin`] (file relative to the package root, line of its `- name:`)
//! from the line scanner; entries of the wrong shape become [`ProjectError::Invalid`]
//! pointing at their line, and parsing goes on with the next entry.

use std::rc::Rc;

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
    match value {
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

/// One entry being read: its remaining fields (each is taken out as it is read, so what
/// is left is "extra") and its line node.
struct Entry<'n> {
    map: Map<String, Value>,
    name: String,
    lines: &'n LineNode<'n>,
    kind: &'static str,
    /// What the entry belongs to ("model `orders`" for a column), for messages.
    owner: Option<Rc<str>>,
}

impl Entry<'_> {
    fn take(&mut self, key: &str) -> Option<Value> {
        self.map.shift_remove(key)
    }

    /// "column `id` of model `orders`", for messages (built only when one is needed).
    fn what(&self) -> String {
        match &self.owner {
            Some(owner) => format!("{} `{}` of {owner}", self.kind, self.name),
            None => format!("{} `{}`", self.kind, self.name),
        }
    }
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

    fn read_top(&mut self, top: Map<String, Value>, lines: &LineNode<'_>, props: &mut Properties) {
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
            let node = lines.key(&key).unwrap_or(&empty);
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
            for (i, item) in items.into_iter().enumerate() {
                let item_lines = node.item(i).unwrap_or(&empty);
                let line = if item_lines.line > 0 {
                    item_lines.line
                } else {
                    node.line
                };
                let Some(entry) = self.entry(item, item_lines, line, kind, None) else {
                    continue;
                };
                match key.as_str() {
                    "models" => props.models.push(self.node(entry, line)),
                    "seeds" => props.seeds.push(self.node(entry, line)),
                    "snapshots" => props.snapshots.push(self.node(entry, line)),
                    "analyses" => props.analyses.push(self.node(entry, line)),
                    "sources" => props.sources.push(self.source(entry, line)),
                    "macros" => props.macros.push(self.macro_props(entry, line)),
                    "exposures" => props.exposures.extend(self.exposure(entry, line)),
                    _ => props.unit_tests.extend(self.unit_test(entry, line)),
                }
            }
        }
    }

    /// A list item that must be a mapping with a `name:`.
    fn entry<'n>(
        &mut self,
        item: Value,
        lines: &'n LineNode<'n>,
        line: u32,
        kind: &'static str,
        owner: Option<&Rc<str>>,
    ) -> Option<Entry<'n>> {
        let Value::Object(mut map) = item else {
            self.invalid(
                line,
                format!(
                    "a {kind} entry must be a mapping, found {}",
                    type_name(&item)
                ),
                &format!("write `- name: <{kind} name>` followed by its properties"),
            );
            return None;
        };
        match map.shift_remove("name") {
            Some(Value::String(name)) if !name.trim().is_empty() => Some(Entry {
                map,
                name,
                lines,
                kind,
                owner: owner.cloned(),
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

    fn string(&mut self, e: &mut Entry<'_>, key: &str) -> Option<String> {
        match e.take(key)? {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null => None,
            other => {
                self.invalid(
                    e.lines.key_line(key),
                    format!(
                        "`{key}` of {} must be text, found {}",
                        e.what(),
                        type_name(&other)
                    ),
                    &format!("write `{key}:` as a single string (quote it if needed)"),
                );
                None
            }
        }
    }

    fn dict(&mut self, e: &mut Entry<'_>, key: &str) -> IndexMap<String, Value> {
        match e.take(key) {
            Some(Value::Object(m)) => m.into_iter().collect(),
            None | Some(Value::Null) => IndexMap::new(),
            Some(other) => {
                self.invalid(
                    e.lines.key_line(key),
                    format!(
                        "`{key}` of {} must be a mapping, found {}",
                        e.what(),
                        type_name(&other)
                    ),
                    &format!("write `{key}:` as `key: value` pairs on indented lines"),
                );
                IndexMap::new()
            }
        }
    }

    fn string_list(&mut self, e: &mut Entry<'_>, key: &str) -> Vec<String> {
        match e.take(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s],
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
                .into_iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s),
                    _ => None,
                })
                .collect(),
            Some(other) => {
                self.invalid(
                    e.lines.key_line(key),
                    format!(
                        "`{key}` of {} must be a string or a list of strings, found {}",
                        e.what(),
                        type_name(&other)
                    ),
                    &format!("write `{key}: [a, b]`"),
                );
                Vec::new()
            }
        }
    }

    fn list(&mut self, e: &mut Entry<'_>, key: &str) -> Vec<Value> {
        match e.take(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.invalid(
                    e.lines.key_line(key),
                    format!(
                        "`{key}` of {} must be a list, found {}",
                        e.what(),
                        type_name(&other)
                    ),
                    &format!("write each element of `{key}:` as a `- ` list item"),
                );
                Vec::new()
            }
        }
    }

    /// `data_tests:` and the legacy `tests:` of an entry (both may be present).
    fn tests(&mut self, e: &mut Entry<'_>) -> Vec<TestSpec> {
        let empty = yaml_lines::empty();
        let mut out = Vec::new();
        for key in ["data_tests", "tests"] {
            let node = e.lines.key(key).unwrap_or(&empty);
            match e.take(key) {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for (i, item) in items.into_iter().enumerate() {
                        let line = node.item(i).map_or(node.line, |n| n.line);
                        out.extend(self.test(item, line, e));
                    }
                }
                Some(other) => self.invalid(
                    node.line,
                    format!("`{key}` of {} must be a list of tests, found {}", e.what(), type_name(&other)),
                    "write each test as a list item, e.g. `- unique` or `- accepted_values: {values: [a, b]}`",
                ),
            }
        }
        out
    }

    fn test(&mut self, item: Value, line: u32, on: &Entry<'_>) -> Option<TestSpec> {
        const HELP: &str = "write `- unique`, `- accepted_values: {values: [a, b]}` or \
             `- name: my_test` with `test_name: accepted_values`";
        let owner = || on.what();
        let (full_name, mut args_src): (String, Map<String, Value>) = match item {
            Value::String(s) => (s, Map::new()),
            Value::Object(mut m) if m.contains_key("test_name") => {
                let Some(Value::String(name)) = m.shift_remove("test_name") else {
                    self.invalid(
                        line,
                        format!(
                            "`test_name` of a test on {owner} must be text",
                            owner = owner()
                        ),
                        HELP,
                    );
                    return None;
                };
                (name, m)
            }
            Value::Object(m) if m.len() == 1 => {
                let (name, args) = m.into_iter().next().expect("one entry");
                match args {
                    Value::Object(a) => (name, a),
                    Value::Null => (name, Map::new()),
                    other => {
                        self.invalid(
                            line,
                            format!("the arguments of test `{name}` on {owner} must be a mapping, found {}", type_name(&other), owner = owner()),
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
                    format!("a test on {owner} has several keys ({}) but no `test_name:`", keys.join(", "), owner = owner()),
                    "indent the arguments under the test name, or add `test_name:` to name the test",
                );
                return None;
            }
            other => {
                self.invalid(
                    line,
                    format!(
                        "a test on {owner} must be a name or a mapping, found {}",
                        type_name(&other),
                        owner = owner()
                    ),
                    HELP,
                );
                return None;
            }
        };
        let Some((namespace, test_name)) = split_test_name(&full_name) else {
            self.invalid(
                line,
                format!("`{full_name}` is not a valid test name (on {owner})", owner = owner()),
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
        let config: Map<String, Value> = match args_src.shift_remove("config") {
            Some(Value::Object(c)) => c,
            None | Some(Value::Null) => Map::new(),
            Some(other) => {
                self.invalid(
                    line,
                    format!(
                        "`config` of test `{full_name}` on {owner} must be a mapping, found {}",
                        type_name(&other),
                        owner = owner()
                    ),
                    HELP,
                );
                Map::new()
            }
        };
        for key in TEST_CONFIG_ARGS {
            if let Some(value) = args_src.shift_remove(*key) {
                if config.contains_key(*key) {
                    self.invalid(
                        line,
                        format!("test `{full_name}` on {owner} sets `{key}` both at the top level and under `config:`", owner = owner()),
                        &format!("keep `{key}` only under `config:`"),
                    );
                    continue;
                }
                spec.config.insert((*key).to_owned(), value);
            }
        }
        spec.config.extend(config);
        match args_src.shift_remove("name") {
            Some(Value::String(n)) => spec.custom_name = Some(n),
            None | Some(Value::Null) => {}
            Some(other) => self.invalid(
                line,
                format!(
                    "`name` of test `{full_name}` on {owner} must be text, found {}",
                    type_name(&other),
                    owner = owner()
                ),
                HELP,
            ),
        }
        if let Some(d) = args_src.shift_remove("description") {
            spec.description = match d {
                Value::String(s) => s,
                other => other.to_string(),
            };
        }
        let arguments = args_src.shift_remove("arguments");
        spec.args = args_src.into_iter().collect();
        match arguments {
            Some(Value::Object(a)) => spec.args.extend(a),
            None | Some(Value::Null) => {}
            Some(other) => self.invalid(
                line,
                format!(
                    "`arguments` of test `{full_name}` on {owner} must be a mapping, found {}",
                    type_name(&other),
                    owner = owner()
                ),
                "write `arguments: {values: [a, b]}`",
            ),
        }
        Some(spec)
    }

    fn columns(&mut self, e: &mut Entry<'_>) -> Vec<ColumnProps> {
        let empty = yaml_lines::empty();
        let node = e.lines.key("columns").unwrap_or(&empty);
        let items = self.list(e, "columns");
        let owner: Rc<str> = Rc::from(e.what());
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let lines = node.item(i).unwrap_or(&empty);
            let line = if lines.line > 0 {
                lines.line
            } else {
                node.line
            };
            let Some(mut c) = self.entry(item, lines, line, "column", Some(&owner)) else {
                continue;
            };
            let mut meta = self.dict(&mut c, "meta");
            let mut tags = self.string_list(&mut c, "tags");
            // dbt 1.10 also accepts `config: {meta, tags}` on columns.
            let config = self.dict(&mut c, "config");
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
            let quote = match c.take("quote") {
                None | Some(Value::Null) => None,
                Some(Value::Bool(b)) => Some(b),
                Some(other) => {
                    self.invalid(
                        c.lines.key_line("quote"),
                        format!(
                            "`quote` of {} must be true or false, found {}",
                            c.what(),
                            type_name(&other)
                        ),
                        "write `quote: true` or `quote: false`",
                    );
                    None
                }
            };
            let description = self.string(&mut c, "description").unwrap_or_default();
            let data_type = self.string(&mut c, "data_type");
            let constraints = self.list(&mut c, "constraints");
            let tests = self.tests(&mut c);
            out.push(ColumnProps {
                description,
                data_type,
                meta,
                tags,
                quote,
                constraints,
                tests,
                origin: self.origin(line),
                extra: c.map.into_iter().collect(),
                name: c.name,
            });
        }
        out
    }

    fn node(&mut self, mut e: Entry<'_>, line: u32) -> NodeProps {
        let description = self.string(&mut e, "description").unwrap_or_default();
        let config = self.dict(&mut e, "config");
        let meta = self.dict(&mut e, "meta");
        let tags = self.string_list(&mut e, "tags");
        let docs = e.take("docs").filter(|v| !v.is_null());
        let columns = self.columns(&mut e);
        let tests = self.tests(&mut e);
        NodeProps {
            description,
            config,
            meta,
            tags,
            docs,
            columns,
            tests,
            origin: self.origin(line),
            extra: e.map.into_iter().collect(),
            name: e.name,
        }
    }

    fn source(&mut self, mut e: Entry<'_>, line: u32) -> SourceProps {
        let empty = yaml_lines::empty();
        let node = e.lines.key("tables").unwrap_or(&empty);
        let items = self.list(&mut e, "tables");
        let owner: Rc<str> = Rc::from(e.what());
        let mut tables = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let lines = node.item(i).unwrap_or(&empty);
            let tline = if lines.line > 0 {
                lines.line
            } else {
                node.line
            };
            let Some(mut t) = self.entry(item, lines, tline, "source table", Some(&owner)) else {
                continue;
            };
            tables.push(SourceTableProps {
                description: self.string(&mut t, "description").unwrap_or_default(),
                identifier: self.string(&mut t, "identifier"),
                loaded_at_field: self.string(&mut t, "loaded_at_field"),
                loaded_at_query: self.string(&mut t, "loaded_at_query"),
                freshness: t.take("freshness"),
                quoting: self.dict(&mut t, "quoting"),
                config: self.dict(&mut t, "config"),
                meta: self.dict(&mut t, "meta"),
                tags: self.string_list(&mut t, "tags"),
                columns: self.columns(&mut t),
                tests: self.tests(&mut t),
                external: t.take("external").filter(|v| !v.is_null()),
                origin: self.origin(tline),
                extra: std::mem::take(&mut t.map).into_iter().collect(),
                name: t.name,
            });
        }
        SourceProps {
            description: self.string(&mut e, "description").unwrap_or_default(),
            database: self.string(&mut e, "database"),
            schema: self.string(&mut e, "schema"),
            loader: self.string(&mut e, "loader").unwrap_or_default(),
            loaded_at_field: self.string(&mut e, "loaded_at_field"),
            freshness: e.take("freshness"),
            quoting: self.dict(&mut e, "quoting"),
            config: self.dict(&mut e, "config"),
            meta: self.dict(&mut e, "meta"),
            tags: self.string_list(&mut e, "tags"),
            tables,
            origin: self.origin(line),
            extra: std::mem::take(&mut e.map).into_iter().collect(),
            name: e.name,
        }
    }

    fn macro_props(&mut self, mut e: Entry<'_>, line: u32) -> MacroProps {
        MacroProps {
            description: self.string(&mut e, "description").unwrap_or_default(),
            arguments: self.list(&mut e, "arguments"),
            meta: self.dict(&mut e, "meta"),
            origin: self.origin(line),
            name: e.name,
        }
    }

    fn exposure(&mut self, mut e: Entry<'_>, line: u32) -> Option<ExposureProps> {
        let depends_on = self.list(&mut e, "depends_on");
        let mut deps = Vec::with_capacity(depends_on.len());
        for d in depends_on {
            match d {
                Value::String(s) => deps.push(s),
                other => self.invalid(
                    e.lines.key_line("depends_on"),
                    format!(
                        "`depends_on` of {} must list strings, found {}",
                        e.what(),
                        type_name(&other)
                    ),
                    "write `- ref('model_name')` or `- source('source', 'table')`",
                ),
            }
        }
        let Some(exposure_type) = self.string(&mut e, "type") else {
            self.invalid(
                line,
                format!("{} has no `type:`", e.what()),
                "add `type:` with one of dashboard, notebook, analysis, ml, application",
            );
            return None;
        };
        Some(ExposureProps {
            label: self.string(&mut e, "label"),
            exposure_type,
            url: self.string(&mut e, "url"),
            maturity: self.string(&mut e, "maturity"),
            description: self.string(&mut e, "description").unwrap_or_default(),
            owner: self.dict(&mut e, "owner"),
            depends_on: deps,
            meta: self.dict(&mut e, "meta"),
            tags: self.string_list(&mut e, "tags"),
            config: self.dict(&mut e, "config"),
            origin: self.origin(line),
            name: e.name,
        })
    }

    fn unit_test(&mut self, mut e: Entry<'_>, line: u32) -> Option<UnitTestProps> {
        let Some(model) = self.string(&mut e, "model") else {
            self.invalid(
                line,
                format!("{} has no `model:`", e.what()),
                "add `model: <name of the model under test>`",
            );
            return None;
        };
        let given = self.list(&mut e, "given");
        let given_node = e.lines.key("given");
        let given_lines = (0..given.len())
            .map(|i| given_node.and_then(|n| n.item(i)).map_or(line, |n| n.line))
            .collect();
        Some(UnitTestProps {
            model,
            description: self.string(&mut e, "description").unwrap_or_default(),
            given,
            given_lines,
            expect_line: e.lines.key("expect").map_or(0, |n| n.line),
            expect: e.take("expect").unwrap_or(Value::Null),
            overrides: e.take("overrides").filter(|v| !v.is_null()),
            config: self.dict(&mut e, "config"),
            versions: e.take("versions").filter(|v| !v.is_null()),
            origin: self.origin(line),
            name: e.name,
        })
    }
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
