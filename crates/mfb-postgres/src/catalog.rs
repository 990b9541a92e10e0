//! Catalog queries: relations in schemas, columns of a relation, and views that depend
//! on a relation.
//!
//! Each is one query over pg_catalog (never one per model). Column types are reported the
//! way dbt-postgres's `get_columns_in_relation` reports them, since macros compare them.

use crate::connection::{Connection, Session, Transaction};
use crate::error::PgError;
use crate::relation::{Relation, RelationKind, quote_ident};

/// A relation found in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationInfo {
    /// Database name.
    pub database: String,
    /// Schema name.
    pub schema: String,
    /// Relation name.
    pub name: String,
    /// Table, view, ...
    pub kind: RelationKind,
}

impl RelationInfo {
    /// As a [`Relation`] value.
    pub fn relation(&self) -> Relation {
        Relation::new(&self.database, &self.schema, &self.name).with_kind(self.kind)
    }
}

/// A column of a relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// Type as dbt-postgres reports it: `integer`, `character varying(10)`, `numeric(10,2)`,
    /// `timestamp without time zone`, `text`.
    pub data_type: String,
    /// 1-based position (pg_attribute.attnum; dropped columns leave gaps).
    pub position: u32,
}

/// A view (or materialized view) that depends on another relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependentView {
    /// The dependent view.
    pub relation: Relation,
    /// Its query, as `pg_get_viewdef` prints it.
    pub definition: String,
    /// Its reloptions (e.g. `security_barrier=true`), to recreate it faithfully.
    pub options: Vec<String>,
}

impl DependentView {
    /// The statement that recreates this view (materialized views are recreated empty
    /// with `with no data`; refresh them afterwards).
    pub fn create_statement(&self) -> String {
        let kind = match self.relation.kind {
            Some(RelationKind::MaterializedView) => "materialized view",
            _ => "view",
        };
        let with = if self.options.is_empty() {
            String::new()
        } else {
            format!(" with ({})", self.options.join(", "))
        };
        let body = self.definition.trim_end().trim_end_matches(';');
        let data = if kind == "view" { "" } else { " with no data" };
        format!(
            "create {kind} {}{with} as\n{body}{data}",
            self.relation.schema_qualified()
        )
    }
}

const LIST_RELATIONS: &str = "
select current_database()::text, n.nspname::text, c.relname::text, c.relkind::text
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname = any($1::text[]) and c.relkind in ('r', 'v', 'm', 'f', 'p')
order by n.nspname, c.relname";

const GET_RELATION: &str = "
select current_database()::text, n.nspname::text, c.relname::text, c.relkind::text
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'v', 'm', 'f', 'p')";

const COLUMNS: &str = "
select a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnum::int4
from pg_catalog.pg_attribute a
where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped
order by a.attnum";

// Views depend on relations through their rewrite rule (pg_rewrite), recorded in
// pg_depend. Walk that graph; a view's depth is its longest path from the relation, so
// sorting by depth yields an order in which each view can be recreated.
const DEPENDENT_VIEWS: &str = "
with recursive deps(oid, depth) as (
    select r.ev_class, 1
    from pg_catalog.pg_depend d
    join pg_catalog.pg_rewrite r on r.oid = d.objid
    where d.classid = 'pg_catalog.pg_rewrite'::regclass
      and d.refclassid = 'pg_catalog.pg_class'::regclass
      and d.refobjid = to_regclass($1)
      and r.ev_class <> d.refobjid
    union
    select r.ev_class, deps.depth + 1
    from deps
    join pg_catalog.pg_depend d
      on d.refobjid = deps.oid
     and d.classid = 'pg_catalog.pg_rewrite'::regclass
     and d.refclassid = 'pg_catalog.pg_class'::regclass
    join pg_catalog.pg_rewrite r on r.oid = d.objid
    where r.ev_class <> deps.oid and deps.depth < 100
)
select n.nspname::text, c.relname::text, c.relkind::text,
       pg_catalog.pg_get_viewdef(c.oid), coalesce(c.reloptions, '{}')::text[], max(deps.depth)
from deps
join pg_catalog.pg_class c on c.oid = deps.oid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
group by c.oid, n.nspname, c.relname, c.relkind
order by max(deps.depth), n.nspname, c.relname";

/// Rewrites `format_type` output into the form dbt-postgres reports (from
/// information_schema plus its `Column.data_type` rules).
pub fn dbt_data_type(formatted: &str) -> String {
    // character(n) is reported as character varying(n), as dbt's Column.data_type does.
    if let Some(rest) = formatted.strip_prefix("character(") {
        return format!("character varying({rest}");
    }
    if formatted == "bpchar" {
        return "character varying(256)".into();
    }
    // information_schema.data_type carries no time precision.
    for base in ["timestamp", "time"] {
        if let Some(rest) = formatted.strip_prefix(&format!("{base}("))
            && let Some(close) = rest.find(')')
        {
            return format!("{base}{}", &rest[close + 1..]);
        }
    }
    if let Some(rest) = formatted.strip_prefix("interval(")
        && let Some(close) = rest.find(')')
    {
        return format!("interval{}", &rest[close + 1..]);
    }
    formatted.to_owned()
}

fn relation_info(row: &tokio_postgres::Row) -> Result<RelationInfo, PgError> {
    let relkind: String = row.get(3);
    Ok(RelationInfo {
        database: row.get(0),
        schema: row.get(1),
        name: row.get(2),
        kind: RelationKind::from_relkind(&relkind)
            .ok_or_else(|| PgError::Protocol(format!("unexpected relkind `{relkind}`")))?,
    })
}

impl Session<'_> {
    pub(crate) async fn list_relations(
        &self,
        schemas: &[&str],
    ) -> Result<Vec<RelationInfo>, PgError> {
        self.check()?;
        let rows = self
            .client
            .query(LIST_RELATIONS, &[&schemas])
            .await
            .map_err(|e| self.err(e))?;
        rows.iter().map(relation_info).collect()
    }

    pub(crate) async fn get_relation(
        &self,
        schema: &str,
        name: &str,
    ) -> Result<Option<RelationInfo>, PgError> {
        self.check()?;
        let rows = self
            .client
            .query(GET_RELATION, &[&schema, &name])
            .await
            .map_err(|e| self.err(e))?;
        rows.first().map(relation_info).transpose()
    }

    pub(crate) async fn columns_in_relation(
        &self,
        schema: &str,
        name: &str,
    ) -> Result<Vec<ColumnInfo>, PgError> {
        self.check()?;
        let qualified = format!("{}.{}", quote_ident(schema), quote_ident(name));
        let rows = self
            .client
            .query(COLUMNS, &[&qualified])
            .await
            .map_err(|e| self.err(e))?;
        Ok(rows
            .iter()
            .map(|row| {
                let formatted: String = row.get(1);
                let position: i32 = row.get(2);
                ColumnInfo {
                    name: row.get(0),
                    data_type: dbt_data_type(&formatted),
                    position: position.unsigned_abs(),
                }
            })
            .collect())
    }

    pub(crate) async fn dependent_views(
        &self,
        schema: &str,
        name: &str,
    ) -> Result<Vec<DependentView>, PgError> {
        self.check()?;
        let qualified = format!("{}.{}", quote_ident(schema), quote_ident(name));
        let rows = self
            .client
            .query(DEPENDENT_VIEWS, &[&qualified])
            .await
            .map_err(|e| self.err(e))?;
        rows.iter()
            .map(|row| {
                let relkind: String = row.get(2);
                let kind = RelationKind::from_relkind(&relkind).ok_or_else(|| {
                    PgError::Protocol(format!("a view dependency has relkind `{relkind}`"))
                })?;
                let schema: String = row.get(0);
                let view: String = row.get(1);
                Ok(DependentView {
                    relation: Relation::new(self.database, schema, view).with_kind(kind),
                    definition: row.get(3),
                    options: row.get(4),
                })
            })
            .collect()
    }
}

macro_rules! catalog_methods {
    ($ty:ty) => {
        impl $ty {
            /// Tables, views, materialized views, foreign and partitioned tables in any of
            /// `schemas`, sorted by schema and name; one query for all schemas.
            pub async fn list_relations(
                &self,
                schemas: &[&str],
            ) -> Result<Vec<RelationInfo>, PgError> {
                self.session().list_relations(schemas).await
            }

            /// The relation `schema.name` (exact names), or `None` when it does not exist.
            pub async fn get_relation(
                &self,
                schema: &str,
                name: &str,
            ) -> Result<Option<RelationInfo>, PgError> {
                self.session().get_relation(schema, name).await
            }

            /// Lists `schemas` into a fresh [`RelationCache`](crate::RelationCache).
            pub async fn load_relation_cache(
                &self,
                schemas: &[&str],
            ) -> Result<crate::RelationCache, PgError> {
                let relations = self.session().list_relations(schemas).await?;
                let mut cache = crate::RelationCache::new();
                cache.fill(schemas, relations);
                Ok(cache)
            }

            /// The columns of `schema.name` in order; empty when the relation does not exist.
            pub async fn columns_in_relation(
                &self,
                schema: &str,
                name: &str,
            ) -> Result<Vec<ColumnInfo>, PgError> {
                self.session().columns_in_relation(schema, name).await
            }

            /// Views that depend on `schema.name`, directly or through other views, in an
            /// order in which they can be recreated; empty when the relation does not exist.
            pub async fn dependent_views(
                &self,
                schema: &str,
                name: &str,
            ) -> Result<Vec<DependentView>, PgError> {
                self.session().dependent_views(schema, name).await
            }
        }
    };
}

catalog_methods!(Connection);
catalog_methods!(Transaction<'_>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_types_follow_dbt_postgres() {
        assert_eq!(
            dbt_data_type("character varying(10)"),
            "character varying(10)"
        );
        assert_eq!(dbt_data_type("character(3)"), "character varying(3)");
        assert_eq!(dbt_data_type("numeric(10,2)"), "numeric(10,2)");
        assert_eq!(
            dbt_data_type("timestamp(3) without time zone"),
            "timestamp without time zone"
        );
        assert_eq!(
            dbt_data_type("time(0) with time zone"),
            "time with time zone"
        );
        assert_eq!(dbt_data_type("integer"), "integer");
        assert_eq!(dbt_data_type("text[]"), "text[]");
    }

    #[test]
    fn create_statement_recreates_views() {
        let v = DependentView {
            relation: Relation::new("d", "s", "v").with_kind(RelationKind::View),
            definition: " SELECT t.a\n   FROM s.t;".into(),
            options: vec!["security_barrier=true".into()],
        };
        assert_eq!(
            v.create_statement(),
            "create view \"s\".\"v\" with (security_barrier=true) as\n SELECT t.a\n   FROM s.t"
        );
    }
}
