//! The `adapter` object and the [`Warehouse`] seam it queries through.
//!
//! `adapter.dispatch` resolves macros (no database needed). Everything that needs the
//! database (`execute`, `get_relation`, `get_columns_in_relation`, ...) goes through the
//! `Warehouse` trait, which `mfb-exec` implements on top of `mfb-postgres`. Commands that
//! run without a connection (parse, plain compile) have no warehouse; a macro that queries
//! the database then fails with a message that says so.

use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};

use crate::collections::MutList;
use crate::refs::split_kwargs;
use crate::relation::Relation;
use crate::scope::RunContext;

/// A column of a relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDesc {
    pub name: String,
    /// The type as dbt-postgres reports it (`integer`, `character varying(10)`, ...).
    pub data_type: String,
}

/// Result rows of a query, like dbt's agate table.
#[derive(Debug, Clone, Default)]
pub struct ResultTable {
    pub column_names: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// What a statement reports (`SELECT 3`, rows affected).
#[derive(Debug, Clone, Default)]
pub struct Response {
    pub message: String,
    pub code: String,
    pub rows_affected: i64,
}

/// Database access for templates.
pub trait Warehouse: Send + Sync {
    /// Runs SQL; with `fetch`, returns the rows.
    fn execute(&self, sql: &str, fetch: bool) -> Result<(Response, Option<ResultTable>), String>;
    /// The relation if it exists (with its type), else None.
    fn get_relation(
        &self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Option<Relation>, String>;
    /// Columns of a relation, in order.
    fn get_columns_in_relation(&self, relation: &Relation) -> Result<Vec<ColumnDesc>, String>;
    /// True if the schema exists.
    fn check_schema_exists(&self, database: &str, schema: &str) -> Result<bool, String>;
}

/// `"name"`, with embedded quotes doubled (PostgreSQL's identifier quoting).
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// The `adapter` object.
#[derive(Debug)]
pub struct AdapterObject {
    pub(crate) run: Arc<RunContext>,
    pub(crate) package: String,
}

impl AdapterObject {
    fn warehouse(&self, what: &str) -> Result<&Arc<dyn Warehouse>, Error> {
        self.run.warehouse.as_ref().ok_or_else(|| {
            err(format!("adapter.{what}() needs a database connection, and this command runs without one; run it with a command that connects (run, build, compile against a reachable profile)"))
        })
    }
}

impl std::fmt::Debug for dyn Warehouse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<warehouse>")
    }
}

fn relation_arg(v: &Value) -> Result<Relation, Error> {
    v.downcast_object_ref::<Relation>()
        .cloned()
        .ok_or_else(|| err(format!("expected a relation, got {v}")))
}

fn column_value(c: &ColumnDesc) -> Value {
    Value::from_object(ColumnObject(c.clone()))
}

impl Object for AdapterObject {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "type" => Some(Value::from("postgres")),
            _ => None,
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let (positional, kwargs) = split_kwargs(args);
        let kw = |name: &str| -> Result<Option<Value>, Error> {
            match &kwargs {
                Some(k) => k.get::<Option<Value>>(name),
                None => Ok(None),
            }
        };
        let arg = |i: usize, name: &str| -> Result<Option<Value>, Error> {
            Ok(positional
                .get(i)
                .cloned()
                .or(kw(name)?)
                .filter(|v| !v.is_none()))
        };
        match method {
            "dispatch" => {
                let name = arg(0, "macro_name")?
                    .ok_or_else(|| err("adapter.dispatch() needs a macro name"))?;
                let namespace = arg(1, "macro_namespace")?.or(kw("packages")?.and(None));
                self.run.registry.dispatch(
                    &self.package,
                    &name.to_string(),
                    namespace.as_ref().and_then(Value::as_str),
                )
            }
            "type" => Ok(Value::from("postgres")),
            "quote" => {
                let s = arg(0, "identifier")?
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                Ok(Value::from(quote_ident(&s)))
            }
            "quote_as_configured" => Ok(arg(0, "identifier")?.unwrap_or_default()),
            "quote_seed_column" => {
                let s = arg(0, "column")?.map(|v| v.to_string()).unwrap_or_default();
                let quote = arg(1, "quote_config")?.is_none_or(|v| v.is_true());
                Ok(Value::from(if quote { quote_ident(&s) } else { s }))
            }
            // At parse time (no warehouse) dbt's adapter answers "nothing there" instead of
            // querying: macros guard with `{% if execute %}` or cope with none.
            "get_relation" | "load_relation" if self.run.warehouse.is_none() => Ok(Value::from(())),
            "get_columns_in_relation" | "get_missing_columns" if self.run.warehouse.is_none() => {
                Ok(MutList::value(Vec::new()))
            }
            "check_schema_exists" | "already_exists" if self.run.warehouse.is_none() => {
                Ok(Value::from(false))
            }
            "execute" if self.run.warehouse.is_none() => {
                let response = Value::from_object(ResponseObject(Response::default()));
                Ok(Value::from(vec![
                    response,
                    Value::from_object(ResultTable::default()),
                ]))
            }
            "get_relation" => {
                let (db, schema, id) = (
                    arg(0, "database")?,
                    arg(1, "schema")?,
                    arg(2, "identifier")?,
                );
                let (Some(schema), Some(id)) = (schema, id) else {
                    return Err(err(
                        "adapter.get_relation() needs database, schema and identifier",
                    ));
                };
                let db = db.map(|v| v.to_string()).unwrap_or_default();
                let rel = self
                    .warehouse("get_relation")?
                    .get_relation(&db, &schema.to_string(), &id.to_string())
                    .map_err(err)?;
                Ok(rel.map_or(Value::from(()), Relation::into_value))
            }
            "load_relation" => {
                let rel = relation_arg(&arg(0, "relation")?.unwrap_or_default())?;
                let found = self
                    .warehouse("load_relation")?
                    .get_relation(
                        rel.database.as_deref().unwrap_or_default(),
                        rel.schema.as_deref().unwrap_or_default(),
                        rel.identifier.as_deref().unwrap_or_default(),
                    )
                    .map_err(err)?;
                Ok(found.map_or(Value::from(()), Relation::into_value))
            }
            "get_columns_in_relation" => {
                let rel = relation_arg(&arg(0, "relation")?.unwrap_or_default())?;
                let cols = self
                    .warehouse("get_columns_in_relation")?
                    .get_columns_in_relation(&rel)
                    .map_err(err)?;
                Ok(MutList::value(cols.iter().map(column_value).collect()))
            }
            "get_missing_columns" => {
                let from = relation_arg(&arg(0, "from_relation")?.unwrap_or_default())?;
                let to = relation_arg(&arg(1, "to_relation")?.unwrap_or_default())?;
                let wh = self.warehouse("get_missing_columns")?;
                let to_cols: Vec<String> = wh
                    .get_columns_in_relation(&to)
                    .map_err(err)?
                    .into_iter()
                    .map(|c| c.name.to_lowercase())
                    .collect();
                let missing = wh
                    .get_columns_in_relation(&from)
                    .map_err(err)?
                    .into_iter()
                    .filter(|c| !to_cols.contains(&c.name.to_lowercase()));
                Ok(MutList::value(missing.map(|c| column_value(&c)).collect()))
            }
            "check_schema_exists" => {
                let (db, schema) = (arg(0, "database")?, arg(1, "schema")?);
                let exists = self
                    .warehouse("check_schema_exists")?
                    .check_schema_exists(
                        &db.map(|v| v.to_string()).unwrap_or_default(),
                        &schema.map(|v| v.to_string()).unwrap_or_default(),
                    )
                    .map_err(err)?;
                Ok(Value::from(exists))
            }
            // dbt-postgres' relation and schema DDL, which packages and hooks call
            // (e.g. `adapter.drop_relation(this)` in a post-hook).
            "drop_relation" | "truncate_relation" | "rename_relation" | "create_schema"
            | "drop_schema" => {
                let first = arg(
                    0,
                    if method == "rename_relation" {
                        "from_relation"
                    } else {
                        "relation"
                    },
                )?
                .ok_or_else(|| err(format!("adapter.{method}() needs a relation")))?;
                let rel = relation_arg(&first)?;
                let wh = self.warehouse(method)?;
                let schema_sql = || quote_ident(rel.schema.as_deref().unwrap_or_default());
                let kind = |r: &Relation| -> Result<Option<String>, Error> {
                    if let Some(k) = &r.kind {
                        return Ok(Some(k.clone()));
                    }
                    let found = wh
                        .get_relation(
                            r.database.as_deref().unwrap_or_default(),
                            r.schema.as_deref().unwrap_or_default(),
                            r.identifier.as_deref().unwrap_or_default(),
                        )
                        .map_err(err)?;
                    Ok(found.and_then(|f| f.kind))
                };
                let keyword = |k: &str| match k {
                    "view" => "view",
                    "materialized_view" => "materialized view",
                    _ => "table",
                };
                let sql = match method {
                    "drop_relation" => match kind(&rel)? {
                        Some(k) => {
                            format!("drop {} if exists {} cascade", keyword(&k), rel.render())
                        }
                        None => return Ok(Value::from(())),
                    },
                    "truncate_relation" => format!("truncate table {}", rel.render()),
                    "rename_relation" => {
                        let to = arg(1, "to_relation")?
                            .ok_or_else(|| err("adapter.rename_relation() needs to_relation"))?;
                        let to = relation_arg(&to)?;
                        let k = kind(&rel)?.unwrap_or_else(|| "table".to_owned());
                        format!(
                            "alter {} {} rename to {}",
                            keyword(&k),
                            rel.render(),
                            quote_ident(to.identifier.as_deref().unwrap_or_default())
                        )
                    }
                    "create_schema" => format!("create schema if not exists {}", schema_sql()),
                    _ => format!("drop schema if exists {} cascade", schema_sql()),
                };
                wh.execute(&sql, false).map_err(err)?;
                Ok(Value::from(()))
            }
            "already_exists" => {
                let (schema, id) = (arg(0, "schema")?, arg(1, "name")?);
                let rel = self
                    .warehouse("already_exists")?
                    .get_relation(
                        "",
                        &schema.map(|v| v.to_string()).unwrap_or_default(),
                        &id.map(|v| v.to_string()).unwrap_or_default(),
                    )
                    .map_err(err)?;
                Ok(Value::from(rel.is_some()))
            }
            "execute" => {
                let sql = arg(0, "sql")?.map(|v| v.to_string()).unwrap_or_default();
                let fetch = kw("fetch")?.is_some_and(|v| v.is_true());
                let _ = kw("auto_begin")?;
                let _ = kw("limit")?;
                let (response, table) = self
                    .warehouse("execute")?
                    .execute(&sql, fetch)
                    .map_err(err)?;
                let response = Value::from_object(ResponseObject(response));
                let table = Value::from_object(table.unwrap_or_default());
                Ok(Value::from(vec![response, table]))
            }
            "expand_target_column_types" | "commit" | "begin" | "add_query" => Ok(Value::from("")),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("adapter.{method}() is not supported by mfb yet"),
            )),
        }
    }
}

/// `adapter.execute` response.
#[derive(Debug)]
struct ResponseObject(Response);

impl Object for ResponseObject {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "_message" | "message" => Value::from(self.0.message.as_str()),
            "code" => Value::from(self.0.code.as_str()),
            "rows_affected" => Value::from(self.0.rows_affected),
            _ => return None,
        })
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.message)
    }
}

/// A column as `adapter.get_columns_in_relation` returns it.
#[derive(Debug)]
struct ColumnObject(ColumnDesc);

impl ColumnObject {
    /// dbt's `dtype`, `char_size`, `numeric_precision` and `numeric_scale`, from the
    /// `data_type` PostgreSQL reports (`character varying(10)`, `numeric(12,2)`, `text`).
    fn parts(&self) -> (&str, Option<i64>, Option<i64>, Option<i64>) {
        let t = self.0.data_type.as_str();
        let Some((base, rest)) = t.split_once('(') else {
            return (t, None, None, None);
        };
        let args: Vec<i64> = rest
            .trim_end_matches(')')
            .split(',')
            .filter_map(|a| a.trim().parse().ok())
            .collect();
        let base = base.trim_end();
        let lower = base.to_ascii_lowercase();
        if matches!(lower.as_str(), "numeric" | "decimal") {
            (base, None, args.first().copied(), args.get(1).copied())
        } else {
            (base, args.first().copied(), None, None)
        }
    }

    fn kind_is(&self, kinds: &[&str]) -> bool {
        kinds.contains(&self.parts().0.to_ascii_lowercase().as_str())
    }

    fn is_string(&self) -> bool {
        self.kind_is(&["text", "character varying", "character", "varchar"])
    }

    fn is_integer(&self) -> bool {
        self.kind_is(&[
            "smallint",
            "integer",
            "bigint",
            "smallserial",
            "serial",
            "bigserial",
            "int2",
            "int4",
            "int8",
            "serial2",
            "serial4",
            "serial8",
        ])
    }

    fn is_float(&self) -> bool {
        self.kind_is(&[
            "real",
            "float4",
            "float",
            "double precision",
            "float8",
            "double",
        ])
    }

    fn is_numeric(&self) -> bool {
        self.kind_is(&["numeric", "decimal"])
    }

    /// dbt's `string_size()`: the declared length, 256 when there is none.
    fn string_size(&self) -> Result<i64, Error> {
        if !self.is_string() {
            return Err(err(format!(
                "Called string_size() on non-string field {} ({})",
                self.0.name, self.0.data_type
            )));
        }
        Ok(self.parts().1.unwrap_or(256))
    }
}

impl Object for ColumnObject {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let c = &self.0;
        let (dtype, char_size, precision, scale) = self.parts();
        let opt = |v: Option<i64>| v.map_or(Value::from(()), Value::from);
        Some(match key.as_str()? {
            "name" | "column" => Value::from(c.name.as_str()),
            "quoted" => Value::from(quote_ident(&c.name)),
            "data_type" | "expanded_data_type" => Value::from(c.data_type.as_str()),
            "dtype" => Value::from(dtype),
            "char_size" => opt(char_size),
            "numeric_precision" => opt(precision),
            "numeric_scale" => opt(scale),
            _ => return None,
        })
    }
    // dbt's Column methods: `col.is_string()`, `col.string_size()`, ...
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "is_string" => Ok(Value::from(self.is_string())),
            "is_integer" => Ok(Value::from(self.is_integer())),
            "is_float" => Ok(Value::from(self.is_float())),
            "is_numeric" => Ok(Value::from(self.is_numeric())),
            "is_number" => Ok(Value::from(
                self.is_integer() || self.is_float() || self.is_numeric(),
            )),
            "string_size" => self.string_size().map(Value::from),
            "can_expand_to" => {
                let (other,): (Value,) = minijinja::value::from_args(args)?;
                let Some(other) = other.downcast_object_ref::<ColumnObject>() else {
                    return Err(err("can_expand_to() takes a column"));
                };
                if !self.is_string() || !other.is_string() {
                    return Ok(Value::from(false));
                }
                Ok(Value::from(other.string_size()? > self.string_size()?))
            }
            "literal" => {
                let (value,): (Value,) = minijinja::value::from_args(args)?;
                Ok(Value::from(format!("{value}::{}", self.0.data_type)))
            }
            "string_type" => {
                let (size,): (i64,) = minijinja::value::from_args(args)?;
                Ok(Value::from(format!("character varying({size})")))
            }
            "numeric_type" => {
                let (dtype, precision, scale): (String, Value, Value) =
                    minijinja::value::from_args(args)?;
                Ok(Value::from(if precision.is_none() || scale.is_none() {
                    dtype
                } else {
                    format!("{dtype}({precision},{scale})")
                }))
            }
            _ => Err(crate::collections::no_method("Column", method)),
        }
    }
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<Column {} ({})>", self.0.name, self.0.data_type)
    }
}

impl Object for ResultTable {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Iterable
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "rows" => Some(MutList::value(
                self.rows
                    .iter()
                    .map(|r| row_value(&self.column_names, r))
                    .collect(),
            )),
            "column_names" => Some(Value::from(self.column_names.clone())),
            "columns" => Some(Value::from_object(TableColumns((**self).clone()))),
            _ => None,
        }
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(
            self.rows
                .iter()
                .map(|r| row_value(&self.column_names, r))
                .collect(),
        )
    }
    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.rows.len())
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "print_table" => Ok(Value::from("")),
            _ => Err(crate::collections::no_method("table", method)),
        }
    }
}

fn row_value(names: &[String], row: &[Value]) -> Value {
    Value::from_object(Row {
        names: names.to_vec(),
        values: row.to_vec(),
    })
}

/// A result row: indexable by position and by column name.
#[derive(Debug)]
struct Row {
    names: Vec<String>,
    values: Vec<Value>,
}

impl Object for Row {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        if let Some(name) = key.as_str() {
            let i = self.names.iter().position(|n| n == name)?;
            return self.values.get(i).cloned();
        }
        let i = i64::try_from(key.clone()).ok()?;
        let i = if i < 0 {
            self.values.len() as i64 + i
        } else {
            i
        };
        self.values.get(usize::try_from(i).ok()?).cloned()
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.values.clone())
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "keys" => Ok(Value::from(self.names.clone())),
            "values" => Ok(Value::from(self.values.clone())),
            "items" => Ok(Value::from(
                self.names
                    .iter()
                    .zip(&self.values)
                    .map(|(n, v)| Value::from(vec![Value::from(n.as_str()), v.clone()]))
                    .collect::<Vec<_>>(),
            )),
            "dict" => Ok(Value::from_pairs(
                self.names.iter().cloned().zip(self.values.iter().cloned()),
            )),
            _ => Err(crate::collections::no_method("row", method)),
        }
    }
}

/// `table.columns`: by position or name; each column has `.name` and `.values()`.
#[derive(Debug)]
struct TableColumns(ResultTable);

impl Object for TableColumns {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let i = match key.as_str() {
            Some(name) => self.0.column_names.iter().position(|n| n == name)?,
            None => usize::try_from(key.clone()).ok()?,
        };
        let name = self.0.column_names.get(i)?.clone();
        let values = self
            .0
            .rows
            .iter()
            .map(|r| r.get(i).cloned().unwrap_or_default())
            .collect();
        Some(Value::from_object(TableColumn { name, values }))
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(
            (0..self.0.column_names.len())
                .filter_map(|i| self.get_value(&Value::from(i)))
                .collect(),
        )
    }
}

#[derive(Debug)]
struct TableColumn {
    name: String,
    values: Vec<Value>,
}

impl Object for TableColumn {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "name" => Some(Value::from(self.name.as_str())),
            _ => None,
        }
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "values" => Ok(MutList::value(self.values.clone())),
            _ => Err(crate::collections::no_method("column", method)),
        }
    }
}
