//! Parsing: every node rendered once with `execute = false`, in parallel.
//!
//! The render records `ref()`, `source()` and `config()` calls and the macros used.
//! Config precedence (lowest first): the package's own dbt_project.yml, the root project's
//! dbt_project.yml, properties YAML, the in-file `config()`. Disabled nodes are kept aside.
//! Then relation names, generic tests from properties, ref resolution (an unknown ref is an
//! error at the line that wrote it, with a close name suggested) and the DAG.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock};

use indexmap::IndexMap;
use mfb_diagnostics::{Diagnostic, IntoDiagnostic, Location, closest};
use mfb_graph::{
    ColumnInfo, Dag, DependsOn, DocNode, Exposure, MacroNode, Manifest, Node, RefCall,
    ResourceType, SourceNode, UniqueId,
};
use mfb_jinja::static_parse::StaticRecord;
use mfb_jinja::{JinjaValue, NodeScope, Recorder, Relation};
use mfb_project::{
    ColumnProps, ConfigTree, FileKind, NodeConfig, NodeProps, Package, ProjectFile, merge_config,
};
use rayon::prelude::*;
use regex::Regex;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::context::{ParseResolver, RefIndex};
use crate::load::display_prefix;
use crate::naming::Naming;
use crate::tests_gen::{TestTarget, generic_test};
use crate::{Diagnostics, Loaded};

/// The parsed project.
pub struct Parsed {
    pub loaded: Loaded,
    pub manifest: Manifest,
    pub dag: Dag,
    /// Test invocation templates (generic tests), by unique id.
    pub invocations: foldhash::HashMap<UniqueId, String>,
    pub warnings: Diagnostics,
    /// Nodes whose compile read the database: compiled just before they run, once their
    /// upstream is built (see `compile::compile_for_run`).
    pub deferred: HashSet<UniqueId>,
    /// Ephemeral models' rendered SQL (without CTEs of their own), for CTE injection.
    pub ephemeral_bodies: HashMap<UniqueId, String>,
}

impl std::fmt::Debug for Parsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parsed")
            .field("nodes", &self.manifest.nodes.len())
            .finish()
    }
}

/// A node tests can attach to: its unique id and model version.
type TestableNode = (String, Option<String>);

/// A node waiting for its parse render.
struct Pending {
    /// Dependencies known without rendering (built-in generic tests with plain arguments).
    static_deps: Option<(Vec<RefCall>, Vec<[String; 2]>)>,
    /// Config applied after the render's `config()` calls (see [`root_override`]).
    late_config: Option<NodeConfig>,
    node: Node,
    /// What to render: the file body, or a generic test's invocation.
    template: Arc<str>,
    /// Name used in errors (project-relative path).
    display_path: String,
}

static SNAPSHOT_BLOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)\{%-?\s*snapshot\s+(\w+)\s*-?%\}(.*?)\{%-?\s*endsnapshot\s*-?%\}")
        .expect("valid regex")
});
static DOC_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\{\{\s*doc\(\s*['"]([\w.]+)['"]\s*(?:,\s*['"](\w+)['"]\s*)?\)\s*\}\}"#)
        .expect("valid regex")
});
/// `ref('m')`, `ref('pkg', 'm')` or `source('s', 't')`, as a whole string.
pub(crate) static DEP_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*(ref|source)\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"]\s*)?\)\s*$"#)
        .expect("valid regex")
});

fn stem(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.rsplit_once('.').map_or(file, |(s, _)| s).to_owned()
}

fn dirs(resource_path: &str) -> Vec<String> {
    let mut parts: Vec<String> = resource_path.split('/').map(str::to_owned).collect();
    parts.pop();
    parts
}

/// The snapshots that properties file `path` defines with `relation:` (dbt 1.9+), as
/// (name, SQL): `select * from {{ <relation> }}`. `relation:` is a bare Jinja expression,
/// `ref('x')` or `source('s', 't')`; like dbt, a `{{ ... }}` one is an error.
fn yaml_snapshots(
    entries: &[NodeProps],
    path: &str,
    display: &str,
    errors: &mut Vec<Diagnostic>,
) -> Vec<(String, Arc<str>)> {
    entries
        .iter()
        .filter(|p| p.origin.file == path)
        .filter_map(|p| {
            let relation = p.extra.get("relation")?.as_str()?.trim();
            if relation.contains("{{") {
                errors.push(
                    Diagnostic::error(
                        "snapshot-relation-invalid",
                        format!("snapshot `{}`: invalid jinja expression in `relation: {relation}`", p.name),
                    )
                    .at(Location::new(display, p.origin.line, 0))
                    .with_help("write the call without braces: relation: ref('my_model') or relation: source('my_source', 'my_table')"),
                );
                return None;
            }
            Some((
                p.name.clone(),
                Arc::from(format!("select * from {{{{ {relation} }}}}")),
            ))
        })
        .collect()
}

/// A seed's checksum as dbt computes it: the sha256 of the stripped CSV text, or, for a
/// file over 1 MiB, its path (`path:` prefix: manifest.json names that checksum `path`).
fn seed_checksum(abs: &std::path::Path, rel: &str) -> String {
    const MAXIMUM_SEED_SIZE: u64 = 1024 * 1024;
    match std::fs::metadata(abs) {
        Ok(m) if m.len() > MAXIMUM_SEED_SIZE => format!("path:{rel}"),
        _ => std::fs::read_to_string(abs)
            .map(|text| sha256(text.trim()))
            .unwrap_or_default(),
    }
}

fn sha256(s: &str) -> String {
    format!("{:x}", Sha256::digest(s.as_bytes()))
}

/// Resolves the dbt_project.yml part of a node's config.
fn project_config(
    _root: &Package,
    pkg: &Package,
    tree: fn(&Package) -> &ConfigTree,
    fqn: &[String],
) -> NodeConfig {
    let mut config = NodeConfig::new();
    for layer in tree(pkg).layers_for(fqn) {
        merge_config(&mut config, &layer.values);
    }
    config
}

/// For a package's node, the root project's dbt_project.yml config, which dbt applies last
/// (above the package's own properties and `config()` calls): that is how a project
/// overrides a package model's materialization or schema.
fn root_override(
    root: &Package,
    pkg: &Package,
    tree: fn(&Package) -> &ConfigTree,
    fqn: &[String],
) -> Option<NodeConfig> {
    if pkg.is_root {
        return None;
    }
    let mut config = NodeConfig::new();
    for layer in tree(root).layers_for(fqn) {
        merge_config(&mut config, &layer.values);
    }
    (!config.is_empty()).then_some(config)
}

fn columns_of(props: &[ColumnProps], docs: &Docs) -> IndexMap<String, ColumnInfo> {
    props
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                ColumnInfo {
                    name: c.name.clone(),
                    description: render_docs(&c.description, docs),
                    meta: c.meta.clone(),
                    data_type: c.data_type.clone(),
                    constraints: c.constraints.clone(),
                    quote: c.quote,
                    tags: c.tags.clone(),
                },
            )
        })
        .collect()
}

/// Doc blocks by name, and the descriptions rendered with them so far: a large project
/// repeats a few `{{ doc('...') }}` descriptions on thousands of columns.
struct Docs {
    by_name: HashMap<String, String>,
    rendered: std::sync::RwLock<HashMap<String, String>>,
}

impl Docs {
    fn new(by_name: HashMap<String, String>) -> Self {
        Docs {
            by_name,
            rendered: std::sync::RwLock::new(HashMap::new()),
        }
    }
}

/// Replaces `{{ doc('name') }}` in a description with the doc block's text.
fn render_docs(text: &str, docs: &Docs) -> String {
    if !text.contains("doc(") {
        return text.to_owned();
    }
    let cached = docs
        .rendered
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(text)
        .cloned();
    if let Some(done) = cached {
        return done;
    }
    let done = DOC_CALL
        .replace_all(text, |c: &regex::Captures<'_>| {
            let name = c.get(2).map_or(&c[1], |m| m.as_str());
            docs.by_name.get(name).cloned().unwrap_or_default()
        })
        .into_owned();
    docs.rendered
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(text.to_owned(), done.clone());
    done
}

fn new_node(
    resource_type: ResourceType,
    pkg: &Package,
    file: &ProjectFile,
    name: String,
    fqn: Vec<String>,
    raw: Arc<str>,
    display: &str,
) -> Node {
    Node {
        unique_id: UniqueId::new(format!("{}.{}.{}", resource_type.as_str(), pkg.name, name)),
        resource_type,
        package_name: pkg.name.clone(),
        alias: name.clone(),
        name,
        fqn,
        path: file.resource_path.clone(),
        original_file_path: file.path.clone(),
        patch_path: None,
        // dbt hashes the file's text with surrounding whitespace stripped.
        checksum: sha256(file.contents.trim()),
        raw_code: raw,
        config: NodeConfig::new(),
        tags: Vec::new(),
        description: String::new(),
        meta: IndexMap::new(),
        columns: IndexMap::new(),
        database: String::new(),
        schema: String::new(),
        relation_name: None,
        refs: Vec::new(),
        sources: Vec::new(),
        depends_on: DependsOn::default(),
        compiled_code: None,
        test_metadata: None,
        column_name: None,
        attached_node: None,
        file_key_name: None,
        unit_test: None,
        version: None,
        latest_version: None,
        defined_at: Location::file(display),
    }
}

fn default_materialized(rt: ResourceType) -> &'static str {
    match rt {
        ResourceType::Seed => "seed",
        ResourceType::Snapshot => "snapshot",
        ResourceType::Test => "test",
        _ => "view",
    }
}

fn apply_props(
    node: &mut Node,
    props: Option<&&NodeProps>,
    docs: &Docs,
) -> IndexMap<String, Value> {
    let Some(p) = props else {
        return IndexMap::new();
    };
    node.description = render_docs(&p.description, docs);
    node.columns = columns_of(&p.columns, docs);
    node.meta = p.meta.clone();
    node.patch_path = Some(format!("{}://{}", node.package_name, p.origin.file));
    let mut config = p.config.clone();
    if !p.tags.is_empty() {
        config.insert("tags".into(), json!(p.tags));
    }
    if !p.meta.is_empty() {
        let mut meta = config
            .get("meta")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (k, v) in &p.meta {
            meta.entry(k.clone()).or_insert_with(|| v.clone());
        }
        config.insert("meta".into(), Value::Object(meta));
    }
    if let Some(d) = &p.docs {
        config.insert("docs".into(), d.clone());
    }
    // Model-level `constraints:` sit beside `columns:`; materializations and manifest.json
    // read them from the config (the manifest writes them as the node's `constraints`).
    if let Some(c) = p.extra.get("constraints") {
        config.insert("constraints".into(), c.clone());
    }
    config
}

/// Finds the line of `ref('name')` (or `source(...)`) in a template, for errors.
fn find_call_line(source: &str, call: &str, name: &str) -> Option<(u32, u32)> {
    for (i, line) in source.lines().enumerate() {
        let mut from = 0;
        while let Some(pos) = line[from..].find(call) {
            let at = from + pos;
            let rest = &line[at..];
            if rest.contains(&format!("'{name}'")) || rest.contains(&format!("\"{name}\"")) {
                return Some((i as u32 + 1, at as u32 + 1));
            }
            from = at + call.len();
        }
    }
    None
}

/// Parses the loaded project into a manifest and DAG.
pub fn parse(loaded: Loaded) -> Result<Parsed, Diagnostics> {
    let project = &loaded.project;
    let root = project.root_package();
    let mut errors: Diagnostics = Vec::new();
    let warnings = loaded.warnings.clone();

    // Doc blocks first: descriptions refer to them.
    let mut docs_by_name: HashMap<String, String> = HashMap::new();
    let mut doc_nodes = IndexMap::new();
    for pkg in &project.packages {
        for d in &pkg.properties.docs {
            docs_by_name.insert(d.name.clone(), d.contents.clone());
            let id = UniqueId::new(format!("doc.{}.{}", pkg.name, d.name));
            doc_nodes.insert(
                id.clone(),
                DocNode {
                    unique_id: id,
                    package_name: pkg.name.clone(),
                    name: d.name.clone(),
                    path: d.origin.file.clone(),
                    original_file_path: d.origin.file.clone(),
                    block_contents: d.contents.clone(),
                },
            );
        }
    }
    let docs_by_name = Docs::new(docs_by_name);

    // 1. Nodes from files, with their project + properties config.
    let mut pending: Vec<Pending> = Vec::new();
    for pkg in &project.packages {
        let prefix = display_prefix(project, pkg);
        fn index(list: &[NodeProps]) -> HashMap<String, &NodeProps> {
            list.iter().map(|p| (p.name.clone(), p)).collect()
        }
        let (models, seeds, snaps, analyses) = (
            index(&pkg.properties.models),
            index(&pkg.properties.seeds),
            index(&pkg.properties.snapshots),
            index(&pkg.properties.analyses),
        );
        let versioned = versioned_models(&pkg.properties.models);
        // Each file on its own: in parallel, results kept in file order.
        let per_file: Vec<(Vec<Pending>, Diagnostics)> = pkg
            .files
            .par_iter()
            .map(|file| {
                let mut pending: Vec<Pending> = Vec::new();
                let mut errors: Diagnostics = Vec::new();
                    let display = format!("{prefix}{}", file.path);
                    #[allow(clippy::type_complexity)]
                    let (rt, tree, props): (
                        ResourceType,
                        fn(&Package) -> &ConfigTree,
                        Option<&HashMap<String, &NodeProps>>,
                    ) = match file.kind {
                        FileKind::Model => (ResourceType::Model, |p| &p.models, Some(&models)),
                        FileKind::Seed => (ResourceType::Seed, |p| &p.seeds, Some(&seeds)),
                        FileKind::Analysis => (ResourceType::Analysis, |p| &p.analyses, Some(&analyses)),
                        FileKind::SingularTest => (ResourceType::Test, |p| &p.tests, None),
                        FileKind::Snapshot => (ResourceType::Snapshot, |p| &p.snapshots, Some(&snaps)),
                        // dbt 1.9+: `snapshots:` entries with `relation:` are snapshots of their own.
                        FileKind::Properties => (ResourceType::Snapshot, |p| &p.snapshots, Some(&snaps)),
                        _ => return (pending, errors),
                    };
                    let from_yaml = file.kind == FileKind::Properties;
                    let bodies: Vec<(String, Arc<str>)> = if from_yaml {
                        yaml_snapshots(&pkg.properties.snapshots, &file.path, &display, &mut errors)
                    } else if rt == ResourceType::Snapshot {
                        let found: Vec<_> = SNAPSHOT_BLOCK
                            .captures_iter(&file.contents)
                            .map(|c| (c[1].to_owned(), Arc::from(&c[2])))
                            .collect();
                        if found.is_empty() && !file.contents.trim().is_empty() {
                            errors.push(
                                Diagnostic::error("snapshot-block-missing", "snapshot file has no `{% snapshot name %}...{% endsnapshot %}` block")
                                    .at(Location::file(&display))
                                    .with_help("wrap the snapshot's select in {% snapshot my_snapshot %} ... {% endsnapshot %}"),
                            );
                        }
                        found
                    } else {
                        let raw: Arc<str> = if rt == ResourceType::Seed {
                            Arc::from("")
                        } else {
                            file.contents.clone()
                        };
                        vec![(stem(&file.path), raw)]
                    };
                    for (name, raw) in bodies {
                        // `dim_accounts_v2.sql` is version 2 of model `dim_accounts` when the
                        // properties declare versions.
                        let version = (rt == ResourceType::Model)
                            .then(|| versioned.get(&name))
                            .flatten()
                            .cloned();
                        let name = version.as_ref().map_or(name, |v| v.model.clone());
                        // dbt's fqn: analyses sit under `analysis`, snapshots under their file's stem.
                        let mut fqn = vec![pkg.name.clone()];
                        if rt == ResourceType::Analysis {
                            fqn.push("analysis".to_owned());
                        }
                        fqn.extend(dirs(&file.resource_path));
                        if rt == ResourceType::Snapshot && !from_yaml {
                            fqn.push(stem(&file.path));
                        }
                        fqn.push(name.clone());
                        if let Some(v) = &version {
                            fqn.push(format!("v{}", v.version));
                        }
                        let mut node = new_node(rt, pkg, file, name, fqn, raw.clone(), &display);
                        if rt == ResourceType::Seed {
                            node.checksum = seed_checksum(&pkg.root.join(&file.path), &file.path);
                        }
                        if let Some(v) = version {
                            node.unique_id =
                                UniqueId::new(format!("model.{}.{}.v{}", pkg.name, node.name, v.version));
                            node.alias = format!("{}_v{}", node.name, v.version);
                            node.version = Some(v.version);
                            node.latest_version = Some(v.latest);
                        }
                        if from_yaml {
                            // As dbt records them: `path` names a virtual SQL file beside the YAML.
                            node.path = format!("{}/{}.sql", file.resource_path, node.name);
                            node.checksum = sha256(raw.trim());
                            let line = snaps.get(&node.name).map_or(0, |p| p.origin.line);
                            node.defined_at = Location::new(&display, line, 0);
                        }
                        let late_config = root_override(root, pkg, tree, &node.fqn);
                        let mut config = project_config(root, pkg, tree, &node.fqn);
                        let node_props = props.and_then(|m| m.get(&node.name)).copied();
                        let mut prop_config = apply_props(&mut node, node_props.as_ref(), &docs_by_name);
                        // Properties YAML config values may be Jinja, like dbt_project.yml's.
                        if prop_config.values().any(has_jinja) {
                            let mut value = Value::Object(prop_config.clone().into_iter().collect());
                            let renderer = crate::load::YamlRenderer {
                                runtime: &loaded.runtime,
                                run: loaded.run.clone(),
                                package: &pkg.name,
                            };
                            let at = Location::new(
                                format!(
                                    "{}{}",
                                    display_prefix(project, pkg),
                                    node.patch_path
                                        .as_deref()
                                        .and_then(|p| p.split_once("://"))
                                        .map_or("", |(_, f)| f)
                                ),
                                node_props.map_or(0, |p| p.origin.line),
                                0,
                            );
                            match mfb_project::config::render_config_strings(&mut value, &renderer, &at) {
                                Ok(()) => {
                                    if let Value::Object(map) = value {
                                        prop_config = map.into_iter().collect();
                                    }
                                }
                                Err(e) => errors.push(e.into_diagnostic()),
                            }
                        }
                        merge_config(&mut config, &prop_config);
                        node.config = config;
                        pending.push(Pending {
                            static_deps: None,
                            late_config,
                            node,
                            template: raw,
                            display_path: display.clone(),
                        });
                    }
                (pending, errors)
            })
            .collect();
        for (p, e) in per_file {
            pending.extend(p);
            errors.extend(e);
        }
    }

    // Hooks: `on-run-start` / `on-run-end` entries are operation nodes, as in dbt.
    for pkg in &project.packages {
        let prefix = display_prefix(project, pkg);
        for (kind, hooks) in [
            ("on-run-start", &pkg.on_run_start),
            ("on-run-end", &pkg.on_run_end),
        ] {
            for (i, sql) in hooks.iter().enumerate() {
                let name = format!("{}-{kind}-{i}", pkg.name);
                let file = ProjectFile {
                    kind: FileKind::Macro,
                    path: "dbt_project.yml".to_owned(),
                    resource_path: format!("hooks/{name}.sql"),
                    abs_path: pkg.root.join("dbt_project.yml"),
                    contents: Arc::from(sql.as_str()),
                };
                let display = format!("{prefix}dbt_project.yml");
                let fqn = vec![pkg.name.clone(), "hooks".to_owned(), name.clone()];
                let raw: Arc<str> = Arc::from(sql.as_str());
                let mut node = new_node(
                    ResourceType::Operation,
                    pkg,
                    &file,
                    name,
                    fqn,
                    raw.clone(),
                    &display,
                );
                node.config
                    .insert("materialized".into(), json!("operation"));
                pending.push(Pending {
                    static_deps: None,
                    late_config: None,
                    node,
                    template: raw,
                    display_path: display,
                });
            }
        }
    }

    // 2. Sources.
    let mut sources = mfb_graph::IdMap::default();
    let target_db = loaded.target.dbname.clone();
    let target_schema = loaded.target.schema.clone();
    for pkg in &project.packages {
        for src in &pkg.properties.sources {
            let yml_dirs = dirs(&src.origin.file)
                .into_iter()
                .skip(1)
                .collect::<Vec<_>>();
            for table in &src.tables {
                let fqn_cfg = vec![pkg.name.clone(), src.name.clone(), table.name.clone()];
                let mut config = project_config(root, pkg, |p| &p.sources, &fqn_cfg);
                merge_config(&mut config, &src.config);
                merge_config(&mut config, &table.config);
                if config.get("enabled").and_then(Value::as_bool) == Some(false) {
                    continue;
                }
                // Properties YAML values may be Jinja (`schema: "{{ var('raw_schema') }}"`).
                let at = Location::new(
                    format!("{}{}", display_prefix(project, pkg), src.origin.file),
                    table.origin.line,
                    0,
                );
                let mut render = |text: String| -> String {
                    if !text.contains("{{") && !text.contains("{%") {
                        return text;
                    }
                    let name = at.file.to_string_lossy().into_owned();
                    match loaded.runtime.render(
                        &loaded.run,
                        &name,
                        &text,
                        NodeScope::new(&pkg.name, None),
                    ) {
                        Ok(t) => t.trim().to_owned(),
                        Err(e) => {
                            errors.push(
                                e.into_diagnostic()
                                    .at(at.clone())
                                    .with_note(format!("in source `{}.{}`", src.name, table.name)),
                            );
                            text
                        }
                    }
                };
                let database = render(src.database.clone().unwrap_or_else(|| target_db.clone()));
                let schema = render(src.schema.clone().unwrap_or_else(|| src.name.clone()));
                let identifier = render(
                    table
                        .identifier
                        .clone()
                        .unwrap_or_else(|| table.name.clone()),
                );
                let loaded_at_field = table
                    .loaded_at_field
                    .clone()
                    .or_else(|| src.loaded_at_field.clone())
                    .map(&mut render);
                let mut fqn = vec![pkg.name.clone()];
                fqn.extend(yml_dirs.iter().cloned());
                fqn.push(src.name.clone());
                fqn.push(table.name.clone());
                // dbt: the source's and the table's tags as a sorted set.
                let mut tags = src.tags.clone();
                tags.extend(table.tags.iter().cloned());
                tags.sort();
                tags.dedup();
                let mut source_quoting = project.quoting.clone();
                source_quoting.extend(src.quoting.iter().map(|(k, v)| (k.clone(), v.clone())));
                let id = UniqueId::new(format!("source.{}.{}.{}", pkg.name, src.name, table.name));
                sources.insert(
                    id.clone(),
                    SourceNode {
                        unique_id: id,
                        package_name: pkg.name.clone(),
                        source_name: src.name.clone(),
                        name: table.name.clone(),
                        relation_name: crate::context::with_quoting(
                            Relation::new(&database, &schema, &identifier, None),
                            &source_quoting,
                        )
                        .render(),
                        identifier,
                        database,
                        schema,
                        fqn,
                        path: src.origin.file.clone(),
                        original_file_path: src.origin.file.clone(),
                        description: render_docs(&table.description, &docs_by_name),
                        source_description: render_docs(&src.description, &docs_by_name),
                        loader: src.loader.clone(),
                        loaded_at_field,
                        freshness: table.freshness.clone().or_else(|| src.freshness.clone()),
                        columns: columns_of(&table.columns, &docs_by_name),
                        meta: table.meta.clone(),
                        source_meta: src.meta.clone(),
                        tags,
                        config,
                        quoting: source_quoting.clone(),
                        defined_at: Location::new(
                            format!("{}{}", display_prefix(project, pkg), src.origin.file),
                            table.origin.line,
                            0,
                        ),
                    },
                );
            }
        }
    }

    mfb_diagnostics::phase::mark("parse: nodes from files");
    // 3. Parse-render every node in parallel.
    let runtime = &loaded.runtime;
    let run = &loaded.run;
    let resolver = Arc::new(ParseResolver {
        database: target_db.clone(),
        schema: target_schema.clone(),
    });
    // Templates whose calls are all visible in their text are not rendered at parse time
    // (see `mfb_jinja::static_parse`); `MFB_STATIC_PARSE=0` renders every one.
    let static_parser = crate::static_compile::enabled().then(|| runtime.static_parser(run));
    let record_calls = |p: &mut Pending, found: StaticRecord| {
        let StaticRecord {
            refs,
            sources,
            configs,
            macros,
        } = found;
        for call in configs {
            merge_config(&mut p.node.config, &call);
        }
        if let Some(late) = p.late_config.take() {
            merge_config(&mut p.node.config, &late);
        }
        let def_file = p.node.defined_at.file.clone();
        p.node.refs = refs
            .into_iter()
            .map(|r| {
                let at = find_call_line(&p.template, "ref(", &r.name)
                    .map(|(l, c)| Location::new(&def_file, l, c));
                RefCall {
                    package: r.package,
                    name: r.name,
                    version: r.version,
                    at,
                }
            })
            .collect();
        p.node.sources = sources;
        p.node.depends_on.macros = macros.into_iter().collect();
    };
    let statically_parsed = std::sync::atomic::AtomicUsize::new(0);
    let render_one = |p: &mut Pending| -> Result<(), Diagnostic> {
        if p.node.resource_type == ResourceType::Seed {
            return Ok(());
        }
        if let Some((refs, sources)) = p.static_deps.take() {
            p.node.refs = refs;
            p.node.sources = sources;
            if let Some(late) = p.late_config.take() {
                merge_config(&mut p.node.config, &late);
            }
            return Ok(());
        }
        if let Some(found) = static_parser
            .as_ref()
            .and_then(|sp| sp.parse(&p.node.package_name, &p.template))
        {
            statically_parsed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            record_calls(p, found);
            return Ok(());
        }
        let rec = Arc::new(Recorder::default());
        let this = Relation::new(&target_db, &target_schema, &p.node.name, None);
        let scope = NodeScope::new(&p.node.package_name, Some(p.node.unique_id.as_str()))
            .record(rec.clone())
            .resolve_with(resolver.clone())
            .config(None)
            .set("execute", JinjaValue::from(false))
            .set("this", this.into_value())
            .set("is_incremental", {
                // dbt's `is_incremental` is a macro, listed in depends_on.macros when the
                // node's own template calls it.
                let rec = rec.clone();
                JinjaValue::from_function(move || {
                    if mfb_jinja::macros::macro_depth() == 0 {
                        rec.macros
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert("macro.dbt.is_incremental".to_owned());
                    }
                    false
                })
            })
            .set("should_full_refresh", JinjaValue::from_function(|| false));
        let scope = crate::context::with_model(scope, runtime, &p.template, &p.node);
        runtime
            .render(run, &p.display_path, &p.template, scope)
            .map_err(IntoDiagnostic::into_diagnostic)?;
        record_calls(p, rec.record());
        Ok(())
    };
    let render_errors: Vec<Diagnostic> = pending
        .par_iter_mut()
        .filter_map(|p| render_one(p).err())
        .collect();
    errors.extend(render_errors);

    let models_static = statically_parsed.load(std::sync::atomic::Ordering::Relaxed);
    mfb_diagnostics::phase::mark_with(|| {
        format!(
            "parse: render ({models_static} of {} read statically)",
            pending.len()
        )
    });
    // 4. Finish configs, split enabled and disabled, name relations.
    let naming = Naming::new(runtime);
    let finish = |node: &mut Node| -> Result<(), Diagnostic> {
        let default = default_materialized(node.resource_type);
        node.config
            .entry("materialized".to_owned())
            .or_insert_with(|| json!(default));
        node.config
            .entry("enabled".to_owned())
            .or_insert(json!(true));
        if !project.quoting.is_empty() && !node.config.contains_key("quoting") {
            node.config
                .insert("quoting".to_owned(), json!(project.quoting));
        }
        node.tags = node
            .config
            .get("tags")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(meta) = node.config.get("meta").and_then(Value::as_object) {
            for (k, v) in meta {
                node.meta.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        naming
            .apply(runtime, run, &root.name, &target_db, &target_schema, node)
            .map_err(|e| {
                e.into_diagnostic()
                    .with_note(format!("while naming the relation of {}", node.unique_id))
            })
    };
    let naming_errors: Vec<Diagnostic> = pending
        .par_iter_mut()
        .filter_map(|p| finish(&mut p.node).err())
        .collect();
    errors.extend(naming_errors);

    let mut manifest = Manifest {
        project_name: root.name.clone(),
        adapter_type: "postgres".to_owned(),
        invocation_id: loaded.invocation_id.clone(),
        generated_at: chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string(),
        env: crate::load::metadata_envs(),
        sources,
        docs: doc_nodes,
        ..Manifest::default()
    };
    manifest.nodes.reserve(pending.len());
    for p in pending {
        let enabled = p.node.config.get("enabled").and_then(Value::as_bool) != Some(false);
        let target = if enabled {
            &mut manifest.nodes
        } else {
            &mut manifest.disabled
        };
        if let Some(prev) = target.insert(p.node.unique_id.clone(), p.node)
            && enabled
        {
            let now = &manifest.nodes[&prev.unique_id];
            errors.push(
                Diagnostic::error(
                    "duplicate-node",
                    format!(
                        "two {}s are named `{}` in package `{}`",
                        prev.resource_type.as_str(),
                        prev.name,
                        prev.package_name
                    ),
                )
                .at(now.defined_at.clone())
                .with_note(format!("also defined in {}", prev.defined_at))
                .with_help("rename one of the files: names must be unique within a package"),
            );
        }
    }
    check_duplicates(&manifest, &mut errors);
    mfb_diagnostics::phase::mark("parse: finish, insert, duplicates");

    // 5. Generic tests from properties, looked up through an index of testable nodes.
    let mut testable: foldhash::HashMap<(&str, &str), Vec<TestableNode>> =
        foldhash::HashMap::default();
    for n in manifest.nodes.values() {
        if matches!(
            n.resource_type,
            ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
        ) {
            testable
                .entry((n.package_name.as_str(), n.name.as_str()))
                .or_default()
                .push((n.unique_id.to_string(), n.version.clone()));
        }
    }
    // One job per test spec and target, collected in order; the test nodes are then built,
    // configured, rendered (most need no render: see `static_test_deps`) and named in
    // parallel.
    struct TestJob<'a> {
        pkg: &'a Package,
        prefix: &'a str,
        spec: &'a mfb_project::TestSpec,
        target: TestTarget<'a>,
        column: Option<&'a ColumnProps>,
        yml: &'a str,
    }
    let prefixes: Vec<String> = project
        .packages
        .iter()
        .map(|pkg| display_prefix(project, pkg))
        .collect();
    let source_ids: Vec<Vec<Vec<String>>> = project
        .packages
        .iter()
        .map(|pkg| {
            pkg.properties
                .sources
                .iter()
                .map(|src| {
                    src.tables
                        .iter()
                        .map(|table| format!("source.{}.{}.{}", pkg.name, src.name, table.name))
                        .collect()
                })
                .collect()
        })
        .collect();
    let mut jobs: Vec<TestJob<'_>> = Vec::new();
    for (p, pkg) in project.packages.iter().enumerate() {
        let prefix = prefixes[p].as_str();
        let mut add = |spec, target, column, yml| {
            jobs.push(TestJob {
                pkg,
                prefix,
                spec,
                target,
                column,
                yml,
            });
        };
        for props in pkg
            .properties
            .models
            .iter()
            .chain(&pkg.properties.seeds)
            .chain(&pkg.properties.snapshots)
        {
            // One target per node of that name: versioned models get their tests per version.
            let Some(targets) = testable.get(&(pkg.name.as_str(), props.name.as_str())) else {
                continue;
            };
            for (unique_id, version) in targets {
                let target = TestTarget::Node {
                    name: &props.name,
                    unique_id,
                    version: version.as_deref(),
                };
                for spec in &props.tests {
                    add(spec, target.clone(), None, props.origin.file.as_str());
                }
                for col in &props.columns {
                    for spec in &col.tests {
                        add(spec, target.clone(), Some(col), props.origin.file.as_str());
                    }
                }
            }
        }
        for (s, src) in pkg.properties.sources.iter().enumerate() {
            for (t, table) in src.tables.iter().enumerate() {
                let id = source_ids[p][s][t].as_str();
                if !manifest.sources.contains_key(id) {
                    continue;
                }
                let target = TestTarget::Source {
                    source: &src.name,
                    table: &table.name,
                    unique_id: id,
                };
                for spec in &table.tests {
                    add(spec, target.clone(), None, src.origin.file.as_str());
                }
                for col in &table.columns {
                    for spec in &col.tests {
                        add(spec, target.clone(), Some(col), src.origin.file.as_str());
                    }
                }
            }
        }
    }
    // Dispatch implementations of test macros defined outside the built-in package: such
    // tests must be rendered to learn their dependencies (computed once, not per test).
    let overridden_impls: HashSet<&str> = runtime
        .registry()
        .defs()
        .iter()
        .filter(|d| {
            d.package != mfb_jinja::INTERNAL_PACKAGE
                && (d.name.starts_with("default__test_") || d.name.starts_with("postgres__test_"))
        })
        .map(|d| d.name.as_str())
        .collect();
    // Per package and test name: whether the test macro is the built-in one, with no
    // dispatch implementation defined outside the built-in package (decided once, not
    // per test).
    let mut builtin_tests: foldhash::HashMap<(&str, &str), bool> = foldhash::HashMap::default();
    for j in &jobs {
        let key = (j.pkg.name.as_str(), j.spec.test_name.as_str());
        builtin_tests.entry(key).or_insert_with(|| {
            let name = format!("test_{}", key.1);
            runtime
                .registry()
                .lookup(key.0, &name)
                .and_then(|f| f.downcast_object_ref::<mfb_jinja::macros::MacroObject>())
                .is_some_and(|f| f.def().package == mfb_jinja::INTERNAL_PACKAGE)
                && !overridden_impls.contains(format!("default__{name}").as_str())
                && !overridden_impls.contains(format!("postgres__{name}").as_str())
        });
    }
    // Per package, namespace and test name: the start of `depends_on.macros`.
    type MacroIdsKey<'a> = (&'a str, Option<&'a str>, &'a str);
    let mut test_macro_ids: foldhash::HashMap<MacroIdsKey<'_>, (Vec<String>, bool)> =
        foldhash::HashMap::default();
    for j in &jobs {
        let key = (
            j.pkg.name.as_str(),
            j.spec.namespace.as_deref(),
            j.spec.test_name.as_str(),
        );
        test_macro_ids
            .entry(key)
            .or_insert_with(|| generic_test_macro_ids(runtime, key.0, key.1, key.2));
    }
    // Per properties file: its folders (for the tests' fqn) and its display path.
    let mut per_yml: foldhash::HashMap<(&str, &str), (Vec<String>, String)> =
        foldhash::HashMap::default();
    for j in &jobs {
        per_yml.entry((j.prefix, j.yml)).or_insert_with(|| {
            let dirs: Vec<String> = dirs(j.yml).into_iter().skip(1).collect();
            (dirs, format!("{}{}", j.prefix, j.yml))
        });
    }
    mfb_diagnostics::phase::mark("parse: test jobs");
    // Each test node comes out with what inserting it needs, so that the single-threaded
    // insertion below does nothing else: its id twice (manifest and invocation keys),
    // whether it is enabled, its invocation and error.
    #[allow(clippy::type_complexity)]
    let (built, invocation_parts): (
        Vec<(UniqueId, Node, bool, Option<Diagnostic>)>,
        Vec<(UniqueId, String)>,
    ) = jobs
        .par_iter()
        .map(|j| {
            let (yml_dirs, display) = &per_yml[&(j.prefix, j.yml)];
            let display = display.clone();
            let t = generic_test(
                &j.pkg.name,
                j.yml,
                yml_dirs,
                j.spec,
                &j.target,
                j.column,
                &display,
            );
            let mut node = t.node;
            let mut config = project_config(root, j.pkg, |p| &p.tests, &node.fqn);
            merge_config(&mut config, &j.spec.config);
            node.config = config;
            let static_deps = static_test_deps(&builtin_tests, &node);
            let late_config = root_override(root, j.pkg, |p| &p.tests, &node.fqn);
            let mut p = Pending {
                static_deps,
                late_config,
                node,
                template: Arc::from(t.invocation.as_str()),
                display_path: display,
            };
            let error = render_one(&mut p)
                .and_then(|()| finish(&mut p.node))
                .err()
                .map(|d| relocate_test_error(d, &p.node, &p.template, &loaded.project.root));
            p.node.depends_on.macros = generic_test_macros(
                &test_macro_ids[&(
                    j.pkg.name.as_str(),
                    j.spec.namespace.as_deref(),
                    j.spec.test_name.as_str(),
                )],
                &p.node.depends_on.macros,
            );
            let Pending { node, .. } = p;
            let enabled = node.config.get("enabled").and_then(Value::as_bool) != Some(false);
            let (key, invocation_key) = (node.unique_id.clone(), node.unique_id.clone());
            ((key, node, enabled, error), (invocation_key, t.invocation))
        })
        .unzip();
    mfb_diagnostics::phase::mark_with(|| {
        format!(
            "parse: test nodes ({} of {} read statically, the built-in ones need neither)",
            statically_parsed.load(std::sync::atomic::Ordering::Relaxed) - models_static,
            built.len()
        )
    });
    let (invocations, ()) = rayon::join(
        || {
            let mut invocations = foldhash::HashMap::with_capacity_and_hasher(
                invocation_parts.len(),
                Default::default(),
            );
            invocations.extend(invocation_parts);
            invocations
        },
        || {
            manifest.nodes.reserve(built.len());
            for (id, node, enabled, error) in built {
                errors.extend(error);
                let target = if enabled {
                    &mut manifest.nodes
                } else {
                    &mut manifest.disabled
                };
                target.insert(id, node);
            }
        },
    );
    mfb_diagnostics::phase::mark("parse: tests inserted");
    // 6. Macros and exposures.
    for def in runtime.registry().defs() {
        let id = UniqueId::new(def.unique_id());
        manifest.macros.insert(
            id.clone(),
            MacroNode {
                unique_id: id,
                package_name: def.package.clone(),
                name: def.name.clone(),
                path: def.path.clone(),
                original_file_path: def.path.clone(),
                macro_sql: def.sql.clone(),
                description: String::new(),
                depends_on_macros: runtime.registry().static_depends_on(def),
                arguments: Vec::new(),
                meta: IndexMap::new(),
            },
        );
    }
    for pkg in &project.packages {
        for mp in &pkg.properties.macros {
            if let Some(m) = manifest
                .macros
                .get_mut(&UniqueId::new(format!("macro.{}.{}", pkg.name, mp.name)))
            {
                m.description = render_docs(&mp.description, &docs_by_name);
                m.arguments = mp.arguments.clone();
                m.meta = mp.meta.clone();
            }
        }
        for e in &pkg.properties.exposures {
            let mut refs = Vec::new();
            let mut srcs = Vec::new();
            for dep in &e.depends_on {
                match DEP_CALL.captures(dep) {
                    Some(c) if &c[1] == "ref" => refs.push(match c.get(3) {
                        Some(n) => RefCall { package: Some(c[2].to_owned()), name: n.as_str().to_owned(), version: None, at: None },
                        None => RefCall { package: None, name: c[2].to_owned(), version: None, at: None },
                    }),
                    Some(c) if c.get(3).is_some() => srcs.push([c[2].to_owned(), c[3].to_owned()]),
                    _ => errors.push(
                        Diagnostic::error("exposure-depends-on", format!("exposure `{}` has a depends_on entry that is not ref() or source(): `{dep}`", e.name))
                            .at(Location::new(format!("{}{}", display_prefix(project, pkg), e.origin.file), e.origin.line, 0))
                            .with_help("write entries as \"ref('model')\" or \"source('source', 'table')\""),
                    ),
                }
            }
            let id = UniqueId::new(format!("exposure.{}.{}", pkg.name, e.name));
            manifest.exposures.insert(
                id.clone(),
                Exposure {
                    unique_id: id,
                    package_name: pkg.name.clone(),
                    name: e.name.clone(),
                    label: e.label.clone(),
                    exposure_type: e.exposure_type.clone(),
                    url: e.url.clone(),
                    maturity: e.maturity.clone(),
                    description: render_docs(&e.description, &docs_by_name),
                    owner: e.owner.clone(),
                    fqn: {
                        // The folders of the YAML file under its resource path, then the name.
                        let mut fqn = vec![pkg.name.clone()];
                        fqn.extend(dirs(&e.origin.file).into_iter().skip(1));
                        fqn.push(e.name.clone());
                        fqn
                    },
                    path: e.origin.file.clone(),
                    original_file_path: e.origin.file.clone(),
                    refs,
                    sources: srcs,
                    depends_on: DependsOn::default(),
                    meta: e.meta.clone(),
                    tags: e.tags.clone(),
                    config: e.config.clone(),
                },
            );
        }
    }

    mfb_diagnostics::phase::mark("parse: macros, exposures");
    // 7. Resolve refs and sources into depends_on.
    let index = RefIndex::build(&manifest);
    let disabled_names: HashSet<String> =
        manifest.disabled.values().map(|n| n.name.clone()).collect();
    let mut resolve_errors = Vec::new();
    let resolve = |from: &str,
                   package: &str,
                   refs: &[RefCall],
                   srcs: &[[String; 2]],
                   at: &Location,
                   nodes: &mut Vec<String>,
                   errs: &mut Diagnostics| {
        for r in refs {
            match index.find(package, r.package.as_deref(), &r.name, r.version.as_deref()) {
                Some(t) => nodes.push(t.unique_id.clone()),
                None => {
                    let suggestion = closest(&r.name, index.names());
                    let mut d = Diagnostic::error(
                        "ref-not-found",
                        format!(
                            "`ref('{}')` in {from} does not name a model, seed or snapshot",
                            r.name
                        ),
                    );
                    d = match &r.at {
                        Some(loc) => d.at(loc.clone()),
                        None => d.at(at.clone()),
                    };
                    if let Some(line) = r.at.as_ref().and_then(|l| source_line(&loaded, l)) {
                        d.source_line = Some(line);
                        d.span_len = (r.name.len() + 7) as u32;
                    }
                    d = if disabled_names.contains(&r.name) {
                        d.with_help(format!(
                            "`{}` exists but is disabled (enabled: false)",
                            r.name
                        ))
                    } else if let Some(s) = suggestion {
                        d.with_help(format!("did you mean `{s}`?"))
                    } else {
                        d.with_help("create the model, or fix the name in ref()")
                    };
                    errs.push(d);
                }
            }
        }
        for [s, t] in srcs {
            match index.source(s, t) {
                Some((id, _)) => nodes.push(id.clone()),
                None => {
                    let all: Vec<String> = index.source_names().collect();
                    let want = format!("{s}.{t}");
                    let suggestion = closest(&want, all.iter().map(String::as_str));
                    errs.push(
                        {
                            // Point at the call, like ref-not-found does.
                            let text = std::fs::read_to_string(loaded.project.root.join(&at.file))
                                .unwrap_or_default();
                            let mut d = Diagnostic::error(
                                "source-not-found",
                                format!("`source('{s}', '{t}')` in {from} is not defined"),
                            );
                            match find_call_line(&text, "source(", t) {
                                Some((line, col)) => {
                                    d = d.at_in(Location::new(&at.file, line, col), &text);
                                    d.span_len = (s.len() + t.len() + 14) as u32;
                                }
                                None => d = d.at(at.clone()),
                            }
                            d
                        }
                        .with_help(match suggestion {
                            Some(x) => format!("did you mean `{x}`?"),
                            None => {
                                "declare it under `sources:` in a properties YAML file".to_owned()
                            }
                        }),
                    );
                }
            }
        }
        let mut seen = HashSet::new();
        nodes.retain(|n| seen.insert(n.clone()));
    };
    // A test whose ref() or source() names nothing is disabled with a warning, as dbt
    // does (a model or other node with one is an error).
    let mut all_nodes: Vec<&mut Node> = manifest.nodes.values_mut().collect();
    let node_errors: Vec<(Option<UniqueId>, Diagnostics)> = all_nodes
        .par_iter_mut()
        .map(|node| {
            let mut deps = Vec::new();
            let mut errs = Vec::new();
            resolve(
                node.unique_id.as_str(),
                &node.package_name,
                &node.refs,
                &node.sources,
                &node.defined_at,
                &mut deps,
                &mut errs,
            );
            node.depends_on.nodes = deps;
            if node.resource_type == ResourceType::Test && !errs.is_empty() {
                let mut warnings = Vec::new();
                for r in &node.refs {
                    if index
                        .find(
                            &node.package_name,
                            r.package.as_deref(),
                            &r.name,
                            r.version.as_deref(),
                        )
                        .is_none()
                    {
                        warnings.push(orphan_test_warning(node, "node", &r.name));
                    }
                }
                for [s, t] in &node.sources {
                    if index.source(s, t).is_none() {
                        warnings.push(orphan_test_warning(node, "source", &format!("{s}.{t}")));
                    }
                }
                (Some(node.unique_id.clone()), warnings)
            } else {
                (None, errs)
            }
        })
        .collect();
    let mut orphan_warnings = Vec::new();
    let mut orphan_tests = Vec::new();
    for (orphan, diags) in node_errors {
        match orphan {
            Some(id) => {
                orphan_tests.push(id);
                orphan_warnings.extend(diags);
            }
            None => resolve_errors.extend(diags),
        }
    }
    for id in orphan_tests {
        if let Some(mut node) = manifest.nodes.shift_remove(&id) {
            node.config.insert("enabled".into(), Value::Bool(false));
            manifest.disabled.insert(id, node);
        }
    }
    for e in manifest.exposures.values_mut() {
        let mut deps = Vec::new();
        let at = Location::file(&e.original_file_path);
        resolve(
            e.unique_id.as_str(),
            &e.package_name.clone(),
            &e.refs,
            &e.sources,
            &at,
            &mut deps,
            &mut resolve_errors,
        );
        e.depends_on.nodes = deps;
    }
    errors.extend(resolve_errors);
    crate::unit_test::add_nodes(&loaded, &mut manifest, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    mfb_diagnostics::phase::mark("parse: resolve");
    let (dag, unused_paths) = rayon::join(
        || Dag::build(&manifest),
        || unused_config_paths(root, &manifest),
    );
    let dag = dag.map_err(|e| vec![e.into_diagnostic()])?;
    mfb_diagnostics::phase::mark("parse: dag");
    let mut warnings = warnings;
    warnings.extend(orphan_warnings);
    warnings.extend(unused_paths);
    Ok(Parsed {
        loaded,
        manifest,
        dag,
        invocations,
        warnings,
        deferred: HashSet::new(),
        ephemeral_bodies: HashMap::new(),
    })
}

/// dbt's warning for a test that depends on a missing node or source.
fn orphan_test_warning(node: &Node, kind: &str, name: &str) -> Diagnostic {
    let package = if kind == "node" { " in package ''" } else { "" };
    Diagnostic::warning(
        "test-target-not-found",
        format!(
            "Test '{}' ({}) depends on a {kind} named '{name}'{package} which was not found",
            node.unique_id, node.original_file_path
        ),
    )
    .at(node.defined_at.clone())
    .with_help("the test is disabled; fix the name, or add the missing model, seed or source")
}

fn source_line(loaded: &Loaded, at: &Location) -> Option<String> {
    let path = loaded.project.root.join(&at.file);
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .nth(at.line.checked_sub(1)? as usize)
        .map(str::to_owned)
}

/// Two enabled ref-able nodes with one name, or two nodes building one relation.
fn check_duplicates(manifest: &Manifest, errors: &mut Diagnostics) {
    let mut by_name: HashMap<(&str, &str), &Node> = HashMap::new();
    let mut by_relation: HashMap<&str, &Node> = HashMap::new();
    for node in manifest.nodes.values() {
        if !matches!(
            node.resource_type,
            ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
        ) {
            continue;
        }
        if node.version.is_some() {
            // Versions of one model share its name; ref() tells them apart by `v=`.
        } else if let Some(prev) = by_name.insert((&node.package_name, &node.name), node) {
            errors.push(
                Diagnostic::error(
                    "duplicate-name",
                    format!("two resources are named `{}`: {} and {}", node.name, prev.unique_id, node.unique_id),
                )
                .at(node.defined_at.clone())
                .with_note(format!("also defined in {}", prev.defined_at))
                .with_help("ref() could not tell them apart: rename one, or disable one with enabled: false"),
            );
        }
        if let Some(rel) = node.relation_name.as_deref()
            && let Some(prev) = by_relation.insert(rel, node)
        {
            errors.push(
                Diagnostic::error(
                    "duplicate-relation",
                    format!(
                        "{} and {} would both build {rel}",
                        prev.unique_id, node.unique_id
                    ),
                )
                .at(node.defined_at.clone())
                .with_help("give one of them another alias or schema"),
            );
        }
    }
}

/// A generic test's `depends_on.macros` as dbt lists them: the test macro first, then
/// `get_where_subquery` (which dbt's parse-time render of the test calls, except for the
/// built-in `unique` and `not_null`, which it does not render), then any other macro the
/// test's arguments call.
/// The start of a generic test's `depends_on.macros`, per package, namespace and test
/// name: the test macro, then (unless it is the built-in `unique` / `not_null`, whose list
/// ends there) `get_where_subquery`. The second value says whether the list is complete.
fn generic_test_macro_ids(
    runtime: &mfb_jinja::Runtime,
    package: &str,
    namespace: Option<&str>,
    test_name: &str,
) -> (Vec<String>, bool) {
    let registry = runtime.registry();
    let id_of = |v: &JinjaValue| {
        v.downcast_object_ref::<mfb_jinja::macros::MacroObject>()
            .map(|m| m.def().unique_id())
    };
    let test_macro = format!("test_{test_name}");
    let found = match namespace {
        Some(ns) => registry.lookup_in(ns, &test_macro),
        None => registry.lookup(package, &test_macro),
    };
    let mut out: Vec<String> = found.and_then(id_of).into_iter().collect();
    let fast_path = ["macro.dbt.test_unique", "macro.dbt.test_not_null"];
    if out
        .first()
        .is_some_and(|id| fast_path.contains(&id.as_str()))
    {
        return (out, true);
    }
    if let Some(id) = registry
        .lookup(package, "get_where_subquery")
        .and_then(id_of)
    {
        out.push(id);
    }
    (out, false)
}

/// A generic test's `depends_on.macros`: [`generic_test_macro_ids`], then the macros its
/// render recorded.
fn generic_test_macros(start: &(Vec<String>, bool), recorded: &[String]) -> Vec<String> {
    let (ids, complete) = start;
    let mut out = ids.clone();
    if !complete {
        for id in recorded {
            if !out.contains(id) {
                out.push(id.clone());
            }
        }
    }
    out
}

/// The dependencies of a generic test, when they can be known without rendering it: the
/// test macro is the built-in one (not overridden, nor its dispatch implementations), and
/// every argument is a literal or a plain `ref(...)` / `source(...)` call. Rendering such a
/// test at parse time records exactly these calls and nothing else.
fn static_test_deps(
    builtin: &foldhash::HashMap<(&str, &str), bool>,
    node: &Node,
) -> Option<(Vec<RefCall>, Vec<[String; 2]>)> {
    let meta = node.test_metadata.as_ref()?;
    if meta.namespace.is_some()
        || builtin.get(&(node.package_name.as_str(), meta.name.as_str())) != Some(&true)
    {
        return None;
    }
    let mut refs = Vec::new();
    let mut sources = Vec::new();
    let mut take = |expr: &str| -> Option<()> {
        let c = DEP_CALL.captures(expr)?;
        match (&c[1], c.get(3)) {
            ("ref", None) => refs.push(RefCall {
                package: None,
                name: c[2].to_owned(),
                version: None,
                at: None,
            }),
            ("ref", Some(n)) => refs.push(RefCall {
                package: Some(c[2].to_owned()),
                name: n.as_str().to_owned(),
                version: None,
                at: None,
            }),
            ("source", Some(t)) => sources.push([c[2].to_owned(), t.as_str().to_owned()]),
            _ => return None,
        }
        Some(())
    };
    for (key, value) in &meta.kwargs {
        match (key.as_str(), value) {
            ("column_name", _) => {}
            ("model", Value::String(s)) => {
                let inner = s
                    .trim()
                    .strip_prefix("{{ get_where_subquery(")?
                    .strip_suffix(") }}")?;
                take(inner)?;
            }
            (_, Value::String(s)) if s.contains("{{") || s.contains("{%") => return None,
            (_, Value::String(s)) if crate::tests_gen::looks_like_call(s.trim()) => take(s.trim())?,
            (_, v) if json_has_jinja(v) => return None,
            _ => {}
        }
    }
    Some((refs, sources))
}

fn json_has_jinja(v: &Value) -> bool {
    match v {
        Value::String(s) => {
            s.contains("{{") || s.contains("{%") || crate::tests_gen::looks_like_call(s.trim())
        }
        Value::Array(items) => items.iter().any(json_has_jinja),
        Value::Object(map) => map.values().any(json_has_jinja),
        _ => false,
    }
}

/// One version of a versioned model, by the file stem that defines it.
#[derive(Debug, Clone)]
struct ModelVersion {
    model: String,
    version: String,
    latest: String,
}

/// File stem -> version, for models whose properties declare `versions:` (each version
/// defined in `<name>_v<v>`, or in the file named by `defined_in`).
fn versioned_models(models: &[NodeProps]) -> HashMap<String, ModelVersion> {
    let mut out = HashMap::new();
    for m in models {
        let Some(versions) = m.extra.get("versions").and_then(Value::as_array) else {
            continue;
        };
        let label = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let all: Vec<(String, Option<String>)> = versions
            .iter()
            .filter_map(|v| {
                Some((
                    label(v.get("v")?),
                    v.get("defined_in")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                ))
            })
            .collect();
        let latest = m.extra.get("latest_version").map(label).unwrap_or_else(|| {
            all.iter()
                .map(|(v, _)| v.clone())
                .max_by(|a, b| match (a.parse::<f64>(), b.parse::<f64>()) {
                    (Ok(x), Ok(y)) => x.total_cmp(&y),
                    _ => a.cmp(b),
                })
                .unwrap_or_default()
        });
        for (v, defined_in) in all {
            let stem = defined_in.unwrap_or_else(|| format!("{}_v{v}", m.name));
            out.insert(
                stem,
                ModelVersion {
                    model: m.name.clone(),
                    version: v,
                    latest: latest.clone(),
                },
            );
        }
    }
    out
}

/// Points an error raised while rendering a generic test at the test's entry in the YAML
/// file (the rendered call is generated, so its "line 1" means nothing to the user), and
/// shows the generated call as a note.
pub fn relocate_test_error(
    mut d: Diagnostic,
    node: &Node,
    invocation: &str,
    project_root: &std::path::Path,
) -> Diagnostic {
    if node.test_metadata.is_none() {
        return d;
    }
    let in_generated = d
        .location
        .as_ref()
        .is_some_and(|l| l.file == node.defined_at.file);
    if in_generated || d.location.is_none() {
        d.location = Some(node.defined_at.clone());
        d.span_len = 0;
        d.source_line = std::fs::read_to_string(project_root.join(&node.defined_at.file))
            .ok()
            .and_then(|text| {
                text.lines()
                    .nth(node.defined_at.line.checked_sub(1)? as usize)
                    .map(str::to_owned)
            });
        d.notes.push(format!(
            "in test `{}`, which calls {}",
            node.name,
            invocation.trim_start_matches("{{ ").trim_end_matches(" }}")
        ));
    } else {
        d.notes.push(format!(
            "in test `{}` defined at {}",
            node.name, node.defined_at
        ));
    }
    d
}

/// dbt's warning for folder paths in the root `dbt_project.yml` config trees that apply to
/// no resource (usually a misspelled or moved folder, whose configs silently do nothing).
fn unused_config_paths(root: &Package, manifest: &Manifest) -> Option<Diagnostic> {
    let known = mfb_project::config::known_config_keys("");
    fn collect(value: &Value, path: &mut Vec<String>, known: &[&str], out: &mut Vec<Vec<String>>) {
        let Value::Object(map) = value else { return };
        for (key, child) in map {
            // A mapping under a plain key is a folder, unless the key is a config name
            // (`meta: {...}`) whose mapping holds no `+` keys.
            let has_plus_keys = child
                .as_object()
                .is_some_and(|m| m.keys().any(|k| k.starts_with('+')));
            let is_folder = !key.starts_with('+')
                && child.is_object()
                && (!known.contains(&key.as_str()) || has_plus_keys);
            if is_folder {
                path.push(key.clone());
                out.push(path.clone());
                collect(child, path, known, out);
                path.pop();
            }
        }
    }
    let fqns = |rt: &[ResourceType]| -> Vec<&[String]> {
        manifest
            .nodes
            .values()
            .chain(manifest.disabled.values())
            .filter(|n| rt.contains(&n.resource_type))
            .map(|n| n.fqn.as_slice())
            .collect()
    };
    let source_fqns: Vec<Vec<String>> = manifest
        .sources
        .values()
        .map(|s| {
            vec![
                s.package_name.clone(),
                s.source_name.clone(),
                s.name.clone(),
            ]
        })
        .collect();
    let mut unused = Vec::new();
    for (resource, tree, types) in [
        ("models", &root.models, &[ResourceType::Model][..]),
        ("seeds", &root.seeds, &[ResourceType::Seed][..]),
        ("snapshots", &root.snapshots, &[ResourceType::Snapshot][..]),
        ("data_tests", &root.tests, &[ResourceType::Test][..]),
        ("analyses", &root.analyses, &[ResourceType::Analysis][..]),
        ("sources", &root.sources, &[][..]),
    ] {
        let mut paths = Vec::new();
        collect(&tree.raw, &mut Vec::new(), &known, &mut paths);
        let node_fqns = fqns(types);
        for path in paths {
            let used = if resource == "sources" {
                source_fqns.iter().any(|f| f.starts_with(&path))
            } else {
                // Analyses' fqn has `analysis` after the package; config paths do not.
                node_fqns.iter().any(|f| {
                    f.starts_with(&path)
                        || (f.len() > 1 && f[0] == path[0] && f[2..].starts_with(&path[1..]))
                })
            };
            if !used {
                unused.push(format!("{resource}.{}", path.join(".")));
            }
        }
    }
    if unused.is_empty() {
        return None;
    }
    Some(
        Diagnostic::warning(
            "unused-config-path",
            format!("{} configuration path(s) in dbt_project.yml apply to no resource: {}", unused.len(), unused.join(", ")),
        )
        .at(Location::file("dbt_project.yml"))
        .with_help("check the folder and package names under models:/seeds:/... (their configs currently do nothing)"),
    )
}

fn has_jinja(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("{{") || s.contains("{%"),
        Value::Array(items) => items.iter().any(has_jinja),
        Value::Object(map) => map.values().any(has_jinja),
        _ => false,
    }
}
