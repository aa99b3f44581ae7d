//! `spawn_app` and friends: each test gets its own server, data directory and database.

use std::{path::PathBuf, process::Command, sync::Once};

use backend::{
    auth::{
        Authenticator, Role,
        accounts::{self, Actor, NewAccount},
    },
    config::{Config, ConfigArgs, KeyType, P12Encryption},
    startup::{Application, core_services},
};
use common::{Field, Password, UserId};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use tempfile::TempDir;
use time::OffsetDateTime;

/// Which database a test runs against.
#[derive(Debug, Clone)]
pub enum TestDb {
    Sqlite,
    /// A fresh database created on this server for the test.
    Postgres(String),
}

/// SQLite always; PostgreSQL too when `CJS_TEST_DATABASE_URL` is set (required when `CI=true`).
pub fn databases() -> Vec<TestDb> {
    let mut dbs = vec![TestDb::Sqlite];
    match std::env::var("CJS_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => dbs.push(TestDb::Postgres(url)),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but CJS_TEST_DATABASE_URL is not set: the PostgreSQL tests are mandatory in CI")
        }
        _ => eprintln!("note: CJS_TEST_DATABASE_URL not set; PostgreSQL variants skipped"),
    }
    dbs
}

static INIT: Once = Once::new();

fn init() {
    INIT.call_once(|| {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        if std::env::var("TEST_LOG").is_ok() {
            backend::telemetry::init("text");
        }
    });
}

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

/// Options for [`spawn`].
#[derive(Debug, Clone)]
pub struct Options {
    pub key_type: KeyType,
    pub encryption: P12Encryption,
    pub p12_iterations: u32,
    /// Share the database (and data directory) of another app: a second instance.
    pub share_with: Option<(PathBuf, String)>,
    pub dist_dir: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            key_type: KeyType::P256,
            encryption: P12Encryption::Aes256,
            p12_iterations: 2048,
            share_with: None,
            dist_dir: None,
        }
    }
}

/// A running server.
pub struct TestApp {
    pub port: u16,
    /// Keeps the temporary directory alive as long as the app.
    pub _dir: Option<TempDir>,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub client: reqwest::Client,
    pub auth: Authenticator,
    pub db: DatabaseConnection,
}

pub async fn spawn_app(db: &TestDb) -> TestApp {
    spawn(db, Options::default()).await
}

pub async fn spawn(db: &TestDb, opts: Options) -> TestApp {
    init();
    let (dir, data_dir, database_url) = match &opts.share_with {
        Some((data_dir, url)) => (None, data_dir.clone(), url.clone()),
        None => {
            let dir = tempfile::tempdir().unwrap();
            let data_dir = dir.path().join("data");
            let url = match db {
                TestDb::Sqlite => format!("sqlite://{}/cjs.db?mode=rwc", data_dir.display()),
                TestDb::Postgres(admin) => fresh_postgres(admin).await,
            };
            (Some(dir), data_dir, url)
        }
    };
    let dist_dir = opts.dist_dir.clone().unwrap_or_else(|| {
        let d = data_dir.parent().unwrap().join("dist");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("index.html"), "<!doctype html><title>test-index</title>").unwrap();
        std::fs::write(d.join("app-0123456789abcdef.js"), "console.log(1)").unwrap();
        d
    });
    let args = ConfigArgs {
        data_dir: Some(data_dir.clone()),
        database_url: Some(database_url.clone()),
        listen: Some("127.0.0.1:0".parse().unwrap()),
        dist_dir: Some(dist_dir),
        cert_key_type: Some(opts.key_type),
        p12_encryption: Some(opts.encryption),
        p12_iterations: Some(opts.p12_iterations),
        ..Default::default()
    };
    let config = Config::resolve(&args).unwrap();
    let app = Application::build(config.clone()).await.expect("server builds");
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    let (db, auth) = core_services(&config).await.unwrap();
    let client = client_with(&data_dir, None);
    TestApp { port, _dir: dir, data_dir, database_url, client, auth, db }
}

/// An HTTPS client trusting the app's CA, optionally presenting a client identity (PEM).
pub fn client_with(data_dir: &std::path::Path, identity_pem: Option<&[u8]>) -> reqwest::Client {
    let ca = std::fs::read(data_dir.join("ca.pem")).unwrap();
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .pool_max_idle_per_host(0);
    if let Some(pem) = identity_pem {
        b = b.identity(reqwest::Identity::from_pem(pem).unwrap());
    }
    b.build().unwrap()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{}", self.port, path)
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client.post(self.url(path)).json(body).send().await.unwrap()
    }

    /// Options for a second instance on the same database and data directory.
    pub fn second_instance(&self) -> Options {
        Options { share_with: Some((self.data_dir.clone(), self.database_url.clone())), ..Options::default() }
    }

    /// Creates a company with master `id` whose initial password is `initial`.
    pub async fn create_master(&self, org: &str, id: &str, initial: &str) {
        accounts::create_organization(
            &self.db,
            &self.auth.hasher,
            org,
            20,
            NewAccount {
                user_id: &UserId::parse(id).unwrap(),
                email: &format!("{id}@example.co.jp"),
                password: Some(Password::parse(Field::Password, initial).unwrap()),
            },
            &Actor::Cli,
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    }

    /// Creates a staff user.
    pub async fn create_staff(&self, id: &str, initial: &str) {
        accounts::create_user(
            &self.db,
            &self.auth.hasher,
            NewAccount {
                user_id: &UserId::parse(id).unwrap(),
                email: &format!("{id}@rokin.example.jp"),
                password: Some(Password::parse(Field::Password, initial).unwrap()),
            },
            Role::Staff,
            None,
            &Actor::Cli,
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    }

    /// Creates a master and replaces the initial password with `password` through the API.
    pub async fn master_ready(&self, org: &str, id: &str, password: &str) {
        self.create_master(org, id, "init1234").await;
        let r = self
            .post(
                "/api/password/change",
                &json!({"user_id": id, "current_password": "init1234", "new_password": password, "email": format!("{id}@example.co.jp")}),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }

    /// Counts rows of `sql` (a `SELECT COUNT(*) AS n …`).
    pub async fn count(&self, sql: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(self.db.get_database_backend(), sql.to_owned()))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }
}

/// Runs an external command, failing the test with its output if it fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}
