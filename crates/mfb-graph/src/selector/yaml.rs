//! `selectors.yml`: named selector definitions.
//!
//! A definition is a CLI-style string (`'+tag:nightly'`), a key-value pair
//! (`tag: nightly`), a full dict (`method`, `value`, `parents`, `children`,
//! `childrens_parents`, `parents_depth`, `children_depth`, `indirect_selection`, and an
//! optional `exclude` list), or `union:`/`intersection:` lists whose items may include one
//! `exclude:` item that is subtracted from the rest. `method: selector, value: other`
//! reuses a selector defined earlier in the file.

use indexmap::IndexMap;
use serde_json::Value;

use super::parse::{Expr, IndirectSelection, Leaf, bad, parse_cli, parse_leaf};
use crate::GraphError;

/// Parsed `selectors.yml`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selectors {
    by_name: IndexMap<String, Expr>,
    default: Option<String>,
}

impl Selectors {
    pub(crate) fn parse(doc: &Value) -> Result<Selectors, GraphError> {
        let mut out = Selectors::default();
        let list = match doc.get("selectors") {
            None | Some(Value::Null) => return Ok(out),
            Some(Value::Array(list)) => list,
            Some(_) => {
                return Err(err(
                    "selectors.yml",
                    "`selectors:` must be a list of {name, definition}",
                ));
            }
        };
        for entry in list {
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| err("selectors.yml", "every selector needs a `name:`"))?
                .to_owned();
            if out.by_name.contains_key(&name) {
                return Err(err(
                    &name,
                    "this selector name is defined twice in selectors.yml; rename one",
                ));
            }
            let definition = entry
                .get("definition")
                .ok_or_else(|| err(&name, "the selector has no `definition:`"))?;
            let expr = parse_definition(&name, definition, &out.by_name)?;
            if is_true(entry.get("default")) {
                if let Some(prev) = &out.default {
                    return Err(err(
                        &name,
                        &format!(
                            "selectors `{prev}` and `{name}` are both `default: true`; keep one"
                        ),
                    ));
                }
                out.default = Some(name.clone());
            }
            out.by_name.insert(name, expr);
        }
        Ok(out)
    }

    pub(crate) fn get(&self, name: &str) -> Result<&Expr, GraphError> {
        self.by_name.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.by_name.keys().map(String::as_str).collect();
            let reason = match mfb_diagnostics::closest(name, known.iter().copied()) {
                Some(c) => {
                    format!("no selector with this name in selectors.yml; did you mean `{c}`?")
                }
                None if known.is_empty() => "the project has no selectors.yml selectors".to_owned(),
                None => format!(
                    "no selector with this name in selectors.yml; defined: {}",
                    known.join(", ")
                ),
            };
            bad(name, &reason)
        })
    }

    pub(crate) fn default_selector(&self) -> Option<&Expr> {
        self.default.as_ref().and_then(|n| self.by_name.get(n))
    }
}

fn is_true(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn err(selector: &str, reason: &str) -> GraphError {
    bad(selector, reason)
}

fn parse_definition(
    name: &str,
    def: &Value,
    known: &IndexMap<String, Expr>,
) -> Result<Expr, GraphError> {
    match def {
        Value::String(s) => parse_cli(std::slice::from_ref(s), IndirectSelection::Eager),
        Value::Object(map) => {
            if map.contains_key("union") && map.contains_key("intersection") {
                return Err(err(
                    name,
                    "a definition has either `union:` or `intersection:`, not both",
                ));
            }
            if let Some(items) = map.get("union") {
                let (include, exclude) = parse_list(name, items, known)?;
                return Ok(with_exclude(Expr::Union(include), exclude));
            }
            if let Some(items) = map.get("intersection") {
                let (include, exclude) = parse_list(name, items, known)?;
                return Ok(with_exclude(Expr::Intersection(include), exclude));
            }
            if map.get("method").and_then(Value::as_str) == Some("selector") {
                let other = map.get("value").and_then(Value::as_str).unwrap_or_default();
                return known.get(other).cloned().ok_or_else(|| {
                    err(name, &format!("refers to selector `{other}`, which is not defined above it in selectors.yml"))
                });
            }
            if map.len() == 1 {
                let (key, value) = map.iter().next().expect("one entry");
                if key == "exclude" {
                    return Err(err(
                        name,
                        "`exclude:` must be an item of a `union:` or `intersection:` list",
                    ));
                }
                let text = format!("{key}:{}", scalar_text(name, value)?);
                return Ok(Expr::Leaf(parse_leaf(&text, IndirectSelection::Eager)?));
            }
            if map.contains_key("method") && map.contains_key("value") {
                let leaf = parse_full(name, map)?;
                return match map.get("exclude") {
                    Some(ex) => {
                        let (exclude, nested) = parse_list(name, ex, known)?;
                        if nested.is_some() {
                            return Err(err(
                                name,
                                "an `exclude:` list cannot contain another `exclude:`",
                            ));
                        }
                        Ok(Expr::Difference(
                            Box::new(Expr::Leaf(leaf)),
                            Box::new(Expr::Union(exclude)),
                        ))
                    }
                    None => Ok(Expr::Leaf(leaf)),
                };
            }
            Err(err(
                name,
                "a definition is a string, `method: value`, a dict with `method` and `value`, or `union:`/`intersection:`",
            ))
        }
        _ => Err(err(
            name,
            "a definition is a string, a dict, or `union:`/`intersection:` list",
        )),
    }
}

/// Items of a union/intersection list, and the union of its `exclude:` item if any.
fn parse_list(
    name: &str,
    items: &Value,
    known: &IndexMap<String, Expr>,
) -> Result<(Vec<Expr>, Option<Expr>), GraphError> {
    let Value::Array(items) = items else {
        return Err(err(
            name,
            "`union:`, `intersection:` and `exclude:` take a list",
        ));
    };
    let mut include = Vec::new();
    let mut exclude = None;
    for item in items {
        if let Some(ex) = item.as_object().and_then(|m| m.get("exclude")) {
            if exclude.is_some() {
                return Err(err(
                    name,
                    "only one `exclude:` item is allowed per list; merge them",
                ));
            }
            let (ex_items, nested) = parse_list(name, ex, known)?;
            if nested.is_some() {
                return Err(err(
                    name,
                    "an `exclude:` list cannot contain another `exclude:`",
                ));
            }
            exclude = Some(Expr::Union(ex_items));
        } else {
            include.push(parse_definition(name, item, known)?);
        }
    }
    Ok((include, exclude))
}

fn with_exclude(include: Expr, exclude: Option<Expr>) -> Expr {
    match exclude {
        Some(ex) => Expr::Difference(Box::new(include), Box::new(ex)),
        None => include,
    }
}

fn scalar_text(name: &str, v: &Value) -> Result<String, GraphError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(err(name, "a selector value must be a string")),
    }
}

/// `{method, value, parents, children, childrens_parents, parents_depth, children_depth,
/// indirect_selection}`.
fn parse_full(name: &str, map: &serde_json::Map<String, Value>) -> Result<Leaf, GraphError> {
    const KEYS: &[&str] = &[
        "method",
        "value",
        "parents",
        "children",
        "childrens_parents",
        "parents_depth",
        "children_depth",
        "indirect_selection",
        "exclude",
    ];
    if let Some(k) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(err(
            name,
            &format!("unknown key `{k}`; valid keys: {}", KEYS.join(", ")),
        ));
    }
    let method = map
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let value = scalar_text(name, map.get("value").unwrap_or(&Value::Null))?;
    let indirect = match map.get("indirect_selection") {
        None => IndirectSelection::Eager,
        Some(v) => v
            .as_str()
            .and_then(IndirectSelection::parse)
            .ok_or_else(|| {
                err(
                    name,
                    "`indirect_selection` must be one of eager, cautious, buildable, empty",
                )
            })?,
    };
    let mut leaf = parse_leaf(&format!("{method}:{value}"), indirect)?;
    let flag = |k: &str| -> Result<bool, GraphError> {
        match map.get(k) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(err(name, &format!("`{k}` must be true or false"))),
        }
    };
    let depth = |k: &str| -> Result<Option<usize>, GraphError> {
        match map.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(|d| Some(d as usize))
                .ok_or_else(|| err(name, &format!("`{k}` must be a whole number"))),
        }
    };
    leaf.parents |= flag("parents")?;
    leaf.children |= flag("children")?;
    leaf.childrens_parents |= flag("childrens_parents")?;
    // As in dbt, a depth only limits `parents`/`children`; alone it selects nothing more.
    leaf.parents_depth = depth("parents_depth")?.or(leaf.parents_depth);
    leaf.children_depth = depth("children_depth")?.or(leaf.children_depth);
    if leaf.childrens_parents && (leaf.parents || leaf.children) {
        return Err(err(
            name,
            "`childrens_parents` cannot be combined with `parents` or `children`",
        ));
    }
    Ok(leaf)
}
