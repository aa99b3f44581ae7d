//! `GET /api/health`: 200 `{"status":"ok"}` when the database answers, else 503.

use actix_web::{HttpResponse, web};
use common::api::Health;

use crate::{error::ApiError, state::AppState};

#[utoipa::path(
    get,
    path = "/api/health",
    tag = "pki",
    summary = "Liveness and database check",
    responses(
        (status = 200, description = "The database answers", body = common::api::Health),
        super::responses::Unavailable,
    )
)]
pub async fn health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.db.ping().await.map_err(|e| ApiError::Unavailable(anyhow::Error::new(e).context("database ping failed")))?;
    Ok(HttpResponse::Ok().json(Health { status: "ok".into() }))
}
