//! The periodic scan that queues R6's expiry mails. Which notice is due is decided by the pure
//! [`crate::domain::reminders::notice_due`]; this module only reads the certificates in the
//! window that can be due and queues the mails. The outbox dedupe key (certificate + kind) makes
//! the scan idempotent across passes, restarts and instances.

use std::{collections::HashMap, time::Duration};

use common::api::{CertificateStatus, Role};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use time::OffsetDateTime;

use super::{
    outbox::{self, Mail},
    templates,
};
use crate::{
    db::entities::{certificate, user},
    domain::reminders::{CertificateFacts, Notice, notice_due, scan_window},
};

/// How long after start-up the first scan runs.
const FIRST_SCAN_DELAY: Duration = Duration::from_secs(30);

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

/// Queues every notice due at `now`, stamped `queued_at` (due for delivery from then on; the
/// caller's wall clock, which differs from `now` only when a test or an operator judges another
/// moment).
pub async fn scan(
    db: &DatabaseConnection,
    reminder_days: &[u32],
    public_url: &str,
    now: OffsetDateTime,
    queued_at: OffsetDateTime,
) -> Result<ScanReport, DbErr> {
    let (from, to) = scan_window(reminder_days, now);
    let mut report = ScanReport::default();
    // Keyset pagination in (not_after, id) order: every chunk reads the next 1,000 entries of
    // the not_after index instead of re-reading and re-sorting the whole window.
    let mut cursor: Option<(OffsetDateTime, i64)> = None;
    loop {
        let chunk = next_chunk(db, (from, to), cursor).await?;
        let Some(last) = chunk.last() else { break };
        cursor = Some((last.not_after, last.id));
        report.examined += chunk.len();
        let mails = notices_of(db, &chunk, reminder_days, public_url, now).await?;
        // One statement per chunk; notices queued before are skipped by their dedupe key.
        report.queued += usize::try_from(outbox::enqueue_many(db, mails, queued_at).await?).unwrap_or(usize::MAX);
    }
    Ok(report)
}

/// The next [`CHUNK`] certificates expiring within `window`, after `cursor` in (not_after, id)
/// order.
async fn next_chunk(
    db: &DatabaseConnection,
    (from, to): (OffsetDateTime, OffsetDateTime),
    cursor: Option<(OffsetDateTime, i64)>,
) -> Result<Vec<certificate::Model>, DbErr> {
    // Only the not_after range in SQL, so the planner walks the not_after index (a status
    // equality tempts SQLite into the status index and a sort of every row); revoked
    // certificates are skipped by notice_due.
    let mut query = certificate::Entity::find().filter(certificate::Column::NotAfter.between(from, to));
    if let Some((na, id)) = cursor {
        query = query.filter(
            Condition::any()
                .add(certificate::Column::NotAfter.gt(na))
                .add(Condition::all().add(certificate::Column::NotAfter.eq(na)).add(certificate::Column::Id.gt(id))),
        );
    }
    query.order_by_asc(certificate::Column::NotAfter).order_by_asc(certificate::Column::Id).limit(CHUNK).all(db).await
}

/// The latest unrevoked expiry each of `user_pks` holds: a later one than a certificate's means
/// it was renewed. Read through the (user_pk, not_after) index and folded here: a status equality
/// in SQL would again tempt SQLite into the status index.
async fn latest_held(db: &DatabaseConnection, user_pks: &[i64]) -> Result<HashMap<i64, OffsetDateTime>, DbErr> {
    let held: Vec<(i64, OffsetDateTime, CertificateStatus)> = certificate::Entity::find()
        .select_only()
        .column(certificate::Column::UserPk)
        .column(certificate::Column::NotAfter)
        .column(certificate::Column::Status)
        .filter(certificate::Column::UserPk.is_in(user_pks.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    let mut latest: HashMap<i64, OffsetDateTime> = HashMap::new();
    for (user_pk, not_after, status) in held {
        if status == CertificateStatus::Active {
            let entry = latest.entry(user_pk).or_insert(not_after);
            *entry = (*entry).max(not_after);
        }
    }
    Ok(latest)
}

/// The notices due at `now` for the certificates of `chunk`, to their owners.
async fn notices_of(
    db: &DatabaseConnection,
    chunk: &[certificate::Model],
    reminder_days: &[u32],
    public_url: &str,
    now: OffsetDateTime,
) -> Result<Vec<Mail>, DbErr> {
    let user_pks: Vec<i64> = chunk.iter().map(|c| c.user_pk).collect();
    let latest = latest_held(db, &user_pks).await?;
    let users: HashMap<i64, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(user_pks))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let mut mails = Vec::new();
    for cert in chunk {
        let Some(owner) = users.get(&cert.user_pk) else { continue };
        let facts = CertificateFacts {
            not_after: cert.not_after,
            revoked: cert.status != CertificateStatus::Active,
            superseded: latest.get(&cert.user_pk).is_some_and(|&l| l > cert.not_after),
        };
        let Some(notice) = notice_due(facts, reminder_days, now) else { continue };
        let about = templates::ReminderFacts {
            certificate_id: cert.id,
            serial: &cert.serial,
            user_id: &owner.user_id,
            to: &owner.email,
            not_after: cert.not_after,
            master_or_staff: owner.role != Role::General,
            url: public_url,
        };
        mails.push(match notice {
            Notice::Reminder { days } => templates::expiry_reminder(&about, days),
            Notice::Expired => templates::expired(&about),
        });
    }
    Ok(mails)
}

/// Runs [`scan`] [`FIRST_SCAN_DELAY`] after start-up and then every `interval`, for the life of
/// the process (a failed scan is logged and retried at the next tick).
pub async fn scan_forever(db: DatabaseConnection, reminder_days: Vec<u32>, public_url: String, interval: Duration) {
    // The first scan waits a little: start-up (and the first requests) never queue behind it.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + FIRST_SCAN_DELAY, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = OffsetDateTime::now_utc();
        match scan(&db, &reminder_days, &public_url, now, now).await {
            Ok(r) if r.queued > 0 => tracing::info!(examined = r.examined, queued = r.queued, "expiry mails queued"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "expiry reminder scan failed; the next scan retries"),
        }
    }
}
