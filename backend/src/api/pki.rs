//! `GET /api/ca.pem` and `GET /api/tls/client-certificate` (what this connection presented).

use actix_web::{HttpRequest, HttpResponse, web};
use common::api::PresentedCertificate;
use time::OffsetDateTime;

use crate::{
    certificates::revocation,
    error::ApiError,
    state::AppState,
    tls::peer::{classify, presented_leaf},
};

#[utoipa::path(
    get,
    path = "/api/ca.pem",
    tag = "pki",
    summary = "The certificate of this service's CA",
    responses(
        (status = 200, description = "The CA certificate (PEM)", content_type = "application/x-pem-file", body = String),
    )
)]
pub async fn ca_pem(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/x-pem-file")
        .insert_header(("Content-Disposition", "inline; filename=\"cjs-ca.pem\""))
        .body(state.ca.cert_pem().to_owned())
}

#[utoipa::path(
    get,
    path = "/api/tls/client-certificate",
    tag = "pki",
    summary = "Step ⑧: what the browser presented on this TLS connection",
    responses(
        (status = 200, description = "How the certificate presented on this connection is judged", body = common::api::PresentedCertificate),
        super::responses::Unavailable,
    )
)]
pub async fn presented_certificate(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let judged = classify(&state.db, presented_leaf(&req).as_deref(), OffsetDateTime::now_utc()).await?;
    let body = PresentedCertificate {
        class: judged.class,
        user_id: judged.record.as_ref().map(|r| r.subject_cn.clone()),
        serial: judged.record.as_ref().map(|r| r.serial.clone()),
        not_after: judged.record.as_ref().map(|r| r.not_after),
    };
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/crl`: the current CRL, DER, signed by the CA.
#[utoipa::path(
    get,
    path = "/api/crl",
    tag = "pki",
    summary = "The certificate revocation list (R8)",
    responses(
        (status = 200, description = "The current CRL (DER), signed by the CA", content_type = "application/pkix-crl", body = super::responses::Binary),
        super::responses::Unavailable,
    )
)]
pub async fn crl(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let der = revocation::current(&state.db, &state.ca, OffsetDateTime::now_utc()).await?;
    Ok(HttpResponse::Ok().content_type("application/pkix-crl").insert_header(("Cache-Control", "no-cache")).body(der))
}
