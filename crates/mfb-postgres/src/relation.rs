//! Relation names and SQL quoting.
//!
//! A [`Relation`] renders like dbt-postgres's: every part double-quoted,
//! `"db"."schema"."name"`. Quoting is always applied so case and reserved words survive.

use std::fmt;

/// Quotes an identifier: `a"b` becomes `"a""b"`. Always quotes, so the name is taken
/// exactly as given (case included).
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for ch in name.chars() {
        if ch == '"' {
            out.push('"');
        }
        out.push(ch);
    }
    out.push('"');
    out
}

/// Quotes a string literal. Like PostgreSQL's `quote_literal`, text containing a
/// backslash becomes an `E'...'` literal so it reads the same whatever
/// `standard_conforming_strings` is.
pub fn quote_literal(value: &str) -> String {
    let escape_backslash = value.contains('\\');
    let mut out = String::with_capacity(value.len() + 3);
    if escape_backslash {
        out.push('E');
    }
    out.push('\'');
    for ch in value.chars() {
        match ch {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            _ => out.push(ch),
        }
    }
    out.push('\'');
    out
}

/// What kind of relation a name refers to (pg_class.relkind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelationKind {
    /// `r`: an ordinary table.
    Table,
    /// `v`: a view.
    View,
    /// `m`: a materialized view.
    MaterializedView,
    /// `f`: a foreign table.
    Foreign,
    /// `p`: a partitioned table.
    Partitioned,
}

impl RelationKind {
    /// From pg_class.relkind; `None` for kinds dbt does not model (indexes, sequences...).
    pub fn from_relkind(relkind: &str) -> Option<Self> {
        Some(match relkind {
            "r" => RelationKind::Table,
            "v" => RelationKind::View,
            "m" => RelationKind::MaterializedView,
            "f" => RelationKind::Foreign,
            "p" => RelationKind::Partitioned,
            _ => return None,
        })
    }

    /// The `relation.type` string dbt macros compare against (`table`, `view`,
    /// `materialized_view`). Foreign and partitioned tables report `table`, as
    /// dbt-postgres's `list_relations` does via `pg_tables`.
    pub fn dbt_type(self) -> &'static str {
        match self {
            RelationKind::Table | RelationKind::Foreign | RelationKind::Partitioned => "table",
            RelationKind::View => "view",
            RelationKind::MaterializedView => "materialized_view",
        }
    }

    /// The keyword used in DDL (`DROP {keyword} ...`).
    pub fn ddl_keyword(self) -> &'static str {
        match self {
            RelationKind::Table | RelationKind::Partitioned => "table",
            RelationKind::View => "view",
            RelationKind::MaterializedView => "materialized view",
            RelationKind::Foreign => "foreign table",
        }
    }
}

/// A database object addressed by database, schema and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Relation {
    /// Database (catalog) name.
    pub database: String,
    /// Schema name.
    pub schema: String,
    /// Relation name.
    pub identifier: String,
    /// Its kind, when known.
    pub kind: Option<RelationKind>,
}

impl Relation {
    /// A relation of unknown kind.
    pub fn new(
        database: impl Into<String>,
        schema: impl Into<String>,
        identifier: impl Into<String>,
    ) -> Self {
        Relation {
            database: database.into(),
            schema: schema.into(),
            identifier: identifier.into(),
            kind: None,
        }
    }

    /// The same relation with its kind set.
    pub fn with_kind(mut self, kind: RelationKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// `"schema"."name"`, for statements that may not name the database
    /// (PostgreSQL forbids a database part in e.g. `ALTER ... RENAME` targets).
    pub fn schema_qualified(&self) -> String {
        format!(
            "{}.{}",
            quote_ident(&self.schema),
            quote_ident(&self.identifier)
        )
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}.{}",
            quote_ident(&self.database),
            quote_ident(&self.schema),
            quote_ident(&self.identifier)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_ident_doubles_quotes() {
        assert_eq!(quote_ident("abc"), "\"abc\"");
        assert_eq!(quote_ident("My \"T\""), "\"My \"\"T\"\"\"");
        assert_eq!(quote_ident(""), "\"\"");
    }

    #[test]
    fn quote_literal_handles_quotes_and_backslashes() {
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal(r"a\b'c"), r"E'a\\b''c'");
        assert_eq!(quote_literal(""), "''");
    }

    #[test]
    fn relation_renders_like_dbt_postgres() {
        let r = Relation::new("db", "Sch", "t\"x").with_kind(RelationKind::View);
        assert_eq!(r.to_string(), "\"db\".\"Sch\".\"t\"\"x\"");
        assert_eq!(r.schema_qualified(), "\"Sch\".\"t\"\"x\"");
        assert_eq!(r.kind.map(RelationKind::dbt_type), Some("view"));
        assert_eq!(
            RelationKind::from_relkind("m"),
            Some(RelationKind::MaterializedView)
        );
        assert_eq!(RelationKind::from_relkind("i"), None);
    }
}
