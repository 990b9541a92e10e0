//! The flagship demo project (the repository root) and the projects under `examples/`,
//! built against a real PostgreSQL exactly as their READMEs say: `mfb tenants provision`,
//! then `mfb build`. Each test copies the project into a temporary directory, gives the
//! roles of its `tenants.yml` a unique prefix (roles are cluster-wide) and drops them at
//! the end, so the tests can run in parallel and twice in a row on the same server.
//! The checked-in `profiles.yml` is used as is, pointed at the test database through the
//! `PG*` environment variables it reads.

use std::path::{Path, PathBuf};
use std::process::Command;

use mfb_testkit::{TestDb, unique_name};
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A project copied into a temporary directory, with its test database and its tenant
/// roles renamed to `<unique>_<suffix>`. Dropping it drops the database, then the roles.
struct Project {
    dir: tempfile::TempDir,
    db: Option<TestDb>,
    /// The unique prefix replacing the project's role prefix in tenants.yml.
    prefix: String,
    /// Extra roles a test created (e.g. through `create_rls_user`), dropped too.
    extra_roles: Vec<String>,
    roles: Vec<String>,
}

impl Project {
    /// Copies `entries` (files and folders) of `src` and rewrites every role of tenants.yml
    /// that starts with `role_prefix` (e.g. `wl_`) to start with a unique prefix instead.
    fn copy(src: &Path, entries: &[&str], role_prefix: &str, hint: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        for entry in entries {
            copy_tree(&src.join(entry), &dir.path().join(entry));
        }
        let prefix = unique_name(hint);
        let tenants = dir.path().join("tenants.yml");
        let text = std::fs::read_to_string(&tenants).expect("the project has a tenants.yml");
        let (text, roles) = rename_roles(&text, role_prefix, &format!("{prefix}_"));
        assert!(
            !roles.is_empty(),
            "no role starting with {role_prefix} in tenants.yml"
        );
        std::fs::write(&tenants, text).unwrap();
        Project {
            dir,
            db: Some(TestDb::create(hint)),
            prefix,
            extra_roles: Vec::new(),
            roles,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn db(&self) -> &TestDb {
        self.db.as_ref().unwrap()
    }

    /// The renamed role of `name` as written in the checked-in tenants.yml, e.g. `wl_co`.
    fn role(&self, suffix: &str) -> String {
        format!("{}_{suffix}", self.prefix)
    }

    /// Runs mfb in the project with the profile's `PG*` variables pointing at the database.
    fn mfb(&self, args: &[&str]) -> (i32, String) {
        let db = self.db();
        let out = Command::new(env!("CARGO_BIN_EXE_mfb"))
            .args(args)
            .arg("--project-dir")
            .arg(self.path())
            .arg("--profiles-dir")
            .arg(self.path())
            .env("PGHOST", &db.host)
            .env("PGPORT", db.port.to_string())
            .env("PGUSER", &db.user)
            .env("PGPASSWORD", db.password.as_deref().unwrap_or(""))
            .env("PGDATABASE", &db.dbname)
            .env_remove("MFB_SCHEMA")
            .output()
            .expect("run mfb");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains("panicked"), "{text}");
        (out.status.code().unwrap_or(-1), text)
    }

    /// Runs mfb and asserts exit 0.
    fn ok(&self, args: &[&str]) -> String {
        let (code, text) = self.mfb(args);
        assert_eq!(code, 0, "mfb {}:\n{text}", args.join(" "));
        text
    }

    /// One value, as the owner (the test server's superuser).
    fn one(&self, sql: &str) -> String {
        self.db().query_text(sql)[0][0].clone().unwrap_or_default()
    }

    /// The output of `sql` run as `role` (after `set role`, and `setup`), or psql's error.
    fn as_role(&self, role: &str, setup: &str, sql: &str) -> Result<String, String> {
        let mut cmd = Command::new("psql");
        cmd.args([
            self.db().url.as_str(),
            "-XAtq",
            "-F",
            "|",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            &format!("set role \"{role}\""),
        ]);
        if !setup.is_empty() {
            cmd.args(["-c", setup]);
        }
        let out = cmd.args(["-c", sql]).output().expect("psql");
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }

    /// `sql` as `role`, which must succeed.
    fn read_as(&self, role: &str, sql: &str) -> String {
        self.as_role(role, "", sql)
            .unwrap_or_else(|e| panic!("as {role}: {sql}: {e}"))
    }

    /// `target/run_results.json`: unique id -> (status, failures).
    fn results(&self) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(self.path().join("target/run_results.json")).unwrap();
        let json: Value = serde_json::from_str(&text).unwrap();
        json["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["unique_id"].as_str().unwrap().to_owned(),
                    r["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// Asserts every result passed or succeeded, and that `rls_isolation_<model>` passed
    /// for each of `protected`.
    fn assert_all_passed(&self, package: &str, protected: &[&str]) {
        let results = self.results();
        let bad: Vec<_> = results
            .iter()
            .filter(|(_, s)| s != "success" && s != "pass")
            .collect();
        assert!(bad.is_empty(), "not passing: {bad:?}");
        for model in protected {
            let id = format!("test.{package}.rls_isolation_{model}");
            assert!(
                results.iter().any(|(u, s)| *u == id && s == "pass"),
                "no passing {id} in {results:?}"
            );
        }
        let checks = results
            .iter()
            .filter(|(u, _)| u.contains(".rls_isolation_"))
            .count();
        // Views over protected tables that show the tenant column are checked too.
        assert!(checks >= protected.len(), "{results:?}");
        assert!(
            results
                .iter()
                .filter(|(u, _)| u.contains(".rls_isolation_"))
                .all(|(_, s)| s == "pass"),
            "{results:?}"
        );
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        // The database first: it holds the roles' grants, default privileges and map rows.
        drop(self.db.take());
        let cleanup = TestDb::create("mfb_examples_cleanup");
        for role in self.roles.iter().chain(&self.extra_roles) {
            cleanup.batch_execute(&format!("drop role if exists \"{role}\""));
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if name == "target" || name == "logs" || name == "dbt_packages" {
                continue;
            }
            copy_tree(&entry.path(), &to.join(name));
        }
    } else {
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
}

/// Replaces `from` by `to` wherever it starts an identifier (the previous character is not
/// a letter, digit or `_`), and returns the new text with the renamed roles.
fn rename_roles(text: &str, from: &str, to: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut roles = Vec::new();
    let mut rest = text;
    let mut prev: Option<char> = None;
    while let Some(at) = rest.find(from) {
        let before = rest[..at].chars().next_back().or(prev);
        out.push_str(&rest[..at]);
        let tail = &rest[at + from.len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            out.push_str(from);
        } else {
            let suffix: String = tail
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            out.push_str(to);
            let role = format!("{to}{suffix}");
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
        prev = from.chars().next_back();
        rest = tail;
    }
    out.push_str(rest);
    (out, roles)
}

/// `(visible rows, rows of another tenant)` of `table` for `role`, given the tenant column
/// and the role's tenant id as a SQL literal.
fn visible(p: &Project, role: &str, table: &str, column: &str, id: &str) -> (String, String) {
    visible_with(p, role, "", table, column, id)
}

/// [`visible`] after running `setup` as the role (e.g. the session setting an app sets).
fn visible_with(
    p: &Project,
    role: &str,
    setup: &str,
    table: &str,
    column: &str,
    id: &str,
) -> (String, String) {
    let sql = format!(
        "select count(*)::text, count(*) filter (where {column} <> {id})::text from {table}"
    );
    let text = p
        .as_role(role, setup, &sql)
        .unwrap_or_else(|e| panic!("as {role}: {sql}: {e}"));
    let (a, b) = text.split_once('|').unwrap();
    (a.to_owned(), b.to_owned())
}

#[test]
fn rename_roles_touches_only_role_names() {
    let (text, roles) = rename_roles(
        "admin_roles: [wl_admin]\nroles: [wl_co, wl_nc] # $MFB_WL_CO_PASSWORD owl_x\n",
        "wl_",
        "u1_",
    );
    assert_eq!(
        text,
        "admin_roles: [u1_admin]\nroles: [u1_co, u1_nc] # $MFB_WL_CO_PASSWORD owl_x\n"
    );
    assert_eq!(roles, ["u1_admin", "u1_co", "u1_nc"]);
}

/// The root project: screening analytics for five white labels, every mart protected by
/// `+rls` in dbt_project.yml, plus the `create_rls_user` operation.
#[test]
fn demo_project_builds_with_white_label_rls() {
    let mut p = Project::copy(
        &repo_root(),
        &[
            "dbt_project.yml",
            "profiles.yml",
            "tenants.yml",
            "models",
            "macros",
            "seeds",
            "tests",
            "analyses",
        ],
        "wl_",
        "ex_demo",
    );
    p.ok(&["tenants", "provision"]);
    let text = p.ok(&["build"]);
    // 133 nodes and one isolation check per mart.
    assert!(text.contains("PASS=140 WARN=0 ERROR=0"), "{text}");
    let marts = [
        "dim_programs",
        "dim_white_labels",
        "fct_eligibility_runs",
        "fct_program_eligibility",
        "fct_screens",
        "mart_program_value_by_county",
        "mart_screener_funnel",
    ];
    p.assert_all_passed("mfb", &marts);
    for mart in marts {
        assert_eq!(
            p.one(&format!(
                "select relrowsecurity::text from pg_class where oid = 'analytics_marts.{mart}'::regclass"
            )),
            "true",
            "{mart}"
        );
    }

    // Each white label's role sees exactly its screens; a SET cannot change that.
    let total: i64 = p
        .one("select count(*)::text from analytics_marts.fct_screens")
        .parse()
        .unwrap();
    let mut seen = 0;
    for (id, code) in ["co", "nc", "tx", "ma", "il"].iter().enumerate() {
        let id = (id + 1).to_string();
        let own = p.one(&format!(
            "select count(*)::text from analytics_marts.fct_screens where white_label_id = {id}"
        ));
        assert_ne!(own, "0", "white label {code} has screens in the seeds");
        let role = p.role(code);
        assert_eq!(
            visible(
                &p,
                &role,
                "analytics_marts.fct_screens",
                "white_label_id",
                &id
            ),
            (own.clone(), "0".into()),
            "{role}"
        );
        let spoofed = p
            .as_role(
                &role,
                "set app.white_label_id = '99'",
                "select count(*)::text from analytics_marts.fct_screens",
            )
            .unwrap();
        assert_eq!(spoofed, own, "role_map ignores the session setting");
        seen += own.parse::<i64>().unwrap();
    }
    assert_eq!(seen, total);
    assert_eq!(
        p.read_as(
            &p.role("admin"),
            "select count(*)::text from analytics_marts.fct_screens"
        ),
        total.to_string()
    );

    // create_rls_user: a login role for one white label, through run-operation, that keeps
    // reading after the mart is rebuilt (default privileges) and sees only its rows.
    let analyst = format!("{}_analyst", p.prefix);
    p.extra_roles.push(analyst.clone());
    let args = format!("{{white_label: tx, user: {analyst}}}");
    let text = p.ok(&["run-operation", "create_rls_user", "--args", &args]);
    assert!(text.contains("reads white label tx (id 3)"), "{text}");
    let own_tx =
        p.one("select count(*)::text from analytics_marts.fct_screens where white_label_id = 3");
    assert_eq!(
        visible(
            &p,
            &analyst,
            "analytics_marts.fct_screens",
            "white_label_id",
            "3"
        ),
        (own_tx.clone(), "0".into())
    );
    assert_eq!(
        p.one(&format!(
            "select rolcanlogin::text from pg_roles where rolname = '{analyst}'"
        )),
        "true"
    );
    p.ok(&["run", "--select", "fct_screens"]);
    assert_eq!(
        visible(
            &p,
            &analyst,
            "analytics_marts.fct_screens",
            "white_label_id",
            "3"
        ),
        (own_tx, "0".into())
    );
    // Running it again updates the role instead of failing; an unknown label is an error.
    p.ok(&["run-operation", "create_rls_user", "--args", &args]);
    let (code, text) = p.mfb(&[
        "run-operation",
        "create_rls_user",
        "--args",
        &format!("{{white_label: zz, user: {analyst}}}"),
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("no white label 'zz'"), "{text}");
}

/// SaaS usage events: an incremental fact table that keeps its policy across runs, a
/// tenant dimension, and daily metrics as a materialized view tenants cannot read.
#[test]
fn saas_events_incremental_marts_stay_isolated() {
    let p = Project::copy(
        &repo_root().join("examples/saas_events"),
        &[
            "dbt_project.yml",
            "profiles.yml",
            "tenants.yml",
            "models",
            "macros",
            "seeds",
            "tests",
        ],
        "dash_",
        "ex_saas",
    );
    p.ok(&["tenants", "provision"]);
    // First load: the events of the first week only.
    p.ok(&["build", "--vars", "{events_until: '2024-03-08'}"]);
    p.assert_all_passed("saas_events", &["dim_tenants", "fct_events"]);
    assert_eq!(
        p.one("select count(*)::text from saas_marts.fct_events"),
        "84"
    );
    // Then the rest, incrementally: the table is not rebuilt (same oid), the rows are added.
    let oid = p.one("select 'saas_marts.fct_events'::regclass::oid::text");
    p.ok(&["build"]);
    p.assert_all_passed("saas_events", &["dim_tenants", "fct_events"]);
    assert_eq!(
        p.one("select 'saas_marts.fct_events'::regclass::oid::text"),
        oid
    );
    assert_eq!(
        p.one("select count(*)::text from saas_marts.fct_events"),
        "175"
    );
    assert_eq!(
        p.one("select count(*)::text from saas_marts.fct_events where tenant_id = 4"),
        "0",
        "tenant_filter drops the internal account"
    );

    for (code, id, events) in [
        ("acme", "1", "71"),
        ("globex", "2", "45"),
        ("initech", "3", "59"),
    ] {
        let role = p.role(code);
        assert_eq!(
            visible(&p, &role, "saas_marts.fct_events", "tenant_id", id),
            (events.into(), "0".into()),
            "{role}"
        );
        assert_eq!(
            visible(&p, &role, "saas_marts.dim_tenants", "tenant_id", id),
            ("1".into(), "0".into())
        );
        // The materialized view has every tenant's rows and no RLS: tenants cannot read it.
        let denied = p
            .as_role(
                &role,
                "",
                "select count(*) from saas_internal.daily_metrics",
            )
            .unwrap_err();
        assert!(denied.contains("permission denied"), "{denied}");
    }
    assert_eq!(
        p.one("select count(*)::text from pg_matviews where schemaname = 'saas_internal' and matviewname = 'daily_metrics'"),
        "1"
    );
    assert_eq!(
        p.one("select sum(events)::text from saas_internal.daily_metrics"),
        "175",
        "refreshed by the second build"
    );
}

/// Orders keyed by a text tenant key; soft-deleted and inactive rows are kept in the marts
/// and hidden from merchants by the policy's additional filters.
#[test]
fn orders_soft_delete_hides_deleted_and_inactive_rows() {
    let p = Project::copy(
        &repo_root().join("examples/orders_soft_delete"),
        &[
            "dbt_project.yml",
            "profiles.yml",
            "tenants.yml",
            "models",
            "seeds",
            "tests",
        ],
        "merchant_",
        "ex_orders",
    );
    p.ok(&["tenants", "provision"]);
    p.ok(&["build"]);
    p.assert_all_passed("orders_soft_delete", &["customers", "orders"]);
    assert_eq!(p.one("select count(*)::text from shop_marts.orders"), "54");
    assert_eq!(
        p.one("select coalesce(array_to_string(reloptions, ','), '') from pg_class where oid = 'shop_marts.customer_order_totals'::regclass"),
        "security_invoker=true"
    );

    for (key, orders) in [("acme", "11"), ("globex", "17"), ("umbrella", "11")] {
        let role = p.role(key);
        let lit = format!("'{key}'");
        // A login as the role starts with its setting (provisioned); `set role` does not
        // apply it, so set it as the merchant API does on its connections.
        assert_eq!(
            p.one(&format!(
                "select array_to_string(setconfig, ',') from pg_db_role_setting s join pg_roles r on r.oid = s.setrole where r.rolname = '{role}'"
            )),
            format!("app.tenant_key={key}")
        );
        let setup = format!("set app.tenant_key = {lit}");
        assert_eq!(
            visible_with(&p, &role, &setup, "shop_marts.orders", "tenant_key", &lit),
            (orders.into(), "0".into()),
            "{role}"
        );
        let as_merchant = |sql: &str| p.as_role(&role, &setup, sql).unwrap();
        assert_eq!(
            as_merchant(
                "select count(*) filter (where deleted_at is not null or not is_active)::text from shop_marts.orders"
            ),
            "0"
        );
        assert_eq!(
            visible_with(
                &p,
                &role,
                &setup,
                "shop_marts.customers",
                "tenant_key",
                &lit
            ),
            ("4".into(), "0".into())
        );
        // Through the security_invoker view: its own live customers, with their live
        // orders (both policies apply, as if the merchant had written the join).
        let live = p.one(&format!(
            "select count(*)::text from shop_marts.orders o join shop_marts.customers c using (customer_id) \
             where o.tenant_key = {lit} and o.deleted_at is null and o.is_active \
             and c.deleted_at is null and c.is_active"
        ));
        assert_eq!(
            as_merchant(
                "select count(*)::text || '|' || sum(orders)::text from shop_marts.customer_order_totals"
            ),
            format!("4|{live}")
        );
        // No setting, no rows.
        assert_eq!(
            visible(&p, &role, "shop_marts.orders", "tenant_key", &lit),
            ("0".into(), "0".into())
        );
    }
    // Admins see every row, deleted and inactive ones included.
    assert_eq!(
        p.read_as(
            &p.role("support"),
            "select count(*)::text from shop_marts.orders"
        ),
        "54"
    );
    // session_setting mode trusts the session: a role that can run SQL can change the
    // setting (the README says when that is acceptable).
    assert_eq!(
        p.as_role(
            &p.role("acme"),
            "set app.tenant_key = 'globex'",
            "select count(*)::text from shop_marts.orders where tenant_key = 'globex'"
        )
        .unwrap(),
        "17"
    );
}

/// Schema per tenant: the same models built once per tenant with `--vars '{tenant: ..}'`
/// into `tenant_<id>`, readable by that tenant's role only.
#[test]
fn schema_per_tenant_builds_one_schema_per_tenant() {
    let p = Project::copy(
        &repo_root().join("examples/schema_per_tenant"),
        &[
            "dbt_project.yml",
            "profiles.yml",
            "tenants.yml",
            "models",
            "macros",
            "seeds",
            "tests",
        ],
        "spt_",
        "ex_spt",
    );
    p.ok(&["tenants", "provision"]);
    p.ok(&["seed"]);
    for tenant in ["co", "nc", "tx"] {
        let vars = format!("{{tenant: {tenant}}}");
        p.ok(&["build", "--vars", &vars]);
        p.assert_all_passed("schema_per_tenant", &[]);
    }
    // A rebuild replaces the tables; the tenant keeps reading (default privileges).
    p.ok(&["run", "--vars", "{tenant: co}"]);

    for (tenant, tickets) in [("co", "14"), ("nc", "10"), ("tx", "12")] {
        assert_eq!(
            p.one(&format!(
                "select count(*)::text || '|' || count(*) filter (where tenant <> '{tenant}')::text from tenant_{tenant}.fct_tickets"
            )),
            format!("{tickets}|0")
        );
        let role = p.role(tenant);
        assert_eq!(
            p.read_as(
                &role,
                &format!("select count(*)::text from tenant_{tenant}.fct_tickets")
            ),
            tickets
        );
        let other = if tenant == "co" { "nc" } else { "co" };
        let denied = p
            .as_role(
                &role,
                "",
                &format!("select count(*) from tenant_{other}.fct_tickets"),
            )
            .unwrap_err();
        assert!(denied.contains("permission denied"), "{denied}");
        // The shared raw schema is not theirs either.
        assert!(
            p.as_role(&role, "", "select count(*) from support_raw.raw_tickets")
                .is_err()
        );
    }
    let (code, text) = p.mfb(&["run", "--vars", "{tenant: zz}"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("unknown tenant 'zz'"), "{text}");
}
