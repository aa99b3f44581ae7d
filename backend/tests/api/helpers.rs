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

pub fn init() {
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
    /// Deliver mail to an SMTP server on 127.0.0.1 at this port (plain SMTP, passes every second,
    /// retries after 1 s, 2 s, 4 s …) instead of .eml files.
    pub smtp_port: Option<u16>,
    /// TLS and AUTH towards that server.
    pub smtp_secure: Option<SmtpSecure>,
    /// Per-address throttle of password attempts (tests: off unless they test it).
    pub password_attempts_per_minute: u32,
    /// Password verifications that may wait (tests: enough for every burst they send).
    pub password_queue_limit: u32,
    /// argon2id memory (default: the product's 19 MiB).
    pub argon2_memory_kib: Option<u32>,
    /// `trusted_proxies` (comma-separated), e.g. "127.0.0.1".
    pub trusted_proxies: Option<String>,
    pub max_connections_per_address: Option<u32>,
}

/// STARTTLS/TLS and credentials for the test SMTP server.
#[derive(Debug, Clone)]
pub struct SmtpSecure {
    pub security: backend::config::SmtpSecurity,
    pub ca_file: PathBuf,
    pub username: String,
    pub password: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            key_type: KeyType::P256,
            encryption: P12Encryption::Aes256,
            p12_iterations: 2048,
            share_with: None,
            dist_dir: None,
            smtp_port: None,
            smtp_secure: None,
            password_attempts_per_minute: 0,
            password_queue_limit: 10_000,
            argon2_memory_kib: None,
            trusted_proxies: None,
            max_connections_per_address: None,
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
    /// The server's shared state (its counters).
    pub state: actix_web::web::Data<backend::startup::AppState>,
}

pub async fn spawn_app(db: &TestDb) -> TestApp {
    spawn(db, Options::default()).await
}

pub async fn spawn(db: &TestDb, opts: Options) -> TestApp {
    init();
    let (dir, data_dir, database_url) = match &opts.share_with {
        Some((data_dir, url)) => (None, data_dir.clone(), url.clone()),
        None => {
            let (dir, data_dir, url) = fresh_store(db).await;
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
        smtp_host: opts.smtp_port.map(|_| "127.0.0.1".to_owned()),
        smtp_port: opts.smtp_port,
        smtp_security: opts
            .smtp_port
            .map(|_| opts.smtp_secure.as_ref().map_or(backend::config::SmtpSecurity::None, |s| s.security)),
        smtp_ca_file: opts.smtp_secure.as_ref().map(|s| s.ca_file.clone()),
        smtp_username: opts.smtp_secure.as_ref().map(|s| s.username.clone()),
        smtp_password: opts.smtp_secure.as_ref().map(|s| s.password.parse().unwrap()),
        mail_interval_seconds: Some(1),
        mail_retry_seconds: Some(1),
        password_attempts_per_minute: Some(opts.password_attempts_per_minute),
        password_queue_limit: Some(opts.password_queue_limit),
        argon2_memory_kib: opts.argon2_memory_kib,
        trusted_proxies: opts
            .trusted_proxies
            .as_deref()
            .map(|list| backend::net::TrustedProxies::parse_list(list).expect("trusted_proxies").networks().to_vec()),
        max_connections_per_address: opts.max_connections_per_address,
        ..Default::default()
    };
    let config = Config::resolve(&args).unwrap();
    let app = Application::build(config.clone()).await.expect("server builds");
    let port = app.port();
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    let (db, auth) = core_services(&config).await.unwrap();
    let client = client_with(&data_dir, None);
    TestApp { port, _dir: dir, data_dir, database_url, client, auth, db, state }
}

/// An HTTPS client trusting the app's CA, optionally presenting a client identity (PEM).
pub fn client_with(data_dir: &std::path::Path, identity_pem: Option<&[u8]>) -> reqwest::Client {
    client_from(data_dir, identity_pem, None)
}

/// [`client_with`] whose connections leave from `local` (e.g. 127.0.0.2: all of 127/8 is loopback).
pub fn client_from(
    data_dir: &std::path::Path,
    identity_pem: Option<&[u8]>,
    local: Option<std::net::IpAddr>,
) -> reqwest::Client {
    let ca = std::fs::read(data_dir.join("ca.pem")).unwrap();
    let mut b = reqwest::Client::builder()
        .local_address(local)
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

    /// Authenticates `id` for issuance and issues a certificate; returns the .p12 bytes.
    pub async fn issue_certificate(&self, id: &str, pw: &str) -> Vec<u8> {
        self.issue(id, pw).await.0
    }

    /// Authenticate → issue through the API: the .p12 bytes and the serial header.
    async fn issue(&self, id: &str, pw: &str) -> (Vec<u8>, String) {
        let r = self.post("/api/issuance/authenticate", &json!({"user_id": id, "password": pw})).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
        let r = self.post("/api/issuance/issue", &json!({"token": token, "password": pw})).await;
        assert_eq!(r.status(), 200);
        let serial = r.headers()[common::api::HEADER_CERT_SERIAL].to_str().unwrap().to_owned();
        (r.bytes().await.unwrap().to_vec(), serial)
    }

    /// Issues a certificate to `id` through the API; returns its certificate + key as PEM and its serial.
    pub async fn issued_identity(&self, id: &str, pw: &str) -> (Vec<u8>, String) {
        let (p12_bytes, serial) = self.issue(id, pw).await;
        let dir = tempfile::tempdir().unwrap();
        let p12 = dir.path().join("x.p12");
        std::fs::write(&p12, p12_bytes).unwrap();
        let out = dir.path().join("x.pem");
        run(Command::new("openssl")
            .args(["pkcs12", "-noenc", "-passin", &format!("pass:{pw}"), "-in"])
            .arg(&p12)
            .arg("-out")
            .arg(&out));
        (std::fs::read(&out).unwrap(), serial)
    }

    /// Counts rows of `sql` (a `SELECT COUNT(*) AS n …`).
    pub async fn count(&self, sql: &str) -> i64 {
        count(&self.db, sql).await
    }
}

/// A real SMTP server (aiosmtpd, `tests/smtp_sink.py`) on a port of its own. Created stopped, so
/// a test can run the service against a relay that is down and start it later. Every accepted
/// mail is one JSON line (decoded subject and body, Message-ID, recipients).
pub struct SmtpSink {
    pub port: u16,
    out: PathBuf,
    child: Option<std::process::Child>,
    _dir: TempDir,
}

impl SmtpSink {
    /// Picks a free port; nothing listens on it until [`SmtpSink::start`].
    pub fn reserve() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        Self { port, out: dir.path().join("mails.jsonl"), child: None, _dir: dir }
    }

    /// Starts the server (`delay`: seconds each message takes) and waits until it accepts connections.
    pub fn start(&mut self, delay: f64) {
        self.start_with(delay, &[]);
    }

    /// [`SmtpSink::start`] with extra arguments of `smtp_sink.py` (`--tls`, `--user`, …).
    pub fn start_with(&mut self, delay: f64, extra: &[&str]) {
        let python = std::env::var("CJS_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_sink.py");
        let child = Command::new(&python)
            .args([script, "--port", &self.port.to_string(), "--out"])
            .arg(&self.out)
            .args(["--delay", &delay.to_string()])
            .args(extra)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {python} (run scripts/setup-tools for aiosmtpd): {e}"));
        self.child = Some(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("the SMTP sink exited ({status}): is aiosmtpd installed for {python}? run scripts/setup-tools");
            }
            assert!(std::time::Instant::now() < deadline, "the SMTP sink did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every mail received so far.
    pub fn mails(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits until at least `n` mails arrived (at most `secs` seconds).
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let mails = self.mails();
            if mails.len() >= n {
                return mails;
            }
            assert!(std::time::Instant::now() < deadline, "only {} of {n} mails arrived in {secs} s", mails.len());
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `cjs serve` as a separate process (so a test can SIGKILL it) on `data_dir` and `url`,
/// listening on `port` (0: any), with `extra` flags. Output is discarded. The test's load stands
/// for many users, so the per-address throttle is off unless `extra` sets it.
pub fn serve_process(data_dir: &std::path::Path, url: &str, port: u16, extra: &[&str]) -> std::process::Child {
    let throttle: &[&str] =
        if extra.contains(&"--password-attempts-per-minute") { &[] } else { &["--password-attempts-per-minute", "0"] };
    Command::new(env!("CARGO_BIN_EXE_cjs"))
        .args(throttle)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data_dir)
        .args(["--database-url", url])
        .args(extra)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
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

/// Runs an external command, failing the test with its output if it fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// A command installed beside the tests' Python (scripts/setup-tools: pkilint, schemathesis).
pub fn python_tool(name: &str) -> PathBuf {
    let python = std::env::var("CJS_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let bin = PathBuf::from(python).parent().map(|d| d.join(name)).filter(|p| p.exists());
    bin.unwrap_or_else(|| PathBuf::from(name))
}
