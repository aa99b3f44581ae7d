//! `POST /api/login`, `POST /api/logout`, `GET /api/me` (R9).

use actix_web::{
    HttpRequest, HttpResponse,
    cookie::{Cookie, SameSite, time::Duration as CookieDuration},
    web,
};
use common::api::Credentials;
use time::OffsetDateTime;

use super::extract::{PasswordAttempt, SessionUser};
use crate::{
    auth::{login::login as log_in, sessions},
    error::ApiError,
    read,
    state::AppState,
    tls::peer::presented_leaf,
};

fn session_cookie(value: String, max_age: Option<CookieDuration>) -> Cookie<'static> {
    let mut c = Cookie::build(sessions::COOKIE, value)
        .path("/")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .finish();
    if let Some(age) = max_age {
        c.set_max_age(age);
    }
    c
}

/// Login needs a valid certificate of this user AND the user's password under R2
/// ([`crate::auth::login`]).
#[utoipa::path(
    post,
    path = "/api/login",
    tag = "session",
    summary = "Login with the client certificate of this TLS connection and the password (R9)",
    request_body = common::api::Credentials,
    security(("client_certificate" = [])),
    responses(
        (status = 200, description = "Logged in; sets the HttpOnly, Secure, SameSite=Strict session cookie", body = common::api::Me, headers(("set-cookie" = String, description = "cjs_session=…"))),
        super::responses::BadInput, super::responses::Refused, super::responses::PasswordChangeRequired, super::responses::Unavailable,
    )
)]
pub async fn login(
    _: PasswordAttempt,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, ApiError> {
    let now = OffsetDateTime::now_utc();
    let credentials = (body.user_id.as_str(), body.password.as_str());
    let done = log_in(&state.auth, &state.config.sessions, presented_leaf(&req).as_deref(), credentials, now).await?;
    let me = read::me(&state.db, &done.user, &done.certificate, now).await?;
    Ok(HttpResponse::Ok().cookie(session_cookie(done.session_id, None)).json(me))
}

#[utoipa::path(
    post,
    path = "/api/logout",
    tag = "session",
    summary = "Ends the session",
    security(("session" = [])),
    responses(
        (status = 204, description = "Logged out; the cookie is cleared"),
        super::responses::SessionRequired, super::responses::Unavailable,
    )
)]
pub async fn logout(state: web::Data<AppState>, s: SessionUser) -> Result<HttpResponse, ApiError> {
    sessions::end(&state.db, &s.session_id).await?;
    Ok(HttpResponse::NoContent().cookie(session_cookie(String::new(), Some(CookieDuration::ZERO))).finish())
}

#[utoipa::path(
    get,
    path = "/api/me",
    tag = "session",
    summary = "The home screen's data",
    security(("session" = [])),
    responses(
        (status = 200, description = "The logged-in user and the certificate of the session", body = common::api::Me),
        super::responses::SessionRequired, super::responses::Unavailable,
    )
)]
pub async fn current(state: web::Data<AppState>, s: SessionUser) -> Result<HttpResponse, ApiError> {
    let now = OffsetDateTime::now_utc();
    let mut me = read::me(&state.db, &s.user, &s.certificate, now).await?;
    me.activity = read::activity::recent(&state.db, &s.user.user_id, now).await?;
    Ok(HttpResponse::Ok().json(me))
}
