//! The durable outbox: one row per mail, deduplicated by a key so a notice is never queued twice.

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set, sea_query::OnConflict};
use time::OffsetDateTime;

use crate::db::entities::mail_outbox;

/// A mail ready to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// Same key → queued once (e.g. `lock:<user>:<until>`).
    pub dedupe_key: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Queues `mail` through `db` (normally the transaction of the causing event). Returns whether a
/// row was added (false: the same notice was queued before).
pub async fn enqueue<C: ConnectionTrait>(db: &C, mail: Mail, now: OffsetDateTime) -> Result<bool, DbErr> {
    let row = mail_outbox::ActiveModel {
        dedupe_key: Set(mail.dedupe_key),
        to_addr: Set(mail.to),
        subject: Set(mail.subject),
        body: Set(mail.body),
        status: Set("pending".to_owned()),
        attempts: Set(0),
        last_error: Set(None),
        next_attempt_at: Set(now),
        sent_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    let result = mail_outbox::Entity::insert(row)
        .on_conflict(OnConflict::column(mail_outbox::Column::DedupeKey).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(result > 0)
}
