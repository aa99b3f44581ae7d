//! The OCSP responder (RFC 6960, RFC 5019 profile): each answer reads the certificate's row, so a
//! revocation is in the very next answer, and is signed by the delegated responder of this
//! process ([`crate::pki::ocsp::Signer`]), which is replaced when due.

use std::sync::{Arc, RwLock};

use common::api::{CertificateStatus, RevocationReason};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use time::OffsetDateTime;
use tokio::sync::Mutex;

use crate::{
    db::entities::certificate,
    pki::{
        CertificateAuthority,
        ocsp::{self, IssuerIds, Refusal, Signer, Status},
    },
};

/// What the responder answers.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The DER OCSPResponse.
    pub der: Vec<u8>,
    /// For a signed answer: its thisUpdate and nextUpdate.
    pub validity: Option<(OffsetDateTime, OffsetDateTime)>,
    /// Whether a cache may keep it (signed, and without a nonce).
    pub cacheable: bool,
}

impl Answer {
    fn refused(r: Refusal) -> Self {
        Self { der: r.response(), validity: None, cacheable: false }
    }
}

/// The responder of one process.
#[derive(Debug, Clone)]
pub struct OcspResponder {
    db: DatabaseConnection,
    ca: Arc<CertificateAuthority>,
    ids: IssuerIds,
    signer: Arc<RwLock<Arc<Signer>>>,
    renewing: Arc<Mutex<()>>,
}

impl OcspResponder {
    /// A responder with a fresh delegated signer.
    pub fn new(db: DatabaseConnection, ca: Arc<CertificateAuthority>, now: OffsetDateTime) -> anyhow::Result<Self> {
        let ids = IssuerIds::of(&ca)?;
        let signer = Signer::issue(&ca, now)?;
        tracing::info!(serial = %signer.serial, not_after = %signer.not_after, "issued the OCSP responder certificate");
        Ok(Self { db, ca, ids, signer: Arc::new(RwLock::new(Arc::new(signer))), renewing: Arc::default() })
    }

    /// The current signer, replaced first when it is due.
    async fn signer(&self, now: OffsetDateTime) -> anyhow::Result<Arc<Signer>> {
        let current = self.signer.read().map_err(|_| anyhow::anyhow!("OCSP signer lock poisoned"))?.clone();
        if !current.due(now) {
            return Ok(current);
        }
        let _renewing = self.renewing.lock().await;
        let current = self.signer.read().map_err(|_| anyhow::anyhow!("OCSP signer lock poisoned"))?.clone();
        if !current.due(now) {
            return Ok(current);
        }
        let next = Arc::new(Signer::issue(&self.ca, now)?);
        tracing::info!(serial = %next.serial, not_after = %next.not_after, "renewed the OCSP responder certificate");
        *self.signer.write().map_err(|_| anyhow::anyhow!("OCSP signer lock poisoned"))? = next.clone();
        Ok(next)
    }

    /// The answer to the DER request `der`. Never fails: a bad request is `malformedRequest`, a
    /// database outage `tryLater`, a failed signature `internalError`... as OCSP says them.
    pub async fn answer(&self, der: &[u8], now: OffsetDateTime) -> Answer {
        let request = match ocsp::parse(der, &self.ids) {
            Ok(r) => r,
            Err(refusal) => return Answer::refused(refusal),
        };
        let serials: Vec<&str> = request.asked.iter().filter_map(|a| a.serial.as_deref()).collect();
        let rows = match certificate::Entity::find()
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
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "OCSP: could not read certificate status");
                return Answer::refused(Refusal::TryLater);
            }
        };
        let statuses: Vec<Status> = request
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
            .collect();
        let signed = match self.signer(now).await {
            Ok(signer) => ocsp::respond(&signer, &request, &statuses, now),
            Err(e) => Err(e),
        };
        match signed {
            Ok(der) => {
                Answer { der, validity: Some((now, now + ocsp::OCSP_VALIDITY)), cacheable: !request.has_nonce() }
            }
            Err(e) => {
                tracing::error!(error = %e, "OCSP: could not sign the answer");
                Answer { der: internal_error(), validity: None, cacheable: false }
            }
        }
    }
}

fn internal_error() -> Vec<u8> {
    use der::Encode;
    x509_ocsp::OcspResponse::internal_error().to_der().unwrap_or_default()
}
