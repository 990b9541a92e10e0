//! `mfb tenants grafana`: one Grafana data source provisioning file per tenant.
//!
//! Each file declares a PostgreSQL data source that connects as the tenant's (first) login
//! role, so dashboards built on it see only that tenant's rows. The password is an
//! environment reference (`$MFB_TENANT_CO_PASSWORD`) that Grafana expands when it reads
//! the file; no secret is written. Pure text generation: the caller writes the files.

use crate::registry::{Registry, Tenant};

/// Where Grafana connects: the profile's host, port, database and sslmode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrafanaEndpoint {
    /// Host name or address (a Unix socket directory will not work for Grafana).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Database name.
    pub database: String,
    /// libpq `sslmode` from the profile, if set.
    pub sslmode: Option<String>,
}

/// A provisioning file to write under Grafana's `provisioning/datasources/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasourceFile {
    /// The tenant it is for.
    pub tenant_id: String,
    /// File name, e.g. `mfb-tenant-co.yaml`.
    pub file_name: String,
    /// The YAML text.
    pub contents: String,
}

/// Lowercase letters, digits and `-`, for file names and data source uids.
fn slug(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s.trim_matches('-').to_owned()
}

/// A YAML double-quoted scalar (JSON's string syntax is valid YAML) with `$` doubled, since
/// Grafana expands `$NAME` in every value of a provisioning file.
fn quoted(value: &str) -> String {
    serde_json::Value::String(value.replace('$', "$$")).to_string()
}

/// Grafana's PostgreSQL data source knows `disable`, `require`, `verify-ca`, `verify-full`.
/// libpq's `prefer` and `allow` (and an unset sslmode) become `require`, with a note.
fn grafana_sslmode(sslmode: Option<&str>) -> (&'static str, Option<String>) {
    match sslmode.map(str::trim) {
        Some("disable") => ("disable", None),
        Some("require") => ("require", None),
        Some("verify-ca") => ("verify-ca", None),
        Some("verify-full") => ("verify-full", None),
        other => (
            "require",
            Some(format!(
                "the profile's sslmode is `{}`, which Grafana does not offer: `require` is used; \
                 write `disable` if the server has no TLS",
                other.unwrap_or("prefer")
            )),
        ),
    }
}

fn datasource(tenant: &Tenant, endpoint: &GrafanaEndpoint) -> Option<DatasourceFile> {
    let role = tenant.roles.first()?;
    let slug = slug(&tenant.id);
    let slug = if slug.is_empty() {
        "tenant".to_owned()
    } else {
        slug
    };
    let uid: String = format!("mfb-tenant-{slug}").chars().take(40).collect();
    let (sslmode, note) = grafana_sslmode(endpoint.sslmode.as_deref());
    let mut y = String::new();
    y.push_str(&format!(
        "# Written by `mfb tenants grafana`: tenant {} connects as role {}.\n\
         # Grafana reads the password from ${} when it loads this file.\n",
        tenant.id, role.name, role.password_env
    ));
    if let Some(note) = note {
        y.push_str(&format!("# Note: {note}\n"));
    }
    y.push_str("apiVersion: 1\n");
    y.push_str("datasources:\n");
    y.push_str(&format!(
        "  - name: {}\n",
        quoted(&format!("mfb {}", tenant.name))
    ));
    y.push_str("    type: grafana-postgresql-datasource\n");
    y.push_str(&format!("    uid: {}\n", quoted(&uid)));
    y.push_str("    access: proxy\n");
    y.push_str(&format!(
        "    url: {}\n",
        quoted(&format!("{}:{}", endpoint.host, endpoint.port))
    ));
    y.push_str(&format!("    user: {}\n", quoted(&role.name)));
    y.push_str(&format!("    database: {}\n", quoted(&endpoint.database)));
    y.push_str("    editable: false\n");
    y.push_str("    jsonData:\n");
    y.push_str(&format!("      database: {}\n", quoted(&endpoint.database)));
    y.push_str(&format!("      sslmode: {sslmode}\n"));
    y.push_str("    secureJsonData:\n");
    y.push_str(&format!("      password: ${}\n", role.password_env));
    Some(DatasourceFile {
        tenant_id: tenant.id.clone(),
        file_name: format!("mfb-tenant-{slug}.yaml"),
        contents: y,
    })
}

/// One provisioning file per tenant that has a role (tenants without roles get none).
pub fn grafana_datasources(registry: &Registry, endpoint: &GrafanaEndpoint) -> Vec<DatasourceFile> {
    registry
        .tenants
        .iter()
        .filter_map(|t| datasource(t, endpoint))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn one_file_per_tenant_with_an_env_reference() {
        let r = Registry::parse(
            "tenants:\n  - id: co\n    name: Colorado $1\n    roles:\n      - tenant_co\n  - id: none\n",
            Path::new("tenants.yml"),
        )
        .unwrap();
        let files = grafana_datasources(
            &r,
            &GrafanaEndpoint {
                host: "db.internal".into(),
                port: 5432,
                database: "analytics".into(),
                sslmode: Some("verify-full".into()),
            },
        );
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].file_name, "mfb-tenant-co.yaml");
        let yaml: serde_json::Value = serde_yaml::from_str(&files[0].contents).unwrap();
        let ds = &yaml["datasources"][0];
        assert_eq!(yaml["apiVersion"], 1);
        assert_eq!(ds["type"], "grafana-postgresql-datasource");
        assert_eq!(ds["name"], "mfb Colorado $$1");
        assert_eq!(ds["url"], "db.internal:5432");
        assert_eq!(ds["user"], "tenant_co");
        assert_eq!(ds["jsonData"]["database"], "analytics");
        assert_eq!(ds["jsonData"]["sslmode"], "verify-full");
        assert_eq!(ds["secureJsonData"]["password"], "$MFB_TENANT_CO_PASSWORD");
    }

    #[test]
    fn prefer_becomes_require_with_a_note() {
        assert_eq!(grafana_sslmode(Some("disable")).0, "disable");
        let (mode, note) = grafana_sslmode(None);
        assert_eq!(mode, "require");
        assert!(note.unwrap().contains("`prefer`"));
    }
}
