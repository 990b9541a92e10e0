//! Generic test nodes from properties YAML, named the way dbt names them.
//!
//! A test `not_null` on column `id` of model `orders` is the node
//! `not_null_orders_id`: the test name (prefixed by its package namespace, or by
//! `source_` for source tests), the target's name, then the arguments sorted by name and
//! flattened, non-identifier characters replaced by `_`, joined by `__`. Names of 64
//! characters or more keep dbt's full name but get a short alias: the first 30 characters
//! of `<test>_<target>` and the md5 of the full name.

use std::sync::Arc;

use indexmap::IndexMap;
use md5::{Digest, Md5};
use mfb_diagnostics::Location;
use mfb_graph::{DependsOn, Node, ResourceType, TestMetadata, UniqueId};
use mfb_project::{ColumnProps, TestSpec};
use serde_json::Value;

/// What a test is attached to.
#[derive(Debug, Clone)]
pub enum TestTarget<'a> {
    /// A model, seed or snapshot, by name (and version, for versioned models).
    Node {
        name: &'a str,
        unique_id: &'a str,
        version: Option<&'a str>,
    },
    /// A source table.
    Source {
        source: &'a str,
        table: &'a str,
        unique_id: &'a str,
    },
}

impl TestTarget<'_> {
    fn name_part(&self) -> String {
        match self {
            TestTarget::Node {
                name,
                version: Some(v),
                ..
            } => format!("{name}_v{v}"),
            TestTarget::Node { name, .. } => (*name).to_owned(),
            TestTarget::Source { source, table, .. } => format!("{source}_{table}"),
        }
    }

    /// The Jinja expression that refers to the target.
    pub fn expression(&self) -> String {
        match self {
            TestTarget::Node {
                name,
                version: Some(v),
                ..
            } => format!("ref('{name}', version='{v}')"),
            TestTarget::Node { name, .. } => concat(&["ref('", name, "')"]),
            TestTarget::Source { source, table, .. } => format!("source('{source}', '{table}')"),
        }
    }

    fn unique_id(&self) -> &str {
        match self {
            TestTarget::Node { unique_id, .. } | TestTarget::Source { unique_id, .. } => unique_id,
        }
    }
}

/// Python's `str()` of a YAML value, as dbt uses for test names.
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::Number(n) => n.to_string(),
        other => mfb_jinja::collections::python_repr(&mfb_jinja::collections::from_serde(other)),
    }
}

/// dbt's (short, full) test names.
pub fn test_names(
    test_type: &str,
    target_name: &str,
    args: &IndexMap<String, Value>,
) -> (String, String) {
    let mut keys: Vec<&String> = args.keys().filter(|k| *k != "model").collect();
    keys.sort();
    // `<test>_<target>_<arg>__<arg>...`, each flattened argument value cleaned.
    let mut full = String::with_capacity(test_type.len() + target_name.len() + 64);
    full.push_str(test_type);
    full.push('_');
    full.push_str(target_name);
    let identifier_len = full.len();
    full.push('_');
    let mut first = true;
    let mut push = |value: &Value| {
        if !first {
            full.push_str("__");
        }
        first = false;
        match value {
            Value::String(s) => push_clean(s, &mut full),
            other => push_clean(&py_str(other), &mut full),
        }
    };
    for k in keys {
        match &args[k] {
            Value::Object(map) => map.values().for_each(&mut push),
            Value::Array(items) => items.iter().for_each(&mut push),
            other => push(other),
        }
    }
    if full.len() >= 64 {
        let trunc: String = full[..identifier_len].chars().take(30).collect();
        let hash = format!("{:x}", Md5::digest(full.as_bytes()));
        (format!("{trunc}_{hash}"), full)
    } else {
        (full.clone(), full)
    }
}

/// Appends `s` with every run of non-identifier characters replaced by one `_`.
fn push_clean(s: &str, out: &mut String) {
    let mut in_run = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
}

/// Turns a YAML argument into the Jinja expression dbt's native rendering would produce:
/// strings that look like `ref(...)`, `source(...)`, `var(...)`, `env_var(...)`, `doc(...)`
/// are evaluated; `{{ expr }}` strings are evaluated; other strings are literals.
pub fn arg_expression(v: &Value, is_column_name: bool) -> String {
    match v {
        Value::String(s) if is_column_name => jinja_string(s),
        Value::String(s) => {
            let t = s.trim();
            if looks_like_call(t) {
                t.to_owned()
            } else if let Some(inner) = t
                .strip_prefix("{{")
                .and_then(|r| r.strip_suffix("}}"))
                .filter(|i| !i.contains("{{") && !i.contains("}}"))
            {
                inner.trim().to_owned()
            } else {
                jinja_string(s)
            }
        }
        Value::Null => "none".into(),
        Value::Bool(b) => if *b { "true" } else { "false" }.into(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|i| arg_expression(i, false))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", jinja_string(k), arg_expression(v, false)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// True for `ref(...)`, `source(...)`, `var(...)`, `env_var(...)`, `doc(...)` calls.
pub fn looks_like_call(s: &str) -> bool {
    ["ref", "source", "var", "env_var", "doc"].iter().any(|f| {
        s.strip_prefix(f)
            .map(str::trim_start)
            .is_some_and(|rest| rest.starts_with('(') && rest.ends_with(')') && rest.len() > 2)
    })
}

fn jinja_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A generic test node, before config merging and naming.
pub struct GenericTest {
    pub node: Node,
    /// The template that calls the test macro with its arguments as Jinja expressions.
    pub invocation: String,
}

/// Builds the node for one test spec on `target` (and `column`, for column tests).
#[allow(clippy::too_many_arguments)]
pub fn generic_test(
    package: &str,
    yml_path: &str,
    yml_dirs: &[String],
    spec: &TestSpec,
    target: &TestTarget<'_>,
    column: Option<&ColumnProps>,
    display_file: &str,
) -> GenericTest {
    let column_name = column.map(|c| c.name.clone());
    let mut kwargs: IndexMap<String, Value> = spec.args.clone();
    if let Some(c) = &column_name {
        kwargs.shift_remove("column_name");
        kwargs.insert("column_name".into(), Value::String(c.clone()));
    }
    // Names are built by appending (this runs once per test: tens of thousands of times).
    let ns = spec.namespace.as_deref();
    let source_prefix = if matches!(target, TestTarget::Source { .. }) {
        "source_"
    } else {
        ""
    };
    let test_type = match ns {
        Some(ns) => concat(&[source_prefix, ns, "_", &spec.test_name]),
        None => concat(&[source_prefix, &spec.test_name]),
    };
    let (short, full) = test_names(&test_type, &target.name_part(), &kwargs);
    let name = spec.custom_name.clone().unwrap_or(full);
    let alias = spec.custom_name.clone().unwrap_or(short);
    let macro_name = match ns {
        Some(ns) => concat(&[ns, ".test_", &spec.test_name]),
        None => concat(&["test_", &spec.test_name]),
    };
    kwargs.insert(
        "model".into(),
        Value::String(concat(&[
            "{{ get_where_subquery(",
            &target.expression(),
            ") }}",
        ])),
    );

    let mut invocation = String::with_capacity(256);
    invocation.push_str("{{ ");
    invocation.push_str(&macro_name);
    invocation.push('(');
    let mut first = true;
    for (k, v) in &kwargs {
        if !first {
            invocation.push_str(", ");
        }
        first = false;
        invocation.push_str(k);
        invocation.push('=');
        invocation.push_str(&arg_expression(v, k == "column_name"));
    }
    invocation.push_str(") }}");

    let mut raw_code = String::new();
    if !spec.config.is_empty() {
        let parts: Vec<String> = spec
            .config
            .iter()
            .map(|(k, v)| format!("{k}={}", serde_json::to_string(v).unwrap_or_default()))
            .collect();
        raw_code.push_str(&format!("{{{{ config({}) }}}}", parts.join(", ")));
    }
    for part in ["{{ ", &macro_name, "(**_dbt_generic_test_kwargs) }}"] {
        raw_code.push_str(part);
    }

    let hash = test_hash(&name, &spec.test_name, spec.namespace.as_deref(), &kwargs);
    let mut fqn = vec![package.to_owned()];
    fqn.extend(yml_dirs.iter().cloned());
    fqn.push(name.clone());
    let file_key_name = match target {
        TestTarget::Node { name, .. } => concat(&["models.", name]),
        TestTarget::Source { source, .. } => concat(&["sources.", source]),
    };
    let node = Node {
        unique_id: UniqueId::new(concat(&["test.", package, ".", &name, ".", &hash])),
        resource_type: ResourceType::Test,
        package_name: package.to_owned(),
        name,
        fqn,
        path: concat(&[&alias, ".sql"]),
        original_file_path: yml_path.to_owned(),
        patch_path: None,
        raw_code: Arc::from(raw_code.as_str()),
        checksum: String::new(),
        config: IndexMap::new(),
        tags: Vec::new(),
        description: String::new(),
        meta: IndexMap::new(),
        columns: IndexMap::new(),
        database: String::new(),
        schema: String::new(),
        alias,
        relation_name: None,
        refs: Vec::new(),
        sources: Vec::new(),
        depends_on: DependsOn::default(),
        compiled_code: None,
        test_metadata: Some(TestMetadata {
            name: spec.test_name.clone(),
            kwargs,
            namespace: spec.namespace.clone(),
        }),
        column_name,
        attached_node: Some(target.unique_id().to_owned()),
        file_key_name: Some(file_key_name),
        unit_test: None,
        version: None,
        latest_version: None,
        defined_at: Location::new(display_file, spec.origin.line, 0),
    };
    GenericTest { node, invocation }
}

/// The strings one after the other.
fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// dbt's 10-character suffix of a generic test's unique id: the md5 of the test's name
/// followed by Python's `repr()` of its metadata (`namespace`, `name`, `kwargs`) with
/// every dict sorted by key and every scalar turned into its `str()`; the last 10 hex
/// characters.
pub fn test_hash(
    name: &str,
    test_name: &str,
    namespace: Option<&str>,
    kwargs: &IndexMap<String, Value>,
) -> String {
    // `{'kwargs': {...}, 'name': '...', 'namespace': ...}`: the keys in sorted order, and
    // a missing namespace is `str(None)`.
    let mut text = String::with_capacity(name.len() + 256);
    text.push_str(name);
    text.push('{');
    quote("kwargs", &mut text);
    text.push_str(": ");
    repr_map(kwargs.iter(), &mut text);
    text.push_str(", ");
    quote("name", &mut text);
    text.push_str(": ");
    quote(test_name, &mut text);
    text.push_str(", ");
    quote("namespace", &mut text);
    text.push_str(": ");
    quote(namespace.unwrap_or("None"), &mut text);
    text.push('}');
    // The last 10 hex digits: the last 5 bytes of the digest.
    let digest = Md5::digest(text.as_bytes());
    let mut out = String::with_capacity(10);
    for b in &digest[digest.len() - 5..] {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

/// Python's `repr()` of a string.
fn quote(s: &str, out: &mut String) {
    mfb_jinja::collections::write_str_repr(s, out);
}

/// A dict's `repr()` with its keys sorted.
fn repr_map<'a>(entries: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut String) {
    let mut entries: Vec<(&String, &Value)> = entries.collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    out.push('{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        quote(k, out);
        out.push_str(": ");
        hashable_repr(v, out);
    }
    out.push('}');
}

fn hashable_repr(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => repr_map(map.iter(), out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                hashable_repr(item, out);
            }
            out.push(']');
        }
        Value::String(s) => quote(s, out),
        scalar => quote(&py_str(scalar), out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, Value)]) -> IndexMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn names_match_dbt() {
        use serde_json::json;
        assert_eq!(
            test_names("not_null", "orders", &args(&[("column_name", json!("id"))])).0,
            "not_null_orders_id"
        );
        assert_eq!(
            test_names(
                "accepted_values",
                "orders",
                &args(&[
                    ("column_name", json!("status")),
                    ("values", json!(["a", "b", "c"])),
                    ("quote", json!(false))
                ])
            )
            .0,
            "accepted_values_orders_status__False__a__b__c"
        );
        assert_eq!(
            test_names(
                "relationships",
                "orders",
                &args(&[
                    ("to", json!("ref('plain')")),
                    ("field", json!("id")),
                    ("column_name", json!("customer_id"))
                ])
            )
            .0,
            "relationships_orders_customer_id__id__ref_plain_"
        );
        let (short, full) = test_names(
            "relationships",
            "orders",
            &args(&[
                ("to", json!("source('raw', 'events')")),
                (
                    "field",
                    json!("id_with_a_very_long_name_to_make_the_test_name_exceed_the_limit"),
                ),
                ("column_name", json!("customer_id")),
            ]),
        );
        assert_eq!(
            full,
            "relationships_orders_customer_id__id_with_a_very_long_name_to_make_the_test_name_exceed_the_limit__source_raw_events_"
        );
        assert_eq!(
            short,
            "relationships_orders_9abca2fc43dc462f693acae50721c378"
        );
        assert_eq!(
            test_names(
                "source_not_null",
                "raw_events",
                &args(&[("column_name", json!("id"))])
            )
            .0,
            "source_not_null_raw_events_id"
        );
    }

    #[test]
    fn unique_id_hashes_match_dbt() {
        use serde_json::json;
        let model = json!("{{ get_where_subquery(ref('orders')) }}");
        // Values from a manifest written by dbt-core 1.10.9.
        assert_eq!(
            test_hash(
                "unique_orders_id",
                "unique",
                None,
                &args(&[("column_name", json!("id")), ("model", model.clone())])
            ),
            "1360ecc70e"
        );
        assert_eq!(
            test_hash(
                "accepted_values_orders_status__False__a__b__c",
                "accepted_values",
                None,
                &args(&[
                    ("column_name", json!("status")),
                    ("values", json!(["a", "b", "c"])),
                    ("quote", json!(false)),
                    ("model", model.clone())
                ])
            ),
            "aff412aa45"
        );
        assert_eq!(
            test_hash(
                "relationships_orders_customer_id__id__ref_plain_",
                "relationships",
                None,
                &args(&[
                    ("to", json!("ref('plain')")),
                    ("field", json!("id")),
                    ("column_name", json!("customer_id")),
                    ("model", model)
                ])
            ),
            "46b7d9accb"
        );
    }

    #[test]
    fn arguments_become_jinja_expressions() {
        use serde_json::json;
        assert_eq!(arg_expression(&json!("ref('x')"), false), "ref('x')");
        assert_eq!(arg_expression(&json!("amount > 0"), false), "'amount > 0'");
        assert_eq!(arg_expression(&json!("{{ var('n') }}"), false), "var('n')");
        assert_eq!(
            arg_expression(&json!(["a", 1, null, true]), false),
            "['a', 1, none, true]"
        );
        assert_eq!(arg_expression(&json!("ref('x')"), true), "'ref(\\'x\\')'");
    }
}
