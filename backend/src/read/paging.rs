//! One page of any list: the rows after (or before) a keyset cursor in the sort's order, one
//! more than asked to learn whether another page follows, and the total counted up to
//! [`COUNT_LIMIT`]. Two statements per page, whatever the size of the table: no per-row query
//! and no parameter list that grows with the data.
//!
//! The sort is always `(sort expression, row id)`, both in the same direction, so every row has
//! one place; the cursor names that place, and rows inserted meanwhile before or after it move
//! no row across a page boundary.

use common::api::list::{COUNT_LIMIT, Page, Total};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use time::OffsetDateTime;

use super::{
    cursor::{Cursor, Key, Side},
    search::{SearchError, Sort},
    sql::Sql,
};

/// What a list's failure is: a search the server refuses (400) or the database.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// The type of a sort column's values (a cursor of another type is refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Text,
    Int,
    Time,
}

/// A sort column of a list: its name on the wire, its SQL expression and its type.
#[derive(Debug, Clone, Copy)]
pub struct SortColumn {
    pub name: &'static str,
    pub expr: &'static str,
    pub kind: KeyKind,
}

/// One list's query, its search already checked.
#[derive(Debug, Clone)]
pub struct ListQuery<'a> {
    /// The list's name (part of every cursor's binding).
    pub list: &'static str,
    /// `SELECT …` columns of a row, without `FROM`.
    pub columns: &'a str,
    /// `FROM …` with the joins the columns, the filters and the sort need.
    pub from: &'a str,
    /// `FROM …` enough for the filters (the count needs no join made only for the columns).
    pub count_from: &'a str,
    /// When set, `(outer columns, outer joins)`: the page is chosen in an inner query and these
    /// joins run for its rows only (e.g. each user's newest certificate).
    pub outer: Option<(&'a str, &'a str)>,
    /// The row id expression (the sort's tie-breaker).
    pub id: &'static str,
    pub filters: Vec<Sql>,
    /// The checked search as text: filters and sort (binds cursors to it).
    pub fingerprint: String,
    pub sort: Sort,
    pub column: SortColumn,
    pub limit: u64,
    pub cursor: Option<String>,
}

fn bind_key(key: &Key) -> Value {
    match key {
        Key::Text(s) => s.clone().into(),
        Key::Int(i) => (*i).into(),
        Key::Time(n) => OffsetDateTime::from_unix_timestamp_nanos(*n).unwrap_or(OffsetDateTime::UNIX_EPOCH).into(),
    }
}

fn kind_of(key: &Key) -> KeyKind {
    match key {
        Key::Text(_) => KeyKind::Text,
        Key::Int(_) => KeyKind::Int,
        Key::Time(_) => KeyKind::Time,
    }
}

impl ListQuery<'_> {
    fn binding(&self) -> String {
        format!("{}|{}|{}", self.list, self.sort.name(), self.fingerprint)
    }

    /// The cursor of this request, checked against the search and the sort's type.
    fn decoded_cursor(&self) -> Result<Option<Cursor>, SearchError> {
        let Some(text) = self.cursor.as_deref().filter(|c| !c.is_empty()) else { return Ok(None) };
        let cursor = Cursor::decode(text, &self.binding()).map_err(|_| SearchError::cursor())?;
        if kind_of(&cursor.key) != self.column.kind {
            return Err(SearchError::cursor());
        }
        Ok(Some(cursor))
    }

    /// The statement of the rows: filters, the keyset condition, the order, `limit + 1` rows.
    fn rows_statement(&self, cursor: Option<&Cursor>, limit: u64) -> Sql {
        let before = cursor.is_some_and(|c| c.side == Side::Before);
        // Reading towards the start of the list reverses the order (and the rows after).
        let descending = self.sort.descending != before;
        let (expr, id) = (self.column.expr, self.id);
        let mut conditions = self.filters.clone();
        if let Some(c) = cursor {
            let op = if descending { "<" } else { ">" };
            let mut keyset = Sql::new(&format!("({expr}, {id}) {op} ("));
            keyset.bind(bind_key(&c.key)).push(", ").bind(c.id).push(")");
            conditions.push(keyset);
        }
        let dir = if descending { "DESC" } else { "ASC" };
        let mut q = Sql::new(&format!("SELECT {}, {expr} AS sort_key, {id} AS row_id ", self.columns));
        q.push(self.from).where_all(&conditions);
        // The limits are written out, not bound: they are our own bounded numbers, and a
        // PostgreSQL generic plan that does not know them guesses a tenth of the table and may
        // sort all of it rather than walk the sort's index (207 ms instead of 6 for one search).
        q.push(&format!(" ORDER BY {expr} {dir}, {id} {dir} LIMIT {limit}"));
        match self.outer {
            None => q,
            Some((columns, joins)) => {
                let mut outer = Sql::new(&format!("SELECT p.*, {columns} FROM ("));
                outer.append(&q).push(") p ").push(joins);
                outer.push(&format!(" ORDER BY p.sort_key {dir}, p.row_id {dir}"));
                outer
            }
        }
    }

    /// The statement counting the rows found, up to `cap` + 1.
    fn count_statement(&self, cap: Option<u64>) -> Sql {
        let mut inner = Sql::new("SELECT 1 ");
        inner.push(self.count_from).where_all(&self.filters);
        match cap {
            Some(cap) => {
                inner.push(&format!(" LIMIT {}", cap + 1));
                let mut q = Sql::new("SELECT COUNT(*) AS n FROM (");
                q.append(&inner).push(") counted");
                q
            }
            None => {
                let mut q = Sql::new("SELECT COUNT(*) AS n ");
                q.push(self.count_from).where_all(&self.filters);
                q
            }
        }
    }

    /// The search as an audit entry records it: the list, its filters and its sort.
    pub fn describe(&self) -> String {
        format!(
            "{}?{}{}sort={}",
            self.list,
            self.fingerprint,
            if self.fingerprint.is_empty() { "" } else { "&" },
            self.sort.name()
        )
    }

    /// A cursor this query made (the export's own, between chunks).
    pub fn decode(&self, text: &str) -> Option<Cursor> {
        Cursor::decode(text, &self.binding()).ok()
    }

    /// Every row found, counted exactly (the CSV export states it in its audit entry).
    pub async fn count_all<C: ConnectionTrait>(&self, db: &C) -> Result<u64, DbErr> {
        count(db, &self.count_statement(None)).await
    }

    /// One page; `row` turns a result row into an item and its sort key.
    pub async fn page<C, T>(
        &self,
        db: &C,
        row: impl Fn(&QueryResult) -> Result<(T, Key), DbErr>,
    ) -> Result<Page<T>, ListError>
    where
        C: ConnectionTrait,
    {
        let cursor = self.decoded_cursor()?;
        let (items, next, prev) = self.rows(db, cursor.as_ref(), self.limit, &row).await?;
        let counted = count(db, &self.count_statement(Some(COUNT_LIMIT))).await?;
        let total = Total { count: counted.min(COUNT_LIMIT), exact: counted <= COUNT_LIMIT };
        Ok(Page { items, total, next, prev })
    }

    /// The rows of one page from `cursor`, with the cursors of the pages after and before.
    pub async fn rows<C, T>(
        &self,
        db: &C,
        cursor: Option<&Cursor>,
        limit: u64,
        row: &impl Fn(&QueryResult) -> Result<(T, Key), DbErr>,
    ) -> Result<(Vec<T>, Option<String>, Option<String>), DbErr>
    where
        C: ConnectionTrait,
    {
        let results =
            db.query_all_raw(self.rows_statement(cursor, limit + 1).statement(db.get_database_backend())).await?;
        let more = results.len() as u64 > limit;
        let mut rows = Vec::with_capacity(results.len());
        for r in results.iter().take(limit as usize) {
            let (item, key) = row(r)?;
            let id: i64 = r.try_get("", "row_id")?;
            rows.push((item, key, id));
        }
        let before = cursor.is_some_and(|c| c.side == Side::Before);
        if before {
            rows.reverse();
        }
        let binding = self.binding();
        let at = |side: Side, (_, key, id): &(T, Key, i64)| Cursor { side, key: key.clone(), id: *id }.encode(&binding);
        let (next, prev) = match cursor {
            None => (rows.last().filter(|_| more).map(|r| at(Side::After, r)), None),
            Some(c) if c.side == Side::After => {
                let prev = rows.first().map(|r| at(Side::Before, r)).or_else(|| {
                    // Nothing after the cursor (any more): back to what was before it.
                    Some(Cursor { side: Side::Before, key: c.key.clone(), id: c.id }.encode(&binding))
                });
                (rows.last().filter(|_| more).map(|r| at(Side::After, r)), prev)
            }
            Some(c) => {
                let next = rows
                    .last()
                    .map(|r| at(Side::After, r))
                    .or_else(|| Some(Cursor { side: Side::After, key: c.key.clone(), id: c.id }.encode(&binding)));
                (next, rows.first().filter(|_| more).map(|r| at(Side::Before, r)))
            }
        };
        Ok((rows.into_iter().map(|(item, _, _)| item).collect(), next, prev))
    }
}

async fn count<C: ConnectionTrait>(db: &C, q: &Sql) -> Result<u64, DbErr> {
    let row = db.query_one_raw(q.statement(db.get_database_backend())).await?;
    let n: i64 = match row {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}
