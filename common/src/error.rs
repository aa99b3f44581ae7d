//! The one error shape of the API: `{"code": "...", "message": "<Japanese text>", ...}`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Machine-readable error codes. The wire form is snake_case (`invalid_credentials`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidInput,
    InvalidCredentials,
    Locked,
    Blocked,
    /// The user ID is retired (利用停止).
    Retired,
    /// The user's company is suspended.
    Suspended,
    /// A certificate of the user was revoked for keyCompromise: the password must be reset.
    PasswordRevoked,
    PasswordChangeRequired,
    CertificateActive,
    InvalidToken,
    CertificateRequired,
    CertificateMismatch,
    CertificateRevoked,
    CertificateExpired,
    CertificateNotYetValid,
    CertificateUnknownIssuer,
    Unauthenticated,
    Forbidden,
    NotFound,
    /// The path exists but not with this HTTP method (405, with an `Allow` header).
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    /// Too many password attempts from this address (429, with `Retry-After`).
    TooManyRequests,
    /// The request body did not arrive in time (408; the connection is closed).
    RequestTimeout,
    ServiceUnavailable,
    Internal,
    /// The request never reached the server or the answer was unreadable (frontend only).
    Network,
}

/// The JSON body of every error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: ErrorCode,
    /// Japanese text for the user.
    pub message: String,
    /// The form field at fault (`invalid_input`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// When the lock lifts (`locked`).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub locked_until: Option<OffsetDateTime>,
    /// From when a new certificate may be issued (`certificate_active`).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub renewable_from: Option<OffsetDateTime>,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), field: None, locked_until: None, renewable_from: None }
    }
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_on_the_wire() {
        let body = ErrorBody::new(ErrorCode::PasswordChangeRequired, "x");
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["code"], "password_change_required");
        assert!(json.get("field").is_none());
    }
}
