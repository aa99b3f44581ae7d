//! Read-side queries of the home, master and staff screens: users with their newest
//! certificate, organizations, certificate search, audit log, outbox. One-row answers (after an
//! unlock, a registration, a login) read one row, not a list to search.

use std::collections::HashMap;

use common::api::{
    AuditEntry, CertificateStatus, CertificateSummary, MailEntry, MailStatus, Me, OrganizationSummary,
    OrganizationUsers, UserSummary,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use time::OffsetDateTime;

use super::views;
use crate::db::entities::{audit_log, certificate, mail_outbox, organization, user};

async fn org_names<C: ConnectionTrait>(db: &C) -> Result<HashMap<i64, String>, DbErr> {
    Ok(organization::Entity::find().all(db).await?.into_iter().map(|o| (o.id, o.name)).collect())
}

/// The name of company `org_id` (none for bank staff).
pub async fn org_name<C: ConnectionTrait>(db: &C, org_id: Option<i64>) -> Result<Option<String>, DbErr> {
    Ok(match org_id {
        Some(id) => organization::Entity::find_by_id(id).one(db).await?.map(|o| o.name),
        None => None,
    })
}

/// One user as the lists show them: with their company's name and their newest certificate.
pub async fn user<C: ConnectionTrait>(db: &C, u: &user::Model, now: OffsetDateTime) -> Result<UserSummary, DbErr> {
    let newest = certificate::Entity::find()
        .filter(certificate::Column::UserPk.eq(u.id))
        .order_by_desc(certificate::Column::CreatedAt)
        .order_by_desc(certificate::Column::Id)
        .one(db)
        .await?;
    Ok(views::user_summary(u, org_name(db, u.org_id).await?, newest.as_ref(), now))
}

/// The home screen's data: the logged-in user and the certificate of the session.
pub async fn me<C: ConnectionTrait>(
    db: &C,
    u: &user::Model,
    session_certificate: &certificate::Model,
    now: OffsetDateTime,
) -> Result<Me, DbErr> {
    let organization = org_name(db, u.org_id).await?;
    Ok(Me {
        user_id: u.user_id.clone(),
        role: u.role,
        organization: organization.clone(),
        email: u.email.clone(),
        certificate: views::certificate_summary(session_certificate, organization, now),
    })
}

/// One company as the staff list shows it.
pub async fn organization<C: ConnectionTrait>(db: &C, id: i64) -> Result<Option<OrganizationSummary>, DbErr> {
    let Some(o) = organization::Entity::find_by_id(id).one(db).await? else { return Ok(None) };
    let members = user::Entity::find().filter(user::Column::OrgId.eq(id)).all(db).await?;
    Ok(Some(views::organization_summary(o, &members)))
}

/// Users (of `org_id`, or all), each with their newest certificate.
pub async fn users<C: ConnectionTrait>(
    db: &C,
    org_id: Option<i64>,
    now: OffsetDateTime,
) -> Result<Vec<UserSummary>, DbErr> {
    let mut q = user::Entity::find().order_by_asc(user::Column::OrgId).order_by_asc(user::Column::UserId);
    if let Some(id) = org_id {
        q = q.filter(user::Column::OrgId.eq(id));
    }
    let users = q.all(db).await?;
    let pks: Vec<i64> = users.iter().map(|u| u.id).collect();
    let mut newest: HashMap<i64, certificate::Model> = HashMap::new();
    for c in certificate::Entity::find()
        .filter(certificate::Column::UserPk.is_in(pks))
        .order_by_asc(certificate::Column::CreatedAt)
        .all(db)
        .await?
    {
        newest.insert(c.user_pk, c);
    }
    let names = org_names(db).await?;
    Ok(users
        .iter()
        .map(|u| {
            let org = u.org_id.and_then(|id| names.get(&id).cloned());
            views::user_summary(u, org, newest.get(&u.id), now)
        })
        .collect())
}

/// The master user's screen: their company, its limit, how many hold a certificate, its users.
pub async fn organization_users<C: ConnectionTrait>(
    db: &C,
    org_id: i64,
    now: OffsetDateTime,
) -> Result<Option<OrganizationUsers>, DbErr> {
    let Some(org) = organization::Entity::find_by_id(org_id).one(db).await? else { return Ok(None) };
    Ok(Some(OrganizationUsers {
        organization: org.name,
        certificate_limit: u32::try_from(org.certificate_limit).unwrap_or(0),
        with_certificates: users_with_certificates(db, org_id, now).await?,
        users: users(db, Some(org_id), now).await?,
    }))
}

/// Users of `org_id` holding an active certificate at `now`.
pub async fn users_with_certificates<C: ConnectionTrait>(
    db: &C,
    org_id: i64,
    now: OffsetDateTime,
) -> Result<u32, DbErr> {
    // COUNT(DISTINCT user_pk) in SQL: the issue path asks this twice per issue.
    let holders: Option<i64> = certificate::Entity::find()
        .select_only()
        .column_as(Expr::col(certificate::Column::UserPk).count_distinct(), "n")
        .filter(certificate::Column::OrgId.eq(org_id))
        .filter(certificate::Column::Status.eq(CertificateStatus::Active))
        .filter(certificate::Column::NotAfter.gt(now))
        .into_tuple()
        .one(db)
        .await?;
    Ok(u32::try_from(holders.unwrap_or(0)).unwrap_or(u32::MAX))
}

pub async fn organizations<C: ConnectionTrait>(db: &C) -> Result<Vec<OrganizationSummary>, DbErr> {
    let orgs = organization::Entity::find().order_by_asc(organization::Column::Id).all(db).await?;
    let mut members: HashMap<i64, Vec<user::Model>> = HashMap::new();
    for u in user::Entity::find().filter(user::Column::OrgId.is_not_null()).all(db).await? {
        members.entry(u.org_id.unwrap_or_default()).or_default().push(u);
    }
    Ok(orgs
        .into_iter()
        .map(|o| {
            let of = members.remove(&o.id).unwrap_or_default();
            views::organization_summary(o, &of)
        })
        .collect())
}

/// Search criteria of the staff certificate screen; all optional.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CertificateQuery {
    pub organization: Option<String>,
    pub user_id: Option<String>,
    pub serial: Option<String>,
    pub status: Option<CertificateStatus>,
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub async fn certificates<C: ConnectionTrait>(
    db: &C,
    query: &CertificateQuery,
    now: OffsetDateTime,
) -> Result<Vec<CertificateSummary>, DbErr> {
    let names = org_names(db).await?;
    let mut q = certificate::Entity::find().order_by_desc(certificate::Column::CreatedAt).limit(500);
    if let Some(uid) = nonempty(&query.user_id) {
        q = q.filter(certificate::Column::SubjectCn.eq(uid));
    }
    if let Some(serial) = nonempty(&query.serial) {
        q = q.filter(certificate::Column::Serial.eq(serial.to_ascii_lowercase()));
    }
    if let Some(org) = nonempty(&query.organization) {
        let ids: Vec<i64> = names.iter().filter(|(_, n)| n.contains(org)).map(|(id, _)| *id).collect();
        q = q.filter(certificate::Column::OrgId.is_in(ids));
    }
    match query.status {
        // The SQL of domain::certificate::status: expired from not_after on.
        Some(CertificateStatus::Revoked) => q = q.filter(certificate::Column::Status.eq(CertificateStatus::Revoked)),
        Some(CertificateStatus::Active) => {
            q = q
                .filter(certificate::Column::Status.eq(CertificateStatus::Active))
                .filter(certificate::Column::NotAfter.gt(now))
        }
        Some(CertificateStatus::Expired) => {
            q = q
                .filter(certificate::Column::Status.eq(CertificateStatus::Active))
                .filter(certificate::Column::NotAfter.lte(now))
        }
        None => {}
    }
    Ok(q.all(db)
        .await?
        .iter()
        .map(|c| views::certificate_summary(c, c.org_id.and_then(|id| names.get(&id).cloned()), now))
        .collect())
}

/// Filters of the audit log screen.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub user_id: Option<String>,
    pub action: Option<String>,
}

/// How many entries the audit log screen shows.
pub const AUDIT_SCREEN_LIMIT: u64 = 200;

/// The audit log, newest first, at most `limit` entries (the screen shows
/// [`AUDIT_SCREEN_LIMIT`]; `cjs admin audit --limit` chooses).
pub async fn audit<C: ConnectionTrait>(db: &C, query: &AuditQuery, limit: u64) -> Result<Vec<AuditEntry>, DbErr> {
    let mut q = audit_log::Entity::find().order_by_desc(audit_log::Column::Id).limit(limit);
    if let Some(uid) = nonempty(&query.user_id) {
        q = q.filter(audit_log::Column::SubjectUser.eq(uid));
    }
    if let Some(action) = nonempty(&query.action) {
        q = q.filter(audit_log::Column::Action.eq(action));
    }
    Ok(q.all(db)
        .await?
        .into_iter()
        .map(|a| AuditEntry {
            id: a.id,
            at: a.at,
            actor: a.actor,
            action: a.action,
            subject_user: a.subject_user,
            organization_id: a.org_id,
            detail: a.detail,
            client_address: a.client_address,
            request_id: a.request_id,
        })
        .collect())
}

pub async fn mail<C: ConnectionTrait>(db: &C, status: Option<MailStatus>) -> Result<Vec<MailEntry>, DbErr> {
    let mut q = mail_outbox::Entity::find();
    if let Some(status) = status {
        q = q.filter(mail_outbox::Column::Status.eq(status));
    }
    Ok(q.order_by_desc(mail_outbox::Column::Id)
        .limit(500)
        .all(db)
        .await?
        .into_iter()
        .map(|m| MailEntry {
            id: m.id,
            created_at: m.created_at,
            to: m.to_addr,
            subject: m.subject,
            status: m.status,
            attempts: u32::try_from(m.attempts).unwrap_or(0),
            last_error: m.last_error,
            sent_at: m.sent_at,
            next_attempt_at: Some(m.next_attempt_at),
        })
        .collect())
}
