//! The macro calls a macro's source makes, found without rendering it: what dbt records as
//! a macro's `depends_on.macros` in `manifest.json`, and what `state:modified.macros`
//! follows from a node's directly called macros to the macros they call.
//!
//! dbt walks the Jinja AST for call nodes; this scans the tokens of the `{{ }}` and
//! `{% %}` blocks for the same shapes: `name(...)`, `package.name(...)` and
//! `adapter.dispatch('name', 'namespace')(...)`. Filters (`| f(...)`), tests
//! (`is f(...)`), method calls on longer paths (`a.b.c(...)`) and the names of `{% macro %}`
//! / `{% test %}` definitions are not calls, as in dbt.

/// One call found in a macro's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaticCall {
    /// `name(...)`
    Plain(String),
    /// `package.name(...)`
    Qualified(String, String),
    /// `adapter.dispatch('name', macro_namespace)`
    Dispatch {
        name: String,
        namespace: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok<'a> {
    Ident(&'a str),
    Str(String),
    Punct(char),
}

/// The calls in `source`, in source order, without duplicates.
pub fn extract(source: &str) -> Vec<StaticCall> {
    let mut calls: Vec<StaticCall> = Vec::new();
    let mut push = |c: StaticCall| {
        if !calls.contains(&c) {
            calls.push(c);
        }
    };
    for block in code_blocks(source) {
        let toks = tokenize(block);
        for i in 0..toks.len() {
            if toks[i] != Tok::Punct('(') || i == 0 {
                continue;
            }
            let Tok::Ident(name) = toks[i - 1] else {
                continue;
            };
            let before = i.checked_sub(2).map(|j| &toks[j]);
            match before {
                Some(Tok::Punct('.')) => {
                    let Some(Tok::Ident(pkg)) = i.checked_sub(3).map(|j| &toks[j]) else {
                        continue;
                    };
                    // `a.b.c(...)` is a method call on an attribute, not a package macro.
                    if matches!(i.checked_sub(4).map(|j| &toks[j]), Some(Tok::Punct('.'))) {
                        continue;
                    }
                    if *pkg == "adapter" {
                        if name == "dispatch"
                            && let Some(d) = dispatch_args(&toks[i + 1..])
                        {
                            push(StaticCall::Plain(d.0.clone()));
                            push(StaticCall::Dispatch {
                                name: d.0,
                                namespace: d.1,
                            });
                        }
                        continue;
                    }
                    push(StaticCall::Qualified((*pkg).to_owned(), name.to_owned()));
                }
                Some(Tok::Punct('|')) => {}
                Some(Tok::Ident("is" | "macro" | "test" | "materialization")) => {}
                _ => {
                    if !matches!(name, "ref" | "source" | "config") {
                        push(StaticCall::Plain(name.to_owned()));
                    }
                }
            }
        }
    }
    calls
}

/// Whether rendering `source` may read the variable `name` from its context: a block
/// names it (not as an attribute, `x.name`, nor as a keyword argument, `f(name=...)`), or
/// reads the context as a whole (`context`). A `{% macro %}` / `{% test %}` whose header
/// declares a parameter `name` reads its argument, not the context's variable. Errs
/// towards "yes": a local variable of that name counts as a read.
pub fn reads_variable(source: &str, name: &str) -> bool {
    if !source.contains(name) && !source.contains("context") {
        return false;
    }
    let mut parameter = false;
    for block in code_blocks(source) {
        let toks = tokenize(block);
        if matches!(
            toks.iter().find(|t| !matches!(t, Tok::Punct('-' | '+'))),
            Some(Tok::Ident("macro" | "test" | "materialization"))
        ) {
            parameter |= toks
                .windows(2)
                .any(|w| matches!(w[0], Tok::Punct('(' | ',')) && w[1] == Tok::Ident(name));
            continue;
        }
        for (i, t) in toks.iter().enumerate() {
            let Tok::Ident(ident) = t else { continue };
            if *ident == "context" {
                return true;
            }
            if *ident != name || parameter {
                continue;
            }
            let attribute = i > 0 && toks[i - 1] == Tok::Punct('.');
            let keyword = toks.get(i + 1) == Some(&Tok::Punct('='))
                && toks.get(i + 2) != Some(&Tok::Punct('='));
            if !attribute && !keyword {
                return true;
            }
        }
    }
    false
}

/// `'name'` plus an optional namespace from `('name', 'ns')`, `('name', macro_namespace='ns')`
/// or `(macro_name='name', ...)`; `toks` starts after the opening parenthesis.
fn dispatch_args(toks: &[Tok<'_>]) -> Option<(String, Option<String>)> {
    let mut name = None;
    let mut namespace = None;
    let mut positional = 0;
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') if depth == 0 => break,
            Tok::Punct(')' | ']' | '}') => depth -= 1,
            Tok::Punct(',') if depth == 0 => positional += 1,
            Tok::Ident(key) if depth == 0 && toks.get(i + 1) == Some(&Tok::Punct('=')) => {
                if let Some(Tok::Str(v)) = toks.get(i + 2) {
                    match *key {
                        "macro_name" => name = Some(v.clone()),
                        "macro_namespace" => namespace = Some(v.clone()),
                        _ => {}
                    }
                }
                i += 2;
            }
            Tok::Str(s) if depth == 0 => match positional {
                0 => name = Some(s.clone()),
                1 => namespace = Some(s.clone()),
                _ => {}
            },
            _ => {}
        }
        i += 1;
    }
    name.map(|n| (n, namespace))
}

/// The inside of each `{{ ... }}` and `{% ... %}` block; comments are skipped.
pub(crate) fn code_blocks(source: &str) -> Vec<&str> {
    let bytes = source.as_bytes();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] != b'{' {
            i += 1;
            continue;
        }
        let close = match bytes[i + 1] {
            b'{' => "}}",
            b'%' => "%}",
            b'#' => {
                i = source[i + 2..]
                    .find("#}")
                    .map_or(bytes.len(), |e| i + 2 + e + 2);
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        let start = i + 2;
        let end = block_end(source, start, close);
        blocks.push(&source[start..end]);
        i = end + 2;
    }
    blocks
}

/// Where the block opened at `start` closes (strings may contain the closing characters).
pub(crate) fn block_end(source: &str, start: usize, close: &str) -> usize {
    let bytes = source.as_bytes();
    let mut i = start;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => {
                if b == b'\'' || b == b'"' {
                    quote = Some(b);
                } else if source[i..].starts_with(close) {
                    return i;
                }
            }
        }
        i += 1;
    }
    bytes.len()
}

pub(crate) fn tokenize(code: &str) -> Vec<Tok<'_>> {
    let bytes = code.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_alphabetic() || b == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            toks.push(Tok::Ident(&code[start..i]));
            continue;
        }
        if b.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                i += 1;
            }
            toks.push(Tok::Punct('0'));
            continue;
        }
        if b == b'\'' || b == b'"' {
            let mut s = String::new();
            i += 1;
            while i < bytes.len() && bytes[i] != b {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    i += 1;
                }
                let ch = code[i..].chars().next().unwrap_or(' ');
                s.push(ch);
                i += ch.len_utf8();
            }
            i += 1;
            toks.push(Tok::Str(s));
            continue;
        }
        if b.is_ascii_whitespace() || b == b'-' && (i == 0 || i + 1 == bytes.len()) {
            i += 1;
            continue;
        }
        let ch = code[i..].chars().next().unwrap_or(' ');
        toks.push(Tok::Punct(ch));
        i += ch.len_utf8();
    }
    toks
}

#[cfg(test)]
mod tests {
    use super::StaticCall::{Dispatch, Plain, Qualified};
    use super::*;

    #[test]
    fn reads_variable_sees_reads_but_not_attributes_keywords_strings_or_parameters() {
        let reads = |src: &str| reads_variable(src, "model");
        assert!(reads("select {{ model.config.materialized }}"));
        assert!(reads("{% if model['name'] %}x{% endif %}"));
        assert!(reads("{{ context['model'] }}"));
        assert!(reads("{{- model -}}"));
        assert!(!reads("select * from {{ ref('model') }}"));
        assert!(!reads("{{ this.model }} -- model in text is not Jinja"));
        assert!(!reads("{{ test_x(model=get_where_subquery(ref('a'))) }}"));
        assert!(!reads("{# {{ model }} in a comment #}"));
        assert!(!reads(
            "{% test non_negative(model, column_name) %}select 1 from {{ model }}{% endtest %}"
        ));
        assert!(!reads(
            "{%- macro m(x, model=none) -%}{{ model }}{%- endmacro %}"
        ));
        assert!(reads("{% macro m(x) %}{{ model.name }}{% endmacro %}"));
        assert!(reads("{% if model == 1 %}{% endif %}"));
    }

    #[test]
    fn finds_plain_qualified_and_dispatched_calls_in_order() {
        let src = r#"{% macro last_day(date, datepart) %}
  {{ return(adapter.dispatch('last_day', 'dbt') (date, datepart)) }}
{% endmacro %}"#;
        assert_eq!(
            extract(src),
            vec![
                Plain("return".into()),
                Plain("last_day".into()),
                Dispatch {
                    name: "last_day".into(),
                    namespace: Some("dbt".into())
                },
            ]
        );
        let src = "{%- macro m(x) -%} {% set y = dbt.dateadd('day', 1, x) | trim %} \
                   {{ x.upper() }} {{ a.b.c() }} {{ y | replace('a', 'b') }} {% if x is divisibleby(3) %}\
                   {% call statement('main') %}select {{ helper(ref('t')) }}{% endcall %}{% endif %}{% endmacro %}";
        assert_eq!(
            extract(src),
            vec![
                Qualified("dbt".into(), "dateadd".into()),
                Qualified("x".into(), "upper".into()),
                Plain("statement".into()),
                Plain("helper".into()),
            ]
        );
    }

    #[test]
    fn dispatch_keyword_arguments_and_comments() {
        let src = "{# skip(me) #}{{ adapter.dispatch(macro_name='star', macro_namespace='dbt_utils')(from=x) }}\
                   {{ '}}(' ~ after() }}";
        assert_eq!(
            extract(src),
            vec![
                Plain("star".into()),
                Dispatch {
                    name: "star".into(),
                    namespace: Some("dbt_utils".into())
                },
                Plain("after".into()),
            ]
        );
    }
}
