//! [`TestDb`]: one freshly created database per test, dropped with the value.

use std::time::Duration;

use crate::names::unique_name;
use crate::runtime::run_blocking;
use crate::server::{ServerInfo, server_info};

/// SQLSTATE 55006: `CREATE DATABASE` found its template busy (another test's
/// `CREATE DATABASE` at the same moment); waiting a little and retrying succeeds.
const OBJECT_IN_USE: &str = "55006";

/// A database of its own for one test, on the process's test server.
///
/// Created by [`TestDb::create`]; dropped (`DROP DATABASE ... WITH (FORCE)`) when the value
/// is dropped, closing any connection still open to it.
#[derive(Debug)]
pub struct TestDb {
    /// `postgresql://` URL of the database, credentials included.
    pub url: String,
    /// Host name, IP address or Unix socket directory.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Role to connect as.
    pub user: String,
    /// Password of `user`, if the server wants one.
    pub password: Option<String>,
    /// Name of the database, from [`crate::unique_name`].
    pub dbname: String,
    server: ServerInfo,
}

impl TestDb {
    /// Creates a new, empty database named after `name_hint` (made unique and valid).
    ///
    /// Callable from plain and from async tests. Starts the process's throwaway server on
    /// first use unless `MFB_TEST_DATABASE_URL` names one.
    ///
    /// # Panics
    /// When there is no server to use (the message says how to get one) or the database
    /// cannot be created.
    pub fn create(name_hint: &str) -> TestDb {
        let server = server_info().clone();
        let dbname = unique_name(name_hint);
        let statement = format!("CREATE DATABASE {dbname}");
        run_blocking(|| async {
            let client = admin_client(&server).await;
            let mut attempt = 0;
            loop {
                match client.batch_execute(&statement).await {
                    Ok(()) => break,
                    Err(e) if attempt < 20 && e.code().map(|c| c.code()) == Some(OBJECT_IN_USE) => {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                    }
                    Err(e) => panic!(
                        "mfb-testkit: `{statement}` failed on {}: {}",
                        server.url_for(&server.admin_dbname),
                        describe(&e)
                    ),
                }
            }
        });
        TestDb {
            url: server.url_for(&dbname),
            host: server.host.clone(),
            port: server.port,
            user: server.user.clone(),
            password: server.password.clone(),
            dbname,
            server,
        }
    }

    /// Connects to this database. Call it inside a tokio runtime (`#[tokio::test]`): the
    /// connection task is spawned onto the current runtime.
    ///
    /// # Panics
    /// When the connection fails.
    pub async fn connect(&self) -> tokio_postgres::Client {
        connect(&self.server, &self.dbname).await
    }

    /// Runs `sql` (one or more statements) in this database, from any context.
    ///
    /// # Panics
    /// When a statement fails; the message carries PostgreSQL's error.
    pub fn batch_execute(&self, sql: &str) {
        run_blocking(|| async {
            let client = connect(&self.server, &self.dbname).await;
            if let Err(e) = client.batch_execute(sql).await {
                panic!(
                    "mfb-testkit: SQL failed in {}: {}\n{sql}",
                    self.dbname,
                    describe(&e)
                );
            }
        });
    }

    /// Runs a query and returns every value as text (`NULL` as `None`), from any context.
    /// Cast non-text columns in the query, e.g. `select count(*)::text`.
    ///
    /// # Panics
    /// When the query fails or a column is not text.
    pub fn query_text(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        run_blocking(|| async {
            let client = connect(&self.server, &self.dbname).await;
            let rows = client.query(sql, &[]).await.unwrap_or_else(|e| {
                panic!(
                    "mfb-testkit: query failed in {}: {}\n{sql}",
                    self.dbname,
                    describe(&e)
                )
            });
            rows.iter()
                .map(|row| {
                    (0..row.len())
                        .map(|i| {
                            row.try_get::<_, Option<String>>(i).unwrap_or_else(|e| {
                                panic!(
                                    "mfb-testkit: column {i} of `{sql}` is not text ({e}); cast it with ::text"
                                )
                            })
                        })
                        .collect()
                })
                .collect()
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.dbname);
        let server = &self.server;
        // Best effort: a database left behind lives in a throwaway cluster that is removed
        // with the process, or on a CI server that is itself thrown away.
        run_blocking(|| async {
            if let Ok(client) = try_connect(server, &server.admin_dbname).await {
                let _ = client.batch_execute(&statement).await;
            }
        });
    }
}

async fn admin_client(server: &ServerInfo) -> tokio_postgres::Client {
    connect(server, &server.admin_dbname).await
}

async fn connect(server: &ServerInfo, dbname: &str) -> tokio_postgres::Client {
    try_connect(server, dbname).await.unwrap_or_else(|e| {
        panic!(
            "mfb-testkit: cannot connect to {}: {}\n\
             Is the server running? Check MFB_TEST_DATABASE_URL or unset it to use a throwaway server.",
            server.url_for(dbname),
            describe(&e)
        )
    })
}

async fn try_connect(
    server: &ServerInfo,
    dbname: &str,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = server
        .config_for(dbname)
        .connect(tokio_postgres::NoTls)
        .await?;
    tokio::spawn(async move {
        // ends when the client is dropped; an error here surfaces on the client's next call
        let _ = connection.await;
    });
    Ok(client)
}

/// PostgreSQL's own message (with SQLSTATE) when there is one, else the driver's.
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}
