//! `mfb docs generate` against a real PostgreSQL: catalog.json in dbt's v1 shape, with the
//! row-level-security facts as stats.

use mfb_testkit::TestDb;

mod common;
use common::{mfb, write};

#[test]
fn catalog_has_dbts_shape_and_rls_facts() {
    let db = TestDb::create("mfb_docs_catalog");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    db.batch_execute("create schema raw; create table raw.things (id int, label varchar(20)); comment on table raw.things is 'raw things';");
    write(p, "dbt_project.yml", "name: dc\nprofile: dc\n");
    write(
        p,
        "models/sources.yml",
        "version: 2\nsources:\n  - name: raw\n    schema: raw\n    tables:\n      - name: things\n",
    );
    write(
        p,
        "models/fct_things.sql",
        "{{ config(materialized='table', rls={'tenant_column': 'tenant_id', 'mode': 'session_setting'}, persist_docs={'relation': true}) }}\nselect id, 1 as tenant_id, label::text as label from {{ source('raw', 'things') }}",
    );
    write(
        p,
        "models/things_view.sql",
        "select id from {{ ref('fct_things') }}",
    );
    write(
        p,
        "models/schema.yml",
        "version: 2\nmodels:\n  - name: fct_things\n    description: the things\n",
    );
    db.write_profiles_yml(p, "dc", "analytics").unwrap();
    let (code, text) = mfb(p, &["run"]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = mfb(p, &["docs", "generate"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("column lineage: 2 of 2 models fully analysed (100%), 0 unparsed"),
        "{text}"
    );
    let catalog: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("target/catalog.json")).unwrap())
            .unwrap();
    assert_eq!(
        catalog["metadata"]["dbt_schema_version"],
        "https://schemas.getdbt.com/dbt/catalog/v1.json"
    );
    let table = &catalog["nodes"]["model.dc.fct_things"];
    assert_eq!(table["metadata"]["type"], "BASE TABLE");
    assert_eq!(table["metadata"]["comment"], "the things");
    assert_eq!(table["columns"]["tenant_id"]["type"], "integer");
    assert_eq!(table["columns"]["label"]["index"], 3);
    assert_eq!(table["stats"]["rls_enabled"]["value"], true);
    let policies = table["stats"]["rls_policies"]["value"].as_array().unwrap();
    assert!(
        policies[0]["using"].as_str().unwrap().contains("tenant_id"),
        "{policies:?}"
    );
    let view = &catalog["nodes"]["model.dc.things_view"];
    assert_eq!(view["metadata"]["type"], "VIEW");
    assert_eq!(view["stats"]["security_invoker"]["value"], true);
    let source = &catalog["sources"]["source.dc.raw.things"];
    assert_eq!(source["metadata"]["comment"], "raw things");
    assert_eq!(source["columns"]["label"]["type"], "character varying(20)");
}
