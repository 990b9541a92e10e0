//! `{% docs name %}...{% enddocs %}` blocks of `.md` files.
//!
//! Like dbt, the block text is kept with surrounding whitespace stripped; text outside
//! blocks is ignored. Whitespace control (`{%- docs x -%}`) is accepted.

use mfb_diagnostics::Location;

use crate::ProjectError;
use crate::properties::{DocBlock, Origin};

/// Extracts the docs blocks of `text` (the file at `path` relative to the package root;
/// `label` is the same file relative to the project root, for errors).
pub(crate) fn parse_docs_file(
    path: &str,
    label: &str,
    text: &str,
) -> (Vec<DocBlock>, Vec<ProjectError>) {
    let mut blocks = Vec::new();
    let mut errors = Vec::new();
    let mut pos = 0;
    while let Some(found) = next_tag(text, pos) {
        let (tag_start, tag_end, words) = found;
        pos = tag_end;
        let line = line_of(text, tag_start);
        match words.as_slice() {
            ["docs", name] if is_identifier(name) => {
                let mut search = tag_end;
                let close = loop {
                    match next_tag(text, search) {
                        Some((s, e, w)) if w.as_slice() == ["enddocs"] => break Some((s, e)),
                        Some((_, e, _)) => search = e,
                        None => break None,
                    }
                };
                let Some((close_start, close_end)) = close else {
                    errors.push(ProjectError::Invalid {
                        message: format!("docs block `{name}` is never closed"),
                        at: Location::new(label, line, 0),
                        help: Some("end the block with `{% enddocs %}`".into()),
                    });
                    break;
                };
                blocks.push(DocBlock {
                    name: (*name).to_owned(),
                    contents: text[tag_end..close_start].trim().to_owned(),
                    origin: Origin {
                        file: path.to_owned(),
                        line,
                    },
                });
                pos = close_end;
            }
            ["docs", ..] => errors.push(ProjectError::Invalid {
                message:
                    "a docs block needs exactly one name made of letters, digits and underscores"
                        .into(),
                at: Location::new(label, line, 0),
                help: Some("write `{% docs my_doc_name %}`".into()),
            }),
            ["enddocs"] => errors.push(ProjectError::Invalid {
                message: "`{% enddocs %}` without a `{% docs name %}` before it".into(),
                at: Location::new(label, line, 0),
                help: Some("remove it, or open the block with `{% docs name %}`".into()),
            }),
            _ => {}
        }
    }
    (blocks, errors)
}

/// The next `{% ... %}` tag from `from`: (start, end after `%}`, words inside).
fn next_tag(text: &str, from: usize) -> Option<(usize, usize, Vec<&str>)> {
    let start = from + text[from..].find("{%")?;
    let inner_start = start + 2;
    let close = inner_start + text[inner_start..].find("%}")?;
    let inner = text[inner_start..close]
        .trim_start_matches('-')
        .trim_end_matches('-');
    Some((start, close + 2, inner.split_whitespace().collect()))
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn line_of(text: &str, offset: usize) -> u32 {
    text.as_bytes()[..offset]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u32
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_blocks_trimmed_with_lines() {
        let text = "# Title\n\n{% docs orders %}\n\n  Orders **table**.\n\n{% enddocs %}\n{%- docs col_id -%} The id. {%- enddocs -%}\n";
        let (blocks, errors) = parse_docs_file("models/docs.md", "models/docs.md", text);
        assert!(errors.is_empty());
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].name, "orders");
        assert_eq!(blocks[0].contents, "Orders **table**.");
        assert_eq!(blocks[0].origin.line, 3);
        assert_eq!(blocks[1].contents, "The id.");
        assert_eq!(blocks[1].origin.line, 8);
    }

    #[test]
    fn unclosed_block_is_an_error_with_its_line() {
        let (_, errors) = parse_docs_file("d.md", "d.md", "\n{% docs x %}\ntext\n");
        match &errors[..] {
            [ProjectError::Invalid { at, .. }] => assert_eq!(at.line, 2),
            other => panic!("unexpected {other:?}"),
        }
    }
}
