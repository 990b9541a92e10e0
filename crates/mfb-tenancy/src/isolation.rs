//! Isolation checks: prove on the live database that a protected relation shows each
//! tenant role exactly its tenant's rows.
//!
//! [`check_isolation`] runs, in one transaction that is always rolled back:
//!
//! - for every tenant role: `set local role`, the role's own session setting (as its
//!   login would have it), count the visible rows and the visible rows of other tenants;
//!   pass when the count equals the owner's count `where tenant_col = id` (additional
//!   filters applied) and no other tenant's row shows;
//! - under `role_map`: the same role with the setting set to another tenant's id sees
//!   the same rows (a `SET` cannot spoof the tenant);
//! - a throwaway role with no tenant (created and dropped with the rollback) sees 0 rows;
//! - every admin role sees every row.
//!
//! Each check runs under a savepoint, so a failing one (a missing grant, a missing role)
//! becomes a failed [`CheckResult`] saying what to do, and the rest still run.

use std::collections::HashMap;

use mfb_postgres::{Connection, PgError, Relation, Transaction, quote_ident, quote_literal};

use crate::config::{RlsConfig, RlsMode};
use crate::error::TenancyError;
use crate::policy::effective_setting;
use crate::registry::Registry;

/// Which property a check proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// A tenant role sees exactly its tenant's rows.
    TenantRows,
    /// Under `role_map`, setting the session setting to another tenant changes nothing.
    SettingSpoof,
    /// A role with no tenant sees no rows.
    NoTenant,
    /// An admin role sees every row.
    AdminRows,
}

impl CheckKind {
    /// A short name for test ids: `tenant_rows`, `setting_spoof`, `no_tenant`, `admin_rows`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::TenantRows => "tenant_rows",
            CheckKind::SettingSpoof => "setting_spoof",
            CheckKind::NoTenant => "no_tenant",
            CheckKind::AdminRows => "admin_rows",
        }
    }
}

/// The outcome of one check, with the numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// The relation checked (`"schema"."name"`).
    pub relation: String,
    /// What was checked.
    pub kind: CheckKind,
    /// The role the rows were counted as.
    pub role: String,
    /// The tenant of that role, if any.
    pub tenant: Option<String>,
    /// Rows the role saw.
    pub visible: u64,
    /// Rows it should have seen.
    pub expected: u64,
    /// Visible rows whose tenant column is not the role's tenant.
    pub foreign_rows: u64,
    /// True when the check holds.
    pub passed: bool,
    /// One line with the numbers, e.g. `tenant 1 as tenant_co sees 2000 rows; the owner counts 2000`.
    pub message: String,
    /// What to do when it failed.
    pub help: Option<String>,
}

struct Probe<'a> {
    rel: &'a str,
    col: &'a str,
    setting: &'a str,
    owner: &'a str,
}

async fn count_as(
    tx: &Transaction<'_>,
    p: &Probe<'_>,
    role: &str,
    setting_value: &str,
    tenant: Option<&str>,
) -> Result<(u64, u64), PgError> {
    tx.execute(&format!("set local role {}", quote_ident(role)))
        .await?;
    tx.execute(&format!(
        "select pg_catalog.set_config({}, {}, true)",
        quote_literal(p.setting),
        quote_literal(setting_value)
    ))
    .await?;
    let foreign = match tenant {
        Some(id) => format!(
            "count(*) filter (where {}::text is distinct from {})",
            p.col,
            quote_literal(id)
        ),
        None => "0::bigint".to_owned(),
    };
    let t = tx
        .fetch(&format!("select count(*), {foreign} from {}", p.rel))
        .await?;
    tx.execute(&format!("set local role {}", quote_ident(p.owner)))
        .await?;
    let num = |i: usize| {
        t.rows
            .first()
            .and_then(|r| r.get(i))
            .and_then(|c| c.as_text())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    Ok((num(0), num(1)))
}

/// Runs `count_as` under a savepoint: an error becomes `Err(message)` and the transaction
/// stays usable.
async fn guarded(
    tx: &Transaction<'_>,
    p: &Probe<'_>,
    role: &str,
    setting_value: &str,
    tenant: Option<&str>,
) -> Result<Result<(u64, u64), String>, PgError> {
    tx.execute("savepoint mfb_isolation_check").await?;
    match count_as(tx, p, role, setting_value, tenant).await {
        Ok(n) => {
            tx.execute("release savepoint mfb_isolation_check").await?;
            Ok(Ok(n))
        }
        Err(e) => {
            tx.execute("rollback to savepoint mfb_isolation_check")
                .await?;
            Ok(Err(e.to_string()))
        }
    }
}

fn first_num(t: &mfb_postgres::Table) -> u64 {
    t.rows
        .first()
        .and_then(|r| r.first())
        .and_then(|c| c.as_text())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Checks `relation` (protected with `cfg`) as every role in `registry`, as a role with no
/// tenant and as each admin role. The connection's role must own the relation (or bypass
/// RLS) and be able to `set role` to the registry's roles (`mfb tenants provision` sees to
/// that) and to create a role (the no-tenant probe). Nothing is left behind: the
/// transaction is rolled back.
pub async fn check_isolation(
    conn: &mut Connection,
    relation: &Relation,
    cfg: &RlsConfig,
    registry: &Registry,
) -> Result<Vec<CheckResult>, TenancyError> {
    let rel = relation.schema_qualified();
    let col = quote_ident(&cfg.tenant_column);
    let setting = effective_setting(cfg, Some(registry));
    // A view over a protected table (`cfg` is that table's config) is checked as tenants
    // read it: the table's filters may name columns the view lacks, and the owner's counts
    // through it bypass the table's policy, so what must hold is that no tenant sees
    // another's rows (and a role with no tenant sees none), not exact counts.
    let view = relation.kind == Some(mfb_postgres::RelationKind::View);
    let filters = if view || cfg.additional_filters.is_empty() {
        "true".to_owned()
    } else {
        cfg.additional_filters
            .iter()
            .map(|f| format!("({f})"))
            .collect::<Vec<_>>()
            .join(" and ")
    };
    let mut results = Vec::new();
    let result = |kind, role: &str, tenant: Option<&str>| CheckResult {
        relation: rel.clone(),
        kind,
        role: role.to_owned(),
        tenant: tenant.map(str::to_owned),
        visible: 0,
        expected: 0,
        foreign_rows: 0,
        passed: false,
        message: String::new(),
        help: None,
    };

    let tx = conn.begin().await?;
    let who = tx
        .fetch(&format!(
            "select current_user::text, \
                    (select rolsuper from pg_catalog.pg_roles where rolname = current_user), \
                    pg_catalog.row_security_active({}::regclass)",
            quote_literal(&rel)
        ))
        .await?;
    let cell = |i: usize| {
        who.rows
            .first()
            .and_then(|r| r.get(i))
            .and_then(|c| c.as_text())
            .unwrap_or_default()
    };
    let owner = cell(0);
    let superuser = cell(1) == "true";
    if cell(2) == "true" {
        let mut r = result(CheckKind::TenantRows, &owner, None);
        r.message = format!(
            "{rel}: row-level security filters the checking role `{owner}` itself (FORCE ROW LEVEL \
             SECURITY on a table it does not bypass), so the owner's counts cannot be trusted"
        );
        r.help = Some(format!(
            "run the checks as a superuser or a BYPASSRLS role, or list `{owner}` in admin_roles"
        ));
        results.push(r);
        return Ok(results);
    }
    let probe = Probe {
        rel: &rel,
        col: &col,
        setting: &setting,
        owner: &owner,
    };

    // The owner's view: rows per tenant (additional filters applied) and in total.
    let mut expected: HashMap<String, u64> = HashMap::new();
    let per_tenant = tx
        .fetch(&format!(
            "select {col}::text, count(*) from {rel} where {filters} group by 1"
        ))
        .await?;
    for row in &per_tenant.rows {
        if let (Some(id), Some(n)) = (row[0].as_text(), row[1].as_text()) {
            expected.insert(id, n.parse().unwrap_or(0));
        }
    }
    let total = first_num(&tx.fetch(&format!("select count(*) from {rel}")).await?);

    // Roles that exist, and the setting each would get at login (database-specific first).
    let mut names: Vec<String> = registry
        .tenant_roles()
        .map(|(_, r)| r.name.clone())
        .collect();
    names.extend(registry.admin_role_names());
    let names_sql = format!(
        "array[{}]::text[]",
        names
            .iter()
            .map(|n| quote_literal(n))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let existing: Vec<String> = tx
        .fetch(&format!(
            "select rolname::text from pg_catalog.pg_roles where rolname::text = any({names_sql})"
        ))
        .await?
        .rows
        .iter()
        .filter_map(|r| r[0].as_text())
        .collect();
    let mut login_setting: HashMap<String, String> = HashMap::new();
    let settings_rows = tx
        .fetch(&format!(
            "select r.rolname::text, c, s.setdatabase <> 0 from pg_catalog.pg_db_role_setting s \
             join pg_catalog.pg_roles r on r.oid = s.setrole, pg_catalog.unnest(s.setconfig) c \
             where r.rolname::text = any({names_sql}) and s.setdatabase in \
               (0, (select oid from pg_catalog.pg_database where datname = current_database())) \
             order by 3"
        ))
        .await?;
    for row in &settings_rows.rows {
        if let (Some(role), Some(entry)) = (row[0].as_text(), row[1].as_text())
            && let Some((k, v)) = entry.split_once('=')
            && k.eq_ignore_ascii_case(&setting)
        {
            // ordered global first, so a database-specific value wins
            login_setting.insert(role, v.to_owned());
        }
    }

    let missing_role_help = "run `mfb tenants provision` to create the roles in tenants.yml";
    for (tenant, role) in registry.tenant_roles() {
        let id = tenant.id.as_str();
        let mut r = result(CheckKind::TenantRows, &role.name, Some(id));
        r.expected = expected.get(id).copied().unwrap_or(0);
        if !existing.contains(&role.name) {
            r.message = format!("role `{}` (tenant {id}) does not exist", role.name);
            r.help = Some(missing_role_help.into());
            results.push(r);
            continue;
        }
        let value = match cfg.mode {
            RlsMode::RoleMap => String::new(),
            RlsMode::SessionSetting | RlsMode::Expression => match login_setting.get(&role.name) {
                Some(v) => v.clone(),
                None => {
                    r.message = format!(
                        "role `{}` (tenant {id}) has no `{setting}` setting: its logins see no rows",
                        role.name
                    );
                    r.help = Some(format!(
                        "run `mfb tenants provision` (it sets `alter role {} set {setting} = '{id}'`)",
                        role.name
                    ));
                    results.push(r);
                    continue;
                }
            },
        };
        match guarded(&tx, &probe, &role.name, &value, Some(id)).await? {
            Err(e) => {
                r.message = format!("tenant {id} as `{}`: {e}", role.name);
                r.help = Some(format!(
                    "grant the role SELECT on {rel} (policy_statements does) and usage on its schema"
                ));
            }
            Ok((visible, foreign)) => {
                r.visible = visible;
                r.foreign_rows = foreign;
                r.passed = foreign == 0
                    && if view {
                        visible <= r.expected
                    } else {
                        visible == r.expected
                    };
                r.message = format!(
                    "tenant {id} as `{}` sees {visible} rows ({foreign} of other tenants); the owner counts {} where {col} = {id}",
                    role.name, r.expected
                );
                if !r.passed {
                    r.help = Some("the policy does not isolate this tenant: check the rls config's mode and tenant_column, and that no other permissive policy applies".into());
                }
            }
        }
        let plain_visible = r.visible;
        let plain_ok = r.passed;
        results.push(r);

        if cfg.mode == RlsMode::RoleMap && plain_ok {
            let other = registry
                .tenants
                .iter()
                .map(|t| t.id.as_str())
                .find(|o| *o != id)
                .unwrap_or("mfb-no-such-tenant");
            let mut s = result(CheckKind::SettingSpoof, &role.name, Some(id));
            s.expected = plain_visible;
            match guarded(&tx, &probe, &role.name, other, Some(id)).await? {
                Err(e) => {
                    s.message = format!(
                        "tenant {id} as `{}` with {setting} = {other}: {e}",
                        role.name
                    )
                }
                Ok((visible, foreign)) => {
                    s.visible = visible;
                    s.foreign_rows = foreign;
                    s.passed = visible == plain_visible && foreign == 0;
                    s.message = format!(
                        "tenant {id} as `{}` with `set {setting} = '{other}'` sees {visible} rows ({foreign} of other tenants), as without it: {plain_visible}",
                        role.name
                    );
                }
            }
            results.push(s);
        }
    }

    // A role that belongs to no tenant, created inside this transaction (rolled back).
    let probe_role = format!(
        "mfb_probe_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let mut n = result(CheckKind::NoTenant, &probe_role, None);
    tx.execute("savepoint mfb_probe_role").await?;
    let schema_q = quote_ident(&relation.schema);
    let pr = quote_ident(&probe_role);
    let mut create = format!(
        "create role {pr} nologin; grant usage on schema {schema_q} to {pr}; grant select on {rel} to {pr}"
    );
    if !superuser {
        create.push_str(&format!("; grant {pr} to current_user"));
    }
    match tx.execute(&create).await {
        Err(e) => {
            tx.execute("rollback to savepoint mfb_probe_role").await?;
            n.message = format!("cannot create a role with no tenant to check with: {e}");
            n.help = Some("run the checks as a role with CREATEROLE".into());
        }
        Ok(_) => match guarded(&tx, &probe, &probe_role, "", None).await? {
            // Refused outright (a security_invoker view over tables it has no grant on):
            // it sees nothing, which is what the check asks.
            Err(e) if e.to_string().contains("SQLSTATE 42501") => {
                n.passed = true;
                n.message = format!("a role with no tenant is refused ({e}): it sees no rows");
            }
            Err(e) => n.message = format!("as a role with no tenant: {e}"),
            Ok((visible, _)) => {
                n.visible = visible;
                n.passed = visible == 0;
                n.message = format!("a role with no tenant sees {visible} rows (expected 0)");
                if !n.passed {
                    n.help = Some("the policy lets rows through when no tenant is set: check `additional_filters` and the expression".into());
                }
            }
        },
    }
    results.push(n);

    for admin in crate::policy::effective_admin_roles(cfg, Some(registry)) {
        let mut a = result(CheckKind::AdminRows, &admin, None);
        a.expected = total;
        if !existing.contains(&admin) && !admin_exists(&tx, &admin).await? {
            a.message = format!("admin role `{admin}` does not exist");
            a.help = Some(missing_role_help.into());
        } else {
            match guarded(&tx, &probe, &admin, "", None).await? {
                Err(e) => a.message = format!("as admin `{admin}`: {e}"),
                Ok((visible, _)) => {
                    a.visible = visible;
                    // Through a view, the owner's total includes rows the table's own
                    // filters hide from everyone: seeing fewer is not a leak.
                    a.passed = if view {
                        visible <= total
                    } else {
                        visible == total
                    };
                    a.message = format!("admin `{admin}` sees {visible} of {total} rows");
                }
            }
        }
        results.push(a);
    }
    tx.rollback().await?;
    Ok(results)
}

async fn admin_exists(tx: &Transaction<'_>, role: &str) -> Result<bool, PgError> {
    let t = tx
        .fetch(&format!(
            "select count(*) from pg_catalog.pg_roles where rolname::text = {}",
            quote_literal(role)
        ))
        .await?;
    Ok(first_num(&t) > 0)
}
