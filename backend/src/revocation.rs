//! Revocation (R8) and the CRL. Revoking writes the new status, the audit entry, ends the user's
//! sessions and signs a new CRL, all in one transaction. `GET /api/crl` serves the newest CRL and
//! signs a fresh one when it is within a day of its nextUpdate.

use anyhow::Context;
use common::api::RevocationReason;
use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevokedCertParams, SerialNumber};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait, sea_query::Expr,
};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::{
    audit::{self, Action},
    auth::accounts::Actor,
    db::entities::{certificate, crl},
    error::ApiError,
    pki::CertificateAuthority,
    sessions,
};

/// How long a CRL is valid.
pub const CRL_VALIDITY: Duration = Duration::days(7);

fn rcgen_reason(r: RevocationReason) -> rcgen::RevocationReason {
    match r {
        RevocationReason::Unspecified => rcgen::RevocationReason::Unspecified,
        RevocationReason::KeyCompromise => rcgen::RevocationReason::KeyCompromise,
        RevocationReason::AffiliationChanged => rcgen::RevocationReason::AffiliationChanged,
        RevocationReason::Superseded => rcgen::RevocationReason::Superseded,
        RevocationReason::CessationOfOperation => rcgen::RevocationReason::CessationOfOperation,
        RevocationReason::PrivilegeWithdrawn => rcgen::RevocationReason::PrivilegeWithdrawn,
    }
}

/// Signs a new CRL listing every revoked certificate and stores it with the next number.
pub async fn regenerate<C: ConnectionTrait>(
    db: &C,
    ca: &CertificateAuthority,
    now: OffsetDateTime,
) -> anyhow::Result<crl::Model> {
    let revoked = certificate::Entity::find().filter(certificate::Column::Status.eq("revoked")).all(db).await?;
    let last = crl::Entity::find().order_by_desc(crl::Column::Number).one(db).await?;
    let number = last.map_or(1, |c| c.number + 1);
    let mut revoked_certs = Vec::with_capacity(revoked.len());
    for c in &revoked {
        let serial = hex::decode(&c.serial).with_context(|| format!("stored serial {} is not hex", c.serial))?;
        revoked_certs.push(RevokedCertParams {
            serial_number: SerialNumber::from_slice(&serial),
            revocation_time: c.revoked_at.unwrap_or(now),
            reason_code: c.revocation_reason.as_deref().and_then(RevocationReason::parse).map(rcgen_reason),
            invalidity_date: None,
        });
    }
    let params = CertificateRevocationListParams {
        this_update: now,
        next_update: now + CRL_VALIDITY,
        crl_number: SerialNumber::from(u64::try_from(number).context("CRL number")?),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let signed = params.signed_by(ca.issuer()).context("Failed to sign the CRL")?;
    let row = crl::ActiveModel {
        number: Set(number),
        this_update: Set(now),
        next_update: Set(now + CRL_VALIDITY),
        der: Set(signed.der().to_vec()),
    }
    .insert(db)
    .await
    .context("Failed to store the CRL")?;
    Ok(row)
}

/// The current CRL (DER), signing a new one if none exists or the newest expires within a day.
pub async fn current(
    db: &DatabaseConnection,
    ca: &CertificateAuthority,
    now: OffsetDateTime,
) -> anyhow::Result<Vec<u8>> {
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
) -> Result<certificate::Model, ApiError> {
    if let Actor::User(u) = actor
        && crate::auth::role_of(u) != crate::auth::Role::Staff
    {
        return Err(ApiError::Forbidden);
    }
    // Serials are hex (at most 20 octets, RFC 5280); anything else names no certificate.
    if serial.is_empty() || serial.len() > 40 || !serial.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ApiError::NotFound);
    }
    let serial = serial.to_ascii_lowercase();
    let cert = certificate::Entity::find()
        .filter(certificate::Column::Serial.eq(&serial))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let txn = db.begin().await?;
    let updated = certificate::Entity::update_many()
        .col_expr(certificate::Column::Status, Expr::value("revoked"))
        .col_expr(certificate::Column::RevokedAt, Expr::value(Some(now)))
        .col_expr(certificate::Column::RevocationReason, Expr::value(Some(reason.as_str().to_owned())))
        .filter(certificate::Column::Serial.eq(&serial))
        .filter(certificate::Column::Status.eq("active"))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        txn.rollback().await?;
        return Err(ApiError::Conflict("この電子証明書は既に失効しています。".to_owned()));
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
    certificate::Entity::find_by_id(cert.id).one(db).await?.ok_or(ApiError::NotFound)
}
