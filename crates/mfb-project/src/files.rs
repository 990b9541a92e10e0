//! Discovery of the files of one package: which file is a model, a macro, a test, ...

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::ignore::IgnoreRules;

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
    /// `.csv`/`.sql` under `test-paths/fixtures/`: rows for unit tests (`fixture:` in
    /// `given`/`expect`), named by file stem like dbt.
    Fixture,
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

/// Which resource paths a directory was listed in.
#[derive(Debug, Clone, Copy, Default)]
struct Roles {
    model: bool,
    seed: bool,
    test: bool,
    macros: bool,
    snapshot: bool,
    analysis: bool,
    docs: bool,
}

impl Roles {
    fn properties(self) -> bool {
        self.model || self.seed || self.test || self.macros || self.snapshot || self.analysis
    }
}

/// The `*-paths` of one package, as written in its dbt_project.yml.
pub(crate) struct ResourcePaths<'a> {
    pub model: &'a [String],
    pub seed: &'a [String],
    pub test: &'a [String],
    pub macros: &'a [String],
    pub snapshot: &'a [String],
    pub analysis: &'a [String],
    pub docs: &'a [String],
}

/// `./models/` -> `models`; `.` -> empty (the package root).
fn normalise_dir(dir: &str) -> String {
    let mut d = dir.trim().replace('\\', "/");
    while let Some(rest) = d.strip_prefix("./") {
        d = rest.to_owned();
    }
    let d = d.trim_end_matches('/');
    if d == "." {
        String::new()
    } else {
        d.to_owned()
    }
}

/// Lists the files of a package (without reading them): every resource directory is
/// walked once, hidden directories and files are skipped, and so are the directories in
/// `skip` (relative to the package root, e.g. `target`, `dbt_packages`) and the files
/// matched by the package's `.dbtignore`.
pub(crate) fn discover(
    root: &Path,
    paths: &ResourcePaths<'_>,
    skip: &[String],
) -> Vec<(FileKind, String, String)> {
    let dbtignore = std::fs::read_to_string(root.join(".dbtignore"))
        .ok()
        .map(|t| IgnoreRules::parse(&t));
    let mut dirs: Vec<(String, Roles)> = Vec::new();
    let mut add = |list: &[String], set: fn(&mut Roles)| {
        for dir in list {
            let dir = normalise_dir(dir);
            match dirs.iter_mut().find(|(d, _)| *d == dir) {
                Some((_, roles)) => set(roles),
                None => {
                    let mut roles = Roles::default();
                    set(&mut roles);
                    dirs.push((dir, roles));
                }
            }
        }
    };
    add(paths.model, |r| r.model = true);
    add(paths.seed, |r| r.seed = true);
    add(paths.test, |r| r.test = true);
    add(paths.macros, |r| r.macros = true);
    add(paths.snapshot, |r| r.snapshot = true);
    add(paths.analysis, |r| r.analysis = true);
    add(paths.docs, |r| r.docs = true);
    let skip: Vec<String> = skip
        .iter()
        .map(|s| normalise_dir(s))
        .filter(|s| !s.is_empty())
        .collect();

    let mut found: Vec<(FileKind, String, String)> = Vec::new();
    for (dir, roles) in &dirs {
        let base = if dir.is_empty() {
            root.to_path_buf()
        } else {
            root.join(dir)
        };
        let walker = walkdir::WalkDir::new(&base)
            .into_iter()
            .filter_entry(|entry| {
                if entry.depth() == 0 {
                    return true;
                }
                let name = entry.file_name().to_string_lossy();
                if name.starts_with('.') {
                    return false;
                }
                if entry.file_type().is_dir()
                    && !skip.is_empty()
                    && let Ok(rel) = entry.path().strip_prefix(root)
                {
                    let rel = rel.to_string_lossy().replace('\\', "/");
                    return !skip.contains(&rel);
                }
                true
            });
        // Unreadable directories are skipped like dbt's os.walk does.
        for entry in walker.flatten() {
            let is_file = entry.file_type().is_file()
                || (entry.file_type().is_symlink() && entry.path().is_file());
            if !is_file {
                continue;
            }
            let Ok(resource_path) = entry.path().strip_prefix(&base) else {
                continue;
            };
            let resource_path = resource_path.to_string_lossy().replace('\\', "/");
            let path = if dir.is_empty() {
                resource_path.clone()
            } else {
                format!("{dir}/{resource_path}")
            };
            let ext = entry
                .path()
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            if dbtignore.as_ref().is_some_and(|i| i.is_ignored(&path)) {
                continue;
            }
            // Project-level YAML files at the package root are not properties files.
            if matches!(
                path.as_str(),
                "dbt_project.yml"
                    | "packages.yml"
                    | "dependencies.yml"
                    | "package-lock.yml"
                    | "profiles.yml"
                    | "selectors.yml"
            ) {
                continue;
            }
            for kind in classify(&ext, &resource_path, *roles) {
                found.push((kind, path.clone(), resource_path.clone()));
            }
        }
    }
    found.sort_by(|a, b| {
        a.1.cmp(&b.1)
            .then_with(|| kind_order(a.0).cmp(&kind_order(b.0)))
    });
    found.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    found
}

fn kind_order(kind: FileKind) -> u8 {
    kind as u8
}

/// What a file with extension `ext` at `resource_path` (relative to a directory with
/// `roles`) is; several kinds when the directory is listed under several `*-paths`.
fn classify(ext: &str, resource_path: &str, roles: Roles) -> Vec<FileKind> {
    let mut kinds = Vec::new();
    let first_dir = resource_path
        .split('/')
        .next()
        .filter(|_| resource_path.contains('/'));
    match ext {
        "sql" => {
            if roles.model {
                kinds.push(FileKind::Model);
            }
            if roles.macros {
                kinds.push(FileKind::Macro);
            }
            if roles.test {
                match first_dir {
                    Some("generic") => kinds.push(FileKind::Macro),
                    Some("fixtures") => kinds.push(FileKind::Fixture),
                    _ => kinds.push(FileKind::SingularTest),
                }
            }
            if roles.snapshot {
                kinds.push(FileKind::Snapshot);
            }
            if roles.analysis {
                kinds.push(FileKind::Analysis);
            }
        }
        "csv" => {
            if roles.seed {
                kinds.push(FileKind::Seed);
            }
            if roles.test && first_dir == Some("fixtures") {
                kinds.push(FileKind::Fixture);
            }
        }
        "md" if roles.docs => kinds.push(FileKind::Docs),
        "yml" | "yaml" if roles.properties() => kinds.push(FileKind::Properties),
        _ => {}
    }
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_directories() {
        assert_eq!(normalise_dir("./models/"), "models");
        assert_eq!(normalise_dir("."), "");
        assert_eq!(normalise_dir("a/b"), "a/b");
    }

    #[test]
    fn generic_tests_are_macros_and_fixtures_are_fixtures() {
        let test_dir = Roles {
            test: true,
            ..Roles::default()
        };
        assert_eq!(
            classify("sql", "generic/non_negative.sql", test_dir),
            vec![FileKind::Macro]
        );
        assert_eq!(
            classify("sql", "fixtures/rows.sql", test_dir),
            vec![FileKind::Fixture]
        );
        assert_eq!(
            classify("csv", "fixtures/rows.csv", test_dir),
            vec![FileKind::Fixture]
        );
        assert_eq!(
            classify("sql", "assert_x.sql", test_dir),
            vec![FileKind::SingularTest]
        );
        assert_eq!(
            classify("sql", "generic.sql", test_dir),
            vec![FileKind::SingularTest]
        );
        assert_eq!(
            classify("yml", "schema.yml", test_dir),
            vec![FileKind::Properties]
        );
        assert_eq!(classify("csv", "x.csv", test_dir), Vec::<FileKind>::new());
    }
}
