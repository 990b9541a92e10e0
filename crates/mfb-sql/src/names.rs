//! PostgreSQL's naming rules: identifier folding, and the name PostgreSQL gives an output
//! column that has no alias (`FigureColname` in `src/backend/parser/parse_target.c`).
//!
//! Checked against PostgreSQL 15: `count(*)` is `count`, `a::int` is `a`, `1::int` is
//! `int4`, `case ... else b end` is `b`, a bare constant or operator is `?column?`.

use sqlparser::ast::{DataType, Expr, Ident, ObjectName, ObjectNamePart, SetExpr};

/// PostgreSQL's identifier length limit (NAMEDATALEN - 1 bytes); longer names are truncated.
const MAX_IDENTIFIER_BYTES: usize = 63;

/// The name PostgreSQL uses for a column with no alias and no better name.
pub const UNNAMED: &str = "?column?";

/// An identifier as PostgreSQL stores it: unquoted folds to lower case, quoted stays.
pub fn fold(ident: &Ident) -> String {
    let name = if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    };
    truncate(name)
}

/// The last identifier of a dotted name, folded (`pg_catalog.Count` -> `count`).
pub fn last_part(name: &ObjectName) -> Option<String> {
    match name.0.last()? {
        ObjectNamePart::Identifier(ident) => Some(fold(ident)),
        ObjectNamePart::Function(f) => Some(fold(&f.name)),
    }
}

fn truncate(mut name: String) -> String {
    if name.len() > MAX_IDENTIFIER_BYTES {
        let mut end = MAX_IDENTIFIER_BYTES;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    name
}

/// The output name of an unaliased select-list expression.
pub fn column_name(expr: &Expr) -> String {
    figure(expr)
        .map(|(name, _)| name)
        .unwrap_or_else(|| UNNAMED.to_owned())
}

/// A candidate name and its strength: 2 for a real name (column, function), 1 for a
/// fallback (`case`, a type name) that a stronger inner name replaces.
fn figure(expr: &Expr) -> Option<(String, u8)> {
    match expr {
        Expr::Identifier(ident) => Some((fold(ident), 2)),
        Expr::CompoundIdentifier(idents) => idents.last().map(|i| (fold(i), 2)),
        Expr::CompoundFieldAccess { root, access_chain } => {
            // `(row).field` names the field; a subscript keeps the base's name.
            use sqlparser::ast::AccessExpr;
            for access in access_chain.iter().rev() {
                if let AccessExpr::Dot(Expr::Identifier(ident)) = access {
                    return Some((fold(ident), 2));
                }
            }
            figure(root)
        }
        Expr::Function(f) => last_part(&f.name).map(|n| (n, 2)),
        Expr::Cast {
            expr, data_type, ..
        } => match figure(expr) {
            Some((name, 2)) => Some((name, 2)),
            _ => Some((type_name(data_type), 1)),
        },
        Expr::TypedString(t) => Some((type_name(&t.data_type), 1)),
        Expr::Interval(_) => Some(("interval".to_owned(), 1)),
        Expr::Nested(inner) | Expr::Collate { expr: inner, .. } => figure(inner),
        Expr::Case { else_result, .. } => match else_result.as_deref().and_then(figure) {
            Some((name, 2)) => Some((name, 2)),
            _ => Some(("case".to_owned(), 1)),
        },
        Expr::Exists { negated: false, .. } => Some(("exists".to_owned(), 2)),
        Expr::Subquery(query) => first_select_name(&query.body).map(|n| (n, 2)),
        Expr::Array(_) => Some(("array".to_owned(), 2)),
        Expr::Tuple(_) => Some(("row".to_owned(), 2)),
        Expr::Extract { .. } => Some(("extract".to_owned(), 2)),
        Expr::AtTimeZone { .. } => Some(("timezone".to_owned(), 2)),
        Expr::Trim { .. } => Some(("btrim".to_owned(), 2)),
        Expr::Substring { .. } => Some(("substring".to_owned(), 2)),
        Expr::Position { .. } => Some(("position".to_owned(), 2)),
        Expr::Overlay { .. } => Some(("overlay".to_owned(), 2)),
        Expr::Ceil { .. } => Some(("ceil".to_owned(), 2)),
        Expr::Floor { .. } => Some(("floor".to_owned(), 2)),
        _ => None,
    }
}

/// The first output column's name of a scalar subquery.
fn first_select_name(body: &SetExpr) -> Option<String> {
    use sqlparser::ast::SelectItem;
    match body {
        SetExpr::Select(select) => match select.projection.first()? {
            SelectItem::UnnamedExpr(e) => Some(column_name(e)),
            SelectItem::ExprWithAlias { alias, .. } => Some(fold(alias)),
            _ => None,
        },
        SetExpr::Query(q) => first_select_name(&q.body),
        SetExpr::SetOperation { left, .. } => first_select_name(left),
        _ => None,
    }
}

/// A type's name as PostgreSQL reports it for `'x'::type` (`integer` -> `int4`).
pub fn type_name(data_type: &DataType) -> String {
    if let DataType::Custom(name, _) = data_type {
        return last_part(name).unwrap_or_else(|| UNNAMED.to_owned());
    }
    if let DataType::Array(sqlparser::ast::ArrayElemTypeDef::SquareBracket(inner, _))
    | DataType::Array(sqlparser::ast::ArrayElemTypeDef::AngleBracket(inner))
    | DataType::Array(sqlparser::ast::ArrayElemTypeDef::Parenthesis(inner)) = data_type
    {
        return type_name(inner);
    }
    let text = data_type.to_string().to_lowercase();
    let base = text.split('(').next().unwrap_or(&text);
    let base = base.trim_end_matches("[]").trim();
    let base = base.rsplit('.').next().unwrap_or(base);
    match base {
        "int" | "integer" | "int4" => "int4",
        "bigint" | "int8" => "int8",
        "smallint" | "int2" => "int2",
        "boolean" | "bool" => "bool",
        "float" | "float8" | "double precision" | "double" => "float8",
        "real" | "float4" => "float4",
        "decimal" | "numeric" | "dec" => "numeric",
        "varchar" | "character varying" => "varchar",
        "char" | "character" | "bpchar" => "bpchar",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "timestamptz" | "timestamp with time zone" => "timestamptz",
        "time" | "time without time zone" => "time",
        "timetz" | "time with time zone" => "timetz",
        other => other,
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use sqlparser::ast::{SelectItem, Statement};
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    use super::*;

    /// Names of every select-list item of `sql`, as PostgreSQL would name them.
    fn names(sql: &str) -> Vec<String> {
        let stmt = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .unwrap()
            .remove(0);
        let Statement::Query(q) = stmt else { panic!() };
        let SetExpr::Select(s) = *q.body else {
            panic!()
        };
        s.projection
            .iter()
            .map(|item| match item {
                SelectItem::UnnamedExpr(e) => column_name(e),
                SelectItem::ExprWithAlias { alias, .. } => fold(alias),
                _ => "*".to_owned(),
            })
            .collect()
    }

    // Expected names were read from PostgreSQL 15 (`psql -c "select ... limit 0"`).
    #[test]
    fn casts_name_the_column_after_the_expression_or_the_type() {
        assert_eq!(
            names(
                "select a::int, 1::int, 1::integer, 1::bigint, 'a'::text, 'a'::varchar(3), \
                 1::numeric(3,1), true::boolean, 1::float, 1::double precision, 1::smallint, \
                 now()::timestamp, 'a'::char(2), '{1}'::int[], 1::decimal, \
                 cast(1 as text), 'x'::character varying, now()::timestamp with time zone"
            ),
            [
                "a", "int4", "int4", "int8", "text", "varchar", "numeric", "bool", "float8",
                "float8", "int2", "now", "bpchar", "int4", "numeric", "text", "varchar", "now"
            ]
        );
    }

    #[test]
    fn functions_and_special_forms_use_postgresql_names() {
        assert_eq!(
            names(
                "select count(*), sum(x) over (), coalesce(a, b), nullif(a, b), greatest(1, 2), \
                 extract(year from d), d at time zone 'utc', trim(' a '), \
                 substring('abc' from 1 for 2), position('a' in 'b'), array[1], row(1, 2), \
                 exists(select 1), (select 1 as q), ceil(1.5), floor(1.5), current_date, \
                 date '2020-01-01', interval '1 day', pg_catalog.upper(s)"
            ),
            [
                "count",
                "sum",
                "coalesce",
                "nullif",
                "greatest",
                "extract",
                "timezone",
                "btrim",
                "substring",
                "position",
                "array",
                "row",
                "exists",
                "q",
                "ceil",
                "floor",
                "current_date",
                "date",
                "interval",
                "upper"
            ]
        );
    }

    #[test]
    fn unnamed_expressions_and_case() {
        assert_eq!(
            names(
                "select 1 + 1, -1, 'x', (1), x is null, not true, \
                 case when true then 1 else 2 end, case when true then 1 else max(b) end, \
                 case when c then d end, \"MiXed\", MiXed as Alias, \"Q\" as \"Z z\""
            ),
            [
                "?column?", "?column?", "?column?", "?column?", "?column?", "?column?", "case",
                "max", "case", "MiXed", "alias", "Z z"
            ]
        );
    }

    #[test]
    fn long_names_are_truncated_like_postgresql() {
        let long = "a".repeat(70);
        assert_eq!(names(&format!("select 1 as {long}"))[0].len(), 63);
    }
}
