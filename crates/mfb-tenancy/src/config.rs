//! A model's `rls:` config, parsed and validated: [`RlsConfig`].
//!
//! The input is the JSON value mfb's config merging produces for the key `rls` (from
//! `+rls:` in dbt_project.yml, properties YAML or `config(rls=...)`). Every problem is
//! reported with what is wrong and what to write instead; nothing here touches the
//! database.

use serde_json::Value;

use crate::error::TenancyError;

/// The session setting read by `session_setting` mode when none is configured.
pub const DEFAULT_SETTING: &str = "app.tenant_id";

const KEYS: &[&str] = &[
    "enabled",
    "tenant_column",
    "mode",
    "setting",
    "expression",
    "additional_filters",
    "admin_roles",
    "force",
    "index",
    "grant_select_to",
];

/// Where a policy learns which tenant is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RlsMode {
    /// From a session setting (`app.tenant_id`), set per login role by provisioning.
    /// Index-friendly; any role that can run SQL can change it.
    SessionSetting,
    /// From the login role, through the `mfb_tenant_roles` table mfb maintains.
    /// Cannot be spoofed with `SET`; still uses the tenant index (an InitPlan).
    RoleMap,
    /// A free SQL predicate with `{column}`, `{tenant}` and `{role_tenant}` placeholders.
    Expression,
}

impl RlsMode {
    /// The spelling in configs.
    pub fn as_str(self) -> &'static str {
        match self {
            RlsMode::SessionSetting => "session_setting",
            RlsMode::RoleMap => "role_map",
            RlsMode::Expression => "expression",
        }
    }
}

/// A validated `rls:` config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RlsConfig {
    /// The column holding the tenant id (exact name, quoted in SQL).
    pub tenant_column: String,
    /// How the tenant is identified (default: `role_map`, the mode that cannot be spoofed).
    pub mode: RlsMode,
    /// The session setting (`setting:`); `None` uses the registry's, else `app.tenant_id`.
    pub setting: Option<String>,
    /// The predicate of `expression` mode.
    pub expression: Option<String>,
    /// SQL predicates ANDed into the tenant policy (`deleted_at is null`).
    pub additional_filters: Vec<String>,
    /// Roles that see every row; `None` uses the registry's admin roles.
    pub admin_roles: Option<Vec<String>>,
    /// `FORCE ROW LEVEL SECURITY`: the table owner is filtered too.
    pub force: bool,
    /// Create an index on the tenant column unless one already leads with it (default true).
    pub index: bool,
    /// Roles granted SELECT; `None` grants the registry's tenant and admin roles.
    pub grant_select_to: Option<Vec<String>>,
}

impl RlsConfig {
    /// A config for `tenant_column` in `mode`, everything else at its default.
    pub fn new(tenant_column: impl Into<String>, mode: RlsMode) -> Self {
        RlsConfig {
            tenant_column: tenant_column.into(),
            mode,
            setting: None,
            expression: None,
            additional_filters: Vec::new(),
            admin_roles: None,
            force: false,
            index: true,
            grant_select_to: None,
        }
    }

    /// Parses and validates the value of a model's `rls:` config, which must be a mapping
    /// (see [`RlsConfig::from_model_config`] for the values that switch RLS off).
    pub fn from_json(value: &Value) -> Result<RlsConfig, TenancyError> {
        let Value::Object(map) = value else {
            return Err(TenancyError::rls(
                format!("`rls` must be a mapping, got `{value}`"),
                "write e.g. `rls: {tenant_column: white_label_id, mode: role_map}`",
            ));
        };
        for key in map.keys() {
            if !KEYS.contains(&key.as_str()) {
                let help = match mfb_diagnostics::closest(key, KEYS.iter().copied()) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("the keys of `rls` are: {}", KEYS.join(", ")),
                };
                return Err(TenancyError::rls(format!("unknown key `{key}`"), help));
            }
        }
        let tenant_column = match map.get("tenant_column") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            Some(other) => {
                return Err(TenancyError::rls(
                    format!("`tenant_column` must be a column name, got `{other}`"),
                    "write e.g. `tenant_column: white_label_id`",
                ));
            }
            None => {
                return Err(TenancyError::rls(
                    "`tenant_column` is missing",
                    "name the column holding the tenant id, e.g. `tenant_column: white_label_id`",
                ));
            }
        };
        let mode = match map.get("mode") {
            None | Some(Value::Null) => RlsMode::RoleMap,
            Some(Value::String(s)) => match s.as_str() {
                "session_setting" => RlsMode::SessionSetting,
                "role_map" => RlsMode::RoleMap,
                "expression" => RlsMode::Expression,
                other => {
                    let modes = ["session_setting", "role_map", "expression"];
                    let near = modes
                        .into_iter()
                        .find(|m| !other.is_empty() && m.starts_with(other))
                        .or_else(|| mfb_diagnostics::closest(other, modes))
                        .map(|m| format!("did you mean `{m}`? "))
                        .unwrap_or_default();
                    return Err(TenancyError::rls(
                        format!("unknown mode `{other}`"),
                        format!("{near}the modes are session_setting, role_map and expression"),
                    ));
                }
            },
            Some(other) => {
                return Err(TenancyError::rls(
                    format!("`mode` must be a string, got `{other}`"),
                    "write `mode: session_setting`, `mode: role_map` or `mode: expression`",
                ));
            }
        };
        let setting = match opt_string(map.get("setting"), "setting")? {
            Some(s) => {
                validate_setting(&s)?;
                Some(s)
            }
            None => None,
        };
        let expression = opt_string(map.get("expression"), "expression")?;
        match (mode, &expression) {
            (RlsMode::Expression, None) => {
                return Err(TenancyError::rls(
                    "mode `expression` needs an `expression`",
                    "write e.g. `expression: \"{column} = {tenant} or {column} is null\"`",
                ));
            }
            (RlsMode::Expression, Some(e)) => validate_predicate(e, "expression", true)?,
            (_, Some(_)) => {
                return Err(TenancyError::rls(
                    format!(
                        "`expression` is only read in mode `expression`, not `{}`",
                        mode.as_str()
                    ),
                    "remove `expression`, or set `mode: expression`",
                ));
            }
            (_, None) => {}
        }
        let additional_filters =
            string_list(map.get("additional_filters"), "additional_filters")?.unwrap_or_default();
        for f in &additional_filters {
            validate_predicate(f, "additional_filters", false)?;
        }
        let admin_roles = string_list(map.get("admin_roles"), "admin_roles")?;
        let grant_select_to = string_list(map.get("grant_select_to"), "grant_select_to")?;
        for role in admin_roles.iter().chain(&grant_select_to).flatten() {
            validate_role_name(role).map_err(|m| {
                TenancyError::rls(
                    m,
                    "role names are 1 to 63 bytes and do not start with `pg_`",
                )
            })?;
        }
        Ok(RlsConfig {
            tenant_column,
            mode,
            setting,
            expression,
            additional_filters,
            admin_roles,
            force: opt_bool(map.get("force"), "force")?.unwrap_or(false),
            index: opt_bool(map.get("index"), "index")?.unwrap_or(true),
            grant_select_to,
        })
    }

    /// Like [`RlsConfig::from_json`], but `null`, `false` and `{enabled: false}` mean
    /// "no RLS for this model" (`None`), so a subfolder can switch off an inherited `+rls`.
    pub fn from_model_config(value: &Value) -> Result<Option<RlsConfig>, TenancyError> {
        match value {
            Value::Null | Value::Bool(false) => Ok(None),
            Value::Bool(true) => Err(TenancyError::rls(
                "`rls: true` does not say which column holds the tenant",
                "write e.g. `rls: {tenant_column: white_label_id}`",
            )),
            Value::Object(map) => match map.get("enabled") {
                Some(Value::Bool(false)) => Ok(None),
                Some(Value::Bool(true)) | None => RlsConfig::from_json(value).map(Some),
                Some(other) => Err(TenancyError::rls(
                    format!("`enabled` must be true or false, got `{other}`"),
                    "write `enabled: false` to switch RLS off for these models",
                )),
            },
            other => RlsConfig::from_json(other).map(Some),
        }
    }
}

fn opt_string(value: Option<&Value>, key: &str) -> Result<Option<String>, TenancyError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
        Some(other) => Err(TenancyError::rls(
            format!("`{key}` must be a non-empty string, got `{other}`"),
            format!("write `{key}: ...` with a string value, or remove it"),
        )),
    }
}

fn opt_bool(value: Option<&Value>, key: &str) -> Result<Option<bool>, TenancyError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(TenancyError::rls(
            format!("`{key}` must be true or false, got `{other}`"),
            format!("write `{key}: true` or `{key}: false`"),
        )),
    }
}

fn string_list(value: Option<&Value>, key: &str) -> Result<Option<Vec<String>>, TenancyError> {
    let bad = |got: &Value| {
        TenancyError::rls(
            format!("`{key}` must be a list of strings, got `{got}`"),
            format!("write e.g. `{key}: [\"...\", \"...\"]`"),
        )
    };
    match value {
        None | Some(Value::Null) => Ok(None),
        // A single string is a one-item list, as dbt's `grants` accepts.
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(vec![s.trim().to_owned()])),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
                other => Err(bad(other)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(bad(other)),
    }
}

/// A custom setting name: two or more dotted identifiers (PostgreSQL only accepts
/// placeholders such as `app.tenant_id` for names it does not know).
pub(crate) fn validate_setting(name: &str) -> Result<(), TenancyError> {
    let parts: Vec<&str> = name.split('.').collect();
    let ident = |p: &str| {
        !p.is_empty()
            && p.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if parts.len() < 2 || !parts.iter().all(|p| ident(p)) {
        return Err(TenancyError::rls(
            format!("`{name}` is not a custom setting name"),
            "use a dotted name made of letters, digits and `_`, e.g. `setting: app.tenant_id`",
        ));
    }
    Ok(())
}

/// A role name PostgreSQL accepts for `create role`.
pub(crate) fn validate_role_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 63 {
        return Err(format!("role name `{name}` must be 1 to 63 bytes long"));
    }
    if name.starts_with("pg_") {
        return Err(format!(
            "role name `{name}` starts with `pg_`, which PostgreSQL reserves"
        ));
    }
    Ok(())
}

fn validate_predicate(text: &str, key: &str, placeholders: bool) -> Result<(), TenancyError> {
    if text.contains(';') {
        return Err(TenancyError::rls(
            format!("`{key}` contains `;`: `{text}`"),
            "write a single SQL boolean expression, e.g. `deleted_at is null`",
        ));
    }
    if placeholders {
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else { break };
            let name = &after[..close];
            if !["column", "tenant", "role_tenant"].contains(&name) {
                return Err(TenancyError::rls(
                    format!("unknown placeholder `{{{name}}}` in `{key}`"),
                    "the placeholders are {column} (the tenant column), {tenant} (the tenant from \
                     the session setting) and {role_tenant} (the tenant of the login role)",
                ));
            }
            rest = &after[close + 1..];
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> String {
        match RlsConfig::from_json(&v) {
            Err(TenancyError::RlsConfig { message, help }) => format!("{message} | {help}"),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_full_config() {
        let cfg = RlsConfig::from_json(&json!({
            "tenant_column": "white_label_id",
            "mode": "session_setting",
            "setting": "app.white_label",
            "additional_filters": ["deleted_at is null", "is_active"],
            "admin_roles": "analyst",
            "force": true,
            "index": false,
            "grant_select_to": ["grafana_co"],
        }))
        .unwrap();
        assert_eq!(cfg.tenant_column, "white_label_id");
        assert_eq!(cfg.mode, RlsMode::SessionSetting);
        assert_eq!(cfg.setting.as_deref(), Some("app.white_label"));
        assert_eq!(cfg.additional_filters.len(), 2);
        assert_eq!(cfg.admin_roles, Some(vec!["analyst".to_owned()]));
        assert!(cfg.force && !cfg.index);
    }

    #[test]
    fn defaults_to_role_map_with_an_index() {
        let cfg = RlsConfig::from_json(&json!({"tenant_column": "t"})).unwrap();
        assert_eq!(cfg, RlsConfig::new("t", RlsMode::RoleMap));
    }

    #[test]
    fn errors_say_what_to_write_instead() {
        assert_eq!(
            err(json!({"tenant_colum": "x"})),
            "unknown key `tenant_colum` | did you mean `tenant_column`?"
        );
        assert!(err(json!({"mode": "role_map"})).contains("`tenant_column` is missing"));
        assert!(
            err(json!({"tenant_column": "t", "mode": "session"}))
                .contains("did you mean `session_setting`?")
        );
        assert!(err(json!({"tenant_column": "t", "setting": "tenant_id"})).contains("dotted"));
        assert!(err(json!({"tenant_column": "t", "mode": "expression"})).contains("needs an"));
        assert!(
            err(json!({"tenant_column": "t", "mode": "expression", "expression": "{col} = 1"}))
                .contains("unknown placeholder `{col}`")
        );
        assert!(
            err(json!({"tenant_column": "t", "expression": "x"}))
                .contains("only read in mode `expression`")
        );
        assert!(err(json!({"tenant_column": "t", "force": "yes"})).contains("true or false"));
        assert!(
            err(json!({"tenant_column": "t", "additional_filters": ["a; drop table x"]}))
                .contains("contains `;`")
        );
        assert!(err(json!({"tenant_column": "t", "admin_roles": ["pg_monitor"]})).contains("pg_"));
        assert!(err(json!("white_label_id")).contains("must be a mapping"));
    }

    #[test]
    fn model_config_can_switch_rls_off() {
        assert_eq!(RlsConfig::from_model_config(&Value::Null).unwrap(), None);
        assert_eq!(RlsConfig::from_model_config(&json!(false)).unwrap(), None);
        assert_eq!(
            RlsConfig::from_model_config(&json!({"enabled": false, "tenant_column": "t"})).unwrap(),
            None
        );
        assert!(RlsConfig::from_model_config(&json!(true)).is_err());
        assert!(
            RlsConfig::from_model_config(&json!({"tenant_column": "t"}))
                .unwrap()
                .is_some()
        );
    }
}
