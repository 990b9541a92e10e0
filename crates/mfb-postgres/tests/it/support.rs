//! Throwaway PostgreSQL clusters for these tests (no mocks).
//!
//! `plain()` is a server without TLS whose pg_hba.conf asks members of
//! `mfb_password_login` for a scram-sha-256 password and trusts everyone else on
//! 127.0.0.1. `tls()` is a second server with `ssl=on`, a test CA, a server certificate
//! for `localhost`, and `cert` authentication for the role `mfb_cert_user`. Tests that
//! need neither use `MFB_TEST_DATABASE_URL` (a superuser URL) when it is set.
//!
//! Each cluster lives in a temp dir; a watchdog shell process stops it and removes the
//! dir once this test process has exited.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use mfb_postgres::{ConnectionConfig, SslMode};

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
const PORTS: std::ops::RangeInclusive<u16> = 55450..=55459;

pub struct Cluster {
    pub port: u16,
    pub dir: PathBuf,
}

impl Cluster {
    /// A superuser config for this cluster.
    pub fn config(&self) -> ConnectionConfig {
        let mut c = ConnectionConfig::new("127.0.0.1", self.port, "postgres", "postgres");
        c.sslmode = SslMode::Disable;
        c
    }
}

pub struct TlsFiles {
    pub ca: PathBuf,
    pub other_ca: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0\n"))
            .unwrap_or(false)
    })
}

/// Runs a command as the `postgres` OS user when we are root (initdb refuses root).
fn as_postgres(program: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", program]);
        c
    } else {
        Command::new(program)
    }
}

fn run(mut cmd: Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}\nPostgreSQL 15 server binaries are expected in {PG_BIN} \
         (apt-get install postgresql-15), or set MFB_TEST_DATABASE_URL",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> Option<u16> {
    PORTS
        .clone()
        .find(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok())
}

fn write_owned(path: &Path, contents: &[u8], mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, contents).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    if is_root() {
        run(
            {
                let mut c = Command::new("chown");
                c.args(["postgres", &path.display().to_string()]);
                c
            },
            "chown",
        );
    }
}

fn start_cluster(
    name: &str,
    extra_conf: &str,
    hba: &str,
    files: &[(&str, Vec<u8>, u32)],
) -> Cluster {
    let dir = tempfile::Builder::new()
        .prefix(&format!("mfb-pg-{name}-"))
        .tempdir()
        .unwrap()
        .keep();
    if is_root() {
        run(
            {
                let mut c = Command::new("chown");
                c.args(["postgres", &dir.display().to_string()]);
                c
            },
            "chown",
        );
    }
    let data = dir.join("data");
    let mut initdb = as_postgres(&format!("{PG_BIN}/initdb"));
    initdb.args([
        "-D",
        &data.display().to_string(),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-locale",
    ]);
    run(initdb, "initdb");
    for (file, contents, mode) in files {
        write_owned(&data.join(file), contents, *mode);
    }
    write_owned(&data.join("pg_hba.conf"), hba.as_bytes(), 0o600);
    // Ports can be taken between the check and the start (other test binaries): retry.
    for _ in 0..10 {
        let port = free_port().expect("no free port in 55450-55459 for a test cluster");
        let conf = format!(
            "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 100\n{extra_conf}",
            dir.display()
        );
        write_owned(&data.join("postgresql.auto.conf"), conf.as_bytes(), 0o600);
        let mut ctl = as_postgres(&format!("{PG_BIN}/pg_ctl"));
        ctl.args([
            "-D",
            &data.display().to_string(),
            "-l",
            &dir.join("server.log").display().to_string(),
            "-w",
            "start",
        ]);
        let ok = ctl
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            spawn_watchdog(&dir, &data);
            return Cluster { port, dir };
        }
    }
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    panic!("could not start the {name} test cluster:\n{log}");
}

/// Stops the cluster and removes its dir once this process is gone.
// The watchdog must outlive this process, so it is deliberately never waited for.
#[allow(clippy::zombie_processes)]
fn spawn_watchdog(dir: &Path, data: &Path) {
    let as_pg = if is_root() {
        "runuser -u postgres -- "
    } else {
        ""
    };
    let script = format!(
        "while [ -d /proc/{pid} ]; do sleep 1; done; {as_pg}{PG_BIN}/pg_ctl -D '{data}' -m immediate stop >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        data = data.display(),
        dir = dir.display()
    );
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd.spawn().expect("start the cluster watchdog");
}

const PLAIN_HBA: &str = "\
local all all trust
host all +mfb_password_login 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
";

/// The plain (no TLS) cluster with a password-checked group.
pub fn plain() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let c = start_cluster(
            "plain",
            "password_encryption = 'scram-sha-256'\n",
            PLAIN_HBA,
            &[],
        );
        psql(c.port, "create role mfb_password_login nologin");
        c
    })
}

fn psql(port: u16, sql: &str) {
    let mut cmd = as_postgres(&format!("{PG_BIN}/psql"));
    cmd.args([
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-U",
        "postgres",
        "-d",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-qc",
        sql,
    ]);
    run(cmd, "psql");
}

/// A superuser config for general tests: `MFB_TEST_DATABASE_URL` or the plain cluster.
pub fn superuser() -> ConnectionConfig {
    match std::env::var("MFB_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => ConnectionConfig::from_url(&url)
            .unwrap_or_else(|e| panic!("MFB_TEST_DATABASE_URL is not usable: {e}")),
        _ => plain().config(),
    }
}

/// The TLS cluster and the PEM files tests point sslrootcert/sslcert/sslkey at.
pub fn tls() -> &'static (Cluster, TlsFiles) {
    static CLUSTER: OnceLock<(Cluster, TlsFiles)> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "mfb test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();

        let other_key = KeyPair::generate().unwrap();
        let mut other_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        other_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        other_params.distinguished_name.push(DnType::CommonName, "some other CA");
        let other = other_params.self_signed(&other_key).unwrap();

        let server_key = KeyPair::generate().unwrap();
        let mut server_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        server_params.distinguished_name.push(DnType::CommonName, "localhost");
        let server = server_params.signed_by(&server_key, &ca, &ca_key).unwrap();

        let client_key = KeyPair::generate().unwrap();
        let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        client_params.distinguished_name.push(DnType::CommonName, "mfb_cert_user");
        let client = client_params.signed_by(&client_key, &ca, &ca_key).unwrap();

        let hba = "\
local all all trust
hostssl all mfb_cert_user 127.0.0.1/32 cert
host all +mfb_password_login 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
";
        let conf = "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'ca.crt'\n";
        let cluster = start_cluster(
            "tls",
            conf,
            hba,
            &[
                ("server.crt", server.pem().into_bytes(), 0o644),
                ("server.key", server_key.serialize_pem().into_bytes(), 0o600),
                ("ca.crt", ca.pem().into_bytes(), 0o644),
            ],
        );
        psql(cluster.port, "create role mfb_password_login nologin; create role mfb_cert_user login");
        let pem_dir = cluster.dir.join("client");
        std::fs::create_dir_all(&pem_dir).unwrap();
        let files = TlsFiles {
            ca: pem_dir.join("ca.crt"),
            other_ca: pem_dir.join("other-ca.crt"),
            client_cert: pem_dir.join("client.crt"),
            client_key: pem_dir.join("client.key"),
        };
        std::fs::write(&files.ca, ca.pem()).unwrap();
        std::fs::write(&files.other_ca, other.pem()).unwrap();
        std::fs::write(&files.client_cert, client.pem()).unwrap();
        std::fs::write(&files.client_key, client_key.serialize_pem()).unwrap();
        (cluster, files)
    })
}

/// A fresh schema named `name` (dropped first if a previous run left it behind).
pub async fn fresh_schema(conn: &mfb_postgres::Connection, name: &str) {
    conn.execute(&format!(
        "drop schema if exists {name} cascade; create schema {name}"
    ))
    .await
    .unwrap();
}
