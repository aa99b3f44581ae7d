//! The periodic scan that queues R6's expiry mails. Which notice is due is decided by the pure
//! [`crate::domain::reminders::notice_due`]; this module only reads the certificates in the
//! window that can be due and queues the mails. The outbox dedupe key (certificate + kind) makes
//! the scan idempotent across passes, restarts and instances.

use std::{collections::HashMap, time::Duration};

use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use time::OffsetDateTime;

use super::{outbox, templates};
use crate::{
    db::entities::{certificate, user},
    domain::reminders::{CertificateFacts, Notice, notice_due, scan_window},
};

/// Certificates examined per database round trip.
const CHUNK: u64 = 1_000;

/// What one scan did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScanReport {
    /// Certificates in the window that were looked at.
    pub examined: usize,
    /// Mails newly queued (a notice queued by an earlier scan is not counted again).
    pub queued: usize,
}

/// Queues every notice due at `now` (the rows themselves are stamped with the wall clock, so
/// they are due for delivery at once).
pub async fn scan(
    db: &DatabaseConnection,
    reminder_days: &[u32],
    public_url: &str,
    now: OffsetDateTime,
) -> Result<ScanReport, DbErr> {
    let (from, to) = scan_window(reminder_days, now);
    let queued_at = OffsetDateTime::now_utc();
    let mut report = ScanReport::default();
    let mut after_id = 0_i64;
    loop {
        let chunk = certificate::Entity::find()
            .filter(certificate::Column::Status.eq("active"))
            .filter(certificate::Column::NotAfter.between(from, to))
            .filter(certificate::Column::Id.gt(after_id))
            .order_by_asc(certificate::Column::Id)
            .limit(CHUNK)
            .all(db)
            .await?;
        let Some(last) = chunk.last() else { break };
        after_id = last.id;
        report.examined += chunk.len();
        let user_pks: Vec<i64> = chunk.iter().map(|c| c.user_pk).collect();
        // The latest expiry each of these users holds: a later one means this certificate was renewed.
        let latest: HashMap<i64, OffsetDateTime> = certificate::Entity::find()
            .select_only()
            .column(certificate::Column::UserPk)
            .column_as(certificate::Column::NotAfter.max(), "latest")
            .filter(certificate::Column::Status.eq("active"))
            .filter(certificate::Column::UserPk.is_in(user_pks.clone()))
            .group_by(certificate::Column::UserPk)
            .into_tuple::<(i64, OffsetDateTime)>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        let users: HashMap<i64, user::Model> = user::Entity::find()
            .filter(user::Column::Id.is_in(user_pks))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();

        let txn = db.begin().await?;
        for cert in &chunk {
            let Some(owner) = users.get(&cert.user_pk) else { continue };
            let facts = CertificateFacts {
                not_after: cert.not_after,
                revoked: cert.status != "active",
                superseded: latest.get(&cert.user_pk).is_some_and(|&l| l > cert.not_after),
            };
            let Some(notice) = notice_due(facts, reminder_days, now) else { continue };
            let about = templates::ReminderFacts {
                certificate_id: cert.id,
                serial: &cert.serial,
                user_id: &owner.user_id,
                to: &owner.email,
                not_after: cert.not_after,
                master_or_staff: owner.role != "general",
                url: public_url,
            };
            let mail = match notice {
                Notice::Reminder { days } => templates::expiry_reminder(&about, days),
                Notice::Expired => templates::expired(&about),
            };
            if outbox::enqueue(&txn, mail, queued_at).await? {
                report.queued += 1;
            }
        }
        txn.commit().await?;
    }
    Ok(report)
}

/// Runs [`scan`] now and then every `interval` for the life of the process.
pub fn spawn(db: DatabaseConnection, reminder_days: Vec<u32>, public_url: String, interval: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match scan(&db, &reminder_days, &public_url, OffsetDateTime::now_utc()).await {
                Ok(r) if r.queued > 0 => {
                    tracing::info!(examined = r.examined, queued = r.queued, "expiry mails queued")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "expiry reminder scan failed; the next scan retries"),
            }
        }
    });
}
