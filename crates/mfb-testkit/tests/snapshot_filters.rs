//! The snapshot filters replace what changes between runs and nothing else.

use mfb_testkit::{snapshot_filters, unique_name};
use regex::Regex;

fn apply(text: &str) -> String {
    snapshot_filters()
        .into_iter()
        .fold(text.to_owned(), |acc, (pattern, replacement)| {
            Regex::new(pattern)
                .expect("filter is a valid regex")
                .replace_all(&acc, replacement)
                .into_owned()
        })
}

#[test]
fn volatile_parts_are_replaced() {
    let db = unique_name("snap");
    let line = format!(
        "1 of 3 OK created view {db}.stg_screens in 0.31s (/tmp/.tmpAbC12/models/a.sql) on 127.0.0.1:41234 id 123e4567-e89b-12d3-a456-426614174000"
    );
    assert_eq!(
        apply(&line),
        "1 of 3 OK created view [DB].stg_screens in [TIME] ([TMP]) on 127.0.0.1:[PORT] id [UUID]"
    );
}

#[test]
fn stable_text_is_left_alone() {
    let line = "models/marts/fct_screens.sql:14:10 ref('stg_screens') 2 of 18";
    assert_eq!(apply(line), line);
}
