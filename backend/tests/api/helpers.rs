//! `spawn_app` and friends: each test gets its own server, data directory and database.

use std::{path::PathBuf, process::Command, sync::Once};

use backend::{
    auth::{
        Authenticator,
        accounts::{self, Actor, NewAccount},
    },
    config::{Config, ConfigArgs},
    pki::{issue::KeyType, p12::P12Encryption},
    startup::{Application, core_services},
};
use common::{Field, Password, UserId, api::Role};
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
    /// Also serve the revocation data over plain HTTP (`--http-listen 127.0.0.1:0`), which then
    /// is the base of the certificates' CDP and AIA.
    pub http_listen: bool,
    /// Serve Prometheus metrics on a listener of their own ([`TestApp::metrics_port`]).
    pub metrics_listen: bool,
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
            http_listen: false,
            metrics_listen: false,
        }
    }
}

/// A data directory and a database, migrated, with the services on them: what a [`TestApp`]
/// serves, and what a test that runs `cjs serve` as a process of its own prepares its users in.
pub struct TestStore {
    /// Keeps the temporary directory alive as long as the store (`None`: a second instance's).
    _dir: Option<TempDir>,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub db: DatabaseConnection,
    pub auth: Authenticator,
}

/// A running server: its store (through `Deref`: `app.db`, `app.create_master(…)`) and an
/// anonymous HTTPS client of it.
pub struct TestApp {
    pub port: u16,
    /// The plain-HTTP revocation listener's port ([`Options::http_listen`]).
    pub http_port: Option<u16>,
    /// The metrics listener's port ([`Options::metrics_listen`]; read by tests/metrics.rs).
    #[allow(dead_code)]
    pub metrics_port: Option<u16>,
    pub client: reqwest::Client,
    /// The server's shared state (its counters).
    pub state: actix_web::web::Data<backend::state::AppState>,
    store: TestStore,
}

impl std::ops::Deref for TestApp {
    type Target = TestStore;

    fn deref(&self) -> &TestStore {
        &self.store
    }
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
        http_listen: opts.http_listen.then(|| "127.0.0.1:0".parse().unwrap()),
        metrics_listen: opts.metrics_listen.then(|| "127.0.0.1:0".parse().unwrap()),
        ..Default::default()
    };
    let config = Config::resolve(&args).unwrap();
    let app = Application::build(config.clone()).await.expect("server builds");
    let port = app.port();
    let http_port = app.http_port();
    let metrics_port = app.metrics_port();
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    let client = client_with(&data_dir, None);
    let store = TestStore::open(dir, data_dir, database_url, &config).await;
    TestApp { port, http_port, metrics_port, client, state, store }
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

impl TestStore {
    /// `cjs admin revoke` of every active certificate of `user`, as an operator runs it.
    pub fn cli_revoke(&self, user: &str, reason: &str) {
        run(Command::new(env!("CARGO_BIN_EXE_cjs"))
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--database-url", &self.database_url])
            .args(["admin", "revoke", "--user-id", user, "--reason", reason]));
    }

    /// A fresh store on `db` with the default configuration, and no server on it.
    pub async fn fresh(db: &TestDb) -> Self {
        init();
        let (dir, data_dir, database_url) = fresh_store(db).await;
        let config = Config::resolve(&ConfigArgs {
            data_dir: Some(data_dir.clone()),
            database_url: Some(database_url.clone()),
            ..Default::default()
        })
        .unwrap();
        Self::open(Some(dir), data_dir, database_url, &config).await
    }

    async fn open(dir: Option<TempDir>, data_dir: PathBuf, database_url: String, config: &Config) -> Self {
        let (db, auth) = core_services(config).await.unwrap();
        Self { _dir: dir, data_dir, database_url, db, auth }
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

    /// Creates a general user of master `master`'s company whose initial password is `initial`.
    pub async fn create_general(&self, master: &str, id: &str, initial: &str) {
        self.create_user(id, &format!("{id}@example.co.jp"), initial, Role::General, self.org_of(master).await).await;
    }

    /// Creates a staff user.
    pub async fn create_staff(&self, id: &str, initial: &str) {
        self.create_user(id, &format!("{id}@rokin.example.jp"), initial, Role::Staff, None).await;
    }

    async fn create_user(&self, id: &str, email: &str, initial: &str, role: Role, org_id: Option<i64>) {
        accounts::create_user(
            &self.db,
            &self.auth.hasher,
            NewAccount {
                user_id: &UserId::parse(id).unwrap(),
                email,
                password: Some(Password::parse(Field::Password, initial).unwrap()),
            },
            role,
            org_id,
            &Actor::Cli,
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    }

    /// The company of user `id`.
    async fn org_of(&self, id: &str) -> Option<i64> {
        use backend::db::entities::user;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let user = user::Entity::find().filter(user::Column::UserId.eq(id)).one(&self.db).await.unwrap();
        user.unwrap_or_else(|| panic!("no user {id}")).org_id
    }

    /// Counts rows of `sql` (a `SELECT COUNT(*) AS n …`).
    pub async fn count(&self, sql: &str) -> i64 {
        count(&self.db, sql).await
    }
}

/// The API as the tests call it: one method per endpoint and per common flow. JSON endpoints
/// answer `(status, body)` (body `Null` when there is none); issuing answers the response itself
/// (a file, with headers).
impl TestApp {
    /// PostgreSQL: drops this app's database under the running server (its connections
    /// terminated), as an outage would take it.
    pub async fn drop_postgres_database(&self, admin_url: &str) {
        use sea_orm::ConnectionTrait;
        self.db.clone().close().await.ok();
        let name = self.database_url.rsplit('/').next().unwrap().to_owned();
        let admin = sea_orm::Database::connect(admin_url).await.unwrap();
        admin.execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)")).await.unwrap();
    }

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

    /// The app's anonymous browser (its client: no certificate, no session). Cheap: clone it
    /// into concurrent tasks.
    pub fn browser(&self) -> Browser {
        Browser::of(&self.url(""), self.client.clone())
    }

    /// `POST /api/issuance/authenticate`.
    pub async fn authenticate(&self, id: &str, pw: &str) -> (u16, Value) {
        answer(self.browser().authenticate(id, pw).await.unwrap()).await
    }

    /// An issuance token for `id`, or the refusal (status and body).
    pub async fn token(&self, id: &str, pw: &str) -> Result<String, (u16, String)> {
        self.browser().token(id, pw).await
    }

    /// `POST /api/issuance/issue`.
    pub async fn issue(&self, token: &str, pw: &str) -> reqwest::Response {
        self.browser().issue(token, pw).await.unwrap()
    }

    /// `POST /api/password/change`, with a new e-mail address or none.
    pub async fn change_password(&self, id: &str, current: &str, new: &str, email: Option<&str>) -> (u16, Value) {
        let mut body = json!({"user_id": id, "current_password": current, "new_password": new});
        if let Some(email) = email {
            body["email"] = json!(email);
        }
        answer(self.post("/api/password/change", &body).await).await
    }

    /// Creates a master and replaces the initial password with `password` through the API.
    pub async fn master_ready(&self, org: &str, id: &str, password: &str) {
        self.create_master(org, id, "init1234").await;
        let email = format!("{id}@example.co.jp");
        let (status, body) = self.change_password(id, "init1234", password, Some(&email)).await;
        assert_eq!(status, 200, "{body}");
    }

    /// Creates a staff user and replaces the initial password with `password` through the API.
    pub async fn staff_ready(&self, id: &str, password: &str) {
        self.create_staff(id, "Init1234").await;
        let (status, body) = self.change_password(id, "Init1234", password, None).await;
        assert_eq!(status, 200, "{body}");
    }

    /// Authenticates `id` for issuance and issues a certificate; returns the .p12 bytes.
    pub async fn issue_certificate(&self, id: &str, pw: &str) -> Vec<u8> {
        self.issued(id, pw).await.0
    }

    /// Authenticate → issue through the API: the .p12 bytes and the serial header.
    async fn issued(&self, id: &str, pw: &str) -> (Vec<u8>, String) {
        let issued = self.browser().issuance(id, pw).await;
        issued.unwrap_or_else(|(status, body)| panic!("issuance for {id}: {status} {body}"))
    }

    /// Issues a certificate to `id` through the API; returns its certificate + key as PEM and its serial.
    pub async fn issued_identity(&self, id: &str, pw: &str) -> (Vec<u8>, String) {
        let (p12_bytes, serial) = self.issued(id, pw).await;
        (identity_pem(&p12_bytes, pw), serial)
    }

    /// A browser presenting `identity` (PEM), logged in as `id`.
    pub async fn login(&self, identity: &[u8], id: &str, pw: &str) -> Browser {
        let mut browser = Browser::new(self, Some(identity));
        let (status, body) = browser.login(id, pw).await;
        assert_eq!(status, 200, "login of {id}: {body}");
        browser
    }

    /// A staff user ready ([`TestApp::staff_ready`]) with a certificate, logged in with it.
    pub async fn staff_session(&self, id: &str, password: &str) -> Browser {
        self.staff_ready(id, password).await;
        let (identity, _) = self.issued_identity(id, password).await;
        self.login(&identity, id, password).await
    }

    /// A company's master ready ([`TestApp::master_ready`]) with a certificate, logged in with it.
    pub async fn master_session(&self, org: &str, id: &str, password: &str) -> Browser {
        self.master_ready(org, id, password).await;
        let (identity, _) = self.issued_identity(id, password).await;
        self.login(&identity, id, password).await
    }
}

/// A browser: a client of one server, with an optional client certificate and the session cookie
/// it was given. Session endpoints answer `(status, body)` and fail the test when nothing answers;
/// the issuance endpoints answer the `reqwest::Result`, as tests run them while the server is
/// killed or flooded.
#[derive(Clone)]
pub struct Browser {
    client: reqwest::Client,
    base: String,
    identity: Option<Vec<u8>>,
    cookie: Option<String>,
}

impl Browser {
    /// A new browser of `app` (a client of its own), presenting `identity` (PEM) when given.
    pub fn new(app: &TestApp, identity: Option<&[u8]>) -> Self {
        let client = client_with(&app.data_dir, identity);
        Self { identity: identity.map(<[u8]>::to_vec), ..Self::of(&app.url(""), client) }
    }

    /// A browser of the server at `base` (e.g. a `cjs serve` process) using `client`.
    pub fn of(base: &str, client: reqwest::Client) -> Self {
        Self { client, base: base.to_owned(), identity: None, cookie: None }
    }

    /// The certificate and key it presents (PEM).
    pub fn identity(&self) -> &[u8] {
        self.identity.as_deref().expect("a browser with a certificate")
    }

    /// Its session cookie (`cjs_session=…`).
    pub fn cookie(&self) -> &str {
        self.cookie.as_deref().expect("a logged-in browser")
    }

    /// The same browser with the session cookie `cookie` (taken from another).
    pub fn with_cookie(self, cookie: &str) -> Self {
        Self { cookie: Some(cookie.to_owned()), ..self }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let rb = self.client.request(method, format!("{}{}", self.base, path));
        match &self.cookie {
            Some(c) => rb.header("cookie", c),
            None => rb,
        }
    }

    /// `POST /api/login`; keeps the session cookie, which must be HttpOnly, Secure and SameSite=Strict.
    pub async fn login(&mut self, id: &str, pw: &str) -> (u16, Value) {
        let body = json!({"user_id": id, "password": pw});
        let r = self.request(reqwest::Method::POST, "/api/login").json(&body).send().await.unwrap();
        if let Some(c) = r.headers().get("set-cookie") {
            let c = c.to_str().unwrap().to_owned();
            assert!(c.contains("HttpOnly") && c.contains("Secure") && c.contains("SameSite=Strict"), "{c}");
            self.cookie = Some(c.split(';').next().unwrap().to_owned());
        }
        answer(r).await
    }

    /// `POST /api/login` that answers the transport error instead of failing the test (for
    /// loads while servers are killed): the status.
    pub async fn try_login(&mut self, id: &str, pw: &str) -> Result<u16, String> {
        let body = json!({"user_id": id, "password": pw});
        let r =
            self.request(reqwest::Method::POST, "/api/login").json(&body).send().await.map_err(|e| format!("{e:?}"))?;
        let status = r.status().as_u16();
        r.bytes().await.map_err(|e| format!("{e:?}"))?;
        Ok(status)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        answer(self.request(reqwest::Method::GET, path).send().await.unwrap()).await
    }

    /// `GET path` as it came: status, headers and the body's bytes (a file download).
    pub async fn get_raw(&self, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let r = self.request(reqwest::Method::GET, path).send().await.unwrap();
        let (status, headers) = (r.status().as_u16(), r.headers().clone());
        (status, headers, r.bytes().await.unwrap().to_vec())
    }

    /// `POST path` with a JSON body, from `origin` when given.
    pub async fn post(&self, path: &str, body: &Value, origin: Option<&str>) -> (u16, Value) {
        let mut rb = self.request(reqwest::Method::POST, path).json(body);
        if let Some(o) = origin {
            rb = rb.header("origin", o);
        }
        answer(rb.send().await.unwrap()).await
    }

    /// `POST /api/issuance/authenticate`.
    pub async fn authenticate(&self, id: &str, pw: &str) -> reqwest::Result<reqwest::Response> {
        let body = json!({"user_id": id, "password": pw});
        self.request(reqwest::Method::POST, "/api/issuance/authenticate").json(&body).send().await
    }

    /// `POST /api/issuance/issue`.
    pub async fn issue(&self, token: &str, pw: &str) -> reqwest::Result<reqwest::Response> {
        let body = json!({"token": token, "password": pw});
        self.request(reqwest::Method::POST, "/api/issuance/issue").json(&body).send().await
    }

    /// An issuance token for `id`, or the refusal: its status and body (status 0: no answer).
    pub async fn token(&self, id: &str, pw: &str) -> Result<String, (u16, String)> {
        let r = self.authenticate(id, pw).await.map_err(no_answer)?;
        let status = r.status().as_u16();
        let body = r.text().await.map_err(no_answer)?;
        if status != 200 {
            return Err((status, body));
        }
        let body: Value = serde_json::from_str(&body).unwrap();
        Ok(body["token"].as_str().unwrap().to_owned())
    }

    /// Authenticate, then issue, as the issuance pages do: the .p12 bytes and the serial, or the
    /// status and body of the step that refused (status 0: no answer, the connection was lost).
    pub async fn issuance(&self, id: &str, pw: &str) -> Result<(Vec<u8>, String), (u16, String)> {
        let token = self.token(id, pw).await?;
        let r = self.issue(&token, pw).await.map_err(no_answer)?;
        let status = r.status().as_u16();
        let serial = r.headers().get(common::api::HEADER_CERT_SERIAL).map(|v| v.to_str().unwrap().to_owned());
        let bytes = r.bytes().await.map_err(no_answer)?;
        match serial {
            Some(serial) if status == 200 => Ok((bytes.to_vec(), serial)),
            _ => Err((status, String::from_utf8_lossy(&bytes).into_owned())),
        }
    }
}

/// A response's status and JSON body (`Null` when it has none).
async fn answer(r: reqwest::Response) -> (u16, Value) {
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// The refusal of a request nothing answered: status 0 and the error.
fn no_answer(e: reqwest::Error) -> (u16, String) {
    (0, e.to_string())
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
    serve_command(data_dir, url, port, extra).spawn().unwrap()
}

/// The command [`serve_process`] runs, for a test that adds to its environment.
pub fn serve_command(data_dir: &std::path::Path, url: &str, port: u16, extra: &[&str]) -> Command {
    let throttle: &[&str] =
        if extra.contains(&"--password-attempts-per-minute") { &[] } else { &["--password-attempts-per-minute", "0"] };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cjs"));
    cmd.args(throttle)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data_dir)
        .args(["--database-url", url])
        .args(extra)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd
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

/// The text OpenSSL prints of the CRL `der`, after it verified the CRL against the CA of
/// `data_dir` (the text holds `verify OK`).
pub fn verified_crl_text(data_dir: &std::path::Path, der: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("crl.der"), der).unwrap();
    let text = run(Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text", "-CAfile"])
        .arg(data_dir.join("ca.pem"))
        .arg("-in")
        .arg(dir.path().join("crl.der")));
    assert!(text.contains("verify OK"), "{text}");
    text
}

/// The certificate and key of the .p12 `p12` (password `pw`) as PEM, by OpenSSL.
pub fn identity_pem(p12: &[u8], pw: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.p12");
    std::fs::write(&path, p12).unwrap();
    let out = dir.path().join("x.pem");
    run(Command::new("openssl")
        .args(["pkcs12", "-noenc", "-passin", &format!("pass:{pw}"), "-in"])
        .arg(&path)
        .arg("-out")
        .arg(&out));
    std::fs::read(&out).unwrap()
}

/// `openssl ocsp` asking `url` about the certificate in `leaf` (PEM) of the CA `ca_pem`,
/// verifying the answer against it. Off the test's runtime thread, which may also drive the
/// server's database pool.
pub async fn openssl_ocsp(ca_pem: &std::path::Path, leaf: &[u8], url: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("leaf.pem"), leaf).unwrap();
    let mut cmd = Command::new("openssl");
    cmd.args(["ocsp", "-issuer"])
        .arg(ca_pem)
        .arg("-CAfile")
        .arg(ca_pem)
        .arg("-cert")
        .arg(dir.path().join("leaf.pem"))
        .args(["-url", url, "-resp_text"]);
    tokio::task::spawn_blocking(move || run(&mut cmd)).await.unwrap()
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
}

/// A `cjs serve` process of a test, killed when the test ends, however it ends.
pub struct Server(pub std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port free now on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `cmd` (a `cjs serve`) and waits until it answers /api/health over TLS trusting the data
/// directory's CA.
pub async fn started(mut cmd: Command, data_dir: &std::path::Path, base: &str) -> Server {
    let server = Server(cmd.spawn().unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !data_dir.join("ca.pem").exists() {
        assert!(std::time::Instant::now() < deadline, "no CA certificate was written");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let client = client_with(data_dir, None);
    loop {
        if let Ok(r) = client.get(format!("{base}/api/health")).send().await
            && r.status().is_success()
        {
            return server;
        }
        assert!(std::time::Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
