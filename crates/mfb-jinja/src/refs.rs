//! `ref()`, `source()` and `config` for a node, in both phases.
//!
//! At parse time the calls are recorded (dependencies and in-file config) and `config.get`
//! answers `''` like dbt's parser; at compile/run time `ref`/`source` resolve through the
//! [`Resolver`] that `mfb-exec` supplies and `config.get` reads the node's final config.

use std::sync::{Arc, Mutex};

use indexmap::{IndexMap, IndexSet};
use minijinja::value::{Kwargs, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};

use crate::collections::to_mutable;
use crate::relation::Relation;

/// Resolves `ref()` and `source()` to relations.
pub trait Resolver: Send + Sync {
    /// `ref(name)`, `ref(package, name)`, with an optional version.
    fn resolve_ref(
        &self,
        package: Option<&str>,
        name: &str,
        version: Option<&str>,
    ) -> Result<Relation, String>;
    /// `source(source_name, table_name)`.
    fn resolve_source(&self, source: &str, table: &str) -> Result<Relation, String>;
}

/// A recorded `ref()` call.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordedRef {
    pub package: Option<String>,
    pub name: String,
    pub version: Option<String>,
}

/// What a render did: refs, sources, config calls and macros used.
#[derive(Debug, Default)]
pub struct Recorder {
    pub refs: Mutex<Vec<RecordedRef>>,
    pub sources: Mutex<Vec<[String; 2]>>,
    /// Each `config(...)` call's arguments, in call order.
    pub configs: Mutex<Vec<IndexMap<String, serde_json::Value>>>,
    pub macros: Mutex<IndexSet<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Recorder {
    /// The refs recorded, de-duplicated in call order.
    pub fn refs(&self) -> Vec<RecordedRef> {
        let mut seen = IndexSet::new();
        for r in lock(&self.refs).iter() {
            seen.insert(r.clone());
        }
        seen.into_iter().collect()
    }
    /// The sources recorded, de-duplicated in call order.
    pub fn sources(&self) -> Vec<[String; 2]> {
        let seen: IndexSet<[String; 2]> = lock(&self.sources).iter().cloned().collect();
        seen.into_iter().collect()
    }
    /// The config calls, in order.
    pub fn configs(&self) -> Vec<IndexMap<String, serde_json::Value>> {
        lock(&self.configs).clone()
    }
    /// The macros used (unique ids).
    pub fn macros(&self) -> IndexSet<String> {
        lock(&self.macros).clone()
    }
    /// Everything recorded, in the shape the static parser finds without rendering.
    pub fn record(&self) -> crate::static_parse::StaticRecord {
        crate::static_parse::StaticRecord {
            refs: self.refs(),
            sources: self.sources(),
            configs: self.configs(),
            macros: self.macros(),
        }
    }
}

fn arg_str(v: &Value, what: &str) -> Result<String, Error> {
    match v.as_str() {
        Some(s) => Ok(s.to_owned()),
        None if v.is_number() => Ok(v.to_string()),
        None => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("{what} must be a string, got {v}"),
        )),
    }
}

/// The `ref` function.
#[derive(Debug)]
pub struct RefFn {
    pub(crate) resolver: Arc<dyn Resolver>,
    pub(crate) recorder: Option<Arc<Recorder>>,
}

impl std::fmt::Debug for dyn Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<resolver>")
    }
}

impl Object for RefFn {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (positional, kwargs) = split_kwargs(args);
        let mut version = None;
        if let Some(kwargs) = &kwargs {
            for key in ["version", "v"] {
                if let Some(v) = kwargs.get::<Option<Value>>(key)? {
                    version = Some(v.to_string());
                }
            }
            kwargs.assert_all_used()?;
        }
        let (package, name) = match positional {
            [name] => (None, arg_str(name, "ref() name")?),
            [package, name] => (
                Some(arg_str(package, "ref() package")?),
                arg_str(name, "ref() name")?,
            ),
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!(
                        "ref() takes 1 or 2 arguments (name, or package and name), got {}",
                        positional.len()
                    ),
                ));
            }
        };
        if let Some(rec) = &self.recorder {
            lock(&rec.refs).push(RecordedRef {
                package: package.clone(),
                name: name.clone(),
                version: version.clone(),
            });
        }
        self.resolver
            .resolve_ref(package.as_deref(), &name, version.as_deref())
            .map(Relation::into_value)
            .map_err(|msg| Error::new(ErrorKind::InvalidOperation, msg))
    }
}

/// The `source` function.
#[derive(Debug)]
pub struct SourceFn {
    pub(crate) resolver: Arc<dyn Resolver>,
    pub(crate) recorder: Option<Arc<Recorder>>,
}

impl Object for SourceFn {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (positional, kwargs) = split_kwargs(args);
        if let Some(kwargs) = kwargs {
            kwargs.assert_all_used()?;
        }
        let [source, table] = positional else {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "source() takes 2 arguments (source name, table name), got {}",
                    positional.len()
                ),
            ));
        };
        let (source, table) = (
            arg_str(source, "source() name")?,
            arg_str(table, "source() table")?,
        );
        if let Some(rec) = &self.recorder {
            lock(&rec.sources).push([source.clone(), table.clone()]);
        }
        self.resolver
            .resolve_source(&source, &table)
            .map(Relation::into_value)
            .map_err(|msg| Error::new(ErrorKind::InvalidOperation, msg))
    }
}

pub(crate) fn split_kwargs(args: &[Value]) -> (&[Value], Option<Kwargs>) {
    match args.last().and_then(crate::collections::kwargs_of) {
        Some(kwargs) => (&args[..args.len() - 1], Some(kwargs)),
        None => (args, None),
    }
}

/// The `config` object: callable (records in-file config) with `get`, `require`, `set`.
#[derive(Debug)]
pub struct ConfigObject {
    /// The node's final config (None at parse time).
    pub(crate) resolved: Option<Arc<IndexMap<String, serde_json::Value>>>,
    pub(crate) recorder: Option<Arc<Recorder>>,
}

impl ConfigObject {
    fn record(&self, args: &[Value]) -> Result<Value, Error> {
        let (positional, kwargs) = split_kwargs(args);
        let mut map = IndexMap::new();
        for p in positional {
            let json = serde_json::to_value(p)
                .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
            match json {
                serde_json::Value::Object(obj) => map.extend(obj),
                _ => {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "config() takes keyword arguments or a dict",
                    ));
                }
            }
        }
        if let Some(kwargs) = kwargs {
            for key in kwargs.args() {
                let v: Value = kwargs.peek(key)?;
                let json = serde_json::to_value(&v)
                    .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
                map.insert(key.to_owned(), json);
            }
        }
        if let Some(rec) = &self.recorder
            && self.resolved.is_none()
        {
            lock(&rec.configs).push(map);
        }
        Ok(Value::from(""))
    }

    fn lookup(&self, key: &str) -> Option<Value> {
        let config = self.resolved.as_ref()?;
        let value = config.get(key).or_else(|| match key {
            "post_hook" => config.get("post-hook"),
            "pre_hook" => config.get("pre-hook"),
            _ => None,
        })?;
        Some(to_mutable(&crate::collections::from_serde(&value)))
    }
}

impl Object for ConfigObject {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        self.record(args)
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let (positional, kwargs) = split_kwargs(args);
        let name = positional
            .first()
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        let default = positional.get(1).cloned().or_else(|| {
            kwargs
                .as_ref()
                .and_then(|k| k.get::<Option<Value>>("default").ok().flatten())
        });
        match method {
            "get" => {
                let name = name.ok_or_else(|| {
                    Error::new(ErrorKind::InvalidOperation, "config.get() needs a name")
                })?;
                if self.resolved.is_none() {
                    return Ok(Value::from(""));
                }
                Ok(self
                    .lookup(&name)
                    .filter(|v| !v.is_none())
                    .or(default)
                    .unwrap_or(Value::from(())))
            }
            "require" => {
                let name = name.ok_or_else(|| {
                    Error::new(ErrorKind::InvalidOperation, "config.require() needs a name")
                })?;
                if self.resolved.is_none() {
                    return Ok(Value::from(""));
                }
                self.lookup(&name).ok_or_else(|| {
                    Error::new(ErrorKind::InvalidOperation, format!("required config `{name}` was not set; set it in config() or dbt_project.yml"))
                })
            }
            "set" => {
                let (Some(name), Some(value)) = (name, positional.get(1)) else {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "config.set() takes a name and a value",
                    ));
                };
                let json = serde_json::to_value(value)
                    .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
                if let (Some(rec), None) = (&self.recorder, &self.resolved) {
                    lock(&rec.configs).push(IndexMap::from([(name, json)]));
                }
                Ok(Value::from(""))
            }
            "persist_relation_docs" | "persist_column_docs" => {
                let docs = self.lookup("persist_docs");
                let key = if method == "persist_relation_docs" {
                    "relation"
                } else {
                    "columns"
                };
                Ok(Value::from(
                    docs.and_then(|d| d.get_attr(key).ok())
                        .is_some_and(|v| v.is_true()),
                ))
            }
            _ => Err(crate::collections::no_method("config", method)),
        }
    }
}
