//! A cache of the relations that exist, filled by one catalog query per run.
//!
//! `adapter.get_relation` is called for nearly every model; asking the server each time
//! costs a round trip per call. `mfb-exec` fills a [`RelationCache`] with
//! `list_relations` for every schema the run touches, keeps it current as
//! materializations create, rename and drop relations, and answers lookups from memory.
//! A schema that was never listed is "unknown" (lookups return `None` for it and
//! [`RelationCache::is_cached`] says so), so callers can fall back to the catalog.
//! Names match exactly, as PostgreSQL compares quoted identifiers.

use std::collections::{BTreeMap, HashMap};

use crate::catalog::RelationInfo;
use crate::relation::RelationKind;

/// Relations by schema and name.
#[derive(Debug, Clone, Default)]
pub struct RelationCache {
    schemas: HashMap<String, BTreeMap<String, RelationInfo>>,
}

impl RelationCache {
    /// An empty cache that knows no schema.
    pub fn new() -> Self {
        RelationCache::default()
    }

    /// Records that `schemas` were listed and `relations` is what they hold (schemas in
    /// the list with no relations are known to be empty).
    pub fn fill(&mut self, schemas: &[&str], relations: Vec<RelationInfo>) {
        for schema in schemas {
            self.schemas.insert((*schema).to_owned(), BTreeMap::new());
        }
        for info in relations {
            self.insert(info);
        }
    }

    /// True when `schema` was listed, so a miss really means "does not exist".
    pub fn is_cached(&self, schema: &str) -> bool {
        self.schemas.contains_key(schema)
    }

    /// The relation `schema.name`, if cached.
    pub fn get(&self, schema: &str, name: &str) -> Option<&RelationInfo> {
        self.schemas.get(schema)?.get(name)
    }

    /// The cached relations of `schema`, sorted by name.
    pub fn relations_in(&self, schema: &str) -> impl Iterator<Item = &RelationInfo> {
        self.schemas
            .get(schema)
            .into_iter()
            .flat_map(|m| m.values())
    }

    /// Adds or replaces a relation (after `create`), marking its schema as known.
    pub fn insert(&mut self, info: RelationInfo) {
        self.schemas
            .entry(info.schema.clone())
            .or_default()
            .insert(info.name.clone(), info);
    }

    /// Forgets a relation (after `drop`); returns what was cached.
    pub fn remove(&mut self, schema: &str, name: &str) -> Option<RelationInfo> {
        self.schemas.get_mut(schema)?.remove(name)
    }

    /// Follows `alter ... rename to`; returns false when `from` was not cached.
    pub fn rename(&mut self, schema: &str, from: &str, to: &str) -> bool {
        let Some(mut info) = self.remove(schema, from) else {
            return false;
        };
        info.name = to.to_owned();
        self.insert(info);
        true
    }

    /// Follows `drop schema ... cascade`.
    pub fn drop_schema(&mut self, schema: &str) {
        self.schemas.remove(schema);
    }

    /// Records an empty schema (after `create schema`).
    pub fn add_schema(&mut self, schema: &str) {
        self.schemas.entry(schema.to_owned()).or_default();
    }

    /// How many relations of `kind` are cached, for progress and tests.
    pub fn count(&self, kind: RelationKind) -> usize {
        self.schemas
            .values()
            .flat_map(|m| m.values())
            .filter(|r| r.kind == kind)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(schema: &str, name: &str, kind: RelationKind) -> RelationInfo {
        RelationInfo {
            database: "db".into(),
            schema: schema.into(),
            name: name.into(),
            kind,
        }
    }

    #[test]
    fn tracks_creates_renames_and_drops() {
        let mut cache = RelationCache::new();
        cache.fill(
            &["a", "empty"],
            vec![
                info("a", "t", RelationKind::Table),
                info("a", "v", RelationKind::View),
            ],
        );
        assert!(cache.is_cached("empty") && !cache.is_cached("other"));
        assert_eq!(
            cache.get("a", "t").map(|r| r.kind),
            Some(RelationKind::Table)
        );
        assert!(cache.get("a", "T").is_none(), "names match exactly");
        assert!(cache.rename("a", "t", "t__backup"));
        assert!(cache.get("a", "t").is_none() && cache.get("a", "t__backup").is_some());
        assert!(!cache.rename("a", "missing", "x"));
        cache.insert(info("empty", "m", RelationKind::MaterializedView));
        assert_eq!(cache.count(RelationKind::MaterializedView), 1);
        assert_eq!(cache.remove("a", "v").map(|r| r.name), Some("v".into()));
        let names: Vec<_> = cache.relations_in("a").map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["t__backup"]);
        cache.drop_schema("a");
        assert!(!cache.is_cached("a"));
    }
}
