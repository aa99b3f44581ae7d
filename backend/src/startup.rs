//! Start-up: prepares the data directory, database, CA, server certificate and keys, and builds
//! the HTTPS server. Tests call [`Application::build`] with port 0 and read [`Application::port`].
//!
//! The server is actix-web's `HttpServer` taken apart so that connections pass through
//! [`net::Acceptor`] (PROXY protocol, per-address cap, TLS handshake) before the HTTP service:
//! `actix_server` workers and signals, `actix_http::HttpService` with the same settings
//! `HttpServer` uses, and the `App` mapped onto it as `HttpServer` maps it.

use std::{net::TcpListener, sync::Arc, time::Duration};

use actix_http::{HttpService, KeepAlive};
use actix_service::{IntoServiceFactory, ServiceFactoryExt, fn_service, map_config};
use actix_web::{App, dev::AppConfig, dev::Server, middleware, web};
use anyhow::Context;
use sea_orm::DatabaseConnection;
use time::OffsetDateTime;

use crate::{
    api,
    auth::{Authenticator, password::Hasher},
    background::Tasks,
    certificates::{IssuanceService, ocsp::OcspResponder, revocation::Revocations, tokens::TokenKeys},
    config::Config,
    db,
    error::{json_error_handler, query_error_handler},
    net,
    pki::{CertificateAuthority, profile::RevocationPointers},
    state::AppState,
    tls,
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

/// The services every `cjs` command needs: database, hasher, authenticator.
pub async fn core_services(config: &Config) -> anyhow::Result<(DatabaseConnection, Authenticator)> {
    prepare_data_dir(config)?;
    let db = db::connect(&config.database_url).await?;
    let hasher = Hasher::with_queue_limit(config.argon2_memory_kib, config.password_queue_limit as usize)?;
    let auth = Authenticator { db: db.clone(), policy: config.lockout, hasher, public_url: config.public_url.clone() };
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

/// How often the CRL refresh looks for revocations of other instances and the nextUpdate.
const CRL_REFRESH_INTERVAL: Duration = Duration::from_secs(300);

/// A built server, bound and ready to run, with its background tasks started.
pub struct Application {
    port: u16,
    http_port: Option<u16>,
    metrics_port: Option<u16>,
    server: Server,
    state: web::Data<AppState>,
    tasks: Tasks,
}

impl Application {
    /// Prepares everything and binds `config.listen` (port 0: any free port).
    pub async fn build(mut config: Config) -> anyhow::Result<Self> {
        for key in &config.unknown_keys {
            tracing::warn!(key = %key, file = %config.data_dir.join(crate::config::CONFIG_FILE).display(), "UNKNOWN CONFIGURATION KEY: ignored — check its spelling");
        }
        let now = OffsetDateTime::now_utc();
        // The listeners first: the addresses they got (port 0: any) are the defaults of the
        // public URL and of the certificates' revocation pointers.
        let listener =
            TcpListener::bind(config.listen).with_context(|| format!("Failed to listen on {}", config.listen))?;
        let local_addr = listener.local_addr()?;
        config.bound_to(local_addr);
        let (db, auth) = core_services(&config).await?;
        let http_listener = match config.http_listen {
            Some(addr) => Some(TcpListener::bind(addr).with_context(|| format!("Failed to listen on {addr} (HTTP)"))?),
            None => None,
        };
        let http_addr = http_listener.as_ref().map(TcpListener::local_addr).transpose()?;
        let base = config.revocation_base(http_addr);
        let active = match &config.ca_token {
            Some(token) => {
                CertificateAuthority::load_or_create_in_token(&config.data_dir, config.ca_cert.as_deref(), token, now)?
            }
            None => {
                let paths = config.ca_cert.as_deref().zip(config.ca_key.as_deref());
                CertificateAuthority::load_or_create(&config.data_dir, paths, now)?
            }
        };
        // The CAs a rollover retired still sign the CRL and OCSP of their certificates. The oldest
        // keeps the paths without a key id (its certificates name them); the others have their own.
        let active_id = active.key_id().to_owned();
        let mut all = CertificateAuthority::load_retired(&config.data_dir, config.ca_token.as_ref())?;
        all.push(active);
        all.sort_by_key(CertificateAuthority::not_before);
        let cas: Vec<Arc<CertificateAuthority>> = all
            .into_iter()
            .enumerate()
            .map(|(i, ca)| {
                let pointers = if i == 0 {
                    RevocationPointers::under(&base)
                } else {
                    RevocationPointers::of_ca(&base, ca.key_id())
                };
                Arc::new(ca.with_pointers(pointers))
            })
            .collect();
        let ca = cas.iter().find(|c| c.key_id() == active_id).cloned().context("the active CA")?;
        if let Some(p) = ca.pointers() {
            tracing::info!(crl = %p.crl, ocsp = %p.ocsp, cas = cas.len(), "revocation pointers of issued certificates");
        }
        crate::certificates::revocation::assign_unattributed(&db, cas[0].key_id()).await?;
        let (cert_path, key_path) = match (&config.tls_cert, &config.tls_key) {
            (Some(c), Some(k)) => (c.clone(), k.clone()),
            _ => ca.ensure_server_certificate(&config.data_dir, now)?,
        };
        let subjects = cas.iter().map(|c| c.subject_der()).collect::<anyhow::Result<Vec<_>>>()?;
        let tls_config = tls::server_config(&cert_path, &key_path, subjects)?;
        let tokens = TokenKeys::load_or_create(&config.token_key_file)?;
        if !config.dist_dir.join("index.html").exists() {
            tracing::warn!(dist = %config.dist_dir.display(), "the SPA is not built: run `trunk build --release` (the API still works)");
        }
        let issuance = IssuanceService {
            auth: auth.clone(),
            ca: ca.clone(),
            tokens,
            key_type: config.cert_key_type,
            p12: config.p12,
            keys_generated: Arc::default(),
        };
        let throttle = crate::auth::throttle::Throttle::new(
            config.password_attempts_per_minute,
            crate::auth::throttle::DEFAULT_MAX_KEYS,
        );
        let cas = Arc::new(cas);
        let revocations = Revocations::new(db.clone(), cas.clone());
        let ocsp = OcspResponder::new(db::connect_readers(&config.database_url, &db).await?, &cas, now)?;
        let lifecycle = Arc::default();
        let state = AppState {
            config: Arc::new(config.clone()),
            db,
            auth,
            issuance,
            ca,
            cas,
            revocations,
            ocsp,
            throttle,
            lifecycle,
        };
        let mut tasks = Tasks::default();
        // R2 for unknown IDs keeps a bounded table.
        let pruning = crate::auth::unknown::prune_forever(state.db.clone(), std::time::Duration::from_secs(3600));
        tasks.spawn("unknown-ID pruning", pruning);
        // Mail (R2, R6): deliver the outbox, and queue the expiry reminders.
        let mail = &state.config.mail;
        tasks.spawn(
            "mail delivery",
            crate::mail::worker::Worker::new(state.db.clone(), mail)?.run_forever(mail.interval),
        );
        let scan = crate::mail::reminders::scan_forever(
            state.db.clone(),
            mail.reminder_days.clone(),
            state.config.public_url.clone(),
            mail.reminder_interval,
        );
        tasks.spawn("expiry reminder scan", scan);
        // The CRL is signed after revocations, not inside them (certificates::revocation).
        tasks.spawn("CRL refresh", state.revocations.clone().refresh_forever(CRL_REFRESH_INTERVAL));

        let port = local_addr.port();
        let acceptor = net::Acceptor::new(
            Arc::new(tls_config),
            config.trusted_proxies.clone(),
            usize::try_from(config.max_connections_per_address).unwrap_or(usize::MAX),
            net::HANDSHAKE_TIMEOUT,
        );
        let data = web::Data::new(state);
        let state = data.clone();
        // Signals are ours (Application::run_until_stopped): a SIGTERM drains first.
        let mut builder = actix_server::Server::build().shutdown_timeout(10).disable_signals();
        let shutdown = builder.graceful_shutdown_signal();
        if let Some(listener) = http_listener {
            builder = revocation_listener(builder, listener, data.clone())?;
        }
        let mut metrics_port = None;
        if let Some(addr) = config.metrics_listen {
            let listener = TcpListener::bind(addr).with_context(|| format!("Failed to listen on {addr} (metrics)"))?;
            metrics_port = Some(listener.local_addr()?.port());
            builder = metrics_listener(builder, listener, data.clone())?;
        }
        let server = builder
            .listen("cjs-https", listener, move || {
                let data = data.clone();
                let app = App::new()
                    .app_data(data)
                    .app_data(web::JsonConfig::default().limit(16 * 1024).error_handler(json_error_handler))
                    .app_data(web::QueryConfig::default().error_handler(query_error_handler))
                    .wrap(security_headers())
                    .wrap(middleware::from_fn(crate::request_context::middleware))
                    .wrap(middleware::from_fn(net::body_deadline::middleware))
                    .configure(api::configure);
                let shutdown = shutdown.clone();
                // HttpServer's settings (keep-alive 5 s, disconnect 1 s, half-closed reads allowed)
                // with our request head timeout.
                let http = HttpService::build()
                    .keep_alive(KeepAlive::default())
                    .client_request_timeout(net::REQUEST_HEAD_TIMEOUT)
                    .client_disconnect_timeout(Duration::from_secs(1))
                    .h1_allow_half_closed(true)
                    .local_addr(local_addr)
                    .on_connect_ext(crate::tls::peer::on_connect)
                    .graceful_shutdown_signal(move || {
                        let signal = shutdown.clone();
                        async move { signal.notified().await }
                    })
                    .finish(map_config(app.into_factory().map_err(|e| e.error_response()), move |()| {
                        // What HttpServer passes: HTTPS, host = the listening address (used only when a
                        // request has no Host header). The constructor is public for actix-test.
                        AppConfig::__priv_test_new(true, local_addr.to_string(), local_addr)
                    }))
                    .map_err(|e| tracing::debug!(error = %e, "HTTP connection ended with an error"));
                let acceptor = acceptor.clone();
                fn_service(move |tcp| {
                    let acceptor = acceptor.clone();
                    async move { acceptor.accept(tcp).await }
                })
                .and_then(http)
            })
            .context("Failed to start the HTTPS listener")?
            .run();
        tracing::info!(port, "listening (HTTPS)");
        Ok(Self { port, http_port: http_addr.map(|a| a.port()), metrics_port, server, state, tasks })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the plain-HTTP revocation listener, when configured.
    pub fn http_port(&self) -> Option<u16> {
        self.http_port
    }

    /// The port of the metrics listener, when configured.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
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
        done.context("server failed")?;
        death.map_or(Ok(()), Err)
    }
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

/// Adds the plain-HTTP listener of the Prometheus metrics (`GET /metrics`, nothing else): on an
/// address of its own, never the public one, as Keycloak's management port and step-ca's
/// metrics address are.
fn metrics_listener(
    builder: actix_server::ServerBuilder,
    listener: TcpListener,
    data: web::Data<AppState>,
) -> anyhow::Result<actix_server::ServerBuilder> {
    let local_addr = listener.local_addr()?;
    let builder = builder
        .listen("cjs-metrics", listener, move || {
            let app = App::new()
                .app_data(data.clone())
                .route("/metrics", web::get().to(api::health::metrics))
                .default_service(web::to(api::spa::api_not_found));
            HttpService::build()
                .keep_alive(KeepAlive::default())
                .client_request_timeout(net::REQUEST_HEAD_TIMEOUT)
                .local_addr(local_addr)
                .finish(map_config(app.into_factory().map_err(|e| e.error_response()), move |()| {
                    AppConfig::__priv_test_new(false, local_addr.to_string(), local_addr)
                }))
                .tcp()
        })
        .with_context(|| format!("Failed to start the metrics listener on {local_addr}"))?;
    tracing::info!(addr = %local_addr, "listening (HTTP, metrics only)");
    Ok(builder)
}

/// Adds the plain-HTTP listener that serves the revocation data and nothing else (the API and the
/// SPA answer 404 there): relying parties fetch revocation data over HTTP, as from AD CS or EJBCA,
/// since checking it over HTTPS would need revocation data for that HTTPS first. The answers are
/// signed, so HTTP hides nothing that matters.
fn revocation_listener(
    builder: actix_server::ServerBuilder,
    listener: TcpListener,
    data: web::Data<AppState>,
) -> anyhow::Result<actix_server::ServerBuilder> {
    let local_addr = listener.local_addr()?;
    let shutdown = builder.graceful_shutdown_signal();
    let builder = builder
        .listen("cjs-http", listener, move || {
            let app = App::new()
                .app_data(data.clone())
                .wrap(middleware::DefaultHeaders::new().add(("X-Content-Type-Options", "nosniff")))
                .wrap(middleware::from_fn(crate::request_context::middleware))
                .configure(api::configure_revocation)
                .default_service(web::to(api::spa::api_not_found));
            let shutdown = shutdown.clone();
            HttpService::build()
                .keep_alive(KeepAlive::default())
                .client_request_timeout(net::REQUEST_HEAD_TIMEOUT)
                .client_disconnect_timeout(Duration::from_secs(1))
                .local_addr(local_addr)
                .graceful_shutdown_signal(move || {
                    let signal = shutdown.clone();
                    async move { signal.notified().await }
                })
                .finish(map_config(app.into_factory().map_err(|e| e.error_response()), move |()| {
                    AppConfig::__priv_test_new(false, local_addr.to_string(), local_addr)
                }))
                .tcp()
        })
        .with_context(|| format!("Failed to start the HTTP listener on {local_addr}"))?;
    tracing::info!(addr = %local_addr, "listening (HTTP, revocation data only)");
    Ok(builder)
}
