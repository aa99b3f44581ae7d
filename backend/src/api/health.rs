//! Health checks. `GET /api/health/live`: liveness (the process answers; a supervisor restarts
//! it when not). `GET /api/health/ready`: readiness for a load balancer: the database answers,
//! the CA key signs (a token that failed is tried once more by the check, so an instance comes
//! back without traffic) and the instance is not draining for a shutdown; else 503 with what
//! failed. `?signer=optional` leaves the signer out, for a deployment where login must survive an
//! HSM outage common to every instance (issuance then answers 503 itself). `GET /api/health`:
//! 200 when the database answers, as before.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use common::api::{Health, Readiness};
use serde::Deserialize;

use crate::{error::ApiError, state::AppState};

/// How long each readiness check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

#[utoipa::path(
    get,
    path = "/api/health",
    tag = "pki",
    summary = "Database check",
    responses(
        (status = 200, description = "The database answers", body = common::api::Health),
        super::responses::Unavailable,
    )
)]
pub async fn health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.db.ping().await.map_err(|e| ApiError::Unavailable(anyhow::Error::new(e).context("database ping failed")))?;
    Ok(HttpResponse::Ok().json(Health { status: "ok".into() }))
}

#[utoipa::path(
    get,
    path = "/api/health/live",
    tag = "pki",
    summary = "Liveness",
    responses((status = 200, description = "The process serves requests", body = common::api::Health))
)]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "live".into() })
}

/// `?signer=optional`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ReadyQuery {
    /// `optional`: the CA signer is not checked.
    pub signer: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/health/ready",
    tag = "pki",
    summary = "Readiness for a load balancer",
    params(ReadyQuery),
    responses(
        (status = 200, description = "Ready: database, signer, not draining", body = common::api::Readiness),
        (status = 503, description = "Not ready, with what failed", body = common::api::Readiness),
    )
)]
pub async fn ready(state: web::Data<AppState>, query: web::Query<ReadyQuery>) -> HttpResponse {
    let database = matches!(tokio::time::timeout(CHECK_TIMEOUT, state.db.ping()).await, Ok(Ok(())));
    let signer = match query.signer.as_deref() {
        Some("optional") => None,
        _ => Some(signer_ready(&state).await),
    };
    let draining = state.lifecycle.is_draining();
    let ready = database && signer != Some(false) && !draining;
    let body = Readiness {
        status: if ready { "ready" } else { "not_ready" }.into(),
        database: if database { "ok" } else { "unreachable" }.into(),
        signer: match signer {
            None => "not_checked",
            Some(true) => "ok",
            Some(false) => "unavailable",
        }
        .into(),
        draining,
    };
    if ready { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}

/// Whether every CA key signs (a key file always does; a token is probed off the async workers).
pub async fn signer_ready(state: &AppState) -> bool {
    for ca in state.cas.iter() {
        let ca = ca.clone();
        let probe = tokio::task::spawn_blocking(move || ca.key().ready());
        if !matches!(tokio::time::timeout(CHECK_TIMEOUT, probe).await, Ok(Ok(true))) {
            return false;
        }
    }
    true
}

/// `GET /metrics` on the metrics listener: the Prometheus text format, the gauges read now;
/// 200 also while the database is down (`cjs_database_up` 0).
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let signer = signer_ready(&state).await;
    let text = crate::metrics::metrics().render(&state.db, signer, time::OffsetDateTime::now_utc()).await;
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(text)
}
