//! Builders for small manifests in unit tests.

use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::{Value, json};

use mfb_diagnostics::Location;

use crate::{
    DependsOn, Exposure, MacroNode, Manifest, Node, RefCall, ResourceType, SourceNode,
    TestMetadata, UniqueId,
};

pub const PKG: &str = "proj";

/// A node of `kind` named `name` depending on `deps` (unique ids). Models live in
/// `models/<name>.sql`, tests in `tests/`, seeds in `seeds/`; fqn `[proj, name]`.
pub fn node(kind: ResourceType, name: &str, deps: &[&str]) -> Node {
    let folder = match kind {
        ResourceType::Seed => "seeds",
        ResourceType::Snapshot => "snapshots",
        ResourceType::Analysis => "analyses",
        ResourceType::Test | ResourceType::UnitTest => "tests",
        _ => "models",
    };
    let ext = if kind == ResourceType::Seed {
        "csv"
    } else {
        "sql"
    };
    let mut config: IndexMap<String, Value> = IndexMap::new();
    let materialized = match kind {
        ResourceType::Model => Some("view"),
        ResourceType::Seed => Some("seed"),
        ResourceType::Snapshot => Some("snapshot"),
        ResourceType::Test => Some("test"),
        _ => None,
    };
    if let Some(m) = materialized {
        config.insert("materialized".into(), json!(m));
    }
    let refs = deps
        .iter()
        .filter(|d| !d.starts_with("source."))
        .map(|d| RefCall {
            package: None,
            name: d.rsplit('.').next().unwrap_or(d).to_owned(),
            version: None,
            at: None,
        })
        .collect();
    let sources = deps
        .iter()
        .filter(|d| d.starts_with("source."))
        .map(|d| {
            let parts: Vec<&str> = d.split('.').collect();
            [parts[2].to_owned(), parts[3].to_owned()]
        })
        .collect();
    Node {
        unique_id: UniqueId::new(format!("{}.{PKG}.{name}", kind.as_str())),
        resource_type: kind,
        package_name: PKG.to_owned(),
        name: name.to_owned(),
        fqn: vec![PKG.to_owned(), name.to_owned()],
        path: format!("{name}.{ext}"),
        original_file_path: format!("{folder}/{name}.{ext}"),
        patch_path: None,
        raw_code: Arc::from(format!("select 1 as id -- {name}")),
        checksum: format!("{:064x}", name.len()),
        config,
        tags: Vec::new(),
        description: String::new(),
        meta: IndexMap::new(),
        columns: IndexMap::new(),
        database: "db".to_owned(),
        schema: "analytics".to_owned(),
        alias: name.to_owned(),
        relation_name: Some(format!("\"db\".\"analytics\".\"{name}\"")),
        refs,
        sources,
        depends_on: DependsOn {
            macros: Vec::new(),
            nodes: deps.iter().map(|d| (*d).to_owned()).collect(),
        },
        compiled_code: None,
        test_metadata: None,
        column_name: None,
        attached_node: deps.first().map(|d| (*d).to_owned()),
        file_key_name: None,
        unit_test: None,
        version: None,
        latest_version: None,
        defined_at: Location::file(format!("{folder}/{name}.{ext}")),
    }
}

/// A generic test `test_name` on `column` of the node `on` (a unique id).
pub fn generic_test(test_name: &str, on: &str, column: &str, extra_deps: &[&str]) -> Node {
    let model = on.rsplit('.').next().unwrap_or(on);
    let name = format!("{test_name}_{model}_{column}");
    let mut deps = vec![on];
    deps.extend_from_slice(extra_deps);
    let mut n = node(ResourceType::Test, &name, &deps);
    n.unique_id = UniqueId::new(format!("test.{PKG}.{name}.abc123"));
    n.checksum = String::new();
    n.raw_code = Arc::from(format!(
        "{{{{ test_{test_name}(**_dbt_generic_test_kwargs) }}}}"
    ));
    n.original_file_path = "models/schema.yml".to_owned();
    n.column_name = Some(column.to_owned());
    n.attached_node = Some(on.to_owned());
    n.file_key_name = Some(format!("models.{model}"));
    let mut kwargs = IndexMap::new();
    kwargs.insert("column_name".to_owned(), json!(column));
    kwargs.insert(
        "model".to_owned(),
        json!(format!("{{{{ get_where_subquery(ref('{model}')) }}}}")),
    );
    n.test_metadata = Some(TestMetadata {
        name: test_name.to_owned(),
        kwargs,
        namespace: None,
    });
    n
}

/// A source `source_name.table`.
pub fn source(source_name: &str, table: &str) -> SourceNode {
    SourceNode {
        unique_id: UniqueId::new(format!("source.{PKG}.{source_name}.{table}")),
        package_name: PKG.to_owned(),
        source_name: source_name.to_owned(),
        name: table.to_owned(),
        identifier: table.to_owned(),
        database: "db".to_owned(),
        schema: source_name.to_owned(),
        relation_name: format!("\"db\".\"{source_name}\".\"{table}\""),
        fqn: vec![PKG.to_owned(), source_name.to_owned(), table.to_owned()],
        path: "models/sources.yml".to_owned(),
        original_file_path: "models/sources.yml".to_owned(),
        description: String::new(),
        source_description: String::new(),
        loader: String::new(),
        loaded_at_field: None,
        freshness: None,
        columns: IndexMap::new(),
        meta: IndexMap::new(),
        source_meta: IndexMap::new(),
        tags: Vec::new(),
        config: IndexMap::new(),
        quoting: IndexMap::new(),
        defined_at: Location::file("models/sources.yml"),
    }
}

/// An exposure depending on `deps`.
pub fn exposure(name: &str, deps: &[&str]) -> Exposure {
    Exposure {
        unique_id: UniqueId::new(format!("exposure.{PKG}.{name}")),
        package_name: PKG.to_owned(),
        name: name.to_owned(),
        label: None,
        exposure_type: "dashboard".to_owned(),
        url: None,
        maturity: None,
        description: String::new(),
        owner: IndexMap::from([("name".to_owned(), json!("Ops"))]),
        fqn: vec![PKG.to_owned(), name.to_owned()],
        path: "exposures.yml".to_owned(),
        original_file_path: "models/exposures.yml".to_owned(),
        refs: Vec::new(),
        sources: Vec::new(),
        depends_on: DependsOn {
            macros: Vec::new(),
            nodes: deps.iter().map(|d| (*d).to_owned()).collect(),
        },
        meta: IndexMap::new(),
        tags: Vec::new(),
        config: IndexMap::new(),
    }
}

/// A macro with `sql` as its body.
pub fn macro_node(name: &str, sql: &str, deps: &[&str]) -> MacroNode {
    MacroNode {
        unique_id: UniqueId::new(format!("macro.{PKG}.{name}")),
        package_name: PKG.to_owned(),
        name: name.to_owned(),
        path: format!("macros/{name}.sql"),
        original_file_path: format!("macros/{name}.sql"),
        macro_sql: Arc::from(sql),
        description: String::new(),
        depends_on_macros: deps.iter().map(|d| (*d).to_owned()).collect(),
        arguments: Vec::new(),
        meta: IndexMap::new(),
    }
}

/// A manifest holding `nodes`, `sources` and `exposures`.
pub fn manifest(nodes: Vec<Node>, sources: Vec<SourceNode>, exposures: Vec<Exposure>) -> Manifest {
    Manifest {
        nodes: nodes
            .into_iter()
            .map(|n| (n.unique_id.clone(), n))
            .collect(),
        sources: sources
            .into_iter()
            .map(|s| (s.unique_id.clone(), s))
            .collect(),
        exposures: exposures
            .into_iter()
            .map(|e| (e.unique_id.clone(), e))
            .collect(),
        project_name: PKG.to_owned(),
        adapter_type: "postgres".to_owned(),
        invocation_id: "00000000-0000-0000-0000-000000000000".to_owned(),
        generated_at: "2024-01-01T00:00:00.000000Z".to_owned(),
        ..Manifest::default()
    }
}

/// Model unique id.
pub fn m(name: &str) -> String {
    format!("model.{PKG}.{name}")
}
