//! The walk from a parsed query to its output columns and their sources.
//!
//! Every query level builds a [`Scope`]: the relations its `FROM` names (base tables,
//! CTEs, derived tables, table functions, joins), each with the columns it exposes and
//! where those come from. A select-list expression resolves its column references
//! against that scope (then the enclosing ones, for correlated subqueries) and unions
//! their sources. A relation whose columns nobody knows is *open*: its columns cannot be
//! listed, but a reference to one of them still resolves when it can only come from there.
//!
//! Each node of the AST is visited once per enclosing expression level, so the work is
//! linear in the SQL's size for the flat queries dbt models are.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, FunctionArg, Ident, JoinConstraint, JoinOperator, NamedWindowDefinition, NamedWindowExpr,
    ObjectName, ObjectNamePart, Query, Select, SelectItem, SelectItemQualifiedWildcardKind,
    SetExpr, TableAlias, TableFactor, TableWithJoins, Visit, Visitor, WindowType,
};

use crate::names::{column_name, fold, last_part};
use crate::{Analysis, ColumnRef, LineageKind, OutputColumn, SchemaProvider, TableRef};

/// SQL functions PostgreSQL spells without parentheses; sqlparser may read them as names.
const VALUE_FUNCTIONS: &[&str] = &[
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
    "current_user",
    "session_user",
    "user",
    "current_role",
    "current_catalog",
    "current_schema",
];

/// Set-returning functions whose result is one column (named after the alias, or the
/// function when there is none), like PostgreSQL does for functions returning a base type.
const SCALAR_SET_FUNCTIONS: &[&str] = &[
    "generate_series",
    "generate_subscripts",
    "unnest",
    "regexp_split_to_table",
    "regexp_matches",
    "string_to_table",
    "json_array_elements",
    "json_array_elements_text",
    "jsonb_array_elements",
    "jsonb_array_elements_text",
    "json_object_keys",
    "jsonb_object_keys",
];

/// One column a relation exposes, and what it is made of.
#[derive(Debug, Clone)]
struct Col {
    name: String,
    sources: Vec<ColumnRef>,
    /// The value is a base column's, unchanged (possibly renamed on the way).
    identity: bool,
}

impl Col {
    fn computed(name: String, sources: Vec<ColumnRef>) -> Self {
        Col {
            name,
            sources,
            identity: false,
        }
    }
}

/// Where the columns of a relation that are not listed come from.
#[derive(Debug, Clone)]
enum Open {
    /// A `*` over this base table, whose columns are unknown: `x` is `table.x`.
    Table(TableRef),
    /// Unknown.
    Unknown,
}

/// A relation's columns: the listed ones, and whether there are more nobody knows.
#[derive(Debug, Clone, Default)]
struct Rel {
    columns: Vec<Col>,
    open: Option<Open>,
}

impl Rel {
    fn unknown() -> Self {
        Rel {
            columns: Vec::new(),
            open: Some(Open::Unknown),
        }
    }

    fn concat(mut self, other: Rel) -> Rel {
        self.columns.extend(other.columns);
        self.open = either_open(self.open, other.open);
        self
    }
}

fn either_open(a: Option<Open>, b: Option<Open>) -> Option<Open> {
    match (a, b) {
        (None, x) | (x, None) => x,
        _ => Some(Open::Unknown),
    }
}

fn add_sources(into: &mut Vec<ColumnRef>, from: impl IntoIterator<Item = ColumnRef>) {
    for s in from {
        if !into.contains(&s) {
            into.push(s);
        }
    }
}

/// A relation in a `FROM` clause, under the name the query uses for it.
#[derive(Debug)]
struct ScopeRel {
    name: String,
    table: Option<TableRef>,
    rel: Rel,
    index: HashMap<String, usize>,
}

impl ScopeRel {
    fn new(name: String, table: Option<TableRef>, rel: Rel) -> Self {
        let mut index = HashMap::with_capacity(rel.columns.len());
        for (i, c) in rel.columns.iter().enumerate() {
            index.entry(c.name.clone()).or_insert(i);
        }
        ScopeRel {
            name,
            table,
            rel,
            index,
        }
    }

    fn column(&self, name: &str) -> Option<&Col> {
        self.index.get(name).map(|&i| &self.rel.columns[i])
    }

    /// A column of this relation that is not listed: known only if the relation is a
    /// `*` over one base table.
    fn open_column(&self, name: &str) -> Option<Col> {
        match self.rel.open.as_ref()? {
            Open::Table(t) => Some(Col {
                name: name.to_owned(),
                sources: vec![ColumnRef {
                    table: t.clone(),
                    column: name.to_owned(),
                }],
                identity: true,
            }),
            Open::Unknown => None,
        }
    }
}

/// The names visible at one query level.
struct Scope<'p> {
    rels: Vec<ScopeRel>,
    /// Columns merged by `join ... using (...)` / `natural join`, visible unqualified.
    merged: Vec<Col>,
    /// What an unqualified `*` expands to.
    star: Rel,
    /// The sources of each named window (`window w as (partition by ...)`).
    windows: HashMap<String, Vec<ColumnRef>>,
    parent: Option<&'p Scope<'p>>,
}

enum Lookup {
    Found(Col),
    /// Ambiguous, or unknown where it should be known: stop looking.
    Unresolved,
    NotHere,
}

impl<'p> Scope<'p> {
    fn new(parent: Option<&'p Scope<'p>>) -> Self {
        Scope {
            rels: Vec::new(),
            merged: Vec::new(),
            star: Rel::default(),
            windows: HashMap::new(),
            parent,
        }
    }

    fn lookup(&self, idents: &[Ident]) -> Lookup {
        let Some(last) = idents.last() else {
            return Lookup::NotHere;
        };
        let name = fold(last);
        if idents.len() == 1 {
            return self.lookup_unqualified(&name);
        }
        let qualifier = fold(&idents[idents.len() - 2]);
        let schema = (idents.len() >= 3).then(|| fold(&idents[idents.len() - 3]));
        let rel = self.rels.iter().find(|r| {
            r.name == qualifier
                && schema
                    .as_ref()
                    .is_none_or(|s| r.table.as_ref().and_then(|t| t.schema.as_ref()) == Some(s))
        });
        match rel {
            None => Lookup::NotHere,
            Some(r) => match r.column(&name) {
                Some(c) => Lookup::Found(c.clone()),
                None => r
                    .open_column(&name)
                    .map_or(Lookup::Unresolved, Lookup::Found),
            },
        }
    }

    fn lookup_unqualified(&self, name: &str) -> Lookup {
        if let Some(c) = self.merged.iter().find(|c| c.name == name) {
            return Lookup::Found(c.clone());
        }
        let mut found = self.rels.iter().filter_map(|r| r.column(name));
        if let Some(c) = found.next() {
            return if found.next().is_none() {
                Lookup::Found(c.clone())
            } else {
                Lookup::Unresolved
            };
        }
        // Not among the listed columns: it can only be in an open relation.
        let mut open = self.rels.iter().filter(|r| r.rel.open.is_some());
        if let Some(r) = open.next() {
            return match (open.next(), r.open_column(name)) {
                (None, Some(c)) => Lookup::Found(c),
                _ => Lookup::Unresolved,
            };
        }
        // A whole-row reference (`select t from t`, `to_json(t)`).
        if let Some(r) = self.rels.iter().find(|r| r.name == name) {
            let mut sources = Vec::new();
            for c in &r.rel.columns {
                add_sources(&mut sources, c.sources.iter().cloned());
            }
            return Lookup::Found(Col::computed(name.to_owned(), sources));
        }
        Lookup::NotHere
    }
}

/// The table a (possibly qualified) name refers to.
fn table_ref(name: &ObjectName) -> TableRef {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => fold(i),
            ObjectNamePart::Function(f) => fold(&f.name),
        })
        .collect();
    let mut it = parts.into_iter().rev();
    let name = it.next().unwrap_or_default();
    let schema = it.next();
    let database = it.next();
    TableRef {
        database,
        schema,
        name,
    }
}

struct Analyzer<'s> {
    schema: &'s dyn SchemaProvider,
    /// CTEs in scope, innermost last.
    ctes: Vec<(String, Rel)>,
    tables: Vec<TableRef>,
    seen: HashSet<TableRef>,
    complete: bool,
}

/// Analyses one query statement.
pub fn analyze_query(query: &Query, schema: &dyn SchemaProvider) -> Analysis {
    let mut an = Analyzer {
        schema,
        ctes: Vec::new(),
        tables: Vec::new(),
        seen: HashSet::new(),
        complete: true,
    };
    let rel = an.query(query, None);
    let columns_known = rel.open.is_none();
    let columns = rel
        .columns
        .into_iter()
        .map(|c| {
            let kind = if !c.identity || c.sources.is_empty() {
                LineageKind::Transformed
            } else if c.sources.iter().all(|s| s.column == c.name) {
                LineageKind::PassThrough
            } else {
                LineageKind::Renamed
            };
            OutputColumn {
                name: c.name,
                sources: c.sources,
                kind,
            }
        })
        .collect();
    Analysis {
        columns,
        tables: an.tables,
        columns_known,
        complete: columns_known && an.complete,
        select_at: select_at(&query.body),
    }
}

/// Where the leftmost `SELECT` keyword of a query body is.
fn select_at(body: &SetExpr) -> Option<(u32, u32)> {
    match body {
        SetExpr::Select(s) => {
            let start = s.select_token.0.span.start;
            (start.line > 0).then(|| {
                (
                    u32::try_from(start.line).unwrap_or(u32::MAX),
                    u32::try_from(start.column).unwrap_or(u32::MAX),
                )
            })
        }
        SetExpr::Query(q) => select_at(&q.body),
        SetExpr::SetOperation { left, .. } => select_at(left),
        _ => None,
    }
}

impl Analyzer<'_> {
    fn record(&mut self, table: &TableRef) {
        if self.seen.insert(table.clone()) {
            self.tables.push(table.clone());
        }
    }

    fn cte(&self, name: &str) -> Option<&Rel> {
        self.ctes
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r)
    }

    fn base_rel(&self, table: &TableRef) -> Rel {
        match self.schema.columns(table) {
            Some(names) => Rel {
                columns: names
                    .into_iter()
                    .map(|n| Col {
                        sources: vec![ColumnRef {
                            table: table.clone(),
                            column: n.clone(),
                        }],
                        name: n,
                        identity: true,
                    })
                    .collect(),
                open: None,
            },
            None => Rel {
                columns: Vec::new(),
                open: Some(Open::Table(table.clone())),
            },
        }
    }

    /// Applies an alias's column list (`t(a, b)`): renames the first columns.
    fn rename(&mut self, mut rel: Rel, alias: Option<&TableAlias>) -> Rel {
        let Some(alias) = alias.filter(|a| !a.columns.is_empty()) else {
            return rel;
        };
        let names = alias.columns.iter().map(|c| fold(&c.name));
        if rel.open.is_some() || alias.columns.len() > rel.columns.len() {
            // Which columns the names land on is unknown.
            self.complete = false;
            return Rel {
                columns: names.map(|n| Col::computed(n, Vec::new())).collect(),
                open: Some(Open::Unknown),
            };
        }
        for (col, name) in rel.columns.iter_mut().zip(names) {
            col.name = name;
        }
        rel
    }

    fn query(&mut self, query: &Query, outer: Option<&Scope<'_>>) -> Rel {
        let mark = self.ctes.len();
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                let name = fold(&cte.alias.name);
                let rel = match &*cte.query.body {
                    SetExpr::SetOperation { left, right, .. }
                        if with.recursive && cte.query.with.is_none() =>
                    {
                        // The recursive term sees the CTE with the base term's columns.
                        let base = self.set_expr(left, outer);
                        let base = self.rename(base, Some(&cte.alias));
                        self.ctes.push((name.clone(), base.clone()));
                        let step = self.set_expr(right, outer);
                        self.ctes.pop();
                        self.union(base, step)
                    }
                    _ => self.query(&cte.query, outer),
                };
                let rel = self.rename(rel, Some(&cte.alias));
                self.ctes.push((name, rel));
            }
        }
        let rel = self.set_expr(&query.body, outer);
        if let Some(order_by) = &query.order_by {
            self.tables_in(order_by, &Scope::new(outer));
        }
        self.ctes.truncate(mark);
        rel
    }

    fn set_expr(&mut self, body: &SetExpr, outer: Option<&Scope<'_>>) -> Rel {
        match body {
            SetExpr::Select(s) => self.select(s, outer),
            SetExpr::Query(q) => self.query(q, outer),
            SetExpr::SetOperation { left, right, .. } => {
                let l = self.set_expr(left, outer);
                let r = self.set_expr(right, outer);
                self.union(l, r)
            }
            SetExpr::Values(values) => {
                let scope = Scope::new(outer);
                let width = values.rows.first().map_or(0, |r| r.content.len());
                let mut columns: Vec<Col> = (1..=width)
                    .map(|i| Col::computed(format!("column{i}"), Vec::new()))
                    .collect();
                for row in &values.rows {
                    for (col, expr) in columns.iter_mut().zip(&row.content) {
                        let sources = self.collect(expr, &scope, true);
                        add_sources(&mut col.sources, sources);
                    }
                }
                Rel {
                    columns,
                    open: None,
                }
            }
            SetExpr::Table(t) => match &t.table_name {
                Some(name) => {
                    let table = TableRef {
                        database: None,
                        schema: t.schema_name.clone(),
                        name: name.clone(),
                    };
                    self.record(&table);
                    self.base_rel(&table)
                }
                None => {
                    self.complete = false;
                    Rel::unknown()
                }
            },
            _ => {
                self.complete = false;
                Rel::unknown()
            }
        }
    }

    /// `left UNION/INTERSECT/EXCEPT right`: the left's names, both sides' sources.
    fn union(&mut self, mut left: Rel, right: Rel) -> Rel {
        if right.open.is_some() || left.open.is_some() || left.columns.len() != right.columns.len()
        {
            // Which columns line up is unknown.
            self.complete = false;
            for col in &mut left.columns {
                col.identity = false;
            }
            left.open = Some(Open::Unknown);
            return left;
        }
        for (l, r) in left.columns.iter_mut().zip(right.columns) {
            add_sources(&mut l.sources, r.sources);
            l.identity &= r.identity;
        }
        left
    }

    fn select(&mut self, select: &Select, outer: Option<&Scope<'_>>) -> Rel {
        let mut scope = Scope::new(outer);
        for item in &select.from {
            let star = self.join_tree(item, &mut scope);
            scope.star = std::mem::take(&mut scope.star).concat(star);
        }
        for NamedWindowDefinition(name, def) in &select.named_window {
            let sources = match def {
                NamedWindowExpr::NamedWindow(other) => {
                    scope.windows.get(&fold(other)).cloned().unwrap_or_default()
                }
                NamedWindowExpr::WindowSpec(spec) => {
                    let mut sources = spec
                        .window_name
                        .as_ref()
                        .and_then(|w| scope.windows.get(&fold(w)).cloned())
                        .unwrap_or_default();
                    let own = self.collect(spec, &scope, false);
                    add_sources(&mut sources, own);
                    sources
                }
            };
            scope.windows.insert(fold(name), sources);
        }
        let mut out = Rel::default();
        for item in &select.projection {
            match item {
                SelectItem::UnnamedExpr(expr) => {
                    let col = self.expr_col(expr, &scope, column_name(expr));
                    out.columns.push(col);
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let col = self.expr_col(expr, &scope, fold(alias));
                    out.columns.push(col);
                }
                SelectItem::Wildcard(_) => {
                    out = out.concat(scope.star.clone());
                }
                SelectItem::QualifiedWildcard(
                    SelectItemQualifiedWildcardKind::ObjectName(n),
                    _,
                ) => {
                    let qualifier = last_part(n).unwrap_or_default();
                    match scope.rels.iter().find(|r| r.name == qualifier) {
                        Some(r) => out = out.concat(r.rel.clone()),
                        None => {
                            self.complete = false;
                            out = out.concat(Rel::unknown());
                        }
                    }
                }
                SelectItem::QualifiedWildcard(..) | SelectItem::ExprWithAliases { .. } => {
                    self.complete = false;
                    out = out.concat(Rel::unknown());
                }
            }
        }
        // Filters and grouping do not feed output values, but may read more tables.
        self.tables_in(&select.selection, &scope);
        self.tables_in(&select.group_by, &scope);
        self.tables_in(&select.having, &scope);
        self.tables_in(&select.qualify, &scope);
        out
    }

    /// Adds a `FROM` item (a table and its joins) to `scope`; returns what `*` gives.
    fn join_tree(&mut self, item: &TableWithJoins, scope: &mut Scope<'_>) -> Rel {
        let mut star = self.factor(&item.relation, scope);
        for join in &item.joins {
            let right = self.factor(&join.relation, scope);
            let (constraint, full) = match &join.join_operator {
                JoinOperator::FullOuter(c) => (Some(c), true),
                JoinOperator::Join(c)
                | JoinOperator::Inner(c)
                | JoinOperator::Left(c)
                | JoinOperator::LeftOuter(c)
                | JoinOperator::Right(c)
                | JoinOperator::RightOuter(c)
                | JoinOperator::CrossJoin(c) => (Some(c), false),
                _ => (None, false),
            };
            star = match constraint {
                Some(JoinConstraint::Using(names)) => {
                    let names: Vec<String> = names.iter().filter_map(last_part).collect();
                    self.merge(star, right, &names, full, scope)
                }
                Some(JoinConstraint::Natural) => {
                    if star.open.is_some() || right.open.is_some() {
                        self.complete = false;
                        star.concat(right)
                    } else {
                        let names: Vec<String> = star
                            .columns
                            .iter()
                            .filter(|l| right.columns.iter().any(|r| r.name == l.name))
                            .map(|l| l.name.clone())
                            .collect();
                        self.merge(star, right, &names, full, scope)
                    }
                }
                Some(JoinConstraint::On(expr)) => {
                    self.tables_in(expr, scope);
                    star.concat(right)
                }
                _ => star.concat(right),
            };
        }
        star
    }

    /// The columns of `left join right using (names)`: the merged columns first, then
    /// the rest of each side, as PostgreSQL orders them.
    fn merge(
        &mut self,
        mut left: Rel,
        mut right: Rel,
        names: &[String],
        full: bool,
        scope: &mut Scope<'_>,
    ) -> Rel {
        let take = |rel: &mut Rel, name: &str| -> Option<Col> {
            if let Some(i) = rel.columns.iter().position(|c| c.name == name) {
                return Some(rel.columns.remove(i));
            }
            match &rel.open {
                Some(Open::Table(t)) => Some(Col {
                    name: name.to_owned(),
                    sources: vec![ColumnRef {
                        table: t.clone(),
                        column: name.to_owned(),
                    }],
                    identity: true,
                }),
                _ => None,
            }
        };
        let mut merged = Vec::with_capacity(names.len());
        for name in names {
            let (l, r) = (take(&mut left, name), take(&mut right, name));
            if l.is_none() || r.is_none() {
                self.complete = false;
            }
            let mut col = Col {
                name: name.clone(),
                sources: Vec::new(),
                // A full join's merged column is coalesce(left, right).
                identity: !full,
            };
            for side in [l, r].into_iter().flatten() {
                add_sources(&mut col.sources, side.sources);
                col.identity &= side.identity;
            }
            merged.push(col);
        }
        scope.merged.extend(merged.iter().cloned());
        Rel {
            columns: merged,
            open: None,
        }
        .concat(left)
        .concat(right)
    }

    /// Adds one table factor to `scope`; returns what `*` gives for it.
    fn factor(&mut self, factor: &TableFactor, scope: &mut Scope<'_>) -> Rel {
        let (name, table, rel) = match factor {
            TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } => {
                let table = table_ref(name);
                let cte = (table.schema.is_none())
                    .then(|| self.cte(&table.name).cloned())
                    .flatten();
                let (rel, base) = match cte {
                    Some(rel) => (rel, None),
                    None => {
                        self.record(&table);
                        (self.base_rel(&table), Some(table.clone()))
                    }
                };
                let rel = self.rename(rel, alias.as_ref());
                let visible = alias.as_ref().map_or(table.name, |a| fold(&a.name));
                (visible, base, rel)
            }
            TableFactor::Table {
                name,
                alias,
                args: Some(args),
                with_ordinality,
                ..
            } => {
                let rel = self.function(name, &args.args, alias.as_ref(), *with_ordinality, scope);
                (self.function_alias(name, alias.as_ref()), None, rel)
            }
            TableFactor::Function {
                name,
                args,
                alias,
                with_ordinality,
                ..
            } => {
                let rel = self.function(name, args, alias.as_ref(), *with_ordinality, scope);
                (self.function_alias(name, alias.as_ref()), None, rel)
            }
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                // Later items of the same FROM are not visible yet, so passing the scope
                // is right for `lateral` and harmless otherwise.
                let rel = self.query(subquery, Some(&*scope));
                let rel = self.rename(rel, alias.as_ref());
                let name = alias.as_ref().map(|a| fold(&a.name)).unwrap_or_default();
                (name, None, rel)
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                let mark = scope.rels.len();
                let star = self.join_tree(table_with_joins, scope);
                let Some(alias) = alias else {
                    return star;
                };
                // An aliased join hides the names inside it.
                scope.rels.truncate(mark);
                let rel = self.rename(star, Some(alias));
                (fold(&alias.name), None, rel)
            }
            TableFactor::UNNEST {
                alias,
                array_exprs,
                with_ordinality,
                ..
            } => {
                let mut sources = Vec::new();
                for e in array_exprs {
                    let s = self.collect(e, scope, true);
                    add_sources(&mut sources, s);
                }
                let name = alias
                    .as_ref()
                    .map_or("unnest".to_owned(), |a| fold(&a.name));
                let mut columns = vec![Col::computed(name.clone(), sources.clone())];
                if *with_ordinality {
                    columns.push(Col::computed("ordinality".to_owned(), Vec::new()));
                }
                let rel = self.rename(
                    Rel {
                        columns,
                        open: None,
                    },
                    alias.as_ref(),
                );
                (name, None, rel)
            }
            _ => {
                self.complete = false;
                (String::new(), None, Rel::unknown())
            }
        };
        scope.rels.push(ScopeRel::new(name, table, rel.clone()));
        rel
    }

    fn function_alias(&self, name: &ObjectName, alias: Option<&TableAlias>) -> String {
        alias
            .map(|a| fold(&a.name))
            .or_else(|| last_part(name))
            .unwrap_or_default()
    }

    /// A function in `FROM` (`generate_series(1, 10) as g`, `unnest(t.tags) as tag`).
    fn function(
        &mut self,
        name: &ObjectName,
        args: &[FunctionArg],
        alias: Option<&TableAlias>,
        with_ordinality: bool,
        scope: &Scope<'_>,
    ) -> Rel {
        let mut sources = Vec::new();
        for arg in args {
            let s = self.collect(arg, scope, true);
            add_sources(&mut sources, s);
        }
        let function = last_part(name).unwrap_or_default();
        let names: Vec<String> = match alias {
            Some(a) if !a.columns.is_empty() => a.columns.iter().map(|c| fold(&c.name)).collect(),
            _ if SCALAR_SET_FUNCTIONS.contains(&function.as_str()) => {
                let mut names = vec![self.function_alias(name, alias)];
                if with_ordinality {
                    names.push("ordinality".to_owned());
                }
                names
            }
            _ if matches!(
                function.as_str(),
                "json_each" | "jsonb_each" | "json_each_text" | "jsonb_each_text"
            ) =>
            {
                let mut names = vec!["key".to_owned(), "value".to_owned()];
                if with_ordinality {
                    names.push("ordinality".to_owned());
                }
                names
            }
            _ => {
                // A function returning rows of a type we do not know.
                self.complete = false;
                return Rel::unknown();
            }
        };
        Rel {
            columns: names
                .into_iter()
                .map(|n| Col::computed(n, sources.clone()))
                .collect(),
            open: None,
        }
    }

    /// The column a select-list expression makes, named `name`.
    fn expr_col(&mut self, expr: &Expr, scope: &Scope<'_>, name: String) -> Col {
        let mut bare = expr;
        while let Expr::Nested(inner) = bare {
            bare = inner;
        }
        let idents = match bare {
            Expr::Identifier(i) => Some(std::slice::from_ref(i)),
            Expr::CompoundIdentifier(is) => Some(is.as_slice()),
            _ => None,
        };
        if let Some(idents) = idents {
            return match self.resolve(idents, scope) {
                Some(col) => Col { name, ..col },
                None => {
                    if !is_value_function(idents) {
                        self.complete = false;
                    }
                    Col::computed(name, Vec::new())
                }
            };
        }
        let sources = self.collect(expr, scope, true);
        Col::computed(name, sources)
    }

    fn resolve(&self, idents: &[Ident], scope: &Scope<'_>) -> Option<Col> {
        let mut current = Some(scope);
        while let Some(s) = current {
            match s.lookup(idents) {
                Lookup::Found(col) => return Some(col),
                Lookup::Unresolved => return None,
                Lookup::NotHere => current = s.parent,
            }
        }
        None
    }

    /// The sources of every column referenced in `node` (subqueries included).
    /// `strict`: an unresolved reference makes the analysis incomplete.
    fn collect(&mut self, node: &impl Visit, scope: &Scope<'_>, strict: bool) -> Vec<ColumnRef> {
        let mut collector = Collector {
            an: self,
            scope,
            depth: 0,
            sources: Vec::new(),
            strict,
        };
        let _ = node.visit(&mut collector);
        collector.sources
    }

    /// Records the tables read by subqueries in `node` (a filter, a join condition).
    fn tables_in(&mut self, node: &impl Visit, scope: &Scope<'_>) {
        self.collect(node, scope, false);
    }
}

fn is_value_function(idents: &[Ident]) -> bool {
    idents.len() == 1
        && idents[0].quote_style.is_none()
        && VALUE_FUNCTIONS.contains(&idents[0].value.to_lowercase().as_str())
}

/// Gathers column references of one expression level; nested queries are analysed as
/// whole queries (with this level as their outer scope) and contribute their outputs.
struct Collector<'a, 's, 'p> {
    an: &'a mut Analyzer<'s>,
    scope: &'a Scope<'p>,
    depth: usize,
    sources: Vec<ColumnRef>,
    strict: bool,
}

impl Collector<'_, '_, '_> {
    fn reference(&mut self, idents: &[Ident]) {
        match self.an.resolve(idents, self.scope) {
            Some(col) => add_sources(&mut self.sources, col.sources),
            None => {
                if self.strict && !is_value_function(idents) {
                    self.an.complete = false;
                }
            }
        }
    }
}

impl Visitor for Collector<'_, '_, '_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if self.depth == 0 {
            let rel = self.an.query(query, Some(self.scope));
            for col in rel.columns {
                add_sources(&mut self.sources, col.sources);
            }
        }
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if self.depth == 0 {
            match expr {
                Expr::Identifier(i) => self.reference(std::slice::from_ref(i)),
                Expr::CompoundIdentifier(is) => self.reference(is),
                // `over w` reads the columns of the named window `w`.
                Expr::Function(f) => {
                    let named = match &f.over {
                        Some(WindowType::NamedWindow(w)) => Some(w),
                        Some(WindowType::WindowSpec(spec)) => spec.window_name.as_ref(),
                        None => None,
                    };
                    if let Some(sources) = named.and_then(|w| self.scope.windows.get(&fold(w))) {
                        add_sources(&mut self.sources, sources.iter().cloned());
                    }
                }
                _ => {}
            }
        }
        ControlFlow::Continue(())
    }
}
