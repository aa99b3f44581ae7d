//! Pre-produced OCSP answers (RFC 9919 §3.2.4): each unexpired certificate's answer signed ahead
//! and stored in `ocsp_answers`, so that a relying party's first request for it is one read.
//!
//! A pass, every `ocsp_preproduce_interval` (5 s) on each instance:
//! 1. answers within [`REFRESH_AHEAD`] of their nextUpdate are signed anew; those of certificates
//!    that expired are deleted, as are answers past their nextUpdate;
//! 2. certificates issued or revoked since the previous pass (with [`RECENT_SLACK`] for
//!    transactions that committed late, and for other instances' clocks) get their answer;
//! 3. every [`SWEEP_EVERY`] (and at the first pass), every unexpired certificate without an
//!    answer of its status gets one: a new deployment's, or one whose answer a failure missed.
//!    A sweep's answers get nextUpdates spread over the last [`REFRESH_AHEAD`] of their
//!    validity, so that a million signed at once are not all due again at once.
//!
//! Correctness does not depend on a pass: an answer is served only while its certificate has
//! the status it gives (see [`super`]), and a request that finds none is signed on its path and
//! stored. On PostgreSQL one instance's pass runs at a time (an advisory lock; the others skip
//! theirs). The scans read through the reader connections, so a sweep holds no writer.

use std::sync::Arc;

use common::api::CertificateStatus;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryResult, TransactionTrait, sea_query::OnConflict,
};
use time::{Duration, OffsetDateTime};

use super::{CaResponder, OcspResponder};
use crate::{
    db::entities::ocsp_answer,
    pki::ocsp::{self, IssuerIds, Request, Signer},
    read::sql::Sql,
};

/// How long before its nextUpdate an answer is signed anew (answers last
/// [`ocsp::OCSP_VALIDITY`]: each is signed about every 45 minutes).
pub const REFRESH_AHEAD: Duration = Duration::minutes(15);
/// Least time a stored answer served must have before its nextUpdate.
pub const SERVED_MARGIN: Duration = Duration::minutes(5);
/// How far back a pass looks for issuances and revocations besides the time since the last.
pub const RECENT_SLACK: Duration = Duration::minutes(5);
/// Time between two sweeps of every certificate.
pub const SWEEP_EVERY: Duration = Duration::hours(1);
/// Answers signed and written at a time (6 values each: well inside SQLite's 32,766 and
/// PostgreSQL's 65,535 bound parameters).
pub const BATCH: usize = 500;
/// The advisory lock key of a pass on PostgreSQL (any constant of this program's own).
const PASS_LOCK: i64 = 0x636a_735f_6f63_7370;
/// Most batches of due answers a pass signs before it goes on (the next pass continues).
const MOST_DUE_BATCHES: usize = 400;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Answers signed and stored.
    pub signed: usize,
    /// Answers deleted (their certificate expired, or they did).
    pub deleted: usize,
}

/// A certificate that needs an answer.
#[derive(Debug)]
struct Due {
    serial: String,
    status: CertificateStatus,
    revoked_at: Option<OffsetDateTime>,
    reason: Option<String>,
    issuer_key_id: Option<String>,
}

impl Due {
    fn of(r: &QueryResult) -> Result<Self, DbErr> {
        Ok(Self {
            serial: r.try_get("", "serial")?,
            status: r.try_get("", "status")?,
            revoked_at: r.try_get("", "revoked_at")?,
            reason: r.try_get("", "revocation_reason")?,
            issuer_key_id: r.try_get("", "issuer_key_id")?,
        })
    }
}

/// The columns a [`Due`] is read from, of certificates `c`.
const DUE_COLUMNS: &str = "c.serial, c.status, c.revoked_at, c.revocation_reason, c.issuer_key_id";

/// Stores `answers` (a newer one replaces the stored one).
pub async fn store<C: ConnectionTrait>(db: &C, answers: Vec<ocsp_answer::Model>) -> Result<(), DbErr> {
    if answers.is_empty() {
        return Ok(());
    }
    ocsp_answer::Entity::insert_many(answers.into_iter().map(ocsp_answer::ActiveModel::from))
        .on_conflict(
            OnConflict::column(ocsp_answer::Column::Serial)
                .update_columns([
                    ocsp_answer::Column::Status,
                    ocsp_answer::Column::IdKey,
                    ocsp_answer::Column::Der,
                    ocsp_answer::Column::ThisUpdate,
                    ocsp_answer::Column::NextUpdate,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

impl CaResponder {
    /// The key of the request a relying party sends for `serial` (the pre-produced answer's).
    pub(super) fn preproduced_key(&self, serial: &str) -> Option<[u8; 32]> {
        Request::for_one(self.ids.cert_id(serial).ok()?).reuse_key()
    }
}

/// Signs the answers of `due` (each by its CA's signer), off the async workers. With `spread`,
/// each nextUpdate is moved earlier by a random part of [`REFRESH_AHEAD`], so that answers
/// signed together (a sweep's) do not all fall due together again: their refreshes, each a full
/// [`ocsp::OCSP_VALIDITY`] − [`REFRESH_AHEAD`] apart, keep the spread.
async fn sign(due: Vec<(Arc<Signer>, IssuerIds, Due)>, now: OffsetDateTime, spread: bool) -> Vec<ocsp_answer::Model> {
    let signed = tokio::task::spawn_blocking(move || {
        due.into_iter()
            .filter_map(|(signer, ids, d)| {
                let status = super::status_of(d.status, d.revoked_at, d.reason.as_deref(), now);
                let request = Request::for_one(ids.cert_id(&d.serial).ok()?);
                let id_key = request.reuse_key()?.to_vec();
                let earlier = if spread {
                    Duration::seconds(rand::random_range(0..REFRESH_AHEAD.whole_seconds()))
                } else {
                    Duration::ZERO
                };
                let next_update = now + ocsp::OCSP_VALIDITY - earlier;
                match ocsp::respond_until(&signer, &request, &[status], now, next_update) {
                    Ok(der) => Some(ocsp_answer::Model {
                        serial: d.serial,
                        status: d.status,
                        id_key,
                        der,
                        this_update: now,
                        next_update,
                    }),
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), "OCSP: could not pre-produce an answer");
                        None
                    }
                }
            })
            .collect::<Vec<_>>()
    })
    .await;
    signed.unwrap_or_default()
}

impl OcspResponder {
    /// Stores an answer signed on a request's path, after the answer went (a failure only means
    /// the next request signs again).
    pub(super) fn store_later(&self, produced: ocsp_answer::Model) {
        let writer = self.writer.clone();
        tokio::spawn(async move {
            if let Err(e) = store(&writer, vec![produced]).await {
                tracing::debug!(error = %e, "OCSP: could not store an answer signed on request");
            }
        });
    }

    /// The responder of the CA that issued a certificate whose row names `issuer_key_id`.
    fn responder_of(&self, issuer_key_id: Option<&str>) -> Option<&CaResponder> {
        self.cas.iter().find(|r| r.issued(issuer_key_id))
    }

    /// Signs and stores the answers of `due`; what could not be signed (no usable signer, a CA
    /// not loaded) is left for a later pass.
    async fn produce(&self, due: Vec<Due>, spread: bool) -> Result<usize, DbErr> {
        // Signed now (a long first pass must not date its later answers from its start).
        let now = OffsetDateTime::now_utc();
        let mut work = Vec::with_capacity(due.len());
        for d in due {
            let Some(responder) = self.responder_of(d.issuer_key_id.as_deref()) else { continue };
            let Some(signer) = responder.signer(now).await else { continue };
            work.push((signer, responder.ids.clone(), d));
        }
        let produced = sign(work, now, spread).await;
        let n = produced.len();
        store(&self.writer, produced).await?;
        Ok(n)
    }

    /// Certificates of `condition` (on certificates `c`, with `?` bound to `values`) that are
    /// unexpired and have no answer of their status, from serial `after` on, `BATCH` at most.
    async fn missing(&self, condition: &Sql, after: &str, now: OffsetDateTime) -> Result<Vec<Due>, DbErr> {
        let mut sql = Sql::new(&format!(
            "SELECT {DUE_COLUMNS} FROM certificates c LEFT JOIN ocsp_answers a ON a.serial = c.serial \
             WHERE c.serial > "
        ));
        sql.bind(after)
            .push(" AND c.not_after > ")
            .bind(now)
            .push(" AND c.status <> 'expired' AND (a.serial IS NULL OR a.status <> c.status) AND (")
            .append(condition)
            .push(&format!(") ORDER BY c.serial LIMIT {BATCH}"));
        // On the readers (SQLite): a sweep's scan must not hold the one writer connection.
        let rows = self.db.query_all_raw(sql.statement(self.db.get_database_backend())).await?;
        rows.iter().map(Due::of).collect()
    }

    /// Gives every certificate of `condition` that needs one its answer (`spread`: see [`sign`]).
    async fn fill(&self, condition: Sql, now: OffsetDateTime, spread: bool) -> Result<usize, DbErr> {
        let (mut after, mut signed) = (String::new(), 0);
        loop {
            let due = self.missing(&condition, &after, now).await?;
            let Some(last) = due.last() else { return Ok(signed) };
            after = last.serial.clone();
            let full = due.len() == BATCH;
            signed += self.produce(due, spread).await?;
            if !full {
                return Ok(signed);
            }
        }
    }

    /// Signs anew the answers due for their refresh, and deletes those of certificates that
    /// expired (or left the table) and those past their nextUpdate.
    async fn refresh_due(&self, now: OffsetDateTime) -> Result<Pass, DbErr> {
        let mut pass = Pass::default();
        let backend = self.db.get_database_backend();
        pass.deleted += ocsp_answer::Entity::delete_many()
            .filter(ocsp_answer::Column::NextUpdate.lte(now))
            .exec(&self.writer)
            .await?
            .rows_affected as usize;
        // Answers this instance could not sign (a CA it has not loaded) stay first in the order:
        // skipped, so that those after them are signed.
        let mut skip = 0;
        for _ in 0..MOST_DUE_BATCHES {
            let mut sql = Sql::new(&format!(
                "SELECT a.serial AS a_serial, c.not_after, {DUE_COLUMNS} FROM ocsp_answers a \
                 LEFT JOIN certificates c ON c.serial = a.serial WHERE a.next_update < "
            ));
            sql.bind(now + REFRESH_AHEAD)
                .push(&format!(" ORDER BY a.next_update, a.serial LIMIT {BATCH} OFFSET {skip}"));
            let rows = self.db.query_all_raw(sql.statement(backend)).await?;
            let full = rows.len() == BATCH;
            let (mut gone, mut due) = (Vec::new(), Vec::new());
            for r in &rows {
                let not_after: Option<OffsetDateTime> = r.try_get("", "not_after")?;
                let status: Option<CertificateStatus> = r.try_get("", "status")?;
                if not_after.is_none_or(|t| t <= now) || status.is_none_or(|s| s == CertificateStatus::Expired) {
                    gone.push(r.try_get::<String>("", "a_serial")?);
                } else {
                    due.push(Due::of(r)?);
                }
            }
            let wanted = due.len();
            if !gone.is_empty() {
                pass.deleted += ocsp_answer::Entity::delete_many()
                    .filter(ocsp_answer::Column::Serial.is_in(gone))
                    .exec(&self.writer)
                    .await?
                    .rows_affected as usize;
            }
            let signed = self.produce(due, false).await?;
            pass.signed += signed;
            skip += wanted - signed;
            if !full || signed == 0 {
                // The last batch, or none signed (no signer now): the next pass tries again.
                break;
            }
        }
        Ok(pass)
    }

    /// One pass (see the module's doc): `since` is when the previous pass began (`None`: the
    /// first), `sweep` whether every certificate is looked at.
    pub async fn preproduce(
        &self,
        now: OffsetDateTime,
        since: Option<OffsetDateTime>,
        sweep: bool,
    ) -> Result<Pass, DbErr> {
        // Several instances on PostgreSQL: one pass at a time (the others skip theirs), held by a
        // transaction-scoped advisory lock on a connection of its own, rolled back at the end.
        let _turn = match self.writer.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                let txn = self.writer.begin().await?;
                let row = txn
                    .query_one_raw(sea_orm::Statement::from_string(
                        sea_orm::DbBackend::Postgres,
                        format!("SELECT pg_try_advisory_xact_lock({PASS_LOCK}) AS got"),
                    ))
                    .await?;
                if !row.map(|r| r.try_get::<bool>("", "got")).transpose()?.unwrap_or(false) {
                    return Ok(Pass::default());
                }
                Some(txn)
            }
            _ => None,
        };
        let mut pass = self.refresh_due(now).await?;
        if let Some(since) = since {
            let from = since - RECENT_SLACK;
            pass.signed += self
                .fill(
                    Sql::with(
                        "c.serial IN (SELECT serial FROM certificates WHERE created_at >= ? \
                         UNION SELECT serial FROM certificates WHERE revoked_at >= ?)",
                        [from.into(), from.into()],
                    ),
                    now,
                    false,
                )
                .await?;
        }
        if sweep || since.is_none() {
            // A sweep may sign a great many at once (a new deployment's million): spread.
            pass.signed += self.fill(Sql::new("1 = 1"), now, true).await?;
        }
        Ok(pass)
    }

    /// Pre-produces answers every `interval`, for good (a failed pass is logged and tried again).
    pub async fn preproduce_forever(self, interval: std::time::Duration) {
        let (mut since, mut last_sweep): (Option<OffsetDateTime>, Option<OffsetDateTime>) = (None, None);
        loop {
            let now = OffsetDateTime::now_utc();
            let sweep = last_sweep.is_none_or(|t| now >= t + SWEEP_EVERY);
            let started = std::time::Instant::now();
            match self.preproduce(now, since, sweep).await {
                Ok(pass) => {
                    if pass.signed + pass.deleted > 0 {
                        tracing::debug!(
                            signed = pass.signed,
                            deleted = pass.deleted,
                            secs = started.elapsed().as_secs_f64(),
                            sweep,
                            "OCSP answers pre-produced"
                        );
                    }
                    crate::metrics::metrics().ocsp_preproduced(pass.signed);
                    since = Some(now);
                    if sweep {
                        last_sweep = Some(now);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "OCSP: a pre-production pass failed"),
            }
            tokio::time::sleep(interval).await;
        }
    }
}
