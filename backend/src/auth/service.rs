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

use common::{Password, UserId, api::Role};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::json;
use time::OffsetDateTime;

use super::{
    AuthError, Purpose,
    lock_store::{LockRow, MAX_RETRIES, audit_of, lock_state, record_refusal, store_state},
    password::Hasher,
    sessions, unknown_ids,
};
use crate::{
    audit::{self, Action},
    db::entities::{unknown_id_lockout, user},
    domain::lockout::{self, Decision, LockoutPolicy, Outcome, Precheck},
    mail::{outbox, templates},
    metrics::{AuthOutcome, metrics},
};

/// Verifies credentials under R2. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Authenticator {
    pub db: DatabaseConnection,
    pub policy: LockoutPolicy,
    pub hasher: Hasher,
    /// Base URL written into notices.
    pub public_url: String,
    /// Where staff IDs may authenticate from (`staff_networks`); `None`: anywhere.
    pub staff_networks: Option<crate::net::Networks>,
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
        let result = self.decide_and_store(user_id, password, purpose, now).await;
        let counted = match &result {
            Ok(_) | Err(AuthError::PasswordChangeRequired { .. }) => Some(AuthOutcome::Success),
            Err(AuthError::InvalidCredentials) => Some(AuthOutcome::Failure),
            Err(AuthError::Locked { .. }) => Some(AuthOutcome::Locked),
            Err(AuthError::Blocked { .. } | AuthError::Retired | AuthError::Suspended | AuthError::PasswordRevoked) => {
                Some(AuthOutcome::Blocked)
            }
            Err(_) => None, // not decided (busy, database): nothing happened to count
        };
        if let Some(outcome) = counted {
            metrics().authentication(purpose.as_str(), outcome);
        }
        result
    }

    async fn decide_and_store(
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
            let checks = unknown_ids::Checks { db: &self.db, policy: &self.policy, hasher: &self.hasher };
            let Some(u) = found else {
                let why = unknown_ids::Why::UnknownUser;
                return Err(unknown_ids::authenticate(checks, user_id, password, purpose, why, now).await?);
            };
            // A staff ID from outside `staff_networks` is an unknown ID there: the same answers,
            // the same work, its own lock state (which only that outside path ever reads), and
            // nothing counted on the staff member's row, so nobody outside can lock them out.
            if u.role == Role::Staff && !self.may_authenticate_staff_from(crate::request_context::client_address()) {
                let why = unknown_ids::Why::OutsideStaffNetworks;
                return Err(unknown_ids::authenticate(checks, user_id, password, purpose, why, now).await?);
            }
            // A retired ID is refused before anything else: it has no lock state left to keep
            // and no password to check (its own words say so; a retired ID is of no use to an
            // attacker who learns that it existed).
            if u.retired_at.is_some() {
                return Err(AuthError::Retired);
            }
            // The lock-state read an unknown ID costs, so that neither path is shorter (a locked
            // ID answers without password work: one statement would show).
            unknown_id_lockout::Entity::find_by_id(user_id.as_str()).one(&self.db).await?;
            let state = lock_state(&u);
            let role = u.role;
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
            if decision.outcome == Outcome::Success {
                // Only now, with the password right: the refusal tells a guesser nothing. A
                // password whose .p12 was reported compromised is refused for every purpose, its
                // own change included: only a reset by staff or the master clears it.
                if u.password_revoked_at.is_some() {
                    return Err(AuthError::PasswordRevoked);
                }
                super::companies::ensure_not_suspended(&self.db, &u).await?;
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
                sessions::end_all_of_user(&txn, u.id).await?;
                let mail = templates::blocked(&u.user_id, u.id, &u.email, now, role != Role::General, &self.public_url);
                outbox::enqueue(&txn, mail, now).await?;
            }
            _ => {}
        }
        txn.commit().await?;
        metrics().lock_outcome(decision.outcome);
        Ok(true)
    }

    /// Whether a staff ID may authenticate from `client` (no address: not a request, e.g. a test
    /// calling the service).
    fn may_authenticate_staff_from(&self, client: Option<std::net::IpAddr>) -> bool {
        match (&self.staff_networks, client) {
            (Some(networks), Some(ip)) => networks.contains(ip),
            _ => true,
        }
    }

    /// Records an attempt refused because `u` is locked or blocked (coalesced per lock period).
    async fn refused(
        &self,
        u: &user::Model,
        action: Action,
        purpose: Purpose,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        let detail = json!({"purpose": purpose.as_str(), "coalesced": true});
        let entry = audit::Entry { action, actor: None, subject_user: Some(&u.user_id), org_id: u.org_id, detail };
        Ok(record_refusal(&self.db, LockRow::User(u.id), entry, now).await?)
    }
}
