//! The adapter's error type and its conversion into a [`Diagnostic`].
//!
//! Connection failures are classified once, here, from tokio-postgres's error and its
//! causes (SQLSTATE, io error kind, rustls error) so callers can match on what went wrong
//! and the user gets one line of cause plus one line of fix. Statement errors keep
//! everything PostgreSQL said (SQLSTATE, message, detail, hint, position); mapping the
//! position back onto a model file is `mfb-exec`'s job. No variant carries the password.

use std::error::Error as _;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use mfb_diagnostics::{Diagnostic, IntoDiagnostic};

use crate::config::{ConnectionConfig, SslMode};

/// Everything PostgreSQL reported about a failed statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementError {
    /// Five-character SQLSTATE, e.g. `42P01`.
    pub sqlstate: String,
    /// `ERROR`, `FATAL`, ...
    pub severity: String,
    /// The primary message.
    pub message: String,
    /// The `DETAIL:` line, if any.
    pub detail: Option<String>,
    /// The `HINT:` line, if any.
    pub hint: Option<String>,
    /// 1-based character offset into the statement text, if PostgreSQL gave one.
    pub position: Option<u32>,
    /// The `CONTEXT:` (where) line, e.g. the PL/pgSQL function line.
    pub context: Option<String>,
}

impl StatementError {
    /// Line and column (both 1-based) of [`StatementError::position`] in `sql`, the text
    /// that was sent.
    pub fn line_column(&self, sql: &str) -> Option<(u32, u32)> {
        let pos = self.position? as usize;
        let mut line = 1u32;
        let mut column = 1u32;
        for (i, ch) in sql.chars().enumerate() {
            if i + 1 == pos {
                return Some((line, column));
            }
            if ch == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        None
    }
}

impl fmt::Display for StatementError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (SQLSTATE {})", self.message, self.sqlstate)
    }
}

/// What can go wrong talking to PostgreSQL.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The server rejected the password (SQLSTATE 28P01) or needed one that was not given.
    #[error("password authentication failed for user `{user}` on {target}")]
    AuthFailed {
        /// Login role.
        user: String,
        /// `user@host:port/dbname`.
        target: String,
        /// True when no password was configured at all.
        password_missing: bool,
    },
    /// The login role does not exist (SQLSTATE 28000).
    #[error("role `{user}` does not exist on {target}")]
    UnknownRole {
        /// Login role.
        user: String,
        /// `user@host:port/dbname`.
        target: String,
    },
    /// The server refused the login for another reason (pg_hba.conf, SQLSTATE 28000).
    #[error("{target} refused the login: {server_message}")]
    LoginRejected {
        /// `user@host:port/dbname`.
        target: String,
        /// What the server said.
        server_message: String,
    },
    /// The database does not exist (SQLSTATE 3D000).
    #[error("database `{dbname}` does not exist on {host}:{port}")]
    DatabaseMissing {
        /// The missing database.
        dbname: String,
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
    },
    /// Nothing answered at host:port (refused, unreachable, unknown host).
    #[error("cannot reach PostgreSQL at {host}:{port}: {reason}")]
    Unreachable {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// The operating system's reason.
        reason: String,
    },
    /// Connecting took longer than `connect_timeout`.
    #[error("connecting to {host}:{port} timed out{}", after.map(|d| format!(" after {}", fmt_duration(d))).unwrap_or_default())]
    Timeout {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// The configured `connect_timeout` that elapsed (`None`: the operating system's).
        after: Option<Duration>,
    },
    /// `sslmode` demands TLS but the server does not offer it.
    #[error("{host}:{port} does not support SSL, but sslmode={sslmode} requires it")]
    TlsNotSupported {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// The configured mode.
        sslmode: SslMode,
    },
    /// The TLS handshake failed (certificate not trusted, wrong host name, ...).
    #[error("TLS handshake with {host}:{port} failed (sslmode={sslmode}): {reason}")]
    TlsHandshake {
        /// Server host.
        host: String,
        /// Server port.
        port: u16,
        /// The configured mode.
        sslmode: SslMode,
        /// rustls's reason.
        reason: String,
        /// True when the server certificate failed verification.
        certificate: bool,
    },
    /// A certificate or key file could not be used.
    #[error("cannot use TLS file {}: {reason}", path.display())]
    TlsFile {
        /// Which setting (`sslrootcert`, `sslcert`, `sslkey`).
        setting: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A setting is missing or malformed.
    #[error("invalid connection setting: {what}")]
    InvalidConfig {
        /// What is wrong.
        what: String,
        /// How to fix it.
        fix: String,
    },
    /// Connecting failed for a reason not listed above.
    #[error("cannot connect to {target}: {reason}")]
    Connect {
        /// `user@host:port/dbname`.
        target: String,
        /// The full cause chain.
        reason: String,
    },
    /// A statement failed on the server.
    #[error("{0}")]
    Statement(Box<StatementError>),
    /// A statement was cancelled (Ctrl-C, `cancel_all`, or `statement_timeout`).
    #[error("statement cancelled: {reason}")]
    Cancelled {
        /// What cancelled it.
        reason: String,
    },
    /// The connection broke while in use.
    #[error("lost the connection to {target}: {reason}")]
    ConnectionLost {
        /// `user@host:port/dbname`.
        target: String,
        /// The cause chain.
        reason: String,
    },
    /// A query answered with something this adapter cannot interpret.
    #[error("unexpected result from PostgreSQL: {0}")]
    Protocol(String),
}

fn fmt_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// The error and all its causes, joined by `: `, skipping repeats.
pub(crate) fn cause_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}

fn statement_error(db: &tokio_postgres::error::DbError) -> StatementError {
    use tokio_postgres::error::ErrorPosition;
    StatementError {
        sqlstate: db.code().code().to_owned(),
        severity: db.severity().to_owned(),
        message: db.message().to_owned(),
        detail: db.detail().map(str::to_owned),
        hint: db.hint().map(str::to_owned),
        position: match db.position() {
            Some(ErrorPosition::Original(p)) => Some(*p),
            // Positions inside internally generated queries do not point into our text.
            Some(ErrorPosition::Internal { .. }) | None => None,
        },
        context: db.where_().map(str::to_owned),
    }
}

impl PgError {
    /// Classifies an error from running a statement on an open connection.
    pub(crate) fn from_statement(err: tokio_postgres::Error, target: &str) -> PgError {
        if let Some(db) = err.as_db_error() {
            if db.code().code() == "57014" {
                return PgError::Cancelled {
                    reason: db.message().to_owned(),
                };
            }
            return PgError::Statement(Box::new(statement_error(db)));
        }
        PgError::ConnectionLost {
            target: target.to_owned(),
            reason: cause_chain(&err),
        }
    }

    /// Classifies an error from `connect`.
    pub(crate) fn from_connect(err: tokio_postgres::Error, config: &ConnectionConfig) -> PgError {
        let target = config.display_target();
        let host = config.host.clone();
        let port = config.port;
        if let Some(db) = err.as_db_error() {
            return match db.code().code() {
                "28P01" => PgError::AuthFailed {
                    user: config.user.clone(),
                    target,
                    password_missing: false,
                },
                "28000" if db.message().contains("does not exist") => PgError::UnknownRole {
                    user: config.user.clone(),
                    target,
                },
                "28000" => PgError::LoginRejected {
                    target,
                    server_message: db.message().to_owned(),
                },
                "3D000" => PgError::DatabaseMissing {
                    dbname: config.dbname.clone(),
                    host,
                    port,
                },
                _ => PgError::Connect {
                    target,
                    reason: db.message().to_owned(),
                },
            };
        }
        let chain = cause_chain(&err);
        // Walk the causes for the pieces that tell us what happened.
        let mut cur: Option<&(dyn std::error::Error + 'static)> = err.source();
        while let Some(e) = cur {
            if let Some(tls) = e.downcast_ref::<rustls::Error>() {
                return tls_error(tls, config);
            }
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    return tls_error(tls, config);
                }
                if io.kind() == std::io::ErrorKind::TimedOut {
                    let after = config.connect_timeout;
                    return PgError::Timeout { host, port, after };
                }
                if is_tcp_failure(io.kind()) {
                    return PgError::Unreachable {
                        host,
                        port,
                        reason: io.to_string(),
                    };
                }
            }
            cur = e.source();
        }
        if chain.contains("server does not support TLS") {
            return PgError::TlsNotSupported {
                host,
                port,
                sslmode: config.sslmode,
            };
        }
        if chain.contains("password missing") {
            return PgError::AuthFailed {
                user: config.user.clone(),
                target,
                password_missing: true,
            };
        }
        if chain.contains("error connecting to server") {
            return PgError::Unreachable {
                host,
                port,
                reason: chain,
            };
        }
        PgError::Connect {
            target,
            reason: chain,
        }
    }

    /// The SQLSTATE, when the server reported one.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            PgError::Statement(s) => Some(&s.sqlstate),
            PgError::AuthFailed {
                password_missing: false,
                ..
            } => Some("28P01"),
            PgError::UnknownRole { .. } | PgError::LoginRejected { .. } => Some("28000"),
            PgError::DatabaseMissing { .. } => Some("3D000"),
            PgError::Cancelled { .. } => Some("57014"),
            _ => None,
        }
    }

    /// The stable diagnostic code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            PgError::AuthFailed { .. } => "pg-auth-failed",
            PgError::UnknownRole { .. } => "pg-role-missing",
            PgError::LoginRejected { .. } => "pg-login-rejected",
            PgError::DatabaseMissing { .. } => "pg-database-missing",
            PgError::Unreachable { .. } => "pg-unreachable",
            PgError::Timeout { .. } => "pg-timeout",
            PgError::TlsNotSupported { .. } | PgError::TlsHandshake { .. } => "pg-tls",
            PgError::TlsFile { .. } => "pg-tls-file",
            PgError::InvalidConfig { .. } => "pg-config",
            PgError::Connect { .. } => "pg-connect-failed",
            PgError::Statement(_) => "pg-statement",
            PgError::Cancelled { .. } => "pg-cancelled",
            PgError::ConnectionLost { .. } => "pg-connection-lost",
            PgError::Protocol(_) => "pg-protocol",
        }
    }

    /// What the user should do next.
    pub fn fix(&self) -> String {
        match self {
            PgError::AuthFailed { user, password_missing: true, .. } => format!(
                "the server asks for a password for `{user}`: set `password` in profiles.yml (e.g. \"{{{{ env_var('PGPASSWORD') }}}}\")"
            ),
            PgError::AuthFailed { user, .. } => format!(
                "check the password of `{user}` in profiles.yml (or the environment variable it reads)"
            ),
            PgError::UnknownRole { user, .. } => format!(
                "create the role (`create role \"{user}\" login password '...'`) or fix `user` in profiles.yml"
            ),
            PgError::LoginRejected { .. } => {
                "ask the server's administrator for a pg_hba.conf entry for this user, database and address, or try another sslmode".into()
            }
            PgError::DatabaseMissing { dbname, .. } => format!(
                "create it (`createdb {dbname}`) or fix `dbname` in profiles.yml"
            ),
            PgError::Unreachable { .. } => {
                "check `host` and `port` in profiles.yml and that PostgreSQL is running and accepts TCP connections (listen_addresses)".into()
            }
            PgError::Timeout { .. } => {
                "check that host and port point at PostgreSQL (a firewall may be dropping packets), or raise `connect_timeout`".into()
            }
            PgError::TlsNotSupported { .. } => {
                "turn on ssl on the server, or set `sslmode: prefer` (or `disable`) in profiles.yml".into()
            }
            PgError::TlsHandshake { sslmode: SslMode::VerifyFull, certificate: true, .. } => {
                "set `sslrootcert` to the CA that signed the server certificate and make `host` a name the certificate lists, or use `sslmode: verify-ca`".into()
            }
            PgError::TlsHandshake { certificate: true, .. } => {
                "set `sslrootcert` to the PEM file of the CA that signed the server certificate".into()
            }
            PgError::TlsHandshake { .. } => {
                "check the server's ssl settings and the client certificate (`sslcert`/`sslkey`)".into()
            }
            PgError::TlsFile { setting, .. } => {
                format!("point `{setting}` at a readable PEM file")
            }
            PgError::InvalidConfig { fix, .. } => fix.clone(),
            PgError::Connect { .. } => "check the connection settings in profiles.yml".into(),
            PgError::Statement(s) => s
                .hint
                .clone()
                .unwrap_or_else(|| "fix the SQL (see target/run/ for the exact statement sent)".into()),
            PgError::Cancelled { .. } => "run the command again when ready".into(),
            PgError::ConnectionLost { .. } => {
                "check the server log: it may have restarted or terminated the backend".into()
            }
            PgError::Protocol(_) => "report this as a bug in mfb with the query that caused it".into(),
        }
    }
}

fn is_tcp_failure(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        kind,
        ConnectionRefused
            | ConnectionReset
            | ConnectionAborted
            | NotFound
            | AddrNotAvailable
            | HostUnreachable
            | NetworkUnreachable
            | NetworkDown
    )
}

fn tls_error(err: &rustls::Error, config: &ConnectionConfig) -> PgError {
    PgError::TlsHandshake {
        host: config.host.clone(),
        port: config.port,
        sslmode: config.sslmode,
        reason: err.to_string(),
        certificate: matches!(
            err,
            rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
        ),
    }
}

impl IntoDiagnostic for PgError {
    fn into_diagnostic(self) -> Diagnostic {
        let mut d = Diagnostic::error(self.code(), self.to_string()).with_help(self.fix());
        if let PgError::Statement(s) = &self {
            if let Some(detail) = &s.detail {
                d = d.with_note(format!("detail: {detail}"));
            }
            if let Some(context) = &s.context {
                d = d.with_note(format!("context: {context}"));
            }
            if s.hint.is_some() {
                // The hint is already the help line; say where it came from.
                d = d.with_note("help below is PostgreSQL's hint");
            }
        }
        if let Some(state) = self.sqlstate() {
            d = d.with_note(format!("SQLSTATE {state}"));
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters() {
        let e = StatementError {
            sqlstate: "42601".into(),
            severity: "ERROR".into(),
            message: "syntax error".into(),
            detail: None,
            hint: None,
            position: Some(12),
            context: None,
        };
        assert_eq!(e.line_column("select\nfrom é x"), Some((2, 5)));
        assert_eq!(e.line_column("short"), None);
    }

    #[test]
    fn diagnostics_have_codes_and_help() {
        let e = PgError::DatabaseMissing {
            dbname: "x".into(),
            host: "h".into(),
            port: 1,
        };
        let d = e.into_diagnostic();
        assert_eq!(d.code, "pg-database-missing");
        assert_eq!(d.message, "database `x` does not exist on h:1");
        assert!(d.help.unwrap().contains("createdb x"));
        assert!(d.notes.contains(&"SQLSTATE 3D000".to_owned()));
    }
}
