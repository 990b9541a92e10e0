//! One PostgreSQL session: connect (TLS, timeout, session settings), run statements,
//! fetch results, transactions, and the token that cancels what it is running.
//!
//! The pool (`pool.rs`) hands these out one per worker; catalog queries (`catalog.rs`)
//! run on the same [`Session`] view, so they work inside a transaction too.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::tls::NoTls;
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::command_tag::{command_tag, split_statements};
use crate::config::{ConnectionConfig, SslMode};
use crate::error::PgError;
use crate::relation::quote_ident;
use crate::table::{Cell, Column, ExecResponse, Table};
use crate::tls::RustlsConnector;

#[derive(Clone)]
enum TlsChoice {
    Plain,
    Rustls(RustlsConnector),
}

/// Cancels whatever statement its connection is running, from anywhere (another task,
/// a Ctrl-C handler). Cancelling an idle connection does nothing.
#[derive(Clone)]
pub struct CancelToken {
    inner: tokio_postgres::CancelToken,
    tls: TlsChoice,
    target: String,
}

impl CancelToken {
    /// Asks the server to cancel the connection's current statement (a separate
    /// connection sends the cancel request, as libpq's `PQcancel` does).
    pub async fn cancel(&self) -> Result<(), PgError> {
        let result = match &self.tls {
            TlsChoice::Plain => self.inner.cancel_query(NoTls).await,
            TlsChoice::Rustls(tls) => self.inner.cancel_query(tls.clone()).await,
        };
        result.map_err(|e| PgError::Connect {
            target: self.target.clone(),
            reason: format!(
                "sending the cancel request failed: {}",
                crate::error::cause_chain(&e)
            ),
        })
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// An open session with PostgreSQL.
pub struct Connection {
    client: Client,
    cancel: CancelToken,
    target: String,
    database: String,
    /// Set by the pool's `cancel_all`: refuse new statements once a run is cancelled.
    stop: Option<Arc<AtomicBool>>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

fn spawn_driver<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // The driver ends when the client is dropped or the socket closes; its error (if any)
    // reaches the caller through the next client call, so it is not kept here.
    tokio::spawn(async move {
        let _ = connection.await;
    });
}

/// Opens a connection as `config` says, then applies `search_path` and `role`.
///
/// `connect_timeout` bounds everything up to a usable session (TCP, TLS, authentication).
pub async fn connect(config: &ConnectionConfig) -> Result<Connection, PgError> {
    if config.host.is_empty() || config.user.is_empty() || config.dbname.is_empty() {
        return Err(PgError::InvalidConfig {
            what: "host, user and dbname must not be empty".into(),
            fix: "set `host`, `user` and `dbname` in profiles.yml".into(),
        });
    }
    let tls = match config.sslmode {
        SslMode::Disable => TlsChoice::Plain,
        _ => TlsChoice::Rustls(RustlsConnector::new(config)?),
    };
    let mut pg = tokio_postgres::Config::new();
    if config.host.starts_with('/') {
        pg.host_path(&config.host);
    } else {
        pg.host(&config.host);
    }
    pg.port(config.port)
        .user(&config.user)
        .dbname(&config.dbname);
    if let Some(password) = &config.password {
        pg.password(password.expose());
    }
    if let Some(name) = &config.application_name {
        pg.application_name(name);
    }
    if let Some(t) = config.connect_timeout {
        pg.connect_timeout(t);
    }
    if let Some(idle) = config.keepalives_idle {
        pg.keepalives_idle(idle);
    }
    pg.ssl_mode(match config.sslmode {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        // libpq's `allow` tries plain first; tokio-postgres cannot, so allow behaves as prefer.
        SslMode::Allow | SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
            tokio_postgres::config::SslMode::Require
        }
    });

    let open = async {
        match &tls {
            TlsChoice::Plain => pg.connect(NoTls).await.map(|(client, conn)| {
                spawn_driver(conn);
                client
            }),
            TlsChoice::Rustls(connector) => {
                pg.connect(connector.clone()).await.map(|(client, conn)| {
                    spawn_driver(conn);
                    client
                })
            }
        }
    };
    let client = match config.connect_timeout {
        Some(limit) => match tokio::time::timeout(limit, open).await {
            Ok(result) => result,
            Err(_) => {
                return Err(PgError::Timeout {
                    host: config.host.clone(),
                    port: config.port,
                    after: Some(limit),
                });
            }
        },
        None => open.await,
    }
    .map_err(|e| PgError::from_connect(e, config))?;

    let target = config.display_target();
    let connection = Connection {
        cancel: CancelToken {
            inner: client.cancel_token(),
            tls,
            target: target.clone(),
        },
        client,
        target,
        database: config.dbname.clone(),
        stop: None,
    };
    connection.apply_session_settings(config).await?;
    Ok(connection)
}

impl Connection {
    async fn apply_session_settings(&self, config: &ConnectionConfig) -> Result<(), PgError> {
        // If mfb dies (SIGKILL, a lost terminal), the server notices the closed socket
        // within a second and rolls back what was running, instead of holding its locks
        // until the statement ends on its own (PostgreSQL 14+; older servers skip it).
        self.session()
            .execute(
                "select set_config('client_connection_check_interval', '1s', false) \
                 where current_setting('server_version_num')::int >= 140000",
            )
            .await?;
        if !config.search_path.is_empty() {
            let path: Vec<String> = config.search_path.iter().map(|s| quote_ident(s)).collect();
            self.session()
                .execute(&format!("set search_path to {}", path.join(", ")))
                .await?;
        }
        if let Some(role) = &config.role {
            self.session().execute(&format!("set role {}", quote_ident(role))).await.map_err(
                |e| match e {
                    PgError::Statement(s) => PgError::InvalidConfig {
                        what: format!("`set role {role}` failed: {}", s.message),
                        fix: format!(
                            "grant the role to the login user (`grant \"{role}\" to \"{}\"`) or fix `role` in profiles.yml",
                            config.user
                        ),
                    },
                    other => other,
                },
            )?;
        }
        Ok(())
    }

    pub(crate) fn set_stop_flag(&mut self, stop: Arc<AtomicBool>) {
        self.stop = Some(stop);
    }

    pub(crate) fn session(&self) -> Session<'_> {
        Session {
            client: &self.client,
            target: &self.target,
            database: &self.database,
            stop: self.stop.as_deref(),
        }
    }

    /// A token that cancels this connection's running statement.
    pub fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }

    /// True once the server side has gone away.
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// The database this session is connected to.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Runs one or more statements (simple protocol); reports the last one's tag and count.
    pub async fn execute(&self, sql: &str) -> Result<ExecResponse, PgError> {
        self.session().execute(sql).await
    }

    /// Runs a query and returns all its rows. A multi-statement text returns the last
    /// statement's rows, with every column typed `text`.
    pub async fn fetch(&self, sql: &str) -> Result<Table, PgError> {
        self.session().fetch(sql).await
    }

    /// Starts a transaction. It rolls back when dropped without [`Transaction::commit`].
    pub async fn begin(&mut self) -> Result<Transaction<'_>, PgError> {
        if let Some(stop) = &self.stop {
            check_stop(stop)?;
        }
        let inner = self
            .client
            .transaction()
            .await
            .map_err(|e| PgError::from_statement(e, &self.target))?;
        Ok(Transaction {
            inner,
            target: &self.target,
            database: &self.database,
            stop: self.stop.as_deref(),
        })
    }
}

/// An open transaction on a [`Connection`]; rolls back on drop unless committed.
pub struct Transaction<'a> {
    inner: tokio_postgres::Transaction<'a>,
    target: &'a str,
    database: &'a str,
    stop: Option<&'a AtomicBool>,
}

impl fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl Transaction<'_> {
    pub(crate) fn session(&self) -> Session<'_> {
        Session {
            client: self.inner.client(),
            target: self.target,
            database: self.database,
            stop: self.stop,
        }
    }

    /// Runs statements inside the transaction (see [`Connection::execute`]).
    pub async fn execute(&self, sql: &str) -> Result<ExecResponse, PgError> {
        self.session().execute(sql).await
    }

    /// Fetches rows inside the transaction (see [`Connection::fetch`]).
    pub async fn fetch(&self, sql: &str) -> Result<Table, PgError> {
        self.session().fetch(sql).await
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), PgError> {
        let target = self.target;
        self.inner
            .commit()
            .await
            .map_err(|e| PgError::from_statement(e, target))
    }

    /// Rolls back now (dropping does the same without waiting).
    pub async fn rollback(self) -> Result<(), PgError> {
        let target = self.target;
        self.inner
            .rollback()
            .await
            .map_err(|e| PgError::from_statement(e, target))
    }
}

fn check_stop(stop: &AtomicBool) -> Result<(), PgError> {
    if stop.load(Ordering::SeqCst) {
        return Err(PgError::Cancelled {
            reason: "the run was cancelled".into(),
        });
    }
    Ok(())
}

/// The statement-running view shared by [`Connection`] and [`Transaction`].
#[derive(Clone, Copy)]
pub(crate) struct Session<'a> {
    pub(crate) client: &'a Client,
    pub(crate) target: &'a str,
    pub(crate) database: &'a str,
    stop: Option<&'a AtomicBool>,
}

impl Session<'_> {
    pub(crate) fn check(&self) -> Result<(), PgError> {
        match self.stop {
            Some(stop) => check_stop(stop),
            None => Ok(()),
        }
    }

    pub(crate) fn err(&self, e: tokio_postgres::Error) -> PgError {
        PgError::from_statement(e, self.target)
    }

    pub(crate) async fn execute(&self, sql: &str) -> Result<ExecResponse, PgError> {
        self.check()?;
        let messages = self
            .client
            .simple_query(sql)
            .await
            .map_err(|e| self.err(e))?;
        let rows_affected = messages
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::CommandComplete(n) => Some(*n),
                _ => None,
            })
            .last()
            .unwrap_or(0);
        let status = split_statements(sql)
            .last()
            .map(|stmt| command_tag(stmt, rows_affected))
            .unwrap_or_default();
        Ok(ExecResponse {
            rows_affected,
            status,
        })
    }

    pub(crate) async fn fetch(&self, sql: &str) -> Result<Table, PgError> {
        self.check()?;
        // Prepare only to learn the column types; the rows come back as text through the
        // simple protocol so that any type decodes.
        let columns: Option<Vec<Column>> = if split_statements(sql).len() > 1 {
            None
        } else {
            let statement = self.client.prepare(sql).await.map_err(|e| self.err(e))?;
            Some(
                statement
                    .columns()
                    .iter()
                    .map(|c| Column {
                        name: c.name().to_owned(),
                        type_name: c.type_().name().to_owned(),
                    })
                    .collect(),
            )
        };
        let messages = self
            .client
            .simple_query(sql)
            .await
            .map_err(|e| self.err(e))?;
        let mut table = Table {
            columns: columns.clone().unwrap_or_default(),
            rows: Vec::new(),
        };
        for message in messages {
            match message {
                SimpleQueryMessage::RowDescription(desc)
                    // Each statement of a multi-statement text starts a new result; keep
                    // the last, as a DB-API cursor does.
                    if columns.is_none() => {
                        table.columns = desc
                            .iter()
                            .map(|c| Column {
                                name: c.name().to_owned(),
                                type_name: "text".into(),
                            })
                            .collect();
                        table.rows.clear();
                    }
                SimpleQueryMessage::Row(row) => {
                    if row.len() != table.columns.len() {
                        return Err(PgError::Protocol(format!(
                            "a row has {} values but the result has {} columns",
                            row.len(),
                            table.columns.len()
                        )));
                    }
                    let cells = table
                        .columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| Cell::decode(&c.type_name, row.get(i)))
                        .collect();
                    table.rows.push(cells);
                }
                _ => {}
            }
        }
        Ok(table)
    }
}
