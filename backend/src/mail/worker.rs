//! Delivery of the outbox, inside `cjs serve`: through an SMTP relay when one is configured,
//! otherwise as RFC 5322 `.eml` files under `<data-dir>/mail/` (the embedded default; file name =
//! outbox row id, written atomically, so a retry rewrites the same file).
//!
//! At-least-once: a row becomes `sent` only after the relay accepted it (or the file is in
//! place), so a crash between the two sends that one mail again and loses nothing. On PostgreSQL
//! each row is claimed with `SELECT … FOR UPDATE SKIP LOCKED` in its own transaction, held while
//! it is sent and marked, so several instances on one database never send the same row (a crash
//! rolls the claim back). On SQLite (one instance by design) the worker does not hold a write
//! transaction across the network call, so the API never waits on the relay.
//!
//! A transient failure keeps the row pending with its error and a growing delay (the base, then
//! 2×, 4× … up to 60× the base: 1, 2, 4 … 60 minutes by default); a permanent one (the relay's
//! 5xx, an address that cannot be parsed) marks it `failed` with the error, visible to the bank.

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use common::api::MailStatus;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
    transport::smtp::{
        authentication::Credentials,
        client::{Certificate, Tls, TlsParameters},
    },
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, TransactionTrait,
    sea_query::{Expr, LockBehavior, LockType},
};
use time::OffsetDateTime;

use crate::{
    db::entities::mail_outbox,
    mail::settings::{MailSettings, MailTransport, SmtpSecurity, SmtpSettings},
};

/// The delay before retry number `attempts` (1-based): `base`, 2×, 4× … at most 60× `base`.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    let factor = (1_u32 << attempts.saturating_sub(1).min(6)).min(60);
    base * factor
}

/// Most rows one pass delivers before yielding to the next tick.
const MAX_PER_PASS: usize = 1_000;

#[derive(Clone)]
enum Transport {
    Files(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// What became of one delivery attempt.
#[derive(Debug)]
enum Outcome {
    Sent,
    Retry(String),
    Failed(String),
}

impl Outcome {
    /// Counts the attempt once it is recorded (`cjs_mails_total`).
    fn count(&self) {
        let outcome = match self {
            Outcome::Sent => "sent",
            Outcome::Retry(_) => "retry",
            Outcome::Failed(_) => "failed",
        };
        crate::metrics::metrics().mail(outcome);
    }
}

/// The delivery worker.
#[derive(Clone)]
pub struct Worker {
    db: DatabaseConnection,
    transport: Transport,
    from: Mailbox,
    message_id_domain: String,
    retry_base: Duration,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let transport = match &self.transport {
            Transport::Files(dir) => format!("files:{}", dir.display()),
            Transport::Smtp(_) => "smtp".to_owned(),
        };
        f.debug_struct("Worker").field("transport", &transport).field("from", &self.from).finish_non_exhaustive()
    }
}

fn smtp_transport(s: &SmtpSettings) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let tls = |host: &str| -> anyhow::Result<TlsParameters> {
        let mut b = TlsParameters::builder(host.to_owned());
        if let Some(path) = &s.ca_file {
            let pem = std::fs::read(path).with_context(|| format!("cannot read smtp_ca_file {}", path.display()))?;
            b = b.add_root_certificate(Certificate::from_pem(&pem).context("smtp_ca_file is not a PEM certificate")?);
        }
        b.build_rustls().context("cannot set up TLS for SMTP")
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
        .port(s.port)
        .timeout(Some(Duration::from_secs(30)));
    b = match s.security {
        SmtpSecurity::Starttls => b.tls(Tls::Required(tls(&s.host)?)),
        SmtpSecurity::Tls => b.tls(Tls::Wrapper(tls(&s.host)?)),
        SmtpSecurity::None => b.tls(Tls::None),
    };
    if let (Some(user), Some(password)) = (&s.username, &s.password) {
        b = b.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
    }
    Ok(b.build())
}

fn due(now: OffsetDateTime) -> Select<mail_outbox::Entity> {
    mail_outbox::Entity::find()
        .filter(mail_outbox::Column::Status.eq(MailStatus::Pending))
        .filter(mail_outbox::Column::NextAttemptAt.lte(now))
        .order_by_asc(mail_outbox::Column::Id)
}

impl Worker {
    pub fn new(db: DatabaseConnection, settings: &MailSettings) -> anyhow::Result<Self> {
        let transport = match &settings.transport {
            MailTransport::Files(dir) => Transport::Files(dir.clone()),
            MailTransport::Smtp(s) => Transport::Smtp(smtp_transport(s)?),
        };
        let from: Mailbox = settings.from.parse().context("mail_from is not a valid address")?;
        let message_id_domain = from.email.domain().to_owned();
        Ok(Self { db, transport, from, message_id_domain, retry_base: settings.retry_base })
    }

    fn render(&self, row: &mail_outbox::Model) -> Result<Message, String> {
        let to: Mailbox = row.to_addr.parse().map_err(|e| format!("invalid recipient address {}: {e}", row.to_addr))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(row.subject.clone())
            .message_id(Some(format!("<outbox-{}@{}>", row.id, self.message_id_domain)))
            .date(std::time::SystemTime::from(row.created_at))
            .header(ContentType::TEXT_PLAIN)
            .body(row.body.clone())
            .map_err(|e| format!("cannot build the message: {e}"))
    }

    async fn deliver(&self, row: &mail_outbox::Model) -> Outcome {
        let message = match self.render(row) {
            Ok(m) => m,
            Err(e) => return Outcome::Failed(e),
        };
        match &self.transport {
            Transport::Smtp(smtp) => match smtp.send(message).await {
                Ok(_) => Outcome::Sent,
                Err(e) if e.is_permanent() => Outcome::Failed(format!("SMTP: {e}")),
                Err(e) => Outcome::Retry(format!("SMTP: {e}")),
            },
            Transport::Files(dir) => {
                let result = async {
                    tokio::fs::create_dir_all(dir).await.with_context(|| format!("cannot create {}", dir.display()))?;
                    let tmp = dir.join(format!("{}.eml.tmp", row.id));
                    tokio::fs::write(&tmp, message.formatted())
                        .await
                        .with_context(|| format!("cannot write {}", tmp.display()))?;
                    tokio::fs::rename(&tmp, dir.join(format!("{}.eml", row.id)))
                        .await
                        .context("cannot move the mail into place")
                }
                .await;
                match result {
                    Ok(()) => Outcome::Sent,
                    Err(e) => Outcome::Retry(format!("{e:#}")),
                }
            }
        }
    }

    async fn record<C: ConnectionTrait>(
        &self,
        db: &C,
        row: &mail_outbox::Model,
        outcome: &Outcome,
        now: OffsetDateTime,
    ) -> Result<(), DbErr> {
        let attempts = row.attempts.saturating_add(1);
        let update = mail_outbox::Entity::update_many()
            .col_expr(mail_outbox::Column::Attempts, Expr::value(attempts))
            .filter(mail_outbox::Column::Id.eq(row.id));
        let update = match outcome {
            Outcome::Sent => update
                .col_expr(mail_outbox::Column::Status, Expr::value(MailStatus::Sent))
                .col_expr(mail_outbox::Column::SentAt, Expr::value(Some(now)))
                .col_expr(mail_outbox::Column::LastError, Expr::value(Option::<String>::None)),
            Outcome::Retry(error) => {
                tracing::warn!(mail_id = row.id, attempts, error = %error, "mail delivery failed; will retry");
                let delay = backoff(self.retry_base, u32::try_from(attempts).unwrap_or(u32::MAX));
                update
                    .col_expr(mail_outbox::Column::LastError, Expr::value(Some(error.clone())))
                    .col_expr(mail_outbox::Column::NextAttemptAt, Expr::value(now + delay))
            }
            Outcome::Failed(error) => {
                tracing::error!(mail_id = row.id, attempts, error = %error, "mail refused permanently");
                update
                    .col_expr(mail_outbox::Column::Status, Expr::value(MailStatus::Failed))
                    .col_expr(mail_outbox::Column::LastError, Expr::value(Some(error.clone())))
            }
        };
        update.exec(db).await.map(|_| ())
    }

    /// Claims, sends and marks the next due row. `None` when nothing is due.
    async fn deliver_next(&self, now: OffsetDateTime) -> anyhow::Result<Option<Outcome>> {
        if self.db.get_database_backend() == DatabaseBackend::Postgres {
            let txn = self.db.begin().await?;
            let Some(row) = due(now).lock_with_behavior(LockType::Update, LockBehavior::SkipLocked).one(&txn).await?
            else {
                txn.commit().await?;
                return Ok(None);
            };
            let outcome = self.deliver(&row).await;
            self.record(&txn, &row, &outcome, now).await?;
            txn.commit().await?;
            outcome.count();
            Ok(Some(outcome))
        } else {
            let Some(row) = due(now).one(&self.db).await? else { return Ok(None) };
            let outcome = self.deliver(&row).await;
            self.record(&self.db, &row, &outcome, now).await?;
            outcome.count();
            Ok(Some(outcome))
        }
    }

    /// Delivers due rows until none is left (at most [`MAX_PER_PASS`]); returns how many were sent.
    pub async fn run_once(&self, now: OffsetDateTime) -> anyhow::Result<usize> {
        let mut sent = 0;
        for _ in 0..MAX_PER_PASS {
            match self.deliver_next(now).await? {
                None => break,
                Some(Outcome::Sent) => sent += 1,
                Some(_) => {}
            }
        }
        Ok(sent)
    }

    /// Runs [`Worker::run_once`] every `interval` for the life of the process (a failed pass is
    /// logged and retried at the next tick).
    pub async fn run_forever(self, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.run_once(OffsetDateTime::now_utc()).await {
                Ok(0) => {}
                Ok(sent) => tracing::info!(sent, "mail delivered"),
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "mail worker pass failed; next pass retries"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_sixty_times_the_base() {
        let m = Duration::from_secs(60);
        assert_eq!(backoff(m, 1), m);
        assert_eq!(backoff(m, 2), 2 * m);
        assert_eq!(backoff(m, 4), 8 * m);
        assert_eq!(backoff(m, 6), 32 * m);
        assert_eq!(backoff(m, 7), 60 * m);
        assert_eq!(backoff(m, 30), 60 * m);
        assert_eq!(backoff(Duration::from_secs(1), 3), Duration::from_secs(4));
    }
}
