//! Why an authentication did not succeed, and how each refusal reaches the API.

use super::{Role, password::HasherError};
use crate::db::entities::user;
use time::OffsetDateTime;

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
    /// The password is right but is a one-time initial password (R11).
    #[error("password change required")]
    PasswordChangeRequired { user: Box<user::Model> },
    /// The queue of password verifications is full (a flood): try again shortly.
    #[error("password verification queue full")]
    Busy,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for AuthError {
    fn from(e: sea_orm::DbErr) -> Self {
        AuthError::Internal(anyhow::Error::new(e).context("Database operation failed during authentication"))
    }
}

impl From<HasherError> for AuthError {
    fn from(e: HasherError) -> Self {
        match e {
            HasherError::Busy => AuthError::Busy,
            HasherError::Failed(e) => AuthError::Internal(e),
        }
    }
}

impl From<AuthError> for crate::error::ApiError {
    fn from(e: AuthError) -> Self {
        use crate::error::ApiError;
        match e {
            AuthError::InvalidCredentials => ApiError::InvalidCredentials,
            AuthError::Locked { until } => ApiError::Locked { until },
            AuthError::Blocked { role } => ApiError::Blocked { master_or_staff: role != Role::General },
            AuthError::PasswordChangeRequired { .. } => ApiError::PasswordChangeRequired,
            AuthError::Busy => ApiError::Busy,
            AuthError::Internal(e) => match e.downcast::<sea_orm::DbErr>() {
                Ok(db) => db.into(),
                Err(e) => e.into(),
            },
        }
    }
}
