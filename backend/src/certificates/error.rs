//! Why an issuance or a revocation did not happen. No status codes and no user-facing text here:
//! `crate::error` maps each case to the API's answer once.

use common::FormatError;
use time::OffsetDateTime;

use crate::auth::AuthError;

#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The issuance token is invalid, expired, already used or of another user.
    #[error("invalid token")]
    InvalidToken,
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// R3: the user holds a certificate that is not yet renewable.
    #[error("certificate active, renewable from {renewable_from}")]
    Active { renewable_from: OffsetDateTime },
    /// The company's users already hold as many valid certificates as its limit allows.
    #[error("the company's certificate limit of {limit} is reached")]
    CompanyLimitReached { limit: u32 },
    /// No such certificate (or a serial that cannot name one).
    #[error("no such certificate")]
    NotFound,
    #[error("the certificate is already revoked")]
    AlreadyRevoked,
    /// Only bank staff (and the CLI) revoke.
    #[error("not allowed")]
    Forbidden,
    #[error("database operation failed")]
    Database(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}
