//! YAML text to [`serde_json::Value`] (keys in file order), with syntax errors located.
//!
//! serde_yaml parses; this module converts its values into JSON values (non-string keys
//! become their text, `<<` merge keys are applied) and turns its errors into
//! [`ProjectError::Yaml`] pointing at file, line and column.

use mfb_diagnostics::Location;
use serde_json::{Map, Number, Value};

use crate::{ProjectError, yaml_fast};

/// Parses `text` (the contents of `file`, a path relative to the project root). An empty
/// document (or one holding only comments) is `Value::Null`.
pub(crate) fn parse_yaml(text: &str, file: &str) -> Result<Value, ProjectError> {
    // Fastest path: the block-style subset that properties files are written in.
    if let Some(v) = yaml_fast::parse(text) {
        return Ok(v);
    }
    // Fast path: straight into JSON values (duplicate keys: the last wins, as in dbt).
    // Merge keys, tags and complex keys need serde_yaml's own values.
    if !text.contains("<<")
        && let Ok(v) = serde_yaml::from_str::<Value>(text)
    {
        return Ok(v);
    }
    let mut value: serde_yaml::Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => return Err(yaml_error(&e, file)),
    };
    if let Err(e) = value.apply_merge() {
        return Err(yaml_error(&e, file));
    }
    Ok(to_json(value))
}

fn yaml_error(e: &serde_yaml::Error, file: &str) -> ProjectError {
    let (line, column) = e
        .location()
        .map_or((0, 0), |l| (l.line() as u32, l.column() as u32));
    let mut message = e.to_string();
    // serde_yaml appends the position to the text; the location carries it already.
    if let Some(pos) = message.find(" at line ") {
        message.truncate(pos);
    }
    if message.is_empty() {
        message = "the file is not valid YAML".to_owned();
    }
    ProjectError::Yaml {
        message,
        at: Location::new(file, line, column),
    }
}

/// Converts a serde_yaml value into a JSON value, keeping mapping order.
pub(crate) fn to_json(value: serde_yaml::Value) -> Value {
    match value {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(b) => Value::Bool(b),
        serde_yaml::Value::Number(n) => number_to_json(&n),
        serde_yaml::Value::String(s) => Value::String(s),
        serde_yaml::Value::Sequence(seq) => Value::Array(seq.into_iter().map(to_json).collect()),
        serde_yaml::Value::Mapping(map) => {
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map {
                out.insert(key_text(k), to_json(v));
            }
            Value::Object(out)
        }
        serde_yaml::Value::Tagged(tagged) => to_json(tagged.value),
    }
}

fn number_to_json(n: &serde_yaml::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Number(i.into())
    } else if let Some(u) = n.as_u64() {
        Value::Number(u.into())
    } else {
        let f = n.as_f64().unwrap_or(f64::NAN);
        // JSON has no NaN/inf: keep the YAML text so nothing is silently lost.
        Number::from_f64(f).map_or_else(|| Value::String(n.to_string()), Value::Number)
    }
}

fn key_text(key: serde_yaml::Value) -> String {
    match key {
        serde_yaml::Value::String(s) => s,
        serde_yaml::Value::Null => "null".to_owned(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::Tagged(t) => key_text(t.value),
        other => serde_json::to_string(&to_json(other)).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_stringifies_keys() {
        let v = parse_yaml("b: 1\na: [x, 2.5]\n3: true\n", "f.yml").unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["b", "a", "3"]);
        assert_eq!(v["a"][1], serde_json::json!(2.5));
    }

    #[test]
    fn empty_document_is_null() {
        assert_eq!(
            parse_yaml("# only a comment\n", "f.yml").unwrap(),
            Value::Null
        );
    }

    #[test]
    fn merge_keys_are_applied() {
        let v = parse_yaml("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n", "f.yml").unwrap();
        assert_eq!(v["other"], serde_json::json!({"x": 1, "y": 2}));
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let err = parse_yaml("a: 1\nb: [1, 2\nc: 3\n", "models/x.yml").unwrap_err();
        match err {
            ProjectError::Yaml { message, at } => {
                assert_eq!(at.file, std::path::PathBuf::from("models/x.yml"));
                assert!(at.line >= 2, "line {}", at.line);
                assert!(at.column > 0);
                assert!(!message.contains(" at line "), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
