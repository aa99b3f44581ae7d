//! Login sessions (R9): a random ID in an HttpOnly, Secure, SameSite=Strict cookie; only its
//! SHA-256 is stored. A session is bound to the certificate it logged in with, lives as
//! [`crate::domain::session::alive`] says, and every session of a user ends when the user is
//! blocked, a certificate of theirs is revoked or their password is reset; a password change ends
//! every other one.

use rand::Rng;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set, sea_query::Expr};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::{
    db::entities::{session, user},
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

/// Ends every session of `user_pk` but the one with cookie value `keep` (if it is theirs).
pub async fn end_all_of_user_but<C: ConnectionTrait>(db: &C, user_pk: i64, keep: Option<&str>) -> Result<u64, DbErr> {
    let mut delete = session::Entity::delete_many().filter(session::Column::UserPk.eq(user_pk));
    if let Some(keep) = keep {
        delete = delete.filter(session::Column::IdHash.ne(hash(keep)));
    }
    Ok(delete.exec(db).await?.rows_affected)
}

/// Takes the lock of `u`'s row (and of their company's) in `txn` if the row still has the
/// password hash it was read with, the user is not retired and the company not suspended; false
/// otherwise (the password was reset or changed, the user retired or the company suspended, since:
/// each of those ends the sessions after taking the same lock). What a new session is opened
/// under.
pub async fn lock_unchanged_user<C: ConnectionTrait>(txn: &C, u: &user::Model) -> Result<bool, DbErr> {
    let locked = user::Entity::update_many()
        .col_expr(user::Column::IssueSeq, Expr::col(user::Column::IssueSeq))
        .filter(user::Column::Id.eq(u.id))
        .filter(user::Column::PasswordHash.eq(u.password_hash.clone()))
        .filter(user::Column::RetiredAt.is_null())
        .exec(txn)
        .await?;
    if locked.rows_affected != 1 {
        return Ok(false);
    }
    match u.org_id {
        Some(org) => super::companies::lock_if_active(txn, org).await,
        None => Ok(true),
    }
}
