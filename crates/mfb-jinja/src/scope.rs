//! The render context: one [`Scope`] object per render, backed by the per-invocation
//! [`RunContext`].
//!
//! A name in a template is looked up like dbt does: macros first (node's package, root
//! project, built-ins — so a project may override `ref`), then package namespaces
//! (`dbt_utils.x`), then the node's own values (`this`, `model`, `config`, `ref`, ...),
//! then invocation-wide values (`target`, `var`, `adapter`, `graph`, ...).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use indexmap::{IndexMap, IndexSet};
use minijinja::value::{Object, Value};

use crate::adapter::{AdapterObject, Warehouse};
use crate::macros::{INTERNAL_PACKAGE, MacroDef, MacroRegistry, PackageNamespace};
use crate::refs::Recorder;

/// Key under which a scope finds itself (macros use it to render with the caller's scope).
pub(crate) const SCOPE_KEY: &str = "__mfb_scope";

/// Where log lines, `print()` output and warnings from templates go.
pub trait LogSink: Send + Sync {
    /// `log(msg, info=...)`: `info` true means show on the console.
    fn log(&self, message: &str, info: bool);
    /// `exceptions.warn(msg)`.
    fn warn(&self, message: &str);
    /// `print(msg)`.
    fn print(&self, message: &str);
}

/// A sink that drops everything (parse-time default).
#[derive(Debug, Default)]
pub struct NullSink;

impl LogSink for NullSink {
    fn log(&self, _message: &str, _info: bool) {}
    fn warn(&self, _message: &str) {}
    fn print(&self, _message: &str) {}
}

/// Invocation-wide values shared by every render.
pub struct RunContext {
    pub(crate) registry: Arc<MacroRegistry>,
    /// Values every render sees (`target`, `flags`, `invocation_id`, `run_started_at`, ...).
    pub(crate) globals: foldhash::HashMap<String, Value>,
    /// Variables per package, already merged with `--vars` and root-project scoping.
    pub(crate) vars: HashMap<String, Arc<IndexMap<String, serde_json::Value>>>,
    /// `graph`, built once on first use.
    pub(crate) graph: OnceLock<Value>,
    pub(crate) graph_builder: Mutex<Option<Box<dyn FnOnce() -> Value + Send>>>,
    pub(crate) warehouse: Option<Arc<dyn Warehouse>>,
    pub(crate) sink: Arc<dyn LogSink>,
}

impl std::fmt::Debug for RunContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunContext")
            .field("globals", &self.globals.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl RunContext {
    /// Variables visible to nodes of `package`.
    pub fn vars_for(&self, package: &str) -> Arc<IndexMap<String, serde_json::Value>> {
        self.vars.get(package).cloned().unwrap_or_default()
    }

    /// The log sink.
    pub fn sink(&self) -> &Arc<dyn LogSink> {
        &self.sink
    }

    /// The warehouse connection, when the command has one.
    pub fn warehouse(&self) -> Option<&Arc<dyn Warehouse>> {
        self.warehouse.as_ref()
    }

    fn graph(&self) -> Value {
        self.graph
            .get_or_init(|| {
                let builder = self.graph_builder.lock().unwrap_or_else(|e| e.into_inner()).take();
                builder.map_or_else(|| crate::collections::from_serde(&serde_json::json!({"nodes": {}, "sources": {}, "exposures": {}, "macros": {}})), |b| b())
            })
            .clone()
    }
}

/// One render's context.
#[derive(Debug)]
pub struct Scope {
    pub(crate) run: Arc<RunContext>,
    pub(crate) package: String,
    /// The node's values: `this`, `model`, `config`, `ref`, `source`, `execute`, ...
    pub(crate) values: IndexMap<String, Value, crate::FastHash>,
    /// Values that win over macros of the same name (unit test overrides).
    pub(crate) overrides: IndexMap<String, Value, crate::FastHash>,
    /// Statement results for `store_result` / `load_result`.
    pub(crate) results: Mutex<HashMap<String, Value>>,
    /// Records `ref`/`source`/`config` calls and macros used.
    pub(crate) recorder: Option<Arc<Recorder>>,
    /// Human name of what is being rendered (`model.pkg.orders`), for errors.
    pub(crate) node: Option<String>,
    /// Set when the render reads `values` or `overrides` (see `NodeScope::watch`).
    pub(crate) watch: Option<Arc<AtomicBool>>,
}

impl Scope {
    /// Notes that the render read one of the node's own values.
    fn reads_node(&self) {
        if let Some(flag) = &self.watch {
            flag.store(true, Ordering::Relaxed);
        }
    }

    pub(crate) fn record_macro(&self, def: &MacroDef) {
        if let Some(rec) = &self.recorder {
            rec.macros
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(def.unique_id());
        }
    }

    /// The package whose macros are local to this render.
    pub fn package(&self) -> &str {
        &self.package
    }

    /// The invocation context.
    pub fn run(&self) -> &Arc<RunContext> {
        &self.run
    }
}

/// The values used while parsing or compiling nodes and which macros were used.
pub fn macros_used(recorder: &Recorder) -> IndexSet<String> {
    recorder
        .macros
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

impl Object for Scope {
    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        if key == SCOPE_KEY {
            return Some(Value::from_dyn_object(self.clone()));
        }
        if let Some(v) = self.overrides.get(key) {
            self.reads_node();
            return Some(v.clone());
        }
        let registry = &self.run.registry;
        if let Some(m) = registry.lookup(&self.package, key) {
            return Some(m.clone());
        }
        if let Some(v) = self.values.get(key) {
            self.reads_node();
            return Some(v.clone());
        }
        match key {
            "var" => {
                return Some(Value::from_object(crate::functions::VarFn {
                    vars: self.run.vars_for(&self.package),
                    node: self.node.clone(),
                }));
            }
            "graph" => return Some(self.run.graph()),
            "adapter" => {
                return Some(Value::from_object(AdapterObject {
                    run: self.run.clone(),
                    package: self.package.clone(),
                }));
            }
            "builtins" => {
                self.reads_node();
                let mut map = IndexMap::new();
                for k in ["ref", "source", "config"] {
                    if let Some(v) = self.values.get(k) {
                        map.insert(k.to_owned(), v.clone());
                    }
                }
                return Some(Value::from_pairs(map));
            }
            "context" => {
                self.reads_node();
                return Some(Value::from_dyn_object(self.clone()));
            }
            _ => {}
        }
        if let Some(v) = self.run.globals.get(key) {
            return Some(v.clone());
        }
        if registry.packages.contains_key(key) || key == INTERNAL_PACKAGE {
            return Some(Value::from_object(PackageNamespace {
                registry: registry.clone(),
                package: key.to_owned(),
            }));
        }
        None
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        key.as_str().and_then(|k| self.get_value_by_str(k))
    }
}
