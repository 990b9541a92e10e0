//! Regex filters that make snapshots of mfb's output stable across runs and machines.

/// `(regex, replacement)` pairs for insta's `Settings::add_filter`: temporary paths become
/// `[TMP]`, durations `[TIME]`, throwaway ports `[PORT]`, database names made by
/// [`crate::unique_name`] `[DB]`, UUIDs `[UUID]`.
pub fn snapshot_filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"mfbt_[a-z0-9_]+", "[DB]"),
        (r"(/private)?/(tmp|var/folders)/[^\s:'\x22),]*", "[TMP]"),
        (r"\b\d+(\.\d+)?\s?(ms|s)\b", "[TIME]"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[UUID]",
        ),
    ]
}
