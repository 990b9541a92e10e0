//! sslmode against a TLS server with a test CA, and against a server without TLS.

use mfb_postgres::{Cell, ConnectionConfig, PgError, SslMode, connect};

use crate::support;

fn tls_config(host: &str, mode: SslMode) -> ConnectionConfig {
    let (cluster, _) = support::tls();
    let mut c = ConnectionConfig::new(host, cluster.port, "postgres", "postgres");
    c.sslmode = mode;
    c
}

async fn uses_ssl(config: &ConnectionConfig) -> bool {
    let conn = connect(config)
        .await
        .unwrap_or_else(|e| panic!("{e}: {}", e.fix()));
    let t = conn
        .fetch("select ssl from pg_stat_ssl where pid = pg_backend_pid()")
        .await
        .unwrap();
    match t.rows[0][0] {
        Cell::Bool(b) => b,
        ref other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn require_encrypts_without_verifying() {
    assert!(uses_ssl(&tls_config("127.0.0.1", SslMode::Require)).await);
    assert!(uses_ssl(&tls_config("127.0.0.1", SslMode::Prefer)).await);
    assert!(uses_ssl(&tls_config("127.0.0.1", SslMode::Allow)).await);
    assert!(!uses_ssl(&tls_config("127.0.0.1", SslMode::Disable)).await);
}

#[tokio::test]
async fn verify_ca_checks_the_chain_but_not_the_name() {
    let (_, files) = support::tls();
    let mut c = tls_config("127.0.0.1", SslMode::VerifyCa);
    c.sslrootcert = Some(files.ca.clone());
    assert!(uses_ssl(&c).await);

    c.sslrootcert = Some(files.other_ca.clone());
    let err = connect(&c).await.unwrap_err();
    assert!(
        matches!(
            err,
            PgError::TlsHandshake {
                certificate: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), "pg-tls");
    assert!(err.fix().contains("sslrootcert"));
}

#[tokio::test]
async fn require_with_rootcert_verifies_like_verify_ca() {
    let (_, files) = support::tls();
    let mut c = tls_config("127.0.0.1", SslMode::Require);
    c.sslrootcert = Some(files.other_ca.clone());
    let err = connect(&c).await.unwrap_err();
    assert!(
        matches!(
            err,
            PgError::TlsHandshake {
                certificate: true,
                ..
            }
        ),
        "{err:?}"
    );
    c.sslrootcert = Some(files.ca.clone());
    assert!(uses_ssl(&c).await);
}

#[tokio::test]
async fn verify_full_checks_the_host_name() {
    let (_, files) = support::tls();
    let mut c = tls_config("localhost", SslMode::VerifyFull);
    c.sslrootcert = Some(files.ca.clone());
    assert!(uses_ssl(&c).await);

    // The certificate names `localhost`, not 127.0.0.1.
    let mut c = tls_config("127.0.0.1", SslMode::VerifyFull);
    c.sslrootcert = Some(files.ca.clone());
    let err = connect(&c).await.unwrap_err();
    match &err {
        PgError::TlsHandshake {
            certificate: true,
            reason,
            ..
        } => {
            assert!(
                reason.to_lowercase().contains("not valid for name"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(err.fix().contains("verify-ca"));
}

#[tokio::test]
async fn verify_full_without_rootcert_says_what_to_set() {
    let c = tls_config("localhost", SslMode::VerifyFull);
    // Only meaningful when the user has no ~/.postgresql/root.crt of their own.
    let home_root = std::env::var_os("HOME")
        .map(|h| std::path::PathBuf::from(h).join(".postgresql/root.crt"))
        .filter(|p| p.is_file());
    assert!(
        home_root.is_none(),
        "tests expect no ~/.postgresql/root.crt"
    );
    let err = connect(&c).await.unwrap_err();
    assert!(
        matches!(&err, PgError::InvalidConfig { what, .. } if what.contains("verify-full")),
        "{err:?}"
    );
}

#[tokio::test]
async fn client_certificate_authenticates() {
    let (_, files) = support::tls();
    let mut c = tls_config("localhost", SslMode::VerifyFull);
    c.user = "mfb_cert_user".into();
    c.sslrootcert = Some(files.ca.clone());
    c.sslcert = Some(files.client_cert.clone());
    c.sslkey = Some(files.client_key.clone());
    let conn = connect(&c).await.unwrap_or_else(|e| panic!("{e}"));
    let t = conn.fetch("select current_user::text").await.unwrap();
    assert_eq!(t.rows[0][0], Cell::Text("mfb_cert_user".into()));

    // Without the certificate the `cert` pg_hba line rejects the login.
    c.sslcert = None;
    c.sslkey = None;
    let err = connect(&c).await.unwrap_err();
    assert!(matches!(err, PgError::LoginRejected { .. }), "{err:?}");

    c.sslcert = Some(files.ca.with_file_name("missing.crt"));
    c.sslkey = Some(files.client_key.clone());
    let err = connect(&c).await.unwrap_err();
    assert!(
        matches!(
            err,
            PgError::TlsFile {
                setting: "sslcert",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn require_against_a_server_without_tls_fails_clearly() {
    let mut c = support::plain().config();
    c.sslmode = SslMode::Require;
    let err = connect(&c).await.unwrap_err();
    assert!(
        matches!(
            err,
            PgError::TlsNotSupported {
                sslmode: SslMode::Require,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("does not support SSL"), "{err}");
    assert_eq!(err.code(), "pg-tls");

    // prefer falls back to plain TCP.
    c.sslmode = SslMode::Prefer;
    assert!(!uses_ssl(&c).await);
}

#[tokio::test]
async fn cancel_works_over_tls() {
    let conn = connect(&tls_config("127.0.0.1", SslMode::Require))
        .await
        .unwrap();
    let token = conn.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        token.cancel().await
    });
    let err = conn.execute("select pg_sleep(10)").await.unwrap_err();
    assert!(matches!(err, PgError::Cancelled { .. }), "{err:?}");
    canceller.await.unwrap().unwrap();
}
