//! Where the columns of upstream relations come from: the [`SchemaProvider`] seam, and
//! [`SchemaMap`], a ready-made one filled from the catalog or from upstream analyses.

use std::collections::HashMap;

use crate::TableRef;

/// Answers "which columns does this relation have, in order?" for `select *` expansion
/// and name resolution. `None` means unknown (not "no columns").
pub trait SchemaProvider {
    /// The columns of `table`, as named in the SQL (parts the SQL omits are `None`).
    fn columns(&self, table: &TableRef) -> Option<Vec<String>>;
}

/// Relations and their columns, matched the way PostgreSQL would find them from SQL that
/// names one, two or three parts: a reference without a database matches any database,
/// one without a schema any schema, as long as only one relation fits.
#[derive(Debug, Clone, Default)]
pub struct SchemaMap {
    tables: Vec<(TableRef, Vec<String>)>,
    full: HashMap<(String, String, String), usize>,
    by_schema: HashMap<(String, String), Option<usize>>,
    by_name: HashMap<String, Option<usize>>,
}

impl SchemaMap {
    /// Records the columns of `database.schema.name` (a later insert of the same relation
    /// replaces the earlier one).
    pub fn insert(&mut self, database: &str, schema: &str, name: &str, columns: Vec<String>) {
        let key = (database.to_owned(), schema.to_owned(), name.to_owned());
        if let Some(&i) = self.full.get(&key) {
            self.tables[i].1 = columns;
            return;
        }
        let i = self.tables.len();
        self.tables
            .push((TableRef::new(database, schema, name), columns));
        self.full.insert(key, i);
        // Two relations behind one shorter key make that key ambiguous (`None`).
        self.by_schema
            .entry((schema.to_owned(), name.to_owned()))
            .and_modify(|e| *e = None)
            .or_insert(Some(i));
        self.by_name
            .entry(name.to_owned())
            .and_modify(|e| *e = None)
            .or_insert(Some(i));
    }

    /// How many relations are recorded.
    pub fn len(&self) -> usize {
        self.tables.len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    fn find(&self, table: &TableRef) -> Option<usize> {
        match (&table.database, &table.schema) {
            (Some(d), Some(s)) => self
                .full
                .get(&(d.clone(), s.clone(), table.name.clone()))
                .copied(),
            (None, Some(s)) => self
                .by_schema
                .get(&(s.clone(), table.name.clone()))
                .copied()
                .flatten(),
            _ => self.by_name.get(&table.name).copied().flatten(),
        }
    }
}

impl SchemaProvider for SchemaMap {
    fn columns(&self, table: &TableRef) -> Option<Vec<String>> {
        self.find(table).map(|i| self.tables[i].1.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorter_references_match_when_unambiguous() {
        let mut m = SchemaMap::default();
        m.insert("db", "analytics", "orders", vec!["id".into()]);
        m.insert("db", "staging", "orders", vec!["order_id".into()]);
        m.insert("db", "staging", "customers", vec!["cid".into()]);
        let cols = |t: TableRef| m.columns(&t);
        assert_eq!(
            cols(TableRef::new("db", "analytics", "orders")),
            Some(vec!["id".to_owned()])
        );
        assert_eq!(
            cols(TableRef {
                database: None,
                schema: Some("staging".into()),
                name: "orders".into()
            }),
            Some(vec!["order_id".to_owned()])
        );
        assert_eq!(cols(TableRef::bare("orders")), None, "ambiguous");
        assert_eq!(
            cols(TableRef::bare("customers")),
            Some(vec!["cid".to_owned()])
        );
        assert_eq!(cols(TableRef::new("other", "staging", "customers")), None);
    }
}
