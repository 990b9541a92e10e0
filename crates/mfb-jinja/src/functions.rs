//! Functions and filters of dbt's Jinja context that do not depend on a node:
//! `var`, `env_var`, `log`, `print`, `exceptions`, `modules`, `tojson`/`fromjson`,
//! `toyaml`/`fromyaml`, `zip`, `set`, `local_md5`, `return`, and the `as_*` filters.

use std::sync::Arc;

use indexmap::IndexMap;
use md5::{Digest, Md5};
use minijinja::value::{Kwargs, Object, ObjectRepr, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

use crate::collections::{MutList, make_dict, make_list, python_repr, python_str, to_mutable};
use crate::refs::split_kwargs;
use crate::scope::{SCOPE_KEY, Scope};

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn scope(state: &State<'_, '_>) -> Option<Value> {
    state.lookup(SCOPE_KEY)
}

fn with_scope<R>(state: &State<'_, '_>, f: impl FnOnce(&Scope) -> R) -> Option<R> {
    let v = scope(state)?;
    v.downcast_object_ref::<Scope>().map(f)
}

/// `var(name, default)`: project and package vars merged with `--vars`.
#[derive(Debug)]
pub struct VarFn {
    pub(crate) vars: Arc<IndexMap<String, serde_json::Value>>,
    pub(crate) node: Option<String>,
}

impl Object for VarFn {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (positional, kwargs) = split_kwargs(args);
        let name = positional
            .first()
            .and_then(|v| v.as_str())
            .ok_or_else(|| err("var() needs a variable name"))?;
        let default = positional
            .get(1)
            .cloned()
            .or_else(|| kwargs.and_then(|k| k.get::<Option<Value>>("default").ok().flatten()));
        match self.vars.get(name) {
            Some(v) => Ok(to_mutable(&crate::collections::from_serde(&v))),
            None => default.ok_or_else(|| {
                let mut names: Vec<&str> = self.vars.keys().map(String::as_str).collect();
                names.sort_unstable();
                err(format!(
                    "required var `{name}` not found (vars supplied to {}: {}); define it under `vars:` in dbt_project.yml, pass --vars '{{{name}: ...}}', or give var() a default",
                    self.node.as_deref().unwrap_or("this render"),
                    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
                ))
            }),
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match (method, args) {
            ("has_var", [name]) => Ok(Value::from(
                name.as_str().is_some_and(|n| self.vars.contains_key(n)),
            )),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// Prefix of environment variables whose values are never echoed.
pub const SECRET_ENV_PREFIX: &str = "DBT_ENV_SECRET_";

fn env_var(name: String, default: Option<Value>) -> Result<Value, Error> {
    match std::env::var(&name) {
        Ok(v) => Ok(Value::from(v)),
        Err(_) => match default {
            Some(d) if d.is_none() => Ok(Value::from(())),
            Some(d) => Ok(Value::from(python_str(&d))),
            None => Err(err(format!(
                "env var required but not provided: `{name}`; export {name}=... before running, or give env_var() a default: env_var('{name}', 'value')"
            ))),
        },
    }
}

fn log(state: &State, msg: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let info = kwargs.get::<Option<bool>>("info")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    with_scope(state, |s| s.run.sink.log(&python_str(&msg), info));
    Ok(Value::from(""))
}

fn print_fn(state: &State, msg: Value) -> Value {
    with_scope(state, |s| s.run.sink.print(&python_str(&msg)));
    Value::from("")
}

/// `exceptions.*`.
#[derive(Debug)]
struct Exceptions;

impl Object for Exceptions {
    fn call_method(
        self: &Arc<Self>,
        state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let msg = args.first().map(python_str).unwrap_or_default();
        match method {
            "raise_compiler_error" => Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("compilation error: {msg}"),
            )),
            "raise_not_implemented" => Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("not implemented: {msg}"),
            )),
            "raise_database_error" => Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("database error: {msg}"),
            )),
            "raise_fail_fast_error" => Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("fail fast: {msg}"),
            )),
            "warn" => {
                with_scope(state, |s| s.run.sink.warn(&msg));
                Ok(Value::from(""))
            }
            _ => Err(crate::collections::no_method("exceptions", method)),
        }
    }
}

fn tojson(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false);
    let _: Option<Value> = kwargs.get("indent")?;
    kwargs.assert_all_used()?;
    let mut json = serde_json::to_value(&value).map_err(|e| err(e.to_string()))?;
    if sort_keys {
        sort_json(&mut json);
    }
    Ok(Value::from(python_json(&json)))
}

fn sort_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            map.sort_keys();
            map.values_mut().for_each(sort_json);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(sort_json),
        _ => {}
    }
}

/// JSON the way Python's `json.dumps` writes it (`, ` and `: ` separators).
fn python_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_json).collect::<Vec<_>>().join(", ")
        ),
        serde_json::Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!(
                    "{}: {}",
                    serde_json::Value::String(k.clone()),
                    python_json(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

fn fromjson(s: String, default: Option<Value>) -> Result<Value, Error> {
    match serde_json::from_str::<serde_json::Value>(&s) {
        Ok(v) => Ok(to_mutable(&crate::collections::from_serde(&v))),
        Err(e) => default.ok_or_else(|| err(format!("fromjson: invalid JSON: {e}"))),
    }
}

fn toyaml(value: Value) -> Result<Value, Error> {
    let json = serde_json::to_value(&value).map_err(|e| err(e.to_string()))?;
    serde_yaml::to_string(&json)
        .map(Value::from)
        .map_err(|e| err(e.to_string()))
}

fn fromyaml(s: String, default: Option<Value>) -> Result<Value, Error> {
    match serde_yaml::from_str::<serde_json::Value>(&s) {
        Ok(v) => Ok(to_mutable(&crate::collections::from_serde(&v))),
        Err(e) => default.ok_or_else(|| err(format!("fromyaml: invalid YAML: {e}"))),
    }
}

fn zip(args: Rest<Value>) -> Result<Value, Error> {
    let lists: Vec<Vec<Value>> = args
        .iter()
        .map(|a| a.try_iter().map(Iterator::collect))
        .collect::<Result<_, _>>()?;
    let n = lists.iter().map(Vec::len).min().unwrap_or(0);
    Ok(MutList::value(
        (0..n)
            .map(|i| Value::from(lists.iter().map(|l| l[i].clone()).collect::<Vec<_>>()))
            .collect(),
    ))
}

fn set_fn(value: Value, default: Option<Value>) -> Result<Value, Error> {
    match value.try_iter() {
        Ok(iter) => {
            let mut seen = indexmap::IndexSet::new();
            for v in iter {
                seen.insert(v);
            }
            Ok(MutList::value(seen.into_iter().collect()))
        }
        Err(e) => default.ok_or(e),
    }
}

fn local_md5(s: String) -> Value {
    Value::from(format!("{:x}", Md5::digest(s.as_bytes())))
}

fn store_result(state: &State, name: String, kwargs: Kwargs) -> Result<Value, Error> {
    let response: Option<Value> = kwargs.get("response")?;
    let table: Option<Value> = kwargs.get("agate_table")?;
    kwargs.assert_all_used()?;
    let table = table.unwrap_or(Value::from(()));
    let data = if table.is_none() {
        Value::from(())
    } else {
        table.get_attr("rows").unwrap_or_default()
    };
    let result = Value::from_pairs([
        ("response", response.unwrap_or(Value::from(()))),
        ("table", table),
        ("data", data),
    ]);
    with_scope(state, |s| {
        s.results
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, result)
    });
    Ok(Value::from(""))
}

fn load_result(state: &State, name: String) -> Value {
    with_scope(state, |s| {
        s.results
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&name)
            .cloned()
    })
    .flatten()
    .unwrap_or(Value::from(()))
}

fn dict_fn(args: Rest<Value>) -> Result<Value, Error> {
    let (positional, kwargs) = split_kwargs(&args);
    let mut map = match positional.first() {
        Some(v) if v.kind() == ValueKind::Map => make_dict(v.clone())?,
        Some(v) => {
            let mut entries = IndexMap::new();
            for pair in v.try_iter()? {
                entries.insert(pair.get_item_by_index(0)?, pair.get_item_by_index(1)?);
            }
            crate::collections::MutDict::value(entries)
        }
        None => make_dict(Value::from_pairs(Vec::<(String, Value)>::new()))?,
    };
    if let Some(kwargs) = kwargs {
        let extra: IndexMap<String, Value> = kwargs
            .args()
            .map(|k| (k.to_owned(), kwargs.peek(k).unwrap_or_default()))
            .collect();
        let merged = make_dict(map.clone())?;
        let mut entries: IndexMap<Value, Value> = IndexMap::new();
        for key in merged.try_iter()? {
            entries.insert(key.clone(), merged.get_item(&key)?);
        }
        for (k, v) in extra {
            entries.insert(Value::from(k), v);
        }
        map = crate::collections::MutDict::value(entries);
    }
    Ok(map)
}

fn list_fn(value: Option<Value>) -> Result<Value, Error> {
    match value {
        None => Ok(MutList::value(Vec::new())),
        Some(v) if v.kind() == ValueKind::String => Ok(MutList::value(
            v.as_str()
                .unwrap_or_default()
                .chars()
                .map(Value::from)
                .collect(),
        )),
        Some(v) => make_list(v),
    }
}

fn as_bool(v: Value) -> Value {
    match v.as_str() {
        Some(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Value::from(true),
            "false" => Value::from(false),
            _ => v,
        },
        None => v,
    }
}

fn as_number(v: Value) -> Value {
    match v.as_str() {
        Some(s) => s
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| s.trim().parse::<f64>().map(Value::from))
            .unwrap_or(v),
        None => v,
    }
}

fn as_text(v: Value) -> Value {
    Value::from(python_str(&v))
}

/// Registers every node-independent function and filter on the environment.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_function("__mfb_list", make_list);
    env.add_function("__mfb_dict", make_dict);
    env.add_function("return", crate::macros::return_fn);
    env.add_function("env_var", env_var);
    env.add_function("log", log);
    env.add_function("print", print_fn);
    env.add_function("tojson", tojson);
    env.add_function("fromjson", fromjson);
    env.add_function("toyaml", toyaml);
    env.add_function("fromyaml", fromyaml);
    env.add_function("zip", zip);
    env.add_function("zip_strict", zip);
    env.add_function("set", set_fn);
    env.add_function("set_strict", |v: Value| set_fn(v, None));
    env.add_function("local_md5", local_md5);
    env.add_function("store_result", store_result);
    env.add_function("load_result", load_result);
    env.add_function("dict", dict_fn);
    env.add_function("list", list_fn);
    env.add_function("try_or_compiler_error", |_m: Value, f: Value| f);
    env.add_global("exceptions", Value::from_object(Exceptions));
    env.add_global("modules", Value::from_object(crate::modules::Modules));
    env.add_global(
        "api",
        Value::from_pairs([("Relation", Value::from_object(crate::relation::RelationApi))]),
    );
    // dbt's relations are Python Mappings: packages check `relation is mapping` (dbt_utils'
    // `_is_relation`), so a Relation passes the test as well as a dict does.
    env.add_test("mapping", |v: Value| {
        v.kind() == minijinja::value::ValueKind::Map
            || v.downcast_object_ref::<crate::relation::Relation>()
                .is_some()
    });
    env.add_filter("as_bool", as_bool);
    env.add_filter("as_number", as_number);
    env.add_filter("as_text", as_text);
    env.add_filter("as_native", |v: Value| v);
    // Jinja2's `tojson` filter sorts keys (dbt's `tojson()` function does not).
    env.add_filter("tojson", |v: Value, kwargs: Kwargs| {
        let _: Option<Value> = kwargs.get("indent")?;
        kwargs.assert_all_used()?;
        let mut json = serde_json::to_value(&v).map_err(|e| err(e.to_string()))?;
        sort_json(&mut json);
        Ok::<Value, Error>(Value::from(python_json(&json)))
    });
    env.add_filter("fromjson", fromjson);
    env.add_filter("string", as_text);
    env.add_filter("list", |v: Value| list_fn(Some(v)));
    env.add_filter("pprint", |v: Value| Value::from(python_repr(&v)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_json_uses_python_separators() {
        let v = serde_json::json!({"a": [1, 2], "b": "x"});
        assert_eq!(python_json(&v), r#"{"a": [1, 2], "b": "x"}"#);
    }

    #[test]
    fn md5_is_hex() {
        assert_eq!(
            local_md5("abc".into()).as_str(),
            Some("900150983cd24fb0d6963f7d28e17f72")
        );
    }
}
