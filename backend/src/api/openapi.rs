//! `GET /api/openapi.json`: the OpenAPI 3.1 description of this API, generated from the
//! `#[utoipa::path]` attributes on the handlers and the `ToSchema` types of `common::api`.
//! schemathesis runs against it in CI (`backend/tests/api/bad_input.rs`).

use std::sync::OnceLock;

use actix_web::HttpResponse;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, SecurityScheme},
};

use common::ErrorBody;

use super::{admin, health, issuance, org, password, pki, session};
use crate::auth::sessions;

/// Names of the two security schemes: the TLS client certificate and the session cookie.
pub const CLIENT_CERTIFICATE: &str = "client_certificate";
pub const SESSION: &str = "session";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ろうきん賃金控除事務支援システム 証明書サービス API",
        description = "Issuance, renewal and re-issue of TLS client certificates, login with certificate and password, \
                       and the master user's and bank staff's screens. Every error answer is an `ErrorBody` whose \
                       `message` is Japanese text for the user.",
    ),
    paths(
        health::health,
        issuance::authenticate,
        issuance::issue,
        password::change,
        pki::ca_pem,
        pki::crl,
        pki::presented_certificate,
        session::login,
        session::logout,
        session::current,
        org::list,
        org::create,
        org::unlock,
        admin::organizations,
        admin::create_organization,
        admin::users,
        admin::unlock,
        admin::certificates,
        admin::revoke,
        admin::audit,
        admin::mail,
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "issuance", description = "The issuance wizard (steps ④–⑦) and the initial password change"),
        (name = "session", description = "Login with certificate and password (R9)"),
        (name = "pki", description = "The CA certificate, the CRL and the presented certificate"),
        (name = "master", description = "A company's master user"),
        (name = "staff", description = "Bank staff (/admin)"),
    )
)]
pub struct ApiDoc;

// The error answers, in the groups the operations share. Each is an `ErrorBody`.

/// A request the server cannot take as it is.
#[derive(utoipa::IntoResponses)]
pub enum BadInput {
    /// Malformed JSON or a value breaking a rule (`invalid_input`, naming the field).
    #[response(status = 400)]
    Invalid(ErrorBody),
    /// A body larger than 16 KiB (`payload_too_large`), refused before it is read.
    #[response(status = 413)]
    TooLarge(ErrorBody),
}

/// A query string the server cannot take.
#[derive(utoipa::IntoResponses)]
pub enum BadQuery {
    /// A malformed query or a search term with control characters (`invalid_input`).
    #[response(status = 400)]
    Invalid(ErrorBody),
}

/// The answers of a password check (R2).
#[derive(utoipa::IntoResponses)]
pub enum Refused {
    /// Wrong ID or password (`invalid_credentials`), an invalid or used token (`invalid_token`), or
    /// no client certificate where one is needed.
    #[response(status = 401)]
    Unauthenticated(ErrorBody),
    /// A blocked account (`blocked`), a client certificate that is revoked, expired, not this
    /// CA's or another user's, or a cross-site request (`forbidden`: a foreign `Origin`).
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// Locked after consecutive wrong passwords (by default 6, for 60 minutes; `locked`, with
    /// `locked_until`; an unknown ID locks alike). The lock that would be the third in a row
    /// blocks instead (403 `blocked`).
    #[response(status = 423)]
    Locked(ErrorBody),
    /// Too many password attempts from this client address (`too_many_requests`; by default 10 a
    /// minute with a burst of 30): try again after `Retry-After` seconds.
    #[response(status = 429, headers(("retry-after" = u64, description = "Seconds until the next attempt is taken")))]
    TooManyRequests(ErrorBody),
}

/// Operations behind a login.
#[derive(utoipa::IntoResponses)]
pub enum SessionRequired {
    /// No live session for the certificate of this connection (`unauthenticated`), or no certificate.
    #[response(status = 401)]
    Unauthenticated(ErrorBody),
    /// The wrong role, a cross-site request (`forbidden`), or a certificate no longer valid.
    #[response(status = 403)]
    Forbidden(ErrorBody),
}

#[derive(utoipa::IntoResponses)]
pub enum NotFound {
    /// No such user or certificate (`not_found`).
    #[response(status = 404)]
    NotFound(ErrorBody),
}

#[derive(utoipa::IntoResponses)]
pub enum Conflict {
    /// A valid certificate exists and renewal is not open yet (`certificate_active`, with
    /// `renewable_from`), the company's certificate limit, already revoked, or a user ID or company
    /// name registered by a concurrent request (`conflict`; taken before the request: 400).
    #[response(status = 409)]
    Conflict(ErrorBody),
}

#[derive(utoipa::IntoResponses)]
pub enum PasswordChangeRequired {
    /// The one-time initial password must be changed first (`password_change_required`, R11).
    #[response(status = 428)]
    PasswordChangeRequired(ErrorBody),
}

#[derive(utoipa::IntoResponses)]
pub enum Unavailable {
    /// The database cannot be reached right now, or the password checks are queued to their
    /// limit under a flood (`service_unavailable`, with `Retry-After`); try again.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// A binary response body (the .p12, the DER CRL).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Binary(pub Vec<u8>);

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            CLIENT_CERTIFICATE,
            SecurityScheme::MutualTls {
                description: Some(
                    "A client certificate issued by this service's CA, presented in the TLS handshake. `POST /api/login` \
                     needs it, and every operation secured by `session` needs the same certificate again on its \
                     connection (stated here rather than in each requirement, so that tools can apply the cookie)."
                        .to_owned(),
                ),
                extensions: None,
                deprecated: None,
            },
        );
        let cookie = ApiKeyValue::with_description(
            sessions::COOKIE,
            "HttpOnly, Secure, SameSite=Strict cookie set by `POST /api/login`; valid only together with the client \
             certificate it was created with.",
        );
        components.add_security_scheme(SESSION, SecurityScheme::ApiKey(ApiKey::Cookie(cookie)));
    }
}

/// The document as JSON, built once.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_json().expect("the OpenAPI document serialises"))
}

pub async fn spec() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_described_with_its_error_shape() {
        let doc: serde_json::Value = serde_json::from_str(document()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        assert_eq!(paths.len(), 19, "{:?}", paths.keys().collect::<Vec<_>>());
        for (path, ops) in paths {
            for (method, op) in ops.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                assert!(responses.contains_key("200") || responses.contains_key("204"), "{method} {path}");
                if !matches!(path.as_str(), "/api/ca.pem") {
                    let e = &responses["503"]["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(e, "#/components/schemas/ErrorBody", "{method} {path} documents 503 as ErrorBody");
                }
            }
        }
        let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
        assert_eq!(schemes[SESSION]["in"], "cookie");
        assert_eq!(schemes[CLIENT_CERTIFICATE]["type"], "mutualTLS");
    }

    /// The description (literal paths in the handlers' attributes) and the routes (the constants
    /// of `common::api::paths`) name the same paths.
    #[test]
    fn the_description_and_the_routes_name_the_same_paths() {
        use common::api::paths::{self as p, url};
        let doc: serde_json::Value = serde_json::from_str(document()).unwrap();
        let mut described: Vec<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
        let mut routed: Vec<String> = [
            p::HEALTH,
            p::ISSUANCE_AUTHENTICATE,
            p::ISSUANCE_ISSUE,
            p::PASSWORD_CHANGE,
            p::CA_PEM,
            p::CRL,
            p::LOGIN,
            p::LOGOUT,
            p::ME,
            p::ORG_USERS,
            p::ORG_USER_UNLOCK,
            p::ADMIN_ORGANIZATIONS,
            p::ADMIN_USERS,
            p::ADMIN_USER_UNLOCK,
            p::ADMIN_CERTIFICATES,
            p::ADMIN_CERTIFICATE_REVOKE,
            p::ADMIN_AUDIT,
            p::ADMIN_MAIL,
            p::TLS_CLIENT_CERTIFICATE,
        ]
        .into_iter()
        .map(url)
        .collect();
        described.sort();
        routed.sort();
        assert_eq!(described, routed, "every route but the description itself ({}) is described", p::OPENAPI);
    }
}
