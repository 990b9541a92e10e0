//! The `grants` config: `{select: [role_a, role_b], insert: [...]}`.
//!
//! Grants run inside the model's transaction, after its post-hooks, so a reader never
//! sees the new relation without them and a failure leaves the old relation's privileges
//! as they were. A freshly built relation only gets the configured grants (PostgreSQL does
//! not carry privileges over a swap, and dbt-postgres does not copy them). A relation that
//! is kept (an incremental run, a refreshed materialized view) first loses the privileges
//! this role granted that are no longer configured, as dbt's `apply_grants` does. An empty
//! or missing `grants` config changes nothing. `+privilege` keys (additive) are resolved
//! while configs merge (`mfb_project::config`).

use indexmap::IndexMap;
use mfb_graph::Node;
use mfb_postgres::{PgError, Transaction, quote_literal};
use serde_json::Value;

/// Privilege (lower case) -> grantees, as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants(pub IndexMap<String, Vec<String>>);

impl Grants {
    /// The node's `grants` config.
    pub fn configured(node: &Node) -> Grants {
        let Some(Value::Object(map)) = node.config.get("grants") else {
            return Grants::default();
        };
        let mut out: IndexMap<String, Vec<String>> = IndexMap::new();
        for (privilege, grantees) in map {
            let privilege = privilege.trim_start_matches('+').to_lowercase();
            let list = out.entry(privilege).or_default();
            match grantees {
                Value::String(g) => list.push(g.clone()),
                Value::Array(gs) => list.extend(gs.iter().filter_map(|g| match g {
                    Value::String(s) => Some(s.clone()),
                    Value::Null => None,
                    other => Some(other.to_string()),
                })),
                _ => {}
            }
        }
        Grants(out)
    }

    /// True when there is nothing configured (dbt then leaves privileges alone).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The statements that bring `relation` to the configured privileges. `current` is
    /// what this role granted on a relation that is kept; `None` for a new relation.
    pub fn statements(&self, relation: &str, current: Option<&Grants>) -> Vec<String> {
        if self.is_empty() {
            return Vec::new();
        }
        let has = |g: &Grants, privilege: &str, grantee: &str| {
            g.0.get(privilege)
                .is_some_and(|list| list.iter().any(|x| x.eq_ignore_ascii_case(grantee)))
        };
        let mut out = Vec::new();
        if let Some(current) = current {
            for (privilege, grantees) in &current.0 {
                let revoke: Vec<&str> = grantees
                    .iter()
                    .filter(|g| !has(self, privilege, g))
                    .map(String::as_str)
                    .collect();
                if !revoke.is_empty() {
                    out.push(format!(
                        "revoke {privilege} on {relation} from {}",
                        revoke.join(", ")
                    ));
                }
            }
        }
        for (privilege, grantees) in &self.0 {
            let grant: Vec<&str> = grantees
                .iter()
                .filter(|g| current.is_none_or(|c| !has(c, privilege, g)))
                .map(String::as_str)
                .collect();
            if !grant.is_empty() {
                out.push(format!(
                    "grant {privilege} on {relation} to {}",
                    grant.join(", ")
                ));
            }
        }
        out
    }
}

// aclexplode rather than information_schema.role_table_grants, which leaves out
// materialized views. PUBLIC is grantee 0.
const GRANTED: &str = "
select coalesce(r.rolname::text, 'public'), lower(a.privilege_type)
from pg_catalog.pg_class c
cross join lateral pg_catalog.aclexplode(c.relacl) a
left join pg_catalog.pg_roles r on r.oid = a.grantee
where c.oid = to_regclass($REL)
  and a.grantor = (select oid from pg_catalog.pg_roles where rolname = current_role)
  and a.grantee <> a.grantor
order by 2, 1";

/// What the current role has granted to others on `relation` (a quoted, qualified name).
pub async fn granted(txn: &Transaction<'_>, relation: &str) -> Result<Grants, PgError> {
    let table = txn
        .fetch(&GRANTED.replace("$REL", &quote_literal(relation)))
        .await?;
    let mut out: IndexMap<String, Vec<String>> = IndexMap::new();
    for row in &table.rows {
        let text = |i: usize| row.get(i).and_then(|c| c.as_text()).unwrap_or_default();
        out.entry(text(1)).or_default().push(text(0));
    }
    Ok(Grants(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(pairs: &[(&str, &[&str])]) -> Grants {
        Grants(
            pairs
                .iter()
                .map(|(p, gs)| (p.to_string(), gs.iter().map(|g| g.to_string()).collect()))
                .collect(),
        )
    }

    #[test]
    fn new_relations_only_get_grants() {
        let g = grants(&[("select", &["a", "b"])]);
        assert_eq!(
            g.statements("s.t", None),
            vec!["grant select on s.t to a, b"]
        );
    }

    #[test]
    fn kept_relations_lose_what_is_no_longer_configured() {
        let g = grants(&[("select", &["b"]), ("insert", &[])]);
        let current = grants(&[
            ("select", &["a", "B"]),
            ("update", &["a"]),
            ("insert", &["c"]),
        ]);
        assert_eq!(
            g.statements("s.t", Some(&current)),
            vec![
                "revoke select on s.t from a",
                "revoke update on s.t from a",
                "revoke insert on s.t from c",
            ]
        );
    }

    #[test]
    fn no_config_changes_nothing() {
        let current = grants(&[("select", &["a"])]);
        assert!(
            Grants::default()
                .statements("s.t", Some(&current))
                .is_empty()
        );
    }
}
