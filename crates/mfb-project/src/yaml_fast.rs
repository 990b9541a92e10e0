//! A fast reader for the plain block-style YAML that properties files are made of.
//!
//! serde_yaml spends most of project loading time building events; dbt properties files
//! use a small part of YAML (block mappings and sequences, plain and quoted scalars, short
//! flow lists and mappings, `|`/`>` descriptions). This reader handles exactly that part
//! and answers `None` for anything else (anchors, tags, multi-line plain or quoted
//! scalars, floats other than `1.5`, ...), so the caller falls back to serde_yaml. For the
//! input it accepts it returns what `serde_yaml::from_str::<serde_json::Value>` returns; a
//! differential test checks this on every YAML file of the fixtures.

use serde_json::{Map, Number, Value};

/// Parses `text`, or `None` when it uses YAML this reader leaves to serde_yaml.
pub(crate) fn parse(text: &str) -> Option<Value> {
    let raw: Vec<&str> = text.lines().collect();
    let mut p = Parser {
        raw,
        lines: Vec::new(),
        pos: 0,
    };
    for (i, line) in p.raw.iter().enumerate() {
        let indent = line.bytes().take_while(|b| *b == b' ').count();
        let rest = &line[indent..];
        let trimmed = rest.trim_end();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if rest.starts_with('\t')
            || (indent == 0
                && (rest.starts_with("---") || rest.starts_with("...") || rest.starts_with('%')))
        {
            return None;
        }
        p.lines.push(Line {
            indent,
            text: trimmed,
            raw_index: i,
        });
    }
    if p.lines.is_empty() {
        return Some(Value::Null);
    }
    let indent = p.lines[0].indent;
    let value = p.node(indent)?;
    // Anything left over means structure this reader did not follow.
    (p.pos == p.lines.len()).then_some(value)
}

#[derive(Clone, Copy)]
struct Line<'a> {
    indent: usize,
    /// Content after the indentation, trailing whitespace removed.
    text: &'a str,
    raw_index: usize,
}

struct Parser<'a> {
    raw: Vec<&'a str>,
    lines: Vec<Line<'a>>,
    pos: usize,
}

fn is_seq_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Line<'a>> {
        self.lines.get(self.pos).copied()
    }

    /// A block node whose first line is the current one, at `indent`.
    fn node(&mut self, indent: usize) -> Option<Value> {
        let line = self.peek()?;
        if line.indent != indent {
            return None;
        }
        if is_seq_item(line.text) {
            self.sequence(indent)
        } else {
            self.mapping(indent)
        }
    }

    fn sequence(&mut self, indent: usize) -> Option<Value> {
        let mut items = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent != indent || !is_seq_item(line.text) {
                break;
            }
            let after = &line.text[1..];
            let rest = after.trim_start();
            if rest.is_empty() || rest.starts_with('#') {
                self.pos += 1;
                items.push(self.nested_or_null(indent, false)?);
                continue;
            }
            let col = indent + 1 + (after.len() - rest.len());
            if is_seq_item(rest) || find_key(rest).is_some() {
                // `- key: v` / `- - x`: the rest of the line starts a node at its column.
                self.lines[self.pos] = Line {
                    indent: col,
                    text: rest,
                    raw_index: line.raw_index,
                };
                items.push(self.node(col)?);
                continue;
            }
            self.pos += 1;
            items.push(self.inline_value(rest, indent, line.raw_index)?);
        }
        Some(Value::Array(items))
    }

    fn mapping(&mut self, indent: usize) -> Option<Value> {
        let mut map = Map::new();
        while let Some(line) = self.peek() {
            if line.indent != indent || is_seq_item(line.text) {
                break;
            }
            let (key, rest) = find_key(line.text)?;
            self.pos += 1;
            let value = if rest.is_empty() || rest.starts_with('#') {
                self.nested_or_null(indent, true)?
            } else {
                self.inline_value(rest, indent, line.raw_index)?
            };
            map.insert(key, value);
        }
        Some(Value::Object(map))
    }

    /// The value of a key or item with nothing after it on its line.
    fn nested_or_null(&mut self, indent: usize, same_indent_seq: bool) -> Option<Value> {
        match self.peek() {
            Some(next) if next.indent > indent => self.node(next.indent),
            Some(next) if same_indent_seq && next.indent == indent && is_seq_item(next.text) => {
                self.sequence(indent)
            }
            _ => Some(Value::Null),
        }
    }

    /// A value written after `key: ` or `- ` on the line `raw_index` of a node at `indent`.
    fn inline_value(&mut self, rest: &str, indent: usize, raw_index: usize) -> Option<Value> {
        let first = rest.as_bytes()[0];
        let value = match first {
            b'|' | b'>' => return self.block_scalar(rest, indent, raw_index),
            b'"' | b'\'' | b'[' | b'{' => {
                let mut cursor = Cursor { s: rest, i: 0 };
                let v = cursor.flow_value(false)?;
                cursor.skip_spaces();
                if !cursor.at_end_or_comment() {
                    return None;
                }
                v
            }
            _ => plain_scalar(strip_comment(rest))?,
        };
        // A more indented line after a one-line value would be a continuation.
        if self.peek().is_some_and(|l| l.indent > indent) {
            return None;
        }
        Some(value)
    }

    fn block_scalar(&mut self, header: &str, indent: usize, raw_index: usize) -> Option<Value> {
        let header = strip_comment(header);
        let folded = header.starts_with('>');
        let chomp = match &header[1..] {
            "" => Chomp::Clip,
            "-" => Chomp::Strip,
            "+" => Chomp::Keep,
            _ => return None,
        };
        // Content: raw lines after the header that are blank or indented more than `indent`.
        let mut content: Vec<&str> = Vec::new();
        let mut i = raw_index + 1;
        while i < self.raw.len() {
            let l = self.raw[i];
            let ind = l.bytes().take_while(|b| *b == b' ').count();
            if !l.trim().is_empty() && ind <= indent {
                break;
            }
            content.push(l);
            i += 1;
        }
        // Drop the parsed lines that belong to the scalar.
        while self.peek().is_some_and(|l| l.raw_index < i) {
            self.pos += 1;
        }
        let Some(first) = content.iter().position(|l| !l.trim().is_empty()) else {
            return Some(Value::String(String::new()));
        };
        if first > 0 {
            return None;
        }
        let block_indent = content[0].bytes().take_while(|b| *b == b' ').count();
        let mut body: Vec<&str> = Vec::with_capacity(content.len());
        for l in &content {
            if l.trim().is_empty() {
                if l.len() > block_indent {
                    return None; // whitespace-only lines with content spaces: leave to serde_yaml
                }
                body.push("");
            } else {
                let ind = l.bytes().take_while(|b| *b == b' ').count();
                if ind < block_indent
                    || (folded && ind > block_indent)
                    || l[ind..].starts_with('\t')
                {
                    return None;
                }
                body.push(&l[block_indent..]);
            }
        }
        let trailing_blank = body.iter().rev().take_while(|l| l.is_empty()).count();
        let lines = &body[..body.len() - trailing_blank];
        let mut out = String::new();
        if folded {
            let mut pending_breaks = 0;
            for (n, l) in lines.iter().enumerate() {
                if l.is_empty() {
                    pending_breaks += 1;
                    continue;
                }
                if n > 0 {
                    if pending_breaks == 0 {
                        out.push(' ');
                    } else {
                        out.extend(std::iter::repeat_n('\n', pending_breaks));
                    }
                }
                pending_breaks = 0;
                out.push_str(l);
            }
        } else {
            out = lines.join("\n");
        }
        match chomp {
            Chomp::Strip => {}
            Chomp::Clip => out.push('\n'),
            Chomp::Keep => out.extend(std::iter::repeat_n('\n', trailing_blank + 1)),
        }
        Some(Value::String(out))
    }
}

enum Chomp {
    Clip,
    Strip,
    Keep,
}

/// `key: rest` -> (key, rest after the colon and spaces). Keys may be plain or quoted.
fn find_key(text: &str) -> Option<(String, &str)> {
    let bytes = text.as_bytes();
    let (key, after) = match bytes[0] {
        b'"' | b'\'' => {
            let mut cursor = Cursor { s: text, i: 0 };
            let key = cursor.quoted()?;
            cursor.skip_spaces();
            let i = cursor.i;
            if bytes.get(i) != Some(&b':') {
                return None;
            }
            (key, i + 1)
        }
        b'[' | b'{' | b'&' | b'*' | b'!' | b'?' | b'|' | b'>' | b'%' | b'@' | b'`' | b'#'
        | b',' => return None,
        _ => {
            let mut i = 0;
            loop {
                match bytes.get(i) {
                    None => return None,
                    Some(b':') if i + 1 == bytes.len() || bytes[i + 1] == b' ' => break,
                    Some(b'#') if i > 0 && bytes[i - 1] == b' ' => return None,
                    _ => i += 1,
                }
            }
            let key = text[..i].trim_end();
            if key.is_empty() || key == "<<" || key.contains(": ") {
                return None;
            }
            // Keys that read as numbers, booleans or null keep their text in serde_yaml.
            (key.to_owned(), i + 1)
        }
    };
    if after < bytes.len() && bytes[after] != b' ' {
        return None;
    }
    Some((key, text[after..].trim_start()))
}

fn strip_comment(s: &str) -> &str {
    match s.find(" #") {
        Some(i) => s[..i].trim_end(),
        None => s,
    }
}

/// A plain scalar resolved like serde_yaml (YAML 1.2 core schema), or `None` when it
/// needs more than the simple rules below.
fn plain_scalar(s: &str) -> Option<Value> {
    if s.is_empty() {
        return Some(Value::Null);
    }
    let b = s.as_bytes();
    if matches!(
        b[0],
        b'[' | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
            | b'?'
            | b','
            | b'+'
            | b'.'
    ) || (b[0] == b':' || b[0] == b'-') && b.len() > 1 && b[1] == b' '
    {
        return None;
    }
    if s.contains(": ") || s.ends_with(':') || s.contains('\t') {
        return None;
    }
    match s {
        "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    let numeric_start = b[0].is_ascii_digit() || (b[0] == b'-' && b.len() > 1);
    if numeric_start {
        let digits = s.strip_prefix('-').unwrap_or(s);
        if digits.bytes().all(|c| c.is_ascii_digit()) && !digits.is_empty() {
            if (digits.len() > 1 && digits.starts_with('0')) || s == "-0" {
                return None;
            }
            return s.parse::<i64>().ok().map(|n| Value::Number(n.into()));
        }
        if let Some((int, frac)) = digits.split_once('.') {
            let simple = !int.is_empty()
                && !frac.is_empty()
                && int.bytes().all(|c| c.is_ascii_digit())
                && frac.bytes().all(|c| c.is_ascii_digit())
                && !(int.len() > 1 && int.starts_with('0'));
            if simple {
                return s
                    .parse::<f64>()
                    .ok()
                    .and_then(Number::from_f64)
                    .map(Value::Number);
            }
        }
        // Dates, versions, hex, exponents, ...: serde_yaml decides.
        return None;
    }
    if b[0] == b'-' {
        // `-` alone or `-x`: leave the odd cases to serde_yaml.
        return None;
    }
    Some(Value::String(s.to_owned()))
}

/// A cursor over one line, for quoted scalars and flow collections.
struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn at_end_or_comment(&self) -> bool {
        self.i >= self.s.len()
            || self.s[self.i..].starts_with('#') && self.s.as_bytes()[self.i - 1] == b' '
    }

    fn quoted(&mut self) -> Option<String> {
        let quote = self.peek()?;
        self.i += 1;
        let mut out = String::new();
        let rest = &self.s[self.i..];
        let mut chars = rest.char_indices();
        while let Some((k, c)) = chars.next() {
            match c {
                '\'' if quote == b'\'' => {
                    if rest[k + 1..].starts_with('\'') {
                        out.push('\'');
                        chars.next();
                    } else {
                        self.i += k + 1;
                        return Some(out);
                    }
                }
                '"' if quote == b'"' => {
                    self.i += k + 1;
                    return Some(out);
                }
                '\\' if quote == b'"' => {
                    let (_, e) = chars.next()?;
                    out.push(match e {
                        '\\' => '\\',
                        '"' => '"',
                        '/' => '/',
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '0' => '\0',
                        _ => return None,
                    });
                }
                _ => out.push(c),
            }
        }
        None // not closed on this line
    }

    /// A value inside (or starting) a flow collection.
    fn flow_value(&mut self, in_flow: bool) -> Option<Value> {
        self.skip_spaces();
        match self.peek()? {
            b'"' | b'\'' => self.quoted().map(Value::String),
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_spaces();
                    match self.peek()? {
                        b']' => {
                            self.i += 1;
                            return Some(Value::Array(items));
                        }
                        _ => items.push(self.flow_value(true)?),
                    }
                    self.skip_spaces();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {}
                        _ => return None,
                    }
                }
            }
            b'{' => {
                self.i += 1;
                let mut map = Map::new();
                loop {
                    self.skip_spaces();
                    if self.peek()? == b'}' {
                        self.i += 1;
                        return Some(Value::Object(map));
                    }
                    let key = match self.peek()? {
                        b'"' | b'\'' => self.quoted()?,
                        _ => {
                            let start = self.i;
                            while let Some(c) = self.peek() {
                                if c == b':' || c == b',' || c == b'}' || c == b'[' || c == b'{' {
                                    break;
                                }
                                self.i += 1;
                            }
                            let k = self.s[start..self.i].trim();
                            if k.is_empty() {
                                return None;
                            }
                            k.to_owned()
                        }
                    };
                    self.skip_spaces();
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.i += 1;
                    if self.peek() != Some(b' ') {
                        return None;
                    }
                    let value = self.flow_value(true)?;
                    map.insert(key, value);
                    self.skip_spaces();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b'}' => {}
                        _ => return None,
                    }
                }
            }
            _ if in_flow => {
                let start = self.i;
                while let Some(c) = self.peek() {
                    if c == b','
                        || c == b']'
                        || c == b'}'
                        || c == b'['
                        || c == b'{'
                        || c == b'#'
                        || c == b':'
                    {
                        break;
                    }
                    self.i += 1;
                }
                if matches!(self.peek(), Some(b'#' | b':' | b'[' | b'{')) {
                    return None;
                }
                let text = self.s[start..self.i].trim();
                if text.is_empty() {
                    return None;
                }
                plain_scalar(text)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast reader must agree with serde_yaml whenever it answers.
    fn agree(text: &str) -> bool {
        let fast = parse(text);
        let slow: Option<Value> = serde_yaml::from_str(text).ok();
        match fast {
            Some(v) => {
                assert_eq!(Some(&v), slow.as_ref(), "fast reader differs on:\n{text}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn agrees_with_serde_yaml_on_typical_properties() {
        let text = r#"version: 2

models:
  - name: orders   # trailing comment
    description: "One row per \"order\"."
    config: {materialized: table, tags: ['a', "b"], enabled: true}
    meta:
      owner: '@ana'
      tier: 1
      ratio: 0.5
      nothing: ~
    columns:
      - name: id
        tests:
          - unique
          - accepted_values:
              values: ['placed', 'it''s', "x: y"]
              quote: false
      -
        name: empty_item
    docs:
      show: True
  - name: second
    description: |
      Line one.
        indented.

      After a blank.
    summary: >-
      Folded
      text here.

      New paragraph.
sources:
- name: raw
  tables: []
  meta: {}
"#;
        assert!(agree(text));
        let v = parse(text).unwrap();
        assert_eq!(
            v["models"][1]["summary"],
            Value::String("Folded text here.\nNew paragraph.".into())
        );
    }

    #[test]
    fn leaves_unusual_yaml_to_serde_yaml() {
        for text in [
            "a: &x 1\nb: *x\n",
            "a: !tag x\n",
            "a: 1.0e3\n",
            "a: 2024-01-01\n",
            "a: 0x1F\n",
            "a: plain\n  continued\n",
            "a: \"open\n  quote\"\n",
            "a: [1,\n  2]\n",
            "? complex\n: key\n",
            "--- \na: 1\n",
            "a: .inf\n",
            "a: 007\n",
            "a: +1\n",
            "a: |2\n   x\n",
        ] {
            assert!(!agree(text), "fast reader should bail on {text:?}");
        }
    }

    #[test]
    fn handles_edge_cases_the_same_way() {
        for text in [
            "",
            "# only\n",
            "a:\n",
            "a:\n- 1\n- -2\n",
            "'quoted key': \"v\"\n\"k2\": 'v'\n",
            "a: b # c\n",
            "a: b#c\n",
            "dup: 1\ndup: 2\n",
            "1: one\ntrue: yes\n",
            "- - a\n  - b\n- c\n",
            "a: |\n  x\n\n\nb: 1\n",
            "a: |+\n  x\n\nb: 1\n",
            "a: >\n  x\n  y\n",
            "a: yes\nb: off\nc: -\nd: 'x'\n",
            "a: {x: [1, 2, {y: z}], 'q': \"r\"}\n",
            "a: \"tab\\tnew\\nline\\\\ \\\" \"\n",
            "key with spaces: value with spaces\n",
            "a: 12345678901234567890\n",
        ] {
            let _ = agree(text);
        }
        assert!(agree("- - a\n  - b\n- c\n"));
        assert!(agree("dup: 1\ndup: 2\n"));
    }

    #[test]
    fn agrees_with_serde_yaml_on_every_fixture_file() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut fast = 0;
        let mut total = 0;
        for entry in walkdir::WalkDir::new(&root).into_iter().flatten() {
            let path = entry.path();
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if ext != "yml" && ext != "yaml" {
                continue;
            }
            let text = std::fs::read_to_string(path).unwrap();
            if serde_yaml::from_str::<Value>(&text).is_err() {
                continue;
            }
            total += 1;
            if agree(&text) {
                fast += 1;
            }
        }
        assert!(total >= 20, "only {total} YAML fixtures");
        assert!(
            fast * 10 >= total * 8,
            "the fast reader handled only {fast} of {total} files"
        );
    }
}
