//! What a template's parse-time render would record (`ref()`, `source()` and `config()`
//! calls, the macros its own text calls), found without rendering it.
//!
//! dbt does the same with its "static parser": most models are plain SQL with a few
//! `{{ ref(...) }}`, `{{ source(...) }}` and `{{ config(...) }}` calls, and rendering each
//! one at parse time only to learn those calls costs as much as compiling it. Here a
//! template qualifies when
//!
//! - it has no statements (`{% ... %}`), only expressions (`{{ ... }}`) and comments, so
//!   every call in it runs exactly once, in an order known from the text;
//! - each expression is a name, a literal, an attribute of a name, a filter, or a call of
//!   `ref`/`source` with string literals, `config` with literal keyword arguments, `var`
//!   with a string literal, or a macro whose every definition is *pure*;
//! - none of `ref`, `source`, `config`, `var` is shadowed by a macro of that name.
//!
//! A macro is pure when rendering it can record nothing and has no effect outside its
//! output: it is not recursive and calls only pure macros, `var` (with a literal name), filters, tests, a few
//! side-effect-free functions (`range`, `dict`, `return`, ...) and methods of plain values
//! (`append`, `items`, `upper`, ...) — no `ref`, `source`, `config`, `adapter`, `run_query`,
//! `log`, `exceptions`, `env_var`, `import`, ... The `var()` names a pure macro reads
//! without a default must be defined, or the render would fail, so such a template is
//! rendered instead when one is missing.
//!
//! Anything else gets the render. A test in `mfb-cli` parses every fixture project both
//! ways and compares the manifests.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use indexmap::{IndexMap, IndexSet};
use minijinja::value::Value;

use crate::macros::{INTERNAL_PACKAGE, MacroObject, MacroRegistry};
use crate::refs::RecordedRef;
use crate::scope::RunContext;
use crate::static_calls::{Tok, code_blocks, tokenize};

/// What a parse-time render of a template records.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StaticRecord {
    /// `ref()` calls, de-duplicated in call order.
    pub refs: Vec<RecordedRef>,
    /// `source()` calls, de-duplicated in call order.
    pub sources: Vec<[String; 2]>,
    /// Each `config()` call's arguments, in call order.
    pub configs: Vec<IndexMap<String, serde_json::Value>>,
    /// Unique ids of the macros the template itself calls, in call order.
    pub macros: IndexSet<String>,
}

/// A piece of a template's compiled output (see [`StaticParser::pieces`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'s> {
    /// Text output as it is.
    Text(&'s str),
    /// `{{ ref('name') }}` or `{{ ref('package', 'name') }}`: the relation's name.
    Ref {
        package: Option<&'s str>,
        name: &'s str,
    },
    /// `{{ source('source', 'table') }}`: the relation's name.
    Source { source: &'s str, table: &'s str },
    /// Any other expression (its text inside `{{ }}`): a `var()`, a pure macro's call, ...
    Expr(&'s str),
}

/// Functions without side effects that a pure macro may call.
const PURE_FUNCTIONS: [&str; 9] = [
    "return",
    "caller",
    "range",
    "dict",
    "namespace",
    "lipsum",
    "cycler",
    "joiner",
    "zip",
];

/// Methods of plain values (lists, dicts, strings, `loop`, `config.get` at parse time).
const PURE_METHODS: [&str; 34] = [
    "append",
    "extend",
    "insert",
    "pop",
    "remove",
    "update",
    "items",
    "keys",
    "values",
    "get",
    "setdefault",
    "copy",
    "upper",
    "lower",
    "title",
    "capitalize",
    "strip",
    "lstrip",
    "rstrip",
    "replace",
    "split",
    "rsplit",
    "splitlines",
    "join",
    "startswith",
    "endswith",
    "format",
    "count",
    "find",
    "index",
    "isdigit",
    "isalpha",
    "isalnum",
    "cycle",
];

/// Objects whose methods have effects or can fail at parse time.
const IMPURE_OBJECTS: [&str; 7] = [
    "adapter",
    "exceptions",
    "modules",
    "api",
    "context",
    "config",
    "dbt",
];

/// Jinja keywords after which `(` opens a group, not a call.
const KEYWORDS: [&str; 12] = [
    "and", "or", "not", "in", "is", "if", "else", "elif", "for", "set", "do", "call",
];

/// Words that make a macro impure wherever they appear.
const IMPURE_WORDS: [&str; 5] = ["import", "include", "extends", "context", "super"];

/// Decides, once per invocation, which macros are pure; then finds what templates record.
#[derive(Debug)]
pub struct StaticParser {
    registry: Arc<MacroRegistry>,
    run: Arc<RunContext>,
    /// Per macro name: the `var()` names (and the packages of the macros reading them)
    /// that its definitions and the pure macros they call read without a default; absent
    /// when some definition of that name is impure.
    pure: HashMap<String, Vec<(String, String)>>,
}

/// What a pure macro definition calls and reads.
struct MacroScan {
    /// Names of macros it calls (plain or `package.name`).
    calls: Vec<String>,
    /// `var()` names read without a default.
    vars: Vec<String>,
}

/// The calls and vars of a macro's source, or `None` when something in it is impure.
fn scan_macro(sql: &str, registry: &MacroRegistry) -> Option<MacroScan> {
    let mut scan = MacroScan {
        calls: Vec::new(),
        vars: Vec::new(),
    };
    for block in code_blocks(sql) {
        let toks = tokenize(block);
        for (i, tok) in toks.iter().enumerate() {
            if let Tok::Ident(word) = tok
                && IMPURE_WORDS.contains(word)
            {
                return None;
            }
            if *tok != Tok::Punct('(') || i == 0 {
                continue;
            }
            let method = i >= 2 && toks[i - 2] == Tok::Punct('.');
            let name = match &toks[i - 1] {
                Tok::Ident(k) if KEYWORDS.contains(k) && !method => continue,
                Tok::Ident(name) => *name,
                Tok::Punct(')' | ']') | Tok::Str(_) | Tok::Punct('0') => return None,
                Tok::Punct(_) => continue,
            };
            match i.checked_sub(2).map(|j| &toks[j]) {
                Some(Tok::Punct('|')) | Some(Tok::Ident("is" | "macro" | "test")) => {}
                Some(Tok::Ident("not")) if i >= 3 && toks[i - 3] == Tok::Ident("is") => {}
                Some(Tok::Ident("materialization")) => {}
                Some(Tok::Punct('.')) => {
                    // The root of the dotted path before the method: `a` in `a.b.c(`.
                    let mut j = i.checked_sub(3)?;
                    while j >= 2
                        && toks[j - 1] == Tok::Punct('.')
                        && matches!(toks[j - 2], Tok::Ident(_))
                    {
                        j -= 2;
                    }
                    let qualified = j == i - 3;
                    match &toks[j] {
                        Tok::Ident(root) if IMPURE_OBJECTS.contains(root) => return None,
                        Tok::Ident(pkg) if qualified && registry.packages.contains_key(*pkg) => {
                            scan.calls.push(name.to_owned());
                        }
                        _ if PURE_METHODS.contains(&name) => {}
                        _ => return None,
                    }
                }
                _ if name == "var" => match (toks.get(i + 1), toks.get(i + 2)) {
                    (Some(Tok::Str(var)), Some(Tok::Punct(')'))) => scan.vars.push(var.clone()),
                    (Some(Tok::Str(_)), Some(Tok::Punct(','))) => {}
                    _ => return None,
                },
                _ => scan.calls.push(name.to_owned()),
            }
        }
    }
    Some(scan)
}

impl StaticParser {
    /// Scans every macro of `registry` once.
    pub(crate) fn new(registry: Arc<MacroRegistry>, run: Arc<RunContext>) -> Self {
        let defs = registry.defs();
        let scans: Vec<Option<MacroScan>> =
            defs.iter().map(|d| scan_macro(&d.sql, &registry)).collect();
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, d) in defs.iter().enumerate() {
            by_name.entry(d.name.as_str()).or_default().push(i);
        }
        // The scans of the definitions named `name` (impure ones left out).
        let scans_of = |name: &str| {
            by_name
                .get(name)
                .into_iter()
                .flatten()
                .filter_map(|&i| scans[i].as_ref().map(|scan| (i, scan)))
        };
        // The macro names `name` calls.
        let callees = |name: &str| -> Vec<&str> {
            scans_of(name)
                .flat_map(|(_, scan)| scan.calls.iter().map(String::as_str))
                .filter(|c| by_name.contains_key(c))
                .collect()
        };
        // The macro names reachable from `name` through calls (`name` itself only when it
        // is reached again: recursion).
        let reachable = |name: &str| {
            let mut seen: HashSet<&str> = HashSet::new();
            let mut stack = callees(name);
            while let Some(n) = stack.pop() {
                if seen.insert(n) {
                    stack.extend(callees(n));
                }
            }
            seen
        };
        // A call is pure when the name is a macro all of whose definitions are pure, or a
        // side-effect-free function no macro shadows. A recursive macro is not: recursion
        // can fail (too deep) at parse time, which dbt reports there.
        let mut impure: HashSet<&str> = by_name
            .iter()
            .filter(|(name, ids)| {
                ids.iter().any(|&i| scans[i].is_none()) || reachable(name).contains(*name)
            })
            .map(|(name, _)| *name)
            .collect();
        // The built-in `get_where_subquery` (every generic test's `model` argument) only
        // reads `config.get('where')`, which records nothing at parse time: pure, unless
        // a package defines it or one of its dispatch implementations.
        let where_subquery = [
            "get_where_subquery",
            "default__get_where_subquery",
            "postgres__get_where_subquery",
        ];
        if where_subquery.iter().all(|n| {
            by_name
                .get(n)
                .is_none_or(|ids| ids.iter().all(|&i| defs[i].package == INTERNAL_PACKAGE))
        }) {
            impure.remove("get_where_subquery");
        }
        for special in ["ref", "source", "config", "var"] {
            if by_name.contains_key(special) {
                impure.insert(special);
            }
        }
        let call_is_pure = |call: &str, impure: &HashSet<&str>| {
            if by_name.contains_key(call) {
                !impure.contains(call)
            } else {
                PURE_FUNCTIONS.contains(&call)
            }
        };
        loop {
            let before = impure.len();
            for name in by_name.keys() {
                if !impure.contains(name)
                    && scans_of(name)
                        .any(|(_, scan)| scan.calls.iter().any(|c| !call_is_pure(c, &impure)))
                {
                    impure.insert(name);
                }
            }
            if impure.len() == before {
                break;
            }
        }
        // The vars each pure name reads, through the macros it calls.
        let pure = by_name
            .keys()
            .filter(|n| !impure.contains(*n))
            .map(|name| {
                let mut names = reachable(name);
                names.insert(name);
                let vars = names
                    .into_iter()
                    .flat_map(&scans_of)
                    .flat_map(|(i, scan)| {
                        scan.vars
                            .iter()
                            .map(move |v| (defs[i].package.clone(), v.clone()))
                    })
                    .collect();
                ((*name).to_owned(), vars)
            })
            .collect();
        StaticParser {
            registry,
            run,
            pure,
        }
    }

    /// What rendering `source` at parse time for a node of `package` would record, or
    /// `None` when it has to be rendered to know.
    pub fn parse(&self, package: &str, source: &str) -> Option<StaticRecord> {
        if !source.contains('{') {
            return Some(StaticRecord::default());
        }
        self.walk(package, source, &mut |_| {})
    }

    /// The pieces a compile-time render of `source` for a node of `package` outputs, in
    /// order, or `None` when it has to be rendered. Each piece is text to copy, a
    /// `ref()`/`source()` to resolve, or another expression to evaluate; `config()` calls
    /// output nothing and are left out, and so are comments. Whitespace control (`{{-`,
    /// `-}}`) is applied to the text and a final newline dropped, as minijinja does.
    pub fn pieces<'s>(&self, package: &str, source: &'s str) -> Option<Vec<Piece<'s>>> {
        // `Runtime::render` copies such a template as it is, like dbt.
        if !crate::has_render_chars(source) {
            return Some(vec![Piece::Text(source)]);
        }
        let mut body = source;
        body = body.strip_suffix('\n').unwrap_or(body);
        body = body.strip_suffix('\r').unwrap_or(body);
        let mut pieces = Vec::new();
        self.walk(package, body, &mut |piece| pieces.push(piece))?;
        Some(pieces)
    }

    /// Walks `source`'s text, comments and expressions the way minijinja's lexer does,
    /// handing each piece of output to `emit`; `None` as soon as something needs a render.
    fn walk<'s>(
        &self,
        package: &str,
        source: &'s str,
        emit: &mut dyn FnMut(Piece<'s>),
    ) -> Option<StaticRecord> {
        let shadowed = |name: &str| self.registry.lookup(package, name).is_some();
        if ["ref", "source", "config", "var"]
            .iter()
            .any(|n| shadowed(n))
        {
            return None;
        }
        let mut record = StaticRecord::default();
        let bytes = source.as_bytes();
        let mut refs = IndexSet::new();
        let mut sources = IndexSet::new();
        let mut i = 0;
        // Whether the last tag ended with `-` (`-}}`, `-#}`): the text after it is trimmed.
        let mut trim_start = false;
        loop {
            let tag = tag_start(bytes, i);
            let mut text = &source[i..tag.unwrap_or(bytes.len())];
            if std::mem::take(&mut trim_start) {
                text = text.trim_start();
            }
            let Some(start) = tag else {
                if !text.is_empty() {
                    emit(Piece::Text(text));
                }
                break;
            };
            // `{{-`, `{%-`, `{#-` trim the text before; `+` keeps it (lstrip_blocks is off).
            let marker = bytes.get(start + 2).copied();
            if marker == Some(b'-') {
                text = text.trim_end();
            }
            if !text.is_empty() {
                emit(Piece::Text(text));
            }
            let skip = if matches!(marker, Some(b'-' | b'+')) {
                3
            } else {
                2
            };
            match bytes[start + 1] {
                b'#' => {
                    let end = source[start + skip..].find("#}")?;
                    trim_start = bytes[start + skip + end.saturating_sub(1)] == b'-';
                    i = start + skip + end + 2;
                }
                b'{' => {
                    let body_start = start + skip;
                    let end = crate::static_calls::block_end(source, body_start, "}}");
                    if end >= bytes.len() {
                        return None;
                    }
                    let mut body = &source[body_start..end];
                    trim_start = body.ends_with('-');
                    body = body.strip_suffix(['-', '+']).unwrap_or(body);
                    let toks = lex(body)?;
                    let mut parser = ExprParser {
                        toks: &toks,
                        pos: 0,
                        this: self,
                        package,
                        record: &mut record,
                        refs: &mut refs,
                        sources: &mut sources,
                    };
                    parser.expression()?;
                    if parser.pos != toks.len() {
                        return None;
                    }
                    match (bare_call(&toks), &toks[..]) {
                        (Some("ref"), [_, _, Lexed::Str(name), _]) => emit(Piece::Ref {
                            package: None,
                            name,
                        }),
                        (Some("ref"), [_, _, Lexed::Str(package), _, Lexed::Str(name), _]) => {
                            emit(Piece::Ref {
                                package: Some(package),
                                name,
                            })
                        }
                        (Some("source"), [_, _, Lexed::Str(source), _, Lexed::Str(table), _]) => {
                            emit(Piece::Source { source, table })
                        }
                        (Some("config"), _) => {}
                        _ => emit(Piece::Expr(body.trim())),
                    }
                    i = end + 2;
                }
                _ => return None,
            }
        }
        record.refs = refs.into_iter().collect();
        record.sources = sources.into_iter().collect();
        Some(record)
    }

    /// Whether var `name` is defined for nodes of `package`.
    fn var_defined(&self, package: &str, name: &str) -> bool {
        self.run.vars_for(package).contains_key(name)
    }
}

/// A token of a `{{ }}` expression, exactly (strings with escapes are not accepted).
#[derive(Debug, Clone, PartialEq)]
enum Lexed<'a> {
    Ident(&'a str),
    Str(&'a str),
    Int(i64),
    Punct(u8),
}

fn lex(code: &str) -> Option<Vec<Lexed<'_>>> {
    let bytes = code.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
        } else if b.is_ascii_alphabetic() || b == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            toks.push(Lexed::Ident(&code[start..i]));
        } else if b.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                return None;
            }
            toks.push(Lexed::Int(code[start..i].parse().ok()?));
        } else if b == b'\'' || b == b'"' {
            let end = code[i + 1..].find(b as char)? + i + 1;
            let text = &code[i + 1..end];
            if text.contains('\\') {
                return None;
            }
            toks.push(Lexed::Str(text));
            i = end + 1;
        } else if b"()[]{},.:=|".contains(&b) {
            // `==` is a comparison, not a keyword argument.
            if b == b'=' && bytes.get(i + 1) == Some(&b'=') {
                return None;
            }
            toks.push(Lexed::Punct(b));
            i += 1;
        } else {
            return None;
        }
    }
    Some(toks)
}

/// Where the next tag (`{{`, `{%`, `{#`) at or after `from` starts, as minijinja finds it.
fn tag_start(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let brace = at + bytes[at..].iter().position(|&b| b == b'{')?;
        if matches!(bytes.get(brace + 1), Some(b'{' | b'%' | b'#')) {
            return Some(brace);
        }
        at = brace + 1;
    }
}

/// The name of the function when the tokens are one call and nothing else (`name(...)`,
/// not `name(...).x` or `name(...) | f`).
fn bare_call<'a>(toks: &[Lexed<'a>]) -> Option<&'a str> {
    let (Some(Lexed::Ident(name)), Some(Lexed::Punct(b'('))) = (toks.first(), toks.get(1)) else {
        return None;
    };
    let mut depth = 0usize;
    for (i, tok) in toks.iter().enumerate().skip(1) {
        match tok {
            Lexed::Punct(b'(') => depth += 1,
            Lexed::Punct(b')') => {
                depth -= 1;
                if depth == 0 {
                    return (i == toks.len() - 1).then_some(*name);
                }
            }
            _ => {}
        }
    }
    None
}

/// A value the template computes: a literal (kept, for `config()`), or anything else.
enum Val {
    Literal(serde_json::Value),
    Opaque,
}

/// Recursive descent over one `{{ }}` expression, recording calls in evaluation order.
struct ExprParser<'t, 'a> {
    toks: &'t [Lexed<'a>],
    pos: usize,
    this: &'t StaticParser,
    package: &'t str,
    record: &'t mut StaticRecord,
    refs: &'t mut IndexSet<RecordedRef>,
    sources: &'t mut IndexSet<[String; 2]>,
}

impl<'t, 'a> ExprParser<'t, 'a> {
    fn peek(&self) -> Option<&'t Lexed<'a>> {
        self.toks.get(self.pos)
    }

    fn eat(&mut self, p: u8) -> bool {
        if self.peek() == Some(&Lexed::Punct(p)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// `postfix ('|' filter ['(' args ')'])*`
    fn expression(&mut self) -> Option<Val> {
        let mut value = self.postfix()?;
        while self.eat(b'|') {
            let Some(Lexed::Ident(_)) = self.peek() else {
                return None;
            };
            self.pos += 1;
            if self.eat(b'(') {
                self.arguments()?;
            }
            value = Val::Opaque;
        }
        Some(value)
    }

    /// A primary followed by attributes; a call only directly on a name.
    fn postfix(&mut self) -> Option<Val> {
        if let (Some(Lexed::Ident(name)), Some(Lexed::Punct(b'('))) =
            (self.toks.get(self.pos), self.toks.get(self.pos + 1))
        {
            let name: &'a str = name;
            if KEYWORDS.contains(&name) {
                return None;
            }
            self.pos += 2;
            let (positional, keywords) = self.arguments()?;
            self.call(name, positional, keywords)?;
            return self.attributes(Val::Opaque);
        }
        let value = self.primary()?;
        self.attributes(value)
    }

    fn attributes(&mut self, mut value: Val) -> Option<Val> {
        while self.eat(b'.') {
            let Some(Lexed::Ident(_)) = self.peek() else {
                return None;
            };
            self.pos += 1;
            if self.peek() == Some(&Lexed::Punct(b'(')) {
                return None;
            }
            value = Val::Opaque;
        }
        if self.peek() == Some(&Lexed::Punct(b'[')) || self.peek() == Some(&Lexed::Punct(b'(')) {
            return None;
        }
        Some(value)
    }

    fn primary(&mut self) -> Option<Val> {
        let tok = self.peek()?.clone();
        self.pos += 1;
        Some(match tok {
            Lexed::Str(s) => Val::Literal(serde_json::Value::String(s.to_owned())),
            Lexed::Int(n) => Val::Literal(serde_json::Value::from(n)),
            Lexed::Ident("true" | "True") => Val::Literal(serde_json::Value::Bool(true)),
            Lexed::Ident("false" | "False") => Val::Literal(serde_json::Value::Bool(false)),
            Lexed::Ident("none" | "None") => Val::Literal(serde_json::Value::Null),
            Lexed::Ident(k) if KEYWORDS.contains(&k) => return None,
            Lexed::Ident(_) => Val::Opaque,
            Lexed::Punct(b'[') => {
                // `None` once an item is not a literal.
                let mut items = Some(Vec::new());
                self.separated(b']', |p| {
                    match p.expression()? {
                        Val::Literal(v) => {
                            if let Some(items) = items.as_mut() {
                                items.push(v);
                            }
                        }
                        Val::Opaque => items = None,
                    }
                    Some(())
                })?;
                items.map_or(Val::Opaque, |i| Val::Literal(serde_json::Value::Array(i)))
            }
            Lexed::Punct(b'{') => {
                let mut map = Some(serde_json::Map::new());
                self.separated(b'}', |p| {
                    let Some(Lexed::Str(key)) = p.peek() else {
                        return None;
                    };
                    p.pos += 1;
                    if !p.eat(b':') {
                        return None;
                    }
                    match p.expression()? {
                        Val::Literal(v) => {
                            if let Some(map) = map.as_mut() {
                                map.insert((*key).to_owned(), v);
                            }
                        }
                        Val::Opaque => map = None,
                    }
                    Some(())
                })?;
                map.map_or(Val::Opaque, |m| Val::Literal(serde_json::Value::Object(m)))
            }
            Lexed::Punct(b'(') => {
                let inner = self.expression()?;
                if !self.eat(b')') {
                    return None;
                }
                inner
            }
            Lexed::Punct(_) => return None,
        })
    }

    /// Items separated by commas (a trailing one allowed) through the closing `close`,
    /// each parsed by `item`.
    fn separated(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        while !self.eat(close) {
            item(self)?;
            if !self.eat(b',') {
                return self.eat(close).then_some(());
            }
        }
        Some(())
    }

    /// The arguments after `(`, through `)`.
    #[allow(clippy::type_complexity)]
    fn arguments(&mut self) -> Option<(Vec<Val>, Vec<(&'a str, Val)>)> {
        let mut positional = Vec::new();
        let mut keywords: Vec<(&'a str, Val)> = Vec::new();
        self.separated(b')', |p| {
            if let (Some(Lexed::Ident(key)), Some(Lexed::Punct(b'='))) =
                (p.toks.get(p.pos), p.toks.get(p.pos + 1))
            {
                let key: &'a str = key;
                p.pos += 2;
                let value = p.expression()?;
                if keywords.iter().any(|(k, _)| *k == key) {
                    return None;
                }
                keywords.push((key, value));
            } else {
                if !keywords.is_empty() {
                    return None;
                }
                positional.push(p.expression()?);
            }
            Some(())
        })?;
        Some((positional, keywords))
    }

    fn string(v: &Val) -> Option<String> {
        match v {
            Val::Literal(serde_json::Value::String(s)) => Some(s.clone()),
            _ => None,
        }
    }

    /// Records what calling `name` records, or gives up.
    fn call(
        &mut self,
        name: &str,
        positional: Vec<Val>,
        keywords: Vec<(&'a str, Val)>,
    ) -> Option<()> {
        match name {
            "ref" => {
                if !keywords.is_empty() {
                    return None;
                }
                let (package, name) = match positional.as_slice() {
                    [name] => (None, Self::string(name)?),
                    [package, name] => (Some(Self::string(package)?), Self::string(name)?),
                    _ => return None,
                };
                self.refs.insert(RecordedRef {
                    package,
                    name,
                    version: None,
                });
            }
            "source" => {
                let [source, table] = positional.as_slice() else {
                    return None;
                };
                if !keywords.is_empty() {
                    return None;
                }
                self.sources
                    .insert([Self::string(source)?, Self::string(table)?]);
            }
            "config" => {
                if !positional.is_empty() {
                    return None;
                }
                let mut map = IndexMap::new();
                for (key, value) in keywords {
                    let Val::Literal(v) = value else {
                        return None;
                    };
                    map.insert(key.to_owned(), v);
                }
                self.record.configs.push(map);
            }
            "var" => {
                let has_default = match (positional.len(), keywords.as_slice()) {
                    (1, []) => false,
                    (2, []) | (1, [("default", _)]) => true,
                    _ => return None,
                };
                let var = Self::string(&positional[0])?;
                if !has_default && !self.this.var_defined(self.package, &var) {
                    return None;
                }
            }
            _ => {
                let vars = self.this.pure.get(name)?;
                for (macro_package, var) in vars {
                    if !self.this.var_defined(self.package, var)
                        || !self.this.var_defined(macro_package, var)
                    {
                        return None;
                    }
                }
                let found: &Value = self.this.registry.lookup(self.package, name)?;
                let def = found.downcast_object_ref::<MacroObject>()?.def();
                self.record.macros.insert(def.unique_id());
            }
        }
        Some(())
    }
}
