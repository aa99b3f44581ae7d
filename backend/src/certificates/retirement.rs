//! Retiring a user (利用停止): someone who left the company, or a staff member who left the bank.
//! In one transaction:
//! - the user's row is marked retired, under its lock: an issuance recording meanwhile either
//!   committed first (its certificate is then revoked below) or sees the mark and records nothing
//!   (`issuance::lock_user_and_company`), so no active certificate of a retired user exists;
//! - every active certificate of theirs is revoked with reason `cessationOfOperation`, counted
//!   for the OCSP responder and the CRL as any revocation is;
//! - every session of theirs ends, and a login verifying their password meanwhile opens none;
//! - the audit entry (reason, certificates revoked) and the owner's notice.
//!
//! The row, its ID and its history stay: the audit log and the certificates name the ID, so it
//! is never given to anyone else (IDs are unique), and a retired ID is not reinstated. Someone
//! who comes back gets a new ID, whose history starts clean; reinstating would hand an old ID's
//! certificates history and audit trail to what may be another person. Their seat in the
//! company's certificate limit is free at once: the limit counts holders of valid certificates.

use common::{
    UserId,
    api::{CertificateStatus, RevocationReason, Role},
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, sea_query::Expr};
use serde_json::json;
use time::OffsetDateTime;

use super::{
    CertificateError,
    revocation::{Revocations, count_revocations},
};
use crate::{
    audit::Action,
    auth::{
        AccountError,
        accounts::{Actor, find_user, permit, record_done_to},
        sessions,
    },
    db::entities::{certificate, user},
    domain::authority::{Operation, Party, last_staff_member},
    mail::{outbox, templates},
};

/// Longest reason kept with a retirement, in characters.
pub const REASON_MAX: usize = 200;

/// A retirement done: the user as it is now and the serials revoked.
#[derive(Debug)]
pub struct Retired {
    pub user: user::Model,
    pub revoked: Vec<String>,
}

/// The reason as stored: trimmed, at most [`REASON_MAX`] characters, no control characters.
pub fn check_reason(reason: Option<&str>) -> Result<Option<String>, AccountError> {
    let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty()) else { return Ok(None) };
    if reason.chars().count() > REASON_MAX || reason.chars().any(char::is_control) {
        return Err(AccountError::InvalidReason);
    }
    Ok(Some(reason.to_owned()))
}

fn account_error(e: CertificateError) -> AccountError {
    match e {
        CertificateError::Database(e) => AccountError::Database(e),
        other => AccountError::Internal(anyhow::Error::new(other)),
    }
}

/// Retires `target` as `actor` (see the module's doc). `url` goes into the owner's notice.
pub async fn retire<C: crate::db::Db>(
    db: &C,
    actor: &Actor,
    target: &UserId,
    reason: Option<&str>,
    url: &str,
    now: OffsetDateTime,
) -> Result<Retired, AccountError> {
    let reason = check_reason(reason)?;
    let u = find_user(db, target).await?;
    permit(actor, &u, Operation::Retire)?;
    let txn = db.begin().await?;
    let revoked = retire_in(&txn, actor, &u, reason.as_deref(), url, now).await?;
    txn.commit().await?;
    counted(&revoked);
    let user = user::Entity::find_by_id(u.id).one(db).await?.ok_or(AccountError::NotFound)?;
    Ok(Retired { user, revoked })
}

/// The retirement of `u` inside `txn`, which the caller commits (dropped, it rolls back): all of
/// the module's doc but the metrics ([`counted`], after the commit). Returns the serials revoked.
/// Also how a change of master retires the former master (`super::masters`).
pub(super) async fn retire_in<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    u: &user::Model,
    reason: Option<&str>,
    url: &str,
    now: OffsetDateTime,
) -> Result<Vec<String>, AccountError> {
    if u.role == Role::Staff {
        keep_one_staff_member(txn, u).await?;
    }
    let marked = user::Entity::update_many()
        .col_expr(user::Column::RetiredAt, Expr::value(Some(now)))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(u.id))
        .filter(user::Column::RetiredAt.is_null())
        .exec(txn)
        .await?;
    if marked.rows_affected != 1 {
        return Err(AccountError::AlreadyRetired);
    }
    // Read after the mark, under the row's lock: includes a certificate recorded just before.
    let revoked: Vec<String> = certificate::Entity::find()
        .select_only()
        .column(certificate::Column::Serial)
        .filter(certificate::Column::UserPk.eq(u.id))
        .filter(certificate::Column::Status.eq(CertificateStatus::Active))
        .into_tuple()
        .all(txn)
        .await?;
    if !revoked.is_empty() {
        certificate::Entity::update_many()
            .col_expr(certificate::Column::Status, Expr::value(CertificateStatus::Revoked))
            .col_expr(certificate::Column::RevokedAt, Expr::value(Some(now)))
            .col_expr(
                certificate::Column::RevocationReason,
                Expr::value(Some(RevocationReason::CessationOfOperation.as_str().to_owned())),
            )
            .filter(certificate::Column::UserPk.eq(u.id))
            .filter(certificate::Column::Status.eq(CertificateStatus::Active))
            .exec(txn)
            .await?;
        count_revocations(txn, revoked.len()).await.map_err(account_error)?;
        super::certified::refresh(txn, u.id).await?;
    }
    let ended = sessions::end_all_of_user(txn, u.id).await?;
    record(txn, actor, u, reason, &revoked, ended, url, now).await?;
    Ok(revoked)
}

/// The revocations of a committed retirement, in the metrics.
pub(super) fn counted(revoked: &[String]) {
    for _ in revoked {
        crate::metrics::metrics().revocation(RevocationReason::CessationOfOperation.as_str());
    }
}

/// [`retire`] in a serving process: the CRL refresh is woken when anything was revoked.
pub async fn retire_serving<C: crate::db::Db>(
    revocations: &Revocations,
    db: &C,
    actor: &Actor,
    target: &UserId,
    reason: Option<&str>,
    url: &str,
    now: OffsetDateTime,
) -> Result<Retired, AccountError> {
    let retired = retire(db, actor, target, reason, url, now).await?;
    if !retired.revoked.is_empty() {
        revocations.wake();
    }
    Ok(retired)
}

/// Refuses to retire the last active staff member. The active staff rows are locked first
/// (PostgreSQL: `FOR UPDATE`, which reads them again after a concurrent retirement commits;
/// SQLite: one writer at a time), so two staff members retiring each other at once cannot
/// both succeed.
async fn keep_one_staff_member<C: ConnectionTrait>(txn: &C, u: &user::Model) -> Result<(), AccountError> {
    let active =
        user::Entity::find().filter(user::Column::Role.eq(Role::Staff)).filter(user::Column::RetiredAt.is_null());
    let others = if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        let ids: Vec<i64> =
            active.select_only().column(user::Column::Id).lock_exclusive().into_tuple().all(txn).await?;
        ids.iter().filter(|&&id| id != u.id).count() as u64
    } else {
        active.filter(user::Column::Id.ne(u.id)).count(txn).await?
    };
    if last_staff_member(Party { id: u.id, role: u.role, org_id: u.org_id }, others) {
        return Err(AccountError::LastStaffMember);
    }
    Ok(())
}

/// The audit entry and the owner's notice of a retirement.
#[allow(clippy::too_many_arguments)]
async fn record<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    u: &user::Model,
    reason: Option<&str>,
    revoked: &[String],
    sessions_ended: u64,
    url: &str,
    now: OffsetDateTime,
) -> Result<(), sea_orm::DbErr> {
    let detail = json!({
        "reason": reason,
        "revoked": revoked,
        "revocation_reason": RevocationReason::CessationOfOperation.as_str(),
        "sessions_ended": sessions_ended,
    });
    record_done_to(txn, actor, u, Action::Retired, detail, now).await?;
    let facts = templates::ChangeFacts::of(u, url, now, crate::request_context::client_address());
    let by = templates::changed_by(actor.role());
    outbox::enqueue(txn, templates::retired(&facts, &u.email, by, revoked.len()), now).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_of_exactly_the_limit_is_kept_and_one_more_refused() {
        let at_limit = "退".repeat(REASON_MAX);
        assert_eq!(check_reason(Some(&at_limit)).unwrap().as_deref(), Some(at_limit.as_str()));
        assert!(matches!(check_reason(Some(&"退".repeat(REASON_MAX + 1))), Err(AccountError::InvalidReason)));
    }

    #[test]
    fn a_blank_reason_is_none_and_a_line_break_refused() {
        assert_eq!(check_reason(Some("  ")).unwrap(), None);
        assert_eq!(check_reason(None).unwrap(), None);
        assert_eq!(check_reason(Some(" 退職 ")).unwrap().as_deref(), Some("退職"));
        assert!(matches!(check_reason(Some("退\n職")), Err(AccountError::InvalidReason)));
    }
}
