//! `state:` methods: compare the current manifest with a previous `manifest.json`.
//!
//! A resource absent from the state manifest is `new` (and so `modified`); one present is
//! `old`. `modified` is the union of the sub-checks:
//! - `body`: file checksum (`checksum.checksum`); when either side has no checksum
//!   (generic tests have `none`), the raw code and generic test arguments;
//!   for sources and exposures, their definition fields;
//! - `configs`: the config object with dbt's defaults filled (a missing key, `null`, `{}`
//!   and `[]` count as equal), leaving out what dbt leaves out: `alias`, `schema`,
//!   `database` (see `relation`), `tags`, `meta` and `group`;
//! - `relation`: the configured `database`, `schema`, `alias` (not the rendered names,
//!   which depend on the target), and a source's schema and identifier;
//! - `persisted_descriptions`: descriptions, when `persist_docs` asks to persist them;
//! - `macros` (approximated): a macro the node calls directly, or one that macro calls,
//!   has different `macro_sql` in the state manifest or is not in it;
//! - `contract`: `contract.enforced` or, when enforced, a column's `data_type`.

use std::collections::HashSet;

use serde_json::Value;

use super::Item;
use super::parse::{Leaf, bad};
use crate::manifest_json::{exposure_config_json, node_config_json, source_config_json};
use crate::{GraphError, Manifest, Node, ResourceType};

/// Which check a `state:` value asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    New,
    Old,
    Modified,
    Unmodified,
    Body,
    Configs,
    Relation,
    PersistedDescriptions,
    Macros,
    Contract,
}

const STATE_VALUES: &str = "new, old, modified, unmodified, modified.body, modified.configs, \
                            modified.relation, modified.persisted_descriptions, modified.macros, modified.contract";

/// The state manifest with what is precomputed once per selection.
pub(crate) struct StateIndex<'a> {
    doc: &'a Value,
    /// Current macros whose code differs from the state manifest, closed over callers.
    changed_macros: HashSet<String>,
}

impl<'a> StateIndex<'a> {
    pub(crate) fn new(doc: &'a Value, manifest: &Manifest) -> Result<StateIndex<'a>, GraphError> {
        if !doc.get("nodes").is_some_and(Value::is_object) {
            return Err(GraphError::State {
                path: "manifest.json".to_owned(),
                reason: "it has no `nodes` object, so it is not a dbt/mfb manifest; point --state at the \
                         target/ directory of a previous run"
                    .to_owned(),
            });
        }
        let mut changed: HashSet<String> = manifest
            .macros
            .values()
            .filter(|m| {
                let old = doc
                    .get("macros")
                    .and_then(|ms| ms.get(m.unique_id.as_str()));
                old.and_then(|o| o.get("macro_sql")).and_then(Value::as_str) != Some(&*m.macro_sql)
            })
            .map(|m| m.unique_id.to_string())
            .collect();
        // A macro that calls a changed macro is changed too.
        loop {
            let before = changed.len();
            for m in manifest.macros.values() {
                if !changed.contains(m.unique_id.as_str())
                    && m.depends_on_macros.iter().any(|d| changed.contains(d))
                {
                    changed.insert(m.unique_id.to_string());
                }
            }
            if changed.len() == before {
                break;
            }
        }
        Ok(StateIndex {
            doc,
            changed_macros: changed,
        })
    }

    pub(crate) fn matches(
        &self,
        leaf: &Leaf,
        _manifest: &Manifest,
        item: Item<'_>,
    ) -> Result<bool, GraphError> {
        let check = match leaf.value.as_str() {
            "new" => Check::New,
            "old" => Check::Old,
            "modified" => Check::Modified,
            "unmodified" => Check::Unmodified,
            "modified.body" => Check::Body,
            "modified.configs" => Check::Configs,
            "modified.relation" => Check::Relation,
            "modified.persisted_descriptions" => Check::PersistedDescriptions,
            "modified.macros" => Check::Macros,
            "modified.contract" => Check::Contract,
            other => {
                return Err(bad(
                    &leaf.text,
                    &format!("unknown state `{other}`; valid: {STATE_VALUES}"),
                ));
            }
        };
        let old = self.old_entry(item);
        Ok(match check {
            Check::New => old.is_none(),
            Check::Old => old.is_some(),
            Check::Modified => old.is_none_or(|o| self.modified(item, o)),
            Check::Unmodified => old.is_some_and(|o| !self.modified(item, o)),
            _ => match old {
                None => true,
                Some(o) => self.sub_check(check, item, o),
            },
        })
    }

    fn old_entry(&self, item: Item<'_>) -> Option<&Value> {
        let (section, id) = match item {
            Item::Node(n) if n.resource_type == ResourceType::UnitTest => {
                ("unit_tests", n.unique_id.as_str())
            }
            Item::Node(n) => ("nodes", n.unique_id.as_str()),
            Item::Source(s) => ("sources", s.unique_id.as_str()),
            Item::Exposure(e) => ("exposures", e.unique_id.as_str()),
        };
        self.doc.get(section).and_then(|s| s.get(id))
    }

    fn modified(&self, item: Item<'_>, old: &Value) -> bool {
        [
            Check::Body,
            Check::Configs,
            Check::Relation,
            Check::PersistedDescriptions,
            Check::Macros,
            Check::Contract,
        ]
        .into_iter()
        .any(|c| self.sub_check(c, item, old))
    }

    fn sub_check(&self, check: Check, item: Item<'_>, old: &Value) -> bool {
        match item {
            Item::Node(n) => match check {
                Check::Body => node_body_changed(n, old),
                Check::Configs => configs_changed(node_config_json(n), old),
                Check::Relation => {
                    let now = node_config_json(n);
                    ["database", "schema", "alias"].iter().any(|k| {
                        !loose_eq(
                            now.get(*k).unwrap_or(&Value::Null),
                            old.pointer(&format!("/config/{k}")).unwrap_or(&Value::Null),
                        )
                    })
                }
                Check::PersistedDescriptions => descriptions_changed(n, old),
                Check::Macros => n
                    .depends_on
                    .macros
                    .iter()
                    .any(|m| self.changed_macros.contains(m)),
                Check::Contract => contract_changed(n, old),
                _ => false,
            },
            Item::Source(s) => match check {
                Check::Body => {
                    !(str_eq(&s.identifier, old.get("identifier"))
                        && opt_str_eq(s.loaded_at_field.as_deref(), old.get("loaded_at_field"))
                        && loose_eq(
                            s.freshness.as_ref().unwrap_or(&Value::Null),
                            old.get("freshness").unwrap_or(&Value::Null),
                        )
                        && loose_eq(
                            &serde_json::to_value(&s.quoting).unwrap_or_default(),
                            old.get("quoting").unwrap_or(&Value::Null),
                        ))
                }
                Check::Configs => configs_changed(source_config_json(s), old),
                Check::Relation => {
                    !(str_eq(&s.schema, old.get("schema"))
                        && str_eq(&s.identifier, old.get("identifier")))
                }
                Check::PersistedDescriptions => {
                    !str_eq(&s.description, old.get("description"))
                        && persist_flag(&s.config, old, "relation")
                }
                _ => false,
            },
            Item::Exposure(e) => match check {
                Check::Body => {
                    let deps: Value = e.depends_on.nodes.clone().into();
                    !(str_eq(&e.exposure_type, old.get("type"))
                        && opt_str_eq(e.url.as_deref(), old.get("url"))
                        && opt_str_eq(e.maturity.as_deref(), old.get("maturity"))
                        && opt_str_eq(e.label.as_deref(), old.get("label"))
                        && str_eq(&e.description, old.get("description"))
                        && loose_eq(
                            &serde_json::to_value(&e.owner).unwrap_or_default(),
                            old.get("owner").unwrap_or(&Value::Null),
                        )
                        && loose_eq(
                            &deps,
                            old.pointer("/depends_on/nodes").unwrap_or(&Value::Null),
                        ))
                }
                Check::Configs => configs_changed(exposure_config_json(e), old),
                _ => false,
            },
        }
    }
}

/// Config keys dbt leaves out of `modified.configs`: naming is `modified.relation`'s job,
/// and tags, meta and group do not change what is built.
const NOT_COMPARED: [&str; 6] = ["alias", "schema", "database", "tags", "meta", "group"];

fn configs_changed(now: Value, old: &Value) -> bool {
    let strip = |v: &Value| -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| !NOT_COMPARED.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            other => other.clone(),
        }
    };
    !loose_eq(
        &strip(&now),
        &strip(old.get("config").unwrap_or(&Value::Null)),
    )
}

fn node_body_changed(n: &Node, old: &Value) -> bool {
    let (old_name, old_sum) = match old.get("checksum") {
        Some(Value::String(s)) => ("sha256", s.as_str()),
        Some(c) => (
            c.get("name").and_then(Value::as_str).unwrap_or("none"),
            c.get("checksum").and_then(Value::as_str).unwrap_or(""),
        ),
        None => ("none", ""),
    };
    if n.checksum.is_empty() || old_name == "none" || old_sum.is_empty() {
        let raw_same = str_eq(&n.raw_code, old.get("raw_code"));
        let kwargs_same = match &n.test_metadata {
            Some(tm) => loose_eq(
                &serde_json::to_value(&tm.kwargs).unwrap_or_default(),
                old.pointer("/test_metadata/kwargs").unwrap_or(&Value::Null),
            ),
            None => true,
        };
        !(raw_same && kwargs_same)
    } else {
        // A seed over 1 MiB is checksummed by its path (`path:` prefix), as dbt does.
        n.checksum.strip_prefix("path:").unwrap_or(&n.checksum) != old_sum
    }
}

fn persist_flag(config: &mfb_project::NodeConfig, old: &Value, key: &str) -> bool {
    let now = config
        .get("persist_docs")
        .and_then(|p| p.get(key))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let then = old
        .pointer(&format!("/config/persist_docs/{key}"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    now || then
}

fn descriptions_changed(n: &Node, old: &Value) -> bool {
    if persist_flag(&n.config, old, "relation") && !str_eq(&n.description, old.get("description")) {
        return true;
    }
    if persist_flag(&n.config, old, "columns") {
        let now: Vec<(&str, &str)> = n
            .columns
            .values()
            .map(|c| (c.name.as_str(), c.description.as_str()))
            .collect();
        let then: Vec<(&str, &str)> = old
            .get("columns")
            .and_then(Value::as_object)
            .map(|cols| {
                cols.values()
                    .map(|c| {
                        (
                            c.get("name").and_then(Value::as_str).unwrap_or(""),
                            c.get("description").and_then(Value::as_str).unwrap_or(""),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut a = now;
        let mut b = then;
        a.sort_unstable();
        b.sort_unstable();
        return a != b;
    }
    false
}

fn contract_changed(n: &Node, old: &Value) -> bool {
    let now = n
        .config
        .get("contract")
        .and_then(|c| c.get("enforced"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let then = old
        .pointer("/config/contract/enforced")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if now != then {
        return true;
    }
    if !now {
        return false;
    }
    let mut a: Vec<(String, String)> = n
        .columns
        .values()
        .map(|c| (c.name.clone(), c.data_type.clone().unwrap_or_default()))
        .collect();
    let mut b: Vec<(String, String)> = old
        .get("columns")
        .and_then(Value::as_object)
        .map(|cols| {
            cols.values()
                .map(|c| {
                    (
                        c.get("name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                        c.get("data_type")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    a.sort_unstable();
    b.sort_unstable();
    a != b
}

fn str_eq(a: &str, b: Option<&Value>) -> bool {
    b.and_then(Value::as_str).unwrap_or("") == a
}

fn opt_str_eq(a: Option<&str>, b: Option<&Value>) -> bool {
    a.unwrap_or("") == b.and_then(Value::as_str).unwrap_or("")
}

/// Null, `[]`, or an object whose values are all empty (`{"count": null}`).
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.values().all(is_empty),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Structural equality where `null`, a missing key, `[]` and objects of nothing but such
/// values are all "nothing".
pub(crate) fn loose_eq(a: &Value, b: &Value) -> bool {
    if is_empty(a) && is_empty(b) {
        return true;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.iter()
                .all(|(k, v)| loose_eq(v, y.get(k).unwrap_or(&Value::Null)))
                && y.iter()
                    .filter(|(k, _)| !x.contains_key(*k))
                    .all(|(_, v)| is_empty(v))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| loose_eq(p, q))
        }
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}
