//! File discovery, dbt_project.yml fields and installed packages, on fixture projects.

mod common;

use common::{fixture, load, load_err};
use mfb_diagnostics::IntoDiagnostic;
use mfb_project::{FileKind, ProjectError};
use serde_json::json;

fn kinds(project: &mfb_project::Project, package: &str) -> Vec<(FileKind, String)> {
    project
        .package(package)
        .unwrap()
        .files
        .iter()
        .map(|f| (f.kind, f.path.clone()))
        .collect()
}

#[test]
fn custom_paths_are_walked_and_files_classified() {
    let project = load("custom_paths");
    let files = kinds(&project, "custom_paths");
    let expected = vec![
        (
            FileKind::Analysis,
            "analyses/default_analysis_path.sql".to_owned(),
        ),
        (
            FileKind::SingularTest,
            "checks/assert_nothing.sql".to_owned(),
        ),
        (
            FileKind::Fixture,
            "checks/fixtures/fixture_rows.sql".to_owned(),
        ),
        (FileKind::Macro, "checks/generic/positive.sql".to_owned()),
        (FileKind::Seed, "data/raw_ids.csv".to_owned()),
        (FileKind::Macro, "jinja/cents.sql".to_owned()),
        (FileKind::Docs, "notes/overview.md".to_owned()),
        (FileKind::Snapshot, "snaps/snap_a.sql".to_owned()),
        (FileKind::Model, "transformations/B.SQL".to_owned()),
        (FileKind::Docs, "transformations/b.md".to_owned()),
        (
            FileKind::Properties,
            "transformations/schema.yml".to_owned(),
        ),
        (
            FileKind::Model,
            "transformations/staging/stg_a.sql".to_owned(),
        ),
    ];
    assert_eq!(files, expected);
    // Skipped: hidden files and directories, `.txt`, `models/` (not a model path here),
    // and what `.dbtignore` lists (`scratch/`, `*.wip.sql`).
    assert!(
        fixture("custom_paths")
            .join("transformations/scratch/tmp.sql")
            .is_file()
    );
    assert!(
        fixture("custom_paths")
            .join("transformations/draft.wip.sql")
            .is_file()
    );
}

#[test]
fn file_fields_hold_paths_and_contents() {
    let project = load("custom_paths");
    let pkg = project.root_package();
    let stg = pkg
        .files
        .iter()
        .find(|f| f.path.ends_with("stg_a.sql"))
        .unwrap();
    assert_eq!(stg.resource_path, "staging/stg_a.sql");
    assert_eq!(&*stg.contents, "select 1 as id\n");
    assert!(stg.abs_path.is_absolute());
    assert!(stg.abs_path.ends_with("transformations/staging/stg_a.sql"));
    let seed = pkg.files.iter().find(|f| f.kind == FileKind::Seed).unwrap();
    assert_eq!(&*seed.contents, "", "seed CSVs are not read at load time");
    assert_eq!(seed.resource_path, "raw_ids.csv");
}

#[test]
fn project_fields_are_read_with_defaults() {
    let project = load("custom_paths");
    let pkg = project.root_package();
    assert!(pkg.is_root);
    assert_eq!(pkg.name, "custom_paths");
    assert_eq!(pkg.version.as_deref(), Some("1.0.0"));
    assert_eq!(pkg.profile.as_deref(), Some("custom"));
    assert_eq!(pkg.model_paths, ["transformations"]);
    assert_eq!(pkg.macro_paths, ["jinja/"]);
    assert_eq!(pkg.analysis_paths, ["analyses"]);
    assert_eq!(pkg.docs_paths, ["notes", "transformations"]);
    assert!(pkg.asset_paths.is_empty());
    assert_eq!(pkg.on_run_start, ["select 1"]);
    assert_eq!(pkg.on_run_end, ["select 2", "select 3"]);
    assert_eq!(pkg.vars["start_date"], json!("2024-01-01"));
    assert_eq!(pkg.vars["custom_paths"], json!({"scoped": 1}));
    assert_eq!(project.target_path, "build");
    assert_eq!(project.clean_targets, ["build"]);
    assert_eq!(project.packages_install_path, "dbt_packages");
    assert_eq!(project.dispatch.len(), 1);
    assert_eq!(project.dispatch[0].macro_namespace, "dbt_utils");
    assert_eq!(
        project.dispatch[0].search_order,
        ["custom_paths", "dbt_utils"]
    );
    assert_eq!(project.flags["send_anonymous_usage_stats"], json!(false));
    assert_eq!(project.quoting["identifier"], json!(false));
    assert_eq!(
        project.require_dbt_version,
        Some(json!([">=1.8.0", "<2.0.0"]))
    );
    assert_eq!(pkg.properties.docs.len(), 2);
}

#[test]
fn docs_paths_default_to_every_resource_path() {
    let project = load("with_package");
    let root = project.root_package();
    assert_eq!(
        root.docs_paths,
        [
            "models",
            "seeds",
            "snapshots",
            "analyses",
            "macros",
            "tests"
        ]
    );
    assert_eq!(root.seed_paths, ["seeds"]);
    assert_eq!(project.clean_targets, ["target"]);
}

#[test]
fn packages_are_loaded_by_their_own_name() {
    let project = load("with_package");
    let names: Vec<&str> = project.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["shop", "my_utils"]);
    let utils = project.package("my_utils").unwrap();
    assert!(!utils.is_root);
    assert_eq!(utils.version.as_deref(), Some("1.3"));
    assert_eq!(utils.path_prefix, "dbt_packages/utils-1.3.0/");
    assert!(utils.root.ends_with("dbt_packages/utils-1.3.0"));
    assert_eq!(
        kinds(&project, "my_utils"),
        [
            (FileKind::Macro, "macros/star.sql".to_owned()),
            (FileKind::Properties, "models/schema.yml".to_owned()),
            (FileKind::Model, "models/util_calendar.sql".to_owned()),
        ]
    );
    assert_eq!(utils.properties.models[0].name, "util_calendar");
    assert_eq!(utils.properties.models[0].origin.file, "models/schema.yml");
    assert_eq!(utils.properties.models[0].origin.line, 3);
    // The root package does not see the package's files, nor target/.
    assert_eq!(
        kinds(&project, "shop"),
        [(FileKind::Model, "models/staging/stg_orders.sql".to_owned())]
    );
}

#[test]
fn a_root_model_path_skips_target_and_packages_and_project_yaml() {
    let project = load("root_model_path");
    assert_eq!(
        kinds(&project, "flat"),
        [
            (FileKind::Model, "sub/nested.sql".to_owned()),
            (FileKind::Model, "top.sql".to_owned())
        ]
    );
    assert_eq!(
        kinds(&project, "dep"),
        [(FileKind::Model, "models/dep_model.sql".to_owned())]
    );
}

#[test]
fn duplicate_package_names_are_an_error() {
    let errors = load_err("duplicate_packages");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let d = errors.into_iter().next().unwrap().into_diagnostic();
    assert_eq!(d.code, "invalid-value");
    assert!(
        d.message.contains("two packages are named `same_name`"),
        "{}",
        d.message
    );
    assert!(
        d.message.contains("dbt_packages/a/dbt_project.yml"),
        "{}",
        d.message
    );
    assert_eq!(
        d.location.unwrap().file,
        std::path::PathBuf::from("dbt_packages/b/dbt_project.yml")
    );
    assert!(d.help.unwrap().contains("packages.yml"));
}

#[test]
fn a_missing_project_file_is_reported() {
    let errors = load_err("missing_project");
    assert!(
        matches!(&errors[..], [ProjectError::NoProjectFile { dir }] if dir.ends_with("missing_project"))
    );
    let d = errors.into_iter().next().unwrap().into_diagnostic();
    assert_eq!(d.code, "project-file-missing");
    assert!(d.help.unwrap().contains("--project-dir"));
}

#[test]
fn a_relative_project_dir_becomes_absolute() {
    let dir = fixture("custom_paths");
    let cwd = std::env::current_dir().unwrap();
    let rel = dir.strip_prefix(&cwd).unwrap().to_path_buf();
    let project =
        mfb_project::load_project(&mfb_project::LoadOptions { project_dir: rel }).unwrap();
    assert!(project.root.is_absolute());
    assert_eq!(project.root, dir);
}

#[test]
fn project_values_can_be_rendered_at_load_time() {
    let render = common::EnvRender::new(&[("MODEL_DIR", "src_models"), ("TARGET_DIR", "out")]);
    let options = mfb_project::LoadOptions {
        project_dir: fixture("rendered_project"),
    };
    let project = mfb_project::load_project_with_render(&options, &render).unwrap();
    let pkg = project.root_package();
    assert_eq!(pkg.profile.as_deref(), Some("shop"));
    assert_eq!(pkg.model_paths, ["src_models"]);
    assert_eq!(project.target_path, "out");
    assert_eq!(
        kinds(&project, "rendered"),
        [(FileKind::Model, "src_models/m.sql".to_owned())]
    );
    // vars, hooks and config trees are left for later.
    assert_eq!(pkg.vars["later"], json!("{{ env_var('RENDERED_LATER') }}"));
    assert_eq!(pkg.on_run_end, ["{{ log('bye') }}"]);
    assert_eq!(
        pkg.models.raw["rendered"]["+enabled"],
        json!("{{ target.name == 'dev' }}")
    );
    // Without a renderer the text stays as written.
    let raw = mfb_project::load_project(&options).unwrap();
    assert_eq!(
        raw.root_package().model_paths,
        ["{{ env_var('MODEL_DIR', 'models') }}"]
    );
}

#[test]
fn a_failing_render_names_the_project_file_and_line() {
    let render = common::EnvRender::new(&[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dbt_project.yml"),
        "name: p\n\nprofile: \"{{ env_var('NOPE') }}\"\n",
    )
    .unwrap();
    let options = mfb_project::LoadOptions {
        project_dir: dir.path().to_path_buf(),
    };
    let errors = match mfb_project::load_project_with_render(&options, &render) {
        Ok(_) => panic!("should fail"),
        Err(e) => e,
    };
    let d = errors.into_iter().next().unwrap().into_diagnostic();
    assert_eq!(d.code, "yaml-render");
    assert_eq!(
        d.location,
        Some(mfb_diagnostics::Location::new("dbt_project.yml", 3, 0))
    );
    assert!(d.message.contains("NOPE"), "{}", d.message);
}

#[test]
fn a_symlinked_local_package_is_followed() {
    let project = load("linked_package");
    let utils = project
        .package("my_utils")
        .expect("the symlinked package is loaded");
    assert_eq!(utils.path_prefix, "dbt_packages/local_dep/");
    assert_eq!(
        kinds(&project, "my_utils"),
        [
            (FileKind::Macro, "macros/star.sql".to_owned()),
            (FileKind::Properties, "models/schema.yml".to_owned()),
            (FileKind::Model, "models/util_calendar.sql".to_owned()),
        ]
    );
}
