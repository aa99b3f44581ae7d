//! What a database error means for the request that met it, whichever path it came up: the
//! database cannot be reached right now (try again later), the database refused a value of the
//! request, or something else. Storage knowledge (SQLSTATE codes, SQLite result codes, the
//! driver's error kinds), kept here so that the HTTP mapping only asks.

/// Whether PostgreSQL refused a text value of the request: a character it cannot store (22021:
/// NUL or an invalid byte sequence; 22P05: untranslatable) or a string too long (22001). Other
/// data exceptions (overflow, division by zero) would be the server's own bugs and stay 500.
pub fn data_exception(e: &sea_orm::DbErr) -> bool {
    matches!(sqlx_error(e), Some(sqlx::Error::Database(db))
        if db.code().is_some_and(|c| matches!(c.as_ref(), "22021" | "22P05" | "22001")))
}

/// The driver's error inside a failed statement, if that is what `e` is.
fn sqlx_error(e: &sea_orm::DbErr) -> Option<&sqlx::Error> {
    use sea_orm::{DbErr, RuntimeErr};
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner)) => Some(inner),
        _ => None,
    }
}

/// Whether `e` means "the database cannot be reached or is going away right now" (try again
/// later: 503) rather than a fault of this request (500): no connection, a connection that broke,
/// PostgreSQL shutting down or restarting (SQLSTATE classes 08 and 57), SQLite busy or locked.
pub fn database_unavailable(e: &sea_orm::DbErr) -> bool {
    use sea_orm::DbErr;
    if matches!(e, DbErr::Conn(_) | DbErr::ConnectionAcquire(_)) {
        return true;
    }
    match sqlx_error(e) {
        Some(
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_),
        ) => true,
        Some(sqlx::Error::Database(db)) => db.code().is_some_and(|code| {
            code.starts_with("08") || code.starts_with("57") || matches!(code.as_ref(), "5" | "6" | "517")
        }),
        _ => false,
    }
}
