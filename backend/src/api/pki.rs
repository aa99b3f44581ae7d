//! `GET /api/ca.pem`, `GET /api/crl`, `GET /api/tls/client-certificate` (what this connection
//! presented), and the revocation data for relying parties under `/pki` ([`super::configure_revocation`]):
//! the CA certificate and the CRL in DER, and the OCSP responder (RFC 6960 over HTTP: POST of
//! `application/ocsp-request`, or GET of its base64 in the path, RFC 9919 §6).

use std::time::SystemTime;

use actix_web::{
    HttpRequest, HttpResponse,
    http::header::{ETAG, EXPIRES, HttpDate, LAST_MODIFIED},
    web,
};
use base64::Engine;
use common::api::PresentedCertificate;
use time::OffsetDateTime;

use crate::{
    certificates::ocsp::{Answer, Cacheable},
    error::ApiError,
    pki::profile::OCSP_PATH,
    read::presented::classify,
    state::AppState,
    tls::peer::presented_leaf,
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
    // Every CA whose certificates are honoured (two during a rollover), newest first: what
    // `ca.pem` in the data directory holds.
    let pem = state.cas.pem_bundle();
    HttpResponse::Ok()
        .content_type("application/x-pem-file")
        .insert_header(("Content-Disposition", "inline; filename=\"cjs-ca.pem\""))
        .body(pem)
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
    let der = state.revocations.crl(OffsetDateTime::now_utc()).await?;
    Ok(HttpResponse::Ok().content_type("application/pkix-crl").insert_header(("Cache-Control", "no-cache")).body(der))
}

/// `GET /pki/ca.crt`: the certificate in DER of the oldest CA (whose certificates name this
/// path as their caIssuers).
pub async fn ca_der(state: web::Data<AppState>) -> HttpResponse {
    der_response(state.cas.oldest().cert_der())
}

fn der_response(der: &[u8]) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/pkix-cert")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(der.to_owned())
}

/// `GET /pki/{key id}/ca.crt`: a CA's certificate in DER (the caIssuers of a CA after the oldest).
pub async fn ca_der_of(state: web::Data<AppState>, key_id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let ca = state.cas.by_key_id(&key_id).ok_or(ApiError::NotFound)?;
    Ok(der_response(ca.cert_der()))
}

/// `GET /pki/{key id}/crl`: a CA's current CRL in DER (the CDP of a CA after the oldest).
pub async fn crl_of(state: web::Data<AppState>, key_id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let der = state.revocations.crl_of(&key_id, OffsetDateTime::now_utc()).await?;
    Ok(HttpResponse::Ok().content_type("application/pkix-crl").insert_header(("Cache-Control", "no-cache")).body(der))
}

/// Longest OCSP request read (one with [`crate::pki::ocsp::MAX_REQUESTS`] certificates and a
/// nonce is well under 1 KiB); a longer one is a malformed request.
const MAX_OCSP_REQUEST: usize = 4096;

/// Base64 of the GET form: the standard alphabet, padding or not.
const GET_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// `POST /pki/ocsp`: the DER request in the body.
pub async fn ocsp_post(state: web::Data<AppState>, body: web::Payload) -> HttpResponse {
    let der = match body.to_bytes_limited(MAX_OCSP_REQUEST).await {
        Ok(Ok(bytes)) => bytes.to_vec(),
        _ => Vec::new(), // too long or cut off: answered as malformed
    };
    ocsp_answer(&state, &der).await
}

/// `GET /pki/ocsp/{base64 of the DER request, URL-encoded}`.
pub async fn ocsp_get(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let raw = req.uri().path().strip_prefix(OCSP_PATH).and_then(|r| r.strip_prefix('/')).unwrap_or_default();
    let der = if raw.len() > MAX_OCSP_REQUEST * 2 {
        Vec::new()
    } else {
        let text: Vec<u8> = percent_encoding::percent_decode_str(raw).collect();
        GET_BASE64.decode(text).unwrap_or_default()
    };
    ocsp_answer(&state, &der).await
}

/// The answer with the headers of RFC 9919 §7.2 when a cache may keep it (signed, no nonce).
async fn ocsp_answer(state: &AppState, der: &[u8]) -> HttpResponse {
    let now = OffsetDateTime::now_utc();
    let Answer { der, cacheable, .. } = state.ocsp.answer(der, now).await;
    let mut response = HttpResponse::Ok();
    response.content_type("application/ocsp-response");
    match cacheable {
        Some(Cacheable { this_update, next_update, etag }) => {
            let max_age = (next_update - now).whole_seconds().max(0);
            response
                .insert_header(("Cache-Control", format!("max-age={max_age}, public, no-transform, must-revalidate")))
                .insert_header((LAST_MODIFIED, HttpDate::from(SystemTime::from(this_update))))
                .insert_header((EXPIRES, HttpDate::from(SystemTime::from(next_update))))
                .insert_header((ETAG, &*etag));
        }
        None => {
            response.insert_header(("Cache-Control", "no-store"));
        }
    }
    response.body(der)
}
