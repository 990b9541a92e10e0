//! Source rewriting that gives minijinja dbt's Jinja dialect.
//!
//! minijinja compiles `[...]` and `{...}` literals to immutable values, so
//! `{% do cols.append(x) %}` would fail. Inside every `{{ }}` and `{% %}` tag we wrap list
//! and dict literals in `__mfb_list(...)` / `__mfb_dict(...)`, which build mutable
//! objects. Macro files are split into one template per macro (dbt also treats each macro
//! as its own template), `{% test x(...) %}` becomes `{% macro test_x(...) %}`, and macro
//! names are mangled so that every call, even one within the same file, goes through the
//! registry (which is what makes `return()` and package resolution work). Rewrites never
//! add or remove newlines, so line numbers in errors stay those of the user's file.

/// Prefix of mangled macro names inside split macro templates.
pub const MANGLE_PREFIX: &str = "__mfb_macro__";

/// Hidden parameter carrying a call's extra positional arguments (`varargs`).
pub const VARARGS_PARAM: &str = "__mfb_varargs";
/// Hidden parameter carrying a call's extra keyword arguments (`kwargs`).
pub const KWARGS_PARAM: &str = "__mfb_kwargs";

/// Whether `text` uses the identifier `word` (not as part of a longer name).
fn mentions(text: &str, word: &str) -> bool {
    let bytes = text.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    text.match_indices(word).any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + word.len()).copied();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// A macro found in a macro file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroBlock {
    /// The macro's name as dbt sees it (`test_unique` for `{% test unique %}`).
    pub name: String,
    /// 1-based line of the `{% macro %}` tag.
    pub line: u32,
    /// The rewritten template source for this macro alone, padded with newlines so its
    /// lines match the file's.
    pub template: String,
    /// The original text of the block (dbt's `macro_sql`).
    pub original: String,
}

/// Where a tag starts and ends in the source, and what it is.
#[derive(Debug, Clone, Copy)]
struct Tag {
    start: usize,
    end: usize,
    kind: TagKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagKind {
    Expr,
    Stmt,
    Comment,
}

/// Rewrites a template source (model, hook, test, macro block) for minijinja.
pub fn rewrite_template(source: &str) -> String {
    let mut out = String::with_capacity(source.len() + source.len() / 8);
    let mut pos = 0;
    let mut raw = false;
    for tag in scan_tags(source) {
        out.push_str(&source[pos..tag.start]);
        let text = &source[tag.start..tag.end];
        if tag.kind == TagKind::Stmt {
            let keyword = stmt_keyword(text);
            if raw {
                raw = keyword != "endraw";
                out.push_str(text);
                pos = tag.end;
                continue;
            }
            if keyword == "raw" {
                raw = true;
                out.push_str(text);
                pos = tag.end;
                continue;
            }
        }
        match tag.kind {
            TagKind::Comment => out.push_str(text),
            _ if raw => out.push_str(text),
            _ => rewrite_tag_body(text, &mut out),
        }
        pos = tag.end;
    }
    out.push_str(&source[pos..]);
    out
}

/// Splits a macro file into its macros (`{% macro %}` and `{% test %}` blocks), each
/// rewritten into its own template. Text outside the blocks is ignored, as dbt does.
/// `{% materialization %}` blocks are skipped (materializations are native).
pub fn split_macros(source: &str) -> Result<Vec<MacroBlock>, SplitError> {
    let tags = scan_tags(source);
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < tags.len() {
        let tag = tags[i];
        if tag.kind != TagKind::Stmt {
            i += 1;
            continue;
        }
        let text = &source[tag.start..tag.end];
        let keyword = stmt_keyword(text);
        let (end_kw, is_test) = match keyword {
            "macro" => ("endmacro", false),
            "test" => ("endtest", true),
            "materialization" => ("endmaterialization", false),
            _ => {
                i += 1;
                continue;
            }
        };
        let line = line_of(source, tag.start);
        let Some(end_idx) = (i + 1..tags.len()).find(|&j| {
            tags[j].kind == TagKind::Stmt
                && stmt_keyword(&source[tags[j].start..tags[j].end]) == end_kw
        }) else {
            return Err(SplitError {
                line,
                message: format!("`{{% {keyword} %}}` is never closed with `{{% {end_kw} %}}`"),
            });
        };
        if keyword == "materialization" {
            i = end_idx + 1;
            continue;
        }
        let Some(name) = macro_name(text) else {
            return Err(SplitError {
                line,
                message: format!("cannot read the macro name in `{}`", text.trim()),
            });
        };
        let full_name = if is_test {
            format!("test_{name}")
        } else {
            name.to_owned()
        };
        let end_tag = tags[end_idx];
        let original = &source[tag.start..end_tag.end];
        // Rebuild the block: opening tag with the mangled name, body, closing tag.
        let mut block = String::with_capacity(original.len() + 64);
        let mut open =
            rename_macro_tag(text, name, &format!("{MANGLE_PREFIX}{full_name}"), is_test);
        let body = &source[tag.end..end_tag.start];
        // Jinja gives a macro that mentions `varargs` / `kwargs` the extra positional and
        // keyword arguments of a call; minijinja has no such thing. Such a macro gets two
        // hidden parameters that the call fills (see `MacroObject::invoke`), bound to the
        // usual names on the opening tag's line (so lines stay put).
        let extra_args = mentions(body, "varargs") || mentions(body, "kwargs");
        if extra_args && let Some(close) = open.rfind(')') {
            let before = open[..close].trim_end();
            let sep = if before.ends_with('(') { "" } else { ", " };
            open = format!(
                "{}{sep}{VARARGS_PARAM}=none, {KWARGS_PARAM}=none{}",
                &open[..close],
                &open[close..]
            );
            open.push_str(&format!(
                "{{% set varargs = {VARARGS_PARAM} if {VARARGS_PARAM} is not none else [] %}}\
                 {{% set kwargs = {KWARGS_PARAM} if {KWARGS_PARAM} is not none else {{}} %}}"
            ));
        }
        block.push_str(&open);
        block.push_str(&source[tag.end..end_tag.start]);
        let close = &source[end_tag.start..end_tag.end];
        block.push_str(&if is_test {
            close.replacen("endtest", "endmacro", 1)
        } else {
            close.to_owned()
        });
        // Pad so the template's lines and columns match the file's.
        let line_start = source[..tag.start].rfind('\n').map_or(0, |p| p + 1);
        let mut template = "\n".repeat(line as usize - 1);
        template.push_str(&" ".repeat(source[line_start..tag.start].chars().count()));
        template.push_str(&rewrite_template(&block));
        blocks.push(MacroBlock {
            name: full_name,
            line,
            template,
            original: original.to_owned(),
        });
        i = end_idx + 1;
    }
    Ok(blocks)
}

/// A macro file that cannot be split into macros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError {
    /// 1-based line of the offending tag.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

/// 1-based line number of a byte offset.
pub fn line_of(source: &str, offset: usize) -> u32 {
    source.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u32
        + 1
}

fn rename_macro_tag(tag: &str, name: &str, new_name: &str, is_test: bool) -> String {
    let kw = if is_test { "test" } else { "macro" };
    let kw_pos = tag.find(kw).unwrap_or(0);
    let name_pos = tag[kw_pos + kw.len()..]
        .find(name)
        .map_or(0, |p| p + kw_pos + kw.len());
    let mut out = String::with_capacity(tag.len() + new_name.len());
    out.push_str(&tag[..kw_pos]);
    out.push_str("macro");
    out.push_str(&tag[kw_pos + kw.len()..name_pos]);
    out.push_str(new_name);
    out.push_str(&tag[name_pos + name.len()..]);
    out
}

fn macro_name(tag: &str) -> Option<&str> {
    let body = tag_inner(tag).trim_start();
    let rest = body.split_once(char::is_whitespace)?.1.trim_start();
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    (end > 0).then(|| &rest[..end])
}

/// The keyword of a statement tag: `if` for `{%- if x %}`.
fn stmt_keyword(tag: &str) -> &str {
    let body = tag_inner(tag).trim_start();
    let end = body
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    &body[..end]
}

/// The tag without delimiters and whitespace-control markers.
fn tag_inner(tag: &str) -> &str {
    let inner = &tag[2..tag.len().saturating_sub(2).max(2)];
    let inner = inner.strip_prefix(['-', '+']).unwrap_or(inner);
    inner.strip_suffix(['-', '+']).unwrap_or(inner)
}

/// Finds every `{{ }}`, `{% %}` and `{# #}` in the source, skipping over string literals
/// inside tags so that a `%}` in a string does not end the tag. An unterminated tag runs to
/// the end of the source (minijinja reports the syntax error with its location).
fn scan_tags(source: &str) -> Vec<Tag> {
    let bytes = source.as_bytes();
    let mut tags = Vec::new();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] != b'{' {
            i += 1;
            continue;
        }
        let kind = match bytes[i + 1] {
            b'{' => TagKind::Expr,
            b'%' => TagKind::Stmt,
            b'#' => TagKind::Comment,
            _ => {
                i += 1;
                continue;
            }
        };
        let start = i;
        let end = match kind {
            TagKind::Comment => source[i + 2..]
                .find("#}")
                .map_or(bytes.len(), |p| i + 2 + p + 2),
            _ => find_tag_end(
                bytes,
                i + 2,
                if kind == TagKind::Expr { b'}' } else { b'%' },
            ),
        };
        tags.push(Tag { start, end, kind });
        i = end;
    }
    tags
}

fn find_tag_end(bytes: &[u8], mut i: usize, closer: u8) -> usize {
    let mut depth = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            b'}' if depth > 0 => depth -= 1,
            c if c == closer && depth == 0 && bytes.get(i + 1) == Some(&b'}') => return i + 2,
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

const TIMEDELTA_CALL: &str = "modules.datetime.timedelta(";

/// The index of the `)` matching the `(` at `open`, skipping strings.
fn matching_paren(bytes: &[u8], open: usize, end: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < end {
        match bytes[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < end && bytes[i] != q {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

const KEYWORDS: &[&str] = &[
    "in", "and", "or", "not", "if", "else", "is", "elif", "for", "set", "do", "return",
];

/// Rewrites list and dict literals inside one tag.
fn rewrite_tag_body(tag: &str, out: &mut String) {
    let bytes = tag.as_bytes();
    // The tag's own `{{`/`{%` and closing delimiters are copied verbatim.
    let body_start = 2;
    let body_end = tag.len().saturating_sub(2).max(2);
    out.push_str(&tag[..body_start]);
    let mut stack: Vec<bool> = Vec::new(); // true = literal we wrapped
    // What came before: used to tell `x[0]` (subscript) from `[0]` (literal).
    let mut prev_is_value = false;
    let mut i = body_start;
    while i < body_end {
        let c = bytes[i];
        match c {
            b'\'' | b'"' => {
                let start = i;
                i += 1;
                while i < body_end && bytes[i] != c {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i = (i + 1).min(body_end);
                out.push_str(&tag[start..i]);
                prev_is_value = true;
                continue;
            }
            b'[' => {
                // `x[:]` is Python's list copy: it must give a mutable list.
                let rest = &tag[i + 1..body_end];
                let close = rest.find(']');
                if prev_is_value && close.is_some_and(|c| rest[..c].trim() == ":") {
                    out.push_str(".__mfb_copy()");
                    i += 1 + close.unwrap_or(0) + 1;
                    prev_is_value = true;
                    continue;
                }
                if prev_is_value {
                    stack.push(false);
                    out.push('[');
                } else {
                    stack.push(true);
                    out.push_str("__mfb_list([");
                }
                prev_is_value = false;
            }
            b'{' => {
                stack.push(true);
                out.push_str("__mfb_dict({");
                prev_is_value = false;
            }
            b'(' => {
                stack.push(false);
                out.push('(');
                prev_is_value = false;
            }
            b']' | b'}' | b')' => {
                out.push(c as char);
                if stack.pop() == Some(true) {
                    out.push(')');
                }
                prev_is_value = true;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' => {
                let start = i;
                while i < body_end && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let word = &tag[start..i];
                out.push_str(word);
                prev_is_value = !KEYWORDS.contains(&word);
                continue;
            }
            b'+' | b'-'
                if tag[i + 1..body_end]
                    .trim_start()
                    .starts_with(TIMEDELTA_CALL) =>
            {
                // minijinja has no operators for objects: `d + modules.datetime.timedelta(..)`
                // becomes `d.__mfb_add(modules.datetime.timedelta(..))`.
                let start =
                    i + 1 + (tag[i + 1..body_end].len() - tag[i + 1..body_end].trim_start().len());
                let open = start + TIMEDELTA_CALL.len() - 1;
                let close = matching_paren(tag.as_bytes(), open, body_end).unwrap_or(body_end - 1);
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push_str(if c == b'+' {
                    ".__mfb_add("
                } else {
                    ".__mfb_sub("
                });
                out.push_str(&tag[start..=close]);
                out.push(')');
                i = close + 1;
                prev_is_value = true;
                continue;
            }
            c if c.is_ascii_whitespace() => out.push(c as char),
            _ => {
                // Copy the whole UTF-8 character.
                let ch = tag[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8();
                prev_is_value = false;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&tag[body_end..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_list_and_dict_literals_but_not_subscripts() {
        assert_eq!(
            rewrite_template("{% set x = [] %}"),
            "{% set x = __mfb_list([]) %}"
        );
        assert_eq!(
            rewrite_template("{{ a[0] }}{{ f([1, {'k': [2]}]) }}"),
            "{{ a[0] }}{{ f(__mfb_list([1, __mfb_dict({'k': __mfb_list([2])})])) }}"
        );
        assert_eq!(
            rewrite_template("{{ x in [1] }}"),
            "{{ x in __mfb_list([1]) }}"
        );
        assert_eq!(rewrite_template("{{ d['k'][1:] }}"), "{{ d['k'][1:] }}");
        assert_eq!(
            rewrite_template("{{ (d - modules.datetime.timedelta(days=f(1))).year }}"),
            "{{ (d.__mfb_sub(modules.datetime.timedelta(days=f(1)))).year }}"
        );
        assert_eq!(rewrite_template("{{ a - b }}"), "{{ a - b }}");
        assert_eq!(
            rewrite_template("{% set c = items[ : ] %}"),
            "{% set c = items.__mfb_copy() %}"
        );
    }

    #[test]
    fn leaves_text_strings_comments_and_raw_alone() {
        let src = "select '[x]' {# [a] #} {{ \"[no]\" }} {% raw %}{{ [1] }}{% endraw %} [{1}]";
        assert_eq!(rewrite_template(src), src);
    }

    #[test]
    fn tag_end_inside_string_does_not_end_the_tag() {
        assert_eq!(
            rewrite_template("{{ '}}' ~ [1] }}"),
            "{{ '}}' ~ __mfb_list([1]) }}"
        );
    }

    #[test]
    fn splits_macros_and_tests_keeping_lines() {
        let src = "top\n{% macro a(x) %}{{ b() }}{% endmacro %}\n\n  {%- test t(model) -%}\nselect 1\n{%- endtest %}";
        let blocks = split_macros(src).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].name, "a");
        assert_eq!(blocks[0].line, 2);
        assert_eq!(
            blocks[0].template,
            "\n{% macro __mfb_macro__a(x) %}{{ b() }}{% endmacro %}"
        );
        assert_eq!(blocks[1].name, "test_t");
        assert_eq!(blocks[1].line, 4);
        assert_eq!(
            blocks[1].template,
            "\n\n\n  {%- macro __mfb_macro__test_t(model) -%}\nselect 1\n{%- endmacro %}"
        );
    }

    #[test]
    fn unclosed_macro_is_an_error_with_its_line() {
        let err = split_macros("\n{% macro a() %}\nselect").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn skips_materializations() {
        let src =
            "{% materialization m, default %}{% endmaterialization %}{% macro z() %}{% endmacro %}";
        let names: Vec<_> = split_macros(src)
            .unwrap()
            .into_iter()
            .map(|b| b.name)
            .collect();
        assert_eq!(names, ["z"]);
    }
}
