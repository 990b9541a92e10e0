//! RLS config + relation → SQL statements. Pure functions: nothing here connects.
//!
//! [`support_statements`] creates mfb's own objects once per database (the inlinable
//! `mfb_current_tenant()` function and the `mfb_tenant_roles` map); [`policy_statements`]
//! protects one relation (enable/force RLS, the tenant policy, the admin policy, the
//! tenant index, grants). Both are idempotent: on a freshly built relation and on an
//! existing one they leave the same state. Run the policy statements in the transaction
//! that builds the relation, before the swap commits, so no tenant ever sees the relation
//! without its policy.
//!
//! The tenant predicate never casts the column: the tenant value is cast to the column's
//! type, so `tenant_col = <value>` is an index condition. In `session_setting` mode the
//! value is `mfb_current_tenant('app.tenant_id')`, a STABLE SQL function the planner
//! inlines; in `role_map` mode it is a scalar sub-select on `current_user`, which the
//! planner runs once as an InitPlan.

use mfb_postgres::{Relation, RelationKind, quote_ident, quote_literal};

use crate::config::{DEFAULT_SETTING, RlsConfig, RlsMode};
use crate::error::TenancyError;
use crate::registry::{DEFAULT_TENANCY_SCHEMA, Registry, TenancySettings};

/// The name of the tenant policy mfb creates on each protected relation.
pub const POLICY_NAME: &str = "mfb_tenant_isolation";
/// The name of the policy that lets admin roles see every row.
pub const ADMIN_POLICY_NAME: &str = "mfb_admin_bypass";
/// The function (in the tenancy schema) that reads the session setting.
pub const CURRENT_TENANT_FUNCTION: &str = "mfb_current_tenant";
/// The role → tenant table (in the tenancy schema) of `role_map` mode.
pub const ROLE_MAP_TABLE: &str = "mfb_tenant_roles";
/// The policy on the role map that lets each role read only its own row.
pub const ROLE_MAP_POLICY: &str = "mfb_own_row";

/// Stands for the tenant column's type when it is only known at apply time.
const TYPE_MARKER: &str = "__mfb_tenant_type__";

impl Default for TenancySettings {
    fn default() -> Self {
        TenancySettings {
            schema: DEFAULT_TENANCY_SCHEMA.to_owned(),
            setting: DEFAULT_SETTING.to_owned(),
            schemas: Vec::new(),
            schema_pattern: None,
            default_privileges: true,
        }
    }
}

/// The body of `mfb_current_tenant(setting)`: the setting, or NULL when unset or empty, so
/// that an unset setting matches no row. `pg_catalog.` is spelled out because a `SET
/// search_path` clause would stop the planner from inlining the function.
pub(crate) const CURRENT_TENANT_BODY: &str =
    " select nullif(pg_catalog.current_setting($1, true), '') ";

/// The statements that create mfb's tenancy objects in `settings.schema`: the schema, the
/// `mfb_current_tenant(text)` function, and the `mfb_tenant_roles` map (RLS on, each role
/// reads only its own row). Both are usable by every role (`PUBLIC`), so a role with no
/// tenant gets zero rows rather than a permission error.
///
/// Idempotent. Run them once per run that builds protected relations (before the first
/// policy: `create policy` checks that what its predicate names exists), in a transaction.
pub fn support_statements(settings: &TenancySettings) -> Vec<String> {
    let schema = quote_ident(&settings.schema);
    let map = role_map_table(&settings.schema);
    vec![
        // Two mfb runs setting up the same database at once must not race on the catalog.
        "select pg_catalog.pg_advisory_xact_lock(7310431, 1)".to_owned(),
        format!("create schema if not exists {schema}"),
        current_tenant_function_statement(&settings.schema),
        format!("grant usage on schema {schema} to public"),
        format!(
            "create table if not exists {map} (role_name name primary key, tenant_id text not null)"
        ),
        format!("alter table {map} enable row level security"),
        format!(
            "drop policy if exists {} on {map}",
            quote_ident(ROLE_MAP_POLICY)
        ),
        format!(
            "create policy {} on {map} for select to public using (role_name = current_user)",
            quote_ident(ROLE_MAP_POLICY)
        ),
        format!("grant select on {map} to public"),
    ]
}

pub(crate) fn current_tenant_function_statement(schema: &str) -> String {
    format!(
        "create or replace function {}.{}(setting text) returns text language sql stable parallel safe as $mfb${CURRENT_TENANT_BODY}$mfb$",
        quote_ident(schema),
        quote_ident(CURRENT_TENANT_FUNCTION)
    )
}

pub(crate) fn role_map_table(schema: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(ROLE_MAP_TABLE))
}

/// The settings in effect: the registry's, or the defaults.
fn settings_of(registry: Option<&Registry>) -> TenancySettings {
    registry.map(|r| r.settings.clone()).unwrap_or_default()
}

/// The session setting a config reads: its own `setting:`, the registry's, or `app.tenant_id`.
pub fn effective_setting(cfg: &RlsConfig, registry: Option<&Registry>) -> String {
    cfg.setting
        .clone()
        .unwrap_or_else(|| settings_of(registry).setting)
}

/// The admin roles of a relation: the config's `admin_roles`, else the registry's.
pub fn effective_admin_roles(cfg: &RlsConfig, registry: Option<&Registry>) -> Vec<String> {
    match &cfg.admin_roles {
        Some(roles) => roles.clone(),
        None => registry.map(Registry::admin_role_names).unwrap_or_default(),
    }
}

/// The roles granted SELECT: `grant_select_to`, else the registry's tenant and admin roles.
pub fn effective_grantees(cfg: &RlsConfig, registry: Option<&Registry>) -> Vec<String> {
    let mut roles: Vec<String> = match &cfg.grant_select_to {
        Some(roles) => roles.clone(),
        None => {
            let mut v: Vec<String> = registry
                .map(|r| {
                    r.tenant_roles()
                        .map(|(_, role)| role.name.clone())
                        .collect()
                })
                .unwrap_or_default();
            v.extend(effective_admin_roles(cfg, registry));
            v
        }
    };
    let mut seen = std::collections::HashSet::new();
    roles.retain(|r| seen.insert(r.clone()));
    roles
}

/// Checks a column type name before it is spliced into SQL as a cast target.
fn check_type(column_type: &str) -> Result<&str, TenancyError> {
    let t = column_type.trim();
    let ok = !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || " _,().\"[]".contains(c));
    if ok {
        Ok(t)
    } else {
        Err(TenancyError::Unsupported {
            message: format!("`{column_type}` is not a column type mfb can cast to"),
            help: "pass the type as PostgreSQL's format_type() prints it, e.g. `integer` or `text`"
                .into(),
        })
    }
}

/// The tenant policy's USING expression for a tenant column of type `column_type`
/// (e.g. `integer`, `text`, `uuid`), additional filters included.
pub fn tenant_predicate(
    cfg: &RlsConfig,
    column_type: &str,
    registry: Option<&Registry>,
) -> Result<String, TenancyError> {
    let t = check_type(column_type)?;
    Ok(predicate_with_type(cfg, t, registry))
}

fn predicate_with_type(cfg: &RlsConfig, t: &str, registry: Option<&Registry>) -> String {
    let settings = settings_of(registry);
    let schema = quote_ident(&settings.schema);
    let column = quote_ident(&cfg.tenant_column);
    let setting = effective_setting(cfg, registry);
    let from_setting = format!(
        "{schema}.{}({})::{t}",
        quote_ident(CURRENT_TENANT_FUNCTION),
        quote_literal(&setting)
    );
    let from_role = format!(
        "(select m.tenant_id::{t} from {} m where m.role_name = current_user)",
        role_map_table(&settings.schema)
    );
    let base = match cfg.mode {
        RlsMode::SessionSetting => format!("{column} = {from_setting}"),
        RlsMode::RoleMap => format!("{column} = {from_role}"),
        RlsMode::Expression => cfg
            .expression
            .as_deref()
            .unwrap_or("false")
            .replace("{column}", &column)
            .replace("{role_tenant}", &from_role)
            .replace("{tenant}", &from_setting),
    };
    let mut parts = vec![format!("({base})")];
    parts.extend(cfg.additional_filters.iter().map(|f| format!("({f})")));
    parts.join(" and ")
}

/// The statements that protect `relation` as `cfg` says, in order:
///
/// - tables: `enable` and `[no] force row level security`, the tenant policy
///   [`POLICY_NAME`] (`for select`, dropped first if it exists), the admin policy
///   [`ADMIN_POLICY_NAME`] (`using (true)` for the admin roles), an index on the tenant
///   column unless an index already leads with it, and `grant select` to the grantees;
/// - views: `security_invoker = true` (so the policies of what they read apply to the
///   querying role) and the grants.
///
/// `column_type` is the tenant column's type (`integer`, `text`, `uuid`, ... as
/// `columns_in_relation` reports it); with `None` the policy statement looks the type up
/// when it runs. Materialized views and foreign tables cannot carry policies: an error.
pub fn policy_statements(
    cfg: &RlsConfig,
    relation: &Relation,
    column_type: Option<&str>,
    registry: Option<&Registry>,
) -> Result<Vec<String>, TenancyError> {
    let rel = relation.schema_qualified();
    let grantees = effective_grantees(cfg, registry);
    let grant = (!grantees.is_empty()).then(|| {
        format!(
            "grant select on {rel} to {}",
            grantees
                .iter()
                .map(|r| quote_ident(r))
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    match relation.kind {
        Some(RelationKind::View) => {
            let mut out = vec![format!(
                "alter view {rel} set ({})",
                view_options_unchecked()
            )];
            out.extend(grant);
            return Ok(out);
        }
        Some(kind @ (RelationKind::MaterializedView | RelationKind::Foreign)) => {
            return Err(TenancyError::Unsupported {
                message: format!(
                    "{rel} is a {}: PostgreSQL cannot enforce row-level security on it",
                    kind.ddl_keyword()
                ),
                help: "materialize the model as a table (or a view on a protected table)".into(),
            });
        }
        _ => {}
    }

    let policy_name = quote_ident(POLICY_NAME);
    let admin_name = quote_ident(ADMIN_POLICY_NAME);
    let mut out = vec![
        format!("alter table {rel} enable row level security"),
        format!(
            "alter table {rel} {} row level security",
            if cfg.force { "force" } else { "no force" }
        ),
        format!("drop policy if exists {policy_name} on {rel}"),
    ];
    let create_policy = |t: &str| {
        format!(
            "create policy {policy_name} on {rel} as permissive for select to public using ({})",
            predicate_with_type(cfg, t, registry)
        )
    };
    match column_type {
        Some(t) => out.push(create_policy(check_type(t)?)),
        None => out.push(resolve_type_then(
            &rel,
            &cfg.tenant_column,
            &create_policy(TYPE_MARKER),
        )),
    }
    out.push(format!("drop policy if exists {admin_name} on {rel}"));
    let admins = effective_admin_roles(cfg, registry);
    if !admins.is_empty() {
        out.push(format!(
            "create policy {admin_name} on {rel} as permissive for select to {} using (true)",
            admins
                .iter()
                .map(|r| quote_ident(r))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if cfg.index {
        out.push(index_statement(&rel, &cfg.tenant_column));
    }
    out.extend(grant);
    Ok(out)
}

/// A DO block that looks up the column's type, then runs `statement` with
/// [`TYPE_MARKER`] replaced by it.
fn resolve_type_then(rel: &str, column: &str, statement: &str) -> String {
    format!(
        "do $mfb$\n\
         declare t text;\n\
         begin\n  \
           select pg_catalog.format_type(a.atttypid, a.atttypmod) into t\n    \
             from pg_catalog.pg_attribute a\n   \
            where a.attrelid = {rel_lit}::regclass and a.attname = {col_lit}\n     \
              and a.attnum > 0 and not a.attisdropped;\n  \
           if t is null then\n    \
             raise exception '%', {missing} using hint = 'set tenant_column to a column of the model';\n  \
           end if;\n  \
           execute pg_catalog.replace($mfb_policy${statement}$mfb_policy$, '{TYPE_MARKER}', t);\n\
         end\n\
         $mfb$",
        rel_lit = quote_literal(rel),
        col_lit = quote_literal(column),
        missing = quote_literal(&format!(
            "rls: {rel} has no column {} (its tenant_column)",
            quote_ident(column)
        )),
    )
}

/// Creates an index on the tenant column unless a (non-partial) index already leads with
/// it, e.g. one from the model's `indexes:` config. Unnamed, so PostgreSQL picks a free name
/// while the old relation still holds its own during a rebuild.
fn index_statement(rel: &str, column: &str) -> String {
    format!(
        "do $mfb$\n\
         begin\n  \
           if not exists (\n    \
             select from pg_catalog.pg_index i\n    \
             join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]\n    \
             where i.indrelid = {rel_lit}::regclass and a.attname = {col_lit} and i.indpred is null\n  \
           ) then\n    \
             create index on {rel} ({col});\n  \
           end if;\n\
         end\n\
         $mfb$",
        rel_lit = quote_literal(rel),
        col_lit = quote_literal(column),
        col = quote_ident(column),
    )
}

fn view_options_unchecked() -> &'static str {
    "security_invoker = true"
}

/// The option list for views built by mfb that read protected relations:
/// `create view v with (<this>) as ...`. `security_invoker` needs PostgreSQL 15
/// (`server_version_num` 150000); older servers get an error saying so, since a view
/// there would run with its owner's rights and bypass every policy.
pub fn view_options(server_version_num: u32) -> Result<&'static str, TenancyError> {
    if server_version_num < 150_000 {
        return Err(TenancyError::Unsupported {
            message: format!(
                "views reading row-level-secured relations need PostgreSQL 15 or later for \
                 `security_invoker` (this server is {server_version_num})"
            ),
            help: "upgrade PostgreSQL, or materialize the models that read protected relations \
                   as tables with their own `rls:` config"
                .into(),
        });
    }
    Ok(view_options_unchecked())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    fn cfg(v: serde_json::Value) -> RlsConfig {
        RlsConfig::from_json(&v).unwrap()
    }

    fn registry() -> Registry {
        Registry::parse(
            "admin_roles: [admin]\ntenants:\n  - id: 1\n    roles: [t_one]\n  - id: 2\n    roles: [t_two]\n",
            Path::new("tenants.yml"),
        )
        .unwrap()
    }

    fn table() -> Relation {
        Relation::new("db", "analytics", "fct_screens").with_kind(RelationKind::Table)
    }

    #[test]
    fn session_setting_compares_the_uncast_column() {
        let c = cfg(
            json!({"tenant_column": "white_label_id", "mode": "session_setting",
                           "additional_filters": ["deleted_at is null", "is_active"]}),
        );
        assert_eq!(
            tenant_predicate(&c, "integer", None).unwrap(),
            "(\"white_label_id\" = \"mfb_tenancy\".\"mfb_current_tenant\"('app.tenant_id')::integer) \
             and (deleted_at is null) and (is_active)"
        );
    }

    #[test]
    fn role_map_is_a_scalar_subselect_on_current_user() {
        let c = cfg(json!({"tenant_column": "org", "mode": "role_map"}));
        assert_eq!(
            tenant_predicate(&c, "uuid", None).unwrap(),
            "(\"org\" = (select m.tenant_id::uuid from \"mfb_tenancy\".\"mfb_tenant_roles\" m \
             where m.role_name = current_user))"
        );
    }

    #[test]
    fn expression_fills_its_placeholders() {
        let c = cfg(
            json!({"tenant_column": "org", "mode": "expression", "setting": "app.org",
                           "expression": "{column} = {tenant} or {column} = {role_tenant}"}),
        );
        let p = tenant_predicate(&c, "text", None).unwrap();
        assert!(p.starts_with("(\"org\" = \"mfb_tenancy\".\"mfb_current_tenant\"('app.org')::text or \"org\" = (select"), "{p}");
    }

    #[test]
    fn table_statements_in_order() {
        let c = cfg(json!({"tenant_column": "white_label_id", "mode": "role_map", "force": true}));
        let s = policy_statements(&c, &table(), Some("bigint"), Some(&registry())).unwrap();
        let rel = "\"analytics\".\"fct_screens\"";
        assert_eq!(s[0], format!("alter table {rel} enable row level security"));
        assert_eq!(s[1], format!("alter table {rel} force row level security"));
        assert_eq!(
            s[2],
            format!("drop policy if exists \"mfb_tenant_isolation\" on {rel}")
        );
        assert!(s[3].starts_with(&format!("create policy \"mfb_tenant_isolation\" on {rel} as permissive for select to public using ((\"white_label_id\" = (select m.tenant_id::bigint")), "{}", s[3]);
        assert_eq!(
            s[4],
            format!("drop policy if exists \"mfb_admin_bypass\" on {rel}")
        );
        assert_eq!(
            s[5],
            format!(
                "create policy \"mfb_admin_bypass\" on {rel} as permissive for select to \"admin\" using (true)"
            )
        );
        assert!(
            s[6].contains("create index on \"analytics\".\"fct_screens\" (\"white_label_id\")")
        );
        assert_eq!(
            s[7],
            format!("grant select on {rel} to \"t_one\", \"t_two\", \"admin\"")
        );
        assert_eq!(s.len(), 8);
    }

    #[test]
    fn no_index_no_admins_no_grants() {
        let c = cfg(json!({"tenant_column": "t", "index": false, "admin_roles": []}));
        let s = policy_statements(&c, &table(), Some("text"), None).unwrap();
        assert_eq!(s.len(), 5, "{s:#?}");
        assert!(s[1].contains("no force"));
        assert!(s[4].starts_with("drop policy if exists \"mfb_admin_bypass\""));
    }

    #[test]
    fn unknown_type_is_resolved_when_applied() {
        let c = cfg(json!({"tenant_column": "t"}));
        let s = policy_statements(&c, &table(), None, None).unwrap();
        assert!(s[3].starts_with("do $mfb$"), "{}", s[3]);
        assert!(s[3].contains("::__mfb_tenant_type__"));
        assert!(policy_statements(&c, &table(), Some("int; drop table x"), None).is_err());
    }

    #[test]
    fn views_get_security_invoker_and_matviews_are_refused() {
        let c = cfg(json!({"tenant_column": "t", "grant_select_to": ["r"]}));
        let v = Relation::new("db", "s", "v").with_kind(RelationKind::View);
        assert_eq!(
            policy_statements(&c, &v, None, None).unwrap(),
            vec![
                "alter view \"s\".\"v\" set (security_invoker = true)".to_owned(),
                "grant select on \"s\".\"v\" to \"r\"".to_owned()
            ]
        );
        let m = Relation::new("db", "s", "m").with_kind(RelationKind::MaterializedView);
        assert!(policy_statements(&c, &m, None, None).is_err());
        assert_eq!(view_options(150_004).unwrap(), "security_invoker = true");
        assert!(view_options(140_010).is_err());
    }
}
