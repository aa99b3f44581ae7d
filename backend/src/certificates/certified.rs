//! Each user's `certified_until`: the latest notAfter among their unrevoked certificates (NULL
//! when they hold none), kept on the user's row so that the staff's 「30日以内に期限切れ」 search
//! is one index range on `users` instead of a probe of every certificate in the window (issue 26:
//! 38 / 67 ms on PostgreSQL at 1,000,000 certificates). A user is due for renewal exactly when it
//! lies in (now, now + 30 days]: an active certificate in its last 30 days, and none lasting longer.
//!
//! Every transaction that adds a certificate or revokes one calls [`refresh`] before it commits:
//! issuance, revocation and retirement. Expiry needs nothing: the value stays and time passes it.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use time::OffsetDateTime;

use crate::db::entities::{certificate, user};
use common::api::CertificateStatus;

/// Sets `user_pk`'s `certified_until` from their certificates as this transaction sees them.
/// The user's row is locked first (PostgreSQL: `FOR UPDATE`; SQLite has one writer at a time),
/// so the read below is taken after any other transaction that changed this user's certificates
/// has committed: two revocations at once cannot leave the value of a revoked certificate.
pub async fn refresh<C: ConnectionTrait>(txn: &C, user_pk: i64) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        user::Entity::find_by_id(user_pk)
            .select_only()
            .column(user::Column::Id)
            .lock_exclusive()
            .into_tuple::<i64>()
            .one(txn)
            .await?;
    }
    let latest: Option<OffsetDateTime> = certificate::Entity::find()
        .select_only()
        .column_as(Expr::col(certificate::Column::NotAfter).max(), "latest")
        .filter(certificate::Column::UserPk.eq(user_pk))
        .filter(certificate::Column::Status.eq(CertificateStatus::Active))
        .into_tuple::<Option<OffsetDateTime>>()
        .one(txn)
        .await?
        .flatten();
    user::Entity::update_many()
        .col_expr(user::Column::CertifiedUntil, Expr::value(latest))
        .filter(user::Column::Id.eq(user_pk))
        .exec(txn)
        .await?;
    Ok(())
}

/// Every user's `certified_until` at once: for rows written straight into the database (the
/// benchmarks' and tests' seeding); migration 000012 does the same for the data it finds.
pub async fn refresh_all<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    db.execute_unprepared(REFRESH_ALL).await?;
    Ok(())
}

const REFRESH_ALL: &str = "UPDATE users SET certified_until = (SELECT MAX(c.not_after) FROM certificates c \
     WHERE c.user_pk = users.id AND c.status = 'active')";
