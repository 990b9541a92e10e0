//! A fixed-size pool of connections, one per worker thread, with run-wide cancellation.
//!
//! Connections open lazily up to the pool size and return to the pool when the
//! [`PooledConnection`] guard drops. [`Pool::cancel_all`] sends a server-side cancel to
//! every connection that is checked out and makes further statements fail with
//! [`PgError::Cancelled`], which is what Ctrl-C needs: nothing new starts, and what runs
//! stops, leaving each relation as its statement found it.

use std::collections::HashMap;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::ConnectionConfig;
use crate::connection::{CancelToken, Connection, connect};
use crate::error::PgError;
use crate::table::{ExecResponse, Table};

struct PoolInner {
    config: ConnectionConfig,
    size: usize,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Connection>>,
    in_use: Mutex<HashMap<u64, CancelToken>>,
    next_id: AtomicU64,
    stop: Arc<AtomicBool>,
}

/// A pool of at most `size` connections sharing one [`ConnectionConfig`].
#[derive(Clone)]
pub struct Pool {
    inner: Arc<PoolInner>,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("target", &self.inner.config.display_target())
            .field("size", &self.inner.size)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// Creates a pool of `size` connections (at least 1) and opens the first one, so a
    /// bad password or host fails here rather than in the middle of a run.
    pub async fn connect(config: ConnectionConfig, size: usize) -> Result<Pool, PgError> {
        let size = size.max(1);
        let pool = Pool {
            inner: Arc::new(PoolInner {
                config,
                size,
                permits: Arc::new(Semaphore::new(size)),
                idle: Mutex::new(Vec::with_capacity(size)),
                in_use: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(0),
                stop: Arc::new(AtomicBool::new(false)),
            }),
        };
        let first = pool.open().await?;
        lock(&pool.inner.idle).push(first);
        Ok(pool)
    }

    /// The configuration connections are opened with.
    pub fn config(&self) -> &ConnectionConfig {
        &self.inner.config
    }

    /// The maximum number of connections.
    pub fn size(&self) -> usize {
        self.inner.size
    }

    async fn open(&self) -> Result<Connection, PgError> {
        let mut conn = connect(&self.inner.config).await?;
        conn.set_stop_flag(self.inner.stop.clone());
        Ok(conn)
    }

    /// Waits for a free connection (opening one if the pool is not full yet).
    pub async fn get(&self) -> Result<PooledConnection, PgError> {
        self.check_stop()?;
        let permit = self
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PgError::Cancelled {
                reason: "the pool was closed".into(),
            })?;
        self.check_stop()?;
        let reused = {
            let mut idle = lock(&self.inner.idle);
            // Drop connections the server closed while they sat idle.
            idle.retain(|c| !c.is_closed());
            idle.pop()
        };
        let conn = match reused {
            Some(c) => c,
            None => self.open().await?,
        };
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.inner.in_use).insert(id, conn.cancel_token());
        Ok(PooledConnection {
            conn: Some(conn),
            id,
            pool: self.inner.clone(),
            _permit: permit,
        })
    }

    fn check_stop(&self) -> Result<(), PgError> {
        if self.inner.stop.load(Ordering::SeqCst) {
            return Err(PgError::Cancelled {
                reason: "the run was cancelled".into(),
            });
        }
        Ok(())
    }

    /// Runs `sql` on a pooled connection (see [`Connection::execute`]).
    pub async fn execute(&self, sql: &str) -> Result<ExecResponse, PgError> {
        self.get().await?.execute(sql).await
    }

    /// Fetches `sql` on a pooled connection (see [`Connection::fetch`]).
    pub async fn fetch(&self, sql: &str) -> Result<Table, PgError> {
        self.get().await?.fetch(sql).await
    }

    /// Cancels every statement in flight and refuses new ones; returns how many
    /// connections were sent a cancel request. Every request is attempted even if one
    /// fails; the first failure is returned.
    pub async fn cancel_all(&self) -> Result<usize, PgError> {
        self.inner.stop.store(true, Ordering::SeqCst);
        let tokens: Vec<CancelToken> = lock(&self.inner.in_use).values().cloned().collect();
        let results = futures_util::future::join_all(tokens.iter().map(CancelToken::cancel)).await;
        let sent = results.iter().filter(|r| r.is_ok()).count();
        match results.into_iter().find_map(Result::err) {
            Some(e) => Err(e),
            None => Ok(sent),
        }
    }

    /// True after [`Pool::cancel_all`].
    pub fn is_cancelled(&self) -> bool {
        self.inner.stop.load(Ordering::SeqCst)
    }

    /// Number of connections checked out right now.
    pub fn in_use(&self) -> usize {
        lock(&self.inner.in_use).len()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep using it.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A connection borrowed from a [`Pool`]; returns to it when dropped.
pub struct PooledConnection {
    conn: Option<Connection>,
    id: u64,
    pool: Arc<PoolInner>,
    _permit: OwnedSemaphorePermit,
}

impl fmt::Debug for PooledConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledConnection")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Deref for PooledConnection {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("a pooled connection is present until drop")
    }
}

impl DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn
            .as_mut()
            .expect("a pooled connection is present until drop")
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        lock(&self.pool.in_use).remove(&self.id);
        if let Some(conn) = self.conn.take()
            && !conn.is_closed()
        {
            lock(&self.pool.idle).push(conn);
        }
    }
}
