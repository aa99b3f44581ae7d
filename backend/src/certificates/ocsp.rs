//! The OCSP responder (RFC 6960, RFC 9919 profile). A revocation is in the very next answer,
//! whoever made it (this process, another instance, `cjs admin revoke`), and yet a busy responder
//! neither reads each certificate's row nor signs for each request:
//!
//! - **The revocation counter as a watermark.** Every revocation increments `revocation_counter`
//!   in its own transaction. Each answer waits for a read of the counter that *started after the
//!   request came in* ([`Watermark`]), so every revocation committed before the request is counted
//!   in it. Requests that arrive while one such read is running share the next one: one read serves
//!   a burst of requests, whatever their number.
//! - **Signed answers kept and reused.** An answer to a request without a nonce is kept (keyed by
//!   the SHA-256 of the CertIDs it answers) with the statuses it gave and the counter value read *before* those
//!   statuses. While the counter has not moved since, no certificate has been revoked since, so the
//!   same signed answer is true and is served again (a cached `good` cannot have become `revoked`:
//!   revoking is the one way a status changes, and it moves the counter). When the counter has
//!   moved, the rows are read again; unchanged statuses keep the signature, changed ones are signed
//!   anew. An answer is re-signed after [`ANSWER_REUSE`] (RFC 9919 §3.2.4 pre-produced responses),
//!   and when the responder certificate was replaced. Answers with an `unknown` status are not kept
//!   (the serial may be issued next), nor those to a nonce echoed or a signed request (answered for
//!   that request alone: they read the rows after the request came, which is fresh enough by itself).
//!   At [`KEPT_ANSWERS`], the answers older than [`ANSWER_REUSE`] go first.
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
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use tokio::sync::Mutex;

use super::revocation;
use crate::{
    db::entities::certificate,
    pki::{
        CaSet, CertificateAuthority,
        ocsp::{self, IssuerIds, Refusal, Request, Signer, Status},
    },
};

/// Age after which a kept answer is signed anew (well inside its [`ocsp::OCSP_VALIDITY`]).
pub const ANSWER_REUSE: Duration = Duration::minutes(5);
/// Most answers kept (each about 1 KB).
pub const KEPT_ANSWERS: usize = 20_000;
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
    /// The revocation counter read before `statuses` were.
    revocations: i64,
    /// Serial of the responder certificate that signed it.
    signer: String,
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
    db: DatabaseConnection,
    cas: Arc<Vec<CaResponder>>,
    watermark: Arc<Watermark>,
    kept: Arc<StdMutex<HashMap<[u8; 32], Kept>>>,
    /// Whether a request's nonce is echoed (`ocsp_honour_nonces`); else it is left out and the
    /// request gets the answer kept for its certificates.
    honour_nonces: bool,
}

/// What answers for one CA.
#[derive(Debug)]
struct CaResponder {
    ca: Arc<CertificateAuthority>,
    ids: IssuerIds,
    signer: RwLock<Arc<Signer>>,
    /// Held by the one request replacing the signer; when it last tried.
    renewing: Mutex<Option<OffsetDateTime>>,
}

impl CaResponder {
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
    /// A responder for `cas`, each with a fresh delegated signer, reading through `db`.
    pub fn new(db: DatabaseConnection, cas: &CaSet, now: OffsetDateTime) -> anyhow::Result<Self> {
        let mut responders = Vec::new();
        for ca in cas.iter() {
            let signer = Signer::issue(ca, now)?;
            tracing::info!(ca = %ca.key_id(), serial = %signer.serial, not_after = %signer.not_after, "issued the OCSP responder certificate");
            responders.push(CaResponder {
                ca: ca.clone(),
                ids: IssuerIds::of(ca)?,
                signer: RwLock::new(Arc::new(signer)),
                renewing: Mutex::default(),
            });
        }
        Ok(Self {
            watermark: Arc::new(Watermark::new(db.clone())),
            db,
            cas: Arc::new(responders),
            kept: Arc::default(),
            honour_nonces: false,
        })
    }

    /// Whether nonces are echoed (each such answer then signed for its request alone).
    pub fn honouring_nonces(self, honour: bool) -> Self {
        Self { honour_nonces: honour, ..self }
    }

    /// The statuses of the certificates `request` asks about, from their rows.
    async fn statuses(&self, request: &Request, now: OffsetDateTime) -> Result<Vec<Status>, sea_orm::DbErr> {
        let serials: Vec<&str> = request.asked.iter().filter_map(|a| a.serial.as_deref()).collect();
        let rows = certificate::Entity::find()
            .select_only()
            .columns([
                certificate::Column::Serial,
                certificate::Column::Status,
                certificate::Column::RevokedAt,
                certificate::Column::RevocationReason,
            ])
            .filter(certificate::Column::Serial.is_in(serials))
            .into_tuple::<(String, CertificateStatus, Option<OffsetDateTime>, Option<String>)>()
            .all(&self.db)
            .await?;
        Ok(request
            .asked
            .iter()
            .map(|a| {
                let row = a.serial.as_deref().and_then(|s| rows.iter().find(|r| r.0 == s));
                match row {
                    None => Status::Unknown,
                    Some((_, CertificateStatus::Revoked, at, reason)) => Status::Revoked {
                        at: at.unwrap_or(now),
                        reason: reason.as_deref().and_then(RevocationReason::parse),
                    },
                    Some(_) => Status::Good,
                }
            })
            .collect())
    }

    fn kept(&self, key: &[u8; 32]) -> Option<Kept> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner).get(key).cloned()
    }

    fn keep(&self, key: [u8; 32], kept: Kept, now: OffsetDateTime) {
        let mut map = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= KEPT_ANSWERS && !map.contains_key(&key) {
            map.retain(|_, k| now < k.cacheable.this_update + ANSWER_REUSE);
            if map.len() >= KEPT_ANSWERS {
                map.clear();
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
        let Some(signer) = responder.signer(now).await else {
            return Answer::refused(Refusal::TryLater);
        };
        let key = request.reuse_key();
        // Only a kept answer needs the watermark: the rows read below come after the request.
        let (kept, revocations) = match key {
            Some(key) => {
                let Some(revocations) = self.watermark.current().await else {
                    return Answer::refused(Refusal::TryLater);
                };
                let kept = self
                    .kept(&key)
                    .filter(|k| k.signer == signer.serial && now < k.cacheable.this_update + ANSWER_REUSE);
                if let Some(k) = &kept
                    && k.revocations == revocations
                {
                    return k.answer();
                }
                (kept, revocations)
            }
            None => (None, 0),
        };
        let statuses = match self.statuses(&request, now).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "OCSP: could not read certificate status");
                return Answer::refused(Refusal::TryLater);
            }
        };
        if let (Some(key), Some(mut k)) = (key, kept)
            && k.statuses == statuses
        {
            // Revocations since, but none of these: the signed answer still holds.
            k.revocations = revocations;
            let answer = k.answer();
            self.keep(key, k, now);
            return answer;
        }
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
        let cacheable = Cacheable {
            this_update: now,
            next_update: now + ocsp::OCSP_VALIDITY,
            // RFC 9919 §7.2: the hex of the answer's SHA-256.
            etag: Arc::from(format!("\"{}\"", hex::encode(Sha256::digest(&signed)))),
        };
        let kept = Kept { der: signed, cacheable, statuses, revocations, signer: signer.serial.clone() };
        let answer = kept.answer();
        if !kept.statuses.contains(&Status::Unknown) {
            self.keep(key, kept, now);
        }
        answer
    }
}
