//! Extractors that make authorisation part of a handler's signature: a route that needs a valid
//! client certificate takes [`ValidCertificate`], one that needs a login takes [`SessionUser`]
//! (or [`MasterUser`] / [`StaffUser`]); forgetting the check does not compile.

use std::{
    future::{Future, Ready, ready},
    pin::Pin,
};

use actix_web::{
    FromRequest, HttpRequest,
    body::MessageBody,
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::Method,
    middleware::Next,
    web,
};
use common::api::Role;
use time::OffsetDateTime;

use crate::{
    auth::{Purpose, accounts::Actor, sessions},
    db::entities::{certificate, user},
    error::ApiError,
    read::presented::classify,
    state::AppState,
    tls::peer::presented_leaf,
};

/// Refuses free text (search terms, names) with control characters: none belongs there, and
/// PostgreSQL cannot even compare a string holding NUL.
pub fn plain_text(fields: &[(&'static str, Option<&str>)]) -> Result<(), ApiError> {
    match fields.iter().find(|(_, v)| v.is_some_and(|v| v.chars().any(char::is_control))) {
        Some((field, _)) => Err(ApiError::ControlCharacters { field }),
        None => Ok(()),
    }
}

type Boxed<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("app state missing")))
}

/// A client certificate presented on this connection that this CA issued, not revoked and
/// within its validity.
#[derive(Debug, Clone)]
pub struct ValidCertificate(pub certificate::Model);

async fn valid_certificate(
    req: &HttpRequest,
    st: &AppState,
    now: OffsetDateTime,
) -> Result<certificate::Model, ApiError> {
    let judged = classify(&st.db, presented_leaf(req).as_deref(), now).await?;
    judged.valid().map_err(ApiError::Certificate)
}

impl FromRequest for ValidCertificate {
    type Error = ApiError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let st = state(&req)?;
            Ok(ValidCertificate(valid_certificate(&req, &st, OffsetDateTime::now_utc()).await?))
        })
    }
}

/// A logged-in user: a live session whose certificate is presented on this connection and is
/// still valid. (State-changing requests come from our own origin: [`same_origin`].)
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user: user::Model,
    pub certificate: certificate::Model,
    /// The raw cookie value (for logout).
    pub session_id: String,
}

/// Whether a request with this `Origin` (and `Sec-Fetch-Site`) comes from our own pages: the
/// origin the browser used (`https://<Host>`, from the Host header alone) or the configured
/// public URL's. A request without
/// an `Origin` is not from a browser's cross-site form or script (browsers send it on every
/// POST), so it passes; `null` (sandboxed or privacy-stripped) does not.
fn same_origin_request(origin: Option<&str>, fetch_site: Option<&str>, host: &str, public_url: &str) -> bool {
    if fetch_site == Some("cross-site") {
        return false;
    }
    let Some(origin) = origin else { return true };
    let public_origin = public_url.trim_end_matches('/');
    origin == format!("https://{host}") || origin == public_origin
}

/// Middleware over the API: every state-changing request (anything but GET, HEAD and OPTIONS)
/// from a foreign origin gets 403 before any handler runs — the password endpoints, counted by
/// R2, as much as the session routes (the SameSite=Strict cookie is the other half).
pub async fn same_origin(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let public_url = req.app_data::<web::Data<AppState>>().map(|s| s.public_url.clone()).unwrap_or_default();
        // The host the browser connected to: the Host header (HTTP/1.1; the URI's authority
        // when a request carries one). Never `X-Forwarded-Host` or `Forwarded`, which
        // `connection_info()` would believe: TLS always ends here, so no proxy ever sets them and
        // anyone can.
        let host = req.uri().authority().map(|a| a.as_str().to_owned()).or_else(|| header("host")).unwrap_or_default();
        if !same_origin_request(header("origin").as_deref(), header("sec-fetch-site").as_deref(), &host, &public_url) {
            tracing::warn!(origin = ?header("origin"), path = %req.path(), "refused a cross-site request");
            return Err(ApiError::Forbidden.into());
        }
    }
    next.call(req).await
}

/// A password attempt (authentication for issuance, the issue, a password change, a login) that
/// the per-address throttle let through. Taken before the body, so a throttled request costs no
/// parsing and no password work.
#[derive(Debug, Clone, Copy)]
pub struct PasswordAttempt;

impl FromRequest for PasswordAttempt {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(state(req).and_then(|st| {
            st.throttle.check(req.peer_addr().map(|a| a.ip())).map(|()| PasswordAttempt).map_err(|wait| {
                let purpose = Purpose::of_route(req.match_pattern().as_deref().unwrap_or_default());
                crate::metrics::metrics()
                    .authentication(purpose.map_or("unknown", Purpose::as_str), crate::metrics::AuthOutcome::Throttled);
                ApiError::TooManyRequests { retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0) }
            })
        }))
    }
}

impl FromRequest for SessionUser {
    type Error = ApiError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let st = state(&req)?;
            let now = OffsetDateTime::now_utc();
            let id = req.cookie(sessions::COOKIE).map(|c| c.value().to_owned()).ok_or(ApiError::Unauthenticated)?;
            let session =
                sessions::find(&st.db, &st.config.sessions, &id, now).await?.ok_or(ApiError::Unauthenticated)?;
            let cert = valid_certificate(&req, &st, now).await?;
            if cert.serial != session.cert_serial {
                return Err(ApiError::Unauthenticated);
            }
            use sea_orm::EntityTrait;
            let user = user::Entity::find_by_id(session.user_pk).one(&st.db).await?.ok_or(ApiError::Unauthenticated)?;
            if user.blocked_at.is_some() || user.retired_at.is_some() {
                return Err(ApiError::Unauthenticated);
            }
            Ok(SessionUser { user, certificate: cert, session_id: id })
        })
    }
}

impl SessionUser {
    /// This user as the actor of an administrative operation.
    pub fn actor(&self) -> Actor {
        Actor::User(Box::new(self.user.clone()))
    }
}

/// A [`SessionUser`] of `role`, wrapped by `wrap`; any other role is refused with 403.
fn session_of_role<T: 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    role: Role,
    wrap: fn(SessionUser) -> T,
) -> Boxed<T> {
    let fut = SessionUser::from_request(req, payload);
    Box::pin(async move {
        let s = fut.await?;
        if s.user.role == role { Ok(wrap(s)) } else { Err(ApiError::Forbidden) }
    })
}

/// A logged-in master user.
#[derive(Debug, Clone)]
pub struct MasterUser(pub SessionUser);

impl FromRequest for MasterUser {
    type Error = ApiError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        session_of_role(req, payload, Role::Master, MasterUser)
    }
}

/// A logged-in bank staff user.
#[derive(Debug, Clone)]
pub struct StaffUser(pub SessionUser);

impl FromRequest for StaffUser {
    type Error = ApiError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        session_of_role(req, payload, Role::Staff, StaffUser)
    }
}

#[cfg(test)]
mod tests {
    use super::same_origin_request as same;

    const PUBLIC: &str = "https://cjs.rokin.example.jp";

    #[test]
    fn own_origin_passes() {
        assert!(same(Some("https://127.0.0.1:8443"), Some("same-origin"), "127.0.0.1:8443", PUBLIC));
        assert!(same(Some("https://cjs.rokin.example.jp"), None, "10.0.0.5:8443", PUBLIC));
    }

    #[test]
    fn no_origin_passes() {
        assert!(same(None, None, "127.0.0.1:8443", PUBLIC));
    }

    #[test]
    fn foreign_null_and_cross_site_are_refused() {
        assert!(!same(Some("https://evil.example"), None, "127.0.0.1:8443", PUBLIC));
        assert!(!same(Some("http://127.0.0.1:8443"), None, "127.0.0.1:8443", PUBLIC), "scheme differs");
        assert!(!same(Some("null"), None, "127.0.0.1:8443", PUBLIC));
        assert!(!same(None, Some("cross-site"), "127.0.0.1:8443", PUBLIC));
    }
}
