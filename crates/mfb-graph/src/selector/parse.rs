//! Parsing selection strings: set operators, graph operators, `method.args:value`.

use crate::GraphError;

/// How tests attached to selected nodes are selected (`--indirect-selection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IndirectSelection {
    /// A test is selected when any node it depends on is selected (dbt's default).
    #[default]
    Eager,
    /// A test is selected only when all the nodes it depends on are selected.
    Cautious,
    /// A test is selected when every node it depends on is selected or upstream of one.
    Buildable,
    /// Tests are selected only directly.
    Empty,
}

impl IndirectSelection {
    /// Parses `eager`, `cautious`, `buildable` or `empty`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "eager" => Some(IndirectSelection::Eager),
            "cautious" => Some(IndirectSelection::Cautious),
            "buildable" => Some(IndirectSelection::Buildable),
            "empty" => Some(IndirectSelection::Empty),
            _ => None,
        }
    }
}

/// Selection methods mfb knows, as written before the `:`.
pub const VALID_METHODS: &[&str] = &[
    "fqn",
    "tag",
    "source",
    "path",
    "file",
    "package",
    "config",
    "test_name",
    "test_type",
    "resource_type",
    "state",
    "result",
    "source_status",
    "exposure",
    "unit_test",
    "group",
    "access",
    "metric",
    "semantic_model",
    "saved_query",
    "version",
];

/// A selection method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Fqn,
    Tag,
    Source,
    Path,
    File,
    Package,
    Config,
    TestName,
    TestType,
    ResourceType,
    State,
    /// `result:<status>`: nodes with that status in `--state`'s run_results.json.
    Result,
    /// `source_status:fresher`: sources loaded since `--state`'s sources.json.
    SourceStatus,
    Exposure,
    UnitTest,
    Group,
    Access,
    Version,
    /// Metrics, semantic models and saved queries: valid dbt methods; mfb projects have
    /// none of these resources, so they match nothing.
    NoResources,
}

impl Method {
    fn from_name(name: &str) -> Option<Method> {
        Some(match name {
            "fqn" => Method::Fqn,
            "tag" => Method::Tag,
            "source" => Method::Source,
            "path" => Method::Path,
            "file" => Method::File,
            "package" => Method::Package,
            "config" => Method::Config,
            "test_name" => Method::TestName,
            "test_type" => Method::TestType,
            "resource_type" => Method::ResourceType,
            "state" => Method::State,
            "result" => Method::Result,
            "source_status" => Method::SourceStatus,
            "exposure" => Method::Exposure,
            "unit_test" => Method::UnitTest,
            "group" => Method::Group,
            "access" => Method::Access,
            "version" => Method::Version,
            "metric" | "semantic_model" | "saved_query" => Method::NoResources,
            _ => return None,
        })
    }
}

/// One method and value with its graph operators.
#[derive(Debug, Clone)]
pub(crate) struct Leaf {
    /// The selector as written, for errors.
    pub text: String,
    pub method: Method,
    /// `config.meta.owner` -> `["meta", "owner"]`.
    pub args: Vec<String>,
    pub value: String,
    pub parents: bool,
    pub parents_depth: Option<usize>,
    pub children: bool,
    pub children_depth: Option<usize>,
    pub childrens_parents: bool,
    pub indirect: IndirectSelection,
}

/// A selection expression.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    /// Every node, source and exposure (dbt's `fqn:* source:* exposure:* ...`).
    Everything,
    Leaf(Leaf),
    Union(Vec<Expr>),
    Intersection(Vec<Expr>),
    Difference(Box<Expr>, Box<Expr>),
}

/// Parses `--select`/`--exclude` values: each value and each space-separated word is
/// unioned; comma-separated parts of a word are intersected.
pub(crate) fn parse_cli(
    values: &[String],
    indirect: IndirectSelection,
) -> Result<Expr, GraphError> {
    let mut union = Vec::new();
    for value in values {
        for word in value.split_whitespace() {
            let mut parts = Vec::new();
            for part in word.split(',') {
                if part.is_empty() {
                    return Err(bad(
                        word,
                        "empty selector around `,`; write `a,b` with no spaces or empty parts",
                    ));
                }
                parts.push(Expr::Leaf(parse_leaf(part, indirect)?));
            }
            union.push(if parts.len() == 1 {
                parts.remove(0)
            } else {
                Expr::Intersection(parts)
            });
        }
    }
    if union.is_empty() {
        let shown = values.join(" ");
        return Err(bad(
            &shown,
            "the selection is empty; give a model name, `tag:x`, `path:...`, ...",
        ));
    }
    Ok(if union.len() == 1 {
        union.remove(0)
    } else {
        Expr::Union(union)
    })
}

/// Parses one selector such as `2+tag:nightly+`, `@orders`, `config.meta.owner:me`.
pub(crate) fn parse_leaf(text: &str, indirect: IndirectSelection) -> Result<Leaf, GraphError> {
    let mut rest = text;
    let childrens_parents = rest.starts_with('@');
    if childrens_parents {
        rest = &rest[1..];
    }

    let (mut parents, mut parents_depth) = (false, None);
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if rest[digits..].starts_with('+') {
        parents = true;
        if digits > 0 {
            parents_depth = Some(
                rest[..digits]
                    .parse()
                    .map_err(|_| bad(text, "depth is too large"))?,
            );
        }
        rest = &rest[digits + 1..];
    }

    let (mut children, mut children_depth) = (false, None);
    if let Some(plus) = rest.rfind('+') {
        let tail = &rest[plus + 1..];
        if tail.bytes().all(|b| b.is_ascii_digit()) {
            children = true;
            if !tail.is_empty() {
                children_depth = Some(tail.parse().map_err(|_| bad(text, "depth is too large"))?);
            }
            rest = &rest[..plus];
        }
    }
    if childrens_parents && (parents || children) {
        return Err(bad(
            text,
            "`@` cannot be combined with `+`; use either `@x` or `+x+`",
        ));
    }
    if rest.is_empty() {
        return Err(bad(
            text,
            "nothing to select; write a name or `method:value` next to the operators",
        ));
    }

    let (method, args, value) = split_method(text, rest)?;
    if value.is_empty() {
        return Err(bad(text, "the value after `:` is empty"));
    }
    Ok(Leaf {
        text: text.to_owned(),
        method,
        args,
        value,
        parents,
        parents_depth,
        children,
        children_depth,
        childrens_parents,
        indirect,
    })
}

/// Splits `method.arg:value`; without a method, picks dbt's default: a path when the
/// value contains a slash, a file name when it ends in `.sql`/`.py`/`.csv`, else fqn.
fn split_method(text: &str, spec: &str) -> Result<(Method, Vec<String>, String), GraphError> {
    if let Some((head, value)) = spec.split_once(':') {
        let looks_like_method = !head.is_empty()
            && head
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if looks_like_method {
            let mut pieces = head.split('.');
            let name = pieces.next().unwrap_or_default();
            let args: Vec<String> = pieces.map(str::to_owned).collect();
            let method = Method::from_name(name).ok_or_else(|| {
                bad(
                    text,
                    &format!(
                        "unknown selection method `{name}`; valid methods: {}",
                        VALID_METHODS.join(", ")
                    ),
                )
            })?;
            if method == Method::Config && args.is_empty() {
                return Err(bad(
                    text,
                    "`config` needs a key: write `config.materialized:table`",
                ));
            }
            if method != Method::Config && !args.is_empty() {
                return Err(bad(
                    text,
                    &format!("method `{name}` takes no `.{}` argument", args.join(".")),
                ));
            }
            return Ok((method, args, value.to_owned()));
        }
    }
    Ok((default_method(spec), Vec::new(), spec.to_owned()))
}

/// dbt's choice of method for a bare value.
pub(crate) fn default_method(value: &str) -> Method {
    if value.contains('/') || value.contains('\\') {
        Method::Path
    } else if [".sql", ".py", ".csv"]
        .iter()
        .any(|ext| value.to_ascii_lowercase().ends_with(ext))
    {
        Method::File
    } else {
        Method::Fqn
    }
}

pub(crate) fn bad(selector: &str, reason: &str) -> GraphError {
    GraphError::BadSelector {
        selector: selector.to_owned(),
        reason: reason.to_owned(),
    }
}
