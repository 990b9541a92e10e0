//! The PostgreSQL server the tests of this process use.
//!
//! `MFB_TEST_DATABASE_URL`, when set, names a server the caller runs (CI, a developer's
//! own instance); the testkit only creates and drops databases on it. Otherwise the first
//! test that asks starts one throwaway cluster with `scripts/pg.sh` in a fresh temporary
//! directory and spawns a detached watcher that stops the cluster and deletes the
//! directory once this process has exited, however it exits.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use tokio_postgres::config::Host;

/// Environment variable naming an existing server for tests, e.g.
/// `postgres://postgres@127.0.0.1:5432/postgres`. Its role must be allowed to create
/// databases.
pub const DATABASE_URL_VAR: &str = "MFB_TEST_DATABASE_URL";

/// How to reach the server tests run against, as an administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// Host name, IP address or Unix socket directory.
    pub host: String,
    /// TCP port (also names the Unix socket file).
    pub port: u16,
    /// Role the tests connect as.
    pub user: String,
    /// Password of `user`, if the server wants one.
    pub password: Option<String>,
    /// Database to connect to for `CREATE DATABASE` / `DROP DATABASE`.
    pub admin_dbname: String,
    /// True when `host` is a Unix socket directory.
    pub unix_socket: bool,
}

impl ServerInfo {
    /// Parses a `postgres://` URL or a libpq key=value string.
    pub fn from_url(url: &str) -> Result<ServerInfo, String> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| format!("cannot parse `{url}` as a PostgreSQL URL: {e}"))?;
        let (host, unix_socket) = match config.get_hosts().first() {
            Some(Host::Tcp(host)) => (host.clone(), false),
            Some(Host::Unix(dir)) => (dir.display().to_string(), true),
            None => ("127.0.0.1".to_owned(), false),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config
            .get_user()
            .map(str::to_owned)
            .unwrap_or_else(|| "postgres".to_owned());
        let password = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let admin_dbname = config
            .get_dbname()
            .map(str::to_owned)
            .unwrap_or_else(|| "postgres".to_owned());
        Ok(ServerInfo {
            host,
            port,
            user,
            password,
            admin_dbname,
            unix_socket,
        })
    }

    /// The URL of database `dbname` on this server.
    pub fn url_for(&self, dbname: &str) -> String {
        let credentials = match &self.password {
            Some(password) => format!("{}:{}", encode(&self.user), encode(password)),
            None => encode(&self.user),
        };
        if self.unix_socket {
            format!(
                "postgresql://{credentials}@/{}?host={}&port={}",
                encode(dbname),
                encode(&self.host),
                self.port
            )
        } else {
            let host = if self.host.contains(':') {
                format!("[{}]", self.host) // IPv6 literal
            } else {
                self.host.clone()
            };
            format!(
                "postgresql://{credentials}@{host}:{}/{}",
                self.port,
                encode(dbname)
            )
        }
    }

    /// A tokio-postgres configuration for database `dbname` on this server.
    pub(crate) fn config_for(&self, dbname: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .user(&self.user)
            .dbname(dbname)
            .application_name("mfb-testkit")
            .connect_timeout(std::time::Duration::from_secs(30));
        if let Some(password) = &self.password {
            config.password(password);
        }
        config
    }
}

/// Percent-encodes everything outside RFC 3986's unreserved characters.
fn encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

static SERVER: OnceLock<ServerInfo> = OnceLock::new();

/// The server of this test process, started on first use.
///
/// # Panics
/// When `MFB_TEST_DATABASE_URL` is malformed, or unset while no PostgreSQL server
/// binaries are installed, or the throwaway server fails to start. The message says
/// what to do.
pub fn server_info() -> &'static ServerInfo {
    SERVER.get_or_init(|| match std::env::var(DATABASE_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => ServerInfo::from_url(url.trim())
            .unwrap_or_else(|e| panic!("mfb-testkit: {DATABASE_URL_VAR}: {e}")),
        _ => start_throwaway_server(),
    })
}

/// Directory holding `pg_ctl`: `PG_BINDIR`, else the newest `/usr/lib/postgresql/*/bin`.
fn server_bindir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BINDIR") {
        let dir = PathBuf::from(dir);
        return dir.join("pg_ctl").exists().then_some(dir);
    }
    let mut candidates: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry
                .file_name()
                .to_string_lossy()
                .split('.')
                .map(|part| part.parse::<u32>().ok())
                .collect::<Option<Vec<u32>>>()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    candidates.sort();
    candidates.pop().map(|(_, bin)| bin)
}

fn pg_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg.sh")
}

fn no_server_message() -> String {
    format!(
        "mfb-testkit: no PostgreSQL to test against.\n\
         The database tests need a real server; they are not skipped. Either:\n  \
         - run the whole suite with `scripts/test.sh` (installs PostgreSQL if missing and starts one), or\n  \
         - install the server binaries (Debian/Ubuntu: `apt-get install postgresql`; or set PG_BINDIR to the directory holding pg_ctl), or\n  \
         - point {DATABASE_URL_VAR} at a server whose role may CREATE DATABASE, e.g.\n    \
         {DATABASE_URL_VAR}=postgres://postgres@127.0.0.1:5432/postgres cargo test"
    )
}

fn start_throwaway_server() -> ServerInfo {
    if server_bindir().is_none() {
        panic!("{}", no_server_message());
    }
    let script = pg_script();
    if !script.exists() {
        panic!(
            "mfb-testkit: {} is missing; set {DATABASE_URL_VAR} to use an existing server",
            script.display()
        );
    }
    let root = tempfile::Builder::new()
        .prefix("mfb-testkit-pg-")
        .tempdir()
        .unwrap_or_else(|e| panic!("mfb-testkit: cannot create a temporary directory: {e}"))
        .keep();
    // pg.sh runs the server as the `postgres` OS user when we are root: it must reach the dir
    if let Err(e) = std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)) {
        panic!("mfb-testkit: cannot open up {}: {e}", root.display());
    }
    let data = root.join("data");

    let output = Command::new("bash")
        .arg(&script)
        .arg("start")
        .arg(&data)
        .env("PG_NO_INSTALL", "1")
        .stdin(Stdio::null())
        // its own process group: a Ctrl-C aimed at the tests leaves cleanup to the watcher
        .process_group(0)
        .output()
        .unwrap_or_else(|e| panic!("mfb-testkit: cannot run {}: {e}", script.display()));
    if !output.status.success() {
        let _ = std::fs::remove_dir_all(&root);
        panic!(
            "mfb-testkit: `{} start {}` failed ({}):\n{}",
            script.display(),
            data.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    spawn_cleanup_watcher(&script, &root, &data);

    let url = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    ServerInfo::from_url(&url)
        .unwrap_or_else(|e| panic!("mfb-testkit: pg.sh printed an unusable URL: {e}"))
}

/// Starts a detached shell that waits for this process to end, then stops the cluster
/// and removes its directory. Best effort: if it cannot be spawned, the cluster outlives
/// the tests in its own temporary directory, which later runs never reuse.
fn spawn_cleanup_watcher(script: &Path, root: &Path, data: &Path) {
    let watch = "while kill -0 \"$1\" 2>/dev/null; do sleep 1; done; \
                 bash \"$2\" stop \"$3\"; rm -rf \"$4\"";
    let _ = Command::new("sh")
        .arg("-c")
        .arg(watch)
        .arg("mfb-testkit-watcher")
        .arg(std::process::id().to_string())
        .arg(script)
        .arg(data)
        .arg(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_url_with_password_and_builds_urls_back() {
        let info = ServerInfo::from_url("postgres://ci:s3cr%40t@db.internal:6543/admin").unwrap();
        assert_eq!(info.host, "db.internal");
        assert_eq!(info.port, 6543);
        assert_eq!(info.user, "ci");
        assert_eq!(info.password.as_deref(), Some("s3cr@t"));
        assert_eq!(info.admin_dbname, "admin");
        assert_eq!(
            info.url_for("mfbt_x"),
            "postgresql://ci:s3cr%40t@db.internal:6543/mfbt_x"
        );
        let again = ServerInfo::from_url(&info.url_for("admin")).unwrap();
        assert_eq!(again, info);
    }

    #[test]
    fn defaults_when_url_is_sparse() {
        let info = ServerInfo::from_url("postgres://127.0.0.1").unwrap();
        assert_eq!(info.port, 5432);
        assert_eq!(info.user, "postgres");
        assert_eq!(info.password, None);
        assert_eq!(info.admin_dbname, "postgres");
    }

    #[test]
    fn unix_socket_urls_round_trip() {
        let info = ServerInfo::from_url("host=/var/run/postgresql port=5433 user=me").unwrap();
        assert!(info.unix_socket);
        let url = info.url_for("t1");
        assert_eq!(
            url,
            "postgresql://me@/t1?host=%2Fvar%2Frun%2Fpostgresql&port=5433"
        );
        let again = ServerInfo::from_url(&url).unwrap();
        assert_eq!(
            again,
            ServerInfo {
                admin_dbname: "t1".to_owned(),
                ..info
            }
        );
    }

    #[test]
    fn malformed_url_is_reported_with_the_url() {
        let err = ServerInfo::from_url("postgres://u@h:notaport/db").unwrap_err();
        assert!(err.contains("postgres://u@h:notaport/db"), "{err}");
    }

    #[test]
    fn no_server_message_says_how_to_get_one() {
        let message = no_server_message();
        assert!(message.contains("apt-get install postgresql"));
        assert!(message.contains(DATABASE_URL_VAR));
        assert!(message.contains("scripts/test.sh"));
    }
}
