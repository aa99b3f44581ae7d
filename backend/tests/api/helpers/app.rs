//! A server in the test's process (`spawn`), its store, and the API flows tests repeat.

use super::*;

static INIT: Once = Once::new();

pub fn init() {
    INIT.call_once(|| {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        if std::env::var("TEST_LOG").is_ok() {
            backend::telemetry::init(backend::telemetry::LogFormat::Text);
        }
    });
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
    /// `p12_include_ca`: the CA's certificate in the .p12 too.
    pub p12_include_ca: bool,
    /// `ocsp_honour_nonces`: OCSP answers echo the request's nonce.
    pub ocsp_honour_nonces: bool,
    /// `ocsp_preproduce`: the background pass signs answers ahead (default true).
    pub ocsp_preproduce: bool,
    /// `ocsp_preproduce_interval_seconds` (default 5).
    pub ocsp_preproduce_interval_seconds: u32,
    /// `ocsp_signing_per_second` (default: the product's).
    pub ocsp_signing_per_second: Option<u32>,
    /// `staff_networks` (comma-separated), e.g. "10.0.0.0/8".
    pub staff_networks: Option<String>,
    /// 検印 as the product's default (every sensitive staff operation waits for a second staff
    /// member); the other tests do staff operations directly (`approval_required = none`).
    pub approvals: bool,
}

/// STARTTLS/TLS and credentials for the test SMTP server.
#[derive(Debug, Clone)]
pub struct SmtpSecure {
    pub security: backend::mail::settings::SmtpSecurity,
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
            p12_include_ca: false,
            ocsp_honour_nonces: false,
            ocsp_preproduce: true,
            ocsp_preproduce_interval_seconds: 5,
            ocsp_signing_per_second: None,
            staff_networks: None,
            approvals: false,
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
            .map(|_| opts.smtp_secure.as_ref().map_or(backend::mail::settings::SmtpSecurity::None, |s| s.security)),
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
            .map(|list| backend::net::Networks::parse_list(list).expect("trusted_proxies").networks().to_vec()),
        max_connections_per_address: opts.max_connections_per_address,
        http_listen: opts.http_listen.then(|| "127.0.0.1:0".parse().unwrap()),
        metrics_listen: opts.metrics_listen.then(|| "127.0.0.1:0".parse().unwrap()),
        p12_include_ca: Some(opts.p12_include_ca),
        ocsp_honour_nonces: Some(opts.ocsp_honour_nonces),
        ocsp_preproduce: Some(opts.ocsp_preproduce),
        ocsp_preproduce_interval_seconds: Some(opts.ocsp_preproduce_interval_seconds),
        ocsp_signing_per_second: opts.ocsp_signing_per_second,
        staff_networks: opts
            .staff_networks
            .as_deref()
            .map(|list| backend::net::Networks::parse_list(list).expect("staff_networks").networks().to_vec()),
        approval_required: (!opts.approvals).then(|| vec!["none".to_owned()]),
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

impl TestStore {
    /// `cjs admin …` on this store, as the bank runs it: its output (the test fails if it does).
    ///
    /// Awaited, not blocked on: a test's runtime also drives the in-process server's background
    /// tasks (the audit sealer, the mailer), and one of them may hold a lock that the command
    /// waits for (the sealer's `LOCK TABLE audit_log IN SHARE MODE`): blocking the runtime there
    /// deadlocks the test.
    pub async fn admin(&self, args: &[&str]) -> String {
        let mut cmd = admin_command(&self.data_dir, &self.database_url);
        cmd.args(args);
        tokio::task::spawn_blocking(move || run(&mut cmd)).await.expect("cjs admin ran")
    }

    /// `cjs admin revoke` of every active certificate of `user`, as an operator runs it.
    pub async fn cli_revoke(&self, user: &str, reason: &str) {
        self.admin(&["revoke", "--user-id", user, "--reason", reason]).await;
    }

    /// A fresh store on `db` with the default configuration, and no server on it.
    pub async fn fresh(db: &TestDb) -> Self {
        let (dir, data_dir, database_url) = fresh_store(db).await;
        Self { _dir: Some(dir), ..Self::attach(data_dir, database_url).await }
    }

    /// The store of a data directory and database that a server (or another release) made,
    /// with the default configuration.
    pub async fn attach(data_dir: PathBuf, database_url: String) -> Self {
        init();
        let config = Config::resolve(&ConfigArgs {
            data_dir: Some(data_dir.clone()),
            database_url: Some(database_url.clone()),
            ..Default::default()
        })
        .unwrap();
        Self::open(None, data_dir, database_url, &config).await
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
