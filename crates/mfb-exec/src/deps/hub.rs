//! The dbt package hub: `api/v1/index.json` (every `org/name`) and `api/v1/<org>/<name>.json`
//! (each version's project name, dependencies, `require_dbt_version` and tarball). The base
//! URL is `https://hub.getdbt.com/`, or `MFB_HUB_URL` / `DBT_PACKAGE_HUB_URL` (a `file://`
//! directory works, for mirrors and tests). Each document is fetched once per run.
//!
//! A renamed package's document carries `redirectnamespace` and/or `redirectname`. As in
//! dbt-core 1.10, that only earns a deprecation warning (collected here, printed by the
//! caller): the versions installed and locked are still the ones published under the name
//! asked for.

use std::collections::HashMap;

use serde_json::Value;

use super::fetch::{self, FetchError};
use super::semver::{Requirement, Version};
use super::spec::{SpecEntry, entry_from_value};

/// The hub's address when nothing overrides it.
pub const DEFAULT_HUB_URL: &str = "https://hub.getdbt.com/";

/// One published version of a hub package.
#[derive(Debug, Clone)]
pub struct HubVersion {
    pub version: Version,
    /// The package's project name (its directory under `dbt_packages/`).
    pub name: String,
    /// Its own `packages:` list.
    pub dependencies: Vec<SpecEntry>,
    pub tarball: Option<String>,
    /// `require_dbt_version` requirements, if the version declares them.
    pub require_dbt_version: Vec<Requirement>,
}

/// A hub client that remembers what it fetched.
pub struct Hub {
    base: String,
    index: Option<Result<Vec<String>, FetchError>>,
    packages: HashMap<String, Result<Vec<HubVersion>, FetchError>>,
    /// `(name asked for, new name)` of renamed packages, not yet taken by the caller.
    redirects: Vec<(String, String)>,
}

impl Hub {
    /// A client for `base` (a trailing `/` is added when missing).
    pub fn new(base: &str) -> Hub {
        let mut base = base.to_owned();
        if !base.ends_with('/') {
            base.push('/');
        }
        Hub {
            base,
            index: None,
            packages: HashMap::new(),
            redirects: Vec::new(),
        }
    }

    /// The base URL from the environment, else the public hub.
    pub fn from_env() -> Hub {
        let base = ["MFB_HUB_URL", "DBT_PACKAGE_HUB_URL"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
            .unwrap_or_else(|| DEFAULT_HUB_URL.to_owned());
        Hub::new(&base)
    }

    /// The base URL in use.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn json(&self, path: &str) -> Result<Value, FetchError> {
        let url = format!("{}api/v1/{path}", self.base);
        let bytes = fetch::get(&url)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| FetchError(format!("{url} is not valid JSON: {e}")))
    }

    /// Every `org/name` the hub knows.
    pub fn index(&mut self) -> Result<&[String], FetchError> {
        if self.index.is_none() {
            let names = self.json("index.json").map(|v| {
                v.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            });
            self.index = Some(names);
        }
        match self.index.as_ref() {
            Some(Ok(names)) => Ok(names),
            Some(Err(e)) => Err(e.clone()),
            None => unreachable!("set above"),
        }
    }

    /// The published versions of `package` (`org/name`), oldest first.
    pub fn versions(&mut self, package: &str) -> Result<&[HubVersion], FetchError> {
        if !self.packages.contains_key(package) {
            let doc = self.json(&format!("{package}.json"));
            if let Some(new) = doc.as_ref().ok().and_then(redirect) {
                self.redirects.push((package.to_owned(), new));
            }
            let result = doc.map(|doc| parse_versions(&doc));
            self.packages.insert(package.to_owned(), result);
        }
        match &self.packages[package] {
            Ok(v) => Ok(v),
            Err(e) => Err(e.clone()),
        }
    }

    /// The renames met since the last call: `(name asked for, new name)`, each package once.
    pub fn take_redirects(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.redirects)
    }
}

/// The new `org/name` of a renamed package: `redirectnamespace` and `redirectname` replace
/// the document's own `namespace` and `name` (either may be missing).
fn redirect(doc: &Value) -> Option<String> {
    let field = |k: &str| doc.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    if doc.get("redirectnamespace").is_none() && doc.get("redirectname").is_none() {
        return None;
    }
    let namespace = field("redirectnamespace").or_else(|| field("namespace"))?;
    let name = field("redirectname").or_else(|| field("name"))?;
    Some(format!("{namespace}/{name}"))
}

fn parse_versions(doc: &Value) -> Vec<HubVersion> {
    let mut out: Vec<HubVersion> = doc
        .get("versions")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(key, v)| {
            let version = Version::parse(key)?;
            let strings = |v: Option<&Value>| -> Vec<String> {
                match v {
                    Some(Value::Array(a)) => a
                        .iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect(),
                    Some(Value::String(s)) => vec![s.clone()],
                    _ => Vec::new(),
                }
            };
            Some(HubVersion {
                version,
                name: v.get("name").and_then(Value::as_str)?.to_owned(),
                dependencies: v
                    .get("packages")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|d| entry_from_value(d).ok())
                    .collect(),
                tarball: v
                    .pointer("/downloads/tarball")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                require_dbt_version: strings(v.get("require_dbt_version"))
                    .iter()
                    .filter_map(|s| Requirement::parse(s))
                    .collect(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.version.cmp(&b.version));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redirects_name_the_new_package_as_dbt_does() {
        let doc = |extra: Value| {
            let mut d = json!({"name": "utils", "namespace": "old", "versions": {}});
            d.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            d
        };
        assert_eq!(redirect(&doc(json!({}))), None);
        assert_eq!(
            redirect(&doc(json!({"redirectnamespace": "new"}))).as_deref(),
            Some("new/utils")
        );
        assert_eq!(
            redirect(&doc(json!({"redirectname": "utils2"}))).as_deref(),
            Some("old/utils2")
        );
        assert_eq!(
            redirect(&doc(
                json!({"redirectnamespace": "new", "redirectname": "utils2"})
            ))
            .as_deref(),
            Some("new/utils2")
        );
        // A null redirect falls back to the document's own value, as in dbt.
        assert_eq!(
            redirect(&doc(
                json!({"redirectnamespace": null, "redirectname": "u"})
            ))
            .as_deref(),
            Some("old/u")
        );
    }
}
