//! The OCSP responder (RFC 6960, RFC 9919 profile). A revocation is in the very next answer,
//! whoever made it (this process, another instance, `cjs admin revoke`), and yet a busy responder
//! neither reads each certificate's row nor signs for each request:
//!
//! - **The revocation counter as a watermark.** Every revocation increments `revocation_counter`
//!   in its own transaction. An answer kept in memory is served after a read of the counter that
//!   *started after the request came in* ([`Watermark`]), so every revocation committed before the
//!   request is counted in it. Requests that arrive while one such read is running share the next one: one read serves
//!   a burst of requests, whatever their number.
//! - **Pre-produced answers** (RFC 9919 §3.2.4, [`preproduced`]): every unexpired certificate's
//!   answer is signed ahead and stored (`ocsp_answers`), refreshed [`preproduced::REFRESH_AHEAD`]
//!   before its nextUpdate, so that the first request for a certificate is one read and no
//!   signature. The read takes the certificate's row and its stored answer in one statement, and
//!   the answer is served only while the row still has the status it gives: a revocation by any
//!   path (another instance, `cjs admin revoke`, the previous release) is in the very next answer
//!   even before its answer is signed anew.
//! - **Signed answers kept and reused.** An answer to a request without a nonce is kept in memory
//!   (keyed by the SHA-256 of the CertIDs it answers) with the statuses it gave and the counter
//!   value read with those statuses. While the counter has not moved since, no certificate has
//!   been revoked since, so the same signed answer is true and is served again (a cached `good`
//!   cannot have become `revoked`: revoking is the one way a status changes, and it moves the
//!   counter). When the counter has moved, the rows are read again; unchanged statuses keep the
//!   signature, changed ones are signed anew. An answer signed here is reused for [`ANSWER_REUSE`],
//!   a pre-produced one until it is due for its refresh. At [`KEPT_ANSWERS`], the answers past
//!   their reuse go first.
//! - **Unknown serials are refused unsigned** (`unauthorized`, RFC 6960 §2.3: the responder cannot
//!   answer for them authoritatively), so a flood of made-up serials costs a read each, never a
//!   signature. A serial is on record from its issuance's commit, so nothing is kept for one.
//!
//! **Nonces are left out** unless `ocsp_honour_nonces` is set (RFC 9919 §3.1.1 lets a responder
//! answer without one): a request with a nonce gets the kept answer for its certificates, so a
//! flood of nonces to the plain-HTTP listener costs lookups, not signatures.
//!
//! Signatures are by the delegated responder of this process ([`crate::pki::ocsp::Signer`]),
//! replaced when due by one request while the others go on with the current one; a replacement
//! that fails (the CA's HSM away) is tried again at most every [`RENEWAL_RETRY`], and the current
//! responder certificate serves while it outlives the answers it signs (a day after it was due):
//! only then do answers become `tryLater`.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex as StdMutex, PoisonError, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use actix_web::web::Bytes;
use common::api::{CertificateStatus, RevocationReason};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use tokio::sync::Mutex;

pub mod preproduced;

use super::revocation;
use crate::{
    db::entities::ocsp_answer,
    pki::{
        CaSet, CertificateAuthority,
        ocsp::{self, IssuerIds, Refusal, Request, Signer, Status},
    },
    read::sql::Sql,
};

/// Age after which a kept answer is signed anew (well inside its [`ocsp::OCSP_VALIDITY`]).
pub const ANSWER_REUSE: Duration = Duration::minutes(5);
/// Most answers kept (each about 1 KB).
pub const KEPT_ANSWERS: usize = 20_000;
/// With answers pre-produced, most answers signed on requests' paths a second by default
/// (`ocsp_signing_per_second`; each about 30 µs
/// of CPU), beyond which a request that would need one is answered `tryLater` (an honoured nonce
/// is not counted). Relying parties' requests for a
/// certificate are answered from its pre-produced answer; what needs a signature is a certificate
/// issued or revoked in the last seconds, SHA-256 CertIDs, several certificates in one request,
/// and nonces when they are honoured. Requests made to differ cannot spend more than this.
pub const SIGNING_PER_SECOND: std::num::NonZeroU32 = std::num::NonZeroU32::new(500).unwrap();
/// How long a read of the revocation counter may take before the answer is `tryLater`.
pub const WATERMARK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// Least time between two attempts to replace a due responder certificate.
pub const RENEWAL_RETRY: Duration = Duration::minutes(1);

/// What the responder answers.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The DER OCSPResponse.
    pub der: Bytes,
    /// For a signed answer without a nonce (one a cache may keep): its thisUpdate, nextUpdate and
    /// an entity tag of its bytes.
    pub cacheable: Option<Cacheable>,
    /// The response status, as counted by `cjs_ocsp_answers_total`.
    pub outcome: &'static str,
}

/// The outcome label of a signed answer.
const SUCCESSFUL: &str = "successful";

/// What RFC 9919 §7.2's caching headers are made of.
#[derive(Debug, Clone)]
pub struct Cacheable {
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
    pub etag: Arc<str>,
}

impl Answer {
    fn refused(r: Refusal) -> Self {
        Self { der: Bytes::from(r.response()), cacheable: None, outcome: r.label() }
    }

    fn internal_error() -> Self {
        use der::Encode;
        Self {
            der: Bytes::from(x509_ocsp::OcspResponse::internal_error().to_der().unwrap_or_default()),
            cacheable: None,
            outcome: "internal_error",
        }
    }
}

/// The revocation counter, read by one query at a time, each answer waiting for a read that
/// started after it was asked for (see the module's doc).
#[derive(Debug)]
struct Watermark {
    db: DatabaseConnection,
    /// Reads started so far: the generation of the newest one.
    started: AtomicU64,
    /// The generation and result of the newest finished read (`None`: the read failed). Held
    /// while reading, so that those waiting take turns and the next one reads.
    last: Mutex<(u64, Option<i64>)>,
}

impl Watermark {
    fn new(db: DatabaseConnection) -> Self {
        Self { db, started: AtomicU64::new(0), last: Mutex::new((0, None)) }
    }

    /// The counter as a read that started after this call began found it (`None`: unreadable).
    async fn current(&self) -> Option<i64> {
        // Any read of a later generation starts after this line.
        let needed = self.started.load(Ordering::SeqCst) + 1;
        let mut last = self.last.lock().await;
        if last.0 >= needed {
            return last.1;
        }
        let generation = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        let read = tokio::time::timeout(WATERMARK_TIMEOUT, revocation::committed_revocations(&self.db)).await;
        let value = match read {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "OCSP: could not read the revocation counter");
                None
            }
            Err(_) => {
                tracing::warn!("OCSP: the revocation counter did not come back in time");
                None
            }
        };
        // Dropped before this (the request went away): the lock is released and the next reads.
        *last = (generation, value);
        value
    }
}

/// A kept signed answer.
#[derive(Debug, Clone)]
struct Kept {
    der: Bytes,
    cacheable: Cacheable,
    statuses: Vec<Status>,
    /// The revocation counter read with `statuses`.
    revocations: i64,
    /// Until when it is served again (while the counter stands).
    reuse_until: OffsetDateTime,
}

impl Kept {
    fn answer(&self) -> Answer {
        Answer { der: self.der.clone(), cacheable: Some(self.cacheable.clone()), outcome: SUCCESSFUL }
    }
}

/// The responder of one process: one delegated signer per CA (several after a CA rollover),
/// the request telling which CA it asks about.
#[derive(Debug, Clone)]
pub struct OcspResponder {
    /// Where answers are read (SQLite: the reader connections).
    db: DatabaseConnection,
    /// Where pre-produced answers are written.
    writer: DatabaseConnection,
    cas: Arc<Vec<CaResponder>>,
    watermark: Arc<Watermark>,
    kept: Arc<StdMutex<HashMap<[u8; 32], Kept>>>,
    /// Whether a request's nonce is echoed (`ocsp_honour_nonces`); else it is left out and the
    /// request gets the answer kept for its certificates.
    honour_nonces: bool,
    /// Whether answers are pre-produced (`ocsp_preproduce`): then an answer signed on a
    /// request's path is stored as well.
    preproduce: bool,
    /// Signatures on requests' paths (answers neither kept nor pre-produced), at most
    /// [`SIGNING_PER_SECOND`]: beyond, `tryLater`.
    signing: Arc<governor::DefaultDirectRateLimiter>,
}

/// A certificate's row as an answer reads it, with its pre-produced answer if it has one.
#[derive(Debug, Clone)]
struct Row {
    serial: String,
    status: CertificateStatus,
    revoked_at: Option<OffsetDateTime>,
    reason: Option<String>,
    issuer_key_id: Option<String>,
    stored: Option<ocsp_answer::Model>,
}

impl Row {
    fn status(&self, now: OffsetDateTime) -> Status {
        status_of(self.status, self.revoked_at, self.reason.as_deref(), now)
    }
}

/// What OCSP says of a certificate row's status (its revocation time and reason as recorded).
fn status_of(
    status: CertificateStatus,
    revoked_at: Option<OffsetDateTime>,
    reason: Option<&str>,
    now: OffsetDateTime,
) -> Status {
    match status {
        CertificateStatus::Revoked => {
            Status::Revoked { at: revoked_at.unwrap_or(now), reason: reason.and_then(RevocationReason::parse) }
        }
        _ => Status::Good,
    }
}

/// What an answer reads, in one statement: the rows of the certificates asked about, their
/// pre-produced answers, and the revocation counter as the same snapshot saw it.
#[derive(Debug)]
struct Read {
    rows: Vec<Row>,
    revocations: i64,
}

/// What answers for one CA.
#[derive(Debug)]
struct CaResponder {
    ca: Arc<CertificateAuthority>,
    ids: IssuerIds,
    signer: RwLock<Arc<Signer>>,
    /// Held by the one request replacing the signer; when it last tried.
    renewing: Mutex<Option<OffsetDateTime>>,
    /// Whether rows without an issuer (made before CAs were told apart) are this CA's.
    owns_unattributed: bool,
}

impl CaResponder {
    /// Whether a certificate whose row names `issuer_key_id` is this CA's.
    fn issued(&self, issuer_key_id: Option<&str>) -> bool {
        match issuer_key_id {
            Some(id) => self.ca.key_id() == id,
            None => self.owns_unattributed,
        }
    }

    /// The signer of the answers: the current one, replaced first when it is due (by one
    /// request; the others go on with the current one). `None` when there is none that outlives
    /// an answer.
    async fn signer(&self, now: OffsetDateTime) -> Option<Arc<Signer>> {
        let current = self.signer.read().unwrap_or_else(PoisonError::into_inner).clone();
        if !current.due(now) {
            return Some(current);
        }
        let usable = (now + ocsp::OCSP_VALIDITY <= current.not_after).then(|| current.clone());
        let Ok(mut last_try) = self.renewing.try_lock() else {
            return usable; // another request is replacing it
        };
        if usable.is_some() && last_try.is_some_and(|t| now < t + RENEWAL_RETRY) {
            return usable;
        }
        *last_try = Some(now);
        let ca = self.ca.clone();
        // The CA's signature may be an HSM's: off the async worker.
        match tokio::task::spawn_blocking(move || Signer::issue(&ca, now)).await {
            Ok(Ok(next)) => {
                let next = Arc::new(next);
                tracing::info!(serial = %next.serial, not_after = %next.not_after, "renewed the OCSP responder certificate");
                *self.signer.write().unwrap_or_else(PoisonError::into_inner) = next.clone();
                Some(next)
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %format!("{e:#}"), still_valid_until = %current.not_after, "could not renew the OCSP responder certificate");
                usable
            }
            Err(e) => {
                tracing::warn!(error = %e, "OCSP responder renewal task failed");
                usable
            }
        }
    }
}

impl OcspResponder {
    /// A responder for `cas`, each with a fresh delegated signer, reading through `db` and
    /// storing pre-produced answers through `writer`.
    pub fn new(
        db: DatabaseConnection,
        writer: DatabaseConnection,
        cas: &CaSet,
        now: OffsetDateTime,
    ) -> anyhow::Result<Self> {
        let mut responders = Vec::new();
        for ca in cas.iter() {
            let signer = Signer::issue(ca, now)?;
            tracing::info!(ca = %ca.key_id(), serial = %signer.serial, not_after = %signer.not_after, "issued the OCSP responder certificate");
            responders.push(CaResponder {
                ca: ca.clone(),
                ids: IssuerIds::of(ca)?,
                signer: RwLock::new(Arc::new(signer)),
                renewing: Mutex::default(),
                owns_unattributed: cas.owns_unattributed(ca),
            });
        }
        Ok(Self {
            watermark: Arc::new(Watermark::new(db.clone())),
            db,
            writer,
            cas: Arc::new(responders),
            kept: Arc::default(),
            honour_nonces: false,
            preproduce: true,
            signing: Arc::new(governor::RateLimiter::direct(governor::Quota::per_second(SIGNING_PER_SECOND))),
        })
    }

    /// Whether nonces are echoed (each such answer then signed for its request alone).
    pub fn honouring_nonces(self, honour: bool) -> Self {
        Self { honour_nonces: honour, ..self }
    }

    /// Whether answers are pre-produced and answers signed on a request's path stored.
    pub fn preproducing(self, preproduce: bool) -> Self {
        Self { preproduce, ..self }
    }

    /// At most `per_second` answers signed on requests' paths a second (with pre-production on).
    pub fn signing_at_most(self, per_second: std::num::NonZeroU32) -> Self {
        Self { signing: Arc::new(governor::RateLimiter::direct(governor::Quota::per_second(per_second))), ..self }
    }

    /// The rows of the certificates `request` asks about, with their pre-produced answers and
    /// the revocation counter, in one statement (one snapshot).
    async fn read(&self, request: &Request) -> Result<Read, sea_orm::DbErr> {
        let serials: Vec<&str> = request.asked.iter().filter_map(|a| a.serial.as_deref()).collect();
        let mut sql = Sql::new(
            "SELECT c.serial, c.status, c.revoked_at, c.revocation_reason, c.issuer_key_id, a.status AS a_status, a.id_key, a.der, \
             a.this_update, a.next_update, (SELECT revocations FROM revocation_counter WHERE id = 1) AS revocations \
             FROM certificates c LEFT JOIN ocsp_answers a ON a.serial = c.serial WHERE c.serial IN (",
        );
        for (i, s) in serials.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(*s);
        }
        sql.push(")");
        let found = self.db.query_all_raw(sql.statement(self.db.get_database_backend())).await?;
        let mut rows = Vec::with_capacity(found.len());
        let mut revocations = None;
        for r in found {
            revocations = r.try_get::<Option<i64>>("", "revocations")?;
            let serial: String = r.try_get("", "serial")?;
            let stored = match r.try_get::<Option<Vec<u8>>>("", "der")? {
                Some(der) => Some(ocsp_answer::Model {
                    serial: serial.clone(),
                    status: r.try_get("", "a_status")?,
                    id_key: r.try_get("", "id_key")?,
                    der,
                    this_update: r.try_get("", "this_update")?,
                    next_update: r.try_get("", "next_update")?,
                }),
                None => None,
            };
            rows.push(Row {
                serial,
                status: r.try_get("", "status")?,
                revoked_at: r.try_get("", "revoked_at")?,
                reason: r.try_get("", "revocation_reason")?,
                issuer_key_id: r.try_get("", "issuer_key_id")?,
                stored,
            });
        }
        Ok(Read { rows, revocations: revocations.unwrap_or(0) })
    }

    fn kept(&self, key: &[u8; 32]) -> Option<Kept> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner).get(key).cloned()
    }

    fn keep(&self, key: [u8; 32], kept: Kept, now: OffsetDateTime) {
        let mut map = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= KEPT_ANSWERS && !map.contains_key(&key) {
            map.retain(|_, k| now < k.reuse_until);
            if map.len() >= KEPT_ANSWERS {
                // Full of answers still in use: the new one is served, not kept (a stream of
                // requests made to differ cannot push the others out).
                return;
            }
        }
        map.insert(key, kept);
    }

    /// The answer to the DER request `der`. Never fails: a bad request is `malformedRequest`, a
    /// database outage `tryLater`, a failed signature `internalError`, as OCSP says them.
    pub async fn answer(&self, der: &[u8], now: OffsetDateTime) -> Answer {
        let answer = self.answer_uncounted(der, now).await;
        crate::metrics::metrics().ocsp_answer(answer.outcome);
        answer
    }

    async fn answer_uncounted(&self, der: &[u8], now: OffsetDateTime) -> Answer {
        // The CA whose certificates it asks about (the first that recognises them).
        let mut found = None;
        for responder in self.cas.iter() {
            match ocsp::parse(der, &responder.ids) {
                Ok(r) => {
                    found = Some((responder, r));
                    break;
                }
                Err(Refusal::Unauthorized) => {}
                Err(refusal) => return Answer::refused(refusal),
            }
        }
        let Some((responder, request)) = found else {
            return Answer::refused(Refusal::Unauthorized);
        };
        // A nonce makes an answer for one request: a signature each, which anyone can ask for.
        let request = if self.honour_nonces { request } else { request.without_nonce() };
        let key = request.reuse_key();
        // An answer kept in memory holds while the revocation counter has not moved.
        let kept = key.and_then(|k| self.kept(&k)).filter(|k| now < k.reuse_until);
        if let Some(k) = &kept {
            let Some(revocations) = self.watermark.current().await else {
                return Answer::refused(Refusal::TryLater);
            };
            if k.revocations == revocations {
                return k.answer();
            }
        }
        // The rows, read after the request came: fresh by themselves.
        let read = match self.read(&request).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "OCSP: could not read certificate status");
                return Answer::refused(Refusal::TryLater);
            }
        };
        // Each certificate asked about, when this CA issued it.
        let rows: Vec<Option<&Row>> = request
            .asked
            .iter()
            .map(|a| {
                a.serial.as_deref().and_then(|s| {
                    read.rows.iter().find(|r| r.serial == s && responder.issued(r.issuer_key_id.as_deref()))
                })
            })
            .collect();
        if rows.iter().any(Option::is_none) {
            // A serial not on record (or of another CA): no signature for made-up serials.
            return Answer::refused(Refusal::Unauthorized);
        }
        let rows: Vec<&Row> = rows.into_iter().flatten().collect();
        let statuses: Vec<Status> = rows.iter().map(|r| r.status(now)).collect();
        // A pre-produced answer for exactly this request, its certificate still as it says.
        if let (Some(key), [row]) = (key, rows.as_slice())
            && let Some(stored) = &row.stored
            && stored.status == row.status
            && stored.id_key == key
            && now + preproduced::SERVED_MARGIN < stored.next_update
        {
            let kept = Kept {
                der: Bytes::from(stored.der.clone()),
                cacheable: cacheable(&stored.der, stored.this_update, stored.next_update),
                statuses,
                revocations: read.revocations,
                reuse_until: stored.next_update - preproduced::REFRESH_AHEAD,
            };
            let answer = kept.answer();
            if now < kept.reuse_until {
                self.keep(key, kept, now);
            }
            return answer;
        }
        if let (Some(key), Some(mut k)) = (key, kept)
            && k.statuses == statuses
        {
            // Revocations since, but none of these: the signed answer still holds.
            k.revocations = read.revocations;
            let answer = k.answer();
            self.keep(key, k, now);
            return answer;
        }
        // With answers pre-produced, a signature here is the exception (see SIGNING_PER_SECOND);
        // an honoured nonce is one the operator chose to sign for.
        if self.preproduce && key.is_some() && self.signing.check().is_err() {
            // More answers to sign on requests' paths than any relying party's traffic needs.
            return Answer::refused(Refusal::TryLater);
        }
        let Some(signer) = responder.signer(now).await else {
            return Answer::refused(Refusal::TryLater);
        };
        let signed = match ocsp::respond(&signer, &request, &statuses, now) {
            Ok(der) => Bytes::from(der),
            Err(e) => {
                tracing::error!(error = %e, "OCSP: could not sign the answer");
                return Answer::internal_error();
            }
        };
        let Some(key) = key else {
            return Answer { der: signed, cacheable: None, outcome: SUCCESSFUL };
        };
        let next_update = now + ocsp::OCSP_VALIDITY;
        if self.preproduce
            && let [row] = rows.as_slice()
            && responder.preproduced_key(&row.serial) == Some(key)
        {
            // What the pre-production would have stored: stored now, for the next request.
            self.store_later(ocsp_answer::Model {
                serial: row.serial.clone(),
                status: row.status,
                id_key: key.to_vec(),
                der: signed.to_vec(),
                this_update: now,
                next_update,
            });
        }
        let kept = Kept {
            cacheable: cacheable(&signed, now, next_update),
            der: signed,
            statuses,
            revocations: read.revocations,
            reuse_until: now + ANSWER_REUSE,
        };
        let answer = kept.answer();
        self.keep(key, kept, now);
        answer
    }
}

/// RFC 9919 §7.2's caching headers of the answer `der`: the hex of its SHA-256 as entity tag.
fn cacheable(der: &[u8], this_update: OffsetDateTime, next_update: OffsetDateTime) -> Cacheable {
    Cacheable { this_update, next_update, etag: Arc::from(format!("\"{}\"", hex::encode(Sha256::digest(der)))) }
}
