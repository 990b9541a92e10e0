//! `target/manifest.json` in dbt's v12 shape.

use crate::Manifest;

/// The manifest as dbt's v12 JSON document.
pub fn manifest_json(manifest: &Manifest) -> serde_json::Value {
    let _ = manifest;
    todo!("mfb-graph helper")
}
