//! The bank staff's screens (`/admin`): companies, users, certificates (search, revoke), unlock,
//! audit log, outgoing mail. Every handler takes [`StaffUser`].

use actix_web::{HttpResponse, web};
use common::{
    UserId,
    api::{CreatedOrganization, NewOrganization, Revoke},
};
use time::OffsetDateTime;

use super::extract::{StaffUser, plain_text};
use crate::{
    auth::accounts::{self, Actor, NewAccount},
    directory::{self, AuditQuery, CertificateQuery, views},
    error::ApiError,
    state::AppState,
};

/// Lifts the lock of the user in `path` as `actor` and answers with the user's row: the
/// handler of both unlock routes (staff: anyone; a master user: their company's general users).
pub(super) async fn unlock_as(state: &AppState, actor: &Actor, path: &str) -> Result<HttpResponse, ApiError> {
    let target = UserId::parse(path).map_err(|_| ApiError::NotFound)?;
    let now = OffsetDateTime::now_utc();
    let u = accounts::unlock(&state.db, actor, &target, now).await?;
    Ok(HttpResponse::Ok().json(directory::user(&state.db, &u, now).await?))
}

#[utoipa::path(
    get,
    path = "/api/admin/organizations",
    tag = "staff",
    summary = "Companies",
    security(("session" = [])),
    responses(
        (status = 200, description = "All companies", body = Vec<common::api::OrganizationSummary>),
        super::responses::SessionRequired, super::responses::Unavailable,
    )
)]
pub async fn organizations(state: web::Data<AppState>, _s: StaffUser) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(directory::organizations(&state.db).await?))
}

#[utoipa::path(
    post,
    path = "/api/admin/organizations",
    tag = "staff",
    summary = "Registers a company and its master user",
    request_body = common::api::NewOrganization,
    security(("session" = [])),
    responses(
        (status = 200, description = "The company, its master user and the one-time initial password for the letter", body = common::api::CreatedOrganization),
        super::responses::BadInput, super::responses::SessionRequired, super::responses::Conflict, super::responses::Unavailable,
    )
)]
pub async fn create_organization(
    state: web::Data<AppState>,
    s: StaffUser,
    body: web::Json<NewOrganization>,
) -> Result<HttpResponse, ApiError> {
    let master_id = UserId::parse(&body.master_user_id)?;
    let now = OffsetDateTime::now_utc();
    let (org, password) = accounts::create_organization(
        &state.db,
        &state.auth.hasher,
        &body.name,
        state.config.certificate_limit,
        NewAccount { user_id: &master_id, email: &body.email, password: None },
        &s.0.actor(),
        now,
    )
    .await?;
    let summary = directory::organization(&state.db, org.id).await?.ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(CreatedOrganization {
        organization: summary,
        master_user_id: master_id.to_string(),
        initial_password: password.expose().to_owned(),
        url: state.auth.public_url.clone(),
    }))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsersQuery {
    pub organization_id: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/admin/users",
    tag = "staff",
    summary = "Users, optionally of one company",
    params(UsersQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "Users", body = Vec<common::api::UserSummary>),
        super::responses::BadQuery, super::responses::SessionRequired, super::responses::Unavailable,
    )
)]
pub async fn users(
    state: web::Data<AppState>,
    _s: StaffUser,
    q: web::Query<UsersQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(directory::users(&state.db, q.organization_id, OffsetDateTime::now_utc()).await?))
}

#[utoipa::path(
    post,
    path = "/api/admin/users/{user_id}/unlock",
    tag = "staff",
    summary = "Lifts a lock or block of any user (R2)",
    params(("user_id" = String, Path, description = "User ID")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The user after unlocking", body = common::api::UserSummary),
        super::responses::SessionRequired, super::responses::NotFound, super::responses::Unavailable,
    )
)]
pub async fn unlock(
    state: web::Data<AppState>,
    s: StaffUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    unlock_as(&state, &s.0.actor(), &path).await
}

#[utoipa::path(
    get,
    path = "/api/admin/certificates",
    tag = "staff",
    summary = "Certificate search",
    params(crate::directory::CertificateQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "At most 500 certificates, newest first", body = Vec<common::api::CertificateSummary>),
        super::responses::BadQuery, super::responses::SessionRequired, super::responses::Unavailable,
    )
)]
pub async fn certificates(
    state: web::Data<AppState>,
    _s: StaffUser,
    q: web::Query<CertificateQuery>,
) -> Result<HttpResponse, ApiError> {
    plain_text(&[
        ("organization", q.organization.as_deref()),
        ("user_id", q.user_id.as_deref()),
        ("serial", q.serial.as_deref()),
    ])?;
    Ok(HttpResponse::Ok().json(directory::certificates(&state.db, &q, OffsetDateTime::now_utc()).await?))
}

#[utoipa::path(
    post,
    path = "/api/admin/certificates/{serial}/revoke",
    tag = "staff",
    summary = "Revokes a certificate (R8)",
    request_body = common::api::Revoke,
    params(("serial" = String, Path, description = "Serial number, hex")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The revoked certificate", body = common::api::CertificateSummary),
        super::responses::BadInput, super::responses::SessionRequired, super::responses::NotFound, super::responses::Conflict, super::responses::Unavailable,
    )
)]
pub async fn revoke(
    state: web::Data<AppState>,
    s: StaffUser,
    path: web::Path<String>,
    body: web::Json<Revoke>,
) -> Result<HttpResponse, ApiError> {
    let now = OffsetDateTime::now_utc();
    let c = state.revocations.revoke(&s.0.actor(), &path, body.reason, now).await?;
    Ok(HttpResponse::Ok().json(views::certificate_summary(&c, None, now)))
}

#[utoipa::path(
    get,
    path = "/api/admin/audit",
    tag = "staff",
    summary = "The audit log",
    params(crate::directory::AuditQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "At most 200 entries, newest first", body = Vec<common::api::AuditEntry>),
        super::responses::BadQuery, super::responses::SessionRequired, super::responses::Unavailable,
    )
)]
pub async fn audit(
    state: web::Data<AppState>,
    _s: StaffUser,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    plain_text(&[("user_id", q.user_id.as_deref()), ("action", q.action.as_deref())])?;
    Ok(HttpResponse::Ok().json(directory::audit(&state.db, &q, directory::AUDIT_SCREEN_LIMIT).await?))
}

#[utoipa::path(
    get,
    path = "/api/admin/mail",
    tag = "staff",
    summary = "Outgoing mail",
    security(("session" = [])),
    responses(
        (status = 200, description = "The mail outbox, newest first", body = Vec<common::api::MailEntry>),
        super::responses::SessionRequired, super::responses::Unavailable,
    )
)]
pub async fn mail(state: web::Data<AppState>, _s: StaffUser) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(directory::mail(&state.db, None).await?))
}
