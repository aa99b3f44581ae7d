//! Why an authentication, a login or an account operation did not succeed. No status codes and
//! no user-facing text here: `crate::error` maps each case to the API's answer once.

use common::{FormatError, api::CertificateClass, api::Role};
use time::OffsetDateTime;

use super::password::HasherError;
use crate::db::entities::user;

/// Refusals of [`super::Authenticator::authenticate`].
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong password or unknown ID (deliberately indistinguishable).
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("locked until {until}")]
    Locked { until: OffsetDateTime },
    #[error("blocked")]
    Blocked { role: Role },
    /// The user is retired (利用停止): refused before any password work.
    #[error("retired")]
    Retired,
    /// The user's company is suspended: refused once the password was found right.
    #[error("company suspended")]
    Suspended,
    /// The password is right, but a certificate of the user was revoked for keyCompromise since
    /// it was set: refused until staff or the master reset it.
    #[error("password revoked (key compromise)")]
    PasswordRevoked,
    /// The password is right but is a one-time initial password (R11).
    #[error("password change required")]
    PasswordChangeRequired { user: Box<user::Model> },
    /// The queue of password verifications is full (a flood): try again shortly.
    #[error("password verification queue full")]
    Busy,
    #[error("database operation failed during authentication")]
    Database(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<HasherError> for AuthError {
    fn from(e: HasherError) -> Self {
        match e {
            HasherError::Busy => AuthError::Busy,
            HasherError::Failed(e) => AuthError::Internal(e),
        }
    }
}

/// Refusals of a login ([`super::login`]).
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The presented certificate is missing, foreign, revoked, expired or not yet valid.
    #[error("certificate: {0:?}")]
    Certificate(CertificateClass),
    /// A valid certificate, of another user than the one logging in.
    #[error("certificate of another user")]
    CertificateMismatch,
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("database operation failed during login")]
    Database(#[from] sea_orm::DbErr),
}

/// What is wrong with a company name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameProblem {
    /// Empty or longer than 100 characters.
    Length,
    /// A line break or another control character.
    ControlCharacter,
}

/// Refusals of the account operations ([`super::accounts`]).
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error("invalid e-mail address")]
    InvalidEmail,
    /// A retirement's reason is too long or holds a line break.
    #[error("invalid reason")]
    InvalidReason,
    #[error("invalid company name: {0:?}")]
    InvalidCompanyName(NameProblem),
    #[error("user ID {0} is taken")]
    UserIdTaken(String),
    #[error("company name {0} is taken")]
    CompanyNameTaken(String),
    /// The new password is the current one.
    #[error("the new password equals the current one")]
    SamePassword,
    /// A password a person chose is one an attacker tries first (`field`: the form field).
    #[error("guessable password ({why:?})")]
    Guessable { field: common::Field, why: super::guessable::Guessable },
    /// The user to act on does not exist, or is not visible to the actor.
    #[error("no such user")]
    NotFound,
    #[error("not allowed")]
    Forbidden,
    /// The user acted on is retired: nothing can be done to them any more.
    #[error("the user is retired")]
    AlreadyRetired,
    /// Retiring this staff member would leave the bank without an active one.
    #[error("the last active staff member")]
    LastStaffMember,
    /// A certificate limit below the users holding a valid certificate now, without `force`.
    #[error("limit below the {holders} holders")]
    LimitBelowHolders { holders: u32 },
    /// Suspending a suspended company, or resuming an active one.
    #[error("the company is already in that state")]
    CompanyAlreadyInState { suspended: bool },
    /// The new e-mail address is the one on record.
    #[error("the e-mail address is unchanged")]
    SameEmail,
    /// Only an active general user of a company can be made its master user.
    #[error("not a general user of a company")]
    NotGeneralUser,
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("database operation failed")]
    Database(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<HasherError> for AccountError {
    fn from(e: HasherError) -> Self {
        AccountError::Auth(e.into())
    }
}
