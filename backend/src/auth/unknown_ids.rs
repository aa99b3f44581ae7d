//! Unknown IDs under R2: an ID without an account answers exactly as a known one would — 401
//! for the first wrong passwords, then 423 with a `locked_until` after the sixth, a block after
//! the third lock — so the lock does not tell which IDs exist. The lock state lives in
//! `unknown_id_lockouts`, written with the same compare-and-swap and the same statements as a
//! user row (timing stays alike), and the table stays bounded: [`prune`] drops rows that never
//! locked once untried for [`RETENTION`] and keeps at most [`MAX_ROWS`]. What stays distinguishable:
//! a few wrong tries (no lock) on an unknown ID are forgotten after 30 days, a known ID's are not.

use common::{Password, UserId, api::Role};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use serde_json::json;
use time::OffsetDateTime;

use super::{
    AuthError, Purpose,
    lock_store::{LockRow, MAX_RETRIES, audit_of, record_refusal, store_state, unknown_lock_state},
    password::Hasher,
};
use crate::{
    audit::{self, Action},
    db::entities::unknown_id_lockout,
    domain::lockout::{self, Outcome, Precheck},
};

/// How long the lock state of an unknown ID is kept after its last attempt.
pub const RETENTION: time::Duration = time::Duration::days(30);
/// At most this many unknown IDs are remembered (the most recently tried).
pub const MAX_ROWS: u64 = 100_000;

/// What checking a password needs: the database, the policy and the hasher (the
/// authenticator's parts, so this module does not depend on the service that calls it).
#[derive(Clone, Copy)]
pub(super) struct Checks<'a> {
    pub db: &'a sea_orm::DatabaseConnection,
    pub policy: &'a crate::domain::lockout::LockoutPolicy,
    pub hasher: &'a Hasher,
}

/// Why an ID is treated as unknown (the audit entry's `reason`).
#[derive(Debug, Clone, Copy)]
pub(super) enum Why {
    /// No account has it.
    UnknownUser,
    /// A staff ID, tried from outside `staff_networks`.
    OutsideStaffNetworks,
}

impl Why {
    fn as_str(self) -> &'static str {
        match self {
            Why::UnknownUser => "unknown_user",
            Why::OutsideStaffNetworks => "outside_staff_networks",
        }
    }
}

/// Authenticates an unknown ID: always a refusal (returned as `Ok`), after the same password
/// work as a known ID.
pub(super) async fn authenticate(
    auth: Checks<'_>,
    user_id: &UserId,
    password: &Password,
    purpose: Purpose,
    why: Why,
    now: OffsetDateTime,
) -> Result<AuthError, AuthError> {
    let mut verified = false;
    for _ in 0..MAX_RETRIES {
        let row = unknown_id_lockout::Entity::find_by_id(user_id.as_str()).one(auth.db).await?;
        let state = row.as_ref().map(unknown_lock_state).unwrap_or_default();
        match lockout::precheck(&state, now) {
            Precheck::Blocked => {
                refused(auth, user_id, Action::AuthRefusedBlocked, purpose, why, now).await?;
                return Ok(AuthError::Blocked { role: Role::General });
            }
            Precheck::Locked { until } => {
                refused(auth, user_id, Action::AuthRefusedLocked, purpose, why, now).await?;
                return Ok(AuthError::Locked { until });
            }
            Precheck::Proceed => {}
        }
        if !verified {
            auth.hasher.verify(None, password.expose().to_owned()).await?;
            verified = true;
        }
        let decision = lockout::decide(auth.policy, &state, false, now);
        let next = decision.next.unwrap_or(state);
        let txn = auth.db.begin().await?;
        let stored = match &row {
            Some(r) => {
                let read = (r.version, r.refused_attempts);
                store_state(&txn, LockRow::Unknown(user_id.as_str()), read, next, true, now).await?
            }
            None => insert_state(&txn, user_id, next, now).await?,
        };
        if !stored {
            txn.rollback().await?;
            continue;
        }
        let refused_before = row.as_ref().map_or(0, |r| r.refused_attempts);
        let (action, mut detail) = audit_of(decision.outcome, &decision, purpose, refused_before);
        detail["reason"] = json!(why.as_str());
        audit::record(
            &txn,
            audit::Entry { action, actor: None, subject_user: Some(user_id.as_str()), org_id: None, detail },
            now,
        )
        .await?;
        txn.commit().await?;
        crate::metrics::metrics().lock_outcome(decision.outcome);
        return Ok(match decision.outcome {
            Outcome::NowLocked { until } | Outcome::Locked { until } => AuthError::Locked { until },
            Outcome::NowBlocked | Outcome::Blocked => AuthError::Blocked { role: Role::General },
            Outcome::Success | Outcome::Failure { .. } => AuthError::InvalidCredentials,
        });
    }
    Err(AuthError::Busy)
}

/// The first row of an unknown ID (version 1); false if another attempt inserted it first.
async fn insert_state<C: ConnectionTrait>(
    db: &C,
    user_id: &UserId,
    next: lockout::LockState,
    now: OffsetDateTime,
) -> Result<bool, sea_orm::DbErr> {
    let row = unknown_id_lockout::ActiveModel {
        user_id: Set(user_id.as_str().to_owned()),
        failures: Set(next.failures as i32),
        locked_until: Set(next.locked_until),
        lock_count: Set(next.lock_count as i32),
        blocked_at: Set(next.blocked_at),
        refused_attempts: Set(0),
        version: Set(1),
        updated_at: Set(now),
    };
    let done = unknown_id_lockout::Entity::insert(row).on_conflict_do_nothing().exec_without_returning(db).await?;
    Ok(matches!(done, sea_orm::TryInsertResult::Inserted(1)))
}

async fn refused(
    auth: Checks<'_>,
    user_id: &UserId,
    action: Action,
    purpose: Purpose,
    why: Why,
    now: OffsetDateTime,
) -> Result<(), AuthError> {
    let detail = json!({"purpose": purpose.as_str(), "coalesced": true, "reason": why.as_str()});
    let entry = audit::Entry { action, actor: None, subject_user: Some(user_id.as_str()), org_id: None, detail };
    Ok(record_refusal(auth.db, LockRow::Unknown(user_id.as_str()), entry, now).await?)
}

/// Drops the lock state of unknown IDs that holds nothing a known ID would remember for long —
/// rows without a lock or block ever (`lock_count` 0) untried for [`RETENTION`] — and, beyond the
/// [`MAX_ROWS`] most recently tried, the oldest rows, those without a lock or block first (a spray
/// of fresh IDs cannot push out the row of an ID it locked). Returns how many rows went.
pub async fn prune<C: ConnectionTrait>(db: &C, now: OffsetDateTime) -> Result<u64, sea_orm::DbErr> {
    use unknown_id_lockout::Column as C;
    let clean =
        || sea_orm::Condition::all().add(C::LockCount.eq(0)).add(C::BlockedAt.is_null()).add(C::LockedUntil.is_null());
    let mut gone = unknown_id_lockout::Entity::delete_many()
        .filter(clean())
        .filter(C::UpdatedAt.lt(now - RETENTION))
        .exec(db)
        .await?
        .rows_affected;
    let mut excess = unknown_id_lockout::Entity::find().count(db).await?.saturating_sub(MAX_ROWS);
    for only_clean in [true, false] {
        while excess > 0 {
            let mut oldest = unknown_id_lockout::Entity::find().order_by_asc(C::UpdatedAt).limit(excess.min(1_000));
            if only_clean {
                oldest = oldest.filter(clean());
            }
            let ids: Vec<String> = oldest.all(db).await?.into_iter().map(|r| r.user_id).collect();
            if ids.is_empty() {
                break;
            }
            let deleted =
                unknown_id_lockout::Entity::delete_many().filter(C::UserId.is_in(ids)).exec(db).await?.rows_affected;
            excess = excess.saturating_sub(deleted.max(1));
            gone += deleted;
        }
    }
    Ok(gone)
}

/// Prunes every `interval`, for the life of the process (a failed pass is logged and retried).
pub async fn prune_forever(db: sea_orm::DatabaseConnection, interval: std::time::Duration) {
    let mut tick = tokio::time::interval(interval);
    loop {
        tick.tick().await;
        match prune(&db, OffsetDateTime::now_utc()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "pruned the lock state of unknown IDs"),
            Err(e) => tracing::warn!(error = %e, "pruning the lock state of unknown IDs failed"),
        }
    }
}
