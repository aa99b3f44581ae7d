//! A statement written once for SQLite and PostgreSQL: text with `?` for every bound value,
//! turned into `$1, $2, …` for PostgreSQL when it is run. Fragments (one filter each) are
//! appended to one another, so a query's conditions can be put together without counting
//! placeholders. Values are always bound, never written into the text.

use sea_orm::{DbBackend, Statement, Value};

#[derive(Debug, Clone, Default)]
pub struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self { text: text.to_owned(), values: Vec::new() }
    }

    /// `text`, with one `?` per value of `values`, in order.
    pub fn with(text: &str, values: impl IntoIterator<Item = Value>) -> Self {
        let values: Vec<Value> = values.into_iter().collect();
        debug_assert_eq!(text.matches('?').count(), values.len(), "{text}");
        Self { text: text.to_owned(), values }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a `?` bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.text.push('?');
        self.values.push(value.into());
        self
    }

    pub fn append(&mut self, other: &Sql) -> &mut Self {
        self.text.push_str(&other.text);
        self.values.extend(other.values.iter().cloned());
        self
    }

    /// ` WHERE a AND b …` of `conditions` (nothing when there are none).
    pub fn where_all(&mut self, conditions: &[Sql]) -> &mut Self {
        for (i, c) in conditions.iter().enumerate() {
            self.push(if i == 0 { " WHERE (" } else { " AND (" }).append(c).push(")");
        }
        self
    }

    /// The statement for `backend`: `?` becomes `$n` on PostgreSQL. No text of ours holds a `?`
    /// other than a placeholder (every value is bound).
    pub fn statement(&self, backend: DbBackend) -> Statement {
        let text = match backend {
            DbBackend::Postgres => {
                let mut out = String::with_capacity(self.text.len() + 8);
                let mut n = 0;
                for c in self.text.chars() {
                    if c == '?' {
                        n += 1;
                        out.push('$');
                        out.push_str(&n.to_string());
                    } else {
                        out.push(c);
                    }
                }
                out
            }
            _ => self.text.clone(),
        };
        Statement::from_sql_and_values(backend, text, self.values.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_only() {
        let mut q = Sql::new("SELECT 1 FROM t");
        q.where_all(&[Sql::with("a = ?", [1i64.into()]), Sql::with("b LIKE ? OR c = ?", ["x".into(), "y".into()])]);
        assert_eq!(q.statement(DbBackend::Postgres).sql, "SELECT 1 FROM t WHERE (a = $1) AND (b LIKE $2 OR c = $3)");
        assert_eq!(q.statement(DbBackend::Sqlite).sql, "SELECT 1 FROM t WHERE (a = ?) AND (b LIKE ? OR c = ?)");
        assert_eq!(q.statement(DbBackend::Sqlite).values.map(|v| v.0.len()), Some(3));
    }
}
