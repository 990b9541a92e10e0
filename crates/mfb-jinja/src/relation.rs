//! `Relation`: what `ref()`, `source()`, `this` and `api.Relation.create()` return.
//!
//! Renders like dbt-postgres (`"db"."schema"."identifier"`, each part quoted and included
//! per policy), and offers the methods macros call: `include()`, `quote()`,
//! `incorporate()`, `is_table`, `is_view`, `name`, `render()`, ...

use std::fmt;
use std::sync::Arc;

use minijinja::value::{Enumerator, Kwargs, Object, ObjectRepr, Value, from_args};
use minijinja::{Error, State};

/// A database relation as dbt's Jinja sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Relation {
    pub database: Option<String>,
    pub schema: Option<String>,
    pub identifier: Option<String>,
    /// `table`, `view`, `materialized_view`, `cte`, `external`, or None when unknown.
    pub kind: Option<String>,
    /// Quote policy for database, schema, identifier.
    pub quote: [bool; 3],
    /// Include policy for database, schema, identifier.
    pub include: [bool; 3],
    /// An ephemeral model: renders as its CTE name `__dbt__cte__<identifier>`.
    pub is_cte: bool,
}

impl Relation {
    /// A relation with dbt-postgres's default policies (quote and include everything).
    pub fn new(database: &str, schema: &str, identifier: &str, kind: Option<&str>) -> Self {
        Relation {
            database: Some(database.to_owned()),
            schema: Some(schema.to_owned()),
            identifier: Some(identifier.to_owned()),
            kind: kind.map(str::to_owned),
            quote: [true; 3],
            include: [true; 3],
            is_cte: false,
        }
    }

    /// The relation of an ephemeral model: rendered as its CTE name.
    pub fn cte(identifier: &str) -> Self {
        Relation {
            identifier: Some(identifier.to_owned()),
            kind: Some("cte".into()),
            is_cte: true,
            ..Relation::default()
        }
    }

    /// Wraps it as a template value.
    pub fn into_value(self) -> Value {
        Value::from_object(self)
    }

    /// The rendered name, e.g. `"db"."analytics"."orders"`.
    pub fn render(&self) -> String {
        if self.is_cte {
            return format!(
                "__dbt__cte__{}",
                self.identifier.as_deref().unwrap_or_default()
            );
        }
        let parts = [&self.database, &self.schema, &self.identifier];
        let mut out = String::with_capacity(
            parts
                .iter()
                .map(|p| p.as_deref().map_or(0, str::len) + 3)
                .sum(),
        );
        for (i, part) in parts.iter().enumerate() {
            let Some(part) = part.as_deref() else {
                continue;
            };
            if !self.include[i] || part.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push('.');
            }
            if self.quote[i] {
                out.push('"');
                if part.contains('"') {
                    out.push_str(&part.replace('"', "\"\""));
                } else {
                    out.push_str(part);
                }
                out.push('"');
            } else {
                out.push_str(part);
            }
        }
        out
    }

    fn policy_from_kwargs(mut policy: [bool; 3], kwargs: &Kwargs) -> Result<[bool; 3], Error> {
        for (i, key) in ["database", "schema", "identifier"].iter().enumerate() {
            if let Some(v) = kwargs.get::<Option<bool>>(key)? {
                policy[i] = v;
            }
        }
        kwargs.assert_all_used()?;
        Ok(policy)
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

fn opt(v: &Option<String>) -> Value {
    v.as_deref().map_or(Value::from(()), Value::from)
}

impl Object for Relation {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let kind = self.kind.as_deref();
        Some(match key.as_str()? {
            "database" => opt(&self.database),
            "schema" => opt(&self.schema),
            "identifier" | "name" | "table" => opt(&self.identifier),
            "type" => opt(&self.kind),
            "is_table" => Value::from(kind == Some("table")),
            "is_view" => Value::from(kind == Some("view")),
            "is_materialized_view" => Value::from(kind == Some("materialized_view")),
            "is_cte" => Value::from(self.is_cte),
            "quote_policy" | "include_policy" => {
                let p = if key.as_str() == Some("quote_policy") {
                    self.quote
                } else {
                    self.include
                };
                crate::collections::from_serde(
                    &serde_json::json!({"database": p[0], "schema": p[1], "identifier": p[2]}),
                )
            }
            "path" => crate::collections::from_serde(&serde_json::json!({
                "database": self.database, "schema": self.schema, "identifier": self.identifier
            })),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&["database", "schema", "identifier", "name", "type"])
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "render" => Ok(Value::from(Relation::render(self))),
            // A Mapping's `get`; `metadata` answers `{"type": "PostgresRelation"}` as dbt's
            // relations do, which dbt_utils reads to tell a relation from other values.
            "get" => {
                let (key, default): (String, Option<Value>) = from_args(args)?;
                if key == "metadata" {
                    return Ok(crate::collections::from_serde(
                        &serde_json::json!({"type": "PostgresRelation"}),
                    ));
                }
                Ok(self
                    .get_value(&Value::from(key))
                    .unwrap_or_else(|| default.unwrap_or(Value::from(()))))
            }
            "include" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let include = Relation::policy_from_kwargs(self.include, &kwargs)?;
                Ok(Relation {
                    include,
                    ..(**self).clone()
                }
                .into_value())
            }
            "quote" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let quote = Relation::policy_from_kwargs(self.quote, &kwargs)?;
                Ok(Relation {
                    quote,
                    ..(**self).clone()
                }
                .into_value())
            }
            "without_identifier" => Ok(Relation {
                identifier: None,
                ..(**self).clone()
            }
            .into_value()),
            "incorporate" | "replace_path" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let mut rel = (**self).clone();
                let path: Option<Value> = if method == "incorporate" {
                    kwargs.get("path")?
                } else {
                    None
                };
                let read = |src: &dyn Fn(&str) -> Result<Option<Value>, Error>,
                            rel: &mut Relation|
                 -> Result<(), Error> {
                    for (key, slot) in [
                        ("database", &mut rel.database),
                        ("schema", &mut rel.schema),
                        ("identifier", &mut rel.identifier),
                    ] {
                        if let Some(v) = src(key)? {
                            *slot = if v.is_none() {
                                None
                            } else {
                                Some(v.to_string())
                            };
                        }
                    }
                    Ok(())
                };
                match path {
                    Some(path) => read(
                        &|k| Ok(path.get_attr(k).ok().filter(|v| !v.is_undefined())),
                        &mut rel,
                    )?,
                    None if method == "replace_path" => {
                        read(&|k| kwargs.get::<Option<Value>>(k), &mut rel)?
                    }
                    None => {}
                }
                if method == "incorporate"
                    && let Some(kind) = kwargs.get::<Option<String>>("type")?
                {
                    rel.kind = Some(kind);
                }
                kwargs.assert_all_used()?;
                Ok(rel.into_value())
            }
            _ => Err(crate::collections::no_method("Relation", method)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&Relation::render(self))
    }
}

/// `api.Relation`: `api.Relation.create(database=, schema=, identifier=, type=)`.
#[derive(Debug)]
pub struct RelationApi;

impl Object for RelationApi {
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        if method != "create" {
            return Err(crate::collections::no_method("api.Relation", method));
        }
        let (kwargs,): (Kwargs,) = from_args(args)?;
        let get = |k: &str| -> Result<Option<String>, Error> {
            Ok(kwargs
                .get::<Option<Value>>(k)?
                .filter(|v| !v.is_none())
                .map(|v| v.to_string()))
        };
        let rel = Relation {
            database: get("database")?,
            schema: get("schema")?,
            identifier: get("identifier")?,
            kind: get("type")?,
            quote: [true; 3],
            include: [true; 3],
            is_cte: false,
        };
        // Policies may be passed too; accept and apply them.
        let rel = match kwargs.get::<Option<Value>>("quote_policy")? {
            Some(p) => Relation {
                quote: policy_value(&p, rel.quote),
                ..rel
            },
            None => rel,
        };
        let rel = match kwargs.get::<Option<Value>>("include_policy")? {
            Some(p) => Relation {
                include: policy_value(&p, rel.include),
                ..rel
            },
            None => rel,
        };
        Ok(rel.into_value())
    }
}

fn policy_value(v: &Value, mut policy: [bool; 3]) -> [bool; 3] {
    for (i, key) in ["database", "schema", "identifier"].iter().enumerate() {
        if let Ok(x) = v.get_attr(key)
            && !x.is_undefined()
        {
            policy[i] = x.is_true();
        }
    }
    policy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_dbt_postgres() {
        let r = Relation::new("db", "analytics", "orders", Some("table"));
        assert_eq!(r.render(), r#""db"."analytics"."orders""#);
        let no_db = Relation {
            include: [false, true, true],
            ..r.clone()
        };
        assert_eq!(no_db.render(), r#""analytics"."orders""#);
        assert_eq!(Relation::cte("eph").render(), "__dbt__cte__eph");
    }
}
