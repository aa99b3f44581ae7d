//! The bank staff's screens (`/admin`): companies (change, suspend, resume, a new master user),
//! users (unlock, password reset, retire, e-mail address, make master),
//! certificates (search, revoke),
//! audit log, outgoing mail, each list searched and paged on the server; one company and one
//! user for their detail pages; CSV exports. Every handler takes [`StaffUser`].

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use common::{
    UserId,
    api::{
        ApprovalProposed, ChangeEmail, CreatedOrganization, MakeMaster, NewMaster, NewOrganization, Retire, Revoke,
        UpdateOrganization,
        list::{AuditSearch, CertificateSearch, Export, MailSearch, OrganizationSearch, UserSearch},
    },
};
use serde_json::json;
use time::OffsetDateTime;

use super::extract::StaffUser;
use crate::{
    approvals::{self, Operation},
    audit,
    auth::accounts::{self, Actor, NewAccount},
    error::ApiError,
    read::{self, export, lists},
    state::AppState,
};

/// Does `op` as `actor` at once (a master user's own operations, and staff operations that need
/// no approval), and answers as its route does.
pub(super) async fn direct(state: &AppState, actor: &Actor, op: Operation) -> Result<HttpResponse, ApiError> {
    let out = op.execute(state.approval_services(), &state.db, actor, OffsetDateTime::now_utc()).await?;
    if out.revoked {
        state.revocations.wake();
    }
    Ok(HttpResponse::Ok().json(out.body))
}

/// Does `op` as staff member `s`, or — when `approval_required` lists it — only proposes it:
/// 202 with the request's number, nothing changed, until a second staff member approves it.
async fn staff_does(state: &AppState, s: &StaffUser, op: Operation) -> Result<HttpResponse, ApiError> {
    let actor = s.0.actor();
    let Some(kind) = approvals::needed(&state.db, &state.config.approvals, &actor, &op).await? else {
        return direct(state, &actor, op).await;
    };
    let row = approvals::propose(state.approval_services(), &s.0.user, &op, kind, OffsetDateTime::now_utc()).await?;
    Ok(HttpResponse::Accepted().json(ApprovalProposed {
        approval_id: row.id,
        expires_at: row.expires_at,
        message: format!(
            "申請番号 {} として承認待ちに登録しました。別の職員が承認すると実行されます（期限: {}）。",
            row.id,
            common::jst::format_datetime(row.expires_at)
        ),
    }))
}

/// Lifts the lock of the user in `path` as `actor` and answers with the user's row: the
/// handler of the master users' unlock route.
pub(super) async fn unlock_as(state: &AppState, actor: &Actor, path: &str) -> Result<HttpResponse, ApiError> {
    direct(state, actor, Operation::Unlock { user_id: path.to_owned() }).await
}

/// Resets the password of the user in `path` as `actor` and answers with the new one-time
/// initial password: the handler of the master users' reset route.
pub(super) async fn reset_password_as(state: &AppState, actor: &Actor, path: &str) -> Result<HttpResponse, ApiError> {
    direct(state, actor, Operation::ResetPassword { user_id: path.to_owned() }).await
}

/// The retirement of the user in `path`, its reason checked.
fn retire_op(path: &str, body: &Retire) -> Result<Operation, ApiError> {
    super::extract::plain_text(&[("reason", body.reason.as_deref())])?;
    Ok(Operation::Retire { user_id: path.to_owned(), reason: body.reason.clone() })
}

/// Retires the user in `path` as `actor`: the handler of the master users' retire route.
pub(super) async fn retire_as(
    state: &AppState,
    actor: &Actor,
    path: &str,
    body: &Retire,
) -> Result<HttpResponse, ApiError> {
    direct(state, actor, retire_op(path, body)?).await
}

/// Changes the e-mail address of the user in `path` as `actor`: the handler of both routes.
pub(super) async fn change_email_as(
    state: &AppState,
    actor: &Actor,
    path: &str,
    body: &ChangeEmail,
) -> Result<HttpResponse, ApiError> {
    let target = UserId::parse(path).map_err(|_| ApiError::NotFound)?;
    let now = OffsetDateTime::now_utc();
    let u = accounts::change_email(&state.db, actor, &target, &body.email, &state.public_url, now).await?;
    Ok(HttpResponse::Ok().json(read::user(&state.db, &u, now).await?))
}

#[utoipa::path(
    get,
    path = "/api/admin/organizations",
    tag = "staff",
    summary = "Companies: searched (part of the name, full-width or half-width; the master's ID), sorted, paged",
    params(OrganizationSearch),
    security(("session" = [])),
    responses(
        (status = 200, description = "One page of companies", body = common::api::list::Page<common::api::OrganizationSummary>),
        super::responses::BadQuery, super::responses::SessionRequired, super::responses::Unavailable,
    )
)]
pub async fn organizations(
    state: web::Data<AppState>,
    _s: StaffUser,
    q: web::Query<OrganizationSearch>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(lists::organizations(&state.db, &q).await?))
}

#[utoipa::path(
    get,
    path = "/api/admin/organizations/{id}",
    tag = "staff",
    summary = "One company (its detail page)",
    params(("id" = i64, Path, description = "The company's id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The company and its certificate holders", body = common::api::OrganizationDetail),
        super::responses::SessionRequired, super::responses::NotFound, super::responses::Unavailable,
    )
)]
pub async fn organization(
    state: web::Data<AppState>,
    _s: StaffUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: i64 = path.parse().map_err(|_| ApiError::NotFound)?;
    let detail = read::organization_detail(&state.db, id, OffsetDateTime::now_utc()).await?;
    Ok(HttpResponse::Ok().json(detail.ok_or(ApiError::NotFound)?))
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
    let summary = lists::organization(&state.db, org.id).await?.ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(CreatedOrganization {
        organization: summary,
        master_user_id: master_id.to_string(),
        initial_password: password.expose().to_owned(),
        url: state.auth.public_url.clone(),
    }))
}

#[utoipa::path(
    post,
    path = "/api/admin/organizations/{id}",
    tag = "staff",
    summary = "Changes a company's name and/or certificate limit (certificates issued later carry the new name)",
    request_body = common::api::UpdateOrganization,
    params(("id" = i64, Path, description = "The company's id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The company after the change", body = common::api::OrganizationSummary),
        (status = 202, description = "Proposed only: it waits for a second staff member's approval (検印, `approval_required`)", body = common::api::ApprovalProposed),
        super::responses::BadInput, super::responses::SessionRequired, super::responses::NotFound, super::responses::Unavailable,
    )
)]
pub async fn update_organization(
    state: web::Data<AppState>,
    s: StaffUser,
    path: web::Path<String>,
    body: web::Json<UpdateOrganization>,
) -> Result<HttpResponse, ApiError> {
    super::extract::plain_text(&[("name", body.name.as_deref())])?;
    let org_id: i64 = path.parse().map_err(|_| ApiError::NotFound)?;
    let op = Operation::UpdateOrganization {
        org_id,
        name: body.name.clone(),
        certificate_limit: body.certificate_limit,
        force: body.force,
    };
    staff_does(&state, &s, op).await
}

/// Suspends or resumes the company in `path`: the handler of both routes.
async fn set_suspended(state: &AppState, s: &StaffUser, path: &str, suspend: bool) -> Result<HttpResponse, ApiError> {
    let org_id: i64 = path.parse().map_err(|_| ApiError::NotFound)?;
    staff_does(state, s, if suspend { Operation::Suspend { org_id } } else { Operation::Resume { org_id } }).await
}

#[utoipa::path(
    post,
    path = "/api/admin/organizations/{id}/suspend",
    tag = "staff",
    summary = "Suspends a company: its users are refused at authentication, issuance and login, and their sessions end; nothing is revoked",
    params(("id" = i64, Path, description = "The company's id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The company, suspended", body = common::api::OrganizationSummary),
        (status = 202, description = "Proposed only: it waits for a second staff member's approval (検印, `approval_required`)", body = common::api::ApprovalProposed),
        super::responses::SessionRequired, super::responses::NotFound, super::responses::Conflict, super::responses::Unavailable,
    )
)]
pub async fn suspend_organization(
    state: web::Data<AppState>,
    s: StaffUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_suspended(&state, &s, &path, true).await
}

#[utoipa::path(
    post,
    path = "/api/admin/organizations/{id}/resume",
    tag = "staff",
    summary = "Resumes a suspended company: everything as it was",
    params(("id" = i64, Path, description = "The company's id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The company, resumed", body = common::api::OrganizationSummary),
        (status = 202, description = "Proposed only: it waits for a second staff member's approval (検印, `approval_required`)", body = common::api::ApprovalProposed),
        super::responses::SessionRequired, super::responses::NotFound, super::responses::Conflict, super::responses::Unavailable,
    )
)]
pub async fn resume_organization(
    state: web::Data<AppState>,
    s: StaffUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_suspended(&state, &s, &path, false).await
}

#[utoipa::path(
    post,
    path = "/api/admin/organizations/{id}/master",
    tag = "staff",
    summary = "Makes a new account the company's master user (マスターユーザー変更); the former master user becomes a general user or is retired",
    request_body = common::api::NewMaster,
    params(("id" = i64, Path, description = "The company's id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The new master user with the one-time initial password for the letter, and the former ones", body = common::api::MasterChanged),
        (status = 202, description = "Proposed only: it waits for a second staff member's approval (検印, `approval_required`)", body = common::api::ApprovalProposed),
        super::responses::BadInput, super::responses::SessionRequired, super::responses::NotFound, super::responses::Unavailable,
    )
)]
pub async fn new_master(
    state: web::Data<AppState>,
    s: StaffUser,
    path: web::Path<String>,
    body: web::Json<NewMaster>,
) -> Result<HttpResponse, ApiError> {
    let org_id: i64 = path.parse().map_err(|_| ApiError::NotFound)?;
    let op = Operation::NewMaster {
        org_id,
        user_id: body.master_user_id.clone(),
        email: body.email.trim().to_owned(),
        retire_former: body.retire_former,
    };
    staff_does(&state, &s, op).await
}

#[utoipa::path(
    get,
    path = "/api/admin/users",
    tag = "staff",
    summary = "Users: searched (ID prefix, e-mail, company, role, state), sorted, paged",
    params(UserSearch),
    security(("session" = [])),
    responses(
        (status = 200, description = "One page of users, each with their newest certificate", body = common::api::list::Page<common::api::UserSummary>),
        super::responses::BadQuery, super::responses::SessionRequired, super::responses::Unavailable,
    )
)]
pub async fn users(
    state: web::Data<AppState>,
    _s: StaffUser,
    q: web::Query<UserSearch>,
) -> Result<HttpResponse, ApiError> {
    let page = lists::users(&state.db, &q, lists::UserScope::All, OffsetDateTime::now_utc()).await?;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(
    get,
    path = "/api/admin/users/{user_id}",
    tag = "staff",
    summary = "One user (their detail page)",
    params(("user_id" = String, Path, description = "User ID")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The user, their certificates and the newest audit entries about them", body = common::api::UserDetail),
        super::responses::SessionRequired, super::responses::NotFound, super::responses::Unavailable,
    )
)]
pub async fn user(
    state: web::Data<AppState>,
    _s: StaffUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = UserId::parse(&path).map_err(|_| ApiError::NotFound)?;
    let detail = read::user_detail(&state.db, id.as_str(), OffsetDateTime::now_utc()).await?;
    Ok(HttpResponse::Ok().json(detail.ok_or(ApiError::NotFound)?))
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
        (status = 202, description = "Proposed only: it waits for a second staff member's approval (検印, `approval_required`)", body = common::api::ApprovalProposed),
        super::responses::SessionRequired, super::responses::NotFound, super::responses::Conflict, super::responses::Unavailable,
    )
)]
pub async fn unlock(
    state: web::Data<AppState>,
    s: StaffUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    staff_does(&state, &s, Operation::Unlock { user_id: path.into_inner() }).await
}

#[utoipa::path(
    post,
    path = "/api/admin/users/{user_id}/reset-password",
    tag = "staff",
    summary = "Resets the password of any user but oneself to a new one-time initial password (R11); lifts a lock or block and ends the user's sessions",
    params(("user_id" = String, Path, description = "User ID")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The user and the new one-time initial password, shown once, for 「ご利用開始(変更)のお知らせ」", body = common::api::PasswordReset),
        (status = 202, description = "Proposed only: it waits for a second staff member's approval (検印, `approval_required`)", body = common::api::ApprovalProposed),
        super::responses::SessionRequired, super::responses::NotFound, super::responses::Conflict, super::responses::Unavailable,
    )
)]
pub async fn reset_password(
    state: web::Data<AppState>,
    s: StaffUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    staff_does(&state, &s, Operation::ResetPassword { user_id: path.into_inner() }).await
}

#[utoipa::path(
    post,
    path = "/api/admin/users/{user_id}/retire",
    tag = "staff",
    summary = "Retires (利用停止) any user but oneself and the last active staff member: revokes every active certificate (cessationOfOperation), ends the sessions, refuses every later login and issuance",
    request_body = common::api::Retire,
    params(("user_id" = String, Path, description = "User ID")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The retired user and the serials revoked", body = common::api::RetiredUser),
        (status = 202, description = "Proposed only: it waits for a second staff member's approval (検印, `approval_required`)", body = common::api::ApprovalProposed),
        super::responses::BadInput, super::responses::SessionRequired, super::responses::NotFound, super::responses::Conflict, super::responses::Unavailable,
    )
)]
pub async fn retire(
    state: web::Data<AppState>,
    s: StaffUser,
    path: web::Path<String>,
    body: web::Json<Retire>,
) -> Result<HttpResponse, ApiError> {
    staff_does(&state, &s, retire_op(&path, &body)?).await
}

#[utoipa::path(
    post,
    path = "/api/admin/users/{user_id}/email",
    tag = "staff",
    summary = "Changes the e-mail address of any user but oneself; the old and the new address are both told",
    request_body = common::api::ChangeEmail,
    params(("user_id" = String, Path, description = "User ID")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The user with the new address", body = common::api::UserSummary),
        super::responses::BadInput, super::responses::SessionRequired, super::responses::NotFound, super::responses::Conflict, super::responses::Unavailable,
    )
)]
pub async fn change_email(
    state: web::Data<AppState>,
    s: StaffUser,
    path: web::Path<String>,
    body: web::Json<ChangeEmail>,
) -> Result<HttpResponse, ApiError> {
    change_email_as(&state, &s.0.actor(), &path, &body).await
}

#[utoipa::path(
    post,
    path = "/api/admin/users/{user_id}/make-master",
    tag = "staff",
    summary = "Makes a general user their company's master user (マスターユーザー変更) with a new one-time initial password for the letter; the former master user becomes a general user or is retired",
    request_body = common::api::MakeMaster,
    params(("user_id" = String, Path, description = "User ID")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The new master user with the one-time initial password for the letter, and the former ones", body = common::api::MasterChanged),
        (status = 202, description = "Proposed only: it waits for a second staff member's approval (検印, `approval_required`)", body = common::api::ApprovalProposed),
        super::responses::BadInput, super::responses::SessionRequired, super::responses::NotFound, super::responses::Conflict, super::responses::Unavailable,
    )
)]
pub async fn make_master(
    state: web::Data<AppState>,
    s: StaffUser,
    path: web::Path<String>,
    body: web::Json<MakeMaster>,
) -> Result<HttpResponse, ApiError> {
    let op = Operation::MakeMaster { user_id: path.into_inner(), retire_former: body.retire_former };
    staff_does(&state, &s, op).await
}

#[utoipa::path(
    get,
    path = "/api/admin/certificates",
    tag = "staff",
    summary = "Certificates: searched (company, user, serial, status, key type), sorted, paged",
    params(CertificateSearch),
    security(("session" = [])),
    responses(
        (status = 200, description = "One page of certificates", body = common::api::list::Page<common::api::CertificateSummary>),
        super::responses::BadQuery, super::responses::SessionRequired, super::responses::Unavailable,
    )
)]
pub async fn certificates(
    state: web::Data<AppState>,
    _s: StaffUser,
    q: web::Query<CertificateSearch>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(lists::certificates(&state.db, &q, OffsetDateTime::now_utc()).await?))
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
        (status = 202, description = "Proposed only: it waits for a second staff member's approval (検印, `approval_required`)", body = common::api::ApprovalProposed),
        super::responses::BadInput, super::responses::SessionRequired, super::responses::NotFound, super::responses::Conflict, super::responses::Unavailable,
    )
)]
pub async fn revoke(
    state: web::Data<AppState>,
    s: StaffUser,
    path: web::Path<String>,
    body: web::Json<Revoke>,
) -> Result<HttpResponse, ApiError> {
    staff_does(&state, &s, Operation::Revoke { serial: path.into_inner(), reason: body.reason }).await
}

#[utoipa::path(
    get,
    path = "/api/admin/audit",
    tag = "staff",
    summary = "The audit log: searched (user, action, JST dates, client address), paged, newest first by default",
    params(AuditSearch),
    security(("session" = [])),
    responses(
        (status = 200, description = "One page of audit entries", body = common::api::list::Page<common::api::AuditEntry>),
        super::responses::BadQuery, super::responses::SessionRequired, super::responses::Unavailable,
    )
)]
pub async fn audit(
    state: web::Data<AppState>,
    _s: StaffUser,
    q: web::Query<AuditSearch>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(lists::audit(&state.db, &q).await?))
}

#[utoipa::path(
    get,
    path = "/api/admin/mail",
    tag = "staff",
    summary = "Outgoing mail: searched (status, recipient), paged, newest first by default",
    params(MailSearch),
    security(("session" = [])),
    responses(
        (status = 200, description = "One page of the mail outbox", body = common::api::list::Page<common::api::MailEntry>),
        super::responses::BadQuery, super::responses::SessionRequired, super::responses::Unavailable,
    )
)]
pub async fn mail(
    state: web::Data<AppState>,
    _s: StaffUser,
    q: web::Query<MailSearch>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(lists::mail(&state.db, &q).await?))
}

#[utoipa::path(
    get,
    path = "/api/admin/export/{list}",
    tag = "staff",
    summary = "CSV export of a search (UTF-8 with BOM, JST times), streamed; recorded in the audit log",
    params(
        ("list" = String, Path, description = "organizations, users, certificates or audit"),
        ("query" = Option<String>, Query, description = "The list's search parameters, as for its list (sort honoured; limit and cursor ignored)"),
    ),
    security(("session" = [])),
    responses(
        (status = 200, description = "The CSV file", content_type = "text/csv", body = String),
        super::responses::BadQuery, super::responses::SessionRequired, super::responses::NotFound, super::responses::Unavailable,
    )
)]
pub async fn export(
    state: web::Data<AppState>,
    s: StaffUser,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let list = Export::parse(&path).ok_or(ApiError::NotFound)?;
    let now = OffsetDateTime::now_utc();
    let sqlite = state.db.get_database_backend() == sea_orm::DbBackend::Sqlite;
    let plan = export::plan(list, req.query_string(), now, sqlite)?;
    // Recorded before a byte leaves: an export nobody can see in the log does not happen.
    let rows = plan.count(&state.db).await?;
    let actor = s.0.actor().name();
    audit::record(
        &state.db,
        audit::Entry {
            action: audit::Action::Exported,
            actor: Some(&actor),
            subject_user: None,
            org_id: None,
            detail: json!({"list": list.segment(), "search": plan.search(), "rows": rows}),
        },
        now,
    )
    .await?;
    let name = export::file_name(list, now);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .insert_header(("X-Export-Rows", rows.to_string()))
        .streaming(plan.stream(state.db.clone())))
}
