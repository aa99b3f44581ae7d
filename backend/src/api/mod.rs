//! HTTP handlers: decode → authorise → call a service → respond. Routes live in [`configure`].

pub mod access_log;
pub mod admin;
pub mod approvals;
pub mod body_deadline;
pub mod extract;
pub mod health;
pub mod issuance;
pub mod openapi;
pub mod org;
pub mod password;
pub mod pki;
pub mod responses;
pub mod session;
pub mod spa;

use actix_web::web;
use common::api::paths::{self as p, PREFIX};

/// A path of the API; any method it does not route gets 405 with `Allow: allow`.
fn path(p: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(p).default_service(web::to(move || spa::method_not_allowed(allow)))
}

/// GET, and HEAD with the same handler (actix sends no body for HEAD), as RFC 9110 expects.
fn get() -> actix_web::Route {
    use actix_web::guard;
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// Registers every route under `/api` and the SPA fallback, from the same path constants the
/// SPA calls (`common::api::paths`). Each path is also described in [`openapi::ApiDoc`] (served
/// at `/api/openapi.json`; its test checks the two lists are the same).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(PREFIX)
            // No API answer is stored by a browser or proxy unless its handler says otherwise
            // (the CRL does): handlers do not repeat it.
            // JSON answers are compressed as they are made (the files of the SPA never are: the
            // build compresses them, api::spa picks the variant).
            .wrap(actix_web::middleware::Compress::default())
            .wrap(actix_web::middleware::DefaultHeaders::new().add(("Cache-Control", "no-store")))
            .wrap(actix_web::middleware::from_fn(extract::same_origin))
            .service(path(p::HEALTH, "GET, HEAD").route(get().to(health::health)))
            .service(path(p::HEALTH_LIVE, "GET, HEAD").route(get().to(health::live)))
            .service(path(p::HEALTH_READY, "GET, HEAD").route(get().to(health::ready)))
            .service(path(p::OPENAPI, "GET, HEAD").route(get().to(openapi::spec)))
            .service(path(p::ISSUANCE_AUTHENTICATE, "POST").route(web::post().to(issuance::authenticate)))
            .service(path(p::ISSUANCE_ISSUE, "POST").route(web::post().to(issuance::issue)))
            .service(path(p::PASSWORD_CHANGE, "POST").route(web::post().to(password::change)))
            .service(path(p::CA_PEM, "GET, HEAD").route(get().to(pki::ca_pem)))
            .service(path(p::CRL, "GET, HEAD").route(get().to(pki::crl)))
            .service(path(p::LOGIN, "POST").route(web::post().to(session::login)))
            .service(path(p::LOGOUT, "POST").route(web::post().to(session::logout)))
            .service(path(p::ME, "GET, HEAD").route(get().to(session::current)))
            .service(
                path(p::ORG_USERS, "GET, HEAD, POST").route(get().to(org::list)).route(web::post().to(org::create)),
            )
            .service(path(p::ORG_USER_UNLOCK, "POST").route(web::post().to(org::unlock)))
            .service(path(p::ORG_USER_RESET_PASSWORD, "POST").route(web::post().to(org::reset_password)))
            .service(path(p::ORG_USER_RETIRE, "POST").route(web::post().to(org::retire)))
            .service(path(p::ORG_USER_EMAIL, "POST").route(web::post().to(org::change_email)))
            .service(
                path(p::ADMIN_ORGANIZATIONS, "GET, HEAD, POST")
                    .route(get().to(admin::organizations))
                    .route(web::post().to(admin::create_organization)),
            )
            .service(
                path(p::ADMIN_ORGANIZATION, "GET, HEAD, POST")
                    .route(get().to(admin::organization))
                    .route(web::post().to(admin::update_organization)),
            )
            .service(path(p::ADMIN_ORGANIZATION_SUSPEND, "POST").route(web::post().to(admin::suspend_organization)))
            .service(path(p::ADMIN_ORGANIZATION_RESUME, "POST").route(web::post().to(admin::resume_organization)))
            .service(path(p::ADMIN_ORGANIZATION_MASTER, "POST").route(web::post().to(admin::new_master)))
            .service(path(p::ADMIN_USERS, "GET, HEAD").route(get().to(admin::users)))
            .service(path(p::ADMIN_USER, "GET, HEAD").route(get().to(admin::user)))
            .service(path(p::ADMIN_EXPORT, "GET, HEAD").route(get().to(admin::export)))
            .service(path(p::ADMIN_USER_UNLOCK, "POST").route(web::post().to(admin::unlock)))
            .service(path(p::ADMIN_USER_RESET_PASSWORD, "POST").route(web::post().to(admin::reset_password)))
            .service(path(p::ADMIN_USER_RETIRE, "POST").route(web::post().to(admin::retire)))
            .service(path(p::ADMIN_USER_EMAIL, "POST").route(web::post().to(admin::change_email)))
            .service(path(p::ADMIN_USER_MAKE_MASTER, "POST").route(web::post().to(admin::make_master)))
            .service(path(p::ADMIN_CERTIFICATES, "GET, HEAD").route(get().to(admin::certificates)))
            .service(path(p::ADMIN_CERTIFICATE_REVOKE, "POST").route(web::post().to(admin::revoke)))
            .service(path(p::ADMIN_AUDIT, "GET, HEAD").route(get().to(admin::audit)))
            .service(path(p::ADMIN_MAIL, "GET, HEAD").route(get().to(admin::mail)))
            .service(path(p::ADMIN_APPROVALS, "GET, HEAD").route(get().to(approvals::list)))
            .service(path(p::ADMIN_APPROVAL_APPROVE, "POST").route(web::post().to(approvals::approve)))
            .service(path(p::ADMIN_APPROVAL_REJECT, "POST").route(web::post().to(approvals::reject)))
            .service(path(p::ADMIN_AUDIT_CHAIN, "GET, HEAD").route(get().to(approvals::chain)))
            .service(path(p::TLS_CLIENT_CERTIFICATE, "GET, HEAD").route(get().to(pki::presented_certificate)))
            .default_service(web::to(spa::api_not_found)),
    )
    .configure(configure_revocation)
    .default_service(web::to(spa::serve));
}

/// The revocation data for relying parties (`/pki/...`, not part of the JSON API): the CA
/// certificate, the CRL and the OCSP responder. On the HTTPS listener beside the API, and alone
/// on the plain-HTTP one (`--http-listen`).
pub fn configure_revocation(cfg: &mut web::ServiceConfig) {
    use crate::pki::profile::{CA_CERT_PATH, CRL_PATH, OCSP_PATH};
    cfg.service(path(CA_CERT_PATH, "GET, HEAD").route(get().to(pki::ca_der)))
        .service(path(CRL_PATH, "GET, HEAD").route(get().to(pki::crl)))
        .service(path(OCSP_PATH, "POST").route(web::post().to(pki::ocsp_post)))
        .service(path(&format!("{OCSP_PATH}/{{request:.*}}"), "GET, HEAD").route(get().to(pki::ocsp_get)))
        // A CA after the oldest (a rollover): its own CRL and certificate.
        .service(path("/pki/{key_id}/crl", "GET, HEAD").route(get().to(pki::crl_of)))
        .service(path("/pki/{key_id}/ca.crt", "GET, HEAD").route(get().to(pki::ca_der_of)));
}
