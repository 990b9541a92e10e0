//! Writing YAML the way dbt does for `package-lock.yml` and for the packages file that
//! `deps --add-package` rewrites: PyYAML's block style with keys sorted, list items indented
//! under their key, strings left plain unless a YAML 1.1 reader would take them for something
//! else (`'1.0'`, `'yes'`, `'>=1.0.0'`), long values folded after column 80. Writing what dbt
//! writes keeps the two tools from rewriting each other's files. Comments are not kept (dbt
//! does not keep them either).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// Where PyYAML folds a long plain or quoted scalar (at the next single space).
const WIDTH: usize = 80;

/// The document for `value` (a mapping or list), ending with a newline.
pub fn dump(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => write_map(m, 0, 0, &mut out),
        Value::Array(a) if !a.is_empty() => write_seq(a, 0, 0, &mut out),
        other => {
            out.push_str(&scalar(other, Some((0, 2))));
            out.push('\n');
        }
    }
    out
}

/// The last line's length in `out` (the column the next character lands in).
fn column(out: &str) -> usize {
    out.len() - out.rfind('\n').map_or(0, |i| i + 1)
}

/// A mapping whose entries sit at `indent`; the first one continues the current line
/// (after `- `) when `column` is not 0.
fn write_map(
    m: &serde_json::Map<String, Value>,
    indent: usize,
    column_now: usize,
    out: &mut String,
) {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 || column_now == 0 {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&string(k, None));
        out.push(':');
        match &m[k] {
            Value::Object(inner) if !inner.is_empty() => {
                out.push('\n');
                write_map(inner, indent + 2, 0, out);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                write_seq(items, indent + 2, 0, out);
            }
            v => {
                out.push(' ');
                let at = column(out);
                out.push_str(&scalar(v, Some((at, indent + 2))));
                out.push('\n');
            }
        }
    }
}

/// A list whose `- ` sit at `indent` (the first continuing the current line when `column`
/// is not 0).
fn write_seq(items: &[Value], indent: usize, column_now: usize, out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || column_now == 0 {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str("- ");
        let at = column(out);
        match item {
            Value::Object(m) if !m.is_empty() => write_map(m, indent + 2, at, out),
            Value::Array(a) if !a.is_empty() => write_seq(a, indent + 2, at, out),
            v => {
                out.push_str(&scalar(v, Some((at, indent + 2))));
                out.push('\n');
            }
        }
    }
}

/// A scalar; `wrap` is `(column it starts at, indent of folded lines)`, `None` for keys.
fn scalar(v: &Value, wrap: Option<(usize, usize)>) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s, wrap),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A string as a plain scalar when a YAML 1.1 reader gets the same string back, else
/// single-quoted; double-quoted (with escapes) when it holds anything but printable ASCII.
/// `wrap` as for [`scalar`].
pub fn string(s: &str, wrap: Option<(usize, usize)>) -> String {
    if s.chars().any(|c| !(' '..='~').contains(&c)) {
        return double_quoted(s);
    }
    if plain_allowed(s) && !IMPLICIT.iter().any(|re| re.is_match(s)) {
        return fold(s, wrap, false);
    }
    fold(&s.replace('\'', "''"), wrap, true)
}

/// Writes `s`, breaking at a single space once past [`WIDTH`] (quoted: not at its ends).
fn fold(s: &str, wrap: Option<(usize, usize)>, quoted: bool) -> String {
    let mut out = String::new();
    if quoted {
        out.push('\'');
    }
    let Some((at, indent)) = wrap else {
        out.push_str(s);
        if quoted {
            out.push('\'');
        }
        return out;
    };
    let mut col = at + usize::from(quoted);
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == ' ' {
            let run = chars[i..].iter().take_while(|c| **c == ' ').count();
            let inner = !quoted || (i > 0 && i + run < chars.len());
            if run == 1 && col > WIDTH && inner {
                out.push('\n');
                out.push_str(&" ".repeat(indent));
                col = indent;
            } else {
                out.push_str(&" ".repeat(run));
                col += run;
            }
            i += run;
        } else {
            out.push(chars[i]);
            col += 1;
            i += 1;
        }
    }
    if quoted {
        out.push('\'');
    }
    out
}

/// Whether YAML's block context can hold `s` unquoted (no indicator in the way).
fn plain_allowed(s: &str) -> bool {
    if s.is_empty() || s.starts_with(' ') || s.ends_with(' ') {
        return false;
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_space = chars.get(i + 1).is_none_or(|n| *n == ' ');
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(c) {
                return false;
            }
            if "?:-".contains(c) && followed_by_space {
                return false;
            }
        } else if (c == ':' && followed_by_space) || (c == '#' && chars[i - 1] == ' ') {
            return false;
        }
    }
    true
}

/// What a YAML 1.1 reader (PyYAML's) takes for a bool, int, float, null, timestamp,
/// merge key or value key when unquoted.
static IMPLICIT: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
        r"^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
        r"^(?:<<|=|~|null|Null|NULL)$",
        r"^(?:[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?|[0-9]{4}-[0-9]{2}-[0-9]{2})$",
    ]
    .iter()
    .map(|p| Regex::new(p).expect("valid pattern"))
    .collect()
});

/// A double-quoted scalar with YAML escapes (`\t`, `\n`, `\xE9`, `\u20AC`).
fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{0b}' => out.push_str("\\v"),
            '\u{0c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            c if (' '..='~').contains(&c) => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02X}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // The expected texts are what PyYAML 6 (dbt-core 1.10.9's) wrote for the same data with
    // dbt's dumper (`default_flow_style=False`, list items indented).
    #[test]
    fn writes_like_dbt() {
        let v = json!({"packages": [
            {"package": "a/b", "version": [">=1.0.0", "<2.0.0"], "install_prerelease": true},
            {"local": "é"},
            {"git": "{{ env_var(\"X\") }}", "revision": 1.0, "x": null, "y": "1.0", "z": "yes",
             "w": "", "q": "it's", "n": 3, "m": {}, "l": [], "nested": {"b": 1, "a": [{"k": "v"}]},
             "tab": "~1.0", "c": "a #b", "d": "@x", "e": "-1", "f": "0x10", "g": "null", "h": "~"}
        ], "projects": [{"name": "p"}]});
        assert_eq!(
            dump(&v),
            "packages:\n  - install_prerelease: true\n    package: a/b\n    version:\n      - '>=1.0.0'\n      - <2.0.0\n  - local: \"\\xE9\"\n  - c: 'a #b'\n    d: '@x'\n    e: '-1'\n    f: '0x10'\n    g: 'null'\n    git: '{{ env_var(\"X\") }}'\n    h: '~'\n    l: []\n    m: {}\n    n: 3\n    nested:\n      a:\n        - k: v\n      b: 1\n    q: it's\n    revision: 1.0\n    tab: ~1.0\n    w: ''\n    x: null\n    y: '1.0'\n    z: 'yes'\nprojects:\n  - name: p\n"
        );
    }

    #[test]
    fn quotes_and_folds_like_dbt() {
        let v = json!({"packages": [
            {"git": "https://{{ env_var(\"DBT_ENV_SECRET_GIT_CREDENTIAL\") }}@github.com/dbt-labs/awesome_repo.git"},
            {"local": "a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h i j k l m n o p q r s t u v w x y z"},
            {"local": "{{ env_var(\"X\") }} and a long tail of words to go beyond eighty characters in width ok"},
            {"git": "-x", "a": "a:b", "b": "a: b", "c": ":x", "d": "? x", "e": "x:", "f": "2001-12-14",
             "g": "1_000", "h": ".5", "i": "+1", "j": "0o7", "k": "=", "l": "<<", "m": ".inf", "n": "On",
             "o": "y", "p": "1e3", "q": "1.0e+3", "r": "x ", "s": " x", "t": "a\tb"}
        ]});
        assert_eq!(
            dump(&v),
            "packages:\n  - git: https://{{ env_var(\"DBT_ENV_SECRET_GIT_CREDENTIAL\") }}@github.com/dbt-labs/awesome_repo.git\n  - local: a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h i j\n      k l m n o p q r s t u v w x y z\n  - local: '{{ env_var(\"X\") }} and a long tail of words to go beyond eighty characters\n      in width ok'\n  - a: a:b\n    b: 'a: b'\n    c: :x\n    d: '? x'\n    e: 'x:'\n    f: '2001-12-14'\n    g: '1_000'\n    git: -x\n    h: '.5'\n    i: '+1'\n    j: 0o7\n    k: '='\n    l: '<<'\n    m: '.inf'\n    n: 'On'\n    o: y\n    p: 1e3\n    q: '1.0e+3'\n    r: 'x '\n    s: ' x'\n    t: \"a\\tb\"\n"
        );
    }
}
