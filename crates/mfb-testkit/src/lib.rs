//! A real, throwaway PostgreSQL for mfb's tests (dev-dependency only, never published).
//!
//! [`TestDb::create`] hands each test its own freshly created database, dropped again when
//! the value is dropped, so tests run in parallel without sharing state. The server behind
//! it is either the one named by `MFB_TEST_DATABASE_URL` or, when that is unset, one
//! throwaway cluster per test process started lazily with the repository's
//! `scripts/pg.sh` and stopped when the process exits. There is no mock and no silent
//! skip: with neither a URL nor PostgreSQL server binaries, creating a database panics
//! with the steps to get one.
//!
//! This crate owns only the database plumbing of tests; what a test asserts about mfb
//! lives in the crate under test.
//!
//! Add it to a crate's `[dev-dependencies]` as `mfb-testkit = { workspace = true }`, then:
//!
//! ```no_run
//! use mfb_testkit::TestDb;
//!
//! #[tokio::test]
//! async fn builds_a_view() {
//!     let db = TestDb::create("builds_a_view"); // fresh database, dropped at the end
//!     let client = db.connect().await; // tokio-postgres client
//!     client.batch_execute("create view v as select 1 as x").await.unwrap();
//!     // or hand `db.url` / `db.write_profiles_yml(dir, "mfb", "analytics")` to mfb
//! }
//! ```
//!
//! Roles are cluster-wide: name them with [`unique_name`] so parallel tests do not collide.

mod database;
mod filters;
mod names;
mod profiles;
mod runtime;
mod server;

pub use database::TestDb;
pub use filters::snapshot_filters;
pub use names::unique_name;
pub use server::{DATABASE_URL_VAR, ServerInfo, server_info};
