//! Revocation (R8) and the CRL. Revoking writes the new status, the audit entry, ends the user's
//! sessions and signs a new CRL, all in one transaction. `GET /api/crl` serves the newest CRL and
//! signs a fresh one when it is within a day of its nextUpdate.
//!
//! What a CRL lists (RFC 5280 §3.3: an entry may leave once it has appeared on one CRL issued
//! beyond the certificate's validity): every revoked certificate that had not expired when the
//! previous CRL was issued. So a revoked certificate is listed up to and including the first CRL
//! issued after it expired, and the list follows the unexpired revoked certificates. Of the
//! signed CRLs, the newest [`CRL_HISTORY`] are kept.

use common::api::{CertificateStatus, RevocationReason, Role};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait, sea_query::Expr,
};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::CertificateError;
use crate::{
    audit::{self, Action},
    auth::{accounts::Actor, sessions},
    db::entities::{certificate, crl},
    pki::{self, CertificateAuthority},
};

/// How many signed CRLs are kept (the newest; older ones are deleted as a new one is stored).
pub const CRL_HISTORY: i64 = 10;

/// Signs a new CRL listing the revoked certificates the module's policy keeps, stores it with
/// the next number, and deletes the CRLs beyond [`CRL_HISTORY`].
pub async fn regenerate<C: ConnectionTrait>(
    db: &C,
    ca: &CertificateAuthority,
    now: OffsetDateTime,
) -> Result<crl::Model, CertificateError> {
    let last = crl::Entity::find().order_by_desc(crl::Column::Number).one(db).await?;
    let mut revoked = certificate::Entity::find().filter(certificate::Column::Status.eq(CertificateStatus::Revoked));
    if let Some(previous) = &last {
        // Listed while unexpired when the previous CRL was issued (the first CRL lists all).
        revoked = revoked.filter(certificate::Column::NotAfter.gte(previous.this_update));
    }
    let revoked = revoked.all(db).await?;
    let number = last.map_or(1, |c| c.number + 1);
    let entries: Vec<pki::crl::Revoked<'_>> = revoked
        .iter()
        .map(|c| pki::crl::Revoked {
            serial: &c.serial,
            revoked_at: c.revoked_at.unwrap_or(now),
            reason: c.revocation_reason.as_deref().and_then(RevocationReason::parse),
        })
        .collect();
    let der = pki::crl::sign(ca, &entries, number, now)?;
    let row = crl::ActiveModel {
        number: Set(number),
        this_update: Set(now),
        next_update: Set(now + pki::crl::CRL_VALIDITY),
        der: Set(der),
    }
    .insert(db)
    .await?;
    crl::Entity::delete_many().filter(crl::Column::Number.lte(number - CRL_HISTORY)).exec(db).await?;
    Ok(row)
}

/// The current CRL (DER), signing a new one if none exists or the newest expires within a day.
pub async fn current(
    db: &DatabaseConnection,
    ca: &CertificateAuthority,
    now: OffsetDateTime,
) -> Result<Vec<u8>, CertificateError> {
    if let Some(c) = crl::Entity::find().order_by_desc(crl::Column::Number).one(db).await?
        && c.next_update > now + Duration::days(1)
    {
        return Ok(c.der);
    }
    let txn = db.begin().await?;
    match regenerate(&txn, ca, now).await {
        Ok(row) => {
            txn.commit().await?;
            Ok(row.der)
        }
        Err(e) => {
            // Another request signed one meanwhile: serve that.
            txn.rollback().await.ok();
            crl::Entity::find().order_by_desc(crl::Column::Number).one(db).await?.map(|c| c.der).ok_or(e)
        }
    }
}

/// Revokes the active certificate `serial`. Only bank staff and the CLI may.
pub async fn revoke(
    db: &DatabaseConnection,
    ca: &CertificateAuthority,
    actor: &Actor,
    serial: &str,
    reason: RevocationReason,
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
    let ended = sessions::end_all_of_user(&txn, cert.user_pk).await?;
    let actor_name = actor.name();
    audit::record(
        &txn,
        audit::Entry {
            action: Action::CertificateRevoked,
            actor: Some(&actor_name),
            subject_user: Some(&cert.subject_cn),
            org_id: cert.org_id,
            detail: json!({"serial": serial, "reason": reason.as_str(), "sessions_ended": ended}),
        },
        now,
    )
    .await?;
    regenerate(&txn, ca, now).await?;
    txn.commit().await?;
    certificate::Entity::find_by_id(cert.id).one(db).await?.ok_or(CertificateError::NotFound)
}
