//! HTTP handlers: decode → authorise → call a service → respond. Routes live in [`configure`].

pub mod health;
pub mod issuance;
pub mod password;
pub mod pki;
pub mod spa;

use actix_web::web;

/// Registers every route under `/api` and the SPA fallback.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api")
            .route("/health", web::get().to(health::health))
            .route("/issuance/authenticate", web::post().to(issuance::authenticate))
            .route("/issuance/issue", web::post().to(issuance::issue))
            .route("/password/change", web::post().to(password::change))
            .route("/ca.pem", web::get().to(pki::ca_pem))
            .route("/tls/client-certificate", web::get().to(pki::presented_certificate))
            .default_service(web::to(spa::api_not_found)),
    )
    .default_service(web::get().to(spa::serve));
}
