//! The Jinja runtime's [`Warehouse`] seam, implemented over `mfb-postgres`.
//!
//! Templates run on rayon threads; each database call blocks on a small tokio runtime
//! owned here (rayon calls into tokio, never the other way round). The pool is opened on
//! first use, so commands whose templates never query the database never connect.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mfb_jinja::{ColumnDesc, JinjaValue, Relation, Response, ResultTable, Warehouse};
use mfb_postgres::{Cell, ConnectionConfig, Pool, SslMode};
use mfb_project::ProfileTarget;

/// The connection settings of a profile target.
pub fn connection_config(t: &ProfileTarget) -> Result<ConnectionConfig, String> {
    let mut c = ConnectionConfig::new(&t.host, t.port, &t.user, &t.dbname);
    if !t.password.is_empty() {
        c = c.with_password(t.password.as_str());
    }
    c.schema = Some(t.schema.clone());
    if let Some(mode) = &t.sslmode {
        c.sslmode = mode
            .parse::<SslMode>()
            .map_err(|e| format!("{e} in profile target `{}`", t.target_name))?;
    }
    c.sslrootcert = t.sslrootcert.as_ref().map(Into::into);
    c.sslcert = t.sslcert.as_ref().map(Into::into);
    c.sslkey = t.sslkey.as_ref().map(Into::into);
    c.connect_timeout = Some(Duration::from_secs(t.connect_timeout.unwrap_or(10)));
    c.keepalives_idle = t.keepalives_idle.map(Duration::from_secs);
    c.search_path = t
        .search_path
        .as_deref()
        .map(|s| {
            s.split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect()
        })
        .unwrap_or_default();
    c.role = t.role.clone();
    Ok(c)
}

/// A lazily connected PostgreSQL warehouse.
pub struct PgWarehouse {
    config: Result<ConnectionConfig, String>,
    size: usize,
    runtime: OnceLock<Result<tokio::runtime::Runtime, String>>,
    pool: OnceLock<Result<Arc<Pool>, String>>,
}

impl PgWarehouse {
    /// A warehouse for the target; nothing is opened yet.
    pub fn lazy(target: &ProfileTarget) -> Self {
        PgWarehouse {
            config: connection_config(target),
            size: target.threads.max(1) as usize,
            runtime: OnceLock::new(),
            pool: OnceLock::new(),
        }
    }

    fn runtime(&self) -> Result<&tokio::runtime::Runtime, String> {
        self.runtime
            .get_or_init(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start the async runtime: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    fn pool(&self) -> Result<(&tokio::runtime::Runtime, Arc<Pool>), String> {
        let rt = self.runtime()?;
        let pool = self
            .pool
            .get_or_init(|| {
                let config = self.config.clone()?;
                rt.block_on(Pool::connect(config, self.size))
                    .map(Arc::new)
                    .map_err(|e| format!("{e} ({})", e.fix()))
            })
            .clone()?;
        Ok((rt, pool))
    }
}

fn cell_value(c: &Cell) -> JinjaValue {
    match c {
        Cell::Null => JinjaValue::from(()),
        Cell::Bool(b) => JinjaValue::from(*b),
        Cell::Int(i) => JinjaValue::from(*i),
        Cell::Float(f) => JinjaValue::from(*f),
        Cell::Decimal(d) => decimal_value(d),
        Cell::Text(s) | Cell::Date(s) | Cell::Timestamp(s) => JinjaValue::from(s.as_str()),
        Cell::Json(j) => mfb_jinja::collections::from_serde(j),
    }
}

/// A `numeric` value as agate hands it to dbt's templates, a Python `Decimal`: an integer
/// or a float when that renders the same, else a value that renders exactly as
/// PostgreSQL's text (`250.00`, not `250.0`; all the digits of a large number), which is
/// what ends up in SQL built from query results (dbt_utils' `get_single_value`,
/// `get_column_values`). Such a value is not usable in template arithmetic.
fn decimal_value(text: &str) -> JinjaValue {
    if let Ok(i) = text.parse::<i64>() {
        return JinjaValue::from(i);
    }
    match text.parse::<f64>() {
        Ok(f) if JinjaValue::from(f).to_string() == text => JinjaValue::from(f),
        Ok(_) => JinjaValue::from_object(Decimal(text.to_owned())),
        Err(_) => JinjaValue::from(text),
    }
}

#[derive(Debug)]
struct Decimal(String);

impl mfb_jinja::object::Object for Decimal {
    fn repr(self: &Arc<Self>) -> mfb_jinja::object::ObjectRepr {
        mfb_jinja::object::ObjectRepr::Plain
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }

    fn is_true(self: &Arc<Self>) -> bool {
        !self.0.trim_start_matches(['-', '0', '.']).is_empty()
    }
}

impl Warehouse for PgWarehouse {
    fn execute(&self, sql: &str, fetch: bool) -> Result<(Response, Option<ResultTable>), String> {
        let (rt, pool) = self.pool()?;
        if fetch {
            let table = rt.block_on(pool.fetch(sql)).map_err(|e| e.to_string())?;
            let n = table.rows.len() as i64;
            let result = ResultTable {
                column_names: table.columns.iter().map(|c| c.name.clone()).collect(),
                rows: table
                    .rows
                    .iter()
                    .map(|r| r.iter().map(cell_value).collect())
                    .collect(),
            };
            Ok((
                Response {
                    message: format!("SELECT {n}"),
                    code: "SELECT".into(),
                    rows_affected: n,
                },
                Some(result),
            ))
        } else {
            let r = rt.block_on(pool.execute(sql)).map_err(|e| e.to_string())?;
            let code = r
                .status
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            Ok((
                Response {
                    message: r.status,
                    code,
                    rows_affected: r.rows_affected as i64,
                },
                None,
            ))
        }
    }

    fn get_relation(
        &self,
        database: &str,
        schema: &str,
        identifier: &str,
    ) -> Result<Option<Relation>, String> {
        let (rt, pool) = self.pool()?;
        let info = rt
            .block_on(async {
                let conn = pool.get().await?;
                conn.get_relation(schema, identifier).await
            })
            .map_err(|e| e.to_string())?;
        Ok(info.map(|i| {
            let db = if database.is_empty() {
                i.database.clone()
            } else {
                database.to_owned()
            };
            Relation::new(&db, &i.schema, &i.name, Some(i.kind.dbt_type()))
        }))
    }

    fn get_columns_in_relation(&self, relation: &Relation) -> Result<Vec<ColumnDesc>, String> {
        let (rt, pool) = self.pool()?;
        let schema = relation.schema.clone().unwrap_or_default();
        let name = relation.identifier.clone().unwrap_or_default();
        let cols = rt
            .block_on(async {
                let conn = pool.get().await?;
                conn.columns_in_relation(&schema, &name).await
            })
            .map_err(|e| e.to_string())?;
        Ok(cols
            .into_iter()
            .map(|c| ColumnDesc {
                name: c.name,
                data_type: c.data_type,
            })
            .collect())
    }

    fn check_schema_exists(&self, _database: &str, schema: &str) -> Result<bool, String> {
        let (rt, pool) = self.pool()?;
        let sql = format!(
            "select 1 from pg_namespace where nspname = {}",
            mfb_postgres::quote_literal(schema)
        );
        let table = rt.block_on(pool.fetch(&sql)).map_err(|e| e.to_string())?;
        Ok(!table.rows.is_empty())
    }
}

/// Connects with the target's settings and runs `select 1`: what `mfb debug` checks.
/// Returns the server version, or the connection error with its fix.
pub fn check_connection(target: &ProfileTarget) -> Result<String, mfb_diagnostics::Diagnostic> {
    use mfb_diagnostics::IntoDiagnostic;
    let config = connection_config(target).map_err(|m| {
        mfb_diagnostics::Diagnostic::error("profile-invalid", m)
            .with_help("fix the profile's fields (see docs/getting-started.md)")
    })?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            mfb_diagnostics::Diagnostic::error(
                "runtime",
                format!("cannot start the async runtime: {e}"),
            )
        })?;
    rt.block_on(async {
        let conn = mfb_postgres::connect(&config)
            .await
            .map_err(IntoDiagnostic::into_diagnostic)?;
        let table = conn
            .fetch("select version()")
            .await
            .map_err(IntoDiagnostic::into_diagnostic)?;
        let version = match table.rows.first().and_then(|r| r.first()) {
            Some(Cell::Text(v)) => v.clone(),
            _ => String::from("unknown version"),
        };
        Ok(version)
    })
}

/// What [`DeferringWarehouse`] answers; a render that fails with it read the database.
pub const NEEDS_DATABASE: &str = "mfb-defer: this node reads the database while it compiles";

/// The warehouse of the compile that precedes a run: a node whose SQL depends on what is
/// in the database (`run_query`, `adapter.get_columns_in_relation`, ...) must see its
/// upstream models built first, as dbt compiles each node just before running it. Every
/// call fails with [`NEEDS_DATABASE`], and such nodes are compiled when they run.
pub struct DeferringWarehouse;

impl Warehouse for DeferringWarehouse {
    fn execute(&self, _sql: &str, _fetch: bool) -> Result<(Response, Option<ResultTable>), String> {
        Err(NEEDS_DATABASE.to_owned())
    }

    fn get_relation(
        &self,
        _database: &str,
        _schema: &str,
        _identifier: &str,
    ) -> Result<Option<Relation>, String> {
        Err(NEEDS_DATABASE.to_owned())
    }

    fn get_columns_in_relation(&self, _relation: &Relation) -> Result<Vec<ColumnDesc>, String> {
        Err(NEEDS_DATABASE.to_owned())
    }

    fn check_schema_exists(&self, _database: &str, _schema: &str) -> Result<bool, String> {
        Err(NEEDS_DATABASE.to_owned())
    }
}
