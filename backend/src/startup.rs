//! Start-up: binds the listeners, assembles the services, starts the background tasks and serves.
//! Tests call [`Application::build`] with port 0 and read [`Application::port`].
//!
//! The server is actix-web's `HttpServer` taken apart so that connections pass through
//! [`net::Acceptor`] (PROXY protocol, per-address cap, TLS handshake) before the HTTP service:
//! `actix_server` workers and signals, `actix_http::HttpService` with the same settings
//! `HttpServer` uses ([`http_service`], one for every listener), and each `App` mapped onto it as
//! `HttpServer` maps it.

use std::{
    net::{SocketAddr, TcpListener},
    sync::Arc,
    time::Duration,
};

use actix_http::{HttpService, KeepAlive, Request, Response, body::BoxBody};
use actix_server::GracefulShutdownSignal;
use actix_service::{
    IntoServiceFactory, ServiceFactory, ServiceFactoryExt,
    boxed::{self, BoxServiceFactory},
    fn_service, map_config,
};
use actix_web::{
    App,
    body::MessageBody,
    dev::{AppConfig, Extensions, Server, ServiceRequest, ServiceResponse},
    middleware, web,
};
use anyhow::Context;
use sea_orm::DatabaseConnection;
use time::OffsetDateTime;

use crate::{
    api,
    auth::{Authenticator, password::Hasher, throttle::Throttle},
    background::{self, Tasks},
    certificates::{IssuanceService, ocsp::OcspResponder, revocation::Revocations, tokens::IssuanceTokenKey},
    config::Config,
    db,
    error::{json_error_handler, query_error_handler},
    net,
    pki::CaSet,
    state::AppState,
    tls::{self, TlsIdentity},
};

/// Creates the data directory (mode 0700) if needed and checks that it is writable.
pub fn prepare_data_dir(config: &Config) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = &config.data_dir;
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("Failed to create the data directory {}", dir.display()))?;
    }
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"ok").with_context(|| format!("The data directory {} is not writable", dir.display()))?;
    std::fs::remove_file(&probe).ok();
    Ok(())
}

/// The services every `cjs` command needs: database, hasher, authenticator (its mails naming the
/// public URL of `listen`, as the server would have it).
pub async fn core_services(config: &Config) -> anyhow::Result<(DatabaseConnection, Authenticator)> {
    core_services_at(config, &config.public_url_at(config.listen)).await
}

/// [`core_services`] for a server whose public URL is `public_url`.
async fn core_services_at(config: &Config, public_url: &str) -> anyhow::Result<(DatabaseConnection, Authenticator)> {
    prepare_data_dir(config)?;
    let db = db::connect(&config.database_url).await?;
    let hasher = Hasher::with_queue_limit(config.argon2_memory_kib, config.password_queue_limit as usize)?;
    let auth = Authenticator {
        db: db.clone(),
        policy: config.lockout,
        hasher,
        public_url: public_url.to_owned(),
        staff_networks: config.staff_networks.clone(),
    };
    Ok((db, auth))
}

/// Headers on every response: HTTPS only (HSTS), no framing, no MIME sniffing, no referrer.
/// The page's own Content-Security-Policy is set by `api::spa` when it serves index.html.
fn security_headers() -> middleware::DefaultHeaders {
    middleware::DefaultHeaders::new()
        .add(("Strict-Transport-Security", "max-age=31536000"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        // API answers and files; index.html gets the page policy of api::spa instead.
        .add(("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"))
        .add(("Referrer-Policy", "no-referrer"))
}

/// The listeners, bound first: the addresses they got (port 0: any) are the defaults of the
/// public URL and of the certificates' revocation pointers.
struct Listeners {
    https: TcpListener,
    https_addr: SocketAddr,
    /// The plain-HTTP listener of the revocation data.
    http: Option<Bound>,
    /// The plain-HTTP listener of the Prometheus metrics.
    metrics: Option<Bound>,
}

impl Listeners {
    fn bind(config: &Config) -> anyhow::Result<Self> {
        fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<Bound> {
            let listener = TcpListener::bind(addr).with_context(|| format!("Failed to listen on {addr}{what}"))?;
            let bound = listener.local_addr()?;
            Ok((listener, bound))
        }
        let (https, https_addr) = bind(config.listen, "")?;
        let http = config.http_listen.map(|a| bind(a, " (HTTP)")).transpose()?;
        let metrics = config.metrics_listen.map(|a| bind(a, " (metrics)")).transpose()?;
        Ok(Self { https, https_addr, http, metrics })
    }
}

/// The ports the listeners got.
#[derive(Debug, Clone, Copy)]
struct Ports {
    https: u16,
    http: Option<u16>,
    metrics: Option<u16>,
}

impl Listeners {
    fn ports(&self) -> Ports {
        Ports {
            https: self.https_addr.port(),
            http: self.http.as_ref().map(|l| l.1.port()),
            metrics: self.metrics.as_ref().map(|l| l.1.port()),
        }
    }
}

/// A built server, bound and ready to run, with its background tasks started.
pub struct Application {
    ports: Ports,
    server: Server,
    state: web::Data<AppState>,
    tasks: Tasks,
}

impl Application {
    /// Prepares everything and binds `config.listen` (port 0: any free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        warn_of_unknown_keys(&config);
        let now = OffsetDateTime::now_utc();
        let listeners = Listeners::bind(&config)?;
        let public_url = config.public_url_at(listeners.https_addr);
        let (db, auth) = core_services_at(&config, &public_url).await?;
        let cas = load_cas(&config, &db, &listeners, now).await?;
        let tls = Arc::new(tls::server_config(&server_identity(&config, now)?, cas.subjects_der()?)?);
        warn_if_the_spa_is_missing(&config);
        let state = web::Data::new(assemble(config, public_url, db, auth, cas, now).await?);
        let tasks = background::start(&state)?;
        let ports = listeners.ports();
        let server = serve(listeners, tls, &state)?;
        tracing::info!(port = ports.https, "listening (HTTPS)");
        Ok(Self { ports, server, state, tasks })
    }

    pub fn port(&self) -> u16 {
        self.ports.https
    }

    /// The port of the plain-HTTP revocation listener, when configured.
    pub fn http_port(&self) -> Option<u16> {
        self.ports.http
    }

    /// The port of the metrics listener, when configured.
    pub fn metrics_port(&self) -> Option<u16> {
        self.ports.metrics
    }

    /// Adds `task` to the background tasks watched by [`Application::run_until_stopped`].
    pub fn watch(&mut self, name: &'static str, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(name, task);
    }

    /// The handlers' shared state (tests read its counters).
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Runs until SIGTERM / SIGINT, or until a background task dies: then the cause is logged,
    /// the server stops, and the error is returned (`cjs serve` exits non-zero, so a supervisor
    /// restarts it whole). A signal drains first for `shutdown_drain_seconds` (readiness 503,
    /// connections closed after their answer, requests still served), then stops accepting and
    /// lets the requests in flight finish (up to 10 s).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self { server, mut tasks, state, .. } = self;
        let handle = server.handle();
        let mut server = std::pin::pin!(server);
        let death = tokio::select! {
            done = &mut server => return done.context("server failed"),
            death = tasks.first_death() => {
                tracing::error!(error = %death, "a background task stopped; shutting down");
                Some(death)
            }
            signal = stop_signal() => {
                let drain = state.config.shutdown_drain;
                tracing::info!(signal = signal?, drain_seconds = drain.as_secs(), "stopping: draining first");
                state.lifecycle.start_draining();
                None
            }
        };
        // The server future goes on being polled: it is what carries out the stop.
        let drain = if death.is_some() { Duration::ZERO } else { state.config.shutdown_drain };
        let stopping = async {
            tokio::time::sleep(drain).await;
            tracing::info!("stopping: no new connections; finishing the requests in flight");
            handle.stop(true).await;
        };
        let ((), done) = tokio::join!(stopping, server);
        // The last checkpoint: what this instance wrote is signed before it goes.
        let checkpoint = crate::audit::checkpoint::make(
            &state.db,
            &state.audit_key,
            &state.config.audit.checkpoints,
            OffsetDateTime::now_utc(),
            false,
        );
        match tokio::time::timeout(Duration::from_secs(10), checkpoint).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %format!("{e:#}"), "the audit checkpoint at shutdown failed"),
            Err(_) => tracing::error!("the audit checkpoint at shutdown took over 10 s; given up"),
        }
        done.context("server failed")?;
        death.map_or(Ok(()), Err)
    }
}

/// Keys of the settings file that no setting reads, named with the file they are in: loudly,
/// since a misspelt key is a setting not made.
fn warn_of_unknown_keys(config: &Config) {
    for key in &config.unknown_keys {
        tracing::warn!(key = %key, file = %config.config_file.display(), "UNKNOWN CONFIGURATION KEY: ignored — check its spelling");
    }
}

/// The SPA is served from `dist_dir`; without it the API still works, and the log says why the
/// pages do not.
fn warn_if_the_spa_is_missing(config: &Config) {
    if !config.dist_dir.join("index.html").exists() {
        tracing::warn!(dist = %config.dist_dir.display(), "the SPA is not built: run `trunk build --release` (the API still works)");
    }
}

/// The CAs, their revocation pointers under the base URL the listeners imply, and the rows that
/// name no issuer given to the oldest.
async fn load_cas(
    config: &Config,
    db: &DatabaseConnection,
    listeners: &Listeners,
    now: OffsetDateTime,
) -> anyhow::Result<CaSet> {
    let base = config.revocation_base(listeners.https_addr, listeners.http.as_ref().map(|l| l.1));
    let cas = CaSet::load(&config.data_dir, &config.ca_key, &base, now)?;
    if let Some(p) = cas.active().pointers() {
        tracing::info!(crl = %p.crl, ocsp = %p.ocsp, cas = cas.len(), "revocation pointers of issued certificates");
    }
    crate::certificates::revocation::assign_unattributed(db, cas.oldest().key_id()).await?;
    Ok(cas)
}

/// The server's TLS identity: the configured one, else the embedded default's certificate for
/// 127.0.0.1 and ::1 in the data directory, from a development server CA of its own (never the
/// client-certificate CA).
fn server_identity(config: &Config, now: OffsetDateTime) -> anyhow::Result<TlsIdentity> {
    if let Some(identity) = &config.tls_identity {
        return Ok(identity.clone());
    }
    let (cert, key) = crate::pki::ca::ensure_dev_server_identity(&config.data_dir, now)?;
    Ok(TlsIdentity { cert, key })
}

/// The handlers' shared state: the services over `db`, signing with `cas`.
async fn assemble(
    config: Config,
    public_url: String,
    db: DatabaseConnection,
    auth: Authenticator,
    cas: CaSet,
    now: OffsetDateTime,
) -> anyhow::Result<AppState> {
    let issuance = IssuanceService {
        auth: auth.clone(),
        ca: cas.active().clone(),
        tokens: IssuanceTokenKey::load_or_create(&config.token_key_file)?,
        key_type: config.cert_key_type,
        p12: config.p12,
        keys_generated: Arc::default(),
    };
    let throttle = Throttle::new(config.password_attempts_per_minute, crate::auth::throttle::DEFAULT_MAX_KEYS);
    let revocations = Revocations::new(db.clone(), cas.clone(), &public_url);
    let ocsp = OcspResponder::new(db::connect_readers(&config.database_url, &db).await?, db.clone(), &cas, now)?
        .honouring_nonces(config.ocsp_honour_nonces)
        .preproducing(config.ocsp_preproduce)
        .signing_at_most(config.ocsp_signing_per_second);
    let audit_key = Arc::new(load_audit_key(&config, &db).await?);
    Ok(AppState {
        config: Arc::new(config),
        public_url,
        db,
        auth,
        issuance,
        cas,
        revocations,
        ocsp,
        throttle,
        lifecycle: Arc::default(),
        audit_key,
    })
}

/// The audit key (made on first start), its public half written beside it for the auditor:
/// `audit-key.pub.pem` (beside a key file, or in the data directory for a key in a token). A key
/// that is missing while checkpoints signed by one exist is not made anew: every earlier
/// checkpoint would then look forged. Start-up stops and says which key to put back.
pub async fn load_audit_key(config: &Config, db: &DatabaseConnection) -> anyhow::Result<crate::audit::key::AuditKey> {
    use sea_orm::{EntityTrait, QueryOrder};

    use crate::{
        audit::key::{AuditKey, AuditKeySource},
        db::entities::audit_checkpoint,
    };
    let key = match AuditKey::load(&config.audit.key)? {
        Some(key) => key,
        None => {
            let last = audit_checkpoint::Entity::find().order_by_desc(audit_checkpoint::Column::Id).one(db).await?;
            if let Some(last) = last {
                let signer =
                    crate::audit::checkpoint::Document::parse(&last.document).map(|d| d.key_id).unwrap_or_default();
                anyhow::bail!(
                    "the audit key ({}) is missing, but the audit log's checkpoints were signed by key {signer}: put that key \
                     back (audit_key = its file; with an HSM, the token's audit_pkcs11_key_label). cjs makes no new one: every \
                     earlier checkpoint would then fail verification as if forged",
                    match &config.audit.key {
                        AuditKeySource::File(path) => path.display().to_string(),
                        AuditKeySource::Token(t) => format!("label {:?} in token {:?}", t.key_label, t.token_label),
                    }
                );
            }
            AuditKey::load_or_create(&config.audit.key)?
        }
    };
    let public = match &config.audit.key {
        AuditKeySource::File(path) => path.with_file_name("audit-key.pub.pem"),
        AuditKeySource::Token(_) => config.data_dir.join("audit-key.pub.pem"),
    };
    key.write_public(&public)?;
    Ok(key)
}

/// The server over `listeners`: the HTTPS API and SPA, and the plain-HTTP revocation and metrics
/// listeners when configured. Signals are ours ([`Application::run_until_stopped`]): a SIGTERM
/// drains first.
fn serve(listeners: Listeners, tls: Arc<rustls::ServerConfig>, state: &web::Data<AppState>) -> anyhow::Result<Server> {
    let config = &state.config;
    let max_per_address = usize::try_from(config.max_connections_per_address).unwrap_or(usize::MAX);
    let mut builder = actix_server::Server::build().shutdown_timeout(10).disable_signals();
    let shutdown = builder.graceful_shutdown_signal();
    let acceptor = net::Acceptor::new(tls, config.trusted_proxies.clone(), max_per_address, shutdown.clone());
    // The plain-HTTP listeners: what each serves, and its app.
    let plain: [(&str, &str, Option<Bound>, MakeApp); 2] = [
        ("cjs-http", "revocation data only", listeners.http, revocation_app),
        ("cjs-metrics", "metrics only", listeners.metrics, metrics_app),
    ];
    for (name, serves, bound, app) in plain {
        let Some((listener, addr)) = bound else { continue };
        let (data, shutdown) = (state.clone(), shutdown.clone());
        // The same per-address cap as the HTTPS listener's, counted apart.
        let acceptor = net::PlainAcceptor::new(max_per_address);
        builder = builder
            .listen(name, listener, move || {
                let http = http_service::<net::plain::PlainConnection>(
                    app(data.clone()),
                    addr,
                    false,
                    shutdown.clone(),
                    |_, _| {},
                )
                .map_err(|e| tracing::debug!(error = %e, "HTTP connection ended with an error"));
                let acceptor = acceptor.clone();
                fn_service(move |tcp| std::future::ready(acceptor.accept(tcp))).and_then(http)
            })
            .with_context(|| format!("Failed to start the HTTP listener ({serves}) on {addr}"))?;
        tracing::info!(%addr, "listening (HTTP, {serves})");
    }
    let (data, addr) = (state.clone(), listeners.https_addr);
    let server = builder
        .listen("cjs-https", listeners.https, move || {
            let http = http_service(https_app(data.clone()), addr, true, shutdown.clone(), tls::peer::on_connect)
                .map_err(|e| tracing::debug!(error = %e, "HTTP connection ended with an error"));
            let acceptor = acceptor.clone();
            // Each stage on the heap only while it lives: a connection's task holds two pointers,
            // the acceptor's state until the first request begins (net::accept), then actix-http's
            // dispatcher; not room for the larger of the two from the handshake on. (The app's
            // per-request future is boxed already: `AppFactory`.)
            fn_service(move |tcp| {
                let acceptor = acceptor.clone();
                Box::pin(async move { acceptor.accept(tcp).await })
            })
            .and_then(actix_service::boxed::factory(http))
        })
        .context("Failed to start the HTTPS listener")?
        .run();
    Ok(server)
}

/// The HTTPS listener's app: the API and the SPA, with the revocation data beside them.
fn https_app(data: web::Data<AppState>) -> AppFactory {
    let app = App::new()
        .app_data(data)
        .app_data(web::JsonConfig::default().limit(16 * 1024).error_handler(json_error_handler))
        .app_data(web::QueryConfig::default().error_handler(query_error_handler))
        .wrap(security_headers())
        .wrap(middleware::from_fn(api::access_log::middleware))
        .wrap(middleware::from_fn(api::body_deadline::middleware))
        .configure(api::configure);
    boxed_app(app)
}

/// The plain-HTTP listener that serves the revocation data and nothing else (the API and the SPA
/// answer 404 there): relying parties fetch revocation data over HTTP, as from AD CS or EJBCA,
/// since checking it over HTTPS would need revocation data for that HTTPS first. The answers are
/// signed, so HTTP hides nothing that matters.
fn revocation_app(data: web::Data<AppState>) -> AppFactory {
    let app = App::new()
        .app_data(data)
        .wrap(middleware::DefaultHeaders::new().add(("X-Content-Type-Options", "nosniff")))
        .wrap(middleware::from_fn(api::access_log::middleware))
        .configure(api::configure_revocation)
        .default_service(web::to(api::spa::api_not_found));
    boxed_app(app)
}

/// The plain-HTTP listener of the Prometheus metrics (`GET /metrics`, nothing else): on an
/// address of its own, never the public one, as Keycloak's management port and step-ca's
/// metrics address are.
fn metrics_app(data: web::Data<AppState>) -> AppFactory {
    let app = App::new()
        .app_data(data)
        .route("/metrics", web::get().to(api::health::metrics))
        .default_service(web::to(api::spa::api_not_found));
    boxed_app(app)
}

/// A listener and the address it got.
type Bound = (TcpListener, SocketAddr);

/// Makes a listener's app (once per worker).
type MakeApp = fn(web::Data<AppState>) -> AppFactory;

/// An `App` as the HTTP service takes it: its answers and errors as responses, its type erased
/// so that every listener's app goes through the one [`http_service`].
type AppFactory = BoxServiceFactory<AppConfig, Request, Response<BoxBody>, Response<BoxBody>, ()>;

fn boxed_app<T, B>(app: App<T>) -> AppFactory
where
    T: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: MessageBody + 'static,
{
    boxed::factory(
        app.into_factory()
            .map(|res: ServiceResponse<B>| Response::from(res.map_into_boxed_body()))
            .map_err(|e| Response::from(e.error_response())),
    )
}

/// The HTTP service of one listener: `app` with the settings actix-web's `HttpServer` uses
/// (keep-alive 5 s, disconnect 1 s, half-closed reads allowed), our request head timeout, and
/// the server's graceful shutdown. `secure` and `local_addr` are what `HttpServer` passes the app
/// (the scheme, and the host of a request without a Host header); `on_connect` sees each
/// connection before its first request.
fn http_service<T: 'static>(
    app: AppFactory,
    local_addr: SocketAddr,
    secure: bool,
    shutdown: GracefulShutdownSignal,
    on_connect: fn(&T, &mut Extensions),
) -> HttpService<
    T,
    impl ServiceFactory<Request, Config = (), Response = Response<BoxBody>, Error = Response<BoxBody>, InitError = ()>,
    BoxBody,
> {
    // The constructor is public for actix-test; it is what HttpServer builds.
    let app = map_config(app, move |()| AppConfig::__priv_test_new(secure, local_addr.to_string(), local_addr));
    HttpService::build()
        .keep_alive(KeepAlive::default())
        .client_request_timeout(net::REQUEST_HEAD_TIMEOUT)
        .client_disconnect_timeout(Duration::from_secs(1))
        .h1_allow_half_closed(true)
        .local_addr(local_addr)
        .on_connect_ext(on_connect)
        .graceful_shutdown_signal(move || {
            let signal = shutdown.clone();
            async move { signal.notified().await }
        })
        .finish(app)
}

/// The first SIGTERM or SIGINT: its name.
async fn stop_signal() -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}
