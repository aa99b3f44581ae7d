//! An [`ApiError`] as an HTTP answer: its status, its headers (`Retry-After`), and the JSON body
//! of the catalogue ([`super::messages`]); and the answers to a malformed query or JSON body.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use common::{ErrorBody, ErrorCode};

use super::ApiError;

/// `Retry-After` of an answer while the database cannot be reached (seconds).
pub const DATABASE_RETRY_AFTER_SECS: u32 = 2;

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Format(_) | ApiError::InvalidInput { .. } | ApiError::ControlCharacters { .. } => {
                StatusCode::BAD_REQUEST
            }
            ApiError::InvalidCredentials | ApiError::InvalidToken => StatusCode::UNAUTHORIZED,
            ApiError::Locked { .. } => StatusCode::LOCKED,
            ApiError::Blocked
            | ApiError::Retired
            | ApiError::Suspended
            | ApiError::PasswordRevoked
            | ApiError::Forbidden
            | ApiError::Refused(_)
            | ApiError::CertificateMismatch => StatusCode::FORBIDDEN,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Certificate(common::api::CertificateClass::None) => StatusCode::UNAUTHORIZED,
            ApiError::Certificate(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PasswordChangeRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::CertificateActive { .. } => StatusCode::CONFLICT,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Unavailable(_) | ApiError::SignerUnavailable(_) | ApiError::Busy => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(e) => tracing::error!(error = ?e, "request failed"),
            ApiError::Unavailable(e) => tracing::warn!(error = %format!("{e:#}"), "service unavailable"),
            ApiError::SignerUnavailable(e) => tracing::error!(error = %format!("{e:#}"), "the CA cannot sign"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header(("Cache-Control", "no-store"));
        match self {
            ApiError::TooManyRequests { retry_after_secs } => {
                response.insert_header(("Retry-After", retry_after_secs.to_string()));
            }
            ApiError::Busy => {
                response.insert_header(("Retry-After", "1"));
            }
            ApiError::SignerUnavailable(_) => {
                response.insert_header(("Retry-After", "30"));
            }
            // The database cannot be reached: a restart or a failover to the standby takes
            // seconds.
            ApiError::Unavailable(_) => {
                response.insert_header(("Retry-After", DATABASE_RETRY_AFTER_SECS.to_string()));
            }
            _ => {}
        }
        response.json(self.body())
    }
}

/// Answers a malformed query string with `invalid_input` as JSON.
pub fn query_error_handler(
    err: actix_web::error::QueryPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    let response = HttpResponse::BadRequest()
        .insert_header(("Cache-Control", "no-store"))
        .json(ErrorBody::new(ErrorCode::InvalidInput, "検索条件の形式が正しくありません。"));
    actix_web::error::InternalError::from_response(err, response).into()
}

/// Answers a malformed JSON body with `invalid_input` instead of actix's plain-text error.
pub fn json_error_handler(err: actix_web::error::JsonPayloadError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as J;
    let message = match &err {
        J::OverflowKnownLength { .. } | J::Overflow { .. } => "送信されたデータが大きすぎます。".to_owned(),
        J::ContentType => "Content-Type は application/json にしてください。".to_owned(),
        _ => "送信されたデータの形式が正しくありません。".to_owned(),
    };
    let status = match &err {
        J::OverflowKnownLength { .. } | J::Overflow { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    let code =
        if status == StatusCode::PAYLOAD_TOO_LARGE { ErrorCode::PayloadTooLarge } else { ErrorCode::InvalidInput };
    let response =
        HttpResponse::build(status).insert_header(("Cache-Control", "no-store")).json(ErrorBody::new(code, message));
    actix_web::error::InternalError::from_response(err, response).into()
}
