//! Connection settings as plain fields, independent of how a profile spells them.
//!
//! `mfb-exec` converts a dbt `profiles.yml` target into a [`ConnectionConfig`]; this module
//! only knows PostgreSQL's own vocabulary (libpq's `sslmode`, `sslrootcert`, ...). The
//! password is held in a [`Password`] that never shows up in `Debug` or error output.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// A password that prints as `***` so it never leaks into logs or diagnostics.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        Password(password.into())
    }

    /// The secret itself; only the connector should call this.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Password {
    fn from(s: &str) -> Self {
        Password::new(s)
    }
}

impl From<String> for Password {
    fn from(s: String) -> Self {
        Password(s)
    }
}

/// libpq's `sslmode`, with the same meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Plain TCP only.
    Disable,
    /// Plain if possible, TLS otherwise. mfb tries TLS first, like `prefer` (see [`SslMode::Prefer`]).
    Allow,
    /// TLS when the server offers it, plain otherwise (libpq's default).
    #[default]
    Prefer,
    /// TLS without certificate checks; with `sslrootcert` it behaves like `verify-ca`.
    Require,
    /// TLS, the server certificate must chain to `sslrootcert`; the host name is not checked.
    VerifyCa,
    /// TLS, chain to `sslrootcert` and the certificate must name the host.
    VerifyFull,
}

impl SslMode {
    /// The libpq spelling (`verify-full`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// True when the connection must fail rather than fall back to plain TCP.
    pub fn requires_tls(self) -> bool {
        matches!(
            self,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        )
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `sslmode` value that is not one of libpq's six.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an sslmode; use one of disable, allow, prefer, require, verify-ca, verify-full"
)]
pub struct UnknownSslMode(pub String);

impl FromStr for SslMode {
    type Err = UnknownSslMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" | "verify_ca" => SslMode::VerifyCa,
            "verify-full" | "verify_full" => SslMode::VerifyFull,
            _ => return Err(UnknownSslMode(s.to_owned())),
        })
    }
}

/// Everything needed to open one connection. Build with [`ConnectionConfig::new`] and set
/// the public fields; defaults follow libpq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionConfig {
    /// Host name or IP address (a path starting with `/` means a Unix socket directory).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Login role.
    pub user: String,
    /// Password, if the server asks for one.
    pub password: Option<Password>,
    /// Database to connect to.
    pub dbname: String,
    /// The target schema (dbt's `schema`); not applied to the session by itself.
    pub schema: Option<String>,
    /// TLS policy.
    pub sslmode: SslMode,
    /// PEM file of CA certificates that the server certificate must chain to.
    pub sslrootcert: Option<PathBuf>,
    /// PEM client certificate (chain) presented to the server.
    pub sslcert: Option<PathBuf>,
    /// PEM private key of `sslcert`.
    pub sslkey: Option<PathBuf>,
    /// Give up on connecting (TCP, TLS and authentication together) after this long.
    pub connect_timeout: Option<Duration>,
    /// TCP keepalive idle time.
    pub keepalives_idle: Option<Duration>,
    /// Schemas for `SET search_path` after connecting, in order.
    pub search_path: Vec<String>,
    /// Role for `SET ROLE` after connecting.
    pub role: Option<String>,
    /// Reported to the server as `application_name`.
    pub application_name: Option<String>,
}

impl ConnectionConfig {
    /// A config for `user@host:port/dbname` with libpq defaults for everything else
    /// (`sslmode=prefer`, no timeout, application_name `mfb`).
    pub fn new(
        host: impl Into<String>,
        port: u16,
        user: impl Into<String>,
        dbname: impl Into<String>,
    ) -> Self {
        ConnectionConfig {
            host: host.into(),
            port,
            user: user.into(),
            password: None,
            dbname: dbname.into(),
            schema: None,
            sslmode: SslMode::default(),
            sslrootcert: None,
            sslcert: None,
            sslkey: None,
            connect_timeout: None,
            keepalives_idle: None,
            search_path: Vec::new(),
            role: None,
            application_name: Some("mfb".to_owned()),
        }
    }

    /// Sets the password.
    pub fn with_password(mut self, password: impl Into<Password>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Parses a `postgres://user[:password]@host[:port]/dbname[?sslmode=..&...]` URL, the
    /// form used by `MFB_TEST_DATABASE_URL`. Query keys: sslmode, sslrootcert, sslcert,
    /// sslkey, connect_timeout (seconds), application_name; any other key is an error.
    pub fn from_url(url: &str) -> Result<Self, crate::PgError> {
        let bad = |why: &str| crate::PgError::InvalidConfig {
            what: format!("database URL ({why})"),
            fix: "write it as postgres://user:password@host:port/dbname?sslmode=prefer".into(),
        };
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .ok_or_else(|| bad("it must start with postgres://"))?;
        let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, dbname) = main.split_once('/').unwrap_or((main, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((u, p)) => (percent_decode(u), Some(percent_decode(p))),
                None => (percent_decode(u), None),
            },
            None => ("postgres".to_owned(), None),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => {
                let port = p
                    .parse::<u16>()
                    .map_err(|_| bad("the port is not a number"))?;
                (h.trim_matches(['[', ']']).to_owned(), port)
            }
            _ => (hostport.trim_matches(['[', ']']).to_owned(), 5432),
        };
        let host = if host.is_empty() {
            "localhost".to_owned()
        } else {
            host
        };
        let dbname = if dbname.is_empty() {
            user.clone()
        } else {
            percent_decode(dbname)
        };
        let mut config = ConnectionConfig::new(host, port, user, dbname);
        config.password = password.map(Password::from);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(v);
            match k {
                "sslmode" => {
                    config.sslmode =
                        v.parse()
                            .map_err(|e: UnknownSslMode| crate::PgError::InvalidConfig {
                                what: e.to_string(),
                                fix: "fix sslmode in the URL".into(),
                            })?
                }
                "sslrootcert" => config.sslrootcert = Some(v.into()),
                "sslcert" => config.sslcert = Some(v.into()),
                "sslkey" => config.sslkey = Some(v.into()),
                "connect_timeout" => {
                    let secs = v
                        .parse::<u64>()
                        .map_err(|_| bad("connect_timeout is not seconds"))?;
                    config.connect_timeout = Some(Duration::from_secs(secs));
                }
                "application_name" => config.application_name = Some(v),
                other => return Err(bad(&format!("unknown parameter `{other}`"))),
            }
        }
        Ok(config)
    }

    /// `user@host:port/dbname`, for messages (never includes the password).
    pub fn display_target(&self) -> String {
        format!("{}@{}:{}/{}", self.user, self.host, self.port, self.dbname)
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_never_prints() {
        let c = ConnectionConfig::new("h", 1, "u", "d").with_password("hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(c.password.as_ref().map(Password::expose), Some("hunter2"));
    }

    #[test]
    fn sslmode_parses_libpq_spellings() {
        assert_eq!(
            "verify-full".parse::<SslMode>().unwrap(),
            SslMode::VerifyFull
        );
        assert_eq!("REQUIRE".parse::<SslMode>().unwrap(), SslMode::Require);
        let err = "strict".parse::<SslMode>().unwrap_err();
        assert!(err.to_string().contains("`strict` is not an sslmode"));
    }

    #[test]
    fn url_parses_all_parts() {
        let c = ConnectionConfig::from_url(
            "postgres://al%40ice:p%3Ass@127.0.0.1:55450/db1?sslmode=require&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(c.user, "al@ice");
        assert_eq!(c.password.unwrap().expose(), "p:ss");
        assert_eq!(
            (c.host.as_str(), c.port, c.dbname.as_str()),
            ("127.0.0.1", 55450, "db1")
        );
        assert_eq!(c.sslmode, SslMode::Require);
        assert_eq!(c.connect_timeout, Some(Duration::from_secs(3)));
        let d = ConnectionConfig::from_url("postgresql://bob@localhost").unwrap();
        assert_eq!((d.port, d.dbname.as_str(), d.password), (5432, "bob", None));
        assert!(ConnectionConfig::from_url("mysql://x").is_err());
    }
}
