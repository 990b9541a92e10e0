//! Discovery of the files of one package: which file is a model, a macro, a test, ...

use std::path::PathBuf;
use std::sync::Arc;

/// What a discovered file is, decided by the `*-paths` it lives under and its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// `.sql` under `model-paths`.
    Model,
    /// `.sql` under `macro-paths`, and `.sql` under `test-paths/generic/` (generic tests).
    Macro,
    /// `.sql` under `test-paths` (but not `test-paths/generic/`).
    SingularTest,
    /// `.csv` under `seed-paths`.
    Seed,
    /// `.sql` under `snapshot-paths`.
    Snapshot,
    /// `.sql` under `analysis-paths`.
    Analysis,
    /// `.md` under any resource path or `docs-paths` (holds `{% docs %}` blocks).
    Docs,
    /// `.yml`/`.yaml` under model, seed, snapshot, macro, analysis or test paths.
    Properties,
}

/// One file of a package.
#[derive(Debug, Clone)]
pub struct ProjectFile {
    /// What the file is.
    pub kind: FileKind,
    /// Path relative to the package root, with `/` separators (dbt's `original_file_path`).
    pub path: String,
    /// Path relative to the resource directory it was found in (dbt's `path`), e.g.
    /// `staging/stg_orders.sql` for `models/staging/stg_orders.sql`.
    pub resource_path: String,
    /// Absolute path on disk.
    pub abs_path: PathBuf,
    /// File contents (CSV seeds are not read here: empty for seeds).
    pub contents: Arc<str>,
}
