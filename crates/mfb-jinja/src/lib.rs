//! The dbt-flavoured Jinja runtime, on minijinja.
//!
//! [`Runtime`] holds every macro of the project, its packages and the built-in `dbt`
//! package (our own macros under `builtins/`), each compiled once. A render gets a
//! [`NodeScope`] (the node's `this`, `model`, `config`, `ref`, `source`, ...) on top of a
//! [`RunContext`] shared by the invocation (`target`, `var`, `adapter`, `graph`, ...).
//! See `preprocess` for how dbt's dialect (mutable literals, `{% test %}`, `return()`) is
//! mapped onto minijinja, and `macros` for name resolution and `adapter.dispatch`.

pub mod adapter;
pub mod collections;
pub mod error;
mod functions;
pub mod macros;
mod modules;
pub mod preprocess;
pub mod refs;
pub mod relation;
pub mod scope;
pub mod static_calls;
pub mod static_parse;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use indexmap::IndexMap;
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

pub use adapter::{ColumnDesc, Response, ResultTable, Warehouse};
pub use error::JinjaError;
pub use functions::SECRET_ENV_PREFIX;
pub use macros::{INTERNAL_PACKAGE, MacroDef, MacroRegistry};
pub use minijinja::value::Value as JinjaValue;
/// minijinja's object traits, for values other crates hand to templates.
pub mod object {
    pub use minijinja::value::{Enumerator, Object, ObjectRepr};
    pub use minijinja::{Error, ErrorKind, State};
}
pub use modules::PyDateTime;
pub use refs::{ConfigObject, RecordedRef, Recorder, Resolver};
pub use relation::Relation;
pub use scope::{LogSink, NullSink, RunContext};

/// One macro file of a package.
#[derive(Debug, Clone)]
pub struct MacroFile {
    /// Package name.
    pub package: String,
    /// Path relative to the package root (`macros/utils.sql`).
    pub path: String,
    /// Path shown in errors (relative to the project root: `dbt_packages/x/macros/a.sql`).
    pub display_path: String,
    /// File contents.
    pub source: Arc<str>,
}

/// The built-in `dbt` package's macro files, embedded at build time.
pub fn builtin_macro_files() -> Vec<MacroFile> {
    BUILTINS
        .iter()
        .map(|(path, source)| MacroFile {
            package: INTERNAL_PACKAGE.to_owned(),
            path: (*path).to_owned(),
            display_path: format!("<mfb builtins>/{path}"),
            source: Arc::from(*source),
        })
        .collect()
}

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

/// The hasher of the maps every render reads (context values, macros): foldhash, which
/// hashes short strings several times faster than the standard library's SipHash.
pub type FastHash = foldhash::fast::RandomState;

/// The compiled macros and the minijinja environment.
pub struct Runtime {
    env: Environment<'static>,
    registry: Arc<MacroRegistry>,
    sources: error::Sources,
    /// Whether some macro reads `model` from its context (see [`Runtime::may_read_model`]).
    macros_read_model: std::sync::OnceLock<bool>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("macros", &self.registry.defs().len())
            .finish()
    }
}

/// Values shared by every render of one invocation.
#[derive(Default)]
pub struct RunOptions {
    /// Values every render sees: `target`, `flags`, `invocation_id`, `run_started_at`,
    /// `project_name`, `dbt_version`, ...
    pub globals: HashMap<String, Value>,
    /// Variables visible per package (already merged with `--vars`).
    pub vars: HashMap<String, Arc<IndexMap<String, serde_json::Value>>>,
    /// Builds `graph` on first use.
    pub graph: Option<Box<dyn FnOnce() -> Value + Send>>,
    /// Database access, when the command has a connection.
    pub warehouse: Option<Arc<dyn Warehouse>>,
    /// Where `log()`/`print()`/warnings go.
    pub sink: Option<Arc<dyn LogSink>>,
}

/// The node-specific part of a render.
#[derive(Debug, Default)]
pub struct NodeScope {
    package: String,
    node: Option<String>,
    values: IndexMap<String, Value, FastHash>,
    overrides: IndexMap<String, Value, FastHash>,
    recorder: Option<Arc<Recorder>>,
    watch: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl NodeScope {
    /// A scope for a render in `package` (whose macros are local), describing `node` in errors.
    pub fn new(package: &str, node: Option<&str>) -> Self {
        NodeScope {
            package: package.to_owned(),
            node: node.map(str::to_owned),
            ..NodeScope::default()
        }
    }

    /// Sets a context value (`this`, `model`, `execute`, `is_incremental`, ...).
    pub fn set(mut self, key: &str, value: Value) -> Self {
        self.values.insert(key.to_owned(), value);
        self
    }

    /// Sets a value found before any macro of that name (a unit test's `overrides.macros`).
    pub fn set_over_macros(mut self, key: &str, value: Value) -> Self {
        self.overrides.insert(key.to_owned(), value);
        self
    }

    /// Records `ref`/`source`/`config()` calls and macros used into `recorder`.
    pub fn record(mut self, recorder: Arc<Recorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Sets `flag` when the render reads any of this scope's own values (`set`,
    /// `set_over_macros`, `ref`, `source`, `config`, or all of them through `context` or
    /// `builtins`). A render that leaves it unset outputs what it would for any node of
    /// the same package whose scope has the same names.
    pub fn watch(mut self, flag: Arc<std::sync::atomic::AtomicBool>) -> Self {
        self.watch = Some(flag);
        self
    }

    /// Adds `ref` and `source` resolving through `resolver`.
    pub fn resolve_with(mut self, resolver: Arc<dyn Resolver>) -> Self {
        let rec = self.recorder.clone();
        self.values.insert(
            "ref".into(),
            Value::from_object(refs::RefFn {
                resolver: resolver.clone(),
                recorder: rec.clone(),
            }),
        );
        self.values.insert(
            "source".into(),
            Value::from_object(refs::SourceFn {
                resolver,
                recorder: rec,
            }),
        );
        self
    }

    /// Adds `config`: recording at parse time (`None`), reading the final config otherwise.
    pub fn config(mut self, resolved: Option<Arc<IndexMap<String, serde_json::Value>>>) -> Self {
        let obj = refs::ConfigObject {
            resolved,
            recorder: self.recorder.clone(),
        };
        self.values.insert("config".into(), Value::from_object(obj));
        self
    }
}

/// Whether `source` needs Jinja at all: dbt copies a string without `{{`, `{%`, `{#`,
/// `}}`, `%}` or `#}` as it is (keeping its final newline, which a render drops).
pub fn has_render_chars(source: &str) -> bool {
    let bytes = source.as_bytes();
    bytes
        .windows(2)
        .any(|w| matches!(w, [b'{', b'{' | b'%' | b'#'] | [b'#' | b'}' | b'%', b'}']))
}

impl Runtime {
    /// Compiles every macro of `files` (the built-in package should be among them; see
    /// [`builtin_macro_files`]). Returns the runtime and the errors of files that could not
    /// be compiled (their macros are left out).
    pub fn new(
        root_package: &str,
        dispatch: HashMap<String, Vec<String>>,
        files: &[MacroFile],
    ) -> (Runtime, Vec<JinjaError>) {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_recursion_limit(1000);
        env.set_formatter(|out, _state, value| {
            write!(out, "{}", collections::python_str(value))
                .map_err(|_| minijinja::Error::from(minijinja::ErrorKind::WriteFailure))
        });
        env.set_unknown_method_callback(|state, value, method, args| {
            use minijinja::value::ValueKind;
            if method == "__mfb_copy" {
                return match value.kind() {
                    ValueKind::Seq | ValueKind::Iterable => collections::make_list(value.clone()),
                    _ => Ok(value.clone()),
                };
            }
            if matches!(value.kind(), ValueKind::Seq | ValueKind::Map | ValueKind::Iterable)
                && ["append", "extend", "insert", "pop", "remove", "update", "setdefault", "clear", "sort", "reverse"].contains(&method)
            {
                return Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("cannot {method}() {}: it was not built with [] or {{}}; copy it first, e.g. {{% set xs = [] %}}{{% do xs.extend(value) %}}", kind_name(value)),
                ));
            }
            // Python's methods give mutable lists (`'a,b'.split(',')` can be appended to).
            minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
                .map(|v| if matches!(v.kind(), ValueKind::Seq) { collections::to_mutable(&v) } else { v })
                .map_err(|e| {
                    if e.kind() == minijinja::ErrorKind::UnknownMethod {
                        minijinja::Error::new(
                            minijinja::ErrorKind::UnknownMethod,
                            format!("{} has no method named `{method}`", kind_name(value)),
                        )
                    } else {
                        e
                    }
                })
        });
        functions::register(&mut env);

        let mut registry = MacroRegistry {
            root: root_package.to_owned(),
            dispatch,
            ..MacroRegistry::default()
        };
        let mut sources = error::Sources::new();
        let mut errors = Vec::new();
        for file in files {
            sources.insert(file.display_path.clone(), file.source.clone());
            let blocks = match preprocess::split_macros(&file.source) {
                Ok(b) => b,
                Err(e) => {
                    errors.push(JinjaError {
                        code: "jinja-syntax",
                        message: e.message,
                        location: Some(mfb_diagnostics::Location::new(
                            &file.display_path,
                            e.line,
                            0,
                        )),
                        source_line: file
                            .source
                            .lines()
                            .nth(e.line as usize - 1)
                            .map(str::to_owned),
                        node: None,
                        called_from: Vec::new(),
                        help: Some("close every {% macro %} with {% endmacro %}".to_owned()),
                    });
                    continue;
                }
            };
            for block in blocks {
                let template = format!("{}#{}", file.display_path, block.name);
                if let Err(e) = env.add_template_owned(template.clone(), block.template) {
                    errors.push(JinjaError::from_minijinja(&e, &sources, None, None));
                    continue;
                }
                registry.insert(MacroDef {
                    package: file.package.clone(),
                    name: block.name,
                    template,
                    path: file.path.clone(),
                    line: block.line,
                    sql: Arc::from(block.original),
                });
            }
        }
        (
            Runtime {
                env,
                registry: Arc::new(registry),
                sources,
                macros_read_model: std::sync::OnceLock::new(),
            },
            errors,
        )
    }

    /// The macro registry.
    pub fn registry(&self) -> &Arc<MacroRegistry> {
        &self.registry
    }

    /// Whether rendering `source` may read the `model` variable, directly or through any
    /// macro it could call. When it cannot, a node's render can leave `model` out of its
    /// context and spare building it (a copy of the whole node).
    pub fn may_read_model(&self, source: &str) -> bool {
        *self.macros_read_model.get_or_init(|| {
            self.registry
                .defs()
                .iter()
                .any(|d| static_calls::reads_variable(&d.sql, "model"))
        }) || static_calls::reads_variable(source, "model")
    }

    /// A static parser for this invocation: scans every macro once (see
    /// [`static_parse`]).
    pub fn static_parser(&self, run: &Arc<RunContext>) -> static_parse::StaticParser {
        static_parse::StaticParser::new(self.registry.clone(), run.clone())
    }

    /// Creates the invocation context.
    pub fn run_context(&self, options: RunOptions) -> Arc<RunContext> {
        Arc::new(RunContext {
            registry: self.registry.clone(),
            globals: options.globals.into_iter().collect(),
            vars: options.vars,
            graph: OnceLock::new(),
            graph_builder: Mutex::new(options.graph),
            warehouse: options.warehouse,
            sink: options.sink.unwrap_or_else(|| Arc::new(NullSink)),
        })
    }

    fn scope(run: &Arc<RunContext>, node: NodeScope) -> Value {
        Value::from_object(scope::Scope {
            run: run.clone(),
            package: node.package,
            values: node.values,
            overrides: node.overrides,
            results: Mutex::new(HashMap::new()),
            recorder: node.recorder,
            node: node.node,
            watch: node.watch,
        })
    }

    /// Renders `source` (a model, test, hook or any Jinja string) named `name` (its
    /// project-relative path, used in errors).
    pub fn render(
        &self,
        run: &Arc<RunContext>,
        name: &str,
        source: &str,
        node: NodeScope,
    ) -> Result<String, JinjaError> {
        let node_name = node.node.clone();
        if !has_render_chars(source) {
            return Ok(source.to_owned());
        }
        let rewritten = preprocess::rewrite_template(source);
        let ctx = Self::scope(run, node);
        self.env
            .render_named_str(name, &rewritten, ctx)
            .map_err(|e| {
                JinjaError::from_minijinja(
                    &e,
                    &self.sources,
                    Some((name, source)),
                    node_name.as_deref(),
                )
            })
    }

    /// Calls a macro by name as seen from `node`'s package (or of `package` explicitly),
    /// returning its value (a `return()` value, or the rendered text).
    pub fn call_macro(
        &self,
        run: &Arc<RunContext>,
        node: NodeScope,
        package: Option<&str>,
        name: &str,
        args: &[Value],
    ) -> Result<Value, JinjaError> {
        let node_name = node.node.clone();
        let found = match package {
            Some(p) => self.registry.lookup_in(p, name),
            None => self.registry.lookup(&node.package, name),
        }
        .cloned();
        let Some(mac) = found else {
            let names = self.registry.visible_names(&node.package);
            let hint = mfb_diagnostics::closest(name, names.iter().copied());
            return Err(JinjaError {
                code: "unknown-macro",
                message: format!(
                    "no macro named `{name}`{}",
                    package
                        .map(|p| format!(" in package `{p}`"))
                        .unwrap_or_default()
                ),
                location: None,
                source_line: None,
                node: node_name,
                called_from: Vec::new(),
                help: Some(match hint {
                    Some(h) => format!("did you mean `{h}`?"),
                    None => "define it in a .sql file under macro-paths".to_owned(),
                }),
            });
        };
        let ctx = Self::scope(run, node);
        let template = self
            .env
            .template_from_str("")
            .map_err(|e| JinjaError::from_minijinja(&e, &self.sources, None, None))?;
        let result = template
            .render_captured(ctx)
            .and_then(|mut cap| cap.with_state_mut(|st| mac.call(st, args)));
        result
            .map_err(|e| JinjaError::from_minijinja(&e, &self.sources, None, node_name.as_deref()))
    }
}

fn kind_name(v: &Value) -> &'static str {
    use minijinja::value::ValueKind;
    match v.kind() {
        ValueKind::String => "a string",
        ValueKind::Seq | ValueKind::Iterable => "a read-only list",
        ValueKind::Map => "a read-only dict",
        ValueKind::None => "None",
        ValueKind::Undefined => "an undefined value",
        ValueKind::Number => "a number",
        ValueKind::Bool => "a boolean",
        _ => "this value",
    }
}
