//! The PostgreSQL adapter: connections (TLS per sslmode, timeouts), a pool with
//! cancellation, statement execution, result tables and catalog queries.
//!
//! It knows PostgreSQL and nothing about projects: `mfb-exec` turns a profile into a
//! [`ConnectionConfig`] and calls in here; the Jinja runtime reaches the database
//! through `mfb-exec`'s implementation of its `Warehouse` trait. tokio-postgres and rustls
//! types stay inside this crate. Errors are [`PgError`], convertible into a
//! [`mfb_diagnostics::Diagnostic`].

mod catalog;
mod command_tag;
mod config;
mod connection;
mod error;
mod pool;
mod relation;
mod relation_cache;
mod seed;
mod table;
mod tls;

pub use catalog::{ColumnInfo, DependentView, RelationInfo, dbt_data_type};
pub use command_tag::{command_tag, split_statements};
pub use config::{ConnectionConfig, Password, SslMode, UnknownSslMode};
pub use connection::{CancelToken, Connection, Transaction, connect};
pub use error::{PgError, StatementError};
pub use pool::{Pool, PooledConnection};
pub use relation::{Relation, RelationKind, quote_ident, quote_literal};
pub use relation_cache::RelationCache;
pub use seed::{CsvProblem, SeedError, SeedResult, SeedTarget, load_seed};
pub use table::{Cell, Column, ExecResponse, Table};

#[cfg(test)]
mod tests {
    // exec moves these across tokio tasks and threads.
    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn shared_types_are_send_and_sync() {
        send_sync::<super::Pool>();
        send_sync::<super::Connection>();
        send_sync::<super::PooledConnection>();
        send_sync::<super::CancelToken>();
        send_sync::<super::PgError>();
        send_sync::<super::RelationCache>();
    }
}
