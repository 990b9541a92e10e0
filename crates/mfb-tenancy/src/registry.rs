//! The tenants registry, `tenants.yml` at the project root: [`Registry`].
//!
//! It lists the tenants (id, name, login roles), the admin roles and a few settings
//! (the session setting, the schema of mfb's tenancy objects, the schemas tenants read,
//! schema-per-tenant naming). Passwords are never in the file: each role names the
//! environment variable that holds its password. Every error names tenants.yml and the
//! line, and says what to write instead.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use mfb_diagnostics::Location;
use serde::Deserialize;

use crate::config::{DEFAULT_SETTING, validate_role_name, validate_setting};
use crate::error::TenancyError;

/// The registry's file name, at the project root.
pub const REGISTRY_FILE: &str = "tenants.yml";

/// The default schema of mfb's own tenancy objects (`mfb_current_tenant()`, `mfb_tenant_roles`).
pub const DEFAULT_TENANCY_SCHEMA: &str = "mfb_tenancy";

/// The parsed and validated tenants.yml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// The file it was read from, as given to [`Registry::parse`].
    pub file: PathBuf,
    /// `settings:`.
    pub settings: TenancySettings,
    /// `admin_roles:`: roles that see every tenant's rows.
    pub admin_roles: Vec<RoleSpec>,
    /// `tenants:`, in file order.
    pub tenants: Vec<Tenant>,
    /// `enforce:`: which models must be protected.
    pub enforce: Enforcement,
}

/// `enforce:` of tenants.yml: models under `paths` (e.g. `models/marts/`) must have an
/// `rls:` config, be tagged `no-rls`, or call one of `satisfied_by` (a project's own RLS
/// post-hook macro, e.g. `setup_white_label_rls`) in a hook.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enforcement {
    pub paths: Vec<String>,
    pub satisfied_by: Vec<String>,
}

/// `settings:` of tenants.yml, defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenancySettings {
    /// Schema holding `mfb_current_tenant()` and `mfb_tenant_roles` (default `mfb_tenancy`).
    pub schema: String,
    /// The session setting of `session_setting` mode (default `app.tenant_id`).
    pub setting: String,
    /// Schemas tenants read (usage + default privileges); empty: the profile's schema.
    pub schemas: Vec<String>,
    /// Schema-per-tenant naming, e.g. `tenant_{id}`: each tenant's roles get that schema.
    pub schema_pattern: Option<String>,
    /// Grant SELECT on future tables of `schemas` to tenant roles (default true).
    pub default_privileges: bool,
}

/// One tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// The value of the tenant column for this tenant, as text (`1`, `co`, a uuid).
    pub id: String,
    /// A display name (default: the id).
    pub name: String,
    /// Its login roles.
    pub roles: Vec<RoleSpec>,
    /// 1-based line of the tenant's entry in tenants.yml (0 when built in code).
    pub line: u32,
}

/// A role mfb provisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSpec {
    /// The role name, exactly (quoted in SQL).
    pub name: String,
    /// The environment variable holding its password (default `MFB_<NAME>_PASSWORD`).
    pub password_env: String,
    /// Whether the role can log in (tenant roles: always; admin roles: default false).
    pub login: bool,
}

impl RoleSpec {
    /// A role with the default password variable.
    pub fn new(name: impl Into<String>, login: bool) -> Self {
        let name = name.into();
        RoleSpec {
            password_env: default_password_env(&name),
            name,
            login,
        }
    }
}

/// `MFB_<ROLE>_PASSWORD`, the role upper-cased with anything but letters and digits as `_`:
/// role `tenant_co` reads `MFB_TENANT_CO_PASSWORD`.
pub fn default_password_env(role: &str) -> String {
    let upper: String = role
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("MFB_{upper}_PASSWORD")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    settings: RawSettings,
    #[serde(default)]
    admin_roles: Vec<RawRole>,
    #[serde(default)]
    tenants: Vec<RawTenant>,
    #[serde(default)]
    enforce: RawEnforce,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEnforce {
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    satisfied_by: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    schema: Option<String>,
    setting: Option<String>,
    #[serde(default)]
    schemas: Vec<String>,
    schema_pattern: Option<String>,
    default_privileges: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    id: RawId,
    name: Option<String>,
    #[serde(default)]
    roles: Vec<RawRole>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawId {
    Int(i64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRole {
    Name(String),
    Full {
        name: String,
        password_env: Option<String>,
        login: Option<bool>,
    },
}

impl RawRole {
    fn into_spec(self, default_login: bool) -> RoleSpec {
        match self {
            RawRole::Name(name) => RoleSpec::new(name, default_login),
            RawRole::Full {
                name,
                password_env,
                login,
            } => RoleSpec {
                password_env: password_env.unwrap_or_else(|| default_password_env(&name)),
                name,
                login: login.unwrap_or(default_login),
            },
        }
    }
}

impl Registry {
    /// Reads `<project_root>/tenants.yml`; an error when the file is missing.
    pub fn load(project_root: &Path) -> Result<Registry, TenancyError> {
        match Registry::load_optional(project_root)? {
            Some(r) => Ok(r),
            None => Err(TenancyError::Registry {
                message: format!("no {REGISTRY_FILE} in {}", project_root.display()),
                at: Location::file(REGISTRY_FILE),
                source_line: None,
                help: "create tenants.yml at the project root listing the tenants and their \
                       roles (see docs/rls.md)"
                    .into(),
            }),
        }
    }

    /// Reads `<project_root>/tenants.yml`, `None` when there is no such file.
    pub fn load_optional(project_root: &Path) -> Result<Option<Registry>, TenancyError> {
        let path = project_root.join(REGISTRY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Registry::parse(&text, Path::new(REGISTRY_FILE)).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(TenancyError::Registry {
                message: format!("cannot read {}: {e}", path.display()),
                at: Location::file(REGISTRY_FILE),
                source_line: None,
                help: "check the file's permissions".into(),
            }),
        }
    }

    /// Parses the text of a tenants.yml; `file` names it in errors.
    pub fn parse(text: &str, file: &Path) -> Result<Registry, TenancyError> {
        let err_at = |line: u32, column: u32, message: String, help: &str| {
            let source_line = (line > 0)
                .then(|| text.lines().nth(line as usize - 1).map(str::to_owned))
                .flatten();
            TenancyError::Registry {
                message,
                at: Location::new(file, line, column),
                source_line,
                help: help.to_owned(),
            }
        };
        let raw: RawRegistry = if text.trim().is_empty() {
            RawRegistry {
                version: None,
                settings: RawSettings::default(),
                admin_roles: Vec::new(),
                tenants: Vec::new(),
                enforce: RawEnforce::default(),
            }
        } else {
            serde_yaml::from_str(text).map_err(|e| {
                let (line, column) = e
                    .location()
                    .map_or((0, 0), |l| (l.line() as u32, l.column() as u32));
                let mut message = e.to_string();
                if let Some(pos) = message.find(" at line ") {
                    message.truncate(pos);
                }
                err_at(
                    line,
                    column,
                    message,
                    "tenants.yml holds `settings:` (optional), `admin_roles: [role, ...]`, \
                     `enforce: {paths, satisfied_by}` (optional) and `tenants:`, a list of `{id, name, roles: [role or {name, password_env}]}`",
                )
            })?
        };
        if let Some(v) = raw.version
            && v != 1
        {
            return Err(err_at(
                find_line(text, "version", &v.to_string()),
                0,
                format!("unknown version {v}"),
                "write `version: 1` or remove it",
            ));
        }
        let setting = raw
            .settings
            .setting
            .unwrap_or_else(|| DEFAULT_SETTING.to_owned());
        validate_setting(&setting).map_err(|e| {
            err_at(
                find_line(text, "setting", &setting),
                0,
                e.to_string(),
                "use a dotted name, e.g. `setting: app.tenant_id`",
            )
        })?;
        if let Some(p) = &raw.settings.schema_pattern
            && !p.contains("{id}")
        {
            return Err(err_at(
                find_line(text, "schema_pattern", p),
                0,
                format!("`schema_pattern: {p}` does not contain `{{id}}`"),
                "write e.g. `schema_pattern: tenant_{id}`",
            ));
        }
        let settings = TenancySettings {
            schema: raw
                .settings
                .schema
                .unwrap_or_else(|| DEFAULT_TENANCY_SCHEMA.to_owned()),
            setting,
            schemas: raw.settings.schemas,
            schema_pattern: raw.settings.schema_pattern,
            default_privileges: raw.settings.default_privileges.unwrap_or(true),
        };

        let mut seen_roles: HashSet<String> = HashSet::new();
        let mut check_role = |role: &RoleSpec| -> Result<(), TenancyError> {
            let dup = usize::from(seen_roles.contains(&role.name));
            let line = find_nth_line(text, "name", &role.name, dup)
                .max(find_nth_line(text, "-", &role.name, dup));
            validate_role_name(&role.name).map_err(|m| {
                err_at(
                    line,
                    0,
                    m,
                    "role names are 1 to 63 bytes and do not start with `pg_`",
                )
            })?;
            if !is_env_name(&role.password_env) {
                return Err(err_at(
                    find_line(text, "password_env", &role.password_env),
                    0,
                    format!(
                        "`password_env: {}` is not an environment variable name",
                        role.password_env
                    ),
                    "use letters, digits and `_`, e.g. `password_env: MFB_TENANT_CO_PASSWORD`",
                ));
            }
            if !seen_roles.insert(role.name.clone()) {
                return Err(err_at(
                    line,
                    0,
                    format!("role `{}` is listed more than once", role.name),
                    "each role belongs to one tenant (or is an admin role): remove the duplicate",
                ));
            }
            Ok(())
        };
        let admin_roles: Vec<RoleSpec> = raw
            .admin_roles
            .into_iter()
            .map(|r| r.into_spec(false))
            .collect();
        for r in &admin_roles {
            check_role(r)?;
        }
        let mut tenants = Vec::new();
        let mut seen_ids = HashSet::new();
        for raw_tenant in raw.tenants {
            let id = match raw_tenant.id {
                RawId::Int(i) => i.to_string(),
                RawId::Text(s) => s.trim().to_owned(),
            };
            let dup = usize::from(seen_ids.contains(&id));
            let line = find_nth_line(text, "id", &id, dup);
            if id.is_empty() {
                return Err(err_at(
                    line,
                    0,
                    "a tenant has an empty `id`".into(),
                    "write the tenant column's value for this tenant, e.g. `id: 1` or `id: co`",
                ));
            }
            if !seen_ids.insert(id.clone()) {
                return Err(err_at(
                    line,
                    0,
                    format!("tenant id `{id}` is listed more than once"),
                    "give each tenant its own id",
                ));
            }
            let roles: Vec<RoleSpec> = raw_tenant
                .roles
                .into_iter()
                .map(|r| r.into_spec(true))
                .collect();
            for r in &roles {
                check_role(r)?;
            }
            tenants.push(Tenant {
                name: raw_tenant.name.unwrap_or_else(|| id.clone()),
                id,
                roles,
                line,
            });
        }
        Ok(Registry {
            file: file.to_owned(),
            settings,
            admin_roles,
            tenants,
            enforce: Enforcement {
                paths: raw.enforce.paths,
                satisfied_by: raw.enforce.satisfied_by,
            },
        })
    }

    /// Every tenant role with its tenant, in file order.
    pub fn tenant_roles(&self) -> impl Iterator<Item = (&Tenant, &RoleSpec)> {
        self.tenants
            .iter()
            .flat_map(|t| t.roles.iter().map(move |r| (t, r)))
    }

    /// The names of the admin roles.
    pub fn admin_role_names(&self) -> Vec<String> {
        self.admin_roles.iter().map(|r| r.name.clone()).collect()
    }

    /// The tenant `role` belongs to.
    pub fn tenant_of_role(&self, role: &str) -> Option<&Tenant> {
        self.tenant_roles()
            .find(|(_, r)| r.name == role)
            .map(|(t, _)| t)
    }

    /// The tenant's own schema under `schema_pattern`, if one is configured.
    pub fn tenant_schema(&self, tenant: &Tenant) -> Option<String> {
        self.settings
            .schema_pattern
            .as_ref()
            .map(|p| p.replace("{id}", &tenant.id))
    }
}

fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The 1-based line of the first `key: value` (or `- value` when `key` is `-`), 0 if none.
/// serde_yaml gives no positions for values it accepted, so checks that run after parsing
/// find their line this way.
fn find_line(text: &str, key: &str, value: &str) -> u32 {
    find_nth_line(text, key, value, 0)
}

/// Like [`find_line`], for the `nth` (0-based) occurrence; falls back to the first.
fn find_nth_line(text: &str, key: &str, value: &str, nth: usize) -> u32 {
    let mut seen = 0;
    let mut first = 0;
    let unquote = |s: &str| s.trim().trim_matches('"').trim_matches('\'').to_owned();
    for (i, raw) in text.lines().enumerate() {
        let mut line = raw.trim();
        while let Some(rest) = line.strip_prefix("- ") {
            if key == "-" && unquote(rest) == value {
                if seen == nth {
                    return i as u32 + 1;
                }
                seen += 1;
                if first == 0 {
                    first = i as u32 + 1;
                }
            }
            line = rest.trim_start();
        }
        if let Some(rest) = line.strip_prefix(key).and_then(|r| r.strip_prefix(':'))
            && unquote(rest.split(" #").next().unwrap_or("")) == value
        {
            if seen == nth {
                return i as u32 + 1;
            }
            seen += 1;
            if first == 0 {
                first = i as u32 + 1;
            }
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
settings:
  setting: app.tenant_id
  schema_pattern: tenant_{id}
admin_roles:
  - analytics_admin
tenants:
  - id: 1
    name: Colorado
    roles:
      - tenant_co
      - name: grafana_co
        password_env: GRAFANA_CO_PASSWORD
  - id: nc
    roles: [tenant_nc]
";

    fn parse(text: &str) -> Result<Registry, TenancyError> {
        Registry::parse(text, Path::new("tenants.yml"))
    }

    fn error(text: &str) -> (String, u32, String) {
        match parse(text) {
            Err(TenancyError::Registry {
                message, at, help, ..
            }) => (message, at.line, help),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn reads_tenants_roles_and_settings() {
        let r = parse(SAMPLE).unwrap();
        assert_eq!(r.tenants.len(), 2);
        assert_eq!(r.tenants[0].id, "1");
        assert_eq!(r.tenants[0].name, "Colorado");
        assert_eq!(r.tenants[0].line, 7);
        assert_eq!(r.tenants[1].name, "nc");
        assert_eq!(r.tenants[0].roles[0].password_env, "MFB_TENANT_CO_PASSWORD");
        assert_eq!(r.tenants[0].roles[1].password_env, "GRAFANA_CO_PASSWORD");
        assert!(r.tenants[0].roles.iter().all(|r| r.login));
        assert!(!r.admin_roles[0].login);
        assert_eq!(r.settings.schema, "mfb_tenancy");
        assert!(r.settings.default_privileges);
        assert_eq!(r.tenant_schema(&r.tenants[1]).as_deref(), Some("tenant_nc"));
        assert_eq!(r.tenant_of_role("grafana_co").unwrap().id, "1");
        assert_eq!(r.tenant_roles().count(), 3);
    }

    #[test]
    fn errors_name_the_line() {
        let (msg, line, _) = error("tenants:\n  - id: 1\n    nme: x\n");
        assert!(msg.contains("unknown field `nme`"), "{msg}");
        assert_eq!(line, 3);

        let (msg, line, help) = error("tenants:\n  - id: 1\n  - id: 2\n  - id: 1\n");
        assert!(
            msg.contains("tenant id `1` is listed more than once"),
            "{msg}"
        );
        assert_eq!(line, 4);
        assert!(help.contains("its own id"));

        let (msg, line, _) =
            error("admin_roles: [a]\ntenants:\n  - id: 1\n    roles:\n      - a\n");
        assert!(msg.contains("role `a` is listed more than once"), "{msg}");
        assert_eq!(line, 5);

        let (msg, line, _) = error("settings:\n  schema_pattern: tenant\n");
        assert!(msg.contains("does not contain `{id}`"), "{msg}");
        assert_eq!(line, 2);

        let (msg, _, _) = error("settings:\n  setting: tenant\n");
        assert!(msg.contains("not a custom setting name"), "{msg}");

        let (msg, line, _) = error("tenants:\n  - id: 1\n    roles:\n      - name: pg_x\n");
        assert!(msg.contains("pg_"), "{msg}");
        assert_eq!(line, 4);

        let (msg, line, _) = error("tenants: [\n");
        assert!(line > 0, "{msg}");
    }

    #[test]
    fn an_empty_file_is_an_empty_registry() {
        let r = parse("# no tenants yet\n").unwrap();
        assert!(r.tenants.is_empty());
        assert_eq!(r.settings.setting, "app.tenant_id");
    }

    #[test]
    fn default_password_variables() {
        assert_eq!(default_password_env("tenant_co"), "MFB_TENANT_CO_PASSWORD");
        assert_eq!(
            default_password_env("Grafana-CO"),
            "MFB_GRAFANA_CO_PASSWORD"
        );
    }
}
