//! Selection tests over one small project with every resource type.

use serde_json::{Value, json};

use super::*;
use crate::ResourceType::{Model, Operation, Seed, Test, UnitTest};
use crate::test_support::{exposure, generic_test, m, macro_node, manifest, node, source};
use crate::{Node, manifest_json::manifest_json};

fn in_folder(mut n: Node, folders: &[&str], tags: &[&str]) -> Node {
    let mut fqn = vec![n.package_name.clone()];
    fqn.extend(folders.iter().map(|f| (*f).to_owned()));
    fqn.push(n.name.clone());
    n.fqn = fqn;
    let dir = folders.join("/");
    n.path = format!("{dir}/{}.sql", n.name);
    n.original_file_path = format!("models/{dir}/{}.sql", n.name);
    n.tags = tags.iter().map(|t| (*t).to_owned()).collect();
    n.config.insert("tags".into(), json!(tags));
    n
}

/// raw.orders -> stg_orders --\
/// raw.customers -> stg_customers -> int_joined -> fct_orders -> exposure dash
///                       \-> dim_customers       countries /
fn project() -> Manifest {
    let stg_orders = in_folder(
        node(Model, "stg_orders", &["source.proj.raw.orders"]),
        &["staging"],
        &["staging"],
    );
    let stg_customers = in_folder(
        node(Model, "stg_customers", &["source.proj.raw.customers"]),
        &["staging"],
        &["staging"],
    );
    let int_joined = in_folder(
        node(
            Model,
            "int_joined",
            &[&m("stg_orders"), &m("stg_customers")],
        ),
        &["intermediate"],
        &["nightly"],
    );
    let mut fct = in_folder(
        node(
            Model,
            "fct_orders",
            &[&m("int_joined"), "seed.proj.countries"],
        ),
        &["marts", "finance"],
        &["marts", "finance"],
    );
    fct.config.insert("materialized".into(), json!("table"));
    fct.config
        .insert("meta".into(), json!({"owner": "finance", "tier": 1}));
    fct.config
        .insert("grants".into(), json!({"select": ["reporter", "auditor"]}));
    fct.config
        .insert("persist_docs".into(), json!({"relation": true}));
    fct.depends_on.macros = vec!["macro.proj.cents".to_owned()];
    let dim = in_folder(
        node(Model, "dim_customers", &[&m("stg_customers")]),
        &["marts"],
        &["marts"],
    );
    let mut pkg_model = node(Model, "pkg_model", &[]);
    pkg_model.package_name = "other_pkg".to_owned();
    pkg_model.fqn = vec!["other_pkg".to_owned(), "pkg_model".to_owned()];
    pkg_model.unique_id = crate::UniqueId::new("model.other_pkg.pkg_model");
    let mut singular = node(Test, "assert_positive", &[&m("fct_orders")]);
    singular.attached_node = None;
    let mut unit = node(UnitTest, "ut_fct", &[&m("fct_orders")]);
    unit.unique_id = crate::UniqueId::new("unit_test.proj.fct_orders.ut_fct");
    unit.fqn = vec!["proj".into(), "fct_orders".into(), "ut_fct".into()];
    let mut src_test = generic_test("not_null", "source.proj.raw.orders", "id", &[]);
    src_test.name = "source_not_null_raw_orders_id".to_owned();
    src_test.unique_id = crate::UniqueId::new("test.proj.source_not_null_raw_orders_id.abc123");
    let mut orders = source("raw", "orders");
    orders.tags = vec!["raw".to_owned()];
    let mut mf = manifest(
        vec![
            stg_orders,
            stg_customers,
            int_joined,
            fct,
            dim,
            node(Seed, "countries", &[]),
            pkg_model,
            generic_test("unique", &m("stg_orders"), "id", &[]),
            generic_test("not_null", &m("fct_orders"), "id", &[]),
            generic_test(
                "relationships",
                &m("fct_orders"),
                "customer_id",
                &[&m("dim_customers")],
            ),
            singular,
            unit,
            src_test,
            node(Operation, "proj-on-run-end-0", &[]),
        ],
        vec![orders, source("raw", "customers")],
        vec![exposure("dash", &[&m("fct_orders")])],
    );
    for mac in [
        macro_node(
            "cents",
            "{% macro cents(x) %}{{ x }}/100{% endmacro %}",
            &["macro.proj.round2"],
        ),
        macro_node(
            "round2",
            "{% macro round2(x) %}round({{ x }}, 2){% endmacro %}",
            &[],
        ),
    ] {
        mf.macros.insert(mac.unique_id.clone(), mac);
    }
    mf
}

/// Selected names, sorted (tests by name, sources as `source.table`).
fn run(
    mf: &Manifest,
    criteria: &SelectionCriteria,
    spec: &SelectorSpec,
    mode: IndirectSelection,
) -> Result<Vec<String>, GraphError> {
    let dag = Dag::build(mf).unwrap();
    let ids = select_with(mf, &dag, criteria, spec, mode)?;
    let mut names: Vec<String> = ids
        .iter()
        .map(|id| {
            if let Some(n) = mf.nodes.get(id) {
                n.name.clone()
            } else if let Some(s) = mf.sources.get(id) {
                format!("{}.{}", s.source_name, s.name)
            } else {
                mf.exposures[id].name.clone()
            }
        })
        .collect();
    names.sort();
    Ok(names)
}

fn sel(select: &str) -> Vec<String> {
    try_sel(select).unwrap_or_else(|e| panic!("{select}: {e}"))
}

fn try_sel(select: &str) -> Result<Vec<String>, GraphError> {
    let criteria = SelectionCriteria {
        select: vec![select.to_owned()],
        ..Default::default()
    };
    run(
        &project(),
        &criteria,
        &SelectorSpec::default(),
        IndirectSelection::Eager,
    )
}

fn sel_mode(select: &str, mode: IndirectSelection) -> Vec<String> {
    let criteria = SelectionCriteria {
        select: vec![select.to_owned()],
        ..Default::default()
    };
    run(&project(), &criteria, &SelectorSpec::default(), mode).unwrap()
}

fn sel_ex(select: &[&str], exclude: &[&str]) -> Vec<String> {
    let criteria = SelectionCriteria {
        select: select.iter().map(|s| (*s).to_owned()).collect(),
        exclude: exclude.iter().map(|s| (*s).to_owned()).collect(),
        selector: None,
    };
    run(
        &project(),
        &criteria,
        &SelectorSpec::default(),
        IndirectSelection::Eager,
    )
    .unwrap()
}

const FCT_TESTS: [&str; 4] = [
    "assert_positive",
    "not_null_fct_orders_id",
    "relationships_fct_orders_customer_id",
    "ut_fct",
];

fn with<'a>(mut base: Vec<&'a str>, more: &[&'a str]) -> Vec<String> {
    base.extend_from_slice(more);
    let mut v: Vec<String> = base.into_iter().map(str::to_owned).collect();
    v.sort();
    v
}

#[test]
fn bare_name_selects_the_model_and_its_tests() {
    assert_eq!(
        sel("stg_orders"),
        with(vec!["stg_orders", "unique_stg_orders_id"], &[])
    );
    assert_eq!(sel("fct_orders"), with(vec!["fct_orders"], &FCT_TESTS));
    assert_eq!(sel("countries"), ["countries"]);
}

#[test]
fn fqn_method_matches_folders_packages_and_wildcards() {
    let staging = with(
        vec!["stg_customers", "stg_orders", "unique_stg_orders_id"],
        &[],
    );
    assert_eq!(sel("staging"), staging);
    assert_eq!(sel("proj.staging"), staging);
    assert_eq!(sel("fqn:staging.*"), staging);
    assert_eq!(sel("fqn:proj.staging.stg_*"), staging);
    assert_eq!(sel("marts.finance"), with(vec!["fct_orders"], &FCT_TESTS));
    assert_eq!(sel("other_pkg.*"), ["pkg_model"]);
    // Like dbt: a wildcard part is matched against the rest of the dotted fqn, so
    // `stg_*` does not reach models inside a folder; the unit test's fqn is
    // `proj.fct_orders.ut_fct`, so `fct_orders.*` finds it.
    assert_eq!(sel("stg_*"), Vec::<String>::new());
    assert_eq!(sel("fct_orders.*"), ["ut_fct"]);
    // Like dbt, fqn matches nodes and exposures, never sources (or operations).
    let all = sel("fqn:*");
    assert_eq!(all.len(), 14);
    assert!(all.contains(&"dash".to_owned()));
    assert_eq!(sel("fqn:proj.da*"), ["dash"]);
    assert!(
        !all.iter()
            .any(|n| n.contains("on-run-end") || n.starts_with("raw."))
    );
}

#[test]
fn path_and_file_methods() {
    let staging = with(
        vec!["stg_customers", "stg_orders", "unique_stg_orders_id"],
        &[],
    );
    assert_eq!(sel("models/staging"), staging);
    assert_eq!(sel("path:models/staging/"), staging);
    assert_eq!(
        sel("path:./models/staging/stg_orders.sql"),
        with(vec!["stg_orders", "unique_stg_orders_id"], &[])
    );
    assert_eq!(
        sel("models/marts/*/fct_*.sql"),
        with(vec!["fct_orders"], &FCT_TESTS)
    );
    assert_eq!(
        sel("path:models/**/fct_orders.sql"),
        with(vec!["fct_orders"], &FCT_TESTS)
    );
    assert_eq!(sel("path:seeds"), ["countries"]);
    // A path is relative to the project root, not to the models folder.
    assert_eq!(sel("staging/stg_orders.sql"), Vec::<String>::new());
    assert_eq!(sel("fct_orders.sql"), with(vec!["fct_orders"], &FCT_TESTS));
    assert_eq!(sel("file:fct_orders"), with(vec!["fct_orders"], &FCT_TESTS));
    assert_eq!(sel("file:countries.csv"), ["countries"]);
}

#[test]
fn tag_and_package_methods() {
    let marts = with(vec!["dim_customers", "fct_orders"], &FCT_TESTS);
    assert_eq!(sel("tag:marts"), marts);
    assert_eq!(sel("tag:fin*"), with(vec!["fct_orders"], &FCT_TESTS));
    assert_eq!(
        sel("tag:raw"),
        with(vec!["raw.orders", "source_not_null_raw_orders_id"], &[])
    );
    assert_eq!(sel("package:other_pkg"), ["pkg_model"]);
    assert_eq!(sel("package:other*"), ["pkg_model"]);
    let this = sel("package:this");
    assert!(this.contains(&"dash".to_owned()) && !this.contains(&"pkg_model".to_owned()));
}

#[test]
fn config_method_compares_values_and_list_members() {
    let fct = with(vec!["fct_orders"], &FCT_TESTS);
    assert_eq!(sel("config.materialized:table"), fct);
    assert_eq!(sel("config.meta.owner:finance"), fct);
    assert_eq!(sel("config.meta.tier:1"), fct);
    assert_eq!(sel("config.grants.select:auditor"), fct);
    assert_eq!(sel("config.tags:nightly"), ["int_joined"]);
    assert_eq!(sel("config.persist_docs.relation:true"), fct);
    // dbt compares config values exactly: no wildcards.
    assert_eq!(sel("config.materialized:tab*"), Vec::<String>::new());
    // Defaults count: a seed is enabled and materialized as `seed`.
    assert_eq!(sel("config.enabled:true,resource_type:seed"), ["countries"]);
    assert_eq!(sel("config.materialized:seed"), ["countries"]);
    assert_eq!(sel("config.materialized:view,tag:staging").len(), 3);
}

#[test]
fn source_method_forms() {
    let both = vec![
        "raw.customers",
        "raw.orders",
        "source_not_null_raw_orders_id",
    ];
    assert_eq!(sel("source:raw"), with(both.clone(), &[]));
    assert_eq!(sel("source:*"), with(both.clone(), &[]));
    assert_eq!(sel("source:raw.*"), with(both, &[]));
    assert_eq!(sel("source:proj.raw.cust*"), ["raw.customers"]);
    assert_eq!(
        sel("source:raw.orders"),
        with(vec!["raw.orders", "source_not_null_raw_orders_id"], &[])
    );
    assert_eq!(sel("source:other.raw.orders"), Vec::<String>::new());
    let err = try_sel("source:a.b.c.d").unwrap_err();
    assert!(err.to_string().contains("package.source.table"), "{err}");
    let down = sel("source:raw.orders+");
    for n in [
        "raw.orders",
        "stg_orders",
        "int_joined",
        "fct_orders",
        "dash",
        "ut_fct",
        "unique_stg_orders_id",
    ] {
        assert!(down.contains(&n.to_owned()), "{n} missing from {down:?}");
    }
    assert!(!down.contains(&"stg_customers".to_owned()));
}

#[test]
fn resource_and_test_methods() {
    assert_eq!(sel("resource_type:seed"), ["countries"]);
    assert_eq!(sel("resource_type:exposure"), ["dash"]);
    assert_eq!(sel("resource_type:unit_test"), ["ut_fct"]);
    assert_eq!(
        sel("resource_type:source").len(),
        3,
        "sources and their test"
    );
    let err = try_sel("resource_type:modle").unwrap_err();
    assert!(err.to_string().contains("valid types: model"), "{err}");
    assert!(
        sel("resource_type:operation")
            .iter()
            .all(|n| n.contains("on-run-end"))
    );
    assert_eq!(sel("test_type:singular"), ["assert_positive"]);
    assert_eq!(sel("test_type:unit"), ["ut_fct"]);
    assert_eq!(sel("test_type:generic").len(), 4);
    assert_eq!(sel("test_type:data").len(), 5);
    assert_eq!(sel("test_name:unique"), ["unique_stg_orders_id"]);
    assert_eq!(
        sel("test_name:not_*"),
        ["not_null_fct_orders_id", "source_not_null_raw_orders_id"]
    );
    assert_eq!(sel("unit_test:ut_fct"), ["ut_fct"]);
    assert_eq!(sel("exposure:dash"), ["dash"]);
    assert_eq!(sel("exposure:proj.d*"), ["dash"]);
    assert_eq!(sel("metric:*"), Vec::<String>::new());
}

#[test]
fn graph_operators() {
    assert_eq!(
        sel("+fct_orders"),
        with(
            vec![
                "countries",
                "fct_orders",
                "int_joined",
                "raw.customers",
                "raw.orders",
                "stg_customers",
                "stg_orders"
            ],
            &[
                "assert_positive",
                "not_null_fct_orders_id",
                "relationships_fct_orders_customer_id",
                "ut_fct",
                "unique_stg_orders_id",
                "source_not_null_raw_orders_id"
            ],
        )
    );
    assert_eq!(
        sel("1+fct_orders"),
        with(vec!["countries", "fct_orders", "int_joined"], &FCT_TESTS)
    );
    let kids = sel("stg_customers+");
    assert_eq!(
        kids,
        with(
            vec![
                "dash",
                "dim_customers",
                "fct_orders",
                "int_joined",
                "stg_customers"
            ],
            &FCT_TESTS
        )
    );
    assert_eq!(
        sel("stg_customers+1"),
        [
            "dim_customers",
            "int_joined",
            "relationships_fct_orders_customer_id",
            "stg_customers"
        ]
    );
    assert_eq!(sel("int_joined+1").len(), 1 + 1 + FCT_TESTS.len());
    // @: the node, its descendants, and every ancestor of those.
    let at = sel("@stg_orders");
    for n in [
        "stg_orders",
        "int_joined",
        "fct_orders",
        "dash",
        "stg_customers",
        "countries",
        "raw.customers",
        "raw.orders",
        "dim_customers",
    ] {
        assert!(at.contains(&n.to_owned()), "{n} missing from {at:?}");
    }
    assert!(!at.contains(&"pkg_model".to_owned()));
    assert_eq!(
        sel("+exposure:dash")
            .iter()
            .filter(|n| *n == "countries" || *n == "dash")
            .count(),
        2
    );
    let err = try_sel("@+x").unwrap_err();
    assert!(err.to_string().contains("`@` cannot be combined"), "{err}");
}

#[test]
fn unions_intersections_and_exclusions() {
    assert_eq!(
        sel("stg_orders stg_customers"),
        with(
            vec!["stg_customers", "stg_orders", "unique_stg_orders_id"],
            &[]
        )
    );
    assert_eq!(
        sel_ex(&["stg_orders", "stg_customers"], &[]),
        sel("stg_orders stg_customers")
    );
    assert_eq!(
        sel("tag:marts,config.materialized:table"),
        with(vec!["fct_orders"], &FCT_TESTS)
    );
    assert_eq!(
        sel("+fct_orders,stg_customers+"),
        with(
            vec!["fct_orders", "int_joined", "stg_customers"],
            &FCT_TESTS
        )
    );
    assert_eq!(
        sel_ex(&["staging"], &["stg_customers"]),
        ["stg_orders", "unique_stg_orders_id"]
    );
    // Exclusion is eager: excluding dim_customers also drops the relationships test
    // between fct_orders and dim_customers.
    assert_eq!(
        sel_ex(&["tag:marts"], &["dim_customers"]),
        [
            "assert_positive",
            "fct_orders",
            "not_null_fct_orders_id",
            "ut_fct"
        ]
    );
    // --exclude alone subtracts from everything.
    let all_but = sel_ex(&[], &["tag:marts", "source:*"]);
    assert!(
        all_but.contains(&"stg_orders".to_owned()) && !all_but.contains(&"fct_orders".to_owned())
    );
    assert!(
        !all_but.contains(&"raw.orders".to_owned())
            && all_but.contains(&"unique_stg_orders_id".to_owned())
    );
    assert!(!all_but.contains(&"source_not_null_raw_orders_id".to_owned()));
}

#[test]
fn indirect_selection_modes() {
    use IndirectSelection::*;
    assert_eq!(
        sel_mode("fct_orders", Eager),
        with(vec!["fct_orders"], &FCT_TESTS)
    );
    // cautious: the relationships test also needs dim_customers.
    assert_eq!(
        sel_mode("fct_orders", Cautious),
        [
            "assert_positive",
            "fct_orders",
            "not_null_fct_orders_id",
            "ut_fct"
        ]
    );
    assert_eq!(
        sel_mode("fct_orders dim_customers", Cautious),
        with(vec!["dim_customers", "fct_orders"], &FCT_TESTS)
    );
    // buildable: parents must be selected or upstream of the selection.
    assert_eq!(
        sel_mode("fct_orders", Buildable),
        [
            "assert_positive",
            "fct_orders",
            "not_null_fct_orders_id",
            "ut_fct"
        ]
    );
    assert_eq!(
        sel_mode("fct_orders stg_orders", Buildable),
        with(
            vec!["fct_orders", "stg_orders", "unique_stg_orders_id"],
            &["assert_positive", "not_null_fct_orders_id", "ut_fct"]
        )
    );
    // The unit test's fqn is `proj.fct_orders.ut_fct`: `fct_orders` matches it directly.
    assert_eq!(sel_mode("fct_orders", Empty), ["fct_orders", "ut_fct"]);
    // A test selected directly stays selected in every mode.
    assert_eq!(
        sel_mode("test_name:unique", Empty),
        ["unique_stg_orders_id"]
    );
}

#[test]
fn nothing_selected_means_everything_but_hooks_in_topological_order() {
    let mf = project();
    let dag = Dag::build(&mf).unwrap();
    let ids = select(
        &mf,
        &dag,
        &SelectionCriteria::default(),
        &SelectorSpec::default(),
    )
    .unwrap();
    assert_eq!(ids.len(), dag.len() - 1);
    assert!(!ids.iter().any(|id| id.as_str().starts_with("operation.")));
    let order: Vec<&UniqueId> = dag
        .topo_order()
        .iter()
        .filter_map(|id| ids.get(id))
        .collect();
    assert!(ids.iter().eq(order));
}

#[test]
fn bad_selectors_explain_themselves() {
    let err = try_sel("colour:red").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("unknown selection method `colour`") && msg.contains("tag, source, path"),
        "{msg}"
    );
    assert!(
        try_sel("config:table")
            .unwrap_err()
            .to_string()
            .contains("config.materialized:table")
    );
    assert!(try_sel("tag:").unwrap_err().to_string().contains("empty"));
    assert!(
        try_sel("test_type:weird")
            .unwrap_err()
            .to_string()
            .contains("generic, singular")
    );
    assert!(try_sel("a,,b").is_err());
}

fn yaml_spec() -> SelectorSpec {
    let yml = json!({"selectors": [
        {"name": "nightly", "definition": "tag:nightly+"},
        {"name": "kv", "definition": {"tag": "staging"}},
        {"name": "full", "definition": {
            "method": "fqn", "value": "stg_customers", "children": true, "children_depth": 1,
            "exclude": ["dim_customers"]}},
        {"name": "marts_no_dim", "default": true, "definition": {"union": [
            {"method": "tag", "value": "marts"},
            "countries",
            {"exclude": [{"intersection": ["tag:marts", "dim_customers"]}]}]}},
        {"name": "both", "definition": {"intersection": [
            {"method": "path", "value": "models/marts", "parents": true},
            {"method": "tag", "value": "staging"}]}},
        {"name": "reuse", "definition": {"union": [{"method": "selector", "value": "kv"}, "countries"]}},
        {"name": "cautious_fct", "definition": {"method": "fqn", "value": "fct_orders", "indirect_selection": "cautious"}},
        {"name": "at", "definition": {"method": "fqn", "value": "stg_orders", "childrens_parents": true}},
    ]});
    SelectorSpec {
        selectors_yml: Some(yml),
        state_manifest: None,
        ..SelectorSpec::default()
    }
}

fn by_selector(name: &str) -> Result<Vec<String>, GraphError> {
    let criteria = SelectionCriteria {
        selector: Some(name.to_owned()),
        ..Default::default()
    };
    run(
        &project(),
        &criteria,
        &yaml_spec(),
        IndirectSelection::Eager,
    )
}

#[test]
fn yaml_selectors() {
    assert_eq!(
        by_selector("nightly").unwrap(),
        with(vec!["dash", "fct_orders", "int_joined"], &FCT_TESTS)
    );
    assert_eq!(
        by_selector("kv").unwrap(),
        ["stg_customers", "stg_orders", "unique_stg_orders_id"]
    );
    // Children to depth 1 minus dim_customers, whose exclusion also drops its tests.
    assert_eq!(
        by_selector("full").unwrap(),
        ["int_joined", "stg_customers"]
    );
    assert_eq!(
        by_selector("marts_no_dim").unwrap(),
        with(
            vec!["countries", "fct_orders"],
            &["assert_positive", "not_null_fct_orders_id", "ut_fct"]
        )
    );
    assert_eq!(
        by_selector("both").unwrap(),
        ["stg_customers", "stg_orders", "unique_stg_orders_id"]
    );
    assert_eq!(
        by_selector("reuse").unwrap(),
        [
            "countries",
            "stg_customers",
            "stg_orders",
            "unique_stg_orders_id"
        ]
    );
    assert_eq!(
        by_selector("cautious_fct").unwrap(),
        [
            "assert_positive",
            "fct_orders",
            "not_null_fct_orders_id",
            "ut_fct"
        ]
    );
    assert_eq!(by_selector("at").unwrap(), sel("@stg_orders"));
    let err = by_selector("nightlly").unwrap_err();
    assert!(err.to_string().contains("did you mean `nightly`"), "{err}");
}

#[test]
fn default_yaml_selector_applies_only_without_select_or_exclude() {
    let mf = project();
    let none = SelectionCriteria::default();
    assert_eq!(
        run(&mf, &none, &yaml_spec(), IndirectSelection::Eager).unwrap(),
        by_selector("marts_no_dim").unwrap()
    );
    let explicit = SelectionCriteria {
        select: vec!["countries".into()],
        ..Default::default()
    };
    assert_eq!(
        run(&mf, &explicit, &yaml_spec(), IndirectSelection::Eager).unwrap(),
        ["countries"]
    );
}

#[test]
fn yaml_selector_errors() {
    let spec = |def: Value| SelectorSpec {
        selectors_yml: Some(json!({"selectors": [{"name": "s", "definition": def}]})),
        state_manifest: None,
        ..SelectorSpec::default()
    };
    let criteria = SelectionCriteria {
        selector: Some("s".into()),
        ..Default::default()
    };
    let mf = project();
    for (def, expect) in [
        (json!({"union": ["a"], "intersection": ["b"]}), "not both"),
        (
            json!({"method": "tag", "value": "x", "parent": true}),
            "unknown key `parent`",
        ),
        (
            json!({"method": "selector", "value": "nope"}),
            "not defined above",
        ),
        (
            json!({"method": "tag", "value": "x", "indirect_selection": "lazy"}),
            "eager, cautious",
        ),
        (
            json!({"union": [{"exclude": ["a"]}, {"exclude": ["b"]}]}),
            "only one `exclude:`",
        ),
        (
            json!({"method": "fqn", "value": "x", "parents": true, "childrens_parents": true}),
            "childrens_parents",
        ),
    ] {
        let err = run(&mf, &criteria, &spec(def.clone()), IndirectSelection::Eager).unwrap_err();
        assert!(err.to_string().contains(expect), "{def}: {err}");
    }
    let two_defaults = SelectorSpec {
        selectors_yml: Some(json!({"selectors": [
            {"name": "a", "default": true, "definition": "x"},
            {"name": "b", "default": true, "definition": "y"}]})),
        state_manifest: None,
        ..SelectorSpec::default()
    };
    let err = run(
        &mf,
        &SelectionCriteria::default(),
        &two_defaults,
        IndirectSelection::Eager,
    )
    .unwrap_err();
    assert!(err.to_string().contains("both `default: true`"), "{err}");
}

/// The state manifest is the current project as JSON, edited to look like the past.
fn state_spec(edit: impl FnOnce(&mut Value)) -> SelectorSpec {
    let mut doc = manifest_json(&project());
    edit(&mut doc);
    SelectorSpec {
        selectors_yml: None,
        state_manifest: Some(doc),
        ..SelectorSpec::default()
    }
}

fn state_sel(select: &str, spec: &SelectorSpec) -> Vec<String> {
    let criteria = SelectionCriteria {
        select: vec![select.to_owned()],
        ..Default::default()
    };
    run(&project(), &criteria, spec, IndirectSelection::Empty).unwrap()
}

#[test]
fn state_methods_against_an_unchanged_manifest() {
    let spec = state_spec(|_| {});
    assert_eq!(state_sel("state:modified", &spec), Vec::<String>::new());
    assert_eq!(state_sel("state:new", &spec), Vec::<String>::new());
    assert_eq!(state_sel("state:unmodified", &spec).len(), 17);
    assert_eq!(state_sel("state:old", &spec).len(), 17);
}

#[test]
fn state_modified_and_its_sub_selectors() {
    let spec = state_spec(|doc| {
        let nodes = &mut doc["nodes"];
        nodes[&m("stg_orders")]["checksum"]["checksum"] = json!("0000");
        nodes
            .as_object_mut()
            .unwrap()
            .shift_remove(&m("int_joined"));
        nodes[&m("dim_customers")]["config"]["materialized"] = json!("table");
        nodes[&m("stg_customers")]["config"]["schema"] = json!("old_schema");
        nodes[&m("fct_orders")]["description"] = json!("old words");
        // Like dbt, tags and meta changes are not config changes.
        nodes[&m("countries")]["config"]["tags"] = json!(["old"]);
        nodes[&m("countries")]["config"]["meta"] = json!({"owner": "someone else"});
        doc["macros"]["macro.proj.round2"]["macro_sql"] =
            json!("{% macro round2(x) %}{{ x }}{% endmacro %}");
        doc["sources"]["source.proj.raw.customers"]["identifier"] = json!("customers_v1");
        doc["exposures"]["exposure.proj.dash"]["url"] = json!("https://old");
    });
    assert_eq!(state_sel("state:new", &spec), ["int_joined"]);
    assert_eq!(
        state_sel("state:modified.body", &spec),
        ["dash", "int_joined", "raw.customers", "stg_orders"]
    );
    assert_eq!(
        state_sel("state:modified.configs", &spec),
        ["dim_customers", "int_joined"]
    );
    assert_eq!(
        state_sel("state:modified.relation", &spec),
        ["int_joined", "raw.customers", "stg_customers"]
    );
    // fct_orders persists its relation description, so a new description is a change.
    assert_eq!(
        state_sel("state:modified.persisted_descriptions", &spec),
        ["fct_orders", "int_joined"]
    );
    // fct_orders calls `cents`, which calls the changed `round2`.
    assert_eq!(
        state_sel("state:modified.macros", &spec),
        ["fct_orders", "int_joined"]
    );
    assert_eq!(
        state_sel("state:modified", &spec),
        [
            "dash",
            "dim_customers",
            "fct_orders",
            "int_joined",
            "raw.customers",
            "stg_customers",
            "stg_orders"
        ]
    );
    let unmodified = state_sel("state:unmodified", &spec);
    assert!(
        unmodified.contains(&"countries".to_owned())
            && !unmodified.contains(&"stg_orders".to_owned())
    );
    assert!(!state_sel("state:old", &spec).contains(&"int_joined".to_owned()));
    let plus = state_sel("state:modified.body+", &spec);
    assert!(plus.contains(&"fct_orders".to_owned()));
}

#[test]
fn generic_tests_compare_code_when_the_state_has_no_checksum() {
    let spec = state_spec(|doc| {
        let t = &mut doc["nodes"]["test.proj.unique_stg_orders_id.abc123"];
        t["test_metadata"]["kwargs"]["column_name"] = json!("other_id");
    });
    assert_eq!(
        state_sel("state:modified.body", &spec),
        ["unique_stg_orders_id"]
    );
}

#[test]
fn state_errors() {
    let err = try_sel("state:modified").unwrap_err();
    assert!(matches!(err, GraphError::State { .. }), "{err}");
    let not_manifest = SelectorSpec {
        selectors_yml: None,
        state_manifest: Some(json!({"hello": 1})),
        ..SelectorSpec::default()
    };
    let criteria = SelectionCriteria {
        select: vec!["state:new".into()],
        ..Default::default()
    };
    let err = run(
        &project(),
        &criteria,
        &not_manifest,
        IndirectSelection::Eager,
    )
    .unwrap_err();
    assert!(err.to_string().contains("no `nodes` object"), "{err}");
    let spec = state_spec(|_| {});
    let criteria = SelectionCriteria {
        select: vec!["state:changed".into()],
        ..Default::default()
    };
    let err = run(&project(), &criteria, &spec, IndirectSelection::Eager).unwrap_err();
    assert!(err.to_string().contains("modified.body"), "{err}");
}

#[test]
fn glob_matching() {
    assert!(glob_match("stg_orders", "stg_*"));
    assert!(glob_match("a.b.c", "a.*"));
    assert!(glob_match("abc", "a?c"));
    assert!(glob_match("abc", "a[a-c]c"));
    assert!(!glob_match("adc", "a[!d]c"));
    assert!(glob_match("a[", "a["));
    assert!(!glob_match("stg_orders", "stg_"));
    assert!(glob_match("", "*"));
}

#[test]
fn a_named_selector_wins_over_select_and_exclude_like_dbt() {
    let criteria = SelectionCriteria {
        select: vec!["countries".into()],
        exclude: vec!["stg_orders".into()],
        selector: Some("kv".into()),
    };
    assert_eq!(
        run(
            &project(),
            &criteria,
            &yaml_spec(),
            IndirectSelection::Eager
        )
        .unwrap(),
        ["stg_customers", "stg_orders", "unique_stg_orders_id"]
    );
}

#[test]
fn selectors_that_match_nothing_are_reported() {
    let mf = project();
    let dag = Dag::build(&mf).unwrap();
    let criteria = SelectionCriteria {
        select: vec!["stg_orders stg_ordres+ tag:nope,tag:marts".into()],
        exclude: vec!["tag:nope".into()],
        selector: None,
    };
    let r = select_detailed(
        &mf,
        &dag,
        &criteria,
        &SelectorSpec::default(),
        IndirectSelection::Eager,
    )
    .unwrap();
    assert_eq!(r.unmatched, ["stg_ordres+", "tag:nope"]);
    assert_eq!(r.ids.len(), 2);
    let warnings = r.warnings();
    assert_eq!(warnings.len(), 2);
    assert_eq!(warnings[0].code, "selector-matches-nothing");
    assert!(!warnings[0].is_error());
    assert!(warnings[0].message.contains("`stg_ordres+`"));
}

#[test]
fn result_and_source_status_need_the_earlier_artifacts() {
    for s in ["result:error", "source_status:fresher"] {
        let err = try_sel(s).unwrap_err();
        assert!(err.to_string().contains("--state"), "{s}: {err}");
    }
    let err = try_sel("result:bogus").unwrap_err();
    assert!(err.to_string().contains("result must be one of"), "{err}");
}

#[test]
fn versioned_models_by_name_version_and_version_method() {
    let mut mf = project();
    for (v, name) in [
        ("1", "dim_accounts_v1"),
        ("2", "dim_accounts_v2"),
        ("3", "dim_accounts_v3"),
    ] {
        let mut n = node(Model, name, &[]);
        n.fqn = vec![
            "proj".into(),
            "marts".into(),
            "dim_accounts".into(),
            format!("v{v}"),
        ];
        n.name = "dim_accounts".into();
        n.version = Some(v.into());
        n.latest_version = Some("2".into());
        mf.nodes.insert(n.unique_id.clone(), n);
    }
    let names = |select: &str| -> Vec<String> {
        let criteria = SelectionCriteria {
            select: vec![select.into()],
            ..Default::default()
        };
        let dag = Dag::build(&mf).unwrap();
        let ids = select_with(
            &mf,
            &dag,
            &criteria,
            &SelectorSpec::default(),
            IndirectSelection::Eager,
        )
        .unwrap();
        let mut v: Vec<String> = ids
            .iter()
            .map(|id| id.as_str().rsplit('.').next().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names("dim_accounts"),
        ["dim_accounts_v1", "dim_accounts_v2", "dim_accounts_v3"]
    );
    assert_eq!(names("dim_accounts.v2"), ["dim_accounts_v2"]);
    assert_eq!(names("dim_accounts_v3"), ["dim_accounts_v3"]);
    assert_eq!(names("version:latest"), ["dim_accounts_v2"]);
    assert_eq!(names("version:prerelease"), ["dim_accounts_v3"]);
    assert_eq!(names("version:old"), ["dim_accounts_v1"]);
    assert!(names("version:none").contains(&"stg_orders".to_owned()));
    assert!(
        !names("version:none")
            .iter()
            .any(|n| n.starts_with("dim_accounts"))
    );
}
