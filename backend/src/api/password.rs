//! `POST /api/password/change`: replaces a password (and the one-time initial password, R11).

use actix_web::{HttpRequest, HttpResponse, web};
use common::api::{PasswordChange, PasswordChanged};
use time::OffsetDateTime;

use super::extract::PasswordAttempt;
use crate::{
    auth::accounts::{PasswordChangeInput, change_password},
    error::ApiError,
    state::AppState,
};

#[utoipa::path(
    post,
    path = "/api/password/change",
    tag = "issuance",
    summary = "Replaces the one-time initial password (R11) or any password",
    request_body = common::api::PasswordChange,
    responses(
        (status = 200, description = "Changed", body = common::api::PasswordChanged),
        super::responses::BadInput, super::responses::Refused, super::responses::Unavailable,
    )
)]
pub async fn change(
    _: PasswordAttempt,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let cookie = req.cookie(crate::auth::sessions::COOKIE);
    let input = PasswordChangeInput {
        user_id: &body.user_id,
        current: &body.current_password,
        new: &body.new_password,
        email: body.email.as_deref(),
        session: cookie.as_ref().map(|c| c.value()),
    };
    let u = change_password(&state.auth, input, OffsetDateTime::now_utc()).await?;
    Ok(HttpResponse::Ok().json(PasswordChanged { user_id: u.user_id }))
}
