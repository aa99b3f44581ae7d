//! The authentication service (R2, R11): verifies a user ID and password under the lockout
//! policy. The decision is the pure [`crate::domain::lockout::decide`]; the new state is stored with
//! a compare-and-swap on `users.version`, so concurrent attempts are counted one at a time, and
//! the audit entry and any lock/block mail are written in the same transaction.

use common::{Password, UserId};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use time::OffsetDateTime;

use super::{Role, password::Hasher};
use crate::{
    audit::{self, Action},
    db::entities::user,
    domain::lockout::{self, Decision, LockState, LockoutPolicy, Outcome, Precheck},
    mail::{outbox, templates},
};

/// Why an authentication is needed; recorded in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Issuance,
    PasswordChange,
    Login,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Issuance => "issuance",
            Purpose::PasswordChange => "password_change",
            Purpose::Login => "login",
        }
    }
}

/// Refusals of [`Authenticator::authenticate`].
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
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for AuthError {
    fn from(e: sea_orm::DbErr) -> Self {
        AuthError::Internal(anyhow::Error::new(e).context("Database operation failed during authentication"))
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
            AuthError::Internal(e) => match e.downcast::<sea_orm::DbErr>() {
                Ok(db) => db.into(),
                Err(e) => ApiError::Internal(e),
            },
        }
    }
}

/// The lock state stored in a user row.
pub fn lock_state(u: &user::Model) -> LockState {
    LockState {
        failures: u32::try_from(u.failures).unwrap_or(0),
        locked_until: u.locked_until,
        lock_count: u32::try_from(u.lock_count).unwrap_or(0),
        blocked_at: u.blocked_at,
    }
}

/// Role of a stored user; an unknown value is treated as general (least privilege).
pub fn role_of(u: &user::Model) -> Role {
    Role::parse(&u.role).unwrap_or(Role::General)
}

/// Verifies credentials under R2. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Authenticator {
    pub db: DatabaseConnection,
    pub policy: LockoutPolicy,
    pub hasher: Hasher,
    /// Base URL written into notices.
    pub public_url: String,
}

impl Authenticator {
    /// Authenticates `user_id` with `password` at `now`. On success returns the user row as it is
    /// after the attempt. A one-time initial password is refused with `PasswordChangeRequired`
    /// unless `purpose` is the password change itself.
    #[tracing::instrument(skip(self, password), fields(user_id = %user_id))]
    pub async fn authenticate(
        &self,
        user_id: &UserId,
        password: &Password,
        purpose: Purpose,
        now: OffsetDateTime,
    ) -> Result<user::Model, AuthError> {
        // The verified (hash, result) pair, reused when a concurrent change forces a retry.
        let mut verified: Option<(String, bool)> = None;
        loop {
            let found = user::Entity::find().filter(user::Column::UserId.eq(user_id.as_str())).one(&self.db).await?;
            let Some(u) = found else {
                self.hasher.verify(None, password.expose().to_owned()).await?;
                self.record_unknown(user_id, purpose, now).await?;
                return Err(AuthError::InvalidCredentials);
            };
            let state = lock_state(&u);
            let role = role_of(&u);
            match lockout::precheck(&state, now) {
                Precheck::Blocked => {
                    self.record(
                        Action::AuthRefusedBlocked,
                        u.org_id,
                        Some(&u.user_id),
                        json!({"purpose": purpose.as_str()}),
                        now,
                    )
                    .await?;
                    return Err(AuthError::Blocked { role });
                }
                Precheck::Locked { until } => {
                    self.record(
                        Action::AuthRefusedLocked,
                        u.org_id,
                        Some(&u.user_id),
                        json!({"purpose": purpose.as_str()}),
                        now,
                    )
                    .await?;
                    return Err(AuthError::Locked { until });
                }
                Precheck::Proceed => {}
            }
            let ok = match &verified {
                Some((hash, ok)) if *hash == u.password_hash => *ok,
                _ => {
                    let ok = self.hasher.verify(Some(u.password_hash.clone()), password.expose().to_owned()).await?;
                    verified = Some((u.password_hash.clone(), ok));
                    ok
                }
            };
            let decision = lockout::decide(&self.policy, &state, ok, now);
            if !self.apply(&u, role, decision, purpose, now).await? {
                continue; // someone else changed the row first: decide again on its new state
            }
            return match decision.outcome {
                Outcome::Success if u.must_change_password && purpose != Purpose::PasswordChange => {
                    Err(AuthError::PasswordChangeRequired { user: Box::new(u) })
                }
                Outcome::Success => Ok(u),
                Outcome::Failure { .. } => Err(AuthError::InvalidCredentials),
                Outcome::NowLocked { until } | Outcome::Locked { until } => Err(AuthError::Locked { until }),
                Outcome::NowBlocked | Outcome::Blocked => Err(AuthError::Blocked { role }),
            };
        }
    }

    /// Stores `decision` if the row is still at the version it was read at, together with its
    /// audit entry and mail. Returns false when the row changed meanwhile (nothing written).
    async fn apply(
        &self,
        u: &user::Model,
        role: Role,
        decision: Decision,
        purpose: Purpose,
        now: OffsetDateTime,
    ) -> Result<bool, AuthError> {
        let txn = self.db.begin().await?;
        if let Some(next) = decision.next {
            let updated = user::Entity::update_many()
                .col_expr(user::Column::Failures, Expr::value(next.failures as i32))
                .col_expr(user::Column::LockedUntil, Expr::value(next.locked_until))
                .col_expr(user::Column::LockCount, Expr::value(next.lock_count as i32))
                .col_expr(user::Column::BlockedAt, Expr::value(next.blocked_at))
                .col_expr(user::Column::Version, Expr::col(user::Column::Version).add(1))
                .col_expr(user::Column::UpdatedAt, Expr::value(now))
                .filter(user::Column::Id.eq(u.id))
                .filter(user::Column::Version.eq(u.version))
                .exec(&txn)
                .await?;
            if updated.rows_affected != 1 {
                txn.rollback().await?;
                return Ok(false);
            }
        }
        let p = purpose.as_str();
        let (action, detail) = match decision.outcome {
            Outcome::Success => (Action::AuthSuccess, json!({"purpose": p})),
            Outcome::Failure { failures } => (Action::AuthFailure, json!({"purpose": p, "failures": failures})),
            Outcome::NowLocked { until } => {
                let until_s = until.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
                (
                    Action::Locked,
                    json!({"purpose": p, "locked_until": until_s, "lock_count": decision.next.map(|n| n.lock_count)}),
                )
            }
            Outcome::NowBlocked => (Action::Blocked, json!({"purpose": p})),
            Outcome::Locked { .. } => (Action::AuthRefusedLocked, json!({"purpose": p})),
            Outcome::Blocked => (Action::AuthRefusedBlocked, json!({"purpose": p})),
        };
        audit::record(
            &txn,
            audit::Entry { action, actor: None, subject_user: Some(&u.user_id), org_id: u.org_id, detail },
            now,
        )
        .await?;
        match decision.outcome {
            Outcome::NowLocked { until } => {
                outbox::enqueue(&txn, templates::locked(&u.user_id, u.id, &u.email, until, &self.public_url), now)
                    .await?;
            }
            Outcome::NowBlocked => {
                crate::sessions::end_all_of_user(&txn, u.id).await?;
                let mail = templates::blocked(&u.user_id, u.id, &u.email, now, role != Role::General, &self.public_url);
                outbox::enqueue(&txn, mail, now).await?;
            }
            _ => {}
        }
        txn.commit().await?;
        Ok(true)
    }

    /// The audit entry of an unknown ID, written with the same statements a wrong password costs
    /// (a transaction with a guarded UPDATE of the user row — here matching none — and the audit
    /// insert), so response times do not tell unknown IDs from known ones.
    async fn record_unknown(&self, user_id: &UserId, purpose: Purpose, now: OffsetDateTime) -> Result<(), AuthError> {
        let txn = self.db.begin().await?;
        user::Entity::update_many()
            .col_expr(user::Column::Version, Expr::col(user::Column::Version).add(1))
            .col_expr(user::Column::UpdatedAt, Expr::value(now))
            .filter(user::Column::UserId.eq(user_id.as_str()))
            .filter(user::Column::Version.eq(-1))
            .exec(&txn)
            .await?;
        let detail = json!({"purpose": purpose.as_str(), "reason": "unknown_user"});
        audit::record(
            &txn,
            audit::Entry {
                action: Action::AuthFailure,
                actor: None,
                subject_user: Some(user_id.as_str()),
                org_id: None,
                detail,
            },
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    async fn record(
        &self,
        action: Action,
        org_id: Option<i64>,
        subject: Option<&str>,
        detail: serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        audit::record(&self.db, audit::Entry { action, actor: None, subject_user: subject, org_id, detail }, now)
            .await?;
        Ok(())
    }
}
