//! HTTP handlers: decode → authorise → call a service → respond. Routes live in [`configure`].

pub mod admin;
pub mod extract;
pub mod health;
pub mod issuance;
pub mod openapi;
pub mod org;
pub mod password;
pub mod pki;
pub mod session;
pub mod spa;

use actix_web::web;

/// A path of the API; any method it does not route gets 405 with `Allow: allow`.
fn path(p: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(p).default_service(web::to(move || spa::method_not_allowed(allow)))
}

/// GET, and HEAD with the same handler (actix sends no body for HEAD), as RFC 9110 expects.
fn get() -> actix_web::Route {
    use actix_web::guard;
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// Registers every route under `/api` and the SPA fallback. Each path is also described in
/// [`openapi::ApiDoc`] (served at `/api/openapi.json`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api")
            // No API answer is stored by a browser or proxy unless its handler says otherwise
            // (the CRL does): handlers do not repeat it.
            .wrap(actix_web::middleware::DefaultHeaders::new().add(("Cache-Control", "no-store")))
            .wrap(actix_web::middleware::from_fn(extract::same_origin))
            .service(path("/health", "GET, HEAD").route(get().to(health::health)))
            .service(path("/openapi.json", "GET, HEAD").route(get().to(openapi::spec)))
            .service(path("/issuance/authenticate", "POST").route(web::post().to(issuance::authenticate)))
            .service(path("/issuance/issue", "POST").route(web::post().to(issuance::issue)))
            .service(path("/password/change", "POST").route(web::post().to(password::change)))
            .service(path("/ca.pem", "GET, HEAD").route(get().to(pki::ca_pem)))
            .service(path("/crl", "GET, HEAD").route(get().to(pki::crl)))
            .service(path("/login", "POST").route(web::post().to(session::login)))
            .service(path("/logout", "POST").route(web::post().to(session::logout)))
            .service(path("/me", "GET, HEAD").route(get().to(session::current)))
            .service(
                path("/org/users", "GET, HEAD, POST").route(get().to(org::list)).route(web::post().to(org::create)),
            )
            .service(path("/org/users/{user_id}/unlock", "POST").route(web::post().to(org::unlock)))
            .service(
                path("/admin/organizations", "GET, HEAD, POST")
                    .route(get().to(admin::organizations))
                    .route(web::post().to(admin::create_organization)),
            )
            .service(path("/admin/users", "GET, HEAD").route(get().to(admin::users)))
            .service(path("/admin/users/{user_id}/unlock", "POST").route(web::post().to(admin::unlock)))
            .service(path("/admin/certificates", "GET, HEAD").route(get().to(admin::certificates)))
            .service(path("/admin/certificates/{serial}/revoke", "POST").route(web::post().to(admin::revoke)))
            .service(path("/admin/audit", "GET, HEAD").route(get().to(admin::audit)))
            .service(path("/admin/mail", "GET, HEAD").route(get().to(admin::mail)))
            .service(path("/tls/client-certificate", "GET, HEAD").route(get().to(pki::presented_certificate)))
            .default_service(web::to(spa::api_not_found)),
    )
    .default_service(web::get().to(spa::serve));
}
