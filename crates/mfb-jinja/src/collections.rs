//! Mutable lists and dicts with Python's methods, and Python-style rendering.
//!
//! dbt macros build SQL with `{% do cols.append(c) %}`, `{% do d.update({...}) %}`,
//! `.pop()`, `.extend()`, `.insert()`, `.setdefault()`. minijinja's own sequences and maps
//! are immutable, so list/dict literals are rewritten (see `preprocess`) into these
//! objects, which mutate in place behind a mutex. They render like Python (`['a', 'b']`,
//! `{'k': 1}`) because dbt renders values with Python's `str()`.

use std::fmt::{self, Write};
use std::sync::{Arc, Mutex, MutexGuard};

use indexmap::IndexMap;
use minijinja::value::{Enumerator, Kwargs, Object, ObjectRepr, Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

/// A Python-like mutable list.
#[derive(Debug, Default)]
pub struct MutList(Mutex<Vec<Value>>);

/// A Python-like mutable dict (keeps insertion order).
#[derive(Debug, Default)]
pub struct MutDict(Mutex<IndexMap<Value, Value>>);

impl MutList {
    /// A new list value holding `items`.
    pub fn value(items: Vec<Value>) -> Value {
        Value::from_object(MutList(Mutex::new(items)))
    }

    fn items(&self) -> MutexGuard<'_, Vec<Value>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A snapshot of the items.
    pub fn to_vec(&self) -> Vec<Value> {
        self.items().clone()
    }
}

impl MutDict {
    /// A new dict value holding `entries`.
    pub fn value(entries: IndexMap<Value, Value>) -> Value {
        Value::from_object(MutDict(Mutex::new(entries)))
    }

    fn entries(&self) -> MutexGuard<'_, IndexMap<Value, Value>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn bad_args(method: &str, expected: &str) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("{method}() takes {expected}"),
    )
}

fn index(len: usize, i: &Value) -> Result<usize, Error> {
    let i = i64::try_from(i.clone())
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, "list index must be an integer"))?;
    let idx = if i < 0 { len as i64 + i } else { i };
    if idx < 0 || idx as usize >= len {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "list index out of range",
        ));
    }
    Ok(idx as usize)
}

impl Object for MutList {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let items = self.items();
        index(items.len(), key).ok().map(|i| items[i].clone())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.to_vec())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.items().len())
    }

    fn call_method(
        self: &Arc<Self>,
        state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let _ = state;
        let mut items = self.items();
        match (method, args) {
            ("append", [v]) => items.push(v.clone()),
            ("append", _) => return Err(bad_args("append", "exactly one argument")),
            ("extend", [v]) => {
                let more: Vec<Value> = v.try_iter()?.collect();
                items.extend(more);
            }
            ("insert", [i, v]) => {
                let i = i64::try_from(i.clone())?;
                let len = items.len() as i64;
                let at = if i < 0 { (len + i).max(0) } else { i.min(len) } as usize;
                items.insert(at, v.clone());
            }
            ("pop", []) => {
                return items
                    .pop()
                    .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "pop from empty list"));
            }
            ("pop", [i]) => {
                let at = index(items.len(), i)?;
                return Ok(items.remove(at));
            }
            ("remove", [v]) => {
                let at = items.iter().position(|x| x == v).ok_or_else(|| {
                    Error::new(ErrorKind::InvalidOperation, "list.remove(x): x not in list")
                })?;
                items.remove(at);
            }
            ("index", [v]) => {
                return items
                    .iter()
                    .position(|x| x == v)
                    .map(Value::from)
                    .ok_or_else(|| {
                        Error::new(ErrorKind::InvalidOperation, format!("{v} is not in list"))
                    });
            }
            ("count", [v]) => return Ok(Value::from(items.iter().filter(|x| *x == v).count())),
            ("reverse", []) => items.reverse(),
            ("clear", []) => items.clear(),
            ("copy", []) => return Ok(MutList::value(items.clone())),
            ("sort", _) => {
                let reverse = kwarg_bool(args, "reverse")?;
                items.sort();
                if reverse {
                    items.reverse();
                }
            }
            _ => return Err(Error::from(ErrorKind::UnknownMethod)),
        }
        Ok(Value::from(()))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&python_repr(&Value::from_dyn_object(self.clone())))
    }
}

fn kwarg_bool(args: &[Value], name: &str) -> Result<bool, Error> {
    match args.last().and_then(kwargs_of) {
        Some(kwargs) => Ok(kwargs.get::<Option<bool>>(name)?.unwrap_or(false)),
        None => Ok(false),
    }
}

impl Object for MutDict {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.entries().get(key).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.entries().keys().cloned().collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.entries().len())
    }

    fn call_method(
        self: &Arc<Self>,
        state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let _ = state;
        let mut entries = self.entries();
        match (method, args) {
            ("get", [k]) => Ok(entries.get(k).cloned().unwrap_or(Value::from(()))),
            ("get", [k, default]) => Ok(entries.get(k).cloned().unwrap_or_else(|| default.clone())),
            ("keys", []) => Ok(MutList::value(entries.keys().cloned().collect())),
            ("values", []) => Ok(MutList::value(entries.values().cloned().collect())),
            ("items", []) => Ok(MutList::value(
                entries
                    .iter()
                    .map(|(k, v)| Value::from(vec![k.clone(), v.clone()]))
                    .collect(),
            )),
            ("update", _) => {
                for arg in args {
                    if let Some(kwargs) = kwargs_of(arg) {
                        for key in kwargs.args() {
                            entries.insert(Value::from(key), kwargs.peek::<Value>(key)?);
                        }
                    } else if arg.kind() == ValueKind::Map {
                        for key in arg.try_iter()? {
                            let v = arg.get_item(&key)?;
                            entries.insert(key, v);
                        }
                    } else {
                        return Err(bad_args("update", "a dict or keyword arguments"));
                    }
                }
                Ok(Value::from(()))
            }
            ("pop", [k]) => entries.shift_remove(k).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!("KeyError: {}", python_repr(k)),
                )
            }),
            ("pop", [k, default]) => Ok(entries.shift_remove(k).unwrap_or_else(|| default.clone())),
            ("setdefault", [k]) => Ok(entries.entry(k.clone()).or_insert(Value::from(())).clone()),
            ("setdefault", [k, default]) => Ok(entries
                .entry(k.clone())
                .or_insert_with(|| default.clone())
                .clone()),
            ("clear", []) => {
                entries.clear();
                Ok(Value::from(()))
            }
            ("copy", []) => Ok(MutDict::value(entries.clone())),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&python_repr(&Value::from_dyn_object(self.clone())))
    }
}

/// A Python tuple (a macro's `varargs`): a sequence that renders as `(1, 2)` / `(1,)`.
#[derive(Debug)]
pub struct Tuple(pub Vec<Value>);

impl Object for Tuple {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let i = i64::try_from(key.clone()).ok()?;
        let len = self.0.len() as i64;
        let i = if i < 0 { i + len } else { i };
        usize::try_from(i).ok().and_then(|i| self.0.get(i)).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.len())
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&python_repr(&Value::from_dyn_object(self.clone())))
    }
}

/// Deep-copies a value into mutable lists and dicts (for values handed to templates that
/// users may mutate: `var()`, `config.get()`, `fromjson()`, ...). Other objects are kept.
pub fn to_mutable(value: &Value) -> Value {
    match value.kind() {
        ValueKind::Seq if !is_ours(value) => match value.try_iter() {
            Ok(iter) => MutList::value(iter.map(|v| to_mutable(&v)).collect()),
            Err(_) => value.clone(),
        },
        ValueKind::Map
            if value
                .as_object()
                .is_some_and(|o| o.repr() == ObjectRepr::Map)
                && !is_ours(value) =>
        {
            let mut map = IndexMap::new();
            if let Ok(iter) = value.try_iter() {
                for key in iter {
                    let v = value.get_item(&key).unwrap_or_default();
                    map.insert(key, to_mutable(&v));
                }
            }
            MutDict::value(map)
        }
        _ => value.clone(),
    }
}

fn is_ours(value: &Value) -> bool {
    value.downcast_object_ref::<MutList>().is_some()
        || value.downcast_object_ref::<MutDict>().is_some()
}

/// Renders a value the way Python's `str()` would (strings unquoted at the top level).
pub fn python_str(value: &Value) -> String {
    match value.kind() {
        ValueKind::String => value.as_str().unwrap_or_default().to_owned(),
        ValueKind::Undefined => String::new(),
        _ if value.as_object().is_some()
            && !matches!(value.kind(), ValueKind::Seq | ValueKind::Map) =>
        {
            value.to_string()
        }
        _ => python_repr(value),
    }
}

/// Renders a value the way Python's `repr()` would.
pub fn python_repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(value, &mut out);
    out
}

/// Python's `repr()` of a string, appended to `out`.
pub fn write_str_repr(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.reserve(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

fn write_repr(value: &Value, out: &mut String) {
    match value.kind() {
        ValueKind::None | ValueKind::Undefined => out.push_str("None"),
        ValueKind::Bool => out.push_str(if value.is_true() { "True" } else { "False" }),
        ValueKind::String => write_str_repr(value.as_str().unwrap_or_default(), out),
        ValueKind::Seq if value.downcast_object_ref::<Tuple>().is_some() => {
            let items: Vec<Value> = value.try_iter().map(Iterator::collect).unwrap_or_default();
            out.push('(');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(v, out);
            }
            if items.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        ValueKind::Seq | ValueKind::Iterable => {
            out.push('[');
            if let Ok(iter) = value.try_iter() {
                for (i, v) in iter.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_repr(&v, out);
                }
            }
            out.push(']');
        }
        ValueKind::Map
            if value
                .as_object()
                .is_some_and(|o| o.repr() == ObjectRepr::Map)
                && value
                    .downcast_object_ref::<crate::relation::Relation>()
                    .is_none() =>
        {
            out.push('{');
            if let Ok(iter) = value.try_iter() {
                for (i, k) in iter.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_repr(&k, out);
                    out.push_str(": ");
                    write_repr(&value.get_item(&k).unwrap_or_default(), out);
                }
            }
            out.push('}');
        }
        ValueKind::Number => {
            if let Some(f) = value
                .as_object()
                .is_none()
                .then(|| f64::try_from(value.clone()).ok())
                .flatten()
            {
                if value.is_integer() {
                    let _ = write!(out, "{value}");
                } else if f.fract() == 0.0 && f.is_finite() {
                    let _ = write!(out, "{f:.1}");
                } else {
                    let _ = write!(out, "{value}");
                }
            } else {
                let _ = write!(out, "{value}");
            }
        }
        _ => {
            let _ = write!(out, "{value}");
        }
    }
}

/// The `__mfb_list(...)` function the rewriter calls for `[...]` literals.
pub fn make_list(items: Value) -> Result<Value, Error> {
    Ok(MutList::value(items.try_iter()?.collect()))
}

/// The `__mfb_dict(...)` function the rewriter calls for `{...}` literals, and `dict()`.
pub fn make_dict(map: Value) -> Result<Value, Error> {
    let mut entries = IndexMap::new();
    for key in map.try_iter()? {
        let v = map.get_item(&key)?;
        entries.insert(key, v);
    }
    Ok(MutDict::value(entries))
}

/// The error for a method a template object does not have (`owner` names the object).
pub fn no_method(owner: &str, method: &str) -> Error {
    Error::new(
        ErrorKind::UnknownMethod,
        format!("{owner} has no method `{method}`"),
    )
}

/// Converts any serializable value into a template value.
pub fn from_serde<T: serde::Serialize>(value: &T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// The keyword arguments in a call's last argument, if it holds them.
pub fn kwargs_of(value: &Value) -> Option<Kwargs> {
    value.as_object()?;
    Kwargs::try_from(value.clone()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_repr_matches_python() {
        let v = crate::collections::from_serde(
            &serde_json::json!({"a": [1, "x", true, null, 1.5], "b": "it's"}),
        );
        assert_eq!(
            python_repr(&v),
            r#"{'a': [1, 'x', True, None, 1.5], 'b': "it's"}"#
        );
        assert_eq!(python_str(&Value::from("plain")), "plain");
    }
}
