//! `POST /api/login`, `POST /api/logout`, `GET /api/me` (R9).

use actix_web::{
    HttpRequest, HttpResponse,
    cookie::{Cookie, SameSite, time::Duration as CookieDuration},
    web,
};
use common::{
    Field, Password, UserId,
    api::{CertificateClass, Credentials, Me},
};
use sea_orm::{EntityTrait, TransactionTrait};
use serde_json::json;
use time::OffsetDateTime;

use super::extract::{PasswordAttempt, SessionUser};
use crate::{
    audit::{self, Action},
    auth::Purpose,
    db::entities::organization,
    error::ApiError,
    sessions,
    startup::AppState,
    tls::peer::{PeerCertificates, classify},
    views,
};

async fn organization_name(st: &AppState, org_id: Option<i64>) -> Result<Option<String>, ApiError> {
    Ok(match org_id {
        Some(id) => organization::Entity::find_by_id(id).one(&st.db).await?.map(|o| o.name),
        None => None,
    })
}

async fn me(st: &AppState, s: &SessionUser, now: OffsetDateTime) -> Result<Me, ApiError> {
    let org = organization_name(st, s.user.org_id).await?;
    Ok(Me {
        user_id: s.user.user_id.clone(),
        role: views::role(&s.user),
        organization: org.clone(),
        email: s.user.email.clone(),
        certificate: views::certificate_summary(&s.certificate, org, now),
    })
}

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

/// Login needs a valid certificate of this user (judged here, so each case gets its own
/// message) AND the user's password under R2.
#[utoipa::path(
    post,
    path = "/api/login",
    tag = "session",
    summary = "Login with the client certificate of this TLS connection and the password (R9)",
    request_body = common::api::Credentials,
    security(("client_certificate" = [])),
    responses(
        (status = 200, description = "Logged in; sets the HttpOnly, Secure, SameSite=Strict session cookie", body = common::api::Me, headers(("set-cookie" = String, description = "cjs_session=…"))),
        super::openapi::BadInput, super::openapi::Refused, super::openapi::PasswordChangeRequired, super::openapi::Unavailable,
    )
)]
pub async fn login(
    _: PasswordAttempt,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, ApiError> {
    let now = OffsetDateTime::now_utc();
    let leaf = req.conn_data::<PeerCertificates>().and_then(|p| p.leaf()).map(|c| c.as_ref().to_vec());
    let judged = classify(&state.db, leaf.as_deref(), now).await?;
    let cert = match (judged.class, judged.record) {
        (CertificateClass::Valid, Some(c)) => c,
        (class, _) => return Err(ApiError::Certificate(class)),
    };
    let user_id = UserId::parse(&body.user_id)?;
    let password = Password::parse(Field::Password, &body.password)?;
    if cert.subject_cn != user_id.as_str() {
        audit::record(
            &state.db,
            audit::Entry {
                action: Action::AuthFailure,
                actor: None,
                subject_user: Some(user_id.as_str()),
                org_id: None,
                detail: json!({"purpose": "login", "reason": "certificate_mismatch", "certificate_of": cert.subject_cn}),
            },
            now,
        )
        .await?;
        return Err(ApiError::CertificateMismatch);
    }
    let u = state.auth.authenticate(&user_id, &password, Purpose::Login, now).await?;
    if u.id != cert.user_pk {
        return Err(ApiError::CertificateMismatch);
    }
    let txn = state.db.begin().await?;
    let id = sessions::create(&txn, &state.config.sessions, u.id, &cert.serial, now).await?;
    audit::record(
        &txn,
        audit::Entry {
            action: Action::Login,
            actor: None,
            subject_user: Some(&u.user_id),
            org_id: u.org_id,
            detail: json!({"serial": cert.serial}),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    let s = SessionUser { user: u, certificate: cert, session_id: id.clone() };
    let body = me(&state, &s, now).await?;
    Ok(HttpResponse::Ok().cookie(session_cookie(id, None)).json(body))
}

#[utoipa::path(
    post,
    path = "/api/logout",
    tag = "session",
    summary = "Ends the session",
    security(("session" = [])),
    responses(
        (status = 204, description = "Logged out; the cookie is cleared"),
        super::openapi::SessionRequired, super::openapi::Unavailable,
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
        super::openapi::SessionRequired, super::openapi::Unavailable,
    )
)]
pub async fn current(state: web::Data<AppState>, s: SessionUser) -> Result<HttpResponse, ApiError> {
    let body = me(&state, &s, OffsetDateTime::now_utc()).await?;
    Ok(HttpResponse::Ok().json(body))
}
