//! `GET /api/openapi.json`: the OpenAPI 3.1 description of this API, generated from the
//! `#[utoipa::path]` attributes on the handlers and the `ToSchema` types of `common::api`.
//! schemathesis runs against it in CI (`backend/tests/api/bad_input.rs`).

use std::sync::OnceLock;

use actix_web::HttpResponse;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, SecurityScheme},
};

use super::{admin, approvals, health, issuance, org, password, pki, session};
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
        health::live,
        health::ready,
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
        org::reset_password,
        org::retire,
        org::change_email,
        admin::organizations,
        admin::organization,
        admin::create_organization,
        admin::update_organization,
        admin::suspend_organization,
        admin::resume_organization,
        admin::new_master,
        admin::users,
        admin::user,
        admin::unlock,
        admin::reset_password,
        admin::retire,
        admin::change_email,
        admin::make_master,
        admin::certificates,
        admin::revoke,
        admin::audit,
        admin::mail,
        admin::export,
        approvals::list,
        approvals::approve,
        approvals::reject,
        approvals::chain,
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
        assert_eq!(paths.len(), 38, "{:?}", paths.keys().collect::<Vec<_>>());
        for (path, ops) in paths {
            for (method, op) in ops.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                assert!(responses.contains_key("200") || responses.contains_key("204"), "{method} {path}");
                let e = responses.get("503").and_then(|r| r["content"]["application/json"]["schema"]["$ref"].as_str());
                match path.as_str() {
                    // A file, and liveness: no database behind them.
                    "/api/ca.pem" | "/api/health/live" => {}
                    // Not ready says which check failed.
                    "/api/health/ready" => assert_eq!(e, Some("#/components/schemas/Readiness"), "{method} {path}"),
                    _ => assert_eq!(
                        e,
                        Some("#/components/schemas/ErrorBody"),
                        "{method} {path} documents 503 as ErrorBody"
                    ),
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
            p::HEALTH_LIVE,
            p::HEALTH_READY,
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
            p::ORG_USER_RESET_PASSWORD,
            p::ORG_USER_RETIRE,
            p::ORG_USER_EMAIL,
            p::ADMIN_ORGANIZATIONS,
            p::ADMIN_ORGANIZATION,
            p::ADMIN_ORGANIZATION_SUSPEND,
            p::ADMIN_ORGANIZATION_RESUME,
            p::ADMIN_ORGANIZATION_MASTER,
            p::ADMIN_USERS,
            p::ADMIN_USER,
            p::ADMIN_USER_UNLOCK,
            p::ADMIN_USER_RESET_PASSWORD,
            p::ADMIN_USER_RETIRE,
            p::ADMIN_USER_EMAIL,
            p::ADMIN_USER_MAKE_MASTER,
            p::ADMIN_EXPORT,
            p::ADMIN_CERTIFICATES,
            p::ADMIN_CERTIFICATE_REVOKE,
            p::ADMIN_AUDIT,
            p::ADMIN_MAIL,
            p::ADMIN_APPROVALS,
            p::ADMIN_APPROVAL_APPROVE,
            p::ADMIN_APPROVAL_REJECT,
            p::ADMIN_AUDIT_CHAIN,
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
