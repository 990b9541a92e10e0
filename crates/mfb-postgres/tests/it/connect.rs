//! Connection failures are classified and explained; session settings are applied.

use std::time::{Duration, Instant};

use mfb_diagnostics::IntoDiagnostic;
use mfb_postgres::{PgError, connect};

use crate::support;

async fn password_role(name: &str, password: &str) {
    let admin = connect(&support::plain().config()).await.unwrap();
    admin
        .execute(&format!(
            "drop role if exists {name}; create role {name} login password '{password}' in role mfb_password_login"
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn wrong_password_is_auth_failed_and_never_shown() {
    password_role("mfb_t_pw", "right-secret").await;
    let mut config = support::plain().config();
    config.user = "mfb_t_pw".into();

    config.password = Some("wrong-secret".into());
    let err = connect(&config).await.unwrap_err();
    assert!(
        matches!(
            err,
            PgError::AuthFailed {
                password_missing: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.sqlstate(), Some("28P01"));
    let shown = format!("{err} {err:?} {}", err.fix());
    assert!(
        !shown.contains("wrong-secret") && !shown.contains("right-secret"),
        "{shown}"
    );
    let d = err.into_diagnostic();
    assert_eq!(d.code, "pg-auth-failed");
    assert!(d.message.contains("mfb_t_pw"), "{}", d.message);

    config.password = None;
    let err = connect(&config).await.unwrap_err();
    assert!(
        matches!(
            err,
            PgError::AuthFailed {
                password_missing: true,
                ..
            }
        ),
        "{err:?}"
    );

    config.password = Some("right-secret".into());
    let conn = connect(&config).await.unwrap();
    let t = conn.fetch("select current_user").await.unwrap();
    assert_eq!(t.rows[0][0], mfb_postgres::Cell::Text("mfb_t_pw".into()));
}

#[tokio::test]
async fn unknown_role_is_named() {
    let mut config = support::plain().config();
    config.user = "mfb_no_such_role".into();
    let err = connect(&config).await.unwrap_err();
    assert!(
        matches!(&err, PgError::UnknownRole { user, .. } if user == "mfb_no_such_role"),
        "{err:?}"
    );
    let d = err.into_diagnostic();
    assert_eq!(d.code, "pg-role-missing");
    assert!(d.help.unwrap().contains("create role"));
}

#[tokio::test]
async fn missing_database_is_named() {
    let mut config = support::plain().config();
    config.dbname = "mfb_no_such_db".into();
    let err = connect(&config).await.unwrap_err();
    assert!(matches!(&err, PgError::DatabaseMissing { dbname, .. } if dbname == "mfb_no_such_db"));
    assert_eq!(err.code(), "pg-database-missing");
    assert!(err.fix().contains("createdb mfb_no_such_db"));
}

#[tokio::test]
async fn refused_connection_names_host_and_port() {
    // An ephemeral port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = support::plain().config();
    config.port = port;
    let err = connect(&config).await.unwrap_err();
    assert!(matches!(err, PgError::Unreachable { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert_eq!(err.into_diagnostic().code, "pg-unreachable");
}

#[tokio::test]
async fn silent_server_times_out_within_connect_timeout() {
    // Accepts TCP (the kernel completes the handshake) but never answers the startup.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut config = support::plain().config();
    config.port = port;
    config.connect_timeout = Some(Duration::from_millis(500));
    let started = Instant::now();
    let err = connect(&config).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, PgError::Timeout { .. }), "{err:?}");
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    assert!(err.to_string().contains("timed out after 500ms"), "{err}");
    assert_eq!(err.into_diagnostic().code, "pg-timeout");
    drop(listener);
}

#[tokio::test]
async fn search_path_role_and_application_name_are_applied() {
    let admin = connect(&support::superuser()).await.unwrap();
    admin
        .execute(
            "drop schema if exists mfb_t_session cascade; create schema mfb_t_session;
             drop role if exists mfb_t_session_role; create role mfb_t_session_role nologin;
             grant usage on schema mfb_t_session to mfb_t_session_role;",
        )
        .await
        .unwrap();
    let mut config = support::superuser();
    config.search_path = vec!["mfb_t_session".into(), "public".into()];
    config.role = Some("mfb_t_session_role".into());
    config.application_name = Some("mfb-test-app".into());
    let conn = connect(&config).await.unwrap();
    let t = conn
        .fetch("select current_schemas(false)::text, current_user::text, current_setting('application_name')")
        .await
        .unwrap();
    let row: Vec<_> = t.rows[0].iter().map(|c| c.as_text().unwrap()).collect();
    assert_eq!(
        row,
        [
            "{mfb_t_session,public}",
            "mfb_t_session_role",
            "mfb-test-app"
        ]
    );
    drop(conn);

    config.role = Some("mfb_t_no_such_role".into());
    let err = connect(&config).await.unwrap_err();
    assert!(
        matches!(&err, PgError::InvalidConfig { what, .. } if what.contains("set role")),
        "{err:?}"
    );
}

#[tokio::test]
async fn unix_socket_directory_as_host() {
    let cluster = support::plain();
    let mut config = cluster.config();
    config.host = cluster.dir.display().to_string();
    let conn = connect(&config).await.unwrap_or_else(|e| panic!("{e}"));
    let t = conn
        .fetch("select inet_server_addr() is null")
        .await
        .unwrap();
    assert_eq!(
        t.rows[0][0],
        mfb_postgres::Cell::Bool(true),
        "not a Unix socket"
    );
}
