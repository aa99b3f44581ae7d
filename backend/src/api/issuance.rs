//! `POST /api/issuance/authenticate` and `POST /api/issuance/issue` (SPEC §5).

use actix_web::{HttpResponse, web};
use common::api::{Credentials, HEADER_CERT_NOT_AFTER, HEADER_CERT_SERIAL, IssuanceToken, IssueRequest};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use super::extract::PasswordAttempt;
use crate::{error::ApiError, state::AppState};

#[utoipa::path(
    post,
    path = "/api/issuance/authenticate",
    tag = "issuance",
    summary = "Step ④: ID and password (R1, R2); answers whether this issuance renews (R5)",
    request_body = common::api::Credentials,
    responses(
        (status = 200, description = "A single-use 10-minute issuance token", body = common::api::IssuanceToken),
        super::responses::BadInput, super::responses::Refused, super::responses::Conflict, super::responses::PasswordChangeRequired, super::responses::Unavailable,
    )
)]
pub async fn authenticate(
    _: PasswordAttempt,
    state: web::Data<AppState>,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, ApiError> {
    let grant = state.issuance.authenticate(&body.user_id, &body.password, OffsetDateTime::now_utc()).await?;
    Ok(HttpResponse::Ok().json(IssuanceToken {
        token: grant.token,
        expires_at: grant.expires_at,
        renewal: grant.renewal,
    }))
}

#[utoipa::path(
    post,
    path = "/api/issuance/issue",
    tag = "issuance",
    summary = "Step ⑥: the token and the password again; the certificate is issued once per token",
    request_body = common::api::IssueRequest,
    responses(
        (status = 200, description = "The PKCS#12 file (certificate, chain and new private key), encrypted with the password", content_type = "application/x-pkcs12", body = super::responses::Binary,
            headers(("x-certificate-serial" = String, description = "Serial number, lower-case hex"),
                    ("x-certificate-not-after" = String, description = "Expiry, RFC 3339"),
                    ("content-disposition" = String, description = "attachment; filename=\"<user>.p12\""))),
        super::responses::BadInput, super::responses::Refused, super::responses::Conflict, super::responses::Unavailable,
    )
)]
pub async fn issue(
    _: PasswordAttempt,
    state: web::Data<AppState>,
    body: web::Json<IssueRequest>,
) -> Result<HttpResponse, ApiError> {
    let issued = state.issuance.issue(&body.token, &body.password, OffsetDateTime::now_utc()).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/x-pkcs12")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{}\"", issued.filename)))
        .insert_header((HEADER_CERT_SERIAL, issued.serial))
        .insert_header((HEADER_CERT_NOT_AFTER, issued.not_after.format(&Rfc3339).unwrap_or_default()))
        .body(issued.p12))
}
