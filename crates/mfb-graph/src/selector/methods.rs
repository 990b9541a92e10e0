//! Matching one resource against one selection method (all but `state:`).

use serde_json::Value;

use super::parse::{Leaf, Method, bad};
use super::{Item, glob_match};
use crate::manifest_json::default_config_value;
use crate::{GraphError, Manifest, ResourceType};

/// Resource types `resource_type:` accepts.
const RESOURCE_TYPES: &[&str] = &[
    "model",
    "seed",
    "snapshot",
    "analysis",
    "test",
    "unit_test",
    "source",
    "exposure",
    "operation",
    "metric",
    "semantic_model",
    "saved_query",
];

/// Whether `item` matches the leaf's method and value (graph operators aside).
pub(crate) fn matches(
    leaf: &Leaf,
    manifest: &Manifest,
    item: Item<'_>,
) -> Result<bool, GraphError> {
    let v = leaf.value.as_str();
    Ok(match leaf.method {
        Method::Fqn => match item {
            Item::Node(n) => v == "*" || fqn_matches(&n.fqn, v, n.version.is_some()),
            Item::Exposure(e) => v == "*" || fqn_matches(&e.fqn, v, false),
            Item::Source(_) => false,
        },
        Method::Tag => tags(item).iter().any(|t| glob_match(t, v)),
        // dbt also selects the nodes a properties file patches (`path:models/schema.yml`
        // selects the models it describes, not only the tests it defines).
        Method::Path => {
            path_matches(original_file_path(item), v)
                || matches!(item, Item::Node(n) if n
                    .patch_path
                    .as_deref()
                    .and_then(|p| p.split_once("://").map(|(_, f)| f))
                    .is_some_and(|f| path_matches(f, v)))
        }
        Method::File => {
            let path = original_file_path(item);
            let name = path.rsplit('/').next().unwrap_or(path);
            let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
            glob_match(name, v) || glob_match(stem, v)
        }
        Method::Package => {
            let pattern = if v == "this" {
                manifest.project_name.as_str()
            } else {
                v
            };
            glob_match(package_name(item), pattern)
        }
        Method::Config => config_matches(item, &leaf.args, v),
        Method::TestName => match item {
            Item::Node(n) if n.resource_type == ResourceType::Test => match &n.test_metadata {
                Some(tm) => {
                    glob_match(&tm.name, v)
                        || tm
                            .namespace
                            .as_ref()
                            .is_some_and(|ns| glob_match(&format!("{ns}.{}", tm.name), v))
                }
                None => false,
            },
            _ => false,
        },
        Method::TestType => {
            let Item::Node(n) = item else {
                return Ok(false);
            };
            match v {
                "generic" => n.resource_type == ResourceType::Test && n.test_metadata.is_some(),
                "singular" => n.resource_type == ResourceType::Test && n.test_metadata.is_none(),
                "data" => n.resource_type == ResourceType::Test,
                "unit" => n.resource_type == ResourceType::UnitTest,
                _ => {
                    return Err(bad(
                        &leaf.text,
                        "test_type must be one of generic, singular, data, unit",
                    ));
                }
            }
        }
        Method::ResourceType => {
            if !RESOURCE_TYPES.contains(&v) {
                return Err(bad(
                    &leaf.text,
                    &format!(
                        "unknown resource type `{v}`; valid types: {}",
                        RESOURCE_TYPES.join(", ")
                    ),
                ));
            }
            item.resource_type().as_str() == v
        }
        Method::Source => match item {
            Item::Source(s) => {
                let parts: Vec<&str> = v.split('.').collect();
                match parts.as_slice() {
                    [src] => glob_match(&s.source_name, src),
                    [src, table] => glob_match(&s.source_name, src) && glob_match(&s.name, table),
                    [pkg, src, table] => {
                        glob_match(&s.package_name, pkg)
                            && glob_match(&s.source_name, src)
                            && glob_match(&s.name, table)
                    }
                    _ => {
                        return Err(bad(
                            &leaf.text,
                            "a source selector is `source`, `source.table` or `package.source.table`",
                        ));
                    }
                }
            }
            _ => false,
        },
        Method::Exposure => match item {
            Item::Exposure(e) => match v.split('.').collect::<Vec<_>>().as_slice() {
                [name] => glob_match(&e.name, name),
                [pkg, name] => glob_match(&e.package_name, pkg) && glob_match(&e.name, name),
                _ => {
                    return Err(bad(
                        &leaf.text,
                        "an exposure selector is `name` or `package.name`",
                    ));
                }
            },
            _ => false,
        },
        Method::UnitTest => match item {
            Item::Node(n) if n.resource_type == ResourceType::UnitTest => {
                v == "*" || glob_match(&n.name, v) || fqn_matches(&n.fqn, v, false)
            }
            _ => false,
        },
        Method::Group => config_value(item, "group")
            .and_then(Value::as_str)
            .is_some_and(|g| glob_match(g, v)),
        Method::Access => match item {
            Item::Node(n) if n.resource_type == ResourceType::Model => {
                let access = n
                    .config
                    .get("access")
                    .and_then(Value::as_str)
                    .unwrap_or("protected");
                access == v
            }
            _ => false,
        },
        Method::Version => match item {
            Item::Node(n) if n.resource_type == ResourceType::Model => version_matches(n, v)
                .ok_or_else(|| {
                    bad(
                        &leaf.text,
                        "version must be one of latest, prerelease, old, none",
                    )
                })?,
            _ => false,
        },
        Method::NoResources => false,
        Method::State => unreachable!("state: is matched by selector::state"),
        Method::Result | Method::SourceStatus => {
            unreachable!("result: and source_status: are matched by the selector")
        }
    })
}

/// dbt's fqn rule: the last fqn part equals the selector (for a versioned model, whose
/// fqn ends in `v2`, the model name, or `name.v2`/`name_v2`), or the selector's dot
/// parts are a prefix of the (flattened) fqn, with shell wildcards matching the rest from
/// the first part that has one; tried with and without the package name.
pub(crate) fn fqn_matches(fqn: &[String], selector: &str, versioned: bool) -> bool {
    fqn_matches_scoped(fqn, selector, versioned)
        || (fqn.len() > 1 && fqn_matches_scoped(&fqn[1..], selector, versioned))
}

fn fqn_matches_scoped(fqn: &[String], selector: &str, versioned: bool) -> bool {
    if versioned && fqn.len() >= 2 {
        let (name, version) = (&fqn[fqn.len() - 2], &fqn[fqn.len() - 1]);
        if name == selector {
            return true;
        }
        let sel: Vec<&str> = selector.split('.').collect();
        if sel.len() >= 2 && format!("{name}_{version}") == sel[sel.len() - 2..].join("_") {
            return true;
        }
        if format!("{name}_{version}") == selector {
            return true;
        }
    } else if fqn.last().is_some_and(|l| l == selector) {
        return true;
    }
    let flat: Vec<&str> = fqn.iter().flat_map(|s| s.split('.')).collect();
    let sel: Vec<&str> = selector.split('.').collect();
    if flat.len() < sel.len() {
        return false;
    }
    for (i, part) in sel.iter().enumerate() {
        if part.contains(['*', '?', '[', ']']) {
            return glob_match(&flat[i..].join("."), &sel[i..].join("."));
        }
        if flat[i] != *part {
            return false;
        }
    }
    true
}

/// Path rule: the file itself or one of its folders matches the (glob) path, relative
/// to the project root; `*` stays within one folder, `**` spans folders.
pub(crate) fn path_matches(file: &str, selector: &str) -> bool {
    let norm = |s: &str| -> Vec<String> {
        s.replace('\\', "/")
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .map(str::to_owned)
            .collect()
    };
    let pattern = norm(selector);
    let parts = norm(file);
    if pattern.is_empty() {
        return true;
    }
    let pattern: Vec<&str> = pattern.iter().map(String::as_str).collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    (1..=parts.len()).any(|k| components_match(&parts[..k], &pattern))
}

fn components_match(parts: &[&str], pattern: &[&str]) -> bool {
    match pattern.split_first() {
        None => parts.is_empty(),
        Some((&"**", rest)) => (0..=parts.len()).any(|skip| components_match(&parts[skip..], rest)),
        Some((first, rest)) => match parts.split_first() {
            Some((p, prest)) => glob_match(p, first) && components_match(prest, rest),
            None => false,
        },
    }
}

fn tags<'a>(item: Item<'a>) -> &'a [String] {
    match item {
        Item::Node(n) => &n.tags,
        Item::Source(s) => &s.tags,
        Item::Exposure(e) => &e.tags,
    }
}

fn original_file_path<'a>(item: Item<'a>) -> &'a str {
    match item {
        Item::Node(n) => &n.original_file_path,
        Item::Source(s) => &s.original_file_path,
        Item::Exposure(e) => &e.original_file_path,
    }
}

fn package_name<'a>(item: Item<'a>) -> &'a str {
    match item {
        Item::Node(n) => &n.package_name,
        Item::Source(s) => &s.package_name,
        Item::Exposure(e) => &e.package_name,
    }
}

/// A top-level config value of the item, falling back to dbt's default for its type and
/// to the node-level `tags`/`meta`.
fn config_value<'a>(item: Item<'a>, key: &str) -> Option<&'a Value> {
    let config = match item {
        Item::Node(n) => &n.config,
        Item::Source(s) => &s.config,
        Item::Exposure(e) => &e.config,
    };
    let alt = if key.contains('_') {
        key.replace('_', "-")
    } else {
        key.replace('-', "_")
    };
    config
        .get(key)
        .or_else(|| config.get(alt.as_str()))
        .or_else(|| default_config_value(item.resource_type(), key))
}

fn config_matches(item: Item<'_>, args: &[String], selector: &str) -> bool {
    let Some((first, rest)) = args.split_first() else {
        return false;
    };
    let owned_tags;
    let owned_meta;
    let mut value = match config_value(item, first) {
        Some(v) => v,
        None if first == "tags" => {
            owned_tags = Value::from(tags(item).to_vec());
            &owned_tags
        }
        None if first == "meta" => {
            let meta = match item {
                Item::Node(n) => &n.meta,
                Item::Source(s) => &s.meta,
                Item::Exposure(e) => &e.meta,
            };
            owned_meta = serde_json::to_value(meta).unwrap_or(Value::Null);
            &owned_meta
        }
        None => return false,
    };
    for key in rest {
        match value.get(key.as_str()) {
            Some(v) => value = v,
            None => return false,
        }
    }
    match value {
        Value::Array(items) => items.iter().any(|v| scalar_equals(v, selector)),
        v => scalar_equals(v, selector),
    }
}

/// dbt compares config values exactly (no wildcards); booleans as `true`/`false` in any case.
fn scalar_equals(v: &Value, selector: &str) -> bool {
    match v {
        Value::String(s) => s == selector,
        Value::Bool(b) => selector.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            n.to_string() == selector
                || selector
                    .parse::<f64>()
                    .ok()
                    .zip(n.as_f64())
                    .is_some_and(|(a, b)| a == b)
        }
        _ => false,
    }
}

/// `version:latest|prerelease|old|none` for a model (versions compare as numbers when
/// both parse, else as strings). None for an unknown keyword.
fn version_matches(n: &crate::Node, keyword: &str) -> Option<bool> {
    let cmp = || -> Option<std::cmp::Ordering> {
        let (v, latest) = (n.version.as_deref()?, n.latest_version.as_deref()?);
        Some(match (v.parse::<f64>(), latest.parse::<f64>()) {
            (Ok(a), Ok(b)) => a.partial_cmp(&b)?,
            _ => v.cmp(latest),
        })
    };
    Some(match keyword {
        "latest" => cmp() == Some(std::cmp::Ordering::Equal),
        "prerelease" => cmp() == Some(std::cmp::Ordering::Greater),
        "old" => cmp() == Some(std::cmp::Ordering::Less),
        "none" => n.version.is_none(),
        _ => return None,
    })
}
