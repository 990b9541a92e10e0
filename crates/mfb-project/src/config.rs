//! Config trees of `dbt_project.yml` (`models:`, `seeds:`, ...) and dbt's merge rules.
//!
//! Precedence in dbt-core 1.10, lowest first: the node's own package's `dbt_project.yml`
//! tree (shallow folders before deep ones), properties YAML `config:`, the in-file
//! `config()` call, and finally (for nodes of installed packages only) the root project's
//! tree. The caller (mfb-exec) applies the layers in that order with [`merge_config`].
//!
//! Merging follows dbt: `tags`, `pre-hook`, `post-hook` (and `packages`) append; `meta`,
//! `persist_docs`, `docs`, `contract`, `quoting`, `column_types` and
//! `snapshot_meta_column_names` update key by key (one level deep); `grants` updates key by
//! key, and a key written `+select` appends to that key's list instead of replacing it;
//! everything else replaces.

use indexmap::IndexMap;
use mfb_diagnostics::{Diagnostic, Location, closest};
use serde_json::Value;

use crate::yaml_lines::{self, LineNode};
use crate::{ProjectError, Render};

/// A resolved config: config key (normalised: `post_hook` and `post-hook` are one key,
/// stored as `post-hook`; same for `pre-hook`) to value.
pub type NodeConfig = IndexMap<String, Value>;

/// One level of config values, in file order, with where it came from (for errors).
#[derive(Debug, Clone, Default)]
pub struct ConfigLayer {
    /// Config key -> value (keys without the leading `+`, hook names normalised).
    pub values: IndexMap<String, Value>,
}

/// A raw config tree as written under `models:` (or `seeds:`, ...) in a `dbt_project.yml`.
#[derive(Debug, Clone, Default)]
pub struct ConfigTree {
    /// The raw YAML under the resource key (e.g. `{"my_project": {"staging": {"+materialized": "view"}}}`).
    pub raw: Value,
    /// The `dbt_project.yml` this tree was read from, relative to the project root.
    pub file: String,
}

/// Configs every resource type accepts.
const COMMON_CONFIGS: &[&str] = &[
    "enabled",
    "tags",
    "meta",
    "schema",
    "database",
    "alias",
    "group",
    "docs",
    "persist_docs",
    "pre-hook",
    "post-hook",
    "pre_hook",
    "post_hook",
    "quoting",
    "column_types",
    "full_refresh",
    "grants",
    "packages",
    "event_time",
    "materialized",
    "contract",
    "access",
    "description",
];

/// Model configs (dbt-core's `ModelConfig`/`NodeConfig` plus dbt-postgres and mfb's own).
const MODEL_CONFIGS: &[&str] = &[
    "incremental_strategy",
    "incremental_predicates",
    "unique_key",
    "on_schema_change",
    "on_configuration_change",
    "indexes",
    "unlogged",
    "sql_header",
    "batch_size",
    "lookback",
    "begin",
    "concurrent_batches",
    "freshness",
    "transient",
    "rls",
    "contract",
    "constraints",
    "copy_grants",
    "predicates",
    "merge_update_columns",
    "merge_exclude_columns",
    "partition_by",
    "cluster_by",
];

const SEED_CONFIGS: &[&str] = &["delimiter", "quote_columns", "column_types"];

const SNAPSHOT_CONFIGS: &[&str] = &[
    "strategy",
    "unique_key",
    "updated_at",
    "check_cols",
    "hard_deletes",
    "invalidate_hard_deletes",
    "snapshot_meta_column_names",
    "dbt_valid_to_current",
    "target_schema",
    "target_database",
    "indexes",
    "unlogged",
];

const TEST_CONFIGS: &[&str] = &[
    "severity",
    "where",
    "limit",
    "fail_calc",
    "warn_if",
    "error_if",
    "store_failures",
    "store_failures_as",
];

const SOURCE_CONFIGS: &[&str] = &[
    "freshness",
    "loaded_at_field",
    "loaded_at_query",
    "external",
];

/// The config names known for a resource key of `dbt_project.yml` (`models`, `seeds`,
/// `snapshots`, `data_tests`/`tests`, `sources`, `analyses`, `unit_tests`, `exposures`).
pub fn known_config_keys(resource: &str) -> Vec<&'static str> {
    let extra: &[&[&str]] = match resource {
        "models" => &[MODEL_CONFIGS],
        "seeds" => &[SEED_CONFIGS],
        "snapshots" => &[SNAPSHOT_CONFIGS, MODEL_CONFIGS],
        "data_tests" | "tests" => &[TEST_CONFIGS],
        "sources" => &[SOURCE_CONFIGS],
        "unit_tests" | "exposures" | "analyses" => &[],
        _ => &[
            MODEL_CONFIGS,
            SEED_CONFIGS,
            SNAPSHOT_CONFIGS,
            TEST_CONFIGS,
            SOURCE_CONFIGS,
        ],
    };
    let mut keys: Vec<&'static str> = COMMON_CONFIGS.to_vec();
    for list in extra {
        for k in *list {
            if !keys.contains(k) {
                keys.push(k);
            }
        }
    }
    keys
}

fn is_known_anywhere(key: &str) -> bool {
    [
        COMMON_CONFIGS,
        MODEL_CONFIGS,
        SEED_CONFIGS,
        SNAPSHOT_CONFIGS,
        TEST_CONFIGS,
        SOURCE_CONFIGS,
    ]
    .iter()
    .any(|list| list.contains(&key))
}

/// Whether `key: value` inside a config tree is a config (true) or names the next fqn
/// element (false). dbt's own rule is "`+key`, or any value that is not a mapping"; mfb also
/// takes a mapping under a known config name (`meta: {owner: x}`) as a config, unless that
/// mapping holds `+keys` (then it is a folder that happens to be called `docs` or `meta`).
fn is_config_entry(key: &str, value: &Value) -> bool {
    if key.starts_with('+') {
        return true;
    }
    match value {
        // `staging:` with everything below commented out is an empty folder, not a config.
        Value::Null => is_known_anywhere(key),
        Value::Object(map) => is_known_anywhere(key) && !map.keys().any(|k| k.starts_with('+')),
        _ => true,
    }
}

/// `pre_hook` -> `pre-hook`, `post_hook` -> `post-hook`; every other key unchanged.
pub fn normalise_key(key: &str) -> &str {
    match key {
        "pre_hook" => "pre-hook",
        "post_hook" => "post-hook",
        other => other,
    }
}

fn layer_of(level: &serde_json::Map<String, Value>) -> ConfigLayer {
    let mut values = IndexMap::new();
    for (key, value) in level {
        if !is_config_entry(key, value) {
            continue;
        }
        let name = key.strip_prefix('+').unwrap_or(key).trim();
        values.insert(normalise_key(name).to_owned(), value.clone());
    }
    ConfigLayer { values }
}

impl ConfigTree {
    /// The layers that apply to a node with this `fqn` (`[package, dir.., name]`), from
    /// shallowest to deepest: the configs at the top of the tree, then one layer per fqn
    /// element that the tree has a folder for (stopping at the first it has not). A key is
    /// a config if it starts with `+`, or if it is a known config name for the resource
    /// type or its value is not a mapping; otherwise it names a package/folder/node.
    pub fn layers_for(&self, fqn: &[String]) -> Vec<ConfigLayer> {
        let Some(mut level) = self.raw.as_object() else {
            return Vec::new();
        };
        let mut layers = vec![layer_of(level)];
        for part in fqn {
            match level.get(part.as_str()) {
                Some(Value::Object(next)) if !is_config_entry(part, &level[part.as_str()]) => {
                    layers.push(layer_of(next));
                    level = next;
                }
                _ => break,
            }
        }
        layers
    }

    /// The configs that apply to `fqn`, merged with [`merge_config`] from shallow to deep.
    pub fn config_for(&self, fqn: &[String]) -> NodeConfig {
        let mut config = NodeConfig::new();
        for layer in self.layers_for(fqn) {
            merge_config(&mut config, &layer.values);
        }
        config
    }
}

/// `value` as a list: a list stays one, null is empty, anything else becomes one element.
fn listify(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

fn dedup_tags(tags: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(tags.len());
    for tag in tags {
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    out
}

/// Merges `layer` over `base` with dbt's rules (see the module docs).
pub fn merge_config(base: &mut NodeConfig, layer: &IndexMap<String, Value>) {
    for (raw_key, value) in layer {
        let key = normalise_key(raw_key.strip_prefix('+').unwrap_or(raw_key));
        match key {
            "tags" => {
                let mut tags = base.get(key).map(listify).unwrap_or_default();
                tags.extend(listify(value));
                base.insert(key.to_owned(), Value::Array(dedup_tags(tags)));
            }
            "pre-hook" | "post-hook" | "packages" => {
                let mut items = base.get(key).map(listify).unwrap_or_default();
                items.extend(listify(value));
                base.insert(key.to_owned(), Value::Array(items));
            }
            "meta"
            | "docs"
            | "contract"
            | "quoting"
            | "column_types"
            | "persist_docs"
            | "snapshot_meta_column_names" => match (base.get_mut(key), value) {
                (Some(Value::Object(old)), Value::Object(new)) => {
                    for (k, v) in new {
                        old.insert(k.clone(), v.clone());
                    }
                }
                _ => {
                    base.insert(key.to_owned(), value.clone());
                }
            },
            "grants" => merge_grants(base, value),
            _ => {
                base.insert(key.to_owned(), value.clone());
            }
        }
    }
}

/// dbt's "dict key append": every privilege maps to a list of grantees; `+privilege`
/// extends the list already there, a plain `privilege` replaces it.
fn merge_grants(base: &mut NodeConfig, value: &Value) {
    let Value::Object(new) = value else {
        base.insert("grants".to_owned(), value.clone());
        return;
    };
    let mut merged = serde_json::Map::new();
    if let Some(Value::Object(old)) = base.get("grants") {
        for (k, v) in old {
            merged.insert(k.clone(), Value::Array(listify(v)));
        }
    }
    for (k, v) in new {
        let (name, extend) = match k.strip_prefix('+') {
            Some(stripped) => (stripped, true),
            None => (k.as_str(), false),
        };
        match merged.get_mut(name) {
            Some(Value::Array(list)) if extend => list.extend(listify(v)),
            _ => {
                merged.insert(name.to_owned(), Value::Array(listify(v)));
            }
        }
    }
    base.insert("grants".to_owned(), Value::Object(merged));
}

/// Warnings for config keys in `tree` that look like typos of a known config of
/// `resource` (`+materalized` -> did you mean `+materialized`?). `source` is the text of
/// the `dbt_project.yml` the tree came from, used to find lines. Unknown keys that are not
/// close to a known one are custom configs, which dbt allows: they get no warning.
pub fn unknown_config_keys(tree: &ConfigTree, resource: &str, source: &str) -> Vec<Diagnostic> {
    let lines = yaml_lines::scan(source);
    let empty = yaml_lines::empty();
    let node = lines
        .key(resource)
        .or_else(|| {
            if resource == "data_tests" {
                lines.key("tests")
            } else {
                None
            }
        })
        .unwrap_or(&empty);
    let known = known_config_keys(resource);
    let mut out = Vec::new();
    if let Some(map) = tree.raw.as_object() {
        check_level(map, node, &known, resource, tree, source, &mut out);
    }
    out
}

fn check_level(
    level: &serde_json::Map<String, Value>,
    lines: &LineNode<'_>,
    known: &[&'static str],
    resource: &str,
    tree: &ConfigTree,
    source: &str,
    out: &mut Vec<Diagnostic>,
) {
    for (key, value) in level {
        let key_line = lines.key(key);
        if is_config_entry(key, value) {
            let name = key.strip_prefix('+').unwrap_or(key).trim();
            if known.contains(&name) || is_known_anywhere(name) {
                continue;
            }
            let Some(suggestion) = closest(name, known.iter().copied()) else {
                continue;
            };
            let plus = if key.starts_with('+') { "+" } else { "" };
            let (line, column) = key_line.map_or((0, 0), |n| (n.line, n.column));
            out.push(
                Diagnostic::warning(
                    "unknown-config-key",
                    format!("`{key}` is not a known config for {resource}"),
                )
                .at_in(Location::new(&tree.file, line, column), source)
                .with_span_len(key.chars().count() as u32)
                .with_help(format!("did you mean `{plus}{suggestion}`?")),
            );
        } else if let Value::Object(next) = value {
            // `persist_doc: {relation: true}` reads as a folder; say so when it looks like
            // a misspelt config rather than a folder (no `+keys` inside).
            if !next.keys().any(|k| k.starts_with('+'))
                && let Some(suggestion) = closest(key, known.iter().copied())
            {
                let (line, column) = key_line.map_or((0, 0), |n| (n.line, n.column));
                out.push(
                    Diagnostic::warning(
                        "unknown-config-key",
                        format!("`{key}` is not a known config for {resource}, so it is read as a folder name"),
                    )
                    .at_in(Location::new(&tree.file, line, column), source)
                    .with_span_len(key.chars().count() as u32)
                    .with_help(format!("did you mean `+{suggestion}`?")),
                );
                continue;
            }
            let empty = yaml_lines::empty();
            check_level(
                next,
                key_line.unwrap_or(&empty),
                known,
                resource,
                tree,
                source,
                out,
            );
        }
    }
}

/// Renders every string of `value` that contains `{{` or `{%` with `render`, except the
/// values under `pre-hook`/`post-hook` keys (hooks render at run time). The rendered text
/// becomes a boolean when it reads `True`/`False` (any case), a number when it is an
/// integer or a decimal, null for `None`, and stays a string otherwise, like dbt's native
/// rendering of config values.
pub fn render_config_strings(
    value: &mut Value,
    render: &dyn Render,
    at: &Location,
) -> Result<(), ProjectError> {
    match value {
        Value::String(text) => {
            if text.contains("{{") || text.contains("{%") {
                let rendered = render
                    .render(text, at)
                    .map_err(|message| ProjectError::Render {
                        source_text: text.clone(),
                        message,
                        at: at.clone(),
                    })?;
                *value = native_value(&rendered);
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|item| render_config_strings(item, render, at)),
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let name = normalise_key(key.strip_prefix('+').unwrap_or(key));
                if name == "pre-hook" || name == "post-hook" {
                    continue;
                }
                render_config_strings(item, render, at)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// [`render_config_strings`] over a whole tree (`models:`, `seeds:`, ...) of the
/// `dbt_project.yml` whose text is `source`, so that a failure points at the line of the
/// key holding the failing string instead of at the whole file.
pub fn render_config_tree(
    tree: &mut ConfigTree,
    resource: &str,
    source: &str,
    render: &dyn Render,
) -> Result<(), ProjectError> {
    let lines = yaml_lines::scan(source);
    let empty = yaml_lines::empty();
    let node = lines
        .key(resource)
        .or_else(|| {
            if resource == "data_tests" {
                lines.key("tests")
            } else {
                None
            }
        })
        .unwrap_or(&empty);
    let file = tree.file.clone();
    render_with_lines(&mut tree.raw, node, &file, render)
}

fn render_with_lines(
    value: &mut Value,
    lines: &LineNode<'_>,
    file: &str,
    render: &dyn Render,
) -> Result<(), ProjectError> {
    let empty = yaml_lines::empty();
    match value {
        Value::String(_) => {
            let at = Location::new(file, lines.line, lines.column);
            render_config_strings(value, render, &at)
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let node = lines.item(i).filter(|n| n.line > 0).unwrap_or(lines);
                render_with_lines(item, node, file, render)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let name = normalise_key(key.strip_prefix('+').unwrap_or(key));
                if name == "pre-hook" || name == "post-hook" {
                    continue;
                }
                let node = lines
                    .key(key)
                    .unwrap_or(if lines.line > 0 { lines } else { &empty });
                render_with_lines(item, node, file, render)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Rendered text to a typed value, the way dbt's native Jinja rendering reads it.
pub fn native_value(rendered: &str) -> Value {
    let t = rendered.trim();
    if t.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if t.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if t == "None" {
        return Value::Null;
    }
    // Python's literal_eval (what dbt uses) rejects leading zeros: `007` stays text.
    let digits = t.trim_start_matches(['-', '+']);
    if digits.len() > 1 && digits.starts_with('0') && !digits.starts_with("0.") {
        return Value::String(rendered.to_owned());
    }
    if let Ok(i) = t.parse::<i64>() {
        return Value::Number(i.into());
    }
    let looks_decimal = !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-');
    if looks_decimal && let Some(n) = t.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
        return Value::Number(n);
    }
    Value::String(rendered.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tree(raw: Value) -> ConfigTree {
        ConfigTree {
            raw,
            file: "dbt_project.yml".into(),
        }
    }

    fn fqn(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| (*s).to_owned()).collect()
    }

    fn layer(v: Value) -> IndexMap<String, Value> {
        v.as_object().unwrap().clone().into_iter().collect()
    }

    #[test]
    fn layers_follow_the_fqn_and_stop_at_missing_folders() {
        let t = tree(json!({
            "+materialized": "view",
            "proj": {
                "+schema": "base",
                "staging": {"+materialized": "table", "stg_a": {"+alias": "a"}},
                "materialized": "ephemeral",
            }
        }));
        let layers = t.layers_for(&fqn(&["proj", "staging", "stg_a"]));
        assert_eq!(layers.len(), 4);
        assert_eq!(layers[0].values["materialized"], json!("view"));
        assert_eq!(layers[1].values["schema"], json!("base"));
        assert_eq!(layers[1].values["materialized"], json!("ephemeral"));
        assert_eq!(layers[2].values["materialized"], json!("table"));
        assert_eq!(layers[3].values["alias"], json!("a"));
        let empty = tree(json!({"proj": {"staging": null, "+enabled": true}}));
        let layers = empty.layers_for(&fqn(&["proj", "staging", "m"]));
        assert_eq!(layers.len(), 2);
        assert!(!layers[1].values.contains_key("staging"));
        let other = t.layers_for(&fqn(&["proj", "marts", "x"]));
        assert_eq!(other.len(), 2);
        let merged = t.config_for(&fqn(&["proj", "staging", "stg_a"]));
        assert_eq!(merged["materialized"], json!("table"));
        assert_eq!(merged["schema"], json!("base"));
    }

    #[test]
    fn known_dict_configs_without_plus_are_configs_but_plus_folders_are_folders() {
        let t = tree(json!({
            "proj": {
                "meta": {"owner": "x"},
                "docs": {"+materialized": "table"},
            }
        }));
        let layers = t.layers_for(&fqn(&["proj", "docs", "m"]));
        assert_eq!(layers[1].values.get("meta"), Some(&json!({"owner": "x"})));
        assert!(!layers[1].values.contains_key("docs"));
        assert_eq!(layers[2].values["materialized"], json!("table"));
    }

    #[test]
    fn merge_appends_tags_and_hooks_and_updates_meta() {
        let mut base = NodeConfig::new();
        merge_config(
            &mut base,
            &layer(
                json!({"tags": "a", "meta": {"x": 1, "y": 1}, "post_hook": "grant 1", "schema": "s1"}),
            ),
        );
        merge_config(
            &mut base,
            &layer(
                json!({"tags": ["b", "a"], "meta": {"y": 2}, "post-hook": ["grant 2"], "+schema": "s2"}),
            ),
        );
        assert_eq!(base["tags"], json!(["a", "b"]));
        assert_eq!(base["meta"], json!({"x": 1, "y": 2}));
        assert_eq!(base["post-hook"], json!(["grant 1", "grant 2"]));
        assert!(!base.contains_key("post_hook"));
        assert_eq!(base["schema"], json!("s2"));
    }

    #[test]
    fn grants_plus_key_extends_plain_key_replaces() {
        let mut base = NodeConfig::new();
        merge_config(
            &mut base,
            &layer(json!({"grants": {"select": "a", "insert": ["b"]}})),
        );
        merge_config(
            &mut base,
            &layer(json!({"grants": {"+select": ["c"], "insert": "d"}})),
        );
        assert_eq!(
            base["grants"],
            json!({"select": ["a", "c"], "insert": ["d"]})
        );
    }

    #[test]
    fn unknown_key_gets_a_suggestion_with_its_line() {
        let source =
            "name: p\nmodels:\n  p:\n    staging:\n      +materalized: view\n      +my_custom: 1\n";
        let t = tree(json!({"p": {"staging": {"+materalized": "view", "+my_custom": 1}}}));
        let diags = unknown_config_keys(&t, "models", source);
        assert_eq!(diags.len(), 1);
        let d = &diags[0];
        assert_eq!(d.code, "unknown-config-key");
        assert_eq!(d.location, Some(Location::new("dbt_project.yml", 5, 7)));
        assert_eq!(d.help.as_deref(), Some("did you mean `+materialized`?"));
        assert_eq!(d.source_line.as_deref(), Some("      +materalized: view"));
    }

    struct Upper;
    impl Render for Upper {
        fn render(&self, source: &str, _: &Location) -> Result<String, String> {
            match source {
                "{{ true_flag }}" => Ok("True".into()),
                "{{ n }}" => Ok(" 42 ".into()),
                "{{ bad }}" => Err("'bad' is undefined".into()),
                other => Ok(other.replace("{{ x }}", "X")),
            }
        }
    }

    #[test]
    fn render_converts_native_values_and_skips_hooks() {
        let at = Location::file("dbt_project.yml");
        let mut v = json!({
            "+enabled": "{{ true_flag }}",
            "+limit": "{{ n }}",
            "+schema": "s_{{ x }}",
            "+post-hook": "{{ x }}",
            "nested": {"pre_hook": ["{{ x }}"], "+alias": ["{{ x }}"]},
        });
        render_config_strings(&mut v, &Upper, &at).unwrap();
        assert_eq!(v["+enabled"], json!(true));
        assert_eq!(v["+limit"], json!(42));
        assert_eq!(v["+schema"], json!("s_X"));
        assert_eq!(v["+post-hook"], json!("{{ x }}"));
        assert_eq!(v["nested"]["pre_hook"], json!(["{{ x }}"]));
        assert_eq!(v["nested"]["+alias"], json!(["X"]));
        let mut bad = json!({"+schema": "{{ bad }}"});
        let err = render_config_strings(&mut bad, &Upper, &at).unwrap_err();
        assert!(
            matches!(err, ProjectError::Render { ref message, .. } if message.contains("undefined"))
        );
    }

    #[test]
    fn native_value_reads_like_dbt() {
        assert_eq!(native_value("FALSE"), json!(false));
        assert_eq!(native_value("12"), json!(12));
        assert_eq!(native_value("1.5"), json!(1.5));
        assert_eq!(native_value("None"), Value::Null);
        assert_eq!(native_value("abc"), json!("abc"));
        assert_eq!(native_value("007"), json!("007"));
        assert_eq!(native_value("0"), json!(0));
        assert_eq!(native_value("0.25"), json!(0.25));
    }
}
