//! `.dbtignore`: gitignore-style patterns (relative to the package root) for files that
//! discovery must skip, like dbt-core's use of pathspec's git wildmatch.

use globset::{GlobBuilder, GlobMatcher};

/// One pattern line of a `.dbtignore`.
struct Rule {
    /// Matches the path itself.
    exact: GlobMatcher,
    /// Matches anything below a matched directory.
    below: GlobMatcher,
    dir_only: bool,
    negate: bool,
}

/// The rules of one `.dbtignore`, in file order (the last matching rule decides).
pub(crate) struct IgnoreRules {
    rules: Vec<Rule>,
}

impl IgnoreRules {
    /// Parses the text of a `.dbtignore`. Lines that are not valid globs are skipped (as
    /// pathspec does with patterns it cannot compile).
    pub(crate) fn parse(text: &str) -> IgnoreRules {
        let mut rules = Vec::new();
        for line in text.lines() {
            let mut p = line.trim_end();
            if p.is_empty() || p.starts_with('#') {
                continue;
            }
            let negate = p.starts_with('!');
            if negate {
                p = &p[1..];
            }
            let dir_only = p.ends_with('/');
            let p = p.trim_end_matches('/');
            if p.is_empty() {
                continue;
            }
            let anchored = p.contains('/');
            let p = p.trim_start_matches('/');
            let base = if anchored {
                p.to_owned()
            } else {
                format!("**/{p}")
            };
            let build = |g: &str| {
                GlobBuilder::new(g)
                    .literal_separator(true)
                    .build()
                    .map(|g| g.compile_matcher())
            };
            if let (Ok(exact), Ok(below)) = (build(&base), build(&format!("{base}/**"))) {
                rules.push(Rule {
                    exact,
                    below,
                    dir_only,
                    negate,
                });
            }
        }
        IgnoreRules { rules }
    }

    /// Whether the file at `path` (relative to the package root, `/`-separated) is ignored.
    pub(crate) fn is_ignored(&self, path: &str) -> bool {
        let mut ignored = false;
        for rule in &self.rules {
            let hit = rule.below.is_match(path) || (!rule.dir_only && rule.exact.is_match(path));
            if hit {
                ignored = !rule.negate;
            }
        }
        ignored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitignore_style_patterns() {
        let rules = IgnoreRules::parse(
            "# comment\n*.tmp.sql\nscratch/\n/models/legacy\n!models/legacy/keep.sql\n",
        );
        assert!(rules.is_ignored("models/a.tmp.sql"));
        assert!(rules.is_ignored("models/deep/scratch/x.sql"));
        assert!(rules.is_ignored("models/legacy/old.sql"));
        assert!(!rules.is_ignored("models/legacy/keep.sql"));
        assert!(!rules.is_ignored("models/legacy.sql"));
        assert!(
            !rules.is_ignored("models/scratch.sql"),
            "scratch/ only matches directories"
        );
        assert!(!rules.is_ignored("models/a.sql"));
    }
}
