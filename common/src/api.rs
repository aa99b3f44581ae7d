//! Requests and responses of the JSON API (SPEC §5). Timestamps are RFC 3339 on the wire.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Response headers of `POST /api/issuance/issue` that describe the certificate in the body.
pub const HEADER_CERT_SERIAL: &str = "x-certificate-serial";
/// RFC 3339 expiry of the issued certificate.
pub const HEADER_CERT_NOT_AFTER: &str = "x-certificate-not-after";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
}

/// `POST /api/issuance/authenticate` and `POST /api/login`. The fields are plain strings so the
/// server can answer a malformed value with `invalid_input` naming the field.
#[derive(Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub user_id: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("user_id", &self.user_id).finish_non_exhaustive()
    }
}

/// Answer of a successful issuance authentication.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssuanceToken {
    /// Single-use, 10-minute token for `POST /api/issuance/issue`.
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// True when the user already holds a certificate that this issuance renews (R5).
    pub renewal: bool,
}

/// `POST /api/issuance/issue`.
#[derive(Clone, Serialize, Deserialize)]
pub struct IssueRequest {
    pub token: String,
    pub password: String,
}

impl std::fmt::Debug for IssueRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssueRequest").finish_non_exhaustive()
    }
}

/// `POST /api/password/change`: replaces a one-time initial password (R11) or any password.
#[derive(Clone, Serialize, Deserialize)]
pub struct PasswordChange {
    pub user_id: String,
    pub current_password: String,
    pub new_password: String,
    /// The e-mail address for notices; the master registration asks for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordChange").field("user_id", &self.user_id).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasswordChanged {
    pub user_id: String,
}

/// How the server judged the client certificate presented on this TLS connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateClass {
    /// No certificate was presented.
    None,
    Valid,
    Expired,
    NotYetValid,
    Revoked,
    /// Not issued by this service's CA (or not found in its records).
    UnknownIssuer,
}

/// `GET /api/tls/client-certificate`: what the browser presented on this connection (⑧ check).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PresentedCertificate {
    pub class: CertificateClass,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub not_after: Option<OffsetDateTime>,
}
