//! Multi-tenant row-level security for mfb: the `rls:` model config, the policy SQL it
//! turns into, the tenants registry (`tenants.yml`), role provisioning, Grafana data
//! sources per tenant, and isolation checks against the live database.
//!
//! Two kinds of API, so the build and `mfb test` can wire them in:
//!
//! - pure functions from config to SQL: [`RlsConfig::from_json`], [`support_statements`]
//!   (once per run), [`policy_statements`] (inside the build transaction of each protected
//!   relation, before the swap commits), [`view_options`] (views reading protected
//!   relations), [`grafana_datasources`];
//! - functions that run over an [`mfb_postgres::Connection`]: [`plan_provision`] /
//!   [`apply_provision`] (`mfb tenants provision`) and [`check_isolation`].
//!
//! Guarantees: generated statements are idempotent; the tenant predicate compares the
//! uncast tenant column, so it is an index condition in every mode; an unset tenant
//! matches no row; passwords never come from files and never appear in printed SQL.
//! docs/rls.md describes the modes and their threat models.

mod config;
mod error;
mod grafana;
mod isolation;
mod policy;
mod provision;
mod registry;
mod scram;

pub use config::{DEFAULT_SETTING, RlsConfig, RlsMode};
pub use error::TenancyError;
pub use grafana::{DatasourceFile, GrafanaEndpoint, grafana_datasources};
pub use isolation::{CheckKind, CheckResult, check_isolation};
pub use policy::{
    ADMIN_POLICY_NAME, CURRENT_TENANT_FUNCTION, POLICY_NAME, ROLE_MAP_TABLE, effective_admin_roles,
    effective_grantees, effective_setting, policy_statements, support_statements, tenant_predicate,
    view_options,
};
pub use provision::{
    ProvisionOptions, ProvisionPlan, ProvisionStep, apply_provision, plan_provision,
};
pub use registry::{
    DEFAULT_TENANCY_SCHEMA, Enforcement, REGISTRY_FILE, Registry, RoleSpec, TenancySettings,
    Tenant, default_password_env,
};
