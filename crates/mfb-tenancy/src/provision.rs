//! `mfb tenants provision`: make the database match tenants.yml, idempotently.
//!
//! [`plan_provision`] reads the current state (roles, their passwords and settings, mfb's
//! tenancy objects, the role map, schema privileges, default privileges) and returns only
//! the statements that change something, so a second run plans nothing.
//! [`apply_provision`] runs a plan in one transaction. Passwords come from environment
//! variables named in tenants.yml and are sent as SCRAM verifiers, never as plaintext;
//! printed SQL shows `password '***'`.

use std::collections::{HashMap, HashSet};

use mfb_diagnostics::Diagnostic;
use mfb_postgres::{Connection, PgError, Table, quote_ident, quote_literal};

use crate::error::TenancyError;
use crate::policy::{
    CURRENT_TENANT_BODY, CURRENT_TENANT_FUNCTION, ROLE_MAP_POLICY, ROLE_MAP_TABLE, role_map_table,
    support_statements,
};
use crate::registry::{Registry, RoleSpec};
use crate::scram;

/// What the caller knows that tenants.yml does not say.
#[derive(Debug, Clone, Default)]
pub struct ProvisionOptions {
    /// Schemas tenants read when tenants.yml lists none (`settings.schemas`): usually the
    /// profile target's schema.
    pub default_schemas: Vec<String>,
}

/// One change: what it does and its SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionStep {
    /// One line for humans: `create role tenant_co (login)`.
    pub what: String,
    /// The statement(s) to run.
    pub sql: String,
    /// `sql` with secrets replaced by `***`, for printing.
    pub shown: String,
}

/// The changes that bring the database in line with tenants.yml.
#[derive(Debug, Clone, Default)]
pub struct ProvisionPlan {
    /// In the order they must run.
    pub steps: Vec<ProvisionStep>,
    /// Missing password variables, passwords that could not be compared, ...
    pub warnings: Vec<Diagnostic>,
}

impl ProvisionPlan {
    /// True when the database already matches.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The SQL of every step, secrets hidden, one statement per line ending in `;`.
    pub fn script(&self) -> String {
        self.steps
            .iter()
            .map(|s| format!("-- {}\n{};\n", s.what, s.shown))
            .collect()
    }

    fn push(&mut self, what: impl Into<String>, sql: impl Into<String>) {
        let sql = sql.into();
        self.steps.push(ProvisionStep {
            what: what.into(),
            shown: sql.clone(),
            sql,
        });
    }
}

fn text_array(items: &[String]) -> String {
    if items.is_empty() {
        return "array[]::text[]".to_owned();
    }
    format!(
        "array[{}]::text[]",
        items
            .iter()
            .map(|s| quote_literal(s))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn cell_text(table: &Table, row: usize, col: usize) -> Option<String> {
    table.rows.get(row)?.get(col)?.as_text()
}

fn rows_text(table: &Table) -> Vec<Vec<Option<String>>> {
    (0..table.rows.len())
        .map(|r| {
            (0..table.columns.len())
                .map(|c| cell_text(table, r, c))
                .collect()
        })
        .collect()
}

fn truthy(v: &Option<String>) -> bool {
    v.as_deref() == Some("true")
}

/// Reads the database's state and returns the statements that make it match `registry`.
/// `env` looks up environment variables (`|k| std::env::var(k).ok()`).
pub async fn plan_provision(
    conn: &Connection,
    registry: &Registry,
    options: &ProvisionOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ProvisionPlan, TenancyError> {
    let mut plan = ProvisionPlan::default();
    let settings = &registry.settings;
    let schema = &settings.schema;

    let me = conn
        .fetch("select current_user::text, (select rolsuper from pg_catalog.pg_roles where rolname = current_user)")
        .await?;
    let superuser = cell_text(&me, 0, 1).as_deref() == Some("true");

    // Every role mfb manages: tenant roles (login) and admin roles.
    let mut roles: Vec<&RoleSpec> = registry.tenant_roles().map(|(_, r)| r).collect();
    roles.extend(registry.admin_roles.iter());
    let names: Vec<String> = roles.iter().map(|r| r.name.clone()).collect();
    let names_sql = text_array(&names);

    let existing: HashMap<String, bool> = rows_text(
        &conn
            .fetch(&format!(
                "select rolname::text, rolcanlogin from pg_catalog.pg_roles where rolname::text = any({names_sql})"
            ))
            .await?,
    )
    .into_iter()
    .filter_map(|r| Some((r[0].clone()?, truthy(&r[1]))))
    .collect();

    // pg_authid is readable by superusers only; without it passwords cannot be compared.
    let passwords: Option<HashMap<String, Option<String>>> = match conn
        .fetch(&format!(
            "select rolname::text, rolpassword from pg_catalog.pg_authid where rolname::text = any({names_sql})"
        ))
        .await
    {
        Ok(t) => Some(
            rows_text(&t)
                .into_iter()
                .filter_map(|r| Some((r[0].clone()?, r[1].clone())))
                .collect(),
        ),
        Err(PgError::Statement(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let mut warned_unreadable = false;

    for role in &roles {
        let name = quote_ident(&role.name);
        let password = env(&role.password_env).filter(|p| !p.is_empty());
        if let Some(p) = &password
            && !p.is_ascii()
        {
            return Err(TenancyError::Provision {
                message: format!(
                    "the password in ${} (role `{}`) contains non-ASCII characters",
                    role.password_env, role.name
                ),
                help: "use an ASCII password (letters, digits, punctuation)".into(),
            });
        }
        let verifier = match &password {
            Some(p) => Some(scram::verifier(p).map_err(|m| TenancyError::Provision {
                message: format!("cannot hash the password of `{}`: {m}", role.name),
                help: "retry; if it persists, report it".into(),
            })?),
            None => None,
        };
        if password.is_none() && role.login {
            plan.warnings.push(
                Diagnostic::warning(
                    "tenant-password-missing",
                    format!(
                        "${} is not set: role `{}` {}",
                        role.password_env,
                        role.name,
                        if existing.contains_key(&role.name) {
                            "keeps its current password"
                        } else {
                            "is created without a password and cannot log in with one"
                        }
                    ),
                )
                .with_help(format!(
                    "export {}=... and run `mfb tenants provision` again",
                    role.password_env
                )),
            );
        }
        match existing.get(&role.name) {
            None => {
                let login = if role.login { "login" } else { "nologin" };
                let (sql, shown) = match &verifier {
                    Some(v) => (
                        format!("create role {name} {login} password {}", quote_literal(v)),
                        format!("create role {name} {login} password '***'"),
                    ),
                    None => (
                        format!("create role {name} {login}"),
                        format!("create role {name} {login}"),
                    ),
                };
                plan.steps.push(ProvisionStep {
                    what: format!("create role {} ({login})", role.name),
                    sql,
                    shown,
                });
            }
            Some(can_login) => {
                if role.login && !can_login {
                    plan.push(
                        format!("let role {} log in", role.name),
                        format!("alter role {name} login"),
                    );
                }
                if let (Some(p), Some(v)) = (&password, &verifier) {
                    let same = match &passwords {
                        Some(stored) => stored
                            .get(&role.name)
                            .and_then(Option::as_deref)
                            .is_some_and(|s| scram::matches(p, s)),
                        None => {
                            if !warned_unreadable {
                                warned_unreadable = true;
                                plan.warnings.push(
                                    Diagnostic::warning(
                                        "tenant-password-unverified",
                                        "cannot read pg_authid to compare passwords: the passwords of existing roles are left unchanged",
                                    )
                                    .with_help("run `mfb tenants provision` as a superuser to update passwords, or `alter role ... password` by hand"),
                                );
                            }
                            true
                        }
                    };
                    if !same {
                        plan.steps.push(ProvisionStep {
                            what: format!(
                                "set the password of {} from ${}",
                                role.name, role.password_env
                            ),
                            sql: format!("alter role {name} password {}", quote_literal(v)),
                            shown: format!("alter role {name} password '***'"),
                        });
                    }
                }
            }
        }
    }

    // Per-role session setting (read by session_setting mode; harmless under role_map).
    let setting_rows = rows_text(
        &conn
            .fetch(&format!(
                "select r.rolname::text, c from pg_catalog.pg_db_role_setting s \
                 join pg_catalog.pg_roles r on r.oid = s.setrole, pg_catalog.unnest(s.setconfig) c \
                 where s.setdatabase = 0 and r.rolname::text = any({names_sql})"
            ))
            .await?,
    );
    let mut current_setting: HashMap<String, String> = HashMap::new();
    for r in setting_rows {
        if let (Some(role), Some(entry)) = (&r[0], &r[1])
            && let Some((k, v)) = entry.split_once('=')
            && k.eq_ignore_ascii_case(&settings.setting)
        {
            current_setting.insert(role.clone(), v.to_owned());
        }
    }
    for (tenant, role) in registry.tenant_roles() {
        if current_setting.get(&role.name) != Some(&tenant.id) {
            plan.push(
                format!("role {}: {} = {}", role.name, settings.setting, tenant.id),
                format!(
                    "alter role {} set {} = {}",
                    quote_ident(&role.name),
                    settings.setting,
                    quote_literal(&tenant.id)
                ),
            );
        }
    }

    // A non-superuser provisioner joins each role so isolation checks can `set role` to it.
    if !superuser && !names.is_empty() {
        let members = rows_text(
            &conn
                .fetch(&format!(
                    "select r from pg_catalog.unnest({names_sql}) r \
                     where case when exists (select from pg_catalog.pg_roles where rolname::text = r) \
                           then pg_catalog.pg_has_role(current_user, r, 'MEMBER') else false end"
                ))
                .await?,
        );
        let members: HashSet<String> = members.into_iter().filter_map(|r| r[0].clone()).collect();
        let missing: Vec<String> = names
            .iter()
            .filter(|n| !members.contains(*n))
            .map(|n| quote_ident(n))
            .collect();
        if !missing.is_empty() {
            plan.push(
                "make the current user a member of the tenant and admin roles (for isolation checks)",
                format!("grant {} to current_user", missing.join(", ")),
            );
        }
    }

    // mfb's tenancy objects: the function and the role map.
    let s_lit = quote_literal(schema);
    let map = role_map_table(schema);
    let map_lit = quote_literal(&map);
    let support = conn
        .fetch(&format!(
            "select \
               exists (select from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace \
                       where n.nspname = {s_lit} and p.proname = {fn_lit} and p.pronargs = 1 \
                         and p.prosrc = {body_lit} and p.provolatile = 's'), \
               exists (select from pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a \
                       where n.nspname = {s_lit} and a.grantee = 0 and a.privilege_type = 'USAGE'), \
               pg_catalog.to_regclass({map_lit}) is not null, \
               coalesce((select relrowsecurity from pg_catalog.pg_class where oid = pg_catalog.to_regclass({map_lit})), false), \
               exists (select from pg_catalog.pg_policy where polrelid = pg_catalog.to_regclass({map_lit}) and polname = {pol_lit}), \
               exists (select from pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a \
                       where c.oid = pg_catalog.to_regclass({map_lit}) and a.grantee = 0 and a.privilege_type = 'SELECT')",
            fn_lit = quote_literal(CURRENT_TENANT_FUNCTION),
            body_lit = quote_literal(CURRENT_TENANT_BODY),
            pol_lit = quote_literal(ROLE_MAP_POLICY),
        ))
        .await?;
    let support_row = rows_text(&support).pop().unwrap_or_default();
    let map_exists = support_row.get(2).is_some_and(truthy);
    if !support_row.iter().all(truthy) {
        plan.push(
            format!(
                "create mfb's tenancy objects in schema {schema} ({CURRENT_TENANT_FUNCTION}(), {ROLE_MAP_TABLE})"
            ),
            support_statements(settings)[1..].join(";\n"),
        );
    }

    // The role map's rows.
    let current_map: HashMap<String, String> = if map_exists {
        rows_text(
            &conn
                .fetch(&format!("select role_name::text, tenant_id from {map}"))
                .await?,
        )
        .into_iter()
        .filter_map(|r| Some((r[0].clone()?, r[1].clone()?)))
        .collect()
    } else {
        HashMap::new()
    };
    let wanted: Vec<(String, String)> = registry
        .tenant_roles()
        .map(|(t, r)| (r.name.clone(), t.id.clone()))
        .collect();
    let upserts: Vec<String> = wanted
        .iter()
        .filter(|(role, id)| current_map.get(role) != Some(id))
        .map(|(role, id)| format!("({}, {})", quote_literal(role), quote_literal(id)))
        .collect();
    if !upserts.is_empty() {
        plan.push(
            format!(
                "map {} role(s) to their tenant in {ROLE_MAP_TABLE}",
                upserts.len()
            ),
            format!(
                "insert into {map} (role_name, tenant_id) values {} \
                 on conflict (role_name) do update set tenant_id = excluded.tenant_id",
                upserts.join(", ")
            ),
        );
    }
    let wanted_roles: HashSet<&str> = wanted.iter().map(|(r, _)| r.as_str()).collect();
    let mut stale: Vec<String> = current_map
        .keys()
        .filter(|r| !wanted_roles.contains(r.as_str()))
        .cloned()
        .collect();
    stale.sort();
    if !stale.is_empty() {
        plan.push(
            format!(
                "remove {} role(s) no longer in tenants.yml from {ROLE_MAP_TABLE}: {}",
                stale.len(),
                stale.join(", ")
            ),
            format!(
                "delete from {map} where role_name::text = any({})",
                text_array(&stale)
            ),
        );
    }

    // Schemas tenants read: usage, and SELECT on future tables.
    let shared: Vec<String> = if settings.schemas.is_empty() {
        options.default_schemas.clone()
    } else {
        settings.schemas.clone()
    };
    let admins = registry.admin_role_names();
    let mut pairs: Vec<(String, String)> = Vec::new(); // (schema, role)
    for s in &shared {
        for n in &names {
            pairs.push((s.clone(), n.clone()));
        }
    }
    for tenant in &registry.tenants {
        if let Some(s) = registry.tenant_schema(tenant) {
            for r in tenant.roles.iter().map(|r| &r.name).chain(&admins) {
                pairs.push((s.clone(), r.clone()));
            }
        }
    }
    let mut schemas: Vec<String> = pairs.iter().map(|(s, _)| s.clone()).collect();
    schemas.dedup();
    let mut seen = HashSet::new();
    schemas.retain(|s| seen.insert(s.clone()));
    if !pairs.is_empty() {
        let existing_schemas: HashSet<String> = rows_text(
            &conn
                .fetch(&format!(
                    "select nspname::text from pg_catalog.pg_namespace where nspname::text = any({})",
                    text_array(&schemas)
                ))
                .await?,
        )
        .into_iter()
        .filter_map(|r| r[0].clone())
        .collect();
        for s in &schemas {
            if !existing_schemas.contains(s) {
                plan.push(
                    format!("create schema {s}"),
                    format!("create schema if not exists {}", quote_ident(s)),
                );
            }
        }
        let s_arr = text_array(&pairs.iter().map(|p| p.0.clone()).collect::<Vec<_>>());
        let r_arr = text_array(&pairs.iter().map(|p| p.1.clone()).collect::<Vec<_>>());
        let usage_ok: HashSet<(String, String)> = rows_text(
            &conn
                .fetch(&format!(
                    "select x.s, x.r from unnest({s_arr}, {r_arr}) x(s, r) \
                     where case when exists (select from pg_catalog.pg_roles where rolname::text = x.r) \
                                 and exists (select from pg_catalog.pg_namespace where nspname::text = x.s) \
                           then pg_catalog.has_schema_privilege(x.r, x.s, 'USAGE') else false end"
                ))
                .await?,
        )
        .into_iter()
        .filter_map(|r| Some((r[0].clone()?, r[1].clone()?)))
        .collect();
        let defaults_ok: HashSet<(String, String)> = rows_text(
            &conn
                .fetch(&format!(
                    "select x.s, x.r from unnest({s_arr}, {r_arr}) x(s, r) \
                     where exists (select from pg_catalog.pg_default_acl d \
                                   join pg_catalog.pg_namespace n on n.oid = d.defaclnamespace, \
                                   pg_catalog.aclexplode(d.defaclacl) a \
                                   where d.defaclrole = (select oid from pg_catalog.pg_roles where rolname = current_user) \
                                     and n.nspname::text = x.s and d.defaclobjtype = 'r' \
                                     and a.grantee = (select oid from pg_catalog.pg_roles where rolname::text = x.r) \
                                     and a.privilege_type = 'SELECT')"
                ))
                .await?,
        )
        .into_iter()
        .filter_map(|r| Some((r[0].clone()?, r[1].clone()?)))
        .collect();
        for s in &schemas {
            let need = |ok: &HashSet<(String, String)>| -> Vec<String> {
                pairs
                    .iter()
                    .filter(|(ps, r)| ps == s && !ok.contains(&(ps.clone(), r.clone())))
                    .map(|(_, r)| quote_ident(r))
                    .collect()
            };
            let usage = need(&usage_ok);
            if !usage.is_empty() {
                plan.push(
                    format!("usage on schema {s} for {} role(s)", usage.len()),
                    format!(
                        "grant usage on schema {} to {}",
                        quote_ident(s),
                        usage.join(", ")
                    ),
                );
            }
            if settings.default_privileges {
                let defaults = need(&defaults_ok);
                if !defaults.is_empty() {
                    plan.push(
                        format!(
                            "select on future tables in schema {s} for {} role(s)",
                            defaults.len()
                        ),
                        format!(
                            "alter default privileges in schema {} grant select on tables to {}",
                            quote_ident(s),
                            defaults.join(", ")
                        ),
                    );
                }
            }
        }
    }
    Ok(plan)
}

/// Runs every step of `plan` in one transaction: all or nothing.
pub async fn apply_provision(
    conn: &mut Connection,
    plan: &ProvisionPlan,
) -> Result<(), TenancyError> {
    if plan.is_empty() {
        return Ok(());
    }
    let tx = conn.begin().await?;
    for step in &plan.steps {
        tx.execute(&step.sql).await?;
    }
    tx.commit().await?;
    Ok(())
}
