//! Mutual TLS: full handshakes with a client certificate plus one request that checks it, per
//! second, against nginx (`ssl_verify_client optional`) with the same server certificate, CA and
//! client certificate; and memory with 1,000 idle TLS connections.

use std::{
    path::Path,
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use rustls::{ClientConfig, RootCertStore, client::Resumption};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;

use crate::util::{self, PASSWORD, Peer};

/// A TLS client presenting the identity in `p12`, trusting `ca_pem`, with session resumption
/// off so every connection is a full handshake.
pub fn connector(p12: &[u8], ca_pem: &Path, dir: &Path) -> anyhow::Result<TlsConnector> {
    let p12_path = dir.join("client.p12");
    std::fs::write(&p12_path, p12)?;
    let pem = util::run(
        Command::new("openssl")
            .args(["pkcs12", "-nodes", "-passin"])
            .arg(format!("pass:{PASSWORD}"))
            .arg("-in")
            .arg(&p12_path),
    )?;
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(pem.as_bytes()).collect::<Result<_, _>>().context("certificates in the .p12")?;
    let key = PrivateKeyDer::from_pem_slice(pem.as_bytes()).context("key in the .p12")?;
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca_pem)? {
        roots.add(c?)?;
    }
    let mut config = ClientConfig::builder().with_root_certificates(roots).with_client_auth_cert(certs, key)?;
    config.resumption = Resumption::disabled();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// One connection: handshake, `GET path`, read the whole answer, check it.
async fn one(connector: &TlsConnector, port: u16, path: &str, expect: &str) -> anyhow::Result<()> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    tcp.set_nodelay(true)?;
    let mut tls = connector.connect(ServerName::try_from("127.0.0.1")?.to_owned(), tcp).await?;
    tls.write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut buf = Vec::new();
    tls.read_to_end(&mut buf).await.or_else(|e| {
        // nginx may close without close_notify after Connection: close.
        if e.kind() == std::io::ErrorKind::UnexpectedEof { Ok(0) } else { Err(e) }
    })?;
    let text = String::from_utf8_lossy(&buf);
    if !text.starts_with("HTTP/1.1 200") || !text.contains(expect) {
        bail!("unexpected answer: {}", text.lines().next().unwrap_or_default());
    }
    Ok(())
}

/// Handshakes per second over `secs` with `clients` concurrent loops.
pub async fn handshakes_per_sec(
    connector: TlsConnector,
    port: u16,
    path: &'static str,
    expect: &'static str,
    clients: usize,
    secs: u64,
) -> anyhow::Result<f64> {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    let started = Instant::now();
    for _ in 0..clients {
        let (c, stop, done) = (connector.clone(), stop.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                one(&c, port, path, expect).await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

/// nginx with the cjs server certificate and CA, `ssl_verify_client optional`, `workers` processes.
pub async fn start_nginx(nginx: &Path, data_dir: &Path, dir: &Path, workers: usize) -> anyhow::Result<(Peer, u16)> {
    let port = util::free_port();
    let conf = format!(
        "daemon off;\nmaster_process on;\nworker_processes {workers};\nuser root;\npid {dir}/nginx.pid;\n\
         error_log {dir}/nginx-error.log warn;\nworker_rlimit_nofile 8192;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {dir}/tmp;\n  proxy_temp_path {dir}/tmp;\n  \
         fastcgi_temp_path {dir}/tmp;\n  uwsgi_temp_path {dir}/tmp;\n  scgi_temp_path {dir}/tmp;\n  \
         keepalive_timeout 75s;\n  server {{\n    listen 127.0.0.1:{port} ssl;\n    \
         ssl_certificate {data}/server.pem;\n    ssl_certificate_key {data}/server-key.pem;\n    \
         ssl_client_certificate {data}/ca.pem;\n    ssl_verify_client optional;\n    \
         ssl_session_cache off;\n    ssl_session_tickets off;\n    \
         location / {{ default_type text/plain; return 200 \"$ssl_client_verify $ssl_client_s_dn\\n\"; }}\n  }}\n}}\n",
        dir = dir.display(),
        data = data_dir.display(),
    );
    std::fs::create_dir_all(dir.join("tmp"))?;
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf)?;
    let child = Command::new(nginx)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {}", nginx.display()))?;
    let peer = Peer(child);
    util::wait_port(port).await?;
    Ok((peer, port))
}

/// Connections of [`rss_with_idle`].
pub const IDLE_CONNECTIONS: usize = 1000;

/// RSS (MiB) of cjs (`cjs`: port, pid) and of nginx (`nginx`: port, master's pid; master +
/// workers) while [`IDLE_CONNECTIONS`] connections are open on each (with `paths`, one request
/// each, cjs's path then nginx's), one server after the other; and how long cjs's took to open.
pub async fn rss_with_idle(
    connector: &TlsConnector,
    cjs: (u16, u32),
    nginx: (u16, u32),
    paths: Option<[&'static str; 2]>,
) -> anyhow::Result<(Duration, f64, f64)> {
    let (conns, took) = open_idle(connector, cjs.0, IDLE_CONNECTIONS, paths.map(|p| p[0])).await?;
    let ours = util::rss_mib(cjs.1);
    drop(conns);
    let (conns, _) = open_idle(connector, nginx.0, IDLE_CONNECTIONS, paths.map(|p| p[1])).await?;
    let theirs = util::rss_tree_mib(nginx.1);
    drop(conns);
    Ok((took, ours, theirs))
}

/// Opens `n` TLS connections (handshake done; with `request`, one `GET request` answered on each,
/// kept alive) and keeps them; returns them and the time it took.
async fn open_idle(
    connector: &TlsConnector,
    port: u16,
    n: usize,
    request: Option<&'static str>,
) -> anyhow::Result<(Vec<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>, Duration)> {
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let sem = Arc::new(tokio::sync::Semaphore::new(50));
    for _ in 0..n {
        let (c, sem) = (connector.clone(), sem.clone());
        set.spawn(async move {
            let _permit = sem.acquire().await?;
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
            let mut tls = c.connect(ServerName::try_from("127.0.0.1")?.to_owned(), tcp).await?;
            if let Some(path) = request {
                tls.write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes()).await?;
                let mut answer = [0u8; 4096];
                let n = tls.read(&mut answer).await?;
                anyhow::ensure!(answer[..n].starts_with(b"HTTP/1.1 200"), "GET {path} not answered 200");
            }
            anyhow::Ok(tls)
        });
    }
    let mut conns = Vec::with_capacity(n);
    while let Some(r) = set.join_next().await {
        conns.push(r??);
    }
    Ok((conns, started.elapsed()))
}
