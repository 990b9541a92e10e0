//! The column-lineage corpus: every case of `tests/corpus/lineage.txt` (SQL shapes with
//! lineage written by hand) analysed and compared line by line with its expectation.
//! A new shape is a new `###` block in that file.

use std::fmt::Write;

use mfb_sql::{Analysis, SchemaMap};

struct Case {
    name: String,
    schema: Vec<String>,
    sql: String,
    expect: String,
}

fn add_schema(map: &mut SchemaMap, line: &str) {
    // `schema [db.]schema.table: a, b, c`
    let rest = line.trim_start_matches("schema ").trim();
    let (table, columns) = rest.split_once(':').expect("schema line has a colon");
    let parts: Vec<&str> = table.trim().split('.').collect();
    let (db, schema, name) = match parts.as_slice() {
        [d, s, n] => (*d, *s, *n),
        [s, n] => ("db", *s, *n),
        _ => panic!("schema line names schema.table: {line}"),
    };
    let columns = columns.split(',').map(|c| c.trim().to_owned()).collect();
    map.insert(db, schema, name, columns);
}

fn cases(text: &str) -> (Vec<String>, Vec<Case>) {
    let mut shared = Vec::new();
    let mut cases: Vec<Case> = Vec::new();
    let mut section = "";
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("### ") {
            cases.push(Case {
                name: name.trim().to_owned(),
                schema: Vec::new(),
                sql: String::new(),
                expect: String::new(),
            });
            section = "head";
            continue;
        }
        let Some(case) = cases.last_mut() else {
            if line.starts_with("schema ") {
                shared.push(line.to_owned());
            }
            continue;
        };
        match (section, line) {
            (_, "sql:") => section = "sql",
            (_, "expect:") => section = "expect",
            ("head", l) if l.starts_with("schema ") => case.schema.push(l.to_owned()),
            ("sql", l) => {
                case.sql.push_str(l);
                case.sql.push('\n');
            }
            ("expect", l) if !l.trim().is_empty() => {
                case.expect.push_str(l.trim_end());
                case.expect.push('\n');
            }
            _ => {}
        }
    }
    (shared, cases)
}

/// The analysis in the corpus's notation.
fn render(a: &Analysis) -> String {
    let mut out = String::new();
    if a.columns_known {
        for c in &a.columns {
            let sources: Vec<String> = c.sources.iter().map(ToString::to_string).collect();
            let line = format!("{} = {} {}", c.name, c.kind.as_str(), sources.join(", "));
            writeln!(out, "{}", line.trim_end()).unwrap();
        }
    } else {
        writeln!(out, "columns: unknown").unwrap();
    }
    let tables: Vec<String> = a.tables.iter().map(ToString::to_string).collect();
    writeln!(
        out,
        "{}",
        format!("tables: {}", tables.join(", ")).trim_end()
    )
    .unwrap();
    writeln!(out, "complete: {}", if a.complete { "yes" } else { "no" }).unwrap();
    out
}

#[test]
fn corpus_lineage_matches_the_hand_written_expectations() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/corpus/lineage.txt"
    ))
    .unwrap();
    let (shared, cases) = cases(&text);
    assert!(cases.len() >= 40, "the corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let mut schema = SchemaMap::default();
        for line in shared.iter().chain(&case.schema) {
            add_schema(&mut schema, line);
        }
        let got = match mfb_sql::analyze(&case.sql, &schema) {
            Ok(a) => render(&a),
            Err(e) => format!("parse error: {e}\n"),
        };
        if got != case.expect {
            failures.push(format!(
                "### {}\n--- expected\n{}--- got\n{}",
                case.name, case.expect, got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
