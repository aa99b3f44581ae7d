//! Revocation (R8) and the CRL. Revoking writes the new status, the audit entry, ends the user's
//! sessions and increments the revocation counter, all in one transaction, and signs nothing: its
//! cost does not depend on how many certificates are revoked. The CRL is signed afterwards, outside
//! any revocation: [`Revocations::crl`] serves the newest stored CRL while it covers the counter
//! and is more than a day from its nextUpdate, and otherwise signs a new one (one signer at a time
//! per process; concurrent askers wait for it and share it). [`Revocations::refresh_forever`]
//! signs right after each revocation of this process and on a timer, so an asker rarely waits.
//!
//! Why a counter, not timestamps: the counter is read before the revoked list, in the same
//! transaction. Every revocation that incremented it up to the value read had committed before the
//! read, so it is in the list even under READ COMMITTED; a revocation committing in between is in
//! the list too but not in the stored value, and only makes the CRL look stale once more.
//!
//! What a CRL lists (RFC 5280 §3.3: an entry may leave once it has appeared on one CRL issued
//! beyond the certificate's validity): every revoked certificate that had not expired when the
//! previous CRL was issued. So a revoked certificate is listed up to and including the first CRL
//! issued after it expired, and the list follows the unexpired revoked certificates. Of the
//! signed CRLs, the newest [`CRL_HISTORY`] are kept.

use std::sync::Arc;

use common::api::{CertificateStatus, RevocationReason, Role};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use tokio::sync::{Mutex, Notify};

use super::CertificateError;
use crate::{
    audit::{self, Action},
    auth::{accounts::Actor, sessions},
    db::entities::{certificate, crl, revocation_counter, user},
    mail::{outbox, templates},
    pki::{self, CaSet, CertificateAuthority},
};

/// How many signed CRLs are kept (the newest; older ones are deleted as a new one is stored).
pub const CRL_HISTORY: i64 = 10;

/// Signs a new CRL of `ca`, the only CA (or the oldest: rows of no CA are its), listing the
/// revoked certificates the module's policy keeps: see [`regenerate_for`].
pub async fn regenerate<C: ConnectionTrait>(
    db: &C,
    ca: &Arc<CertificateAuthority>,
    now: OffsetDateTime,
) -> Result<crl::Model, CertificateError> {
    regenerate_for(db, ca, true, now).await
}

/// Rows of `ca` (by its key id; with `unattributed`, also rows of no CA: those from before
/// several CAs could exist, which are the oldest CA's).
fn of_ca(column: impl ColumnTrait, ca: &CertificateAuthority, unattributed: bool) -> sea_orm::Condition {
    let mut c = sea_orm::Condition::any().add(column.eq(ca.key_id()));
    if unattributed {
        c = c.add(column.is_null());
    }
    c
}

/// Signs a new CRL of `ca` listing its revoked certificates the module's policy keeps, stores
/// it with the next number (numbers are shared by all CAs, so each CA's increase), and deletes
/// that CA's CRLs beyond [`CRL_HISTORY`].
pub async fn regenerate_for<C: ConnectionTrait>(
    db: &C,
    ca: &Arc<CertificateAuthority>,
    unattributed: bool,
    now: OffsetDateTime,
) -> Result<crl::Model, CertificateError> {
    // First the counter, then the list (see the module's doc).
    let revocations = committed_revocations(db).await?;
    let mine = of_ca(crl::Column::IssuerKeyId, ca, unattributed);
    let last = crl::Entity::find().filter(mine.clone()).order_by_desc(crl::Column::Number).one(db).await?;
    let mut revoked = certificate::Entity::find()
        .filter(certificate::Column::Status.eq(CertificateStatus::Revoked))
        .filter(of_ca(certificate::Column::IssuerKeyId, ca, unattributed));
    if let Some(previous) = &last {
        // Listed while unexpired when the previous CRL was issued (the first CRL lists all).
        revoked = revoked.filter(certificate::Column::NotAfter.gte(previous.this_update));
    }
    let revoked = revoked.all(db).await?;
    let highest: Option<i64> = crl::Entity::find()
        .select_only()
        .column(crl::Column::Number)
        .order_by_desc(crl::Column::Number)
        .into_tuple()
        .one(db)
        .await?;
    let number = highest.map_or(1, |n| n + 1);
    // The signature may be an HSM's: off the async worker.
    let signer = ca.clone();
    let der = tokio::task::spawn_blocking(move || {
        let entries: Vec<pki::crl::Revoked<'_>> = revoked
            .iter()
            .map(|c| pki::crl::Revoked {
                serial: &c.serial,
                revoked_at: c.revoked_at.unwrap_or(now),
                reason: c.revocation_reason.as_deref().and_then(RevocationReason::parse),
            })
            .collect();
        pki::crl::sign(&signer, &entries, number, now)
    })
    .await
    .map_err(anyhow::Error::new)??;
    let row = crl::ActiveModel {
        number: Set(number),
        this_update: Set(now),
        next_update: Set(now + pki::crl::CRL_VALIDITY),
        der: Set(der),
        revocations: Set(revocations),
        issuer_key_id: Set(Some(ca.key_id().to_owned())),
    }
    .insert(db)
    .await?;
    let oldest_kept: Option<i64> = crl::Entity::find()
        .select_only()
        .column(crl::Column::Number)
        .filter(mine.clone())
        .order_by_desc(crl::Column::Number)
        .offset(u64::try_from(CRL_HISTORY).unwrap_or(10))
        .into_tuple()
        .one(db)
        .await?;
    if let Some(n) = oldest_kept {
        crl::Entity::delete_many().filter(mine).filter(crl::Column::Number.lte(n)).exec(db).await?;
    }
    Ok(row)
}

/// Attributes the certificates and CRLs of no CA (from before several CAs could exist) to the
/// oldest CA, whose they are. At start.
pub async fn assign_unattributed<C: ConnectionTrait>(db: &C, oldest_key_id: &str) -> Result<(), sea_orm::DbErr> {
    certificate::Entity::update_many()
        .col_expr(certificate::Column::IssuerKeyId, Expr::value(Some(oldest_key_id.to_owned())))
        .filter(certificate::Column::IssuerKeyId.is_null())
        .exec(db)
        .await?;
    crl::Entity::update_many()
        .col_expr(crl::Column::IssuerKeyId, Expr::value(Some(oldest_key_id.to_owned())))
        .filter(crl::Column::IssuerKeyId.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// How many revocations were ever committed (the OCSP responder's watermark too).
pub(crate) async fn committed_revocations<C: ConnectionTrait>(db: &C) -> Result<i64, sea_orm::DbErr> {
    let value = revocation_counter::Entity::find_by_id(1)
        .select_only()
        .column(revocation_counter::Column::Revocations)
        .into_tuple::<i64>()
        .one(db)
        .await?;
    Ok(value.unwrap_or(0))
}

/// The DER of the newest stored CRL when it may still be served at `now` with `revocations`
/// committed: it lists them all and is more than a day from its nextUpdate. Its bytes are read
/// only then.
async fn newest_if_current<C: ConnectionTrait>(
    db: &C,
    ca: &CertificateAuthority,
    unattributed: bool,
    revocations: i64,
    now: OffsetDateTime,
) -> Result<Option<Vec<u8>>, CertificateError> {
    let newest: Option<(i64, i64, OffsetDateTime)> = crl::Entity::find()
        .filter(of_ca(crl::Column::IssuerKeyId, ca, unattributed))
        .select_only()
        .columns([crl::Column::Number, crl::Column::Revocations, crl::Column::NextUpdate])
        .order_by_desc(crl::Column::Number)
        .into_tuple()
        .one(db)
        .await?;
    let Some((number, covered, next_update)) = newest else { return Ok(None) };
    if covered < revocations || next_update <= now + Duration::days(1) {
        return Ok(None);
    }
    let der: Option<Vec<u8>> =
        crl::Entity::find_by_id(number).select_only().column(crl::Column::Der).into_tuple().one(db).await?;
    Ok(der)
}

/// Revocation and the CRLs of one process: see the module's doc. One CRL per CA (several after
/// a CA rollover, oldest first).
#[derive(Debug, Clone)]
pub struct Revocations {
    db: DatabaseConnection,
    cas: CaSet,
    /// Held while this process signs a CRL.
    signing: Arc<Mutex<()>>,
    /// Woken after each revocation of this process.
    revoked: Arc<Notify>,
    /// Base URL written into the owner's notice of a keyCompromise revocation.
    url: Arc<str>,
}

impl Revocations {
    pub fn new(db: DatabaseConnection, cas: CaSet, url: &str) -> Self {
        Self { db, cas, signing: Arc::default(), revoked: Arc::default(), url: url.into() }
    }

    /// Revokes the active certificate `serial` (see [`revoke`]) and wakes the CRL refresh.
    pub async fn revoke(
        &self,
        actor: &Actor,
        serial: &str,
        reason: RevocationReason,
        now: OffsetDateTime,
    ) -> Result<certificate::Model, CertificateError> {
        let revoked = revoke(&self.db, actor, serial, reason, &self.url, now).await?;
        self.revoked.notify_one();
        Ok(revoked)
    }

    /// Wakes the CRL refresh after revocations made outside [`Revocations::revoke`] (a
    /// retirement's).
    pub fn wake(&self) {
        self.revoked.notify_one();
    }

    /// The current CRL (DER) of the oldest CA (the one `/pki/crl` and `/api/crl` serve).
    pub async fn crl(&self, now: OffsetDateTime) -> Result<Vec<u8>, CertificateError> {
        self.crl_for(&self.cas.oldest().clone(), now).await
    }

    /// The current CRL of the CA whose key id is `key_id`.
    pub async fn crl_of(&self, key_id: &str, now: OffsetDateTime) -> Result<Vec<u8>, CertificateError> {
        let ca = self.cas.by_key_id(key_id).ok_or(CertificateError::NotFound)?.clone();
        self.crl_for(&ca, now).await
    }

    /// The current CRL of `ca`: the newest stored one while it lists every committed revocation
    /// and is more than a day from its nextUpdate, else a newly signed one.
    async fn crl_for(&self, ca: &Arc<CertificateAuthority>, now: OffsetDateTime) -> Result<Vec<u8>, CertificateError> {
        let unattributed = self.cas.owns_unattributed(ca);
        let revocations = committed_revocations(&self.db).await?;
        if let Some(der) = newest_if_current(&self.db, ca, unattributed, revocations, now).await? {
            return Ok(der);
        }
        let _signing = self.signing.lock().await;
        // Whoever held the lock may have signed what we need.
        if let Some(der) = newest_if_current(&self.db, ca, unattributed, revocations, now).await? {
            return Ok(der);
        }
        let txn = self.db.begin().await?;
        match regenerate_for(&txn, ca, unattributed, now).await {
            Ok(row) => {
                txn.commit().await?;
                Ok(row.der)
            }
            Err(e) => {
                txn.rollback().await.ok();
                // Another instance stored that number meanwhile: serve its CRL if it covers
                // every revocation. Anything else (the signer failed) is the caller's error.
                newest_if_current(&self.db, ca, unattributed, revocations, now).await?.ok_or(e)
            }
        }
    }

    /// Keeps the stored CRLs current: after each revocation of this process and every `interval`
    /// (for revocations of other processes and the nextUpdate). A failure is logged and retried
    /// at the next occasion; asking for the CRL signs it anyway.
    pub async fn refresh_forever(self, interval: std::time::Duration) {
        loop {
            tokio::select! {
                () = self.revoked.notified() => {}
                () = tokio::time::sleep(interval) => {}
            }
            for ca in self.cas.iter() {
                if let Err(e) = self.crl_for(ca, OffsetDateTime::now_utc()).await {
                    tracing::warn!(error = %e, ca = %ca.key_id(), "could not sign the CRL: the next request for it tries again");
                }
            }
        }
    }
}

/// Adds `n` revocations to the counter, in the transaction that revokes them. The OCSP answers
/// kept and the stored CRL rely on it: an error (the counter's row missing) must roll back the
/// revocation.
pub(super) async fn count_revocations<C: ConnectionTrait>(txn: &C, n: usize) -> Result<(), CertificateError> {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    let counted = revocation_counter::Entity::update_many()
        .col_expr(revocation_counter::Column::Revocations, Expr::col(revocation_counter::Column::Revocations).add(n))
        .filter(revocation_counter::Column::Id.eq(1))
        .exec(txn)
        .await?;
    if counted.rows_affected != 1 {
        return Err(anyhow::anyhow!("the revocation_counter row is missing: restore it (migration 000006)").into());
    }
    Ok(())
}

/// Revokes the active certificate `serial`. Only bank staff and the CLI may. The CRL is signed
/// later (see the module's doc); the OCSP responder answers from the row at once. Every session
/// of the owner ends.
///
/// keyCompromise means the .p12, and so the password that protects it, is in someone else's
/// hands: in the same transaction the owner's password is revoked (`password_revoked_at`; the
/// right password is then refused until staff or the master reset it) and the owner is told so
/// by mail. Other reasons (a PC change: superseded) leave the password as it is (R8).
pub async fn revoke<C: crate::db::Db>(
    db: &C,
    actor: &Actor,
    serial: &str,
    reason: RevocationReason,
    url: &str,
    now: OffsetDateTime,
) -> Result<certificate::Model, CertificateError> {
    if let Actor::User(u) = actor
        && u.role != Role::Staff
    {
        return Err(CertificateError::Forbidden);
    }
    // Serials are hex (at most 20 octets, RFC 5280); anything else names no certificate.
    if serial.is_empty() || serial.len() > 40 || !serial.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(CertificateError::NotFound);
    }
    let serial = serial.to_ascii_lowercase();
    let cert = certificate::Entity::find()
        .filter(certificate::Column::Serial.eq(&serial))
        .one(db)
        .await?
        .ok_or(CertificateError::NotFound)?;
    let txn = db.begin().await?;
    let updated = certificate::Entity::update_many()
        .col_expr(certificate::Column::Status, Expr::value(CertificateStatus::Revoked))
        .col_expr(certificate::Column::RevokedAt, Expr::value(Some(now)))
        .col_expr(certificate::Column::RevocationReason, Expr::value(Some(reason.as_str().to_owned())))
        .filter(certificate::Column::Serial.eq(&serial))
        .filter(certificate::Column::Status.eq(CertificateStatus::Active))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        txn.rollback().await?;
        return Err(CertificateError::AlreadyRevoked);
    }
    super::certified::refresh(&txn, cert.user_pk).await?;
    let ended = sessions::end_all_of_user(&txn, cert.user_pk).await?;
    let password_revoked = reason == RevocationReason::KeyCompromise;
    if password_revoked {
        revoke_password(&txn, cert.user_pk, url, now).await?;
    }
    let actor_name = actor.name();
    audit::record(
        &txn,
        audit::Entry {
            action: Action::CertificateRevoked,
            actor: Some(&actor_name),
            subject_user: Some(&cert.subject_cn),
            org_id: cert.org_id,
            detail: json!({
                "serial": serial,
                "reason": reason.as_str(),
                "sessions_ended": ended,
                "password_revoked": password_revoked,
            }),
        },
        now,
    )
    .await?;
    if let Err(e) = count_revocations(&txn, 1).await {
        txn.rollback().await?;
        return Err(e);
    }
    txn.commit().await?;
    crate::metrics::metrics().revocation(reason.as_str());
    certificate::Entity::find_by_id(cert.id).one(db).await?.ok_or(CertificateError::NotFound)
}

/// The password of user `user_pk` revoked after a keyCompromise revocation (see [`revoke`]), and
/// the owner's notice queued, in `txn`.
async fn revoke_password<C: ConnectionTrait>(
    txn: &C,
    user_pk: i64,
    url: &str,
    now: OffsetDateTime,
) -> Result<(), CertificateError> {
    user::Entity::update_many()
        .col_expr(user::Column::PasswordRevokedAt, Expr::value(Some(now)))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(user_pk))
        .exec(txn)
        .await?;
    let u = user::Entity::find_by_id(user_pk).one(txn).await?.ok_or(CertificateError::NotFound)?;
    let facts = templates::ChangeFacts::of(&u, url, now, crate::request_context::client_address());
    outbox::enqueue(txn, templates::password_revoked(&facts, &u.email, u.role), now).await?;
    Ok(())
}
