//! Per-tenant builds: `--all-tenants` and `--tenant ID` build the models once per tenant of
//! tenants.yml into the tenant's schema, with `var('current_tenant_id')` filtering a shared
//! source down to the tenant's rows; `run-operation --all-tenants` migrates every tenant
//! schema; an unknown id names the valid ones; a failing tenant does not stop the others.

use mfb_testkit::TestDb;

mod common;
use common::{mfb, one, write};

/// A project reading the shared table `raw.orders` (tenants 1, 2 and 3, with 1, 2 and 3
/// orders), its models filtered by `tenant_filter()`.
fn project(db: &TestDb, tenants_yml: &str) -> tempfile::TempDir {
    db.batch_execute(
        "create schema raw;
         create table raw.orders (id int primary key, tenant_id int not null, amount int not null);
         insert into raw.orders values (1, 1, 10), (2, 2, 20), (3, 2, 30), (4, 3, 40), (5, 3, 50), (6, 3, 60);",
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(
        p,
        "dbt_project.yml",
        "name: tb\nprofile: tb\nmodels:\n  tb:\n    +materialized: table\n",
    );
    write(p, "tenants.yml", tenants_yml);
    write(
        p,
        "macros/tenant_filter.sql",
        "{% macro tenant_filter(column) -%}\n  {{ column }} = {{ var('current_tenant_id') }}\n{%- endmacro %}\n",
    );
    write(
        p,
        "models/sources.yml",
        "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: orders\n",
    );
    write(
        p,
        "models/orders.sql",
        "select id, tenant_id, amount from {{ source('raw', 'orders') }} where {{ tenant_filter('tenant_id') }}",
    );
    write(
        p,
        "models/order_totals.sql",
        "select '{{ var('tenant') }}' as tenant, '{{ target.schema }}' as built_in, count(*) as n, sum(amount) as total from {{ ref('orders') }}",
    );
    db.write_profiles_yml(p, "tb", "analytics").unwrap();
    dir
}

const THREE_TENANTS: &str = "tenants:\n  - id: 1\n    name: Acme\n  - id: 2\n    name: Globex\n  - id: 3\n    name: Initech\n";

#[test]
fn all_tenants_build_each_tenant_into_its_own_schema_with_its_rows_only() {
    let db = TestDb::create("mfb_tenant_builds");
    let dir = project(&db, THREE_TENANTS);
    let p = dir.path();

    let (code, text) = mfb(p, &["run", "--all-tenants", "--threads", "2"]);
    assert_eq!(code, 0, "{text}");
    // Each tenant's lines are prefixed with its id; one summary at the end.
    assert!(text.contains("[2] "), "{text}");
    assert!(text.contains("Finished running 3 tenants"), "{text}");
    assert!(text.contains("Done. PASS=6 WARN=0 ERROR=0"), "{text}");
    for (tenant, n, total) in [("1", "1", "10"), ("2", "2", "50"), ("3", "3", "150")] {
        let schema = format!("tenant_{tenant}");
        assert_eq!(
            one(
                &db,
                &format!(
                    "select string_agg(distinct tenant_id::text, ',') || ':' || count(*) from {schema}.orders"
                )
            ),
            format!("{tenant}:{n}"),
            "{schema}.orders holds only its tenant's rows"
        );
        assert_eq!(
            one(
                &db,
                &format!(
                    "select tenant || '/' || built_in || '/' || n || '/' || total from {schema}.order_totals"
                )
            ),
            format!("{tenant}/{schema}/{n}/{total}"),
            "ref() and target.schema resolve inside the tenant schema"
        );
    }
    // Nothing was built in the profile's own schema.
    assert_eq!(
        one(
            &db,
            "select count(*)::text from pg_namespace where nspname = 'analytics'"
        ),
        "0"
    );

    // run_results.json holds every tenant's results, each marked with its tenant; each
    // tenant's own artifacts are under target/tenants/<id>/.
    let rr: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("target/run_results.json")).unwrap())
            .unwrap();
    let results = rr["results"].as_array().unwrap();
    assert_eq!(results.len(), 6, "{rr}");
    let mut tagged: Vec<String> = results
        .iter()
        .map(|r| {
            format!(
                "{}@{}",
                r["unique_id"].as_str().unwrap(),
                r["tenant"].as_str().unwrap()
            )
        })
        .collect();
    tagged.sort();
    assert_eq!(tagged[0], "model.tb.order_totals@1");
    assert_eq!(tagged[5], "model.tb.orders@3");
    assert_eq!(rr["args"]["tenants"], serde_json::json!(["1", "2", "3"]));
    assert!(p.join("target/tenants/2/manifest.json").is_file());
    assert!(
        std::fs::read_to_string(p.join("target/tenants/2/compiled/tb/models/orders.sql"))
            .unwrap()
            .contains("tenant_id = 2")
    );

    // --tenant builds only the tenants named.
    db.batch_execute("insert into raw.orders values (7, 1, 70), (8, 2, 80)");
    let (code, text) = mfb(p, &["run", "--tenant", "2"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("Finished running 1 tenant "), "{text}");
    assert_eq!(one(&db, "select count(*)::text from tenant_2.orders"), "3");
    assert_eq!(one(&db, "select count(*)::text from tenant_1.orders"), "1");

    // An unknown id stops before anything runs and names the valid ones.
    let (code, text) = mfb(p, &["run", "--tenant", "1", "--tenant", "4"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("no tenant with id `4`"), "{text}");
    assert!(text.contains("the tenants are: 1, 2, 3"), "{text}");

    // A migration applied to every tenant schema.
    write(
        p,
        "macros/migrate.sql",
        "{% macro add_note() %}\n  {% do run_query(\"alter table \" ~ target.schema ~ \".orders add column if not exists note text default 'tenant \" ~ var('tenant') ~ \"'\") %}\n  {% do log('migrated ' ~ target.schema, info=True) %}\n{% endmacro %}\n",
    );
    let (code, text) = mfb(p, &["run-operation", "add_note", "--all-tenants"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("[3] ") && text.contains("migrated tenant_3"),
        "{text}"
    );
    for tenant in ["1", "2", "3"] {
        assert_eq!(
            one(
                &db,
                &format!("select distinct note from tenant_{tenant}.orders")
            ),
            format!("tenant {tenant}")
        );
    }
    let rr: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("target/run_results.json")).unwrap())
            .unwrap();
    assert_eq!(rr["results"].as_array().unwrap().len(), 3, "{rr}");
    assert_eq!(rr["results"][1]["unique_id"], "macro.tb.add_note");
    assert_eq!(rr["results"][1]["tenant"], "2");
}

#[test]
fn a_failing_tenant_does_not_stop_the_others() {
    let db = TestDb::create("mfb_tenant_fail");
    let dir = project(
        &db,
        &format!("settings:\n  schema_pattern: \"client_{{id}}\"\n{THREE_TENANTS}"),
    );
    let p = dir.path();
    // Divides by zero for tenant 2 only.
    write(
        p,
        "models/fragile.sql",
        "select 1 / ({{ var('tenant') }} - 2) as x from {{ ref('orders') }}",
    );
    write(
        p,
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n",
    );
    write(p, "seeds/regions.csv", "id,name\n1,north\n2,south\n");

    let (code, text) = mfb(p, &["build", "--all-tenants"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("division by zero"), "{text}");
    assert!(text.contains("tenant 2 (schema client_2)"), "{text}");
    assert!(text.contains("Tenant 2 (client_2):"), "{text}");
    // The seed, the models and the tests ran for every tenant; only tenant 2's fragile failed.
    for tenant in ["1", "3"] {
        assert_eq!(
            one(
                &db,
                &format!("select count(*)::text from client_{tenant}.fragile")
            ),
            tenant
        );
    }
    assert_eq!(one(&db, "select count(*)::text from client_2.regions"), "2");
    assert_eq!(
        one(
            &db,
            "select count(*)::text from pg_tables where schemaname = 'client_2' and tablename = 'fragile'"
        ),
        "0"
    );
    let rr: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("target/run_results.json")).unwrap())
            .unwrap();
    let statuses: Vec<String> = rr["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["unique_id"] == "model.tb.fragile")
        .map(|r| {
            format!(
                "{}:{}",
                r["tenant"].as_str().unwrap(),
                r["status"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(statuses, ["1:success", "2:error", "3:success"]);

    // retry cannot rerun per tenant yet: it refuses rather than build in the wrong schema.
    let (code, text) = mfb(p, &["retry"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("ran per tenant"), "{text}");
    assert!(text.contains("--tenant ID"), "{text}");
}
