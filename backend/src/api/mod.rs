//! HTTP handlers: decode → authorise → call a service → respond. Routes live in [`configure`].

pub mod admin;
pub mod extract;
pub mod health;
pub mod issuance;
pub mod org;
pub mod password;
pub mod pki;
pub mod session;
pub mod spa;

use actix_web::web;

/// Registers every route under `/api` and the SPA fallback.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api")
            // No API answer is stored by a browser or proxy unless its handler says otherwise
            // (the CA certificate and the CRL do).
            .wrap(actix_web::middleware::DefaultHeaders::new().add(("Cache-Control", "no-store")))
            .route("/health", web::get().to(health::health))
            .route("/issuance/authenticate", web::post().to(issuance::authenticate))
            .route("/issuance/issue", web::post().to(issuance::issue))
            .route("/password/change", web::post().to(password::change))
            .route("/ca.pem", web::get().to(pki::ca_pem))
            .route("/crl", web::get().to(pki::crl))
            .route("/login", web::post().to(session::login))
            .route("/logout", web::post().to(session::logout))
            .route("/me", web::get().to(session::current))
            .route("/org/users", web::get().to(org::list))
            .route("/org/users", web::post().to(org::create))
            .route("/org/users/{user_id}/unlock", web::post().to(org::unlock))
            .route("/admin/organizations", web::get().to(admin::organizations))
            .route("/admin/organizations", web::post().to(admin::create_organization))
            .route("/admin/users", web::get().to(admin::users))
            .route("/admin/users/{user_id}/unlock", web::post().to(admin::unlock))
            .route("/admin/certificates", web::get().to(admin::certificates))
            .route("/admin/certificates/{serial}/revoke", web::post().to(admin::revoke))
            .route("/admin/audit", web::get().to(admin::audit))
            .route("/admin/mail", web::get().to(admin::mail))
            .route("/tls/client-certificate", web::get().to(pki::presented_certificate))
            .default_service(web::to(spa::api_not_found)),
    )
    .default_service(web::get().to(spa::serve));
}
