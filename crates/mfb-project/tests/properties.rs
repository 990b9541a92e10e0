//! Properties YAML: every entry type, every test form, origins, docs blocks, errors.

mod common;

use common::{load, load_err};
use mfb_diagnostics::IntoDiagnostic;
use mfb_project::{ProjectError, TestSpec};
use serde_json::json;

fn props() -> mfb_project::Properties {
    load("properties").root_package().properties.clone()
}

fn test_named<'a>(tests: &'a [TestSpec], name: &str) -> Vec<&'a TestSpec> {
    tests.iter().filter(|t| t.test_name == name).collect()
}

#[test]
fn model_entries_keep_fields_extra_and_lines() {
    let p = props();
    let names: Vec<&str> = p.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["orders", "customers"]);
    let orders = &p.models[0];
    assert_eq!(orders.origin.file, "models/marts/schema.yml");
    assert_eq!(orders.origin.line, 4);
    assert_eq!(orders.description, "One row per order.");
    assert_eq!(orders.config["materialized"], json!("table"));
    assert_eq!(orders.config["tags"], json!(["finance"]));
    assert_eq!(orders.meta["owner"], json!("@ana"));
    assert_eq!(orders.tags, ["daily"]);
    assert_eq!(orders.extra["access"], json!("public"));
    assert_eq!(orders.extra["latest_version"], json!(2));
    assert!(!orders.extra.contains_key("columns"));
    assert_eq!(p.models[1].origin.line, 60);
    assert_eq!(p.models[1].columns[0].origin.line, 62);
}

#[test]
fn columns_read_types_constraints_and_column_config() {
    let p = props();
    let orders = &p.models[0];
    let cols: Vec<&str> = orders.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(cols, ["order_id", "status", "customer_id"]);
    let id = &orders.columns[0];
    assert_eq!(id.origin.line, 20);
    assert_eq!(id.data_type.as_deref(), Some("integer"));
    assert_eq!(id.quote, Some(true));
    assert_eq!(id.constraints, [json!({"type": "not_null"})]);
    let customer = &orders.columns[2];
    assert_eq!(customer.meta["pii"], json!(false));
    assert_eq!(customer.tags, ["fk"]);
}

#[test]
fn plain_and_inline_test_forms() {
    let p = props();
    let orders = &p.models[0];
    let id_tests = &orders.columns[0].tests;
    assert_eq!(id_tests.len(), 2);
    assert_eq!(id_tests[0].test_name, "unique");
    assert_eq!(id_tests[0].namespace, None);
    assert!(id_tests[0].args.is_empty() && id_tests[0].config.is_empty());
    assert_eq!(id_tests[0].origin.line, 27);
    // Top-level config keys move into config; nothing is left in args.
    let nn = &id_tests[1];
    assert_eq!(nn.test_name, "not_null");
    assert_eq!(nn.origin.line, 28);
    assert_eq!(nn.config["severity"], json!("warn"));
    assert_eq!(nn.config["where"], json!("order_id > 0"));
    assert_eq!(nn.config["limit"], json!(10));
    assert_eq!(nn.config["tags"], json!(["pk"]));
    assert!(nn.args.is_empty());
}

#[test]
fn namespaced_model_level_test() {
    let p = props();
    let t = &p.models[0].tests[0];
    assert_eq!(t.namespace.as_deref(), Some("dbt_utils"));
    assert_eq!(t.test_name, "expression_is_true");
    assert_eq!(t.args["expression"], json!("amount >= 0"));
    assert_eq!(t.config["where"], json!("status != 'void'"));
    assert_eq!(t.origin.line, 15);
}

#[test]
fn accepted_values_inline_arguments_and_named_forms() {
    let p = props();
    let status = &p.models[0].columns[1];
    let av = test_named(&status.tests, "accepted_values");
    assert_eq!(av.len(), 3);
    // Inline arguments.
    assert_eq!(av[0].args["values"], json!(["placed", "shipped"]));
    assert_eq!(av[0].args["quote"], json!(false));
    assert!(av[0].config.is_empty());
    // dbt 1.10 `arguments:` + `config:`.
    assert_eq!(av[1].args["values"], json!(["placed"]));
    assert!(!av[1].args.contains_key("arguments"));
    assert_eq!(av[1].config["severity"], json!("warn"));
    assert_eq!(av[1].config["error_if"], json!(">10"));
    // `name:` + `test_name:` form.
    assert_eq!(av[2].custom_name.as_deref(), Some("status_known"));
    assert_eq!(av[2].args["values"], json!(["a", "b"]));
    assert_eq!(av[2].config["store_failures"], json!(true));
    assert!(!av[2].args.contains_key("name") && !av[2].args.contains_key("test_name"));
    // relationships with a custom name and a description.
    let rel = &test_named(&status.tests, "relationships")[0];
    assert_eq!(rel.args["to"], json!("ref('customers')"));
    assert_eq!(rel.args["field"], json!("id"));
    assert_eq!(rel.custom_name.as_deref(), Some("orders_status_rel"));
    assert_eq!(rel.description, "Every order has a customer.");
    assert_eq!(rel.origin.line, 49);
}

#[test]
fn sources_with_quoting_freshness_and_identifier() {
    let p = props();
    assert_eq!(p.sources.len(), 2);
    let stripe = &p.sources[0];
    assert_eq!(stripe.name, "stripe");
    assert_eq!(stripe.origin.file, "models/staging/sources.yml");
    assert_eq!(stripe.origin.line, 2);
    assert_eq!(stripe.database.as_deref(), Some("raw"));
    assert_eq!(stripe.schema.as_deref(), Some("stripe_v2"));
    assert_eq!(stripe.loader, "fivetran");
    assert_eq!(stripe.loaded_at_field.as_deref(), Some("_loaded_at"));
    assert_eq!(
        stripe.freshness.as_ref().unwrap()["warn_after"],
        json!({"count": 12, "period": "hour"})
    );
    assert_eq!(stripe.quoting["schema"], json!(true));
    assert_eq!(stripe.tags, ["external"]);
    assert_eq!(stripe.meta["contains_pii"], json!(true));
    let payments = &stripe.tables[0];
    assert_eq!(payments.origin.line, 18);
    assert_eq!(payments.identifier.as_deref(), Some("Payments_Export"));
    assert_eq!(payments.loaded_at_field.as_deref(), Some("_etl_loaded_at"));
    // `freshness: null` is kept: it switches off the source-level freshness.
    assert_eq!(payments.freshness, Some(serde_json::Value::Null));
    assert_eq!(payments.quoting["identifier"], json!(false));
    let col_tests: Vec<&str> = payments.columns[0]
        .tests
        .iter()
        .map(|t| t.test_name.as_str())
        .collect();
    assert_eq!(col_tests, ["unique", "not_null"]);
    assert_eq!(payments.tests[0].namespace.as_deref(), Some("dbt_utils"));
    assert_eq!(payments.tests[0].args["column_name"], json!("id"));
    let refunds = &stripe.tables[1];
    assert_eq!(refunds.identifier, None);
    assert_eq!(refunds.freshness, None);
    assert_eq!(
        refunds.external,
        Some(json!({"location": "s3://bucket/refunds"}))
    );
    let app = &p.sources[1];
    assert_eq!(
        app.schema, None,
        "the schema defaults to the source name later"
    );
    assert_eq!(app.tables[0].name, "users");
    assert_eq!(app.tables[0].origin.line, 37);
    assert_eq!(app.extra["overrides"], json!("some_package"));
    assert!(stripe.extra.is_empty(), "{:?}", stripe.extra);
    assert!(payments.extra.is_empty(), "{:?}", payments.extra);
}

#[test]
fn seeds_macros_snapshots_exposures_and_unit_tests() {
    let p = props();
    assert_eq!(p.seeds[0].name, "countries");
    assert_eq!(p.seeds[0].origin.file, "seeds/seeds.yaml");
    assert_eq!(p.seeds[0].config["delimiter"], json!(";"));
    let m = &p.macros[0];
    assert_eq!(m.name, "cents_to_dollars");
    assert_eq!(m.arguments[0]["type"], json!("string"));
    let s = &p.snapshots[0];
    assert_eq!(s.extra["relation"], json!("ref('orders')"));
    assert_eq!(s.config["strategy"], json!("timestamp"));
    let e = &p.exposures[0];
    assert_eq!(e.exposure_type, "dashboard");
    assert_eq!(e.label.as_deref(), Some("Weekly KPIs"));
    assert_eq!(e.owner["email"], json!("ana@example.com"));
    assert_eq!(
        e.depends_on,
        ["ref('orders')", "source('stripe', 'payments')"]
    );
    assert_eq!(e.origin.line, 9);
    let u = &p.unit_tests[0];
    assert_eq!(u.model, "orders");
    assert_eq!(u.given[0]["input"], json!("ref('stg_orders')"));
    assert_eq!(u.expect["rows"][0]["amount"], json!(10));
    assert_eq!(u.origin.line, 22);
}

#[test]
fn docs_blocks_are_trimmed_with_their_lines() {
    let p = props();
    let docs: Vec<(&str, u32)> = p
        .docs
        .iter()
        .map(|d| (d.name.as_str(), d.origin.line))
        .collect();
    assert_eq!(docs, [("stripe_payments", 3), ("status_values", 9)]);
    assert_eq!(p.docs[0].contents, "# Payments\n\nOne row per **payment**.");
    assert!(p.docs[1].contents.starts_with("| status | meaning |"));
    assert!(p.docs[1].contents.ends_with("| placed | new     |"));
}

#[test]
fn yaml_syntax_error_points_at_file_line_and_column() {
    let errors = load_err("yaml_syntax_error");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let ProjectError::Yaml { at, message } = &errors[0] else {
        panic!("{errors:#?}")
    };
    assert_eq!(at.file, std::path::PathBuf::from("models/schema.yml"));
    assert_eq!((at.line, at.column), (7, 9), "{message}");
    assert!(
        message.contains("did not find expected ',' or ']'"),
        "{message}"
    );
    let d = errors.into_iter().next().unwrap().into_diagnostic();
    assert_eq!(d.code, "yaml-syntax");
    assert!(d.help.is_some());
}

#[test]
fn bad_shapes_are_reported_with_lines_and_help() {
    let errors = load_err("bad_shapes");
    let found: Vec<(String, u32, String)> = errors
        .iter()
        .map(|e| match e {
            ProjectError::Invalid { message, at, help } => {
                assert!(help.is_some(), "no help for {message}");
                (at.file.display().to_string(), at.line, message.clone())
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    let lines: Vec<(&str, u32)> = found.iter().map(|(f, l, _)| (f.as_str(), *l)).collect();
    assert_eq!(
        lines,
        [
            ("models/docs.md", 3),
            ("models/schema.yml", 8),
            ("models/schema.yml", 9),
            ("models/schema.yml", 13),
            ("models/schema.yml", 16),
            ("models/schema.yml", 17),
            ("models/schema.yml", 19),
            ("models/schema.yml", 20),
            ("models/schema.yml", 3),
            ("models/docs.md", 2),
            ("models/more/again.yml", 8),
        ],
        "{found:#?}"
    );
    let messages: Vec<&str> = found.iter().map(|(_, _, m)| m.as_str()).collect();
    assert!(messages[0].contains("`unclosed` is never closed"));
    assert!(messages[1].contains("arguments of test `accepted_values`"));
    assert!(messages[2].contains("sets `severity` both"));
    assert!(messages[3].contains("several keys (relationships, field)"));
    assert!(messages[4].contains("has no `name:`"));
    assert!(messages[5].contains("must be a mapping, found a string"));
    assert!(messages[6].contains("`tags` of model `bad_tags`"));
    assert!(messages[7].contains("`sources:` must be a list"));
    assert!(
        messages[8]
            .contains("model `ok_model` is defined twice (first at models/more/again.yml:3)")
    );
    assert!(messages[9].contains("`dup` is defined twice (first at models/docs.md:1)"));
    assert!(
        messages[10]
            .contains("source table `raw.t` is defined twice (first at models/more/again.yml:7)")
    );
}
