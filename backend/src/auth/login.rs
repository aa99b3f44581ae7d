//! Login (R9): a valid client certificate of this CA presented on the connection, issued to the
//! user who logs in, AND that user's password under R2. Success opens a session bound to the
//! certificate, with its audit entry, in one transaction.

use common::{Field, Password, UserId};
use sea_orm::TransactionTrait;
use serde_json::json;
use time::OffsetDateTime;

use super::{AuthError, Authenticator, LoginError, Purpose, sessions};
use crate::{
    audit::{self, Action},
    db::entities::{certificate, user},
    domain::session::SessionPolicy,
    read::presented::classify,
};

/// A successful login.
#[derive(Debug)]
pub struct LoggedIn {
    /// The cookie value of the new session.
    pub session_id: String,
    pub user: user::Model,
    pub certificate: certificate::Model,
}

/// Logs `user_id` in with `password` and the certificate `leaf` presented on the connection.
/// The certificate is judged first, so each of its cases gets its own answer before any password
/// work; a certificate of another user is refused (and audited) without verifying the password.
pub async fn login(
    auth: &Authenticator,
    policy: &SessionPolicy,
    leaf: Option<&[u8]>,
    (user_id, password): (&str, &str),
    now: OffsetDateTime,
) -> Result<LoggedIn, LoginError> {
    let cert = classify(&auth.db, leaf, now).await?.valid().map_err(LoginError::Certificate)?;
    let user_id = UserId::parse(user_id)?;
    let password = Password::parse(Field::Password, password)?;
    if cert.subject_cn != user_id.as_str() {
        audit::record(
            &auth.db,
            audit::Entry {
                action: Action::AuthFailure,
                actor: None,
                subject_user: Some(user_id.as_str()),
                org_id: None,
                detail: json!({"purpose": Purpose::Login.as_str(), "reason": "certificate_mismatch", "certificate_of": cert.subject_cn}),
            },
            now,
        )
        .await?;
        crate::metrics::metrics().authentication(Purpose::Login.as_str(), crate::metrics::AuthOutcome::Failure);
        return Err(LoginError::CertificateMismatch);
    }
    let user = auth.authenticate(&user_id, &password, Purpose::Login, now).await?;
    if user.id != cert.user_pk {
        return Err(LoginError::CertificateMismatch);
    }
    let txn = auth.db.begin().await?;
    // Only while the password just verified is still the user's and the user is not retired,
    // under the row's lock: a reset or a retirement committed meanwhile (each ends the user's
    // sessions after taking the same lock) leaves no session behind it.
    if !sessions::lock_unchanged_user(&txn, &user).await? {
        txn.rollback().await?;
        return Err(AuthError::InvalidCredentials.into());
    }
    let session_id = sessions::create(&txn, policy, user.id, &cert.serial, now).await?;
    audit::record(
        &txn,
        audit::Entry {
            action: Action::Login,
            actor: None,
            subject_user: Some(&user.user_id),
            org_id: user.org_id,
            detail: json!({"serial": cert.serial}),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(LoggedIn { session_id, user, certificate: cert })
}
