//! Login sessions (R9): a random ID in an HttpOnly, Secure, SameSite=Strict cookie; only its
//! SHA-256 is stored. A session is bound to the certificate it logged in with, lives as
//! [`crate::domain::session::alive`] says, and every session of a user ends when the user is
//! blocked or a certificate of theirs is revoked.

use rand::Rng;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set, sea_query::Expr};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::{
    db::entities::session,
    domain::session::{SessionPolicy, alive},
};

/// Name of the session cookie.
pub const COOKIE: &str = "cjs_session";

fn hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// Creates a session for `user_pk` logged in with certificate `serial`; returns the cookie value.
pub async fn create<C: ConnectionTrait>(
    db: &C,
    policy: &SessionPolicy,
    user_pk: i64,
    serial: &str,
    now: OffsetDateTime,
) -> Result<String, DbErr> {
    let bytes: [u8; 32] = rand::rng().random();
    let id = hex::encode(bytes);
    session::ActiveModel {
        id_hash: Set(hash(&id)),
        user_pk: Set(user_pk),
        cert_serial: Set(serial.to_owned()),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + policy.absolute),
    }
    .insert(db)
    .await?;
    Ok(id)
}

/// The live session for cookie value `id`, touched (idle timer restarted); `None` if unknown or
/// expired (an expired row is deleted).
pub async fn find<C: ConnectionTrait>(
    db: &C,
    policy: &SessionPolicy,
    id: &str,
    now: OffsetDateTime,
) -> Result<Option<session::Model>, DbErr> {
    let h = hash(id);
    let Some(s) = session::Entity::find_by_id(h.clone()).one(db).await? else { return Ok(None) };
    if !alive(policy, s.created_at, s.last_seen_at, now) {
        session::Entity::delete_by_id(h).exec(db).await?;
        return Ok(None);
    }
    session::Entity::update_many()
        .col_expr(session::Column::LastSeenAt, Expr::value(now))
        .filter(session::Column::IdHash.eq(h))
        .exec(db)
        .await?;
    Ok(Some(s))
}

/// Ends the session with cookie value `id`.
pub async fn end<C: ConnectionTrait>(db: &C, id: &str) -> Result<(), DbErr> {
    session::Entity::delete_by_id(hash(id)).exec(db).await?;
    Ok(())
}

/// Ends every session of `user_pk`.
pub async fn end_all_of_user<C: ConnectionTrait>(db: &C, user_pk: i64) -> Result<u64, DbErr> {
    Ok(session::Entity::delete_many().filter(session::Column::UserPk.eq(user_pk)).exec(db).await?.rows_affected)
}
