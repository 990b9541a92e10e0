//! Line numbers for YAML values: serde_yaml gives no spans for parsed values, so a light
//! scanner rebuilds the block structure (mapping keys, sequence items) from indentation.
//!
//! It only needs to be right for YAML that serde_yaml has already accepted. Block scalars
//! (`|`, `>`), multi-line quoted scalars and flow collections (`[...]`, `{...}`) are
//! skipped as leaves: anything inside them gets the line where they start.

use std::borrow::Cow;

/// A node of the block structure: the line where it starts and its children.
#[derive(Debug, Default)]
pub(crate) struct LineNode<'a> {
    /// 1-based line of the key (mapping entry) or of the `-` (sequence item).
    pub line: u32,
    /// 1-based column of the key or the `-`.
    pub column: u32,
    children: Children<'a>,
}

#[derive(Debug, Default)]
enum Children<'a> {
    #[default]
    Leaf,
    Map(Vec<(Cow<'a, str>, LineNode<'a>)>),
    Seq(Vec<LineNode<'a>>),
}

impl<'a> LineNode<'a> {
    /// The entry of key `key`, if this node is a block mapping holding it.
    pub(crate) fn key(&self, key: &str) -> Option<&LineNode<'a>> {
        match &self.children {
            Children::Map(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|(_, n)| n),
            _ => None,
        }
    }

    /// The `index`-th item, if this node is a block sequence.
    pub(crate) fn item(&self, index: usize) -> Option<&LineNode<'a>> {
        match &self.children {
            Children::Seq(items) => items.get(index),
            _ => None,
        }
    }

    /// The line of `key`, or this node's line when the key has no line of its own.
    pub(crate) fn key_line(&self, key: &str) -> u32 {
        self.key(key).map_or(self.line, |n| n.line)
    }
}

/// An empty tree: every lookup answers "no line" (callers fall back to line 0 or a parent).
pub(crate) fn empty() -> LineNode<'static> {
    LineNode::default()
}

#[derive(Debug)]
struct Token<'a> {
    line: u32,
    col: usize,
    kind: TokenKind<'a>,
}

#[derive(Debug)]
enum TokenKind<'a> {
    Dash,
    /// A mapping key; `inline` when its value starts on the same line.
    Key {
        name: Cow<'a, str>,
        inline: bool,
    },
    Scalar,
}

enum State {
    Normal,
    /// Inside a block scalar: lines indented more than `parent_col` (or blank) belong to it.
    Block {
        parent_col: usize,
    },
    /// Inside a quoted scalar that spans lines.
    Quoted {
        quote: u8,
    },
    /// Inside a flow collection that spans lines.
    Flow {
        depth: usize,
        quote: Option<u8>,
    },
}

/// Builds the block structure of `text`.
pub(crate) fn scan(text: &str) -> LineNode<'_> {
    let tokens = tokenize(text);
    let mut i = 0;
    let mut root = LineNode {
        line: 1,
        column: 1,
        children: Children::Leaf,
    };
    root.children = parse_value(&tokens, &mut i, -1, false);
    root
}

fn tokenize(text: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut state = State::Normal;
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx as u32 + 1;
        let bytes = raw.as_bytes();
        let indent = bytes.iter().take_while(|b| **b == b' ').count();
        let blank = bytes[indent..].iter().all(|b| b.is_ascii_whitespace());
        match state {
            State::Block { parent_col } => {
                if blank || indent > parent_col {
                    continue;
                }
                state = State::Normal;
            }
            State::Quoted { quote } => {
                if find_closing_quote(bytes, 0, quote).is_some() {
                    state = State::Normal;
                }
                continue;
            }
            State::Flow { depth, quote } => {
                state = match scan_flow(bytes, 0, depth, quote) {
                    (0, _) => State::Normal,
                    (d, q) => State::Flow { depth: d, quote: q },
                };
                continue;
            }
            State::Normal => {}
        }
        if blank || bytes[indent] == b'#' {
            continue;
        }
        if indent == 0 && (raw.starts_with("---") || raw.starts_with("...")) {
            continue;
        }
        let mut p = indent;
        loop {
            // Sequence dashes, possibly several on one line (`- - a`).
            if bytes[p] == b'-'
                && (p + 1 == bytes.len() || bytes[p + 1] == b' ' || bytes[p + 1] == b'\t')
            {
                tokens.push(Token {
                    line: line_no,
                    col: p,
                    kind: TokenKind::Dash,
                });
                let dash_col = p;
                p += 1;
                while p < bytes.len() && (bytes[p] == b' ' || bytes[p] == b'\t') {
                    p += 1;
                }
                if p >= bytes.len() || bytes[p] == b'#' {
                    break;
                }
                if bytes[p] == b'|' || bytes[p] == b'>' {
                    tokens.push(Token {
                        line: line_no,
                        col: p,
                        kind: TokenKind::Scalar,
                    });
                    state = State::Block {
                        parent_col: dash_col,
                    };
                    break;
                }
                continue;
            }
            let (token, next_state) = scan_entry(raw, p, line_no);
            tokens.push(token);
            if let Some(s) = next_state {
                state = s;
            }
            break;
        }
    }
    tokens
}

/// Scans what starts at `p` (after any dashes): a `key: value` entry or a scalar.
fn scan_entry(raw: &str, p: usize, line: u32) -> (Token<'_>, Option<State>) {
    let bytes = raw.as_bytes();
    let col = p;
    let first = bytes[p];
    let (key_end, key_name) = if first == b'"' || first == b'\'' {
        match find_closing_quote(bytes, p + 1, first) {
            Some(close) => {
                let mut q = close + 1;
                while q < bytes.len() && bytes[q] == b' ' {
                    q += 1;
                }
                if q < bytes.len()
                    && bytes[q] == b':'
                    && (q + 1 == bytes.len() || is_space(bytes[q + 1]))
                {
                    let name = unquote(&raw[p + 1..close], first);
                    (Some(q), name)
                } else {
                    (None, Cow::Borrowed(""))
                }
            }
            // A quoted scalar that goes on past this line.
            None => {
                return (
                    Token {
                        line,
                        col,
                        kind: TokenKind::Scalar,
                    },
                    Some(State::Quoted { quote: first }),
                );
            }
        }
    } else if first == b'[' || first == b'{' {
        let state = match scan_flow(bytes, p, 0, None) {
            (0, _) => None,
            (d, q) => Some(State::Flow { depth: d, quote: q }),
        };
        return (
            Token {
                line,
                col,
                kind: TokenKind::Scalar,
            },
            state,
        );
    } else {
        match find_plain_colon(bytes, p) {
            Some(q) => (Some(q), Cow::Borrowed(raw[p..q].trim_end())),
            None => (None, Cow::Borrowed("")),
        }
    };
    let Some(colon) = key_end else {
        return (
            Token {
                line,
                col,
                kind: TokenKind::Scalar,
            },
            None,
        );
    };
    let mut v = colon + 1;
    while v < bytes.len() && is_space(bytes[v]) {
        v += 1;
    }
    // Anchors and tags before a nested value: `key: &anchor` / `key: !tag`.
    while v < bytes.len() && (bytes[v] == b'&' || bytes[v] == b'!') {
        while v < bytes.len() && !is_space(bytes[v]) {
            v += 1;
        }
        while v < bytes.len() && is_space(bytes[v]) {
            v += 1;
        }
    }
    if v >= bytes.len() || bytes[v] == b'#' {
        return (
            Token {
                line,
                col,
                kind: TokenKind::Key {
                    name: key_name,
                    inline: false,
                },
            },
            None,
        );
    }
    let state = match bytes[v] {
        b'|' | b'>' => Some(State::Block { parent_col: col }),
        b'"' | b'\'' => find_closing_quote(bytes, v + 1, bytes[v])
            .is_none()
            .then_some(State::Quoted { quote: bytes[v] }),
        b'[' | b'{' => match scan_flow(bytes, v, 0, None) {
            (0, _) => None,
            (d, q) => Some(State::Flow { depth: d, quote: q }),
        },
        _ => None,
    };
    (
        Token {
            line,
            col,
            kind: TokenKind::Key {
                name: key_name,
                inline: true,
            },
        },
        state,
    )
}

fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The `:` ending a plain key (followed by a space or the end of the line), if any.
fn find_plain_colon(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b':' if i + 1 == bytes.len() || is_space(bytes[i + 1]) => return Some(i),
            b'#' if i > start && is_space(bytes[i - 1]) => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Index of the quote closing a scalar opened with `quote`, searching from `from`.
fn find_closing_quote(bytes: &[u8], from: usize, quote: u8) -> Option<usize> {
    let mut i = from;
    while i < bytes.len() {
        let b = bytes[i];
        if quote == b'"' && b == b'\\' {
            i += 2;
            continue;
        }
        if b == quote {
            if quote == b'\'' && i + 1 < bytes.len() && bytes[i + 1] == b'\'' {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Follows brackets of a flow collection from `from`; returns the depth left open at the
/// end of the line and the quote still open, if any.
fn scan_flow(
    bytes: &[u8],
    from: usize,
    mut depth: usize,
    mut quote: Option<u8>,
) -> (usize, Option<u8>) {
    let mut i = from;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            match find_closing_quote(bytes, i, q) {
                Some(close) => {
                    quote = None;
                    i = close + 1;
                    continue;
                }
                None => return (depth.max(1), Some(q)),
            }
        }
        match b {
            b'"' | b'\'' => quote = Some(b),
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return (0, None);
                }
            }
            b'#' if i > 0 && is_space(bytes[i - 1]) => return (depth, None),
            _ => {}
        }
        i += 1;
    }
    (depth, quote)
}

fn unquote(inner: &str, quote: u8) -> Cow<'_, str> {
    if quote == b'\'' && inner.contains("''") {
        Cow::Owned(inner.replace("''", "'"))
    } else if quote == b'"' && inner.contains('\\') {
        // Keys with escapes are rare; unescape the common ones.
        Cow::Owned(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
    } else {
        Cow::Borrowed(inner)
    }
}

fn parse_value<'a>(
    tokens: &[Token<'a>],
    i: &mut usize,
    parent_col: isize,
    same_col_seq: bool,
) -> Children<'a> {
    let Some(tok) = tokens.get(*i) else {
        return Children::Leaf;
    };
    let col = tok.col as isize;
    let belongs = col > parent_col
        || (same_col_seq && col == parent_col && matches!(tok.kind, TokenKind::Dash));
    if !belongs {
        return Children::Leaf;
    }
    match tok.kind {
        TokenKind::Dash => parse_seq(tokens, i, tok.col),
        TokenKind::Key { .. } => parse_map(tokens, i, tok.col),
        TokenKind::Scalar => {
            *i += 1;
            skip_deeper(tokens, i, tok.col);
            Children::Leaf
        }
    }
}

fn skip_deeper(tokens: &[Token<'_>], i: &mut usize, col: usize) {
    while tokens.get(*i).is_some_and(|t| t.col > col) {
        *i += 1;
    }
}

fn parse_seq<'a>(tokens: &[Token<'a>], i: &mut usize, col: usize) -> Children<'a> {
    let mut items = Vec::new();
    while let Some(tok) = tokens.get(*i) {
        if tok.col != col || !matches!(tok.kind, TokenKind::Dash) {
            break;
        }
        let line = tok.line;
        *i += 1;
        let children = parse_value(tokens, i, col as isize, false);
        skip_deeper(tokens, i, col);
        items.push(LineNode {
            line,
            column: col as u32 + 1,
            children,
        });
    }
    Children::Seq(items)
}

fn parse_map<'a>(tokens: &[Token<'a>], i: &mut usize, col: usize) -> Children<'a> {
    let mut entries = Vec::new();
    while let Some(tok) = tokens.get(*i) {
        let TokenKind::Key { name, inline } = &tok.kind else {
            break;
        };
        if tok.col != col {
            break;
        }
        let line = tok.line;
        *i += 1;
        let children = if *inline {
            Children::Leaf
        } else {
            parse_value(tokens, i, col as isize, true)
        };
        skip_deeper(tokens, i, col);
        entries.push((
            name.clone(),
            LineNode {
                line,
                column: col as u32 + 1,
                children,
            },
        ));
    }
    Children::Map(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_lines_of_nested_entries() {
        let text = "\
version: 2
# comment
models:
  - name: a
    description: |
      - name: not_a_model
      key: value
    columns:
      - name: id
        tests:
          - unique
          - accepted_values:
              values: ['x', 'y']
  - name: 'b'
    config: {tags: [
      'x']}
  -
    name: c
sources:
- name: raw
  tables:
    - name: t1
";
        let root = scan(text);
        let models = root.key("models").unwrap();
        assert_eq!(models.line, 3);
        assert_eq!(models.item(0).unwrap().line, 4);
        let col = models
            .item(0)
            .unwrap()
            .key("columns")
            .unwrap()
            .item(0)
            .unwrap();
        assert_eq!(col.line, 9);
        assert_eq!(col.key("tests").unwrap().item(1).unwrap().line, 12);
        assert_eq!(models.item(1).unwrap().line, 14);
        assert_eq!(models.item(1).unwrap().key_line("config"), 15);
        assert_eq!(models.item(2).unwrap().line, 17);
        assert_eq!(models.item(2).unwrap().key_line("name"), 18);
        assert!(models.item(3).is_none());
        let sources = root.key("sources").unwrap();
        assert_eq!(sources.item(0).unwrap().line, 20);
        assert_eq!(
            sources
                .item(0)
                .unwrap()
                .key("tables")
                .unwrap()
                .item(0)
                .unwrap()
                .line,
            22
        );
    }

    #[test]
    fn multi_line_quoted_scalars_are_skipped() {
        let text = "a: \"one\n  b: two\"\nc:\n  - 'x\n    - y'\n  - z\n";
        let root = scan(text);
        assert!(root.key("b").is_none());
        assert_eq!(root.key("c").unwrap().item(1).unwrap().line, 6);
    }

    #[test]
    fn quoted_keys_and_anchors() {
        let text = "\"my key\": &a\n  x: 1\n'other': *a\n";
        let root = scan(text);
        assert_eq!(root.key("my key").unwrap().key_line("x"), 2);
        assert_eq!(root.key_line("other"), 3);
    }
}
