//! `mfb tenants provision [--dry-run]`, `mfb tenants list`, `mfb tenants grafana --out DIR`:
//! the tenants registry (tenants.yml) applied to the database, listed, and turned into
//! Grafana data sources. The work is in mfb-tenancy; this file loads the registry and the
//! profile, runs it and prints.

use mfb_diagnostics::{Diagnostic, IntoDiagnostic};
use mfb_exec::Settings;
use mfb_tenancy::{GrafanaEndpoint, ProvisionOptions, Registry};

use crate::ExitStatus;
use crate::args::TenantsCommand;
use crate::output::Output;

pub(super) fn run(settings: Settings, command: &TenantsCommand, out: &Output) -> ExitStatus {
    let registry = match Registry::load(&settings.project_dir) {
        Ok(r) => r,
        Err(e) => return super::fail(&[e.into_diagnostic()], out),
    };
    match command {
        TenantsCommand::List => list(&registry, out),
        TenantsCommand::Provision { dry_run } => provision(settings, &registry, *dry_run, out),
        TenantsCommand::Grafana { out: dir } => grafana(settings, &registry, dir, out),
    }
}

fn list(registry: &Registry, out: &Output) -> ExitStatus {
    let roles = registry.tenant_roles().count();
    out.result(&format!(
        "{} tenant{}, {roles} tenant role{}, {} admin role{} (session setting {}, tenancy schema {})",
        registry.tenants.len(),
        super::plural(registry.tenants.len()),
        super::plural(roles),
        registry.admin_roles.len(),
        super::plural(registry.admin_roles.len()),
        registry.settings.setting,
        registry.settings.schema,
    ));
    for t in &registry.tenants {
        let schema = registry
            .tenant_schema(t)
            .map(|s| format!(", schema {s}"))
            .unwrap_or_default();
        let title = if t.name == t.id {
            format!("tenant {}{schema}", t.id)
        } else {
            format!("tenant {} ({}){schema}", t.id, t.name)
        };
        out.result(&title);
        if t.roles.is_empty() {
            out.result("  (no roles)");
        }
        for r in &t.roles {
            out.result(&format!("  {}  password from ${}", r.name, r.password_env));
        }
    }
    if !registry.admin_roles.is_empty() {
        out.result("admin roles (see every tenant)");
        for r in &registry.admin_roles {
            out.result(&format!(
                "  {}  {}",
                r.name,
                if r.login {
                    format!("login, password from ${}", r.password_env)
                } else {
                    "nologin".to_owned()
                }
            ));
        }
    }
    ExitStatus::Success
}

fn provision(settings: Settings, registry: &Registry, dry_run: bool, out: &Output) -> ExitStatus {
    let loaded = match mfb_exec::load(settings) {
        Ok(l) => l,
        Err(d) => return super::fail(&d, out),
    };
    let config = match mfb_exec::warehouse::connection_config(&loaded.target) {
        Ok(c) => c,
        Err(msg) => {
            return super::fail(
                &[Diagnostic::error("profile-invalid", msg)
                    .with_help("fix the target in profiles.yml")],
                out,
            );
        }
    };
    let options = ProvisionOptions {
        default_schemas: vec![loaded.target.schema.clone()],
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            return super::fail(
                &[Diagnostic::error(
                    "runtime",
                    format!("cannot start the async runtime: {e}"),
                )],
                out,
            );
        }
    };
    let env = |name: &str| std::env::var(name).ok();
    let result = runtime.block_on(async {
        let mut conn = mfb_postgres::connect(&config).await?;
        let plan = mfb_tenancy::plan_provision(&conn, registry, &options, &env).await?;
        crate::report::emit(&plan.warnings, out);
        if plan.is_empty() {
            out.info(
                "TenantsNothingToDo",
                "Nothing to do: roles, passwords, settings, the role map and privileges already match tenants.yml",
            );
            return Ok(());
        }
        if dry_run {
            out.result(plan.script().trim_end());
            return Ok(());
        }
        for step in &plan.steps {
            out.info("TenantsProvisionStep", &step.what);
        }
        mfb_tenancy::apply_provision(&mut conn, &plan).await?;
        out.info(
            "TenantsProvisioned",
            &format!(
                "Provisioned {} change{} in one transaction",
                plan.steps.len(),
                super::plural(plan.steps.len())
            ),
        );
        Ok::<(), mfb_tenancy::TenancyError>(())
    });
    match result {
        Ok(()) => ExitStatus::Success,
        Err(e) => {
            crate::report::emit(&[e.into_diagnostic()], out);
            ExitStatus::Failure
        }
    }
}

fn grafana(
    settings: Settings,
    registry: &Registry,
    dir: &std::path::Path,
    out: &Output,
) -> ExitStatus {
    let loaded = match mfb_exec::load(settings) {
        Ok(l) => l,
        Err(d) => return super::fail(&d, out),
    };
    let t = &loaded.target;
    let endpoint = GrafanaEndpoint {
        host: t.host.clone(),
        port: t.port,
        database: t.dbname.clone(),
        sslmode: t.sslmode.clone(),
    };
    let files = mfb_tenancy::grafana_datasources(registry, &endpoint);
    let without: Vec<Diagnostic> = registry
        .tenants
        .iter()
        .filter(|t| t.roles.is_empty())
        .map(|t| {
            Diagnostic::warning(
                "tenant-without-role",
                format!(
                    "tenant {} has no role: no Grafana data source written",
                    t.id
                ),
            )
            .with_help("list a login role under the tenant's `roles:` in tenants.yml")
        })
        .collect();
    crate::report::emit(&without, out);
    if let Err(e) = std::fs::create_dir_all(dir) {
        return super::fail(
            &[Diagnostic::error(
                "write-failed",
                format!("cannot create {}: {e}", dir.display()),
            )],
            out,
        );
    }
    for f in &files {
        let path = dir.join(&f.file_name);
        if let Err(e) = std::fs::write(&path, &f.contents) {
            return super::fail(
                &[Diagnostic::error(
                    "write-failed",
                    format!("cannot write {}: {e}", path.display()),
                )],
                out,
            );
        }
        out.info(
            "TenantsGrafanaFile",
            &format!("wrote {} (tenant {})", path.display(), f.tenant_id),
        );
    }
    ExitStatus::Success
}
