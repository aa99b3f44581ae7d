//! Extractors that make authorisation part of a handler's signature: a route that needs a valid
//! client certificate takes [`ValidCertificate`], one that needs a login takes [`SessionUser`]
//! (or [`MasterUser`] / [`StaffUser`]); forgetting the check does not compile.

use std::{future::Future, pin::Pin};

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::Method, web};
use common::api::CertificateClass;
use time::OffsetDateTime;

use crate::{
    auth::{Role, service::role_of},
    db::entities::{certificate, user},
    error::ApiError,
    sessions,
    startup::AppState,
    tls::peer::{PeerCertificates, classify},
};

/// Refuses free text (search terms, names) with control characters: none belongs there, and
/// PostgreSQL cannot even compare a string holding NUL.
pub fn plain_text(fields: &[(&'static str, Option<&str>)]) -> Result<(), ApiError> {
    match fields.iter().find(|(_, v)| v.is_some_and(|v| v.chars().any(char::is_control))) {
        Some((field, _)) => Err(ApiError::InvalidInput {
            field: Some(field),
            message: "改行や制御文字は使えません。入力し直してください。".to_owned(),
        }),
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
    let leaf = req.conn_data::<PeerCertificates>().and_then(|p| p.leaf()).map(|c| c.as_ref().to_vec());
    let judged = classify(&st.db, leaf.as_deref(), now).await?;
    match (judged.class, judged.record) {
        (CertificateClass::Valid, Some(record)) => Ok(record),
        (class, _) => Err(ApiError::Certificate(class)),
    }
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
/// still valid. State-changing requests must come from our own origin.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user: user::Model,
    pub certificate: certificate::Model,
    /// The raw cookie value (for logout).
    pub session_id: String,
}

/// Refuses a cross-site state-changing request (in addition to the SameSite=Strict cookie).
fn check_origin(req: &HttpRequest) -> Result<(), ApiError> {
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return Ok(());
    }
    let Some(origin) = req.headers().get("origin") else { return Ok(()) };
    let host = req.connection_info().host().to_owned();
    if origin.to_str().ok() == Some(&format!("https://{host}")) { Ok(()) } else { Err(ApiError::Forbidden) }
}

impl FromRequest for SessionUser {
    type Error = ApiError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            check_origin(&req)?;
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
            if user.blocked_at.is_some() {
                return Err(ApiError::Unauthenticated);
            }
            Ok(SessionUser { user, certificate: cert, session_id: id })
        })
    }
}

/// A logged-in master user.
#[derive(Debug, Clone)]
pub struct MasterUser(pub SessionUser);

impl FromRequest for MasterUser {
    type Error = ApiError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let fut = SessionUser::from_request(req, payload);
        Box::pin(async move {
            let s = fut.await?;
            if role_of(&s.user) == Role::Master { Ok(MasterUser(s)) } else { Err(ApiError::Forbidden) }
        })
    }
}

/// A logged-in bank staff user.
#[derive(Debug, Clone)]
pub struct StaffUser(pub SessionUser);

impl FromRequest for StaffUser {
    type Error = ApiError;
    type Future = Boxed<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let fut = SessionUser::from_request(req, payload);
        Box::pin(async move {
            let s = fut.await?;
            if role_of(&s.user) == Role::Staff { Ok(StaffUser(s)) } else { Err(ApiError::Forbidden) }
        })
    }
}
