//! The issuance service (R3, R4, R5, R7): authentication for issuance, then the issue itself.
//! The token's single use is claimed first (so parallel calls with one token cost one key and
//! one .p12); key, certificate and .p12 are made next; then the certificate row, its audit
//! entry and the owner's notice of the issue are committed in one transaction, and only then
//! is the file returned. The private key is never stored.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use anyhow::Context;
use common::{Field, Password, UserId, api::CertificateStatus};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set,
    TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use time::OffsetDateTime;

use super::{
    CertificateError,
    tokens::{Claims, IssuanceTokenKey},
};
use crate::{
    audit::{self, Action},
    auth::{Authenticator, Purpose},
    db::entities::{certificate, organization, used_token, user},
    domain::{
        certificate::CertificateFacts,
        eligibility::{Eligibility, eligibility, token_outlives_revocations, within_company_limit},
    },
    pki::{
        CertificateAuthority,
        issue::{IssuedCertificate, KeyType, issue_client_certificate},
        p12::{P12Settings, build_p12},
    },
};

/// Everything issuance needs. Cheap to clone.
#[derive(Debug, Clone)]
pub struct IssuanceService {
    pub auth: Authenticator,
    pub ca: Arc<CertificateAuthority>,
    pub tokens: IssuanceTokenKey,
    pub key_type: KeyType,
    pub p12: P12Settings,
    /// Key pairs generated (and .p12 files packed) since start.
    pub keys_generated: Arc<AtomicU64>,
}

/// A token granted by [`IssuanceService::authenticate`].
#[derive(Debug, Clone)]
pub struct Grant {
    pub token: String,
    pub expires_at: OffsetDateTime,
    pub renewal: bool,
}

/// The result of an issue: the .p12 and what the result screen shows.
pub struct Issued {
    pub p12: Vec<u8>,
    pub filename: String,
    pub serial: String,
    pub not_after: OffsetDateTime,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued").field("filename", &self.filename).field("serial", &self.serial).finish_non_exhaustive()
    }
}

/// The certificates of `user_pk` as eligibility sees them.
async fn held_certificates<C: ConnectionTrait>(db: &C, user_pk: i64) -> Result<Vec<CertificateFacts>, sea_orm::DbErr> {
    Ok(certificate::Entity::find()
        .filter(certificate::Column::UserPk.eq(user_pk))
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.facts())
        .collect())
}

/// When a certificate of the user was last revoked, if ever.
async fn latest_revocation<C: ConnectionTrait>(db: &C, user_pk: i64) -> Result<Option<OffsetDateTime>, sea_orm::DbErr> {
    let latest = certificate::Entity::find()
        .select_only()
        .column_as(Expr::col(certificate::Column::RevokedAt).max(), "latest")
        .filter(certificate::Column::UserPk.eq(user_pk))
        .into_tuple::<Option<OffsetDateTime>>()
        .one(db)
        .await?;
    Ok(latest.flatten())
}

/// Refuses `claims` when a certificate of its user was revoked since it was granted.
async fn check_token_outlives_revocations<C: ConnectionTrait>(
    db: &C,
    user_pk: i64,
    granted_at: i64,
) -> Result<(), CertificateError> {
    if token_outlives_revocations(granted_at, latest_revocation(db, user_pk).await?) {
        Ok(())
    } else {
        Err(CertificateError::InvalidToken)
    }
}

/// Refuses a new (non-renewal) issue when the company already has `certificate_limit` users
/// holding a valid certificate.
async fn check_company_limit<C: ConnectionTrait>(
    db: &C,
    u: &user::Model,
    renewal: bool,
    now: OffsetDateTime,
) -> Result<(), CertificateError> {
    let Some(org_id) = u.org_id else { return Ok(()) };
    if renewal {
        return Ok(());
    }
    let Some(org) = organization::Entity::find_by_id(org_id).one(db).await? else { return Ok(()) };
    let limit = u32::try_from(org.certificate_limit).unwrap_or(0);
    let holders = crate::read::users_with_certificates(db, org_id, now).await?;
    if within_company_limit(holders, limit, renewal) {
        Ok(())
    } else {
        Err(CertificateError::CompanyLimitReached { limit })
    }
}

fn check_eligible(held: &[CertificateFacts], now: OffsetDateTime) -> Result<bool, CertificateError> {
    match eligibility(held, now) {
        Eligibility::NewIssue => Ok(false),
        Eligibility::Renewal => Ok(true),
        Eligibility::Refused { renewable_from } => Err(CertificateError::Active { renewable_from }),
    }
}

/// Records the single use of the token `claims` (its own committed statement); a token already
/// used answers 401.
async fn claim_token(db: &DatabaseConnection, claims: &Claims, now: OffsetDateTime) -> Result<(), CertificateError> {
    let fresh = used_token::ActiveModel {
        jti: Set(claims.jti.clone()),
        used_at: Set(now),
        expires_at: Set(OffsetDateTime::from_unix_timestamp(claims.exp).unwrap_or(now)),
    }
    .insert(db)
    .await;
    match fresh {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => {
            Err(CertificateError::InvalidToken)
        }
        Err(e) => Err(e.into()),
    }
}

/// Queues the owner's notice of the issue (`issued:<serial>`) in the issuing transaction, so a
/// certificate is recorded if and only if its owner's notice is queued.
async fn notify_owner<C: ConnectionTrait>(
    txn: &C,
    u: &user::Model,
    serial: &str,
    not_after: OffsetDateTime,
    url: &str,
    now: OffsetDateTime,
) -> Result<(), sea_orm::DbErr> {
    use crate::mail::{outbox, templates};
    let facts = templates::ChangeFacts::of(u, url, now, crate::request_context::client_address());
    outbox::enqueue(txn, templates::certificate_issued(&facts, &u.email, serial, not_after), now).await?;
    Ok(())
}

/// `<userID><YYYYMMDDhhmmss in JST>.p12`
pub fn p12_filename(user_id: &str, now: OffsetDateTime) -> String {
    format!("{user_id}{}.p12", common::jst::format_compact(now))
}

impl IssuanceService {
    /// ④ ユーザー認証: R1, R2, R11, then R3. Grants a single-use token.
    pub async fn authenticate(
        &self,
        user_id: &str,
        password: &str,
        now: OffsetDateTime,
    ) -> Result<Grant, CertificateError> {
        let user_id = UserId::parse(user_id)?;
        let password = Password::parse(Field::Password, password)?;
        let u = self.auth.authenticate(&user_id, &password, Purpose::Issuance, now).await?;
        let renewal = check_eligible(&held_certificates(&self.auth.db, u.id).await?, now)?;
        check_company_limit(&self.auth.db, &u, renewal, now).await?;
        let (token, expires_at) = self.tokens.issue(&u.user_id, u.id, now)?;
        Ok(Grant { token, expires_at, renewal })
    }

    /// ⑤ 発行: checks the token and the password again, issues, records, packs the .p12.
    pub async fn issue(&self, token: &str, password: &str, now: OffsetDateTime) -> Result<Issued, CertificateError> {
        let (claims, u, password) = self.recheck(token, password, now).await?;
        let org_name = organization_name(&self.auth.db, &u).await?;
        // The single use is claimed (committed) before the expensive part: of parallel calls
        // with one token, one goes on to make a key and a .p12, the others get 401 here. If the
        // issue then fails, the token is spent and the user authenticates again (④).
        claim_token(&self.auth.db, &claims, now).await?;
        // Key, certificate and .p12 are all made before the certificate is committed: a failure
        // here leaves no recorded certificate behind that the user never received.
        let (issued, p12) = self.make(&u, org_name, &password, now).await?;
        let renewal = self.record(&u, &issued, claims.iat, now).await?;
        crate::metrics::metrics().certificate_issued(self.key_type.as_str(), renewal);
        let serial = issued.serial.clone();
        let not_after = issued.not_after;
        drop(issued); // the private key is zeroed here; only the encrypted .p12 leaves
        tracing::info!(user_id = %u.user_id, serial = %serial, "issued a client certificate");
        Ok(Issued { p12, filename: p12_filename(&u.user_id, now), serial, not_after })
    }

    /// The token (valid, not used yet), the password of its user again (R2 counts it), and R3.
    async fn recheck(
        &self,
        token: &str,
        password: &str,
        now: OffsetDateTime,
    ) -> Result<(Claims, user::Model, Password), CertificateError> {
        let claims = self.tokens.verify(token, now).ok_or(CertificateError::InvalidToken)?;
        let db: &DatabaseConnection = &self.auth.db;
        if used_token::Entity::find_by_id(claims.jti.clone()).one(db).await?.is_some() {
            return Err(CertificateError::InvalidToken);
        }
        let password = Password::parse(Field::Password, password)?;
        let user_id = UserId::parse(&claims.sub).map_err(|_| CertificateError::InvalidToken)?;
        let u = self.auth.authenticate(&user_id, &password, Purpose::Issuance, now).await?;
        if u.id != claims.uid {
            return Err(CertificateError::InvalidToken);
        }
        check_token_outlives_revocations(db, u.id, claims.iat).await?;
        check_eligible(&held_certificates(db, u.id).await?, now)?;
        Ok((claims, u, password))
    }

    /// The key pair, the certificate and the .p12 (encrypted with `password`), off the async
    /// workers.
    async fn make(
        &self,
        u: &user::Model,
        org_name: String,
        password: &Password,
        now: OffsetDateTime,
    ) -> Result<(IssuedCertificate, Vec<u8>), CertificateError> {
        let (ca, key_type, uid, settings) = (self.ca.clone(), self.key_type, u.user_id.clone(), self.p12);
        let secret = password.expose().to_owned();
        self.keys_generated.fetch_add(1, Ordering::Relaxed);
        let made = tokio::task::spawn_blocking(move || {
            let issued = issue_client_certificate(&ca, key_type, &uid, &org_name, now)?;
            let p12 = build_p12(&issued.key_pkcs8, &issued.cert_der, ca.cert_der(), &uid, &secret, settings)?;
            anyhow::Ok((issued, p12))
        })
        .await
        .context("issuing task failed")??;
        Ok(made)
    }

    /// Records `issued` in one transaction: the token against revocations since it was granted,
    /// R3 and the company limit checked again under the
    /// user's and the company's locks, the certificate row, the user's `certified_until`, its
    /// audit entry and the owner's notice. Whether it was a renewal (R5).
    async fn record(
        &self,
        u: &user::Model,
        issued: &IssuedCertificate,
        granted_at: i64,
        now: OffsetDateTime,
    ) -> Result<bool, CertificateError> {
        let txn = self.auth.db.begin().await?;
        lock_user_and_company(&txn, u).await?;
        // Again under the lock a revocation's refresh of the user's row also takes.
        check_token_outlives_revocations(&txn, u.id, granted_at).await?;
        let renewal = check_eligible(&held_certificates(&txn, u.id).await?, now)?;
        check_company_limit(&txn, u, renewal, now).await?;
        certificate::ActiveModel {
            serial: Set(issued.serial.clone()),
            user_pk: Set(u.id),
            org_id: Set(u.org_id),
            subject_cn: Set(u.user_id.clone()),
            not_before: Set(issued.not_before),
            not_after: Set(issued.not_after),
            fingerprint_sha256: Set(issued.fingerprint.clone()),
            key_type: Set(self.key_type.as_str().to_owned()),
            status: Set(CertificateStatus::Active),
            revoked_at: Set(None),
            revocation_reason: Set(None),
            created_at: Set(now),
            issuer_key_id: Set(Some(self.ca.key_id().to_owned())),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        super::certified::refresh(&txn, u.id).await?;
        let detail = json!({
            "serial": issued.serial,
            "fingerprint_sha256": issued.fingerprint,
            "not_after": issued.not_after.unix_timestamp(),
            "key_type": self.key_type.as_str(),
            "renewal": renewal,
        });
        let entry = audit::Entry {
            action: Action::CertificateIssued,
            actor: None,
            subject_user: Some(&u.user_id),
            org_id: u.org_id,
            detail,
        };
        audit::record(&txn, entry, now).await?;
        notify_owner(&txn, u, &issued.serial, issued.not_after, &self.auth.public_url, now).await?;
        txn.commit().await?;
        Ok(renewal)
    }
}

/// The company name written into the certificate (O): the user's company, or 労働金庫 for staff.
async fn organization_name(db: &DatabaseConnection, u: &user::Model) -> Result<String, CertificateError> {
    Ok(match u.org_id {
        Some(id) => organization::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|o| o.name)
            .context("user's organization is missing")?,
        None => "労働金庫".to_owned(),
    })
}

/// Serialises issuance per user (row lock on PostgreSQL, write lock on SQLite) and per company,
/// so that R3 and the certificate limit hold under concurrency. A user retired meanwhile is
/// refused here: retiring takes the same row lock before it revokes, so either it sees this
/// certificate and revokes it, or this sees it retired and records nothing. So is a user whose
/// company was suspended meanwhile.
async fn lock_user_and_company<C: ConnectionTrait>(txn: &C, u: &user::Model) -> Result<(), CertificateError> {
    let locked = user::Entity::update_many()
        .col_expr(user::Column::IssueSeq, Expr::col(user::Column::IssueSeq).add(1))
        .filter(user::Column::Id.eq(u.id))
        .filter(user::Column::RetiredAt.is_null())
        .exec(txn)
        .await?;
    if locked.rows_affected != 1 {
        return Err(crate::auth::AuthError::Retired.into());
    }
    if let Some(org_id) = u.org_id
        && !crate::auth::companies::lock_if_active(txn, org_id).await?
    {
        // Suspended since the authentication.
        return Err(crate::auth::AuthError::Suspended.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn filename_uses_japan_time() {
        assert_eq!(p12_filename("abc123", datetime!(2026-11-24 15:04:05 UTC)), "abc12320261125000405.p12");
    }
}
