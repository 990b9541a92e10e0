//! Compiling a model without rendering it, when its text says what the render would output.
//!
//! Most models are SQL with a few `{{ ref(...) }}`, `{{ source(...) }}`, `{{ var(...) }}`,
//! `{{ config(...) }}` and calls of small macros. For a template the static parser reads
//! (no `{% %}` statements; see `mfb_jinja::static_parse`), its output is its text with each
//! expression replaced by its value:
//!
//! - `ref()` and `source()` with string literals: the relation's name, from the same index
//!   the render's `ref()` reads;
//! - `config()`: nothing;
//! - any other expression (a `var()`, a pure macro's call): rendered once per package on
//!   its own, and reused for every node of that package whose text has it, provided that
//!   render read nothing of its node (`this`, `model`, `config`, `execute`, ...: see
//!   `NodeScope::watch`). Otherwise, or when it fails, the node gets the full render.
//!
//! Rendering the whole template would give the same text: a test in `mfb-cli` compiles
//! every fixture and compat project both ways and compares `target/compiled/`.
//! `MFB_STATIC_PARSE=0` turns this off together with the static parse.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use mfb_graph::{Node, ResourceType};
use mfb_jinja::RunContext;
use mfb_jinja::static_parse::{Piece, StaticParser};

use crate::Parsed;
use crate::context::{RefIndex, model_value};

/// Whether templates may be read instead of rendered (`MFB_STATIC_PARSE=0` says no).
pub(crate) fn enabled() -> bool {
    std::env::var_os("MFB_STATIC_PARSE").as_deref() != Some(std::ffi::OsStr::new("0"))
}

/// Per expression: its output, or `None` when it has to be rendered with each node.
type Outputs = HashMap<String, Option<Arc<str>>>;

/// Compiles models from their text; see the module documentation.
pub(crate) struct StaticCompiler<'p> {
    parsed: &'p Parsed,
    run: &'p Arc<RunContext>,
    index: &'p Arc<RefIndex>,
    parser: StaticParser,
    /// Per package, the expressions met so far.
    values: RwLock<HashMap<String, Outputs>>,
    /// How many nodes were compiled from their text.
    pub(crate) compiled: AtomicUsize,
}

impl<'p> StaticCompiler<'p> {
    pub(crate) fn new(
        parsed: &'p Parsed,
        run: &'p Arc<RunContext>,
        index: &'p Arc<RefIndex>,
    ) -> Self {
        StaticCompiler {
            parsed,
            run,
            index,
            parser: parsed.loaded.runtime.static_parser(run),
            values: RwLock::new(HashMap::new()),
            compiled: AtomicUsize::new(0),
        }
    }

    /// `node`'s compiled SQL from `source` (its template), or `None` when it has to be
    /// rendered.
    pub(crate) fn compile(&self, node: &Node, source: &str) -> Option<String> {
        if !matches!(
            node.resource_type,
            ResourceType::Model | ResourceType::Analysis
        ) {
            return None;
        }
        let package = node.package_name.as_str();
        let pieces = self.parser.pieces(package, source)?;
        let mut out = String::with_capacity(source.len() + 64);
        for piece in pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Ref { package: pkg, name } => {
                    let target = self.index.find(package, pkg, name, None)?;
                    out.push_str(&target.relation.render());
                }
                Piece::Source { source, table } => {
                    let (_, relation) = self.index.source(source, table)?;
                    out.push_str(&relation.render());
                }
                Piece::Expr(expr) => out.push_str(&self.value(node, source, expr)?),
            }
        }
        self.compiled.fetch_add(1, Ordering::Relaxed);
        Some(out)
    }

    /// The output of `{{ expr }}` for nodes of `node`'s package, when it is the same for
    /// all of them.
    fn value(&self, node: &Node, source: &str, expr: &str) -> Option<Arc<str>> {
        let package = node.package_name.as_str();
        if let Some(known) = self
            .values
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(package)
            .and_then(|exprs| exprs.get(expr))
        {
            return known.clone();
        }
        let read_node = Arc::new(AtomicBool::new(false));
        // `model` is set whether or not this template reads it, so that reading it
        // counts as reading the node.
        let scope = crate::compile::node_scope(self.parsed, self.index, node, source, false)
            .set("model", model_value(node))
            .watch(read_node.clone());
        let rendered = self
            .parsed
            .loaded
            .runtime
            .render(
                self.run,
                "<expression>",
                &format!("{{{{ {expr} }}}}"),
                scope,
            )
            .ok();
        let value = rendered
            .filter(|_| !read_node.load(Ordering::Relaxed))
            .map(Arc::from);
        self.values
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(package.to_owned())
            .or_default()
            .insert(expr.to_owned(), value.clone());
        value
    }
}
