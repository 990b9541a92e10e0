//! Loading: project files, the profile's target, variables and the Jinja runtime.

use std::collections::HashMap;
use std::sync::Arc;

use indexmap::IndexMap;
use mfb_diagnostics::{Diagnostic, IntoDiagnostic, Location};
use mfb_jinja::{JinjaValue, MacroFile, NodeScope, PyDateTime, RunContext, RunOptions, Runtime};
use mfb_project::{FileKind, LoadOptions, ProfileTarget, Project, Render};
use serde_json::{Value, json};

use crate::{Diagnostics, Settings};

/// The dbt version whose behaviour mfb follows (exposed as `dbt_version`).
pub const DBT_VERSION: &str = "1.10.9";

/// A loaded project, ready to parse.
pub struct Loaded {
    pub settings: Settings,
    pub project: Project,
    pub target: ProfileTarget,
    /// `target` as templates see it (no password).
    pub target_value: Value,
    pub runtime: Runtime,
    /// The invocation context used for parsing and compiling without a database.
    pub run: Arc<RunContext>,
    /// Variables per package.
    pub vars: HashMap<String, Arc<IndexMap<String, Value>>>,
    pub invocation_id: String,
    /// Warnings found while loading (unknown config keys, ...).
    pub warnings: Diagnostics,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("project", &self.project.root)
            .finish()
    }
}

/// Renders YAML strings through the Jinja runtime (for profiles and dbt_project.yml).
pub(crate) struct YamlRenderer<'a> {
    pub(crate) runtime: &'a Runtime,
    pub(crate) run: Arc<RunContext>,
    pub(crate) package: &'a str,
}

impl Render for YamlRenderer<'_> {
    fn render(&self, source: &str, location: &Location) -> Result<String, String> {
        let name = location.file.to_string_lossy();
        self.runtime
            .render(&self.run, &name, source, NodeScope::new(self.package, None))
            .map_err(|e| e.message)
    }
}

/// Merges variables for each package the way dbt scopes them: a package's own
/// dbt_project.yml vars (global, then scoped to itself), then the root project's global
/// vars, then the root project's vars scoped to the package, then `--vars`.
pub fn package_vars(
    project: &Project,
    cli: &IndexMap<String, Value>,
) -> HashMap<String, Arc<IndexMap<String, Value>>> {
    let names: Vec<&str> = project.packages.iter().map(|p| p.name.as_str()).collect();
    let split = |vars: &IndexMap<String, Value>,
                 package: &str|
     -> (IndexMap<String, Value>, IndexMap<String, Value>) {
        let mut global = IndexMap::new();
        let mut scoped = IndexMap::new();
        for (k, v) in vars {
            if names.contains(&k.as_str()) && v.is_object() {
                if k == package
                    && let Some(obj) = v.as_object()
                {
                    scoped.extend(obj.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            } else {
                global.insert(k.clone(), v.clone());
            }
        }
        (global, scoped)
    };
    let root = project.root_package();
    project
        .packages
        .iter()
        .map(|pkg| {
            let mut merged = IndexMap::new();
            if !pkg.is_root {
                let (g, s) = split(&pkg.vars, &pkg.name);
                merged.extend(g);
                merged.extend(s);
            }
            let (g, s) = split(&root.vars, &pkg.name);
            merged.extend(g);
            merged.extend(s);
            merged.extend(cli.iter().map(|(k, v)| (k.clone(), v.clone())));
            (pkg.name.clone(), Arc::new(merged))
        })
        .collect()
}

/// The macro files of every package, plus the built-in package.
fn macro_files(project: &Project) -> Vec<MacroFile> {
    let mut files = mfb_jinja::builtin_macro_files();
    for pkg in &project.packages {
        let prefix = display_prefix(project, pkg);
        for f in pkg.files.iter().filter(|f| f.kind == FileKind::Macro) {
            files.push(MacroFile {
                package: pkg.name.clone(),
                path: f.path.clone(),
                display_path: format!("{prefix}{}", f.path),
                source: f.contents.clone(),
            });
        }
    }
    files
}

/// How paths of a package's files are shown: relative to the project root.
pub fn display_prefix(project: &Project, pkg: &mfb_project::Package) -> String {
    if pkg.is_root {
        return String::new();
    }
    match pkg.root.strip_prefix(&project.root) {
        Ok(rel) => format!("{}/", rel.to_string_lossy().replace('\\', "/")),
        Err(_) => format!("{}/", pkg.root.display()),
    }
}

/// `target` for templates: every profile field but the password.
fn target_value(t: &ProfileTarget) -> Value {
    let mut map = serde_json::Map::new();
    for (k, v) in &t.fields {
        if k != "password" && k != "pass" {
            map.insert(k.clone(), v.clone());
        }
    }
    map.insert("name".into(), json!(t.target_name));
    map.insert("target_name".into(), json!(t.target_name));
    map.insert("profile_name".into(), json!(t.profile_name));
    map.insert("type".into(), json!(t.adapter_type));
    map.insert("schema".into(), json!(t.schema));
    map.insert("threads".into(), json!(t.threads));
    map.insert("host".into(), json!(t.host));
    map.insert("port".into(), json!(t.port));
    map.insert("user".into(), json!(t.user));
    map.insert("dbname".into(), json!(t.dbname));
    map.insert("database".into(), json!(t.dbname));
    Value::Object(map)
}

/// Builds the invocation-wide template values.
pub fn globals(
    target: &Value,
    settings: &Settings,
    project: &Project,
    invocation_id: &str,
    threads: u32,
) -> HashMap<String, JinjaValue> {
    let from = mfb_jinja::collections::from_serde;
    let mut g = HashMap::new();
    g.insert("target".to_owned(), from(target));
    g.insert(
        "project_name".to_owned(),
        JinjaValue::from(project.root_package().name.as_str()),
    );
    g.insert("dbt_version".to_owned(), JinjaValue::from(DBT_VERSION));
    g.insert("invocation_id".to_owned(), JinjaValue::from(invocation_id));
    g.insert(
        "run_started_at".to_owned(),
        JinjaValue::from_object(PyDateTime::now_utc()),
    );
    g.insert("thread_id".to_owned(), JinjaValue::from("Thread-1"));
    g.insert(
        "flags".to_owned(),
        from(&json!({
            "FULL_REFRESH": settings.full_refresh,
            "WHICH": settings.which,
            "STORE_FAILURES": settings.store_failures,
            "WARN_ERROR": false,
            "FAIL_FAST": false,
            "USE_COLORS": false,
            "PARTIAL_PARSE": false,
            "EMPTY": false,
            "THREADS": threads,
        })),
    );
    g.insert(
        "selected_resources".to_owned(),
        JinjaValue::from(Vec::<JinjaValue>::new()),
    );
    g.insert(
        "dbt_metadata_envs".to_owned(),
        from(&serde_json::to_value(metadata_envs()).unwrap_or_default()),
    );
    g.insert("execute".to_owned(), JinjaValue::from(false));
    g
}

/// `DBT_ENV_CUSTOM_ENV_*` variables, with the prefix removed (dbt's `dbt_metadata_envs`).
pub fn metadata_envs() -> IndexMap<String, String> {
    let mut envs: IndexMap<String, String> = std::env::vars()
        .filter_map(|(k, v)| {
            k.strip_prefix("DBT_ENV_CUSTOM_ENV_")
                .map(|s| (s.to_owned(), v))
        })
        .collect();
    envs.sort_keys();
    envs
}

fn errors(errs: Vec<impl IntoDiagnostic>) -> Diagnostics {
    errs.into_iter()
        .map(IntoDiagnostic::into_diagnostic)
        .collect()
}

/// Loads the project, its profile target and the runtime. Every problem found is returned.
pub fn load(settings: Settings) -> Result<Loaded, Diagnostics> {
    let mut project = mfb_project::load_project(&LoadOptions {
        project_dir: settings.project_dir.clone(),
    })
    .map_err(errors)?;
    check_packages_installed(&project)?;
    let (runtime, jinja_errors) = Runtime::new(
        &project.root_package().name,
        project
            .dispatch
            .iter()
            .map(|d| (d.macro_namespace.clone(), d.search_order.clone()))
            .collect(),
        &macro_files(&project),
    );
    if !jinja_errors.is_empty() {
        return Err(errors(jinja_errors));
    }
    let vars = package_vars(&project, &settings.vars);
    let root_name = project.root_package().name.clone();

    // Profiles may use env_var() and var(); nothing else exists yet.
    let bootstrap = runtime.run_context(RunOptions {
        vars: vars.clone(),
        ..RunOptions::default()
    });
    let renderer = YamlRenderer {
        runtime: &runtime,
        run: bootstrap,
        package: &root_name,
    };
    let profile_name = project.root_package().profile.clone().ok_or_else(|| {
        vec![
            Diagnostic::error("profile-missing", "dbt_project.yml does not name a profile")
                .at(Location::file("dbt_project.yml"))
                .with_help(
                    "add `profile: <name>` to dbt_project.yml, naming a profile in profiles.yml",
                ),
        ]
    })?;
    let (_, mut target) = mfb_project::load_profile(
        settings.profiles_dir.as_deref(),
        &settings.project_dir,
        &profile_name,
        settings.target.as_deref(),
        &renderer,
    )
    .map_err(|e| vec![e.into_diagnostic()])?;
    if target.adapter_type != "postgres" {
        return Err(vec![
            Diagnostic::error(
                "adapter-unsupported",
                format!(
                    "target `{}` of profile `{}` has type `{}`; mfb works with PostgreSQL only",
                    target.target_name, target.profile_name, target.adapter_type
                ),
            )
            .at(Location::file(target.file.display().to_string()))
            .with_help(
                "set `type: postgres` (and postgres connection fields), or choose another --target",
            ),
        ]);
    }
    if let Some(threads) = settings.threads {
        target.threads = threads;
    }
    if let Some(schema) = &settings.schema_override {
        target.schema.clone_from(schema);
    }
    let target_value = target_value(&target);
    let invocation_id = settings
        .invocation_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let run = runtime.run_context(RunOptions {
        globals: globals(
            &target_value,
            &settings,
            &project,
            &invocation_id,
            target.threads,
        ),
        vars: vars.clone(),
        sink: settings.log.clone(),
        ..RunOptions::default()
    });

    // Like dbt, only --vars are in scope in dbt_project.yml: project vars are not defined yet.
    let cli_vars: HashMap<String, Arc<IndexMap<String, Value>>> = project
        .packages
        .iter()
        .map(|p| (p.name.clone(), Arc::new(settings.vars.clone())))
        .collect();
    let config_run = runtime.run_context(RunOptions {
        globals: globals(
            &target_value,
            &settings,
            &project,
            &invocation_id,
            target.threads,
        ),
        vars: cli_vars,
        sink: settings.log.clone(),
        ..RunOptions::default()
    });

    // Jinja inside dbt_project.yml config values (`+enabled: "{{ target.type == 'postgres' }}"`).
    let mut warnings = Vec::new();
    let mut render_errors = Vec::new();
    let renderer = YamlRenderer {
        runtime: &runtime,
        run: config_run,
        package: &root_name,
    };
    for pkg in &mut project.packages {
        let file = Location::file(format!(
            "{}dbt_project.yml",
            if pkg.is_root {
                String::new()
            } else {
                format!("{}/", pkg.root.display())
            }
        ));
        for (resource, tree) in [
            ("models", &mut pkg.models),
            ("seeds", &mut pkg.seeds),
            ("snapshots", &mut pkg.snapshots),
            ("data_tests", &mut pkg.tests),
            ("sources", &mut pkg.sources),
            ("analyses", &mut pkg.analyses),
        ] {
            if let Err(e) =
                mfb_project::config::render_config_strings(&mut tree.raw, &renderer, &file)
            {
                render_errors.push(e.into_diagnostic());
            }
            if pkg.is_root {
                let source =
                    std::fs::read_to_string(pkg.root.join("dbt_project.yml")).unwrap_or_default();
                warnings.extend(mfb_project::config::unknown_config_keys(
                    tree, resource, &source,
                ));
            }
        }
    }
    if !render_errors.is_empty() {
        return Err(render_errors);
    }
    Ok(Loaded {
        settings,
        project,
        target,
        target_value,
        runtime,
        run,
        vars,
        invocation_id,
        warnings,
    })
}

/// Like dbt: packages declared in `packages.yml` / `dependencies.yml` must be installed
/// (`dbt_packages/`) before anything else, or every reference to them fails obscurely.
fn check_packages_installed(project: &Project) -> Result<(), Diagnostics> {
    let root = project.root_package();
    for file in ["packages.yml", "dependencies.yml"] {
        let Ok(text) = std::fs::read_to_string(root.root.join(file)) else {
            continue;
        };
        let declared = serde_yaml::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("packages").and_then(Value::as_array).map(Vec::len))
            .unwrap_or(0);
        let installed = project.packages.len() - 1;
        if declared > installed {
            return Err(vec![Diagnostic::error(
                "packages-not-installed",
                format!(
                    "{file} declares {declared} package(s), but only {installed} are installed in {}",
                    project.packages_install_path
                ),
            )
            .at(Location::file(file))
            .with_help("install them first with `mfb deps` (or `dbt deps`)")]);
        }
    }
    Ok(())
}
