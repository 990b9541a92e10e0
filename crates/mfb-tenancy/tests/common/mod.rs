//! Shared by the database tests: a fresh database plus cluster-wide roles with a prefix
//! unique to this fixture, dropped (database first, then roles) when the fixture drops.

#![allow(dead_code)]

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use mfb_postgres::{Connection, ConnectionConfig, SslMode, connect};
use mfb_tenancy::{
    ProvisionOptions, Registry, RlsConfig, apply_provision, plan_provision, policy_statements,
    support_statements,
};
use mfb_testkit::TestDb;

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub struct Fixture {
    db: Option<TestDb>,
    /// Prefix of every role this fixture creates, e.g. `mt4242_3_ab12`.
    pub prefix: String,
}

impl Fixture {
    pub fn new(hint: &str) -> Fixture {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        Fixture {
            db: Some(TestDb::create(hint)),
            prefix: format!(
                "mt{}_{}_{:x}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed),
                nanos & 0xffff
            ),
        }
    }

    pub fn db(&self) -> &TestDb {
        self.db.as_ref().unwrap()
    }

    pub fn config(&self) -> ConnectionConfig {
        let mut c = ConnectionConfig::from_url(&self.db().url).unwrap();
        c.sslmode = SslMode::Disable;
        c
    }

    pub async fn connect(&self) -> Connection {
        connect(&self.config()).await.unwrap()
    }

    /// `name` with this fixture's prefix.
    pub fn role(&self, name: &str) -> String {
        format!("{}_{name}", self.prefix)
    }

    /// A tenants.yml text where `{p}` stands for the role prefix.
    pub fn registry(&self, text: &str) -> Registry {
        Registry::parse(&text.replace("{p}", &self.prefix), Path::new("tenants.yml")).unwrap()
    }

    /// Provisions `registry` (schemas: `analytics`) and returns how many steps ran.
    pub async fn provision(&self, conn: &mut Connection, registry: &Registry) -> usize {
        let plan = plan_provision(conn, registry, &options(), &|_| None)
            .await
            .unwrap();
        apply_provision(conn, &plan).await.unwrap();
        plan.steps.len()
    }

    /// Applies the support objects and `cfg`'s policy to `analytics.<table>` in one
    /// transaction, as the build will.
    pub async fn protect(
        &self,
        conn: &mut Connection,
        table: &str,
        cfg: &RlsConfig,
        column_type: Option<&str>,
        registry: &Registry,
    ) {
        let relation = mfb_postgres::Relation::new(conn.database(), "analytics", table)
            .with_kind(mfb_postgres::RelationKind::Table);
        let mut statements = support_statements(&registry.settings);
        statements.extend(policy_statements(cfg, &relation, column_type, Some(registry)).unwrap());
        let tx = conn.begin().await.unwrap();
        for s in &statements {
            tx.execute(s)
                .await
                .unwrap_or_else(|e| panic!("{e}\nin:\n{s}"));
        }
        tx.commit().await.unwrap();
    }
}

pub fn options() -> ProvisionOptions {
    ProvisionOptions {
        default_schemas: vec!["analytics".into()],
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Roles cannot be dropped while a database holds their privileges: the database
        // goes first, then every role with this fixture's prefix.
        drop(self.db.take());
        let prefix = self.prefix.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let server = mfb_testkit::server_info();
                let mut c =
                    ConnectionConfig::from_url(&server.url_for(&server.admin_dbname)).unwrap();
                c.sslmode = SslMode::Disable;
                let conn = connect(&c).await.unwrap();
                let roles = conn
                    .fetch(&format!(
                        "select rolname::text from pg_roles where rolname like '{prefix}\\_%'"
                    ))
                    .await
                    .unwrap();
                for row in &roles.rows {
                    let name = row[0].as_text().unwrap();
                    let _ = conn
                        .execute(&format!("drop role if exists \"{name}\""))
                        .await;
                }
            });
        })
        .join()
        .unwrap();
    }
}

/// Runs `sql` and returns the first column of the first row as text.
pub async fn scalar(conn: &Connection, sql: &str) -> String {
    let t = conn
        .fetch(sql)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
    t.rows[0][0].as_text().unwrap_or_default()
}
