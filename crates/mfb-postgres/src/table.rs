//! Query results as plain values: [`Table`], [`Column`], [`Cell`].
//!
//! Rows arrive in PostgreSQL's text format, so every type (extensions and enums included)
//! can be fetched; each cell is then decoded by its column type into a small [`Cell`]
//! enum. Exact numbers (numeric) and date/time values stay strings so nothing is
//! rounded or shifted: the Jinja runtime shows them as PostgreSQL printed them.

/// A column of a result: its name and PostgreSQL type name (`int4`, `numeric`, `text`...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Column label.
    pub name: String,
    /// pg_type.typname of the column's type.
    pub type_name: String,
}

/// One value of a result.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// boolean.
    Bool(bool),
    /// int2, int4, int8, oid.
    Int(i64),
    /// float4, float8 (including NaN and infinities).
    Float(f64),
    /// numeric and money, exactly as PostgreSQL printed it.
    Decimal(String),
    /// Text and every other type, in PostgreSQL's text form.
    Text(String),
    /// date.
    Date(String),
    /// timestamp, timestamptz, time, timetz.
    Timestamp(String),
    /// json and jsonb, parsed.
    Json(serde_json::Value),
}

impl Cell {
    /// Decodes PostgreSQL's text output for a value of type `type_name`.
    pub fn decode(type_name: &str, text: Option<&str>) -> Cell {
        let Some(text) = text else { return Cell::Null };
        let parsed = match type_name {
            "bool" => match text {
                "t" => Some(Cell::Bool(true)),
                "f" => Some(Cell::Bool(false)),
                _ => None,
            },
            "int2" | "int4" | "int8" | "oid" => text.parse().ok().map(Cell::Int),
            "float4" | "float8" => parse_float(text).map(Cell::Float),
            "numeric" | "money" => Some(Cell::Decimal(text.to_owned())),
            "date" => Some(Cell::Date(text.to_owned())),
            "timestamp" | "timestamptz" | "time" | "timetz" => {
                Some(Cell::Timestamp(text.to_owned()))
            }
            "json" | "jsonb" => serde_json::from_str(text).ok().map(Cell::Json),
            _ => None,
        };
        // Anything unexpected keeps its text rather than failing the whole query.
        parsed.unwrap_or_else(|| Cell::Text(text.to_owned()))
    }

    /// True for [`Cell::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Cell::Null)
    }

    /// The value as text, `None` for NULL (numbers as PostgreSQL would print them).
    pub fn as_text(&self) -> Option<String> {
        match self {
            Cell::Null => None,
            Cell::Bool(b) => Some(b.to_string()),
            Cell::Int(i) => Some(i.to_string()),
            Cell::Float(f) => Some(f.to_string()),
            Cell::Decimal(s) | Cell::Text(s) | Cell::Date(s) | Cell::Timestamp(s) => {
                Some(s.clone())
            }
            Cell::Json(v) => Some(v.to_string()),
        }
    }
}

fn parse_float(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

/// A query result: columns and rows of cells, in server order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// The result's columns.
    pub columns: Vec<Column>,
    /// The rows; each has one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// The index of the first column called `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The cells of column `name`, top to bottom.
    pub fn column_values(&self, name: &str) -> Option<Vec<&Cell>> {
        let i = self.column_index(name)?;
        Some(self.rows.iter().map(|r| &r[i]).collect())
    }
}

/// What a statement (or the last of several) reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecResponse {
    /// Rows affected or returned by the last statement.
    pub rows_affected: u64,
    /// The command tag of the last statement, e.g. `SELECT 5` or `CREATE VIEW`.
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_by_type() {
        assert_eq!(Cell::decode("bool", Some("t")), Cell::Bool(true));
        assert_eq!(
            Cell::decode("int8", Some("-9223372036854775808")),
            Cell::Int(i64::MIN)
        );
        assert_eq!(
            Cell::decode("numeric", Some("1.50")),
            Cell::Decimal("1.50".into())
        );
        assert!(matches!(Cell::decode("float8", Some("NaN")), Cell::Float(f) if f.is_nan()));
        assert_eq!(
            Cell::decode("jsonb", Some("{\"a\": 1}")),
            Cell::Json(serde_json::json!({"a": 1}))
        );
        assert_eq!(Cell::decode("int4", None), Cell::Null);
        assert_eq!(Cell::decode("my_enum", Some("x")), Cell::Text("x".into()));
    }
}
