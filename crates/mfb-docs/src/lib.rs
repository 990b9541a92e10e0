//! mfb's documentation site: manifest.json + catalog.json + run_results.json (and column
//! lineage when known) -> `index.html` with its assets, or one self-contained HTML file.
//!
//! The site opens from disk without a network: hand-written JavaScript and CSS embedded
//! in this crate, the data inlined as JSON (the index every page needs) or in small
//! script files loaded on demand (each node's SQL, columns, tests and results). The graph
//! layout is computed here, so the browser only draws.

pub mod artifacts;
mod layout;
mod render;
pub mod site;

pub use artifacts::{Artifacts, ColumnLineage, ColumnSource};
pub use render::{ASSETS_DIR, STATIC_FILE, write_site, write_static};
