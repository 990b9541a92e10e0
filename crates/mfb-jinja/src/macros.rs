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
use std::sync::Arc;

use minijinja::value::{Kwargs, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};

use crate::preprocess::MANGLE_PREFIX;

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
    pub(crate) packages: HashMap<String, HashMap<String, Value>>,
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

thread_local! {
    /// One slot per macro call in progress on this thread; `return()` fills the top one.
    static RETURN_SLOTS: RefCell<Vec<Option<Value>>> = const { RefCell::new(Vec::new()) };
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

/// Replaces a `caller` keyword argument by its rendered body.
fn eager_caller(state: &mut State<'_, '_>, args: &[Value]) -> Result<Vec<Value>, Error> {
    let mut args = args.to_vec();
    if let Some(kwargs) = args.last().and_then(crate::collections::kwargs_of)
        && kwargs.has("caller")
    {
        let caller: Value = kwargs.peek("caller")?;
        let body = if caller.downcast_object_ref::<CallerBody>().is_some() {
            caller
        } else {
            Value::from_object(CallerBody(caller.call(state, &[])?))
        };
        let rebuilt: Kwargs = kwargs
            .args()
            .map(|k| {
                let v = if k == "caller" {
                    body.clone()
                } else {
                    kwargs.peek::<Value>(k).unwrap_or_default()
                };
                (k.to_owned(), v)
            })
            .collect();
        let last = args.len() - 1;
        args[last] = Value::from(rebuilt);
    }
    Ok(args)
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
        if let Some(scope) = scope.downcast_object_ref::<crate::scope::Scope>() {
            scope.record_macro(&self.def);
        }
        let args = eager_caller(state, args)?;
        let template = state.env().get_template(&self.def.template)?;
        let mangled = format!("{MANGLE_PREFIX}{}", self.def.name);
        RETURN_SLOTS.with(|s| s.borrow_mut().push(None));
        let result = template.render_captured(scope).and_then(|mut captured| {
            captured.with_state_mut(|st| {
                let m = st.lookup(&mangled).ok_or_else(|| {
                    Error::new(
                        ErrorKind::UnknownFunction,
                        format!("macro `{}` vanished", self.def.name),
                    )
                })?;
                m.call(st, &args)
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
