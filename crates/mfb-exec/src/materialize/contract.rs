//! Model contracts: `contract: {enforced: true}` with `data_type` (and `constraints`) on
//! every column, plus model-level `constraints`.
//!
//! Before anything is built, the model's query columns are compared with the contract by
//! name and type family, the way dbt-postgres compares them (both sides typed by
//! PostgreSQL itself: the query wrapped in `where false limit 0`, the contract as
//! `cast(null as <data_type>)`; `int2` and `int4` are both INTEGER, `text` and `varchar`
//! both TEXT, sizes and precisions are not compared). Any mismatch fails the build with
//! dbt's table of mismatching columns, inside the transaction, so nothing has changed. A
//! table is then created with the declared columns, types and constraints (in contract
//! order) and filled by an insert from the model's query; a view only gets the check.
//! Constraint SQL (a foreign key's `to: ref(...)`) is rendered before the transaction.

use mfb_diagnostics::Diagnostic;
use mfb_graph::Node;
use mfb_postgres::{Transaction, quote_ident};
use serde_json::Value;

use crate::engine::{Session, pg_error};

/// A column of an enforced contract.
#[derive(Debug, Clone)]
pub struct ContractColumn {
    /// The name as written in YAML.
    pub name: String,
    /// The name as it appears in DDL (quoted only with `quote: true`, as dbt does).
    pub ddl_name: String,
    pub data_type: String,
    /// Column constraints as SQL (`not null`, `check (x > 0)`, `references t (id)`).
    pub constraints: Vec<String>,
}

/// An enforced contract, ready to check and to create a table from.
#[derive(Debug, Clone)]
pub struct Contract {
    pub columns: Vec<ContractColumn>,
    /// Model-level constraints as SQL (`constraint pk primary key (id)`).
    pub constraints: Vec<String>,
}

fn enforced(node: &Node) -> bool {
    node.config
        .get("contract")
        .and_then(|c| c.get("enforced"))
        .and_then(Value::as_bool)
        == Some(true)
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn list(v: &Value, key: &str) -> Vec<String> {
    match v.get(key) {
        Some(Value::Array(xs)) => xs
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(x)) => vec![x.clone()],
        _ => Vec::new(),
    }
}

impl Contract {
    /// The node's enforced contract, or `None` when it has none. Renders foreign keys'
    /// `to:` (a `ref()` or `source()`) with the session, so call it outside a transaction.
    pub fn of(s: &Session<'_>, node: &Node) -> Result<Option<Contract>, Diagnostic> {
        if !enforced(node) {
            return Ok(None);
        }
        let alias_types = node
            .config
            .get("contract")
            .and_then(|c| c.get("alias_types"))
            .and_then(Value::as_bool)
            != Some(false);
        let untyped: Vec<&str> = node
            .columns
            .values()
            .filter(|c| c.data_type.as_deref().is_none_or(|t| t.trim().is_empty()))
            .map(|c| c.name.as_str())
            .collect();
        if !untyped.is_empty() {
            return Err(Diagnostic::error(
                "contract-data-type-missing",
                format!(
                    "{} has an enforced contract, but these columns have no `data_type`: {}",
                    node.unique_id,
                    untyped.join(", ")
                ),
            )
            .at(node.defined_at.clone())
            .with_help("give every column of a contracted model a `data_type` in its YAML"));
        }
        let reference = |c: &Value| -> Result<Option<String>, Diagnostic> {
            let Some(to) = text(c, "to") else {
                return Ok(text(c, "expression"));
            };
            let relation = s.render(node, &format!("{{{{ {to} }}}}"))?;
            let columns = list(c, "to_columns");
            Ok(Some(if columns.is_empty() {
                relation
            } else {
                format!("{relation} ({})", columns.join(", "))
            }))
        };
        let mut columns = Vec::new();
        let mut model_not_null = Vec::new();
        let mut constraints = Vec::new();
        for c in node
            .config
            .get("constraints")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let kind = text(c, "type").unwrap_or_default();
            let cols = list(c, "columns").join(", ");
            let body = match kind.as_str() {
                "check" => text(c, "expression").map(|e| format!("check ({e})")),
                "unique" => Some(format!("unique ({cols})")),
                "primary_key" => Some(format!("primary key ({cols})")),
                "foreign_key" => {
                    reference(c)?.map(|r| format!("foreign key ({cols}) references {r}"))
                }
                "custom" => text(c, "expression"),
                "not_null" => {
                    model_not_null.extend(list(c, "columns"));
                    None
                }
                other => return Err(unknown_constraint(node, other)),
            };
            if let Some(body) = body {
                constraints.push(match text(c, "name") {
                    Some(name) => format!("constraint {name} {body}"),
                    None => body,
                });
            }
        }
        for column in node.columns.values() {
            let mut data_type = column.data_type.clone().unwrap_or_default();
            if alias_types && data_type.eq_ignore_ascii_case("string") {
                data_type = "text".to_owned();
            }
            let mut sql = Vec::new();
            for c in &column.constraints {
                let kind = text(c, "type").unwrap_or_default();
                let part = match kind.as_str() {
                    "not_null" => Some("not null".to_owned()),
                    "unique" => Some("unique".to_owned()),
                    "primary_key" => Some("primary key".to_owned()),
                    "check" => text(c, "expression").map(|e| format!("check ({e})")),
                    "foreign_key" => reference(c)?.map(|r| format!("references {r}")),
                    "custom" => text(c, "expression"),
                    other => return Err(unknown_constraint(node, other)),
                };
                sql.extend(part);
            }
            if model_not_null
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&column.name))
                && !sql.iter().any(|p| p == "not null")
            {
                sql.push("not null".to_owned());
            }
            columns.push(ContractColumn {
                ddl_name: if column.quote == Some(true) {
                    quote_ident(&column.name)
                } else {
                    column.name.clone()
                },
                name: column.name.clone(),
                data_type,
                constraints: sql,
            });
        }
        Ok(Some(Contract {
            columns,
            constraints,
        }))
    }

    /// Fails (nothing changed yet) unless the query `sql` yields the contract's columns
    /// with the contract's types.
    pub async fn check(
        &self,
        txn: &Transaction<'_>,
        node: &Node,
        sql: &str,
    ) -> Result<(), Diagnostic> {
        let defined = txn
            .fetch(&format!(
                "select * from (\n{sql}\n) as __dbt_sbq\nwhere false\nlimit 0"
            ))
            .await
            .map_err(|e| pg_error(e, node))?
            .columns;
        let declared = if self.columns.is_empty() {
            Vec::new()
        } else {
            let casts: Vec<String> = self
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| format!("cast(null as {}) as c{i}", c.data_type))
                .collect();
            txn.fetch(&format!("select {} limit 0", casts.join(", ")))
                .await
                .map_err(|e| {
                    pg_error(e, node).with_help(
                        "a column's `data_type` in the contract is not a PostgreSQL type",
                    )
                })?
                .columns
        };
        let mut rows: Vec<[String; 4]> = Vec::new();
        for d in &defined {
            let found = self
                .columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(&d.name));
            let definition_type = family(&d.type_name);
            match found {
                None => rows.push([
                    d.name.clone(),
                    definition_type,
                    String::new(),
                    "missing in contract".into(),
                ]),
                Some(i) => {
                    let contract_type = family(&declared[i].type_name);
                    if contract_type != definition_type {
                        rows.push([
                            d.name.clone(),
                            definition_type,
                            contract_type,
                            "data type mismatch".into(),
                        ]);
                    }
                }
            }
        }
        for (i, c) in self.columns.iter().enumerate() {
            if !defined.iter().any(|d| d.name.eq_ignore_ascii_case(&c.name)) {
                rows.push([
                    c.name.clone(),
                    String::new(),
                    family(&declared[i].type_name),
                    "missing in definition".into(),
                ]);
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        Err(Diagnostic::error(
            "contract-failed",
            format!(
                "{} has an enforced contract that failed: {} column{} do{} not match",
                node.unique_id,
                rows.len(),
                if rows.len() == 1 { "" } else { "s" },
                if rows.len() == 1 { "es" } else { "" },
            ),
        )
        .at(node.defined_at.clone())
        .with_note(format!(
            "This model has an enforced contract that failed.\nPlease ensure the name, data_type, and number of columns in your contract match the columns in your model's definition.\n\n{}",
            mismatch_table(&rows)
        ))
        .with_help(
            "change the model's query or the `columns:` of its contract so that names and types agree; nothing was changed",
        ))
    }

    /// The statements that create `relation` (quoted, qualified) with the contract's
    /// columns and constraints and fill it from `sql`.
    pub fn create_table(&self, relation: &str, unlogged: bool, sql: &str) -> Vec<String> {
        let mut lines: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                let mut line = format!("    {} {}", c.ddl_name, c.data_type);
                for part in &c.constraints {
                    line.push(' ');
                    line.push_str(part);
                }
                line
            })
            .collect();
        lines.extend(self.constraints.iter().map(|c| format!("    {c}")));
        let names: Vec<&str> = self.columns.iter().map(|c| c.ddl_name.as_str()).collect();
        let names = names.join(", ");
        vec![
            format!(
                "create {}table {relation} (\n{}\n)",
                if unlogged { "unlogged " } else { "" },
                lines.join(",\n")
            ),
            format!(
                "insert into {relation} ({names})\n(\n    select {names}\n    from (\n{sql}\n    ) as model_subq\n)"
            ),
        ]
    }
}

fn unknown_constraint(node: &Node, kind: &str) -> Diagnostic {
    Diagnostic::error(
        "constraint-unknown",
        format!(
            "{} has a constraint of unknown type `{kind}`",
            node.unique_id
        ),
    )
    .at(node.defined_at.clone())
    .with_help("use one of not_null, unique, primary_key, check, foreign_key, custom")
}

/// The name dbt-postgres gives a type when comparing a contract (psycopg2's type
/// families): `int4` and `int2` are INTEGER, `varchar` TEXT, `timestamptz` DATETIMETZ.
/// Types it has no family for are shown by name (`UUID`).
fn family(type_name: &str) -> String {
    if let Some(element) = type_name.strip_prefix('_') {
        return format!("{}ARRAY", family(element));
    }
    match type_name {
        "int2" | "int4" | "oid" => "INTEGER",
        "int8" => "LONGINTEGER",
        "numeric" => "DECIMAL",
        "float4" | "float8" => "FLOAT",
        "text" | "varchar" | "bpchar" | "char" | "name" => "TEXT",
        "timestamp" => "DATETIME",
        "timestamptz" => "DATETIMETZ",
        "date" => "DATE",
        "time" | "timetz" => "TIME",
        "interval" => "INTERVAL",
        "bool" => "BOOLEAN",
        "json" => "JSON",
        "jsonb" => "JSONB",
        other => return other.to_uppercase(),
    }
    .to_owned()
}

/// dbt's mismatch table, as aligned Markdown.
fn mismatch_table(rows: &[[String; 4]]) -> String {
    let header = [
        "column_name",
        "definition_type",
        "contract_type",
        "mismatch_reason",
    ];
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 4]| {
        let cells: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("| {} |", cells.join(" | "))
    };
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let mut out = vec![line(header), format!("| {} |", rule.join(" | "))];
    out.extend(rows.iter().map(|r| line([&r[0], &r[1], &r[2], &r[3]])));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_follow_dbt_postgres() {
        assert_eq!(family("int2"), family("int4"));
        assert_eq!(family("varchar"), "TEXT");
        assert_eq!(family("int8"), "LONGINTEGER");
        assert_eq!(family("_int4"), "INTEGERARRAY");
        assert_eq!(family("uuid"), "UUID");
    }

    #[test]
    fn mismatch_table_looks_like_dbt() {
        let rows = [[
            "b".to_owned(),
            "LONGINTEGER".to_owned(),
            "INTEGER".to_owned(),
            "data type mismatch".to_owned(),
        ]];
        assert_eq!(
            mismatch_table(&rows),
            "| column_name | definition_type | contract_type | mismatch_reason    |\n\
             | ----------- | --------------- | ------------- | ------------------ |\n\
             | b           | LONGINTEGER     | INTEGER       | data type mismatch |"
        );
    }
}
