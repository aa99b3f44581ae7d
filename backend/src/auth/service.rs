//! The authentication service (R2, R11): verifies a user ID and password under the lockout
//! policy. The decision is the pure [`crate::domain::lockout::decide`]; every outcome, success
//! included, is stored with a compare-and-swap on the row's `version`, so it is decided against
//! the state that is committed when it is stored: concurrent attempts are counted one at a time,
//! and a right password racing a burst of wrong ones cannot slip in after the lock. The audit
//! entry and any lock/block mail are written in the same transaction.
//!
//! Unknown IDs go through the same steps on a row of their own ([`super::unknown`]), so that
//! they lock like known ones. Attempts refused while an ID is locked or blocked are counted in its
//! row and written to the audit log once per lock period (the count closes the period's entry).

use common::{Password, UserId};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
    sea_query::{Alias, Expr, ExprTrait, Query},
};
use serde_json::json;
use time::OffsetDateTime;

use super::{
    Role,
    password::{Hasher, HasherError},
    unknown,
};
use crate::{
    audit::{self, Action},
    db::entities::{unknown_id_lockout, user},
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
    /// The password queue of this purpose: a login has presented a valid client certificate of
    /// this CA before its password is checked (`api::session::login`), so it does not wait behind
    /// a flood of attempts anyone can make.
    pub fn lane(self) -> super::password::Lane {
        match self {
            Purpose::Login => super::password::Lane::Certified,
            Purpose::Issuance | Purpose::PasswordChange => super::password::Lane::Open,
        }
    }

    pub fn as_str(self) -> &'static str {
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

/// A row holding a lock state: a user's, or an unknown ID's.
#[derive(Debug, Clone, Copy)]
pub(super) enum LockRow<'a> {
    User(i64),
    Unknown(&'a str),
}

impl LockRow<'_> {
    fn table(self) -> &'static str {
        match self {
            LockRow::User(_) => "users",
            LockRow::Unknown(_) => "unknown_id_lockouts",
        }
    }

    fn key(self) -> (&'static str, sea_orm::Value) {
        match self {
            LockRow::User(id) => ("id", id.into()),
            LockRow::Unknown(user_id) => ("user_id", user_id.into()),
        }
    }
}

/// Stores `next` in `row` if it is still at `version` and has counted `refused` refusals
/// (compare-and-swap), and closes the period of refused attempts. `bump: false` (a success on a
/// clean row, which changes nothing) only compares: it still cannot pass a change committed after
/// the row was read, but does not make concurrent successes collide. Returns false when the row
/// changed meanwhile.
pub(super) async fn store_state<C: ConnectionTrait>(
    db: &C,
    row: LockRow<'_>,
    (version, refused): (i64, i32),
    next: LockState,
    bump: bool,
    now: OffsetDateTime,
) -> Result<bool, sea_orm::DbErr> {
    let (key, value) = row.key();
    let mut update = Query::update();
    update.table(Alias::new(row.table()));
    if bump {
        update
            .value(Alias::new("failures"), next.failures as i32)
            .value(Alias::new("locked_until"), next.locked_until)
            .value(Alias::new("lock_count"), next.lock_count as i32)
            .value(Alias::new("blocked_at"), next.blocked_at)
            .value(Alias::new("refused_attempts"), 0)
            .value(Alias::new("version"), Expr::col(Alias::new("version")).add(1))
            .value(Alias::new("updated_at"), now);
    } else {
        update.value(Alias::new("version"), Expr::col(Alias::new("version")));
    }
    update
        .and_where(Expr::col(Alias::new(key)).eq(value))
        .and_where(Expr::col(Alias::new("version")).eq(version))
        .and_where(Expr::col(Alias::new("refused_attempts")).eq(refused));
    let done = db.execute(&update).await?;
    Ok(done.rows_affected() == 1)
}

/// The most refused attempts a row counts (the column is a 32-bit integer).
const MAX_REFUSED: i32 = 2_000_000_000;
/// Compare-and-swap attempts before an authentication gives up with 503: each failed one means
/// another attempt on the same ID committed first, so this only ends a pathological pile-up.
pub(super) const MAX_RETRIES: usize = 50;

/// Counts an attempt refused while `row` is locked or blocked. The first of a lock period is
/// written to the audit log (returns true); the others only raise the row's count, which the
/// next change of the lock state reports and resets.
pub(super) async fn count_refusal<C: ConnectionTrait>(db: &C, row: LockRow<'_>) -> Result<bool, sea_orm::DbErr> {
    let (key, value) = row.key();
    let mut first = Query::update();
    first
        .table(Alias::new(row.table()))
        .value(Alias::new("refused_attempts"), 1)
        .value(Alias::new("updated_at"), OffsetDateTime::now_utc())
        .and_where(Expr::col(Alias::new(key)).eq(value.clone()))
        .and_where(Expr::col(Alias::new("refused_attempts")).eq(0));
    if db.execute(&first).await?.rows_affected() == 1 {
        return Ok(true);
    }
    let mut more = Query::update();
    more.table(Alias::new(row.table()))
        .value(Alias::new("refused_attempts"), Expr::col(Alias::new("refused_attempts")).add(1))
        .and_where(Expr::col(Alias::new(key)).eq(value))
        .and_where(Expr::col(Alias::new("refused_attempts")).lt(MAX_REFUSED));
    db.execute(&more).await?;
    Ok(false)
}

/// The audit action and detail of `outcome` (`refused`: attempts refused during the lock period
/// that this outcome closes).
pub(super) fn audit_of(
    outcome: Outcome,
    decision: &Decision,
    purpose: Purpose,
    refused: i32,
) -> (Action, serde_json::Value) {
    let p = purpose.as_str();
    let (action, mut detail) = match outcome {
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
    if refused > 0 {
        detail["refused_while_locked"] = json!(refused);
    }
    (action, detail)
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
        for _ in 0..MAX_RETRIES {
            let found = user::Entity::find().filter(user::Column::UserId.eq(user_id.as_str())).one(&self.db).await?;
            let Some(u) = found else {
                return Err(unknown::authenticate(self, user_id, password, purpose, now).await?);
            };
            // The lock-state read an unknown ID costs, so that neither path is shorter (a locked
            // ID answers without password work: one statement would show).
            unknown_id_lockout::Entity::find_by_id(user_id.as_str()).one(&self.db).await?;
            let state = lock_state(&u);
            let role = role_of(&u);
            match lockout::precheck(&state, now) {
                Precheck::Blocked => {
                    self.refused(&u, Action::AuthRefusedBlocked, purpose, now).await?;
                    return Err(AuthError::Blocked { role });
                }
                Precheck::Locked { until } => {
                    self.refused(&u, Action::AuthRefusedLocked, purpose, now).await?;
                    return Err(AuthError::Locked { until });
                }
                Precheck::Proceed => {}
            }
            let ok = match &verified {
                Some((hash, ok)) if *hash == u.password_hash => *ok,
                _ => {
                    let lane = purpose.lane();
                    let ok = self
                        .hasher
                        .verify_in(lane, Some(u.password_hash.clone()), password.expose().to_owned())
                        .await?;
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
        tracing::warn!(user_id = %user_id, "authentication gave up after {MAX_RETRIES} concurrent changes of the row");
        Err(AuthError::Busy)
    }

    /// Stores `decision` if the row is still at the version it was read at — a success too, so
    /// that it cannot be stored over failures committed after the row was read — together with
    /// its audit entry and mail. Returns false when the row changed meanwhile (nothing written).
    async fn apply(
        &self,
        u: &user::Model,
        role: Role,
        decision: Decision,
        purpose: Purpose,
        now: OffsetDateTime,
    ) -> Result<bool, AuthError> {
        let txn = self.db.begin().await?;
        let next = decision.next.unwrap_or_else(|| lock_state(u));
        let bump = decision.next.is_some() || u.refused_attempts > 0;
        if !store_state(&txn, LockRow::User(u.id), (u.version, u.refused_attempts), next, bump, now).await? {
            txn.rollback().await?;
            return Ok(false);
        }
        let (action, detail) = audit_of(decision.outcome, &decision, purpose, u.refused_attempts);
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

    /// Records an attempt refused because `u` is locked or blocked (coalesced per lock period).
    async fn refused(
        &self,
        u: &user::Model,
        action: Action,
        purpose: Purpose,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        let txn = self.db.begin().await?;
        if count_refusal(&txn, LockRow::User(u.id)).await? {
            let detail = json!({"purpose": purpose.as_str(), "coalesced": true});
            audit::record(
                &txn,
                audit::Entry { action, actor: None, subject_user: Some(&u.user_id), org_id: u.org_id, detail },
                now,
            )
            .await?;
        }
        txn.commit().await?;
        Ok(())
    }
}

/// The lock state stored for an unknown ID.
pub(super) fn unknown_lock_state(r: &unknown_id_lockout::Model) -> LockState {
    LockState {
        failures: u32::try_from(r.failures).unwrap_or(0),
        locked_until: r.locked_until,
        lock_count: u32::try_from(r.lock_count).unwrap_or(0),
        blocked_at: r.blocked_at,
    }
}
