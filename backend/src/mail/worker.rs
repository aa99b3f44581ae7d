//! Delivery of the outbox. The embedded default writes each mail as an RFC 5322 `.eml` file
//! under `<data-dir>/mail/` (file name = outbox row id, written atomically, so a retry after a
//! crash rewrites the same file: at-least-once, never a duplicate). A failed delivery stays
//! pending with its error and a growing delay (1, 2, 4 … up to 60 minutes).
//!
//! SMTP delivery, several instances on PostgreSQL and the expiry reminders come with the mail
//! issue; rows are already deduplicated and durable, so nothing queued now is lost.

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use lettre::{Message, message::header::ContentType};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr};
use time::OffsetDateTime;

use crate::db::entities::mail_outbox;

/// The delay before retry number `attempts` (1-based): 1, 2, 4 … minutes, at most 60.
pub fn backoff(attempts: u32) -> time::Duration {
    let minutes = 1_i64 << attempts.saturating_sub(1).min(6);
    time::Duration::minutes(minutes.min(60))
}

/// Writes the outbox as `.eml` files.
#[derive(Debug, Clone)]
pub struct FileWorker {
    pub db: DatabaseConnection,
    pub dir: PathBuf,
    pub from: String,
}

fn render(row: &mail_outbox::Model, from: &str) -> anyhow::Result<Vec<u8>> {
    let message = Message::builder()
        .from(from.parse().context("invalid sender address")?)
        .to(row.to_addr.parse().with_context(|| format!("invalid recipient address {}", row.to_addr))?)
        .subject(row.subject.clone())
        .message_id(Some(format!("<outbox-{}@cjs>", row.id)))
        .date(std::time::SystemTime::from(row.created_at))
        .header(ContentType::TEXT_PLAIN)
        .body(row.body.clone())
        .context("cannot build the message")?;
    Ok(message.formatted())
}

impl FileWorker {
    /// Delivers every due pending row once; returns how many were delivered.
    pub async fn run_once(&self, now: OffsetDateTime) -> anyhow::Result<usize> {
        let due = mail_outbox::Entity::find()
            .filter(mail_outbox::Column::Status.eq("pending"))
            .filter(mail_outbox::Column::NextAttemptAt.lte(now))
            .order_by_asc(mail_outbox::Column::Id)
            .limit(100)
            .all(&self.db)
            .await?;
        let mut delivered = 0;
        for row in due {
            let result = async {
                let bytes = render(&row, &self.from)?;
                tokio::fs::create_dir_all(&self.dir)
                    .await
                    .with_context(|| format!("cannot create {}", self.dir.display()))?;
                let tmp = self.dir.join(format!("{}.eml.tmp", row.id));
                tokio::fs::write(&tmp, bytes).await.with_context(|| format!("cannot write {}", tmp.display()))?;
                tokio::fs::rename(&tmp, self.dir.join(format!("{}.eml", row.id)))
                    .await
                    .context("cannot move the mail into place")
            }
            .await;
            let update = mail_outbox::Entity::update_many()
                .col_expr(mail_outbox::Column::Attempts, Expr::value(row.attempts + 1))
                .filter(mail_outbox::Column::Id.eq(row.id));
            match result {
                Ok(()) => {
                    update
                        .col_expr(mail_outbox::Column::Status, Expr::value("sent"))
                        .col_expr(mail_outbox::Column::SentAt, Expr::value(Some(now)))
                        .col_expr(mail_outbox::Column::LastError, Expr::value(Option::<String>::None))
                        .exec(&self.db)
                        .await?;
                    delivered += 1;
                }
                Err(e) => {
                    let attempts = u32::try_from(row.attempts + 1).unwrap_or(u32::MAX);
                    tracing::warn!(mail_id = row.id, error = %format!("{e:#}"), "mail delivery failed; will retry");
                    update
                        .col_expr(mail_outbox::Column::LastError, Expr::value(Some(format!("{e:#}"))))
                        .col_expr(mail_outbox::Column::NextAttemptAt, Expr::value(now + backoff(attempts)))
                        .exec(&self.db)
                        .await?;
                }
            }
        }
        Ok(delivered)
    }

    /// Runs [`FileWorker::run_once`] every `interval` for the life of the process.
    pub fn spawn(self, interval: Duration) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            loop {
                tick.tick().await;
                if let Err(e) = self.run_once(OffsetDateTime::now_utc()).await {
                    tracing::warn!(error = %format!("{e:#}"), "mail worker pass failed");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), time::Duration::minutes(1));
        assert_eq!(backoff(2), time::Duration::minutes(2));
        assert_eq!(backoff(4), time::Duration::minutes(8));
        assert_eq!(backoff(7), time::Duration::minutes(60));
        assert_eq!(backoff(30), time::Duration::minutes(60));
    }
}
