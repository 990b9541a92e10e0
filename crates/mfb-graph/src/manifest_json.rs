//! `target/manifest.json` in dbt's v12 shape.
//!
//! Field names, nesting and order follow what dbt-core 1.10 writes for each resource type
//! (checked by a test against a trimmed key list taken from a real `dbt parse`). Configs
//! carry dbt's defaults for keys the project did not set. Values mfb does not track are
//! written as dbt writes them when unset: `unrendered_config` is `{}`, `build_path` is
//! null, and `created_at` is the manifest's generation time.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use indexmap::IndexMap;
use md5::{Digest, Md5};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value, json};

use crate::{
    ColumnInfo, DocNode, Exposure, MacroNode, Manifest, Node, RefCall, ResourceType, SourceNode,
    UniqueId,
};

/// The `dbt_schema_version` written in `metadata`.
pub const SCHEMA_VERSION: &str = "https://schemas.getdbt.com/dbt/manifest/v12.json";
/// The dbt version mfb's artifacts claim compatibility with.
pub const DBT_VERSION: &str = "1.10.9";

/// The manifest as dbt's v12 JSON document.
///
/// For writing `target/manifest.json`, prefer [`write_manifest_json`]: it streams the same
/// document without building it in memory first.
pub fn manifest_json(manifest: &Manifest) -> Value {
    serde_json::to_value(ManifestDoc::new(manifest)).unwrap_or(Value::Null)
}

/// Writes the manifest as dbt's v12 JSON document to `out` (compact, like dbt).
///
/// The same bytes as serializing [`ManifestDoc`] in one go, but the nodes (nearly all of
/// the document in a large project) are serialized in parallel, in chunks, while
/// `parent_map`/`child_map` are computed. The chunks are done a window at a time and
/// written in order, each window reusing the buffers of the one before: memory stays at a
/// window's worth whatever the project's size (a fresh buffer per chunk would hold the
/// whole 100 MB document of a 10,000-model project, and fault in every page of it).
pub fn write_manifest_json<W: std::io::Write + Send>(
    manifest: &Manifest,
    mut out: W,
) -> serde_json::Result<()> {
    use rayon::prelude::*;
    /// Nodes per chunk, and chunks per window.
    const CHUNK: usize = 128;
    const WINDOW: usize = 32;
    let m = manifest;
    let doc = ManifestDoc::new(m);
    let ctx = &doc.ctx;
    let is_unit = |n: &Node| n.resource_type == ResourceType::UnitTest;
    let nodes: Vec<(&UniqueId, &Node)> = m.nodes.iter().filter(|(_, n)| !is_unit(n)).collect();
    let io = serde_json::Error::io;
    out.write_all(b"{").map_err(io)?;
    entry(&mut out, true, "metadata", &metadata_json(m))?;
    out.write_all(b",\"nodes\":{").map_err(io)?;
    // The entries after `nodes` (`parent_map` and `child_map` are a tenth of a large
    // document) are serialized meanwhile, as an object of their own whose opening brace is
    // dropped (the document's is already written) and whose closing brace ends it.
    let (after, written) = rayon::join(
        || -> serde_json::Result<Vec<u8>> {
            let maps = DependencyMaps::new(m);
            let mut buf = Vec::new();
            sonic_rs::to_writer(
                &mut buf,
                &AfterNodes {
                    m,
                    ctx,
                    maps: &maps,
                },
            )
            .map_err(sonic_error)?;
            Ok(buf)
        },
        || -> serde_json::Result<W> {
            let mut buffers: Vec<Vec<u8>> = vec![Vec::new(); WINDOW];
            let mut first = true;
            for window in nodes.chunks(CHUNK * WINDOW) {
                window
                    .par_chunks(CHUNK)
                    .zip(buffers.par_iter_mut())
                    .try_for_each(|(chunk, buf)| -> serde_json::Result<()> {
                        buf.clear();
                        // Sized up front (a no-op once the buffer has grown): growing a
                        // buffer of hundreds of kilobytes copies it each time.
                        let size: usize = chunk
                            .iter()
                            .map(|(_, n)| {
                                3072 + (n.raw_code.len()
                                    + n.compiled_code.as_ref().map_or(0, String::len)
                                    + n.description.len())
                                    * 5
                                    / 4
                                    + 512 * n.columns.len()
                            })
                            .sum();
                        buf.reserve(size);
                        for (id, n) in chunk {
                            buf.push(b',');
                            sonic_rs::to_writer(&mut *buf, id.as_str()).map_err(sonic_error)?;
                            buf.push(b':');
                            sonic_rs::to_writer(&mut *buf, &NodeDoc { n, ctx })
                                .map_err(sonic_error)?;
                        }
                        Ok(())
                    })?;
                let used = window.len().div_ceil(CHUNK);
                for buf in &buffers[..used] {
                    // Every pair of a chunk is led by a comma; the very first one's is dropped.
                    let bytes = if first { &buf[1..] } else { &buf[..] };
                    first = false;
                    out.write_all(bytes).map_err(io)?;
                }
            }
            Ok(out)
        },
    );
    let mut out = written?;
    out.write_all(b"},").map_err(io)?;
    out.write_all(after?.get(1..).unwrap_or_default())
        .map_err(io)?;
    out.flush().map_err(io)
}

/// A serialization error of sonic-rs as serde_json's error type.
fn sonic_error(e: sonic_rs::Error) -> serde_json::Error {
    serde_json::Error::io(std::io::Error::other(e.to_string()))
}

/// `"key":value` of the top-level object (`,` first unless `first`), compact.
fn entry<W: std::io::Write, T: Serialize + ?Sized>(
    out: &mut W,
    first: bool,
    key: &str,
    value: &T,
) -> serde_json::Result<()> {
    let io = serde_json::Error::io;
    if !first {
        out.write_all(b",").map_err(io)?;
    }
    serde_json::to_writer(&mut *out, key)?;
    out.write_all(b":").map_err(io)?;
    serde_json::to_writer(&mut *out, value)
}

struct Ctx<'a> {
    created_at: f64,
    primary_keys: foldhash::HashMap<&'a str, Vec<&'a str>>,
}

/// The whole document, serialized field by field without an intermediate `Value`.
struct ManifestDoc<'a> {
    m: &'a Manifest,
    ctx: Ctx<'a>,
}

impl<'a> ManifestDoc<'a> {
    fn new(m: &'a Manifest) -> Self {
        ManifestDoc {
            m,
            ctx: Ctx {
                created_at: epoch_seconds(&m.generated_at),
                primary_keys: primary_keys(m),
            },
        }
    }
}

impl Serialize for ManifestDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (m, ctx) = (self.m, &self.ctx);
        let is_unit = |n: &Node| n.resource_type == ResourceType::UnitTest;
        let maps = DependencyMaps::new(m);
        let mut o = s.serialize_map(Some(16))?;
        o.serialize_entry("metadata", &metadata_json(m))?;
        o.serialize_entry(
            "nodes",
            &MapOf(|| {
                m.nodes
                    .iter()
                    .filter(|(_, n)| !is_unit(n))
                    .map(|(id, n)| (id.as_str(), NodeDoc { n, ctx }))
            }),
        )?;
        AfterNodes {
            m,
            ctx,
            maps: &maps,
        }
        .entries(&mut o)?;
        o.end()
    }
}

/// The entries of the document after `nodes`, in dbt's order: serialized on their own
/// (as an object) by [`write_manifest_json`], and into the whole document by
/// [`ManifestDoc`].
struct AfterNodes<'a, 'm> {
    m: &'a Manifest,
    ctx: &'a Ctx<'m>,
    maps: &'a DependencyMaps<'m>,
}

impl AfterNodes<'_, '_> {
    fn entries<M: SerializeMap>(&self, o: &mut M) -> Result<(), M::Error> {
        let (m, ctx, maps) = (self.m, self.ctx, self.maps);
        let is_unit = |n: &Node| n.resource_type == ResourceType::UnitTest;
        o.serialize_entry(
            "sources",
            &MapOf(|| {
                m.sources
                    .iter()
                    .map(|(id, x)| (id.as_str(), source_json(x, ctx)))
            }),
        )?;
        o.serialize_entry(
            "macros",
            &MapOf(|| {
                m.macros
                    .iter()
                    .map(|(id, x)| (id.as_str(), macro_json(x, ctx)))
            }),
        )?;
        o.serialize_entry(
            "docs",
            &MapOf(|| m.docs.iter().map(|(id, x)| (id.as_str(), doc_json(x)))),
        )?;
        o.serialize_entry(
            "exposures",
            &MapOf(|| {
                m.exposures
                    .iter()
                    .map(|(id, x)| (id.as_str(), exposure_json(x, ctx)))
            }),
        )?;
        for key in ["metrics", "groups", "selectors"] {
            o.serialize_entry(key, &EmptyMap)?;
        }
        o.serialize_entry(
            "disabled",
            &MapOf(|| {
                m.disabled.iter().map(|(id, n)| {
                    let body = if is_unit(n) {
                        Either::A(unit_test_json(n, ctx))
                    } else {
                        Either::B(NodeDoc { n, ctx })
                    };
                    (id.as_str(), [body])
                })
            }),
        )?;
        o.serialize_entry("parent_map", &maps.map(&maps.parents))?;
        o.serialize_entry("child_map", &maps.map(&maps.children))?;
        for key in ["group_map", "saved_queries", "semantic_models"] {
            o.serialize_entry(key, &EmptyMap)?;
        }
        o.serialize_entry(
            "unit_tests",
            &MapOf(|| {
                m.nodes
                    .iter()
                    .filter(|(_, n)| is_unit(n))
                    .map(|(id, n)| (id.as_str(), unit_test_json(n, ctx)))
            }),
        )?;
        Ok(())
    }
}

impl Serialize for AfterNodes<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_map(None)?;
        self.entries(&mut o)?;
        o.end()
    }
}

/// Serializes the pairs of a fresh iterator as a JSON object.
struct MapOf<F>(F);

impl<F, I, K, V> Serialize for MapOf<F>
where
    F: Fn() -> I,
    I: Iterator<Item = (K, V)>,
    K: Serialize,
    V: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map((self.0)())
    }
}

/// `{}`.
struct EmptyMap;

impl Serialize for EmptyMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_map(Some(0))?.end()
    }
}

/// `[]`.
const EMPTY_LIST: [u8; 0] = [];

enum Either<A, B> {
    A(A),
    B(B),
}

impl<A: Serialize, B: Serialize> Serialize for Either<A, B> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Either::A(a) => a.serialize(s),
            Either::B(b) => b.serialize(s),
        }
    }
}

fn metadata_json(m: &Manifest) -> Value {
    let project_id = if m.project_name.is_empty() {
        Value::Null
    } else {
        let digest = Md5::digest(m.project_name.as_bytes());
        Value::String(digest.iter().map(|b| format!("{b:02x}")).collect())
    };
    json!({
        "dbt_schema_version": SCHEMA_VERSION,
        "dbt_version": DBT_VERSION,
        "generated_at": m.generated_at,
        "invocation_id": m.invocation_id,
        "invocation_started_at": m.generated_at,
        "env": m.env,
        "project_name": m.project_name,
        "project_id": project_id,
        "user_id": null,
        "send_anonymous_usage_stats": false,
        "adapter_type": if m.adapter_type.is_empty() { "postgres" } else { m.adapter_type.as_str() },
        "quoting": {"database": true, "schema": true, "identifier": true, "column": null},
    })
}

/// `parent_map` and `child_map` over every node, source and exposure, ids sorted.
/// Dependencies on ids the manifest does not hold are left out (the parser reports them).
struct DependencyMaps<'a> {
    ids: Vec<&'a str>,
    parents: Vec<Vec<u32>>,
    children: Vec<Vec<u32>>,
}

impl<'a> DependencyMaps<'a> {
    fn new(m: &'a Manifest) -> Self {
        let mut ids: Vec<&str> = m
            .nodes
            .keys()
            .chain(m.sources.keys())
            .chain(m.exposures.keys())
            .map(UniqueId::as_str)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let rank: foldhash::HashMap<&str, u32> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i as u32))
            .collect();
        let mut parents: Vec<Vec<u32>> = vec![Vec::new(); ids.len()];
        let deps = m
            .nodes
            .iter()
            .map(|(id, n)| (id, &n.depends_on.nodes))
            .chain(m.exposures.iter().map(|(id, e)| (id, &e.depends_on.nodes)));
        for (id, dep_ids) in deps {
            let list = &mut parents[rank[id.as_str()] as usize];
            list.extend(dep_ids.iter().filter_map(|d| rank.get(d.as_str()).copied()));
            list.sort_unstable();
            list.dedup();
        }
        let mut children: Vec<Vec<u32>> = vec![Vec::new(); ids.len()];
        for (child, ps) in parents.iter().enumerate() {
            for &p in ps {
                children[p as usize].push(child as u32);
            }
        }
        DependencyMaps {
            ids,
            parents,
            children,
        }
    }

    fn map<'s>(&'s self, lists: &'s [Vec<u32>]) -> impl Serialize + 's {
        MapOf(move || {
            self.ids
                .iter()
                .zip(lists)
                .map(move |(id, list)| (*id, IdList(list, &self.ids)))
        })
    }
}

/// A list of ranks written as the ids they stand for.
struct IdList<'a>(&'a [u32], &'a [&'a str]);

impl Serialize for IdList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|&i| self.1[i as usize]))
    }
}

/// Columns that have both a `unique` and a `not_null` test, per tested node (dbt's
/// inferred `primary_key`).
fn primary_keys(m: &Manifest) -> foldhash::HashMap<&str, Vec<&str>> {
    let mut seen: foldhash::HashMap<&str, BTreeMap<&str, (bool, bool)>> =
        foldhash::HashMap::default();
    for n in m.nodes.values() {
        let (Some(tm), Some(attached), Some(col)) =
            (&n.test_metadata, &n.attached_node, &n.column_name)
        else {
            continue;
        };
        let is_unique = tm.name == "unique";
        if !is_unique && tm.name != "not_null" {
            continue;
        }
        let entry = seen
            .entry(attached.as_str())
            .or_default()
            .entry(col.as_str())
            .or_default();
        if is_unique {
            entry.0 = true;
        } else {
            entry.1 = true;
        }
    }
    seen.into_iter()
        .map(|(node, cols)| {
            (
                node,
                cols.into_iter()
                    .filter(|(_, (u, nn))| *u && *nn)
                    .map(|(c, _)| c)
                    .collect(),
            )
        })
        .collect()
}

#[derive(Serialize)]
struct ChecksumDoc<'a> {
    name: &'a str,
    checksum: &'a str,
}

fn checksum_doc(sum: &str) -> ChecksumDoc<'_> {
    match sum.strip_prefix("path:") {
        Some(path) => ChecksumDoc {
            name: "path",
            checksum: path,
        },
        None => ChecksumDoc {
            name: if sum.is_empty() { "none" } else { "sha256" },
            checksum: sum,
        },
    }
}

#[derive(Serialize)]
struct DocsDefault {
    show: bool,
    node_color: Option<()>,
}

#[derive(Serialize)]
struct DependsOnDoc<'a> {
    macros: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    nodes: Option<&'a [String]>,
}

#[derive(Serialize)]
struct RefDoc<'a> {
    name: &'a str,
    package: Option<&'a str>,
    version: Option<&'a str>,
}

#[derive(Serialize)]
struct ContractDoc<'a> {
    enforced: &'a Value,
    alias_types: &'a Value,
    checksum: Option<()>,
}

#[derive(Serialize)]
struct ColumnDoc<'a> {
    name: &'a str,
    description: &'a str,
    meta: &'a IndexMap<String, Value>,
    data_type: Option<&'a str>,
    constraints: &'a [Value],
    quote: Option<bool>,
    config: ColumnConfigDoc<'a>,
    tags: &'a [String],
    granularity: Option<()>,
    doc_blocks: [u8; 0],
}

#[derive(Serialize)]
struct ColumnConfigDoc<'a> {
    meta: &'a IndexMap<String, Value>,
    tags: &'a [String],
}

fn columns_doc(cols: &IndexMap<String, ColumnInfo>) -> impl Serialize + '_ {
    MapOf(move || {
        cols.iter().map(|(k, c)| {
            let doc = ColumnDoc {
                name: &c.name,
                description: &c.description,
                meta: &c.meta,
                data_type: c.data_type.as_deref(),
                constraints: &c.constraints,
                quote: c.quote,
                config: ColumnConfigDoc {
                    meta: &c.meta,
                    tags: &c.tags,
                },
                tags: &c.tags,
                granularity: None,
                doc_blocks: [],
            };
            (k.as_str(), doc)
        })
    })
}

fn refs_doc(refs: &[RefCall]) -> Vec<RefDoc<'_>> {
    refs.iter()
        .map(|r| RefDoc {
            name: &r.name,
            package: r.package.as_deref(),
            version: r.version.as_deref(),
        })
        .collect()
}

fn non_empty_str(s: &str) -> Option<&str> {
    if s.is_empty() { None } else { Some(s) }
}

/// A model, seed, snapshot, analysis, operation or test, in dbt's field order.
struct NodeDoc<'a> {
    n: &'a Node,
    ctx: &'a Ctx<'a>,
}

impl Serialize for NodeDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = self.n;
        let rt = n.resource_type;
        let config = ConfigDoc { n };
        let lookup = |k: &str| config.value(k);
        let mut o = s.serialize_map(None)?;
        o.serialize_entry("database", &non_empty_str(&n.database))?;
        o.serialize_entry("schema", &non_empty_str(&n.schema))?;
        o.serialize_entry("name", &n.name)?;
        o.serialize_entry("resource_type", rt.as_str())?;
        o.serialize_entry("package_name", &n.package_name)?;
        o.serialize_entry("path", &n.path)?;
        o.serialize_entry("original_file_path", &n.original_file_path)?;
        o.serialize_entry("unique_id", n.unique_id.as_str())?;
        o.serialize_entry("fqn", &n.fqn)?;
        o.serialize_entry(
            "alias",
            if n.alias.is_empty() {
                &n.name
            } else {
                &n.alias
            },
        )?;
        o.serialize_entry("checksum", &checksum_doc(&n.checksum))?;
        o.serialize_entry("config", &config)?;
        o.serialize_entry("tags", &n.tags)?;
        o.serialize_entry("description", &n.description)?;
        o.serialize_entry("columns", &columns_doc(&n.columns))?;
        o.serialize_entry("meta", &n.meta)?;
        o.serialize_entry("group", &lookup("group"))?;
        match lookup("docs") {
            Some(docs) => {
                o.serialize_entry("docs", &merged(default_config_value(rt, "docs"), docs))?
            }
            None => o.serialize_entry(
                "docs",
                &DocsDefault {
                    show: true,
                    node_color: None,
                },
            )?,
        }
        o.serialize_entry("patch_path", &n.patch_path)?;
        o.serialize_entry("build_path", &None::<()>)?;
        o.serialize_entry("unrendered_config", &EmptyMap)?;
        o.serialize_entry("created_at", &self.ctx.created_at)?;
        let relation_like = matches!(
            rt,
            ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
        );
        let ephemeral = lookup("materialized").and_then(Value::as_str) == Some("ephemeral");
        let relation_name = if relation_like && !ephemeral {
            n.relation_name.as_deref()
        } else {
            None
        };
        o.serialize_entry("relation_name", &relation_name)?;
        o.serialize_entry("raw_code", &*n.raw_code)?;
        o.serialize_entry("doc_blocks", &EMPTY_LIST)?;
        if rt == ResourceType::Seed {
            o.serialize_entry("root_path", &None::<()>)?;
            o.serialize_entry(
                "depends_on",
                &DependsOnDoc {
                    macros: &n.depends_on.macros,
                    nodes: None,
                },
            )?;
        } else {
            o.serialize_entry("language", "sql")?;
            o.serialize_entry("refs", &refs_doc(&n.refs))?;
            o.serialize_entry("sources", &n.sources)?;
            o.serialize_entry("metrics", &EMPTY_LIST)?;
            o.serialize_entry(
                "depends_on",
                &DependsOnDoc {
                    macros: &n.depends_on.macros,
                    nodes: Some(&n.depends_on.nodes),
                },
            )?;
            match &n.compiled_code {
                Some(code) => {
                    let path = format!(
                        "target/compiled/{}/{}",
                        n.package_name, n.original_file_path
                    );
                    o.serialize_entry("compiled_path", &path)?;
                    o.serialize_entry("compiled", &true)?;
                    o.serialize_entry("compiled_code", code)?;
                    o.serialize_entry("extra_ctes_injected", &true)?;
                    o.serialize_entry("extra_ctes", &EMPTY_LIST)?;
                }
                None => o.serialize_entry("compiled_path", &None::<()>)?,
            }
            let contract = lookup("contract");
            let field = |k: &str, default: &'static Value| {
                contract.and_then(|c| c.get(k)).unwrap_or(default)
            };
            static FALSE: Value = Value::Bool(false);
            static TRUE: Value = Value::Bool(true);
            let doc = ContractDoc {
                enforced: field("enforced", &FALSE),
                alias_types: field("alias_types", &TRUE),
                checksum: None,
            };
            o.serialize_entry("contract", &doc)?;
        }
        match rt {
            ResourceType::Model => {
                o.serialize_entry(
                    "access",
                    lookup("access")
                        .and_then(Value::as_str)
                        .unwrap_or("protected"),
                )?;
                match lookup("constraints") {
                    Some(c) => o.serialize_entry("constraints", c)?,
                    None => o.serialize_entry("constraints", &EMPTY_LIST)?,
                }
                o.serialize_entry("version", &n.version)?;
                o.serialize_entry("latest_version", &n.latest_version)?;
                o.serialize_entry("deprecation_date", &None::<()>)?;
                let pk = self
                    .ctx
                    .primary_keys
                    .get(n.unique_id.as_str())
                    .map_or(&[][..], Vec::as_slice);
                o.serialize_entry("primary_key", pk)?;
                o.serialize_entry("time_spine", &None::<()>)?;
            }
            ResourceType::Operation => {
                let index = n
                    .name
                    .rsplit('-')
                    .next()
                    .and_then(|s| s.parse::<u64>().ok());
                o.serialize_entry("index", &index)?;
            }
            ResourceType::Test => {
                if let Some(tm) = &n.test_metadata {
                    o.serialize_entry("column_name", &n.column_name)?;
                    o.serialize_entry("file_key_name", &n.file_key_name)?;
                    o.serialize_entry("attached_node", &n.attached_node)?;
                    o.serialize_entry("test_metadata", tm)?;
                }
            }
            _ => {}
        }
        o.end()
    }
}

/// A node's config: dbt's defaults for its resource type in dbt's order, overlaid by the
/// resolved config, then the keys dbt has no default for.
struct ConfigDoc<'a> {
    n: &'a Node,
}

impl<'a> ConfigDoc<'a> {
    /// The node's own value for `key` (`pre-hook` also found as `pre_hook`).
    fn value(&self, key: &str) -> Option<&'a Value> {
        let c = &self.n.config;
        let alt = match key {
            "pre-hook" => "pre_hook",
            "post-hook" => "post_hook",
            _ => key,
        };
        // Configs hold a handful of keys: a scan beats hashing ~30 lookups per node.
        if c.len() <= 12 {
            c.iter()
                .find(|(k, _)| *k == key || *k == alt)
                .map(|(_, v)| v)
        } else {
            c.get(key).or_else(|| c.get(alt))
        }
    }
}

fn normalized_key(k: &str) -> &str {
    match k {
        "pre_hook" => "pre-hook",
        "post_hook" => "post-hook",
        other => other,
    }
}

impl Serialize for ConfigDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = self.n;
        let defaults = defaults_for(n.resource_type);
        let mut o = s.serialize_map(None)?;
        if let Some(defaults) = defaults {
            for (k, default) in defaults {
                match self.value(k) {
                    Some(v) => match k.as_str() {
                        "pre-hook" | "post-hook" => o.serialize_entry(k, &HooksDoc(v))?,
                        "docs" | "contract" | "persist_docs" => {
                            o.serialize_entry(k, &merged(Some(default), v))?
                        }
                        _ => o.serialize_entry(k, v)?,
                    },
                    None if k == "tags" => o.serialize_entry(k, &n.tags)?,
                    None if k == "meta" && !n.meta.is_empty() => o.serialize_entry(k, &n.meta)?,
                    None => o.serialize_entry(k, default)?,
                }
            }
        }
        let mut written: Vec<&str> = Vec::new();
        for (k, v) in &n.config {
            let key = normalized_key(k);
            // Model-level constraints are a node field in dbt's manifest, not a config.
            if key == "constraints"
                || written.contains(&key)
                || defaults.is_some_and(|d| d.contains_key(key))
            {
                continue;
            }
            written.push(key);
            match key {
                "pre-hook" | "post-hook" => o.serialize_entry(key, &HooksDoc(v))?,
                _ => o.serialize_entry(key, v)?,
            }
        }
        o.end()
    }
}

/// Hooks as dbt stores them: a list of `{sql, transaction, index}`.
struct HooksDoc<'a>(&'a Value);

impl Serialize for HooksDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.collect_seq(std::iter::empty::<Value>()),
            Value::Array(items) => s.collect_seq(items.iter().map(hook_json)),
            other => s.collect_seq(std::iter::once(hook_json(other))),
        }
    }
}

fn hook_json(h: &Value) -> Value {
    match h {
        Value::String(sql) => json!({"sql": sql, "transaction": true, "index": null}),
        Value::Object(m) => json!({
            "sql": m.get("sql").cloned().unwrap_or_else(|| "".into()),
            "transaction": m.get("transaction").cloned().unwrap_or(true.into()),
            "index": m.get("index").cloned().unwrap_or(Value::Null),
        }),
        other => json!({"sql": other.to_string(), "transaction": true, "index": null}),
    }
}

/// `over` laid key by key over the object `base` (dbt fills sub-keys like `docs.show`).
fn merged<'v>(base: Option<&Value>, over: &'v Value) -> std::borrow::Cow<'v, Value> {
    match (base, over) {
        (Some(Value::Object(b)), Value::Object(o)) if b.keys().any(|k| !o.contains_key(k)) => {
            let mut m = b.clone();
            for (k, v) in o {
                m.insert(k.clone(), v.clone());
            }
            std::borrow::Cow::Owned(Value::Object(m))
        }
        _ => std::borrow::Cow::Borrowed(over),
    }
}

fn unit_test_json(n: &Node, ctx: &Ctx<'_>) -> Value {
    let def = n.unit_test.as_ref();
    let field = |k: &str| def.and_then(|d| d.get(k)).cloned();
    let model = field("model").unwrap_or_else(|| {
        n.attached_node
            .as_deref()
            .or(n.depends_on.nodes.first().map(String::as_str))
            .and_then(|id| id.rsplit('.').next())
            .unwrap_or_default()
            .into()
    });
    let mut expect = field("expect").unwrap_or_else(|| json!({"rows": []}));
    if let Value::Object(e) = &mut expect {
        e.entry("format").or_insert_with(|| "dict".into());
        e.entry("fixture").or_insert(Value::Null);
    }
    let mut given = field("given").unwrap_or_else(|| json!([]));
    if let Value::Array(items) = &mut given {
        for g in items.iter_mut().filter_map(Value::as_object_mut) {
            g.entry("format").or_insert_with(|| "dict".into());
            g.entry("fixture").or_insert(Value::Null);
        }
    }
    let mut config = Map::new();
    config.insert(
        "tags".into(),
        n.config
            .get("tags")
            .cloned()
            .unwrap_or_else(|| n.tags.clone().into()),
    );
    config.insert(
        "meta".into(),
        n.config
            .get("meta")
            .cloned()
            .unwrap_or_else(|| map_json(&n.meta)),
    );
    config.insert(
        "enabled".into(),
        n.config.get("enabled").cloned().unwrap_or(true.into()),
    );
    for (k, v) in &n.config {
        config.entry(k.clone()).or_insert_with(|| v.clone());
    }
    json!({
        "model": model,
        "given": given,
        "expect": expect,
        "name": n.name,
        "resource_type": "unit_test",
        "package_name": n.package_name,
        "path": n.path,
        "original_file_path": n.original_file_path,
        "unique_id": n.unique_id,
        "fqn": n.fqn,
        "description": n.description,
        "overrides": field("overrides").unwrap_or(Value::Null),
        "depends_on": {"macros": n.depends_on.macros, "nodes": n.depends_on.nodes},
        "config": config,
        "checksum": n.checksum,
        "schema": non_empty(&n.schema),
        "created_at": ctx.created_at,
        "versions": field("versions").unwrap_or(Value::Null),
        "version": field("version").unwrap_or(Value::Null),
    })
}

fn source_json(s: &SourceNode, ctx: &Ctx<'_>) -> Value {
    let quoting = json!({
        "database": s.quoting.get("database").cloned().unwrap_or(Value::Null),
        "schema": s.quoting.get("schema").cloned().unwrap_or(Value::Null),
        "identifier": s.quoting.get("identifier").cloned().unwrap_or(Value::Null),
        "column": s.quoting.get("column").cloned().unwrap_or(Value::Null),
    });
    let config = source_config_json(s);
    json!({
        "database": non_empty(&s.database),
        "schema": s.schema,
        "name": s.name,
        "resource_type": "source",
        "package_name": s.package_name,
        "path": s.path,
        "original_file_path": s.original_file_path,
        "unique_id": s.unique_id,
        "fqn": s.fqn,
        "source_name": s.source_name,
        "source_description": s.source_description,
        "loader": s.loader,
        "identifier": s.identifier,
        "quoting": quoting,
        "loaded_at_field": s.loaded_at_field,
        "loaded_at_query": null,
        "freshness": config.get("freshness").cloned().unwrap_or(Value::Null),
        "external": null,
        "description": s.description,
        "columns": columns_json(&s.columns),
        "meta": map_json(&s.meta),
        "source_meta": map_json(&s.source_meta),
        "tags": s.tags,
        "config": config,
        "patch_path": null,
        "unrendered_config": {},
        "relation_name": s.relation_name,
        "created_at": ctx.created_at,
        "unrendered_database": null,
        "unrendered_schema": null,
        "doc_blocks": [],
    })
}

fn macro_json(m: &MacroNode, ctx: &Ctx<'_>) -> Value {
    json!({
        "name": m.name,
        "resource_type": "macro",
        "package_name": m.package_name,
        "path": m.path,
        "original_file_path": m.original_file_path,
        "unique_id": m.unique_id,
        "macro_sql": &*m.macro_sql,
        "depends_on": {"macros": m.depends_on_macros},
        "description": m.description,
        "meta": map_json(&m.meta),
        "docs": {"show": true, "node_color": null},
        "patch_path": null,
        "arguments": m.arguments,
        "created_at": ctx.created_at,
        "supported_languages": null,
    })
}

fn doc_json(d: &DocNode) -> Value {
    json!({
        "name": d.name,
        "resource_type": "doc",
        "package_name": d.package_name,
        "path": d.path,
        "original_file_path": d.original_file_path,
        "unique_id": d.unique_id,
        "block_contents": d.block_contents,
    })
}

fn exposure_json(e: &Exposure, ctx: &Ctx<'_>) -> Value {
    json!({
        "name": e.name,
        "resource_type": "exposure",
        "package_name": e.package_name,
        "path": e.path,
        "original_file_path": e.original_file_path,
        "unique_id": e.unique_id,
        "fqn": e.fqn,
        "type": e.exposure_type,
        "owner": e.owner,
        "description": e.description,
        "label": e.label,
        "maturity": e.maturity,
        "meta": map_json(&e.meta),
        "tags": e.tags,
        "config": exposure_config_json(e),
        "unrendered_config": {},
        "url": e.url,
        "depends_on": {"macros": e.depends_on.macros, "nodes": e.depends_on.nodes},
        "refs": refs_json(&e.refs),
        "sources": sources_json(&e.sources),
        "metrics": [],
        "created_at": ctx.created_at,
    })
}

/// A node's `config` as dbt writes it: dbt's defaults for its resource type, overlaid by
/// the resolved config; hooks as `[{sql, transaction, index}]`; `tags`/`meta` from the
/// node when the config lacks them.
pub fn node_config_json(n: &Node) -> Value {
    serde_json::to_value(ConfigDoc { n }).unwrap_or(Value::Null)
}

/// A source's `config` as dbt writes it.
pub fn source_config_json(s: &SourceNode) -> Value {
    let freshness = s.freshness.clone().unwrap_or_else(|| {
        json!({
            "warn_after": {"count": null, "period": null},
            "error_after": {"count": null, "period": null},
            "filter": null,
        })
    });
    let mut out = Map::new();
    out.insert("enabled".into(), true.into());
    out.insert("event_time".into(), Value::Null);
    out.insert("freshness".into(), freshness);
    out.insert("loaded_at_field".into(), s.loaded_at_field.clone().into());
    out.insert("loaded_at_query".into(), Value::Null);
    out.insert("meta".into(), map_json(&s.meta));
    out.insert("tags".into(), s.tags.clone().into());
    for (k, v) in &s.config {
        out.insert(k.clone(), v.clone());
    }
    Value::Object(out)
}

/// An exposure's `config` as dbt writes it.
pub fn exposure_config_json(e: &Exposure) -> Value {
    let mut out = Map::new();
    out.insert("enabled".into(), true.into());
    out.insert("tags".into(), e.tags.clone().into());
    out.insert("meta".into(), map_json(&e.meta));
    for (k, v) in &e.config {
        out.insert(k.clone(), v.clone());
    }
    Value::Object(out)
}

/// dbt's default for a config key of a resource type, if dbt has one.
pub(crate) fn default_config_value(rt: ResourceType, key: &str) -> Option<&'static Value> {
    defaults_for(rt).and_then(|d| d.get(key))
}

fn defaults_for(rt: ResourceType) -> Option<&'static Map<String, Value>> {
    static DEFAULTS: LazyLock<IndexMap<ResourceType, Map<String, Value>>> =
        LazyLock::new(build_defaults);
    DEFAULTS.get(&rt)
}

fn build_defaults() -> IndexMap<ResourceType, Map<String, Value>> {
    let base = |materialized: &str| -> Map<String, Value> {
        let v = json!({
            "enabled": true, "alias": null, "schema": null, "database": null, "tags": [], "meta": {},
            "group": null, "materialized": materialized, "incremental_strategy": null,
            "batch_size": null, "lookback": 1, "begin": null, "persist_docs": {},
            "post-hook": [], "pre-hook": [], "quoting": {}, "column_types": {},
            "full_refresh": null, "unique_key": null, "on_schema_change": "ignore",
            "on_configuration_change": "apply", "grants": {}, "packages": [],
            "docs": {"show": true, "node_color": null},
            "contract": {"enforced": false, "alias_types": true},
            "event_time": null, "concurrent_batches": null,
        });
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    };
    let extend = |mut m: Map<String, Value>, extra: Value| {
        if let Value::Object(e) = extra {
            m.extend(e);
        }
        m
    };
    let mut d = IndexMap::new();
    d.insert(
        ResourceType::Model,
        extend(
            base("view"),
            json!({"access": "protected", "freshness": null}),
        ),
    );
    d.insert(
        ResourceType::Seed,
        extend(
            base("seed"),
            json!({"delimiter": ",", "quote_columns": null}),
        ),
    );
    d.insert(
        ResourceType::Snapshot,
        extend(
            base("snapshot"),
            json!({
                "strategy": null, "target_schema": null, "target_database": null,
                "updated_at": null, "check_cols": null,
                "snapshot_meta_column_names": {
                    "dbt_valid_to": null, "dbt_valid_from": null, "dbt_scd_id": null,
                    "dbt_updated_at": null, "dbt_is_deleted": null,
                },
                "dbt_valid_to_current": null,
            }),
        ),
    );
    d.insert(ResourceType::Analysis, base("view"));
    d.insert(ResourceType::Operation, base("view"));
    let test = json!({
        "enabled": true, "alias": null, "schema": "dbt_test__audit", "database": null,
        "tags": [], "meta": {}, "group": null, "materialized": "test", "severity": "ERROR",
        "store_failures": null, "store_failures_as": null, "where": null, "limit": null,
        "fail_calc": "count(*)", "warn_if": "!= 0", "error_if": "!= 0",
    });
    if let Value::Object(t) = test {
        d.insert(ResourceType::Test, t);
    }
    if let Value::Object(u) = json!({"tags": [], "meta": {}, "enabled": true}) {
        d.insert(ResourceType::UnitTest, u);
    }
    if let Value::Object(s) = json!({"enabled": true, "tags": [], "meta": {}}) {
        d.insert(ResourceType::Source, s.clone());
        d.insert(ResourceType::Exposure, s);
    }
    d
}

fn non_empty(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::String(s.to_owned())
    }
}

fn map_json(m: &IndexMap<String, Value>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn refs_json(refs: &[RefCall]) -> Value {
    Value::Array(
        refs.iter()
            .map(|r| json!({"name": r.name, "package": r.package, "version": r.version}))
            .collect(),
    )
}

fn sources_json(sources: &[[String; 2]]) -> Value {
    Value::Array(sources.iter().map(|[a, b]| json!([a, b])).collect())
}

fn columns_json(cols: &IndexMap<String, ColumnInfo>) -> Value {
    Value::Object(
        cols.iter()
            .map(|(k, c)| {
                (
                    k.clone(),
                    json!({
                        "name": c.name,
                        "description": c.description,
                        "meta": map_json(&c.meta),
                        "data_type": c.data_type,
                        "constraints": c.constraints,
                        "quote": c.quote,
                        "config": {"meta": map_json(&c.meta), "tags": c.tags},
                        "tags": c.tags,
                        "granularity": null,
                        "doc_blocks": [],
                    }),
                )
            })
            .collect(),
    )
}

/// Seconds since the Unix epoch of an ISO-8601 UTC time (`2024-05-01T12:00:00.5Z`); 0
/// when it does not parse.
fn epoch_seconds(iso: &str) -> f64 {
    let parse = || -> Option<f64> {
        let (date, time) = iso.trim_end_matches('Z').split_once(['T', ' '])?;
        let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
        let (y, m, day) = (d.next()??, d.next()??, d.next()??);
        let time = time.split(['+']).next()?;
        let mut t = time.split(':');
        let (h, min) = (
            t.next()?.parse::<i64>().ok()?,
            t.next()?.parse::<i64>().ok()?,
        );
        let sec = t.next().map_or(Some(0.0), |s| s.parse::<f64>().ok())?;
        // Days from civil (Howard Hinnant's algorithm).
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        Some((days * 86_400 + h * 3600 + min * 60) as f64 + sec)
    };
    parse().unwrap_or(0.0)
}

#[cfg(test)]
mod tests;
