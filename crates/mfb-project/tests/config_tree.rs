//! Config trees of dbt_project.yml resolved for real fixture projects: precedence, merge
//! rules, package-level keys, and typo warnings.

mod common;

use common::{fixture, load};
use mfb_project::{NodeConfig, merge_config, unknown_config_keys};
use serde_json::json;

fn fqn(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn folder_depth_and_node_level_configs_merge_like_dbt() {
    let project = load("config_tree");
    let tree = &project.root_package().models;
    assert_eq!(tree.file, "dbt_project.yml");
    let f = fqn(&["acme", "staging", "stripe", "stg_stripe_payments"]);
    let layers = tree.layers_for(&f);
    assert_eq!(layers.len(), 5, "top, acme, staging, stripe, node");
    assert_eq!(
        layers[2].values["materialized"],
        json!("table"),
        "a bare known key is a config"
    );
    assert_eq!(
        layers[4].values["post-hook"],
        json!(["analyze {{ this }}"]),
        "post_hook is normalised"
    );
    let config = tree.config_for(&f);
    assert_eq!(config["materialized"], json!("table"));
    assert_eq!(
        config["schema"],
        json!("stripe_raw"),
        "deeper +schema overrides"
    );
    assert_eq!(
        config["tags"],
        json!(["base", "staging"]),
        "tags append, de-duplicated"
    );
    assert_eq!(
        config["meta"],
        json!({"owner": "data", "tier": 1}),
        "meta updates key by key"
    );
    assert_eq!(
        config["post-hook"],
        json!([
            "grant select on {{ this }} to reporter",
            "analyze {{ this }}"
        ]),
        "hooks append, a string hook becomes a list"
    );
    assert_eq!(config["alias"], json!("payments"));
    assert_eq!(config["enabled"], json!(true));
    assert!(!config.contains_key("post_hook"));
}

#[test]
fn sibling_folders_do_not_leak_and_folders_named_like_configs_work() {
    let project = load("config_tree");
    let tree = &project.root_package().models;
    let marts = tree.config_for(&fqn(&["acme", "marts", "fct_orders"]));
    assert_eq!(
        marts["materialized"],
        json!("view"),
        "the misspelt +materalized does not apply"
    );
    assert_eq!(marts["materalized"], json!("table"));
    assert!(!marts.contains_key("schema"));
    assert_eq!(marts["grants"], json!({"select": ["reporter"]}));
    assert_eq!(
        marts["meta"],
        json!({"owner": "data", "tier": 3, "domain": "finance"})
    );
    assert!(
        !marts.contains_key("docs"),
        "`docs:` holding +keys is a folder"
    );
    let in_docs = tree.config_for(&fqn(&["acme", "marts", "docs", "orders_doc"]));
    assert_eq!(in_docs["materialized"], json!("ephemeral"));
}

#[test]
fn seed_and_legacy_tests_trees() {
    let project = load("config_tree");
    let pkg = project.root_package();
    let seed = pkg.seeds.config_for(&fqn(&["acme", "countries"]));
    assert_eq!(seed["quote_columns"], json!(false));
    assert_eq!(seed["column_types"], json!({"id": "bigint"}));
    let test = pkg.tests.config_for(&fqn(&["acme", "not_null_x"]));
    assert_eq!(test["severity"], json!("warn"));
    assert!(pkg.snapshots.layers_for(&fqn(&["acme", "s"])).is_empty());
}

#[test]
fn root_project_keys_for_a_package_apply_after_the_package_tree() {
    let project = load("with_package");
    let f = fqn(&["my_utils", "util_calendar"]);
    let own = project.package("my_utils").unwrap().models.layers_for(&f);
    let root = project.root_package().models.layers_for(&f);
    // dbt: package tree < properties < config() < root project tree.
    let mut config = NodeConfig::new();
    for layer in own.iter().chain(root.iter()) {
        merge_config(&mut config, &layer.values);
    }
    assert_eq!(
        config["materialized"],
        json!("view"),
        "the root's top-level +materialized wins"
    );
    assert_eq!(config["enabled"], json!(false));
    assert_eq!(config["tags"], json!(["pkg", "from_root"]));
    let own_only = project.package("my_utils").unwrap().models.config_for(&f);
    assert_eq!(own_only["materialized"], json!("table"));
}

#[test]
fn misspelt_config_keys_get_suggestions_with_lines() {
    let project = load("unknown_key");
    let source = std::fs::read_to_string(fixture("unknown_key").join("dbt_project.yml")).unwrap();
    let pkg = project.root_package();
    let models = unknown_config_keys(&pkg.models, "models", &source);
    let got: Vec<(u32, u32, String, String)> = models
        .iter()
        .map(|d| {
            let at = d.location.clone().unwrap();
            (
                at.line,
                at.column,
                d.message.clone(),
                d.help.clone().unwrap(),
            )
        })
        .collect();
    assert_eq!(got.len(), 3, "{got:#?}");
    assert_eq!((got[0].0, got[0].1), (4, 5));
    assert_eq!(got[0].3, "did you mean `+materialized`?");
    assert_eq!(got[1].0, 6);
    assert_eq!(got[1].3, "did you mean `+schema`?");
    assert_eq!(got[2].0, 8);
    assert!(got[2].2.contains("read as a folder name"), "{}", got[2].2);
    assert_eq!(got[2].3, "did you mean `+persist_docs`?");
    assert!(
        models
            .iter()
            .all(|d| !d.is_error() && d.code == "unknown-config-key")
    );
    assert_eq!(
        models[0].source_line.as_deref(),
        Some("    +materialised: table")
    );
    let seeds = unknown_config_keys(&pkg.seeds, "seeds", &source);
    assert_eq!(seeds.len(), 1);
    assert_eq!(seeds[0].location.as_ref().unwrap().line, 10);
    assert_eq!(seeds[0].help.as_deref(), Some("did you mean `+delimiter`?"));
}

#[test]
fn rendering_a_tree_points_failures_at_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let source = "name: p\nmodels:\n  p:\n    +schema: \"{{ env_var('SCHEMA', 'core') }}\"\n    +limit: \"{{ env_var('N', '5') | int }}\"\n    +post-hook: \"{{ env_var('NOT_NOW') }}\"\n    staging:\n      +alias: \"{{ env_var('MISSING') }}\"\n";
    std::fs::write(dir.path().join("dbt_project.yml"), source).unwrap();
    let options = mfb_project::LoadOptions {
        project_dir: dir.path().to_path_buf(),
    };
    let mut project = mfb_project::load_project(&options).unwrap();
    let tree = &mut project.packages[0].models;
    let render = common::EnvRender::new(&[]);
    let err = mfb_project::render_config_tree(tree, "models", source, &render).unwrap_err();
    match err {
        mfb_project::ProjectError::Render {
            at,
            message,
            source_text,
        } => {
            assert_eq!((at.line, at.column), (8, 7));
            assert!(message.contains("MISSING"));
            assert_eq!(source_text, "{{ env_var('MISSING') }}");
        }
        other => panic!("{other:?}"),
    }
    let render = common::EnvRender::new(&[("MISSING", "stg")]);
    mfb_project::render_config_tree(tree, "models", source, &render).unwrap();
    let config = tree.config_for(&fqn(&["p", "staging", "m"]));
    assert_eq!(config["schema"], json!("core"));
    assert_eq!(config["limit"], json!(5));
    assert_eq!(config["alias"], json!("stg"));
    assert_eq!(config["post-hook"], json!(["{{ env_var('NOT_NOW') }}"]));
}

#[test]
fn unknown_top_level_project_keys_are_warnings() {
    let project = load("unknown_key");
    let got: Vec<(u32, String, Option<String>)> = project
        .warnings
        .iter()
        .map(|d| {
            (
                d.location.as_ref().unwrap().line,
                d.message.clone(),
                d.help.clone(),
            )
        })
        .collect();
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0].0, 11);
    assert!(
        got[0]
            .1
            .contains("`model-path` is not a dbt_project.yml key")
    );
    assert_eq!(got[0].2.as_deref(), Some("did you mean `model-paths`?"));
    assert_eq!(got[1].0, 12);
    assert!(got[1].2.as_deref().unwrap().contains("vars:"));
    assert!(
        project
            .warnings
            .iter()
            .all(|d| d.code == "unknown-project-key" && !d.is_error())
    );
    assert!(load("config_tree").warnings.is_empty());
}
