//! The databases a test runs against, and direct reads and writes of a store's tables.

use super::*;

/// Which database a test runs against.
#[derive(Debug, Clone)]
pub enum TestDb {
    Sqlite,
    /// A fresh database created on this server for the test.
    Postgres(String),
}

impl TestDb {
    /// PostgreSQL when `CJS_TEST_DATABASE_URL` is set. Without it: a panic when `CI=true` (the
    /// PostgreSQL tests are mandatory in CI), else a note and `None` (the test passes unrun).
    pub fn postgres() -> Option<Self> {
        match std::env::var("CJS_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(Self::Postgres(url)),
            _ if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("CI=true but CJS_TEST_DATABASE_URL is not set: the PostgreSQL tests are mandatory in CI")
            }
            _ => {
                eprintln!("note: CJS_TEST_DATABASE_URL not set; PostgreSQL variant skipped");
                None
            }
        }
    }
}

/// `each_database!(name);` beside `async fn name(db: &TestDb)` makes two tests of it,
/// `name::sqlite` and `name::postgres` (which passes unrun without a server, see
/// [`TestDb::postgres`]). Options after the name go to `#[tokio::test(…)]`:
/// `each_database!(name, flavor = "multi_thread");`. The test stays an ordinary function, so
/// rustfmt formats its body (it leaves the insides of a `macro! { … }` alone).
macro_rules! each_database {
    ($name:ident $(, $($runtime:tt)+)?) => {
        mod $name {
            #[tokio::test $(($($runtime)+))?]
            async fn sqlite() {
                super::$name(&$crate::helpers::TestDb::Sqlite).await
            }

            #[tokio::test $(($($runtime)+))?]
            async fn postgres() {
                if let Some(db) = $crate::helpers::TestDb::postgres() {
                    super::$name(&db).await
                }
            }
        }
    };
}

pub(crate) use each_database;

/// Creates a fresh PostgreSQL database next to `admin_url` and returns its URL.
pub async fn fresh_postgres(admin_url: &str) -> String {
    let name = format!("cjs_test_{}", uuid_like());
    let admin: DatabaseConnection = Database::connect(admin_url).await.expect("PostgreSQL for tests is not reachable");
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
    admin.close().await.ok();
    let (base, _) = admin_url.rsplit_once('/').expect("database URL has a path");
    format!("{base}/{name}")
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{:x}{:04x}", n, std::process::id() & 0xffff)
}

/// A fresh data directory and database URL (SQLite inside it, or a fresh PostgreSQL database).
pub async fn fresh_store(db: &TestDb) -> (TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let url = match db {
        TestDb::Sqlite => format!("sqlite://{}/cjs.db?mode=rwc", data_dir.display()),
        TestDb::Postgres(admin) => fresh_postgres(admin).await,
    };
    (dir, data_dir, url)
}

/// Counts rows of `sql` (a `SELECT COUNT(*) AS n …`) on `db`.
pub async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql.to_owned()))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// A certificate row of `owner` written straight into the database (no key, no DER): for tests
/// of the revocation data at sizes issuing would take too long for. Revoked (superseded, at
/// `revoked_at`) when `revoked_at` is given, else active.
pub async fn insert_certificate(
    db: &DatabaseConnection,
    owner: &backend::db::entities::user::Model,
    serial: &str,
    validity: (OffsetDateTime, OffsetDateTime),
    revoked_at: Option<OffsetDateTime>,
) {
    use backend::db::entities::certificate;
    use common::api::CertificateStatus;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let status = if revoked_at.is_some() { CertificateStatus::Revoked } else { CertificateStatus::Active };
    certificate::ActiveModel {
        serial: Set(serial.to_owned()),
        user_pk: Set(owner.id),
        org_id: Set(owner.org_id),
        subject_cn: Set(owner.user_id.clone()),
        not_before: Set(validity.0),
        not_after: Set(validity.1),
        fingerprint_sha256: Set(format!("fp{serial}")),
        key_type: Set("p256".to_owned()),
        status: Set(status),
        revoked_at: Set(revoked_at),
        revocation_reason: Set(revoked_at.map(|_| "superseded".to_owned())),
        created_at: Set(validity.0),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    // As issuing does in the same transaction.
    backend::certificates::certified::refresh(db, owner.id).await.unwrap();
}
