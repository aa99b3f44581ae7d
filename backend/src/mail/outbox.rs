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
    Ok(enqueue_many(db, vec![mail], now).await? > 0)
}

/// Queues `mails` in one statement; returns how many were new (the others were queued before).
pub async fn enqueue_many<C: ConnectionTrait>(db: &C, mails: Vec<Mail>, now: OffsetDateTime) -> Result<u64, DbErr> {
    if mails.is_empty() {
        return Ok(0);
    }
    let rows = mails.into_iter().map(|mail| row(mail, now));
    mail_outbox::Entity::insert_many(rows)
        .on_conflict(OnConflict::column(mail_outbox::Column::DedupeKey).do_nothing().to_owned())
        .exec_without_returning(db)
        .await
}

fn row(mail: Mail, now: OffsetDateTime) -> mail_outbox::ActiveModel {
    mail_outbox::ActiveModel {
        dedupe_key: Set(mail.dedupe_key),
        to_addr: Set(mail.to),
        subject: Set(mail.subject),
        body: Set(mail.body),
        status: Set(common::api::MailStatus::Pending),
        attempts: Set(0),
        last_error: Set(None),
        next_attempt_at: Set(now),
        sent_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
}
