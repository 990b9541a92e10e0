//! profiles.yml lookup order, target selection, env_var rendering through the `Render`
//! seam, type conversion, and errors that never show the password.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::{EnvRender, fixture};
use mfb_diagnostics::IntoDiagnostic;
use mfb_project::{ProjectError, load_profile_with_env};
use serde_json::json;

/// An environment for `load_profile_with_env`, independent of the test process.
fn env(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    move |name| map.get(name).cloned()
}

fn dir(name: &str) -> std::path::PathBuf {
    fixture("profiles").join(name)
}

fn render() -> EnvRender {
    EnvRender::new(&[("SHOP_PASSWORD", "s3cret"), ("PGHOST", "db.internal")])
}

#[test]
fn project_dir_profile_renders_env_vars_and_converts_types() {
    let r = render();
    let e = env(&[]);
    let (profile, t) = load_profile_with_env(None, &dir("project"), "shop", None, &r, &e).unwrap();
    assert_eq!(profile.name, "shop");
    assert_eq!(
        profile.default_target, "dev",
        "the target: line is rendered too"
    );
    assert_eq!(
        profile.targets,
        ["dev", "ci", "badport", "nohost", "unset_var"]
    );
    assert!(profile.file.ends_with("profiles/project/profiles.yml"));
    assert_eq!(t.profile_name, "shop");
    assert_eq!(t.target_name, "dev");
    assert_eq!(t.adapter_type, "postgres");
    assert_eq!(t.host, "db.internal");
    assert_eq!(t.port, 5433, "env default rendered through | int");
    assert_eq!(t.user, "analyst");
    assert_eq!(t.password, "s3cret", "`pass` is an alias of `password`");
    assert_eq!(t.dbname, "shop", "`database` is an alias of `dbname`");
    assert_eq!(t.schema, "dbt_me");
    assert_eq!(t.threads, 4);
    assert_eq!(t.sslmode.as_deref(), Some("require"));
    assert_eq!(t.connect_timeout, Some(7));
    assert_eq!(t.keepalives_idle, Some(30));
    assert_eq!(t.search_path.as_deref(), Some("shop,public"));
    assert_eq!(t.role.as_deref(), Some("transformer"));
    assert_eq!(t.fields["port"], json!(5433));
    assert_eq!(t.fields["host"], json!("db.internal"));
    assert_eq!(t.fields["pass"], json!("s3cret"));
}

#[test]
fn defaults_for_port_and_threads() {
    let r = render();
    let e = env(&[]);
    let (_, t) = load_profile_with_env(None, &dir("project"), "shop", Some("ci"), &r, &e).unwrap();
    assert_eq!(t.target_name, "ci");
    assert_eq!((t.port, t.threads), (5432, 1));
    assert_eq!(t.sslmode, None);
}

#[test]
fn target_selection_order_is_flag_then_env_then_profile() {
    let r = render();
    let with_env = env(&[("DBT_TARGET", "ci".to_owned())]);
    let (_, t) = load_profile_with_env(None, &dir("project"), "shop", None, &r, &with_env).unwrap();
    assert_eq!(t.target_name, "ci", "DBT_TARGET beats the profile's target");
    let (_, t) =
        load_profile_with_env(None, &dir("project"), "shop", Some("dev"), &r, &with_env).unwrap();
    assert_eq!(t.target_name, "dev", "--target beats DBT_TARGET");
    let r2 = EnvRender::new(&[("SHOP_TARGET", "ci"), ("SHOP_PASSWORD", "x")]);
    let (p, t) =
        load_profile_with_env(None, &dir("project"), "shop", None, &r2, &env(&[])).unwrap();
    assert_eq!(
        (p.default_target.as_str(), t.target_name.as_str()),
        ("ci", "ci")
    );
}

#[test]
fn profiles_dir_lookup_order() {
    let r = render();
    let home = dir("home").display().to_string();
    let env_dir = dir("env_dir").display().to_string();
    let project = dir("project");
    let empty = dir("empty");
    let all = env(&[
        ("HOME", home.clone()),
        ("DBT_PROFILES_DIR", env_dir.clone()),
    ]);
    // An explicit --profiles-dir wins over everything.
    let (_, t) =
        load_profile_with_env(Some(&dir("explicit")), &project, "shop", None, &r, &all).unwrap();
    assert_eq!(t.host, "explicit-host");
    // Then DBT_PROFILES_DIR, even when the project dir has a profiles.yml.
    let (_, t) = load_profile_with_env(None, &project, "shop", None, &r, &all).unwrap();
    assert_eq!(t.host, "from_env-host");
    // Then the project directory.
    let home_only = env(&[("HOME", home.clone())]);
    let (_, t) = load_profile_with_env(None, &project, "shop", None, &r, &home_only).unwrap();
    assert_eq!(t.host, "db.internal");
    // Then ~/.dbt.
    let (_, t) = load_profile_with_env(None, &empty, "shop", None, &r, &home_only).unwrap();
    assert_eq!(t.host, "from_home-host");
}

#[test]
fn no_profiles_file_lists_the_searched_directories() {
    let r = render();
    let home = fixture("profiles").join("nowhere");
    let e = env(&[("HOME", home.display().to_string())]);
    let err = load_profile_with_env(None, &dir("empty"), "shop", None, &r, &e).unwrap_err();
    let ProjectError::NoProfiles { searched } = &err else {
        panic!("{err:?}")
    };
    assert!(searched.contains("profiles/empty"), "{searched}");
    assert!(searched.contains("nowhere/.dbt"), "{searched}");
    let d = err.into_diagnostic();
    assert_eq!(d.code, "profiles-file-missing");
    assert!(d.help.unwrap().contains("DBT_PROFILES_DIR"));
    let explicit = load_profile_with_env(
        Some(Path::new("/nonexistent/dir")),
        &dir("project"),
        "shop",
        None,
        &r,
        &e,
    );
    assert!(
        matches!(explicit, Err(ProjectError::NoProfiles { searched }) if searched == "/nonexistent/dir")
    );
}

#[test]
fn unknown_profile_and_target_name_the_available_ones() {
    let r = render();
    let e = env(&[]);
    let err = load_profile_with_env(None, &dir("project"), "shopp", None, &r, &e).unwrap_err();
    match &err {
        ProjectError::UnknownProfile {
            profile, available, ..
        } => {
            assert_eq!(profile, "shopp");
            assert_eq!(available, &["shop"], "the `config:` block is not a profile");
        }
        other => panic!("{other:?}"),
    }
    let d = err.into_diagnostic();
    assert_eq!(d.code, "profile-not-found");
    assert!(d.help.unwrap().contains("did you mean `shop`?"));
    let err =
        load_profile_with_env(None, &dir("project"), "shop", Some("prod"), &r, &e).unwrap_err();
    match &err {
        ProjectError::UnknownTarget {
            target, available, ..
        } => {
            assert_eq!(target, "prod");
            assert_eq!(available.len(), 5);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.into_diagnostic().code, "target-not-found");
}

#[test]
fn bad_values_are_errors_without_the_password() {
    let r = render();
    let e = env(&[]);
    for (target, expect) in [
        (
            "badport",
            "`port` of target `badport` of profile `shop` must be a whole number",
        ),
        ("nohost", "target `nohost` of profile `shop` has no `host:`"),
    ] {
        let err =
            load_profile_with_env(None, &dir("project"), "shop", Some(target), &r, &e).unwrap_err();
        let d = err.into_diagnostic();
        assert!(d.message.contains(expect), "{}", d.message);
        assert!(d.location.as_ref().unwrap().line > 0);
        let text = format!("{d:?}");
        assert!(!text.contains("hunter2-secret"), "{text}");
    }
    let err = load_profile_with_env(None, &dir("project"), "shop", Some("unset_var"), &r, &e)
        .unwrap_err();
    let ProjectError::Render { message, at, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(message.contains("MISSING_HOST"), "{message}");
    assert_eq!(at.line, 43);
    assert_eq!(err.into_diagnostic().code, "yaml-render");
}

#[test]
fn a_missing_password_env_var_is_a_render_error_naming_the_variable_only() {
    let r = EnvRender::new(&[]);
    let err =
        load_profile_with_env(None, &dir("project"), "shop", None, &r, &env(&[])).unwrap_err();
    let ProjectError::Render {
        message,
        source_text,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(message.contains("SHOP_PASSWORD"));
    assert_eq!(
        source_text, "<value of `pass`>",
        "the text of a secret field is never quoted"
    );
}
