//! The macro registry and callable macro values.
//!
//! Each macro is its own minijinja template (see `preprocess::split_macros`). Calling one
//! renders that template with the caller's scope, looks up the (mangled) macro and calls
//! it. `return(x)` inside a macro stores `x` in a per-thread slot and aborts the macro
//! with a sentinel error; the call below turns it back into a value. Name lookup follows
//! dbt: the node's own package, then the root project, then the built-in `dbt` package;
//! other packages are reached as `pkg.macro`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use minijinja::value::{Kwargs, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};

use crate::preprocess::MANGLE_PREFIX;
use crate::static_calls::StaticCall;

/// Name of the built-in package.
pub const INTERNAL_PACKAGE: &str = "dbt";

/// A macro known to the registry.
#[derive(Debug)]
pub struct MacroDef {
    /// Package that defines it.
    pub package: String,
    /// Its name (`test_unique` for `{% test unique %}`).
    pub name: String,
    /// The template it was compiled into.
    pub template: String,
    /// Path of the file, relative to its package root.
    pub path: String,
    /// 1-based line of the definition.
    pub line: u32,
    /// The original `{% macro %}...{% endmacro %}` text.
    pub sql: Arc<str>,
}

impl MacroDef {
    /// dbt's unique id: `macro.<package>.<name>`.
    pub fn unique_id(&self) -> String {
        format!("macro.{}.{}", self.package, self.name)
    }
}

/// All macros by package and name.
#[derive(Debug, Default)]
pub struct MacroRegistry {
    pub(crate) root: String,
    /// Macros by package, then name (foldhash: every macro call in a render looks up here).
    pub(crate) packages: foldhash::HashMap<String, foldhash::HashMap<String, Value>>,
    pub(crate) defs: Vec<Arc<MacroDef>>,
    /// `dispatch:` config: macro namespace -> search order.
    pub(crate) dispatch: HashMap<String, Vec<String>>,
}

impl MacroRegistry {
    pub(crate) fn insert(&mut self, def: MacroDef) -> Option<Arc<MacroDef>> {
        let def = Arc::new(def);
        let by_name = self.packages.entry(def.package.clone()).or_default();
        let previous = by_name
            .insert(
                def.name.clone(),
                Value::from_object(MacroObject { def: def.clone() }),
            )
            .and_then(|v| {
                v.downcast_object_ref::<MacroObject>()
                    .map(|m| m.def.clone())
            });
        self.defs.push(def);
        previous
    }

    /// The macro `name` as seen from a node of `package` (local, root, then built-in).
    pub fn lookup(&self, package: &str, name: &str) -> Option<&Value> {
        let get = |p: &str| self.packages.get(p).and_then(|m| m.get(name));
        if package != INTERNAL_PACKAGE
            && package != self.root
            && let Some(v) = get(package)
        {
            return Some(v);
        }
        get(&self.root).or_else(|| get(INTERNAL_PACKAGE))
    }

    /// The macro `name` of one package.
    pub fn lookup_in(&self, package: &str, name: &str) -> Option<&Value> {
        self.packages.get(package).and_then(|m| m.get(name))
    }

    /// True if a package of this name has macros (or is the root or built-in package).
    pub fn has_package(&self, package: &str) -> bool {
        self.packages.contains_key(package) || package == self.root
    }

    /// Every macro definition, in load order.
    pub fn defs(&self) -> &[Arc<MacroDef>] {
        &self.defs
    }

    /// All macro names visible from `package` (for "did you mean" hints).
    pub fn visible_names(&self, package: &str) -> Vec<&str> {
        [package, self.root.as_str(), INTERNAL_PACKAGE]
            .iter()
            .filter_map(|p| self.packages.get(*p))
            .flat_map(|m| m.keys().map(String::as_str))
            .collect()
    }

    /// The macros `def` calls, found statically in its source and resolved from its
    /// package, as dbt's `depends_on.macros` of a macro (dispatch calls resolve to the
    /// implementation for postgres). Calls to what is not a macro are left out.
    pub fn static_depends_on(&self, def: &MacroDef) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for call in crate::static_calls::extract(&def.sql) {
            let found = match &call {
                StaticCall::Plain(name) if *name == def.name => continue,
                StaticCall::Plain(name) => self.lookup(&def.package, name).cloned(),
                StaticCall::Qualified(pkg, name) => self.lookup(pkg, name).cloned(),
                StaticCall::Dispatch { name, namespace } => {
                    self.dispatch(&def.package, name, namespace.as_deref()).ok()
                }
            };
            let Some(found) = found else { continue };
            if let Some(m) = found.downcast_object_ref::<MacroObject>() {
                let id = m.def.unique_id();
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
        out
    }

    /// Resolves `adapter.dispatch(name, namespace)` like dbt: the search packages come from
    /// the project's `dispatch:` config, else `[root, namespace]` for a known package, and
    /// in each package `postgres__name` is tried before `default__name`.
    pub fn dispatch(
        &self,
        package: &str,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<Value, Error> {
        if name.contains('.') {
            let (ns, short) = name.rsplit_once('.').unwrap_or_default();
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "in adapter.dispatch, `{name}` is not a valid macro name (it contains a `.`); did you mean `adapter.dispatch('{short}', macro_namespace='{ns}')`?"
                ),
            ));
        }
        let search: Vec<Option<&str>> = match namespace {
            None => vec![None],
            Some(ns) => match self.dispatch.get(ns) {
                Some(order) => order.iter().map(|p| Some(p.as_str())).collect(),
                None if self.has_package(ns) || ns == INTERNAL_PACKAGE => {
                    vec![Some(self.root.as_str()), Some(ns)]
                }
                None => vec![None],
            },
        };
        let mut attempts = Vec::new();
        for pkg in &search {
            for prefix in ["postgres", "default"] {
                let candidate = format!("{prefix}__{name}");
                let found = match pkg {
                    None => self.lookup(package, &candidate),
                    Some(p) => self.lookup_in(p, &candidate),
                };
                if let Some(found) = found {
                    return Ok(found.clone());
                }
                attempts.push(match pkg {
                    None => format!("'{candidate}'"),
                    Some(p) => format!("'{p}.{candidate}'"),
                });
            }
        }
        Err(Error::new(
            ErrorKind::UnknownFunction,
            format!(
                "in dispatch: no macro named `{name}` found within namespace `{}`; searched for: {}",
                namespace.unwrap_or("None"),
                attempts.join(", ")
            ),
        ))
    }
}

/// How deeply macros may call each other (dbt stops at Python's recursion limit; each
/// level here uses a few minijinja frames, so the limit keeps well inside a thread's stack).
pub const MAX_MACRO_DEPTH: usize = 200;

thread_local! {
    /// One slot per macro call in progress on this thread; `return()` fills the top one.
    static RETURN_SLOTS: RefCell<Vec<Option<Value>>> = const { RefCell::new(Vec::new()) };
}

/// How many macro calls are in progress on this thread: 0 while a node's own template runs.
pub fn macro_depth() -> usize {
    RETURN_SLOTS.with(|s| s.borrow().len())
}

/// Message of the sentinel error that carries a `return()` out of a macro.
const RETURN_SENTINEL: &str = "return() called";

/// The `return(value)` function.
pub fn return_fn(value: Option<Value>) -> Result<Value, Error> {
    let stored = RETURN_SLOTS.with(|slots| {
        let mut slots = slots.borrow_mut();
        match slots.last_mut() {
            Some(slot) => {
                *slot = Some(value.unwrap_or(Value::from(())));
                true
            }
            None => false,
        }
    });
    if stored {
        Err(Error::new(ErrorKind::InvalidOperation, RETURN_SENTINEL))
    } else {
        Err(Error::new(
            ErrorKind::InvalidOperation,
            "return() can only be used inside a macro",
        ))
    }
}

/// A macro as a callable template value.
#[derive(Debug)]
pub struct MacroObject {
    pub(crate) def: Arc<MacroDef>,
}

impl MacroObject {
    /// The macro's definition.
    pub fn def(&self) -> &Arc<MacroDef> {
        &self.def
    }

    /// Renders the macro's template with the caller's scope and calls the macro, turning a
    /// `return()` into the call's value.
    fn invoke(&self, state: &State<'_, '_>, scope: &Value, args: &[Value]) -> Result<Value, Error> {
        if RETURN_SLOTS.with(|s| s.borrow().len()) >= MAX_MACRO_DEPTH {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "maximum recursion depth exceeded: macros nested more than {MAX_MACRO_DEPTH} deep (in `{}`)",
                    self.def.name
                ),
            ));
        }
        let template = state.env().get_template(&self.def.template)?;
        let mangled = format!("{MANGLE_PREFIX}{}", self.def.name);
        RETURN_SLOTS.with(|s| s.borrow_mut().push(None));
        let result = template
            .render_captured(scope.clone())
            .and_then(|mut captured| {
                captured.with_state_mut(|st| {
                    let m = st.lookup(&mangled).ok_or_else(|| {
                        Error::new(
                            ErrorKind::UnknownFunction,
                            format!("macro `{}` vanished", self.def.name),
                        )
                    })?;
                    match repack_extra_args(&m, args) {
                        Some(repacked) => m.call(st, &repacked),
                        None => m.call(st, args),
                    }
                })
            });
        let returned = RETURN_SLOTS.with(|s| s.borrow_mut().pop().flatten());
        match (result, returned) {
            (_, Some(v)) => Ok(v),
            (Ok(v), None) => Ok(v),
            // Wrap so the VM stamps this call site on the outer error; the inner one keeps
            // the location inside the macro.
            (Err(e), None) => Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("in macro `{}`", self.def.name),
            )
            .with_source(e)),
        }
    }
}

/// For a macro that takes `varargs`/`kwargs` (it has the hidden parameters, see
/// `preprocess::split_macros`): the call's arguments with the positional ones beyond its
/// declared parameters moved into `varargs` and unknown keyword ones into `kwargs`.
fn repack_extra_args(m: &Value, args: &[Value]) -> Option<Vec<Value>> {
    use crate::preprocess::{KWARGS_PARAM, VARARGS_PARAM};
    let names: Vec<String> = m
        .get_attr("arguments")
        .ok()?
        .try_iter()
        .ok()?
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    if !names.iter().any(|n| n == VARARGS_PARAM) {
        return None;
    }
    let declared: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| *n != VARARGS_PARAM && *n != KWARGS_PARAM)
        .collect();
    let (positional, keywords) = match args.last().and_then(crate::collections::kwargs_of) {
        Some(k) => (&args[..args.len() - 1], Some(k)),
        None => (args, None),
    };
    let taken = declared.len().min(positional.len());
    let mut out: Vec<Value> = positional[..taken].to_vec();
    let varargs: Vec<Value> = positional[taken..].to_vec();
    let mut known: Vec<(String, Value)> = Vec::new();
    let mut extra: std::collections::BTreeMap<String, Value> = std::collections::BTreeMap::new();
    if let Some(k) = keywords {
        for key in k.args() {
            let v = k.peek::<Value>(key).unwrap_or_default();
            if key == "caller" || declared.contains(&key) {
                known.push((key.to_owned(), v));
            } else {
                extra.insert(key.to_owned(), v);
            }
        }
    }
    known.push((
        VARARGS_PARAM.to_owned(),
        Value::from_object(crate::collections::Tuple(varargs)),
    ));
    known.push((
        KWARGS_PARAM.to_owned(),
        crate::collections::to_mutable(&Value::from(extra)),
    ));
    out.push(Value::from(known.into_iter().collect::<Kwargs>()));
    Some(out)
}

/// The result of a `{% call %}` block's body, rendered in the caller's state before the
/// macro runs (a caller cannot be invoked from another template's state).
#[derive(Debug)]
struct CallerBody(Value);

impl Object for CallerBody {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, _args: &[Value]) -> Result<Value, Error> {
        Ok(self.0.clone())
    }
}

/// A `caller` for the first of two passes: records the arguments the macro calls it with.
#[derive(Debug, Default)]
struct RecordingCaller(Mutex<Vec<Vec<Value>>>);

impl Object for RecordingCaller {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(args.to_vec());
        Ok(Value::from(""))
    }
}

/// A `caller` for the second pass: hands back, in order, the bodies rendered for the
/// recorded calls.
#[derive(Debug)]
struct ReplayCaller(Mutex<std::collections::VecDeque<Value>>);

impl Object for ReplayCaller {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, _args: &[Value]) -> Result<Value, Error> {
        Ok(self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
            .unwrap_or_default())
    }
}

/// The `caller` keyword argument of a call, if any.
fn caller_of(args: &[Value]) -> Option<Value> {
    let kwargs = args.last().and_then(crate::collections::kwargs_of)?;
    kwargs
        .peek::<Value>("caller")
        .ok()
        .filter(|c| !c.is_undefined())
}

/// The same arguments with another `caller`.
fn with_caller(args: &[Value], caller: Value) -> Vec<Value> {
    let mut args = args.to_vec();
    if let Some(kwargs) = args.last().and_then(crate::collections::kwargs_of) {
        let rebuilt: Kwargs = kwargs
            .args()
            .map(|k| {
                (
                    k.to_owned(),
                    if k == "caller" {
                        caller.clone()
                    } else {
                        kwargs.peek::<Value>(k).unwrap_or_default()
                    },
                )
            })
            .collect();
        let last = args.len() - 1;
        args[last] = Value::from(rebuilt);
    }
    args
}

impl Object for MacroObject {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "name" => Some(Value::from(self.def.name.as_str())),
            "package_name" => Some(Value::from(self.def.package.as_str())),
            _ => None,
        }
    }

    fn call(self: &Arc<Self>, state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let scope = state.lookup(crate::scope::SCOPE_KEY).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                "macro called outside of an mfb render",
            )
        })?;
        // dbt's `depends_on.macros` of a node lists the macros its own template calls
        // (depth 0), not the ones those macros call in turn.
        if macro_depth() == 0
            && let Some(scope) = scope.downcast_object_ref::<crate::scope::Scope>()
        {
            scope.record_macro(&self.def);
        }
        // A `{% call %}` body is a macro of the caller's template state and cannot run in
        // ours: render it here first. A body that takes arguments (`{% call(x) m() %}`)
        // needs the macro's arguments, so the macro runs twice: once recording what it
        // passes to caller(), then again with the bodies rendered for those arguments.
        let Some(caller) = caller_of(args) else {
            return self.invoke(state, &scope, args);
        };
        if caller.downcast_object_ref::<CallerBody>().is_some()
            || caller.downcast_object_ref::<ReplayCaller>().is_some()
        {
            return self.invoke(state, &scope, args);
        }
        let takes_args = caller
            .get_attr("arguments")
            .ok()
            .and_then(|a| a.len())
            .unwrap_or(0)
            > 0;
        if !takes_args {
            let body = Value::from_object(CallerBody(caller.call(state, &[])?));
            return self.invoke(state, &scope, &with_caller(args, body));
        }
        let recorder = Arc::new(RecordingCaller::default());
        self.invoke(
            state,
            &scope,
            &with_caller(args, Value::from_dyn_object(recorder.clone())),
        )?;
        let calls = std::mem::take(&mut *recorder.0.lock().unwrap_or_else(|e| e.into_inner()));
        let bodies = calls
            .iter()
            .map(|a| caller.call(state, a))
            .collect::<Result<_, _>>()?;
        let replay = Value::from_object(ReplayCaller(Mutex::new(bodies)));
        self.invoke(state, &scope, &with_caller(args, replay))
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<macro {}.{}>", self.def.package, self.def.name)
    }
}

/// `pkg.macro` access: the macros of one package.
#[derive(Debug)]
pub struct PackageNamespace {
    pub(crate) registry: Arc<MacroRegistry>,
    pub(crate) package: String,
}

impl Object for PackageNamespace {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        // Built-in namespace: `dbt.x` also finds root overrides of dispatched macros via
        // the macro itself; a plain lookup is what dbt does.
        self.registry.lookup_in(&self.package, name).cloned()
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<package {}>", self.package)
    }
}
