//! `POST /api/issuance/authenticate` and `POST /api/issuance/issue` (SPEC §5).

use actix_web::{HttpResponse, web};
use common::api::{Credentials, HEADER_CERT_NOT_AFTER, HEADER_CERT_SERIAL, IssuanceToken, IssueRequest};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{error::ApiError, startup::AppState};

pub async fn authenticate(state: web::Data<AppState>, body: web::Json<Credentials>) -> Result<HttpResponse, ApiError> {
    let grant = state.issuance.authenticate(&body.user_id, &body.password, OffsetDateTime::now_utc()).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(IssuanceToken {
        token: grant.token,
        expires_at: grant.expires_at,
        renewal: grant.renewal,
    }))
}

pub async fn issue(state: web::Data<AppState>, body: web::Json<IssueRequest>) -> Result<HttpResponse, ApiError> {
    let issued = state.issuance.issue(&body.token, &body.password, OffsetDateTime::now_utc()).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/x-pkcs12")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{}\"", issued.filename)))
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((HEADER_CERT_SERIAL, issued.serial))
        .insert_header((HEADER_CERT_NOT_AFTER, issued.not_after.format(&Rfc3339).unwrap_or_default()))
        .body(issued.p12))
}
