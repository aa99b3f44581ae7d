//! Where lock states live and how they change: the `users` row of a known ID or the
//! `unknown_id_lockouts` row of an unknown one, changed only by compare-and-swap on the row's
//! version ([`store_state`]), refusals while locked counted in the row ([`record_refusal`]), and
//! the audit entry of each outcome ([`audit_of`]). Shared by [`super::service`] and
//! [`super::unknown`], which take the same steps on the two kinds of row.

use sea_orm::{
    ConnectionTrait,
    sea_query::{Alias, Expr, ExprTrait, Query},
};
use serde_json::json;
use time::OffsetDateTime;

use super::Purpose;
use crate::{
    audit::Action,
    db::entities::{unknown_id_lockout, user},
    domain::lockout::{self, Decision, LockState, Outcome},
};

/// The lock state stored in a user row.
pub fn lock_state(u: &user::Model) -> LockState {
    state_of(u.failures, u.locked_until, u.lock_count, u.blocked_at)
}

/// The lock state stored for an unknown ID.
pub(super) fn unknown_lock_state(r: &unknown_id_lockout::Model) -> LockState {
    state_of(r.failures, r.locked_until, r.lock_count, r.blocked_at)
}

/// Columns → state: the one reading of the lock columns both kinds of row share.
fn state_of(
    failures: i32,
    locked_until: Option<OffsetDateTime>,
    lock_count: i32,
    blocked_at: Option<OffsetDateTime>,
) -> LockState {
    LockState {
        failures: u32::try_from(failures).unwrap_or(0),
        locked_until,
        lock_count: u32::try_from(lock_count).unwrap_or(0),
        blocked_at,
    }
}

/// State → columns: the one writing of the lock columns (with the closed refusal count, the
/// version bump and the time of the change).
fn set_state(update: &mut sea_orm::sea_query::UpdateStatement, next: LockState, now: OffsetDateTime) {
    update
        .value(Alias::new("failures"), i32::try_from(next.failures).unwrap_or(i32::MAX))
        .value(Alias::new("locked_until"), next.locked_until)
        .value(Alias::new("lock_count"), i32::try_from(next.lock_count).unwrap_or(i32::MAX))
        .value(Alias::new("blocked_at"), next.blocked_at)
        .value(Alias::new("refused_attempts"), 0)
        .value(Alias::new("version"), Expr::col(Alias::new("version")).add(1))
        .value(Alias::new("updated_at"), now);
}

/// Lifts the lock or block of user `user_pk` (R2): stores [`lockout::unlocked`] whatever the
/// row holds, through the same columns as every other change of the lock state.
pub async fn store_unlocked<C: ConnectionTrait>(
    db: &C,
    user_pk: i64,
    now: OffsetDateTime,
) -> Result<(), sea_orm::DbErr> {
    let mut update = Query::update();
    update.table(Alias::new(LockRow::User(user_pk).table()));
    set_state(&mut update, lockout::unlocked(), now);
    update.and_where(Expr::col(Alias::new("id")).eq(user_pk));
    db.execute(&update).await?;
    Ok(())
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
        set_state(&mut update, next, now);
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

/// Records an attempt refused while `row` (of `subject`) is locked or blocked, in one
/// transaction. The first of a lock period is written to the audit log with `detail`; the others
/// only raise the row's count, which the next change of the lock state reports and resets.
pub(super) async fn record_refusal(
    db: &sea_orm::DatabaseConnection,
    row: LockRow<'_>,
    entry: crate::audit::Entry<'_>,
    now: OffsetDateTime,
) -> Result<(), sea_orm::DbErr> {
    use sea_orm::TransactionTrait;
    let (key, value) = row.key();
    let txn = db.begin().await?;
    let mut first = Query::update();
    first
        .table(Alias::new(row.table()))
        .value(Alias::new("refused_attempts"), 1)
        .value(Alias::new("updated_at"), now)
        .and_where(Expr::col(Alias::new(key)).eq(value.clone()))
        .and_where(Expr::col(Alias::new("refused_attempts")).eq(0));
    if txn.execute(&first).await?.rows_affected() == 1 {
        crate::audit::record(&txn, entry, now).await?;
    } else {
        let mut more = Query::update();
        more.table(Alias::new(row.table()))
            .value(Alias::new("refused_attempts"), Expr::col(Alias::new("refused_attempts")).add(1))
            .value(Alias::new("updated_at"), now)
            .and_where(Expr::col(Alias::new(key)).eq(value))
            .and_where(Expr::col(Alias::new("refused_attempts")).lt(MAX_REFUSED));
        txn.execute(&more).await?;
    }
    txn.commit().await
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
