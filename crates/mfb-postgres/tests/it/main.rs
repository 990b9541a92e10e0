//! Integration tests of mfb-postgres against real PostgreSQL servers (see `support`).

mod catalog;
mod connect;
mod exec;
mod support;
mod tls;
