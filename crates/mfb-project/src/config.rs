//! Config trees of `dbt_project.yml` (`models:`, `seeds:`, ...) and dbt's merge rules.
//!
//! Precedence, lowest first: the package's own `dbt_project.yml` tree, the root project's
//! tree, properties YAML `config:`, then the in-file `config()` call. Within a tree, deeper
//! folders override shallower ones. Merging follows dbt: `tags`, `pre-hook`, `post-hook`
//! append; `meta`, `persist_docs`, `docs`, `contract` and other dict configs update key by
//! key; `grants` updates key by key, and a key written `+select` appends to that key's list;
//! everything else replaces.

use indexmap::IndexMap;
use serde_json::Value;

/// A resolved config: config key (normalised: `post_hook` and `post-hook` are one key,
/// stored as `post-hook`; same for `pre-hook`) to value.
pub type NodeConfig = IndexMap<String, Value>;

/// One level of config values, in file order, with where it came from (for errors).
#[derive(Debug, Clone, Default)]
pub struct ConfigLayer {
    /// Config key -> value (keys without the leading `+`).
    pub values: IndexMap<String, Value>,
}

/// A raw config tree as written under `models:` (or `seeds:`, ...) in a `dbt_project.yml`.
#[derive(Debug, Clone, Default)]
pub struct ConfigTree {
    /// The raw YAML under the resource key (e.g. `{"my_project": {"staging": {"+materialized": "view"}}}`).
    pub raw: Value,
    /// The `dbt_project.yml` this tree was read from, relative to the project root.
    pub file: String,
}

impl ConfigTree {
    /// The layers that apply to a node with this `fqn` (`[package, dir.., name]`), from
    /// shallowest to deepest. A key is a config if it starts with `+`, or if it is a known
    /// config name for the resource type; otherwise it names a package/folder/node.
    pub fn layers_for(&self, fqn: &[String]) -> Vec<ConfigLayer> {
        let _ = fqn;
        todo!("mfb-project helper")
    }
}

/// Merges `layer` over `base` with dbt's rules (see the module docs).
pub fn merge_config(base: &mut NodeConfig, layer: &IndexMap<String, Value>) {
    let _ = (base, layer);
    todo!("mfb-project helper")
}
