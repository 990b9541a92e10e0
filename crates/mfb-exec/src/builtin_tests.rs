//! The compiled SQL of the built-in generic tests (`unique`, `not_null`, `accepted_values`,
//! `relationships`), written directly instead of rendering their macros.
//!
//! A large project has several times more generic tests than models, and rendering one
//! through Jinja (the invocation, the test macro, `adapter.dispatch`, `get_where_subquery`,
//! `config.get`, ...) costs about as much as rendering a model. The SQL here is exactly what
//! the built-in macros (`mfb-jinja/builtins/tests/`) render, byte for byte; it is used only
//! when rendering would run those macros unchanged:
//!
//! - no package overrides the test macro, its `default__`/`postgres__` implementation,
//!   `get_where_subquery` or `should_store_failures`, nor shadows `ref`, `source`,
//!   `config`, `adapter`, `flags` or `return` with a macro;
//! - the test has no `where` config, its `store_failures` config is unset or a boolean;
//! - every argument is a plain literal (strings and integers) or, where a relation is
//!   expected, a plain `ref('...')` / `source('...', '...')` call that resolves.
//!
//! Anything else (and any error) is left to the Jinja render. A test in this crate renders
//! each case both ways and compares.

use std::collections::HashMap;

use mfb_graph::Node;
use mfb_jinja::JinjaValue;
use mfb_jinja::macros::{INTERNAL_PACKAGE, MacroObject, MacroRegistry};
use serde_json::Value;

use crate::context::RefIndex;

/// The built-in generic tests this module writes.
const TESTS: [&str; 4] = ["unique", "not_null", "accepted_values", "relationships"];

/// Which (package, test) pairs may be written directly: decided once per invocation from
/// the macro registry.
#[derive(Debug, Default)]
pub struct BuiltinTests {
    /// Per package, per entry of [`TESTS`].
    allowed: HashMap<String, [bool; 4]>,
    /// `--store-failures` (what `flags.STORE_FAILURES` holds).
    store_failures_flag: bool,
}

fn is_internal(v: Option<&JinjaValue>, name: &str) -> bool {
    v.and_then(|v| v.downcast_object_ref::<MacroObject>())
        .is_some_and(|m| m.def().package == INTERNAL_PACKAGE && m.def().name == name)
}

/// True when, seen from `package`, test `test` renders with the built-in macros only.
fn renders_builtin(registry: &MacroRegistry, package: &str, test: &str) -> bool {
    // Names the invocation and the macros look up in the render's scope, where a macro of
    // the same name would win.
    let unshadowed = ["ref", "source", "config", "adapter", "flags", "return"]
        .iter()
        .all(|name| registry.lookup(package, name).is_none());
    let dispatched = |name: &str| {
        registry
            .dispatch(package, name, Some(INTERNAL_PACKAGE))
            .ok()
            .as_ref()
            .is_some_and(|v| is_internal(Some(v), &format!("default__{name}")))
    };
    let test_macro = format!("test_{test}");
    unshadowed
        && is_internal(registry.lookup(package, &test_macro), &test_macro)
        && dispatched(&test_macro)
        && is_internal(
            registry.lookup(package, "get_where_subquery"),
            "get_where_subquery",
        )
        && dispatched("get_where_subquery")
        && (test != "not_null"
            || is_internal(
                registry.lookup(package, "should_store_failures"),
                "should_store_failures",
            ))
}

/// A relation argument: `ref('m')`, `ref('pkg', 'm')` or `source('s', 't')`, rendered.
fn relation(index: &RefIndex, package: &str, call: &str) -> Option<String> {
    if call.contains('\\') {
        return None;
    }
    let c = crate::parse::DEP_CALL.captures(call)?;
    match (&c[1], c.get(3)) {
        ("ref", None) => index.find(package, None, &c[2], None),
        ("ref", Some(name)) => index.find(package, Some(&c[2]), name.as_str(), None),
        ("source", Some(table)) => {
            return index.source(&c[2], table.as_str()).map(|(_, r)| r.render());
        }
        _ => None,
    }
    .map(|t| t.relation.render())
}

/// A string argument passed as a literal (not evaluated as Jinja by the invocation).
fn literal(v: &Value) -> Option<&str> {
    let s = v.as_str()?;
    let t = s.trim();
    (!s.contains("{{") && !s.contains("{%") && !crate::tests_gen::looks_like_call(t)).then_some(s)
}

impl BuiltinTests {
    /// Decides, for every package of the project, which built-in tests render unchanged.
    pub fn new(registry: &MacroRegistry, packages: &[&str], store_failures_flag: bool) -> Self {
        let allowed = packages
            .iter()
            .map(|package| {
                (
                    (*package).to_owned(),
                    TESTS.map(|test| renders_builtin(registry, package, test)),
                )
            })
            .collect();
        BuiltinTests {
            allowed,
            store_failures_flag,
        }
    }

    /// The compiled SQL of `node`, when it is a built-in generic test written directly;
    /// None means: render it.
    pub fn render(&self, node: &Node, index: &RefIndex) -> Option<String> {
        let meta = node.test_metadata.as_ref()?;
        if meta.namespace.is_some() {
            return None;
        }
        let which = TESTS.iter().position(|t| *t == meta.name)?;
        if !self.allowed.get(node.package_name.as_str())?[which] {
            return None;
        }
        let test = TESTS[which];
        // `get_where_subquery`: the relation itself unless a `where` config is set.
        match node.config.get("where") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(_) => return None,
        }
        let store_failures = match node.config.get("store_failures") {
            None | Some(Value::Null) => self.store_failures_flag,
            Some(Value::Bool(b)) => *b,
            Some(_) => return None,
        };
        let kwargs = &meta.kwargs;
        let expected: &[&str] = match test {
            "accepted_values" => &["model", "column_name", "values", "quote"],
            "relationships" => &["model", "column_name", "to", "field"],
            _ => &["model", "column_name"],
        };
        if kwargs.keys().any(|k| !expected.contains(&k.as_str())) {
            return None;
        }
        let model_arg = kwargs.get("model")?.as_str()?.trim();
        let call = model_arg
            .strip_prefix("{{ get_where_subquery(")?
            .strip_suffix(") }}")?;
        let model = relation(index, &node.package_name, call)?;
        // The column is always passed as a string literal.
        let column = kwargs.get("column_name")?.as_str()?;
        Some(match test {
            "unique" => format!(
                "\nselect\n    {column} as unique_field,\n    count(*) as n_records\n\nfrom {model}\nwhere {column} is not null\ngroup by {column}\nhaving count(*) > 1\n"
            ),
            "not_null" => {
                let selected = if store_failures { "*" } else { column };
                format!("\n\nselect {selected}\nfrom {model}\nwhere {column} is null\n")
            }
            "accepted_values" => {
                let quote = match kwargs.get("quote") {
                    None => true,
                    Some(Value::Bool(b)) => *b,
                    Some(_) => return None,
                };
                let mut literals = Vec::new();
                for v in kwargs.get("values")?.as_array()? {
                    let text = match v {
                        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
                        Value::String(_) => literal(v)?.to_owned(),
                        _ => return None,
                    };
                    literals.push(if quote { format!("'{text}'") } else { text });
                }
                let literals = literals.join(",");
                format!(
                    "\n\nwith all_values as (\n\n    select\n        {column} as value_field,\n        count(*) as n_records\n\n    from {model}\n    group by {column}\n\n)\n\nselect *\nfrom all_values\nwhere value_field not in (\n    {literals}\n)\n"
                )
            }
            "relationships" => {
                let to_arg = kwargs.get("to")?.as_str()?.trim();
                if !crate::tests_gen::looks_like_call(to_arg) {
                    return None;
                }
                let to = relation(index, &node.package_name, to_arg)?;
                let field = literal(kwargs.get("field")?)?;
                format!(
                    "\n\nwith child as (\n    select {column} as from_field\n    from {model}\n    where {column} is not null\n),\n\nparent as (\n    select {field} as to_field\n    from {to}\n)\n\nselect\n    from_field\n\nfrom child\nleft join parent\n    on child.from_field = parent.to_field\n\nwhere parent.to_field is null\n"
                )
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::context::RefIndex;
    use crate::{Settings, load, parse};

    const SCHEMA: &str = r#"
version: 2
sources:
  - name: raw
    schema: raw_data
    tables:
      - name: events
        columns:
          - name: id
            data_tests: [unique, not_null]
models:
  - name: orders
    columns:
      - name: id
        data_tests:
          - unique
          - not_null
      - name: status
        data_tests:
          - accepted_values:
              arguments:
                values: ['a', 'b', "it's"]
          - accepted_values:
              values: [1, 2, -3]
              quote: false
          - accepted_values:
              values: [1, 2]
          - accepted_values:
              values: ['x']
              config:
                where: "id > 0"
      - name: customer_id
        data_tests:
          - not_null:
              config:
                store_failures: true
          - relationships:
              arguments:
                to: ref('customers')
                field: id
          - relationships:
              to: source('raw', 'events')
              field: id
  - name: customers
    columns:
      - name: id
        data_tests:
          - unique:
              config:
                where: "id is not null"
          - not_null:
              config:
                store_failures: false
"#;

    fn project(store_failures: bool) -> (tempfile::TempDir, crate::Parsed) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("dbt_project.yml"),
            "name: p\nversion: '1'\nprofile: p\n",
        )
        .unwrap();
        std::fs::write(
            root.join("profiles.yml"),
            "p:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: localhost\n      user: u\n      password: ''\n      port: 5432\n      dbname: db\n      schema: analytics\n      threads: 1\n",
        )
        .unwrap();
        std::fs::create_dir_all(root.join("models")).unwrap();
        std::fs::write(root.join("models/orders.sql"), "select 1 as id").unwrap();
        std::fs::write(root.join("models/customers.sql"), "select 1 as id").unwrap();
        std::fs::write(root.join("models/schema.yml"), SCHEMA).unwrap();
        let settings = Settings {
            project_dir: root.to_path_buf(),
            profiles_dir: Some(root.to_path_buf()),
            which: "compile".into(),
            store_failures,
            ..Settings::default()
        };
        let parsed = parse(load(settings).expect("loads")).expect("parses");
        (dir, parsed)
    }

    /// Every generic test of the fixture, written directly where allowed, equals its
    /// Jinja render; the `where` ones are left to Jinja.
    #[test]
    fn built_in_tests_match_their_macros() {
        for store_failures in [false, true] {
            let (_dir, parsed) = project(store_failures);
            let run = crate::compile::compile_context(&parsed);
            let index = Arc::new(RefIndex::build(&parsed.manifest));
            let builtin =
                super::BuiltinTests::new(parsed.loaded.runtime.registry(), &["p"], store_failures);
            let mut direct = 0;
            for node in parsed.manifest.nodes.values() {
                let Some(meta) = &node.test_metadata else {
                    continue;
                };
                let rendered = crate::compile::render_for_node(
                    &parsed,
                    &run,
                    &index,
                    node,
                    &parsed.invocations[&node.unique_id],
                    false,
                )
                .expect("renders");
                let has_where = node.config.get("where").is_some_and(|w| !w.is_null());
                match builtin.render(node, &index) {
                    Some(sql) => {
                        direct += 1;
                        assert_eq!(sql, rendered, "{}", node.unique_id);
                    }
                    None => assert!(has_where, "{} not written directly", meta.name),
                }
            }
            assert_eq!(direct, 11);
        }
    }

    /// A project macro overriding a test's implementation turns the direct path off.
    #[test]
    fn overridden_tests_are_rendered() {
        let (dir, _) = project(false);
        std::fs::create_dir_all(dir.path().join("macros")).unwrap();
        std::fs::write(
            dir.path().join("macros/t.sql"),
            "{% macro default__test_unique(model, column_name) %}select 1{% endmacro %}",
        )
        .unwrap();
        let settings = Settings {
            project_dir: dir.path().to_path_buf(),
            profiles_dir: Some(dir.path().to_path_buf()),
            which: "compile".into(),
            ..Settings::default()
        };
        let parsed = parse(load(settings).expect("loads")).expect("parses");
        let index = RefIndex::build(&parsed.manifest);
        let builtin = super::BuiltinTests::new(parsed.loaded.runtime.registry(), &["p"], false);
        let by_test = |name: &str| {
            parsed
                .manifest
                .nodes
                .values()
                .filter(|n| n.test_metadata.as_ref().is_some_and(|m| m.name == name))
                .map(|n| builtin.render(n, &index).is_some())
                .collect::<Vec<_>>()
        };
        assert!(by_test("unique").iter().all(|direct| !direct));
        assert!(by_test("not_null").iter().all(|direct| *direct));
    }
}
