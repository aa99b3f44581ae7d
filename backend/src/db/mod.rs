//! The database: connection (SQLite embedded default or PostgreSQL), migrations and entities.

pub mod entities;
pub mod fault;
pub mod migration;

use std::time::Duration;

use anyhow::Context;
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;

/// A connection or an open transaction: what a service that opens a transaction of its own takes,
/// so that it also runs inside a caller's transaction (then as a savepoint: an approval does the
/// operation it approves in its own transaction).
pub trait Db: sea_orm::ConnectionTrait + sea_orm::TransactionTrait<Transaction = sea_orm::DatabaseTransaction> {}

impl<T: sea_orm::ConnectionTrait + sea_orm::TransactionTrait<Transaction = sea_orm::DatabaseTransaction>> Db for T {}

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
        // Every statement planned for its own values. sqlx prepares and caches each statement,
        // and after five runs PostgreSQL may switch one to a generic plan, which knows neither
        // the search's values nor its skew: a certificate search by key type went from 4 ms to
        // 160–200 ms once it did (the staff lists benchmark). Planning costs well under a
        // millisecond on these statements.
        options.map_sqlx_postgres_opts(|o| o.options([("plan_cache_mode", "force_custom_plan")]));
    }
    let db = Database::connect(options)
        .await
        .with_context(|| format!("Failed to connect to the database {}", redact_url(url)))?;
    refuse_a_newer_schema(&db).await?;
    migration::Migrator::up(&db, None).await.context("Failed to apply database migrations")?;
    optimize(&db).await.context("Failed to update the SQLite query planner's statistics")?;
    Ok(db)
}

/// A binary never runs on a schema it does not know: a database that a newer release migrated
/// (a migration applied that this binary does not have) is refused before anything is read or
/// written, naming this release and its newest migration, and the database's. Downgrading means
/// restoring a backup of the older release, never starting it on the newer schema.
async fn refuse_a_newer_schema(db: &DatabaseConnection) -> anyhow::Result<()> {
    use sea_orm::ConnectionTrait;
    let known: Vec<String> = migration::Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
    let statement = sea_orm::Statement::from_string(
        db.get_database_backend(),
        "SELECT version FROM seaql_migrations ORDER BY version",
    );
    // No such table: a new database.
    let Ok(rows) = db.query_all_raw(statement).await else { return Ok(()) };
    let applied: Vec<String> = rows.iter().filter_map(|r| r.try_get::<String>("", "version").ok()).collect();
    let unknown: Vec<&String> = applied.iter().filter(|v| !known.contains(v)).collect();
    if let Some(newest) = unknown.last() {
        anyhow::bail!(
            "this cjs {} knows the database schema up to {}, but the database was migrated by a newer release (up to {newest}, {} migration(s) this release does not have). cjs never runs on a schema it does not know: start that release or a newer one; to go back, restore a backup made by this release",
            env!("CARGO_PKG_VERSION"),
            known.last().map_or("(none)", String::as_str),
            unknown.len()
        );
    }
    Ok(())
}

/// SQLite only (PostgreSQL's autovacuum analyzes by itself): `PRAGMA optimize` over every table,
/// which runs a bounded `ANALYZE` (SQLite's own analysis limit) of the tables never analyzed or
/// grown or shrunk 25-fold since. Without statistics SQLite's planner may walk the sort index of a
/// million rows to find a few (measured: seconds a page for a rare audit search), so this runs
/// at every connect and every [`OPTIMIZE_INTERVAL`] ([`optimize_forever`]). On tables that need
/// nothing it costs a few milliseconds.
pub async fn optimize(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    use sea_orm::ConnectionTrait;
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA optimize=0x10002").await?;
    }
    Ok(())
}

/// How often a serving SQLite instance refreshes the planner's statistics.
pub const OPTIMIZE_INTERVAL: Duration = Duration::from_secs(3600);

/// Runs [`optimize`] every `interval` for the life of the process (a failure is logged and tried
/// again at the next tick).
pub async fn optimize_forever(db: DatabaseConnection, interval: Duration) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    loop {
        tick.tick().await;
        if let Err(e) = optimize(&db).await {
            tracing::warn!(error = %e, "could not refresh SQLite's query statistics: tried again in an hour");
        }
    }
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

    /// A table that grew from nothing gets the planner's statistics at the next `optimize` (what
    /// the server runs at every connect and every hour), so SQLite picks indexes by them.
    #[tokio::test]
    async fn optimize_gives_a_grown_table_its_statistics() {
        use sea_orm::{ConnectionTrait, Statement};
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("cjs.db").display());
        let db = super::connect(&url).await.unwrap();
        let stats = |table: &'static str| {
            let db = db.clone();
            async move {
                let count = |sql: String| {
                    let db = db.clone();
                    async move {
                        let row =
                            db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
                        row.and_then(|r| r.try_get::<i64>("", "n").ok()).unwrap_or(0)
                    }
                };
                if count("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'sqlite_stat1'".into()).await == 0 {
                    return 0;
                }
                count(format!("SELECT COUNT(*) AS n FROM sqlite_stat1 WHERE tbl = '{table}'")).await
            }
        };
        db.execute_unprepared(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
             INSERT INTO organizations (name, name_search, certificate_limit, created_at) \
             SELECT 'c' || i, 'c' || i, 20, '2026-12-05T00:00:00Z' FROM n",
        )
        .await
        .unwrap();
        assert_eq!(stats("organizations").await, 0, "no statistics before");
        super::optimize(&db).await.unwrap();
        assert!(stats("organizations").await > 0, "optimize analyzed the grown table");
    }
}
