//! The database: connection (SQLite embedded default or PostgreSQL), migrations and entities.

pub mod entities;
pub mod fault;
pub mod migration;

use std::time::Duration;

use anyhow::Context;
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;

/// Connects to `url` and applies pending migrations.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false);
    // No idle timeout and no maximum lifetime, so sqlx runs no pool maintenance task: in sqlx
    // 0.9.0 that task can spin at 100 % CPU forever after a counter underflow (sqlx issue #3645,
    // fixed upstream by PR #4289, not yet released), which hung a test run here at shutdown. A
    // connection that breaks is still found by the ping before each acquire and replaced.
    options.idle_timeout(None).max_lifetime(None);
    if url.starts_with("sqlite:") {
        // One connection: SQLite serialises writers anyway, and this keeps transactions from
        // ever meeting SQLITE_BUSY inside one process. Other processes (the CLI) wait up to 10 s.
        options.max_connections(1).connect_timeout(Duration::from_secs(5)).acquire_timeout(Duration::from_secs(10));
        options.map_sqlx_sqlite_opts(|o| {
            o.busy_timeout(Duration::from_secs(10))
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .foreign_keys(true)
        });
    } else {
        // While PostgreSQL is down or restarting, requests answer 503 after at most 3 s instead
        // of hanging; the pool reconnects by itself when it is back.
        options.max_connections(16).connect_timeout(Duration::from_secs(2)).acquire_timeout(Duration::from_secs(3));
    }
    let db = Database::connect(options)
        .await
        .with_context(|| format!("Failed to connect to the database {}", redact_url(url)))?;
    migration::Migrator::up(&db, None).await.context("Failed to apply database migrations")?;
    Ok(db)
}

/// Connections for reads that must not queue behind the one SQLite connection (the OCSP
/// responder: every answer reads a row). SQLite in WAL mode lets readers run beside the writer,
/// so on SQLite this is a pool of its own, never used to write; on PostgreSQL it is `primary`.
pub async fn connect_readers(url: &str, primary: &DatabaseConnection) -> anyhow::Result<DatabaseConnection> {
    if !url.starts_with("sqlite:") {
        return Ok(primary.clone());
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .idle_timeout(None)
        .max_lifetime(None)
        .max_connections(READERS)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        // A read is one indexed SELECT: a ping before it would double its cost.
        .test_before_acquire(false);
    options.map_sqlx_sqlite_opts(|o| o.busy_timeout(Duration::from_secs(10)));
    Database::connect(options)
        .await
        .with_context(|| format!("Failed to connect to the database {} (readers)", redact_url(url)))
}

/// Reader connections of the SQLite database.
const READERS: u32 = 4;

/// The URL without its password, for logs and errors.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_password() {
        assert_eq!(super::redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact_url("sqlite://data/cjs.db"), "sqlite://data/cjs.db");
    }
}
