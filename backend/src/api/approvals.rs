//! 検印 on the staff screens (the 承認待ち tab): the requests, approving and rejecting them
//! ([`crate::approvals`]); and the audit log's chain for auditors (entries with their hashes and
//! the checkpoints that cover them, [`crate::audit::export`]).

use actix_web::{HttpResponse, http::header, web};
use common::api::{ApprovalDone, RejectApproval};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use super::extract::StaffUser;
use crate::{
    approvals,
    audit::{self, export},
    error::ApiError,
    state::AppState,
};

#[utoipa::path(
    get,
    path = "/api/admin/approvals",
    tag = "staff",
    summary = "Requests for a second staff member's approval (検印): those waiting (oldest first), then the 50 latest decided",
    security(("session" = [])),
    responses(
        (status = 200, description = "The requests, and how many wait", body = common::api::ApprovalList),
        super::responses::SessionRequired, super::responses::Unavailable,
    )
)]
pub async fn list(state: web::Data<AppState>, _s: StaffUser) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(approvals::list(&state.db, OffsetDateTime::now_utc()).await?))
}

fn id_of(path: &str) -> Result<i64, ApiError> {
    path.parse().map_err(|_| ApiError::NotFound)
}

#[utoipa::path(
    post,
    path = "/api/admin/approvals/{id}/approve",
    tag = "staff",
    summary = "Approves a request of another staff member: its operation is checked again and done now, in the approval's transaction",
    params(("id" = i64, Path, description = "The request's number")),
    security(("session" = [])),
    responses(
        (status = 200, description = "Done; with the one-time initial password when the operation made one", body = common::api::ApprovalDone),
        (status = 403, description = "One's own request, or an operation on oneself", body = common::ErrorBody),
        (status = 409, description = "Expired, already decided, or its operation no longer applies (then nothing was changed)", body = common::ErrorBody),
        super::responses::SessionRequired, super::responses::NotFound, super::responses::Unavailable,
    )
)]
pub async fn approve(
    state: web::Data<AppState>,
    s: StaffUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let now = OffsetDateTime::now_utc();
    let (row, outcome) = approvals::approve(state.approval_services(), &s.0.user, id_of(&path)?, now).await?;
    if outcome.revoked {
        state.revocations.wake();
    }
    Ok(HttpResponse::Ok().json(ApprovalDone {
        approval: approvals::view(&row, now),
        initial_password: outcome.initial_password,
        user_id: outcome.user_id,
    }))
}

#[utoipa::path(
    post,
    path = "/api/admin/approvals/{id}/reject",
    tag = "staff",
    summary = "Rejects a request, with a reason (its proposer may withdraw it so): nothing is done, and the proposer is told",
    params(("id" = i64, Path, description = "The request's number")),
    request_body = common::api::RejectApproval,
    security(("session" = [])),
    responses(
        (status = 200, description = "The request, rejected", body = common::api::Approval),
        (status = 409, description = "Expired or already decided", body = common::ErrorBody),
        super::responses::BadInput, super::responses::SessionRequired, super::responses::NotFound, super::responses::Unavailable,
    )
)]
pub async fn reject(
    state: web::Data<AppState>,
    s: StaffUser,
    path: web::Path<String>,
    body: web::Json<RejectApproval>,
) -> Result<HttpResponse, ApiError> {
    super::extract::plain_text(&[("reason", Some(body.reason.as_str()))])?;
    let now = OffsetDateTime::now_utc();
    let row = approvals::reject(state.approval_services(), &s.0.user, id_of(&path)?, &body.reason, now).await?;
    Ok(HttpResponse::Ok().json(approvals::view(&row, now)))
}

/// The query of [`chain`].
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ChainQuery {
    /// First day (JST), e.g. 2026-12-01.
    from: String,
    /// Last day (JST), included.
    to: String,
    /// jsonl (default) or csv.
    #[param(value_type = Option<String>)]
    format: Option<export::Format>,
}

#[utoipa::path(
    get,
    path = "/api/admin/audit/chain",
    tag = "staff",
    summary = "The audit log's chain for auditors: the entries of some days with their hashes, the hash before them, and the signed checkpoints that cover them; streamed, recorded in the audit log",
    params(ChainQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "JSON Lines (or CSV)", content_type = "application/jsonl", body = String),
        super::responses::BadQuery, super::responses::SessionRequired, super::responses::Unavailable,
    )
)]
pub async fn chain(
    state: web::Data<AppState>,
    s: StaffUser,
    q: web::Query<ChainQuery>,
) -> Result<HttpResponse, ApiError> {
    let bad = |message: String| ApiError::InvalidInput { field: Some("from"), message };
    let (from, to) = (export::parse_day(&q.from).map_err(bad)?, export::parse_day(&q.to).map_err(bad)?);
    if from > to {
        return Err(bad("開始日は終了日より前の日付にしてください。".to_owned()));
    }
    let format = q.format.unwrap_or(export::Format::Jsonl);
    let now = OffsetDateTime::now_utc();
    let plan = export::Export::plan(&state.db, state.audit_key.verifier().clone(), from, to, format).await?;
    let actor = s.0.actor().name();
    let entry = audit::Entry {
        action: audit::Action::Exported,
        actor: Some(&actor),
        subject_user: None,
        org_id: None,
        detail: json!({"list": "audit_chain", "from": q.from, "to": q.to, "rows": plan.entries()}),
    };
    audit::record(&state.db, entry, now).await?;
    let name = plan.file_name();
    Ok(HttpResponse::Ok()
        .content_type(plan.content_type())
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .insert_header(("X-Export-Rows", plan.entries().to_string()))
        .streaming(export::stream(state.db.clone(), plan)))
}
