//! The audit log's hash chain. Every entry gets a link in `audit_chain`: a sequence number and
//! `hash = SHA-256(previous link's hash ‖ canonical(entry))`, where the canonical encoding is the
//! entry's fields as one compact JSON object in a fixed order ([`canonical`]; the first link's
//! previous hash is 32 zero octets). Change, delete, insert or move one entry and every later
//! hash differs; the signed checkpoints (`audit::checkpoint`) pin the chain's head outside the
//! database.
//!
//! **Order, and why a sealer.** Entries are written as today, inside the transactions whose
//! change they record; nothing on the request path waits for the chain. A sealer
//! ([`seal`], every second on every instance, and before each checkpoint) chains what has
//! committed since, in `id` order. On PostgreSQL it first takes `audit_sealer`'s one row (so one
//! sealer works at a time across instances) and then `LOCK TABLE audit_log IN SHARE MODE`, which
//! waits until every transaction that inserted into the log has ended and holds new inserts back
//! while it lasts: so every id it can see is final, and no entry can commit later with a smaller
//! id than one already chained — the chain follows commit order and never skips a late commit.
//! The lock is held for one batch (a few milliseconds) and given up after 100 ms of waiting (a
//! long transaction delays the chain, never the requests). On SQLite the row update takes the
//! database's single write lock, which has the same effect. A chain-head row locked by every
//! writing transaction was the other choice: it would put every audit-writing transaction of
//! every instance in one queue until its commit, and deadlock against the user and company rows
//! that transactions lock after their audit entry.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{
    db::entities::{audit_chain, audit_log},
    read::sql::Sql,
};

/// Entries chained per sealer transaction (4 bound values each: far below SQLite's 32,766).
pub const SEAL_BATCH: u64 = 2_000;
/// The hash before the first link.
pub const GENESIS: [u8; 32] = [0; 32];

/// The fields of an entry as they are hashed, in this order, compact, UTF-8 unescaped
/// (serde_json: what Python's `json.dumps(obj, ensure_ascii=False, separators=(",", ":"))`
/// writes for the same object). `detail` is the stored JSON text as a string.
#[derive(Debug, Serialize)]
pub struct Canonical<'a> {
    pub seq: i64,
    pub id: i64,
    pub at: String,
    pub actor: Option<&'a str>,
    pub action: &'a str,
    pub subject_user: Option<&'a str>,
    pub org_id: Option<i64>,
    pub detail: &'a str,
    pub client_address: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

impl<'a> Canonical<'a> {
    pub fn of(seq: i64, e: &'a audit_log::Model) -> Self {
        Self {
            seq,
            id: e.id,
            at: format_at(e.at),
            actor: e.actor.as_deref(),
            action: &e.action,
            subject_user: e.subject_user.as_deref(),
            org_id: e.org_id,
            detail: &e.detail,
            client_address: e.client_address.as_deref(),
            request_id: e.request_id.as_deref(),
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("plain fields serialise")
    }
}

/// An entry's time as hashed and exported: RFC 3339 in UTC.
pub fn format_at(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC).format(&Rfc3339).expect("a UTC time formats as RFC 3339")
}

/// The link after `prev` for entry `e` at `seq`.
pub fn link(prev: &[u8; 32], seq: i64, e: &audit_log::Model) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(Canonical::of(seq, e).bytes());
    h.finalize().into()
}

/// The newest link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub entry_id: i64,
    pub hash: [u8; 32],
}

/// The chain's newest link, if any.
pub async fn head<C: ConnectionTrait>(db: &C) -> Result<Option<Head>, DbErr> {
    let row = audit_chain::Entity::find().order_by_desc(audit_chain::Column::Seq).one(db).await?;
    row.map(|r| Ok(Head { seq: r.seq, entry_id: r.entry_id, hash: parse_hash(&r.hash)? })).transpose()
}

/// The first link (where the chain started).
pub async fn first<C: ConnectionTrait>(db: &C) -> Result<Option<audit_chain::Model>, DbErr> {
    audit_chain::Entity::find().order_by_asc(audit_chain::Column::Seq).one(db).await
}

pub fn parse_hash(text: &str) -> Result<[u8; 32], DbErr> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).map_err(|_| DbErr::Custom(format!("not a chain hash: {text:?}")))?;
    Ok(out)
}

/// Chains every committed entry not chained yet, in batches of [`SEAL_BATCH`]; returns how many.
/// Safe to run from any number of instances at once.
pub async fn seal(db: &DatabaseConnection, now: OffsetDateTime) -> Result<u64, DbErr> {
    let mut total = 0;
    loop {
        let n = seal_batch(db, now).await?;
        total += n;
        if n < SEAL_BATCH {
            return Ok(total);
        }
    }
}

async fn seal_batch(db: &DatabaseConnection, now: OffsetDateTime) -> Result<u64, DbErr> {
    // Without a transaction first: most passes find nothing new.
    let newest = newest_entry_id(db).await?;
    let chained = head(db).await?.map_or(0, |h| h.entry_id);
    if newest.is_none_or(|n| n <= chained) {
        return Ok(0);
    }
    let backend = db.get_database_backend();
    let txn = db.begin().await?;
    if backend == DbBackend::Postgres {
        txn.execute_unprepared("SET LOCAL lock_timeout = '100ms'").await?;
    }
    txn.execute_raw(Sql::with("UPDATE audit_sealer SET sealed_at = ? WHERE id = 1", [now.into()]).statement(backend))
        .await?;
    if backend == DbBackend::Postgres {
        txn.execute_unprepared("LOCK TABLE audit_log IN SHARE MODE").await?;
    }
    let head = head(&txn).await?;
    let (mut seq, mut prev, after) = head.map_or((0, GENESIS, 0), |h| (h.seq, h.hash, h.entry_id));
    let entries = audit_log::Entity::find()
        .filter(audit_log::Column::Id.gt(after))
        .order_by_asc(audit_log::Column::Id)
        .limit(SEAL_BATCH)
        .all(&txn)
        .await?;
    let n = entries.len() as u64;
    if n == 0 {
        txn.commit().await?;
        return Ok(0);
    }
    let links = entries.iter().map(|e| {
        seq += 1;
        prev = link(&prev, seq, e);
        audit_chain::ActiveModel {
            seq: Set(seq),
            entry_id: Set(e.id),
            hash: Set(hex::encode(prev)),
            sealed_at: Set(now),
        }
    });
    audit_chain::Entity::insert_many(links.collect::<Vec<_>>()).exec(&txn).await?;
    txn.commit().await?;
    Ok(n)
}

async fn newest_entry_id<C: ConnectionTrait>(db: &C) -> Result<Option<i64>, DbErr> {
    let row = audit_log::Entity::find()
        .select_only()
        .column(audit_log::Column::Id)
        .order_by_desc(audit_log::Column::Id)
        .into_tuple::<i64>()
        .one(db)
        .await?;
    Ok(row)
}

/// Seals every second for the life of the process. A pass that could not take its locks in time
/// (a long transaction holds the log) is simply the next one's work.
pub async fn seal_forever(db: DatabaseConnection, interval: std::time::Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match seal(&db, OffsetDateTime::now_utc()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(entries = n, "audit entries chained"),
            Err(e) if is_lock_timeout(&e) => tracing::debug!("audit sealer: the log is busy; next pass"),
            Err(e) => tracing::warn!(error = %e, "audit sealer failed; next pass"),
        }
    }
}

/// Whether `e` is the sealer giving up its lock after 100 ms (PostgreSQL `lock_timeout`).
pub fn is_lock_timeout(e: &DbErr) -> bool {
    let text = e.to_string();
    text.contains("lock timeout") || text.contains("55P03")
}

/// One link with its entry, as [`crate::audit::verify`] walks them (the entry's fields are
/// `None` when the link names an entry that is no longer there).
#[derive(Debug, FromQueryResult)]
pub struct LinkRow {
    pub seq: i64,
    pub entry_id: i64,
    pub hash: String,
    pub id: Option<i64>,
    pub at: Option<OffsetDateTime>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub subject_user: Option<String>,
    pub org_id: Option<i64>,
    pub detail: Option<String>,
    pub client_address: Option<String>,
    pub request_id: Option<String>,
}

impl LinkRow {
    /// The entry, when it is there.
    pub fn entry(&self) -> Option<audit_log::Model> {
        Some(audit_log::Model {
            id: self.id?,
            at: self.at?,
            actor: self.actor.clone(),
            action: self.action.clone()?,
            subject_user: self.subject_user.clone(),
            org_id: self.org_id,
            detail: self.detail.clone()?,
            client_address: self.client_address.clone(),
            request_id: self.request_id.clone(),
        })
    }
}

/// Up to `limit` links after `after_seq` (and up to `until_seq`, when given), in order, with
/// their entries.
pub async fn links_after<C: ConnectionTrait>(
    db: &C,
    after_seq: i64,
    until_seq: Option<i64>,
    limit: u64,
) -> Result<Vec<LinkRow>, DbErr> {
    let mut q = Sql::with(
        "SELECT c.seq, c.entry_id, c.hash, a.id, a.at, a.actor, a.action, a.subject_user, a.org_id, a.detail, \
         a.client_address, a.request_id FROM audit_chain c LEFT JOIN audit_log a ON a.id = c.entry_id \
         WHERE c.seq > ?",
        [after_seq.into()],
    );
    if let Some(until) = until_seq {
        q.push(" AND c.seq <= ").bind(until);
    }
    q.push(" ORDER BY c.seq LIMIT ").bind(i64::try_from(limit).unwrap_or(i64::MAX));
    LinkRow::find_by_statement(q.statement(db.get_database_backend())).all(db).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, detail: &str) -> audit_log::Model {
        audit_log::Model {
            id,
            at: time::macros::datetime!(2026-12-05 08:00:00.123456 UTC),
            actor: Some("staff01".into()),
            action: "certificate_revoked".into(),
            subject_user: Some("user01".into()),
            org_id: Some(3),
            detail: detail.into(),
            client_address: None,
            request_id: Some("r-1".into()),
        }
    }

    #[test]
    fn the_canonical_encoding_is_compact_json_in_a_fixed_order() {
        let e = entry(7, r#"{"reason":"鍵の紛失"}"#);
        assert_eq!(
            String::from_utf8(Canonical::of(1, &e).bytes()).unwrap(),
            r#"{"seq":1,"id":7,"at":"2026-12-05T08:00:00.123456Z","actor":"staff01","action":"certificate_revoked","subject_user":"user01","org_id":3,"detail":"{\"reason\":\"鍵の紛失\"}","client_address":null,"request_id":"r-1"}"#
        );
    }

    #[test]
    fn a_link_changes_with_the_previous_hash_the_position_and_every_field() {
        let e = entry(7, "{}");
        let base = link(&GENESIS, 1, &e);
        assert_ne!(link(&[1; 32], 1, &e), base, "previous hash");
        assert_ne!(link(&GENESIS, 2, &e), base, "position");
        assert_ne!(link(&GENESIS, 1, &entry(8, "{}")), base, "id");
        assert_ne!(link(&GENESIS, 1, &entry(7, "{ }")), base, "detail");
        let mut other = e.clone();
        other.actor = None;
        assert_ne!(link(&GENESIS, 1, &other), base, "actor");
        assert_eq!(link(&GENESIS, 1, &e), base, "deterministic");
    }
}
