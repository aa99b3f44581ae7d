//! The master user's screens: their company's general users (create, unlock/unblock, password
//! reset, retire, state).

use actix_web::{HttpResponse, web};
use common::{
    UserId,
    api::{CreatedUser, NewUser, Role},
};
use time::OffsetDateTime;

use super::extract::MasterUser;
use crate::{
    auth::accounts::{self, NewAccount},
    error::ApiError,
    read,
    state::AppState,
};

fn org_id(m: &MasterUser) -> Result<i64, ApiError> {
    m.0.user.org_id.ok_or(ApiError::Forbidden)
}

#[utoipa::path(
    get,
    path = "/api/org/users",
    tag = "master",
    summary = "A master user's company and one page of its users (searched by ID prefix, e-mail, state; sorted)",
    params(common::api::list::UserSearch),
    security(("session" = [])),
    responses(
        (status = 200, description = "The company and its users", body = common::api::OrganizationUsers),
        super::responses::BadQuery, super::responses::SessionRequired, super::responses::NotFound, super::responses::Unavailable,
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    m: MasterUser,
    q: web::Query<common::api::list::UserSearch>,
) -> Result<HttpResponse, ApiError> {
    let body = read::organization_users(&state.db, org_id(&m)?, &q, OffsetDateTime::now_utc()).await?;
    Ok(HttpResponse::Ok().json(body.ok_or(ApiError::NotFound)?))
}

#[utoipa::path(
    post,
    path = "/api/org/users",
    tag = "master",
    summary = "Creates a general user in the master's company",
    request_body = common::api::NewUser,
    security(("session" = [])),
    responses(
        (status = 200, description = "The new general user and the one-time initial password (shown once)", body = common::api::CreatedUser),
        super::responses::BadInput, super::responses::SessionRequired, super::responses::Conflict, super::responses::Unavailable,
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    m: MasterUser,
    body: web::Json<NewUser>,
) -> Result<HttpResponse, ApiError> {
    let user_id = UserId::parse(&body.user_id)?;
    let actor = m.0.actor();
    let (u, password) = accounts::create_user(
        &state.db,
        &state.auth.hasher,
        NewAccount { user_id: &user_id, email: &body.email, password: None },
        Role::General,
        Some(org_id(&m)?),
        &actor,
        OffsetDateTime::now_utc(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(CreatedUser { user_id: u.user_id, initial_password: password.expose().to_owned() }))
}

#[utoipa::path(
    post,
    path = "/api/org/users/{user_id}/unlock",
    tag = "master",
    summary = "Lifts a lock or block of a user of the company (R2)",
    params(("user_id" = String, Path, description = "User ID")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The user after unlocking", body = common::api::UserSummary),
        super::responses::SessionRequired, super::responses::NotFound, super::responses::Conflict, super::responses::Unavailable,
    )
)]
pub async fn unlock(
    state: web::Data<AppState>,
    m: MasterUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    super::admin::unlock_as(&state, &m.0.actor(), &path).await
}

#[utoipa::path(
    post,
    path = "/api/org/users/{user_id}/reset-password",
    tag = "master",
    summary = "Resets the password of a general user of the company to a new one-time initial password (R11); lifts a lock or block and ends the user's sessions",
    params(("user_id" = String, Path, description = "User ID")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The user and the new one-time initial password, shown once, to hand over", body = common::api::PasswordReset),
        super::responses::SessionRequired, super::responses::NotFound, super::responses::Conflict, super::responses::Unavailable,
    )
)]
pub async fn reset_password(
    state: web::Data<AppState>,
    m: MasterUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    super::admin::reset_password_as(&state, &m.0.actor(), &path).await
}

#[utoipa::path(
    post,
    path = "/api/org/users/{user_id}/retire",
    tag = "master",
    summary = "Retires (利用停止) a general user of the company: revokes every active certificate (cessationOfOperation), ends the sessions, refuses every later login and issuance, frees the seat",
    request_body = common::api::Retire,
    params(("user_id" = String, Path, description = "User ID")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The retired user and the serials revoked", body = common::api::RetiredUser),
        super::responses::BadInput, super::responses::SessionRequired, super::responses::NotFound, super::responses::Conflict, super::responses::Unavailable,
    )
)]
pub async fn retire(
    state: web::Data<AppState>,
    m: MasterUser,
    path: web::Path<String>,
    body: web::Json<common::api::Retire>,
) -> Result<HttpResponse, ApiError> {
    super::admin::retire_as(&state, &m.0.actor(), &path, &body).await
}

#[utoipa::path(
    post,
    path = "/api/org/users/{user_id}/email",
    tag = "master",
    summary = "Changes the e-mail address of a general user of the company; the old and the new address are both told",
    request_body = common::api::ChangeEmail,
    params(("user_id" = String, Path, description = "User ID")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The user with the new address", body = common::api::UserSummary),
        super::responses::BadInput, super::responses::SessionRequired, super::responses::NotFound, super::responses::Conflict, super::responses::Unavailable,
    )
)]
pub async fn change_email(
    state: web::Data<AppState>,
    m: MasterUser,
    path: web::Path<String>,
    body: web::Json<common::api::ChangeEmail>,
) -> Result<HttpResponse, ApiError> {
    super::admin::change_email_as(&state, &m.0.actor(), &path, &body).await
}
