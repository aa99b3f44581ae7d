//! The previous release's staff-list queries (245407d, `backend/src/directory/queries.rs`, now `read/`),
//! replayed on the same data for the "previous release" column of the lists section: every
//! company with every member for the company list, every user with an `IN` list of every user's
//! key for the user list, the 500 newest certificates (a company search as an `IN` list of the
//! matching companies' ids, every company's name read for the names), the 200 newest audit
//! entries, the 500 newest mails. Nothing was paged: each answer was the whole list.

use std::collections::HashMap;

use backend::{
    db::entities::{audit_log, certificate, mail_outbox, organization, user},
    read::{lists, views},
};
use common::api::{
    AuditEntry, CertificateStatus, CertificateSummary, MailEntry, MailStatus, OrganizationSummary, UserSummary,
};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use time::OffsetDateTime;

async fn org_names<C: ConnectionTrait>(db: &C) -> Result<HashMap<i64, String>, DbErr> {
    Ok(organization::Entity::find().all(db).await?.into_iter().map(|o| (o.id, o.name)).collect())
}

/// `GET /api/admin/organizations`: every company, every member read to count them.
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

/// `GET /api/admin/users`: every user, then their certificates by an `IN` list of every key.
pub async fn users<C: ConnectionTrait>(db: &C, now: OffsetDateTime) -> Result<Vec<UserSummary>, DbErr> {
    let users =
        user::Entity::find().order_by_asc(user::Column::OrgId).order_by_asc(user::Column::UserId).all(db).await?;
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
        .map(|u| views::user_summary(u, u.org_id.and_then(|id| names.get(&id).cloned()), newest.get(&u.id), now))
        .collect())
}

/// `GET /api/admin/certificates`: the 500 newest of a search (company name as typed, no NFKC).
pub async fn certificates<C: ConnectionTrait>(
    db: &C,
    organization: Option<&str>,
    status: Option<CertificateStatus>,
    now: OffsetDateTime,
) -> Result<Vec<CertificateSummary>, DbErr> {
    let names = org_names(db).await?;
    let mut q = certificate::Entity::find().order_by_desc(certificate::Column::CreatedAt).limit(500);
    if let Some(org) = organization {
        let ids: Vec<i64> = names.iter().filter(|(_, n)| n.contains(org)).map(|(id, _)| *id).collect();
        q = q.filter(certificate::Column::OrgId.is_in(ids));
    }
    match status {
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

/// `GET /api/admin/audit`: the 200 newest entries (about a user: `subject_user` only).
pub async fn audit<C: ConnectionTrait>(
    db: &C,
    user_id: Option<&str>,
    action: Option<&str>,
) -> Result<Vec<AuditEntry>, DbErr> {
    let mut q = audit_log::Entity::find().order_by_desc(audit_log::Column::Id).limit(200);
    if let Some(uid) = user_id {
        q = q.filter(audit_log::Column::SubjectUser.eq(uid));
    }
    if let Some(action) = action {
        q = q.filter(audit_log::Column::Action.eq(action));
    }
    Ok(q.all(db).await?.into_iter().map(lists::audit_entry).collect())
}

/// `GET /api/admin/mail`: the 500 newest mails.
pub async fn mail<C: ConnectionTrait>(db: &C, status: Option<MailStatus>) -> Result<Vec<MailEntry>, DbErr> {
    let mut q = mail_outbox::Entity::find();
    if let Some(status) = status {
        q = q.filter(mail_outbox::Column::Status.eq(status));
    }
    Ok(q.order_by_desc(mail_outbox::Column::Id).limit(500).all(db).await?.into_iter().map(lists::mail_entry).collect())
}
