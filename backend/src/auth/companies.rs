//! Changes to a company after its registration, by bank staff or the bank's shell only: its name
//! and certificate limit, and suspending and resuming it. Each is one transaction with its audit
//! entry and the notice to the company's master user.
//!
//! While a company is suspended its users are refused at authentication (once their password is
//! right, so the refusal tells nothing to someone guessing), at issuance and at login, and their
//! sessions end at once. Nothing is revoked: resuming restores everything as it was.

use common::api::Role;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, Query},
};
use serde_json::json;
use time::OffsetDateTime;

use super::{AccountError, AuthError, actor::Actor, error::NameProblem};
use crate::{
    audit::{self, Action},
    db::entities::{organization, session, user},
    mail::{outbox, templates},
};

/// A company name: 1 to 100 characters after trimming, no line breaks or control characters.
pub fn check_company_name(name: &str) -> Result<&str, AccountError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AccountError::InvalidCompanyName(NameProblem::Length));
    }
    if name.chars().any(char::is_control) {
        return Err(AccountError::InvalidCompanyName(NameProblem::ControlCharacter));
    }
    Ok(name)
}

/// Only bank staff and the shell change companies (and choose their master users).
pub(crate) fn staff_only(actor: &Actor) -> Result<(), AccountError> {
    match actor.role() {
        None | Some(Role::Staff) => Ok(()),
        Some(_) => Err(AccountError::Forbidden),
    }
}

async fn find<C: ConnectionTrait>(db: &C, id: i64) -> Result<organization::Model, AccountError> {
    organization::Entity::find_by_id(id).one(db).await?.ok_or(AccountError::NotFound)
}

/// The master users of `org` (the addresses of its notices).
async fn masters<C: ConnectionTrait>(db: &C, org: i64) -> Result<Vec<user::Model>, sea_orm::DbErr> {
    user::Entity::find()
        .filter(user::Column::OrgId.eq(org))
        .filter(user::Column::Role.eq(Role::Master))
        .filter(user::Column::RetiredAt.is_null())
        .all(db)
        .await
}

/// Refuses `u` if their company is suspended: asked after their password was found right.
pub async fn ensure_not_suspended<C: ConnectionTrait>(db: &C, u: &user::Model) -> Result<(), AuthError> {
    let Some(org) = u.org_id else { return Ok(()) };
    let suspended: Option<Option<OffsetDateTime>> = organization::Entity::find_by_id(org)
        .select_only()
        .column(organization::Column::SuspendedAt)
        .into_tuple()
        .one(db)
        .await?;
    if suspended.flatten().is_some() { Err(AuthError::Suspended) } else { Ok(()) }
}

/// Takes the lock of company `org`'s row in `txn` if it is not suspended; false if it is. What a
/// new session and a new certificate are recorded under: suspending takes the same lock before it
/// ends the sessions, so neither slips in after a suspension.
pub async fn lock_if_active<C: ConnectionTrait>(txn: &C, org: i64) -> Result<bool, sea_orm::DbErr> {
    let locked = organization::Entity::update_many()
        .col_expr(organization::Column::CertificateLimit, Expr::col(organization::Column::CertificateLimit))
        .filter(organization::Column::Id.eq(org))
        .filter(organization::Column::SuspendedAt.is_null())
        .exec(txn)
        .await?;
    Ok(locked.rows_affected == 1)
}

/// Takes the lock of company `org`'s row in `txn`, suspended or not, and reads it: what a change
/// of its master users is made under, so that two at once leave one master user.
pub(crate) async fn lock<C: ConnectionTrait>(txn: &C, org: i64) -> Result<organization::Model, AccountError> {
    organization::Entity::update_many()
        .col_expr(organization::Column::CertificateLimit, Expr::col(organization::Column::CertificateLimit))
        .filter(organization::Column::Id.eq(org))
        .exec(txn)
        .await?;
    find(txn, org).await
}

/// What a company change asks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompanyChange<'a> {
    pub name: Option<&'a str>,
    pub certificate_limit: Option<u32>,
    /// Accept a limit below the users holding a certificate now.
    pub force: bool,
}

/// Changes the name and/or the certificate limit of company `id`. A new name must be free;
/// certificates issued later carry it in O= (those issued keep theirs). A limit below the users
/// holding a valid certificate now is refused unless `force`.
pub async fn update<C: crate::db::Db>(
    db: &C,
    actor: &Actor,
    id: i64,
    change: CompanyChange<'_>,
    url: &str,
    now: OffsetDateTime,
) -> Result<organization::Model, AccountError> {
    staff_only(actor)?;
    let before = find(db, id).await?;
    let name = change.name.map(check_company_name).transpose()?.map(str::to_owned);
    if let Some(name) = name.as_deref().filter(|n| *n != before.name) {
        let taken = organization::Entity::find()
            .filter(organization::Column::Name.eq(name))
            .filter(organization::Column::Id.ne(id))
            .one(db)
            .await?;
        if taken.is_some() {
            return Err(AccountError::CompanyNameTaken(name.to_owned()));
        }
    }
    let limit = change.certificate_limit.map(|l| i32::try_from(l).unwrap_or(i32::MAX));
    if let Some(limit) = limit {
        let holders = crate::read::users_with_certificates(db, id, now).await?;
        if i64::from(limit) < i64::from(holders) && !change.force {
            return Err(AccountError::LimitBelowHolders { holders });
        }
    }
    if name.is_none() && limit.is_none() {
        return Ok(before);
    }
    let txn = db.begin().await?;
    let mut update = organization::Entity::update_many().filter(organization::Column::Id.eq(id));
    if let Some(name) = &name {
        update = update
            .col_expr(organization::Column::Name, Expr::value(name.clone()))
            .col_expr(organization::Column::NameSearch, Expr::value(crate::domain::names::normalize(name)));
    }
    if let Some(limit) = limit {
        update = update.col_expr(organization::Column::CertificateLimit, Expr::value(limit));
    }
    update.exec(&txn).await?;
    let after = find(&txn, id).await?;
    let detail = json!({
        "before": {"name": before.name, "certificate_limit": before.certificate_limit},
        "after": {"name": after.name, "certificate_limit": after.certificate_limit},
        "forced": change.force,
    });
    record(&txn, actor, &after, Action::OrganizationUpdated, detail, url, now).await?;
    txn.commit().await?;
    Ok(after)
}

/// Suspends (`suspend`) or resumes company `id`. Suspending ends every session of its users in
/// the same transaction; a company already in the asked state is refused (409).
pub async fn set_suspended<C: crate::db::Db>(
    db: &C,
    actor: &Actor,
    id: i64,
    suspend: bool,
    url: &str,
    now: OffsetDateTime,
) -> Result<organization::Model, AccountError> {
    staff_only(actor)?;
    find(db, id).await?;
    let txn = db.begin().await?;
    let (value, state) = if suspend {
        (Some(now), organization::Column::SuspendedAt.is_null())
    } else {
        (None, organization::Column::SuspendedAt.is_not_null())
    };
    let changed = organization::Entity::update_many()
        .col_expr(organization::Column::SuspendedAt, Expr::value(value))
        .filter(organization::Column::Id.eq(id))
        .filter(state)
        .exec(&txn)
        .await?;
    if changed.rows_affected != 1 {
        txn.rollback().await?;
        return Err(AccountError::CompanyAlreadyInState { suspended: suspend });
    }
    let ended = if suspend {
        let members = Query::select()
            .column(user::Column::Id)
            .from(user::Entity)
            .and_where(user::Column::OrgId.eq(id))
            .to_owned();
        let ended =
            session::Entity::delete_many().filter(session::Column::UserPk.in_subquery(members)).exec(&txn).await?;
        ended.rows_affected
    } else {
        0
    };
    let org = find(&txn, id).await?;
    let action = if suspend { Action::OrganizationSuspended } else { Action::OrganizationResumed };
    record(&txn, actor, &org, action, json!({"sessions_ended": ended}), url, now).await?;
    txn.commit().await?;
    Ok(org)
}

/// The audit entry of a company change and the notice to its master users.
async fn record<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    org: &organization::Model,
    action: Action,
    detail: serde_json::Value,
    url: &str,
    now: OffsetDateTime,
) -> Result<(), sea_orm::DbErr> {
    let actor_name = actor.name();
    audit::record(
        txn,
        audit::Entry { action, actor: Some(&actor_name), subject_user: None, org_id: Some(org.id), detail },
        now,
    )
    .await?;
    let what = match action {
        Action::OrganizationSuspended => templates::CompanyChange::Suspended,
        Action::OrganizationResumed => templates::CompanyChange::Resumed,
        _ => templates::CompanyChange::Updated { certificate_limit: org.certificate_limit },
    };
    let mails = masters(txn, org.id)
        .await?
        .iter()
        .map(|m| templates::company_changed(org.id, &org.name, &m.email, what, now, url))
        .collect::<Vec<_>>();
    outbox::enqueue_many(txn, mails, now).await?;
    Ok(())
}
