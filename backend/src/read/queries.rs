//! Read-side queries of one thing: the home screen, one user (after an unlock), one company
//! and one user for their detail pages, the master user's screen around its list. The searched
//! lists themselves are in `lists`.

use common::api::{
    CertificateStatus, Me, OrganizationDetail, OrganizationUsers, UserDetail, UserSummary,
    list::{AuditSearch, UserSearch},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use time::OffsetDateTime;

use super::{
    lists::{self, UserScope},
    paging::ListError,
    views,
};
use crate::db::entities::{certificate, organization, user};

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

/// Who is logged in: the user and the certificate of the session. [`Me::activity`] stays empty
/// here: the login's answer does not need it (ホーム asks `GET /api/me`, which adds it).
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
        activity: Vec::new(),
    })
}

/// The master user's screen: their company, its limit, how many hold a certificate, and one
/// page of its users as searched.
pub async fn organization_users<C: ConnectionTrait>(
    db: &C,
    org_id: i64,
    search: &UserSearch,
    now: OffsetDateTime,
) -> Result<Option<OrganizationUsers>, ListError> {
    let Some(org) = organization::Entity::find_by_id(org_id).one(db).await? else { return Ok(None) };
    Ok(Some(OrganizationUsers {
        organization: org.name,
        certificate_limit: u32::try_from(org.certificate_limit).unwrap_or(0),
        with_certificates: users_with_certificates(db, org_id, now).await?,
        users: lists::users(db, search, UserScope::Organization(org_id), now).await?,
    }))
}

/// A company's detail page: the company and how many of its users hold a certificate.
pub async fn organization_detail<C: ConnectionTrait>(
    db: &C,
    id: i64,
    now: OffsetDateTime,
) -> Result<Option<OrganizationDetail>, DbErr> {
    let Some(organization) = lists::organization(db, id).await? else { return Ok(None) };
    Ok(Some(OrganizationDetail { organization, with_certificates: users_with_certificates(db, id, now).await? }))
}

/// A user's detail page: the user, their certificates and the newest audit entries by or
/// about them.
pub async fn user_detail<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    now: OffsetDateTime,
) -> Result<Option<UserDetail>, DbErr> {
    let Some(u) = user::Entity::find().filter(user::Column::UserId.eq(user_id)).one(db).await? else {
        return Ok(None);
    };
    let org = org_name(db, u.org_id).await?;
    let certificates: Vec<certificate::Model> = certificate::Entity::find()
        .filter(certificate::Column::UserPk.eq(u.id))
        .order_by_desc(certificate::Column::CreatedAt)
        .order_by_desc(certificate::Column::Id)
        .limit(UserDetail::CERTIFICATES)
        .all(db)
        .await?;
    // The audit list's own query: entries about the user or by them, newest first.
    let search = AuditSearch { user_id: Some(u.user_id.clone()), ..Default::default() };
    let audit = lists::audit_latest(db, &search, UserDetail::AUDIT).await.map_err(|e| match e {
        ListError::Database(e) => e,
        ListError::Search(e) => DbErr::Custom(e.message),
    })?;
    Ok(Some(UserDetail {
        user: views::user_summary(&u, org.clone(), certificates.first(), now),
        created_at: u.created_at,
        certificates: certificates.iter().map(|c| views::certificate_summary(c, org.clone(), now)).collect(),
        audit,
    }))
}

/// The active certificates of user `subject_cn` (`cjs admin revoke` revokes each).
pub async fn active_certificates_of<C: ConnectionTrait>(
    db: &C,
    subject_cn: &str,
    now: OffsetDateTime,
) -> Result<Vec<certificate::Model>, DbErr> {
    certificate::Entity::find()
        .filter(certificate::Column::SubjectCn.eq(subject_cn))
        .filter(certificate::Column::Status.eq(CertificateStatus::Active))
        .filter(certificate::Column::NotAfter.gt(now))
        .order_by_asc(certificate::Column::Id)
        .all(db)
        .await
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
