//! Per-tenant builds (`--tenant ID`, `--all-tenants`): the same command once per tenant of
//! `tenants.yml`, each in the tenant's own schema with the tenant in its variables.
//!
//! For each chosen tenant the whole pipeline (load, parse, compile, run) runs again with
//! [`Settings`] changed three ways: the vars `tenant` and `current_tenant_id` hold the
//! tenant's id (over `--vars`), the profile target's schema becomes the tenant schema
//! (`settings.schema_pattern`, default `tenant_{id}`), so `target.schema`,
//! `generate_schema_name`, `this` and every `ref` resolve inside it, and artifacts go to
//! `<target>/tenants/<id>/`. Tenants run side by side, at most `--threads` connections in
//! all. This module plans the runs, runs them and merges their `run_results.json`; what to
//! run for one tenant and what to print belong to the caller (the CLI).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use mfb_diagnostics::{Diagnostic, Location};
use mfb_tenancy::{REGISTRY_FILE, Registry, Tenant};
use serde_json::{Value, json};

use crate::{Diagnostics, Settings};

/// The schema of a tenant when `tenants.yml` sets no `schema_pattern`.
pub const DEFAULT_SCHEMA_PATTERN: &str = "tenant_{id}";

/// Which tenants a command runs for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantChoice {
    /// `--all-tenants`: every tenant of tenants.yml, in file order.
    All,
    /// `--tenant ID` (repeatable): these, in the order given.
    Ids(Vec<String>),
}

/// One tenant's run: who, where, and the settings its pipeline runs with.
#[derive(Debug, Clone)]
pub struct TenantRun {
    /// The tenant's id (the tenant column's value, as text).
    pub id: String,
    /// Its display name.
    pub name: String,
    /// The schema its models are built in (the profile target's schema, replaced).
    pub schema: String,
    /// Its artifacts directory, `<target>/tenants/<id>`.
    pub target_dir: PathBuf,
    /// The command's settings with the tenant's vars, schema, threads and target path.
    pub settings: Settings,
}

/// Every tenant's run, and how many run at once.
#[derive(Debug, Clone)]
pub struct TenantPlan {
    pub runs: Vec<TenantRun>,
    /// Tenants running side by side; each gets `threads / parallel` threads (at least 1).
    pub parallel: usize,
    /// The command's own target directory (the merged run_results.json goes there).
    pub target_dir: PathBuf,
}

/// The schema of `tenant`: `schema_pattern` of tenants.yml with `{id}` replaced, else
/// `tenant_<id>`.
pub fn tenant_schema(registry: &Registry, tenant: &Tenant) -> String {
    registry
        .tenant_schema(tenant)
        .unwrap_or_else(|| DEFAULT_SCHEMA_PATTERN.replace("{id}", &tenant.id))
}

/// The value of `var('tenant')` and `var('current_tenant_id')`: a number when the id is
/// one (`id: 3` in tenants.yml, as `--vars '{current_tenant_id: 3}'` would give), else text.
pub fn tenant_var(id: &str) -> Value {
    match id.parse::<i64>() {
        Ok(n) if n.to_string() == id => json!(n),
        _ => json!(id),
    }
}

/// The tenants `choice` names, in its order; an unknown id is an error listing the valid ones.
pub fn choose<'r>(
    registry: &'r Registry,
    choice: &TenantChoice,
) -> Result<Vec<&'r Tenant>, Diagnostic> {
    let file = Location::file(REGISTRY_FILE);
    if registry.tenants.is_empty() {
        return Err(Diagnostic::error(
            "tenant-none",
            format!("{REGISTRY_FILE} lists no tenants to build for"),
        )
        .at(file)
        .with_help("add tenants under `tenants:` in tenants.yml (see docs/rls.md)"));
    }
    let ids = match choice {
        TenantChoice::All => return Ok(registry.tenants.iter().collect()),
        TenantChoice::Ids(ids) => ids,
    };
    let valid: Vec<&str> = registry.tenants.iter().map(|t| t.id.as_str()).collect();
    let mut chosen: Vec<&Tenant> = Vec::new();
    for id in ids {
        let Some(t) = registry.tenants.iter().find(|t| &t.id == id) else {
            // Ids of a character or two are all "close" to each other: no guess for those.
            let closest = (id.chars().count() > 2)
                .then(|| mfb_diagnostics::closest(id, valid.iter().copied()))
                .flatten();
            let hint = closest.map_or_else(String::new, |c| format!("did you mean `{c}`? "));
            return Err(Diagnostic::error(
                "tenant-unknown",
                format!(
                    "--tenant {id}: no tenant with id `{id}` in {REGISTRY_FILE}; the tenants are: {}",
                    valid.join(", ")
                ),
            )
            .at(file)
            .with_help(format!(
                "{hint}pass one of those ids, --all-tenants, or add the tenant to tenants.yml"
            )));
        };
        if !chosen.iter().any(|c| c.id == t.id) {
            chosen.push(t);
        }
    }
    Ok(chosen)
}

/// How many tenants run at once, and the threads of each: never more than `threads`
/// connections in all (with 4 threads and 50 tenants, 4 tenants at a time on 1 thread each;
/// with 8 threads and 2 tenants, both at once on 4 threads each).
pub fn budget(threads: u32, tenants: usize) -> (usize, u32) {
    let threads = threads.max(1);
    let parallel = (threads as usize).min(tenants.max(1));
    let each = (threads / parallel as u32).max(1);
    (parallel, each)
}

/// The settings of `tenant`'s run: `base` with the tenant's vars over `--vars`, its schema,
/// `threads` and its own target directory.
pub fn tenant_settings(
    base: &Settings,
    tenant: &Tenant,
    schema: &str,
    threads: u32,
    target_dir: &Path,
) -> Settings {
    let mut s = base.clone();
    let value = tenant_var(&tenant.id);
    s.vars.insert("tenant".to_owned(), value.clone());
    s.vars.insert("current_tenant_id".to_owned(), value);
    s.schema_override = Some(schema.to_owned());
    s.threads = Some(threads);
    s.target_path = Some(target_dir.to_path_buf());
    s
}

/// Plans the runs of `choice`: reads tenants.yml, checks the ids, and loads the project once
/// (as the first tenant) to learn the thread count and the target directory. A problem with
/// tenants.yml, the ids or the project stops everything before any tenant runs.
pub fn plan(base: &Settings, choice: &TenantChoice) -> Result<TenantPlan, Diagnostics> {
    let registry = Registry::load(&base.project_dir).map_err(|e| {
        vec![
            e.into_diagnostic_at(Location::file(base.project_dir.join(REGISTRY_FILE)))
                .with_note("--tenant and --all-tenants build once per tenant of tenants.yml"),
        ]
    })?;
    let tenants = choose(&registry, choice).map_err(|d| vec![d])?;
    let first = tenant_settings(
        base,
        tenants[0],
        &tenant_schema(&registry, tenants[0]),
        base.threads.unwrap_or(1),
        Path::new("."),
    );
    let loaded = crate::load(Settings {
        threads: base.threads,
        target_path: base.target_path.clone(),
        ..first
    })?;
    let root = &loaded.project.root;
    let target_dir = match &base.target_path {
        Some(p) => root.join(p),
        None => root.join(&loaded.project.target_path),
    };
    let (parallel, each) = budget(loaded.target.threads, tenants.len());
    let runs = tenants
        .iter()
        .map(|t| {
            let schema = tenant_schema(&registry, t);
            let dir = target_dir.join("tenants").join(&t.id);
            TenantRun {
                id: t.id.clone(),
                name: t.name.clone(),
                settings: tenant_settings(base, t, &schema, each, &dir),
                schema,
                target_dir: dir,
            }
        })
        .collect();
    Ok(TenantPlan {
        runs,
        parallel,
        target_dir,
    })
}

/// Runs `job` for every tenant of `plan`, `plan.parallel` at a time, and returns what each
/// gave, in the plan's order. One tenant failing does not stop the others; after Ctrl-C no
/// new tenant starts (its slot is `None`).
pub fn run_all<T: Send>(plan: &TenantPlan, job: impl Fn(&TenantRun) -> T + Sync) -> Vec<Option<T>> {
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<T>>> = Mutex::new(
        std::iter::repeat_with(|| None)
            .take(plan.runs.len())
            .collect(),
    );
    std::thread::scope(|scope| {
        for _ in 0..plan.parallel.min(plan.runs.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= plan.runs.len() || crate::engine::interrupted() {
                        break;
                    }
                    // Remove what an earlier run left, so a tenant that stops before
                    // writing results is not merged with stale ones.
                    let _ = std::fs::remove_file(plan.runs[i].target_dir.join("run_results.json"));
                    let value = job(&plan.runs[i]);
                    slots
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)[i] = Some(value);
                }
            });
        }
    });
    slots
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Writes `<target>/run_results.json` holding every tenant's results: each tenant's own
/// `<target>/tenants/<id>/run_results.json`, every result with a `"tenant"` field (its
/// `unique_id` stays the node's, so it still matches manifest.json). `args` gets
/// `"tenants"`, the ids run. Tenants that wrote no results (they stopped at parse) are left out.
pub fn merge_run_results(
    plan: &TenantPlan,
    invocation_id: &str,
    elapsed: f64,
    mut args: Value,
) -> Result<PathBuf, Diagnostic> {
    let mut results = Vec::new();
    let mut metadata = Value::Null;
    for run in &plan.runs {
        let path = run.target_dir.join("run_results.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let doc: Value = serde_json::from_str(&text).map_err(|e| {
            Diagnostic::error(
                "run-results-invalid",
                format!("{} is not valid JSON: {e}", path.display()),
            )
            .with_help("rerun the command; nothing else should write that file")
        })?;
        if metadata.is_null() {
            metadata = doc["metadata"].clone();
        }
        for mut r in doc["results"].as_array().cloned().unwrap_or_default() {
            r["tenant"] = json!(run.id);
            results.push(r);
        }
    }
    if metadata.is_null() {
        metadata = json!({
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "dbt_version": crate::load::DBT_VERSION,
            "env": crate::load::metadata_envs(),
        });
    }
    metadata["generated_at"] = json!(crate::results::now());
    metadata["invocation_id"] = json!(invocation_id);
    args["tenants"] = json!(plan.runs.iter().map(|r| &r.id).collect::<Vec<_>>());
    let doc = json!({
        "metadata": metadata,
        "results": results,
        "elapsed_time": elapsed,
        "args": args,
    });
    let path = plan.target_dir.join("run_results.json");
    std::fs::create_dir_all(&plan.target_dir)
        .and_then(|()| std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap_or_default()))
        .map_err(|e| {
            Diagnostic::error(
                "write-failed",
                format!("cannot write {}: {e}", path.display()),
            )
            .with_help("check that the target directory is writable")
        })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(text: &str) -> Registry {
        Registry::parse(text, Path::new("tenants.yml")).unwrap()
    }

    #[test]
    fn threads_bound_the_connections_of_all_tenants() {
        assert_eq!(budget(4, 50), (4, 1));
        assert_eq!(budget(8, 2), (2, 4));
        assert_eq!(budget(5, 2), (2, 2));
        assert_eq!(budget(1, 3), (1, 1));
        assert_eq!(budget(0, 3), (1, 1));
    }

    #[test]
    fn numeric_ids_are_numbers_in_vars() {
        assert_eq!(tenant_var("3"), json!(3));
        assert_eq!(tenant_var("co"), json!("co"));
        assert_eq!(tenant_var("007"), json!("007"));
    }

    #[test]
    fn schema_follows_the_pattern_or_the_default() {
        let plain = registry("tenants:\n  - id: 1\n");
        assert_eq!(tenant_schema(&plain, &plain.tenants[0]), "tenant_1");
        let custom = registry("settings:\n  schema_pattern: t{id}_marts\ntenants:\n  - id: co\n");
        assert_eq!(tenant_schema(&custom, &custom.tenants[0]), "tco_marts");
    }

    #[test]
    fn unknown_tenant_names_the_valid_ones() {
        let r = registry("tenants:\n  - id: 1\n  - id: 2\n  - id: nc\n");
        let picked = choose(&r, &TenantChoice::Ids(vec!["nc".into(), "1".into()])).unwrap();
        assert_eq!(
            picked.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
            ["nc", "1"]
        );
        let err = choose(&r, &TenantChoice::Ids(vec!["9".into()])).unwrap_err();
        assert!(
            err.message.contains("the tenants are: 1, 2, nc"),
            "{}",
            err.message
        );
        assert_eq!(choose(&r, &TenantChoice::All).unwrap().len(), 3);
        assert!(choose(&registry("tenants: []\n"), &TenantChoice::All).is_err());
    }

    #[test]
    fn tenant_vars_override_cli_vars() {
        let mut base = Settings::default();
        base.vars.insert("tenant".into(), json!("x"));
        base.vars.insert("other".into(), json!(1));
        let r = registry("tenants:\n  - id: 2\n");
        let s = tenant_settings(&base, &r.tenants[0], "tenant_2", 3, Path::new("/t/2"));
        assert_eq!(s.vars["tenant"], json!(2));
        assert_eq!(s.vars["current_tenant_id"], json!(2));
        assert_eq!(s.vars["other"], json!(1));
        assert_eq!(s.schema_override.as_deref(), Some("tenant_2"));
        assert_eq!(s.threads, Some(3));
    }
}
