//! Unique, valid PostgreSQL identifiers for databases, schemas and roles made by tests.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// PostgreSQL truncates identifiers longer than this many bytes.
const MAX_IDENTIFIER_LEN: usize = 63;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name unique across processes and calls: `mfbt_<hint>_<pid>_<n>_<time>`, lower case,
/// only `[a-z0-9_]`, at most 63 bytes, so it needs no quoting. Use it for anything
/// cluster-wide a test creates (databases, roles).
pub fn unique_name(hint: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let suffix = format!("_{}_{n}_{nanos:x}", std::process::id());
    let room = MAX_IDENTIFIER_LEN - "mfbt_".len() - suffix.len();
    let mut cleaned = sanitize(hint);
    cleaned.truncate(room);
    format!("mfbt_{cleaned}{suffix}")
}

/// Lower-cases `hint` and replaces every character outside `[a-z0-9_]` with `_`.
fn sanitize(hint: &str) -> String {
    let cleaned: String = hint
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "db".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_unquoted_identifiers() {
        let name = unique_name("Compile::ref() — cycle test with a very long descriptive name");
        assert!(
            name.len() <= MAX_IDENTIFIER_LEN,
            "{name} is {} bytes",
            name.len()
        );
        assert!(name.starts_with("mfbt_compile__ref"), "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{name}"
        );
    }

    #[test]
    fn names_differ_between_calls() {
        let a = unique_name("same");
        let b = unique_name("same");
        assert_ne!(a, b);
    }

    #[test]
    fn empty_hint_still_names_something() {
        assert!(unique_name("").starts_with("mfbt_db_"));
    }
}
