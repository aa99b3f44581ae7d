//! The connection path (issue 13): PROXY protocol only from trusted proxies, the per-address
//! connection cap under a flood of slow connections, the handshake / head / body deadlines, and
//! mutual TLS through a real HAProxy in `mode tcp`.
//!
//! Connection behaviour does not depend on the database, so these run on SQLite only.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use backend::net::proxy_protocol;
use rustls_pki_types::{ServerName, pem::PemObject};
use serde_json::json;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};
use tokio_rustls::TlsConnector;

use crate::helpers::{Options, TestApp, TestDb, client_from, spawn, spawn_app};

const OTHER_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const FLOODER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));

/// A TCP connection to `port` on 127.0.0.1 leaving from `from`.
async fn connect_from(from: IpAddr, port: u16) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(SocketAddr::from(([127, 0, 0, 1], port))).await
}

/// A TLS client trusting the test server's CA (no client certificate).
fn tls_connector(data_dir: &Path) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(data_dir.join("server-ca.pem")).unwrap();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

fn server_name() -> ServerName<'static> {
    ServerName::IpAddress(Ipv4Addr::LOCALHOST.into())
}

/// Reads until end of stream or `limit`; `Ok(bytes)` also when the peer reset after writing nothing.
async fn read_until_closed<R: AsyncRead + Unpin>(io: &mut R, limit: Duration) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.map(|()| out).map_err(|_| "still open")
}

/// `GET /api/health` over `io` (already TLS); returns the status line.
async fn health_over<S: AsyncRead + tokio::io::AsyncWrite + Unpin>(io: &mut S) -> String {
    io.write_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").await.unwrap();
    let answer = read_until_closed(io, Duration::from_secs(5)).await.unwrap();
    String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn proxy_headers_are_refused_from_untrusted_peers() {
    let app = spawn_app(&TestDb::Sqlite).await;
    let dest = SocketAddr::from(([127, 0, 0, 1], app.port));
    let v2 = proxy_protocol::encode(Some("192.0.2.9:4242".parse().unwrap()), dest);
    for header in [v2, b"PROXY TCP4 192.0.2.9 127.0.0.1 4242 8443\r\n".to_vec()] {
        let mut tcp = connect_from(FLOODER, app.port).await.unwrap();
        tcp.write_all(&header).await.unwrap();
        let answer = read_until_closed(&mut tcp, Duration::from_secs(3)).await;
        assert_eq!(answer, Ok(Vec::new()), "closed without an answer: {:?}", String::from_utf8_lossy(&header));
    }
    // An ordinary client of that address still gets through.
    let r = client_from(&app.data_dir, None, Some(FLOODER)).get(app.url("/api/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn trusted_proxies_must_send_a_header_whose_source_is_the_client() {
    let opts = Options {
        trusted_proxies: Some("127.0.0.1".into()),
        max_connections_per_address: Some(1),
        ..Options::default()
    };
    let app = spawn(&TestDb::Sqlite, opts).await;
    let tls = tls_connector(&app.data_dir);
    let dest = SocketAddr::from(([127, 0, 0, 1], app.port));

    // From the trusted address without a header: refused.
    let err = client_from(&app.data_dir, None, Some(FLOODER)).get(app.url("/api/health")).send().await;
    assert!(err.is_err(), "a trusted peer without a PROXY header must be refused: {err:?}");
    // Untrusted peers are served as before.
    let r = client_from(&app.data_dir, None, Some(OTHER_CLIENT)).get(app.url("/api/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    // With a header: TLS and HTTP follow on the same connection (nothing over-read).
    let relayed = |source: &str| proxy_protocol::encode(Some(source.parse().unwrap()), dest);
    let mut tcp = connect_from(FLOODER, app.port).await.unwrap();
    tcp.write_all(&relayed("192.0.2.9:4242")).await.unwrap();
    let mut held = tls.connect(server_name(), tcp).await.expect("TLS after the PROXY header");

    // The cap (1 here) counts the relayed address, not the proxy's: a second connection for
    // 192.0.2.9 is closed, one for 192.0.2.10 is served.
    let mut tcp = connect_from(FLOODER, app.port).await.unwrap();
    tcp.write_all(&relayed("192.0.2.9:4243")).await.unwrap();
    assert!(tls.connect(server_name(), tcp).await.is_err(), "second connection of 192.0.2.9 over the cap");
    let mut tcp = connect_from(FLOODER, app.port).await.unwrap();
    tcp.write_all(&relayed("192.0.2.10:4243")).await.unwrap();
    let mut other = tls.connect(server_name(), tcp).await.unwrap();
    assert_eq!(health_over(&mut other).await, "HTTP/1.1 200 OK");
    assert_eq!(health_over(&mut held).await, "HTTP/1.1 200 OK");

    // LOCAL (the proxy's own health check): served, counted as the proxy.
    let mut tcp = connect_from(FLOODER, app.port).await.unwrap();
    tcp.write_all(&proxy_protocol::encode(None, dest)).await.unwrap();
    let mut local = tls.connect(server_name(), tcp).await.unwrap();
    assert_eq!(health_over(&mut local).await, "HTTP/1.1 200 OK");

    // A header cut short is not waited for forever, and never trusted.
    let mut tcp = connect_from(FLOODER, app.port).await.unwrap();
    tcp.write_all(&relayed("192.0.2.11:1")[..10]).await.unwrap();
    tcp.shutdown().await.unwrap();
    assert_eq!(read_until_closed(&mut tcp, Duration::from_secs(3)).await, Ok(Vec::new()));
}

#[tokio::test]
async fn slow_handshakes_heads_and_bodies_are_cut_off() {
    let app = spawn_app(&TestDb::Sqlite).await;
    let tls = tls_connector(&app.data_dir);
    let started = Instant::now();
    let handshake = async {
        let mut tcp = connect_from(FLOODER, app.port).await.unwrap();
        tcp.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).await.unwrap(); // a ClientHello begun
        let closed = read_until_closed(&mut tcp, Duration::from_secs(13)).await;
        (closed.is_ok(), started.elapsed())
    };
    let head = async {
        let mut io = tls.connect(server_name(), connect_from(FLOODER, app.port).await.unwrap()).await.unwrap();
        io.write_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n").await.unwrap();
        let closed = read_until_closed(&mut io, Duration::from_secs(8)).await;
        (closed.is_ok(), started.elapsed())
    };
    // A finished handshake and nothing after it: the HTTP layer never takes the connection.
    let idle = async {
        let mut io = tls.connect(server_name(), connect_from(FLOODER, app.port).await.unwrap()).await.unwrap();
        let closed = read_until_closed(&mut io, Duration::from_secs(8)).await;
        (closed, started.elapsed())
    };
    // Its first byte late (3 s), then the rest of its head never: still cut 5 s after the
    // handshake, though the HTTP layer took the connection only at 3 s.
    let late = async {
        let mut io = tls.connect(server_name(), connect_from(FLOODER, app.port).await.unwrap()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
        io.write_all(b"G").await.unwrap();
        let closed = read_until_closed(&mut io, Duration::from_secs(10)).await;
        (closed.map(|a| String::from_utf8_lossy(&a).into_owned()), started.elapsed())
    };
    let body = async {
        let mut io = tls.connect(server_name(), connect_from(FLOODER, app.port).await.unwrap()).await.unwrap();
        io.write_all(b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user_id\"").await.unwrap();
        let answer = read_until_closed(&mut io, Duration::from_secs(13)).await;
        (answer.map(|a| String::from_utf8_lossy(&a).into_owned()), started.elapsed())
    };
    let (
        (hs_closed, hs_at),
        (head_closed, head_at),
        (idle_closed, idle_at),
        (late_answer, late_at),
        (body_answer, body_at),
    ) = tokio::join!(handshake, head, idle, late, body);
    assert!(hs_closed && hs_at >= Duration::from_secs(9), "unfinished handshake closed at ~10 s: {hs_at:?}");
    assert!(head_closed && head_at >= Duration::from_secs(4), "unfinished head closed at ~5 s: {head_at:?}");
    assert_eq!(idle_closed, Ok(Vec::new()), "no request: closed without a byte (the HTTP layer never had it)");
    assert!(idle_at >= Duration::from_secs(4), "no request closed at ~5 s: {idle_at:?}");
    let late_answer = late_answer.expect("a head begun late is cut off too");
    assert!(late_answer.is_empty() || late_answer.starts_with("HTTP/1.1 408"), "{late_answer}");
    assert!(
        late_at >= Duration::from_secs(4) && late_at < Duration::from_secs(7),
        "a head begun at 3 s closed 5 s after the handshake, not 5 s after its first byte: {late_at:?}"
    );
    let body_answer = body_answer.expect("connection closed after the 408");
    assert!(body_answer.starts_with("HTTP/1.1 408"), "{body_answer}");
    assert!(body_answer.contains("request_timeout") && body_answer.contains("connection: close"), "{body_answer}");
    assert!(body_at >= Duration::from_secs(9), "body cut at ~10 s: {body_at:?}");
}

#[tokio::test]
async fn a_later_request_dripped_on_a_kept_alive_connection_is_cut_off() {
    // actix-http times only a connection's first request head; the connection's own deadline
    // (net::REQUEST_DEADLINE, 20 s from a request's first byte to its answer) covers the rest.
    let app = spawn_app(&TestDb::Sqlite).await;
    let tls = tls_connector(&app.data_dir);
    let mut io = tls.connect(server_name(), connect_from(FLOODER, app.port).await.unwrap()).await.unwrap();
    io.write_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 4096];
    let n = io.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"), "the first request is answered");
    let started = Instant::now();
    io.write_all(b"GET /api/hea").await.unwrap();
    let mut dripping = true;
    let closed = tokio::time::timeout(Duration::from_secs(40), async {
        loop {
            tokio::select! {
                r = io.read(&mut buf) => match r { Ok(0) | Err(_) => return, Ok(_) => {} },
                _ = tokio::time::sleep(Duration::from_secs(2)), if dripping => {
                    // One byte every 2 s: under any idle timeout, never a whole head.
                    dripping = io.write_all(b"l").await.is_ok();
                }
            }
        }
    })
    .await;
    let at = started.elapsed();
    assert!(closed.is_ok(), "the dripped second request was never cut off");
    assert!(at >= Duration::from_secs(18) && at < Duration::from_secs(30), "cut at ~20 s: {at:?}");
}

#[tokio::test]
async fn a_connection_waiting_for_its_first_request_closes_when_the_server_stops() {
    // It is the acceptor's until its first byte (net::accept), not actix-http's: the server's
    // stop must reach it there too, not leave it to its 5 s deadline.
    let setup = spawn_app(&TestDb::Sqlite).await;
    let log = setup.data_dir.parent().unwrap().join("stop.log");
    let mut served = Served::start(&setup, &["--shutdown-drain-seconds", "1"], 1024, &log);
    served.wait_ready(&setup.data_dir).await;
    let tls = tls_connector(&setup.data_dir);
    let mut idle = tls.connect(server_name(), connect_from(FLOODER, served.port).await.unwrap()).await.unwrap();
    let stopping = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &served.child.id().to_string()]).status().unwrap().success());
    let closed = read_until_closed(&mut idle, Duration::from_secs(10)).await;
    let at = stopping.elapsed();
    assert_eq!(closed, Ok(Vec::new()), "closed without a byte");
    assert!(at < Duration::from_secs(4), "closed at the stop (1 s of draining), not at its 5 s deadline: {at:?}");
    let deadline = Instant::now() + Duration::from_secs(15);
    while served.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the server did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `cjs serve` in its own process with a soft limit of `fd_limit` open files (1024 is the
/// default soft limit of Debian and of systemd services), logging (RUST_LOG=info) to `log`.
struct Served {
    child: Child,
    port: u16,
}

impl Served {
    fn start(app: &TestApp, extra: &[&str], fd_limit: u32, log: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -Sn {fd_limit} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_cjs"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(&app.data_dir)
            .args(["--database-url", &app.database_url])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        Self { child, port }
    }

    async fn wait_ready(&mut self, data_dir: &Path) {
        let client = client_from(data_dir, None, Some(OTHER_CLIENT));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let url = format!("https://127.0.0.1:{}/api/health", self.port);
            if client.get(url).send().await.is_ok_and(|r| r.status() == 200) {
                return;
            }
            assert!(self.child.try_wait().unwrap().is_none(), "cjs serve exited");
            assert!(Instant::now() < deadline, "cjs serve did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A master with a certificate: the identity (PEM) to log in with.
async fn master_with_certificate(app: &TestApp) -> Vec<u8> {
    app.master_ready("会社A", "mastera1", "Sekret927").await;
    app.issued_identity("mastera1", "Sekret927").await.0
}

/// Logs in as mastera1 from `from` at `base`; returns the status and how long it took.
async fn login(data_dir: &Path, identity: &[u8], from: IpAddr, base: &str) -> (u16, Duration) {
    let client = client_from(data_dir, Some(identity), Some(from));
    let t = Instant::now();
    let r = client
        .post(format!("{base}/api/login"))
        .json(&json!({"user_id": "mastera1", "password": "Sekret927"}))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    (r.map_or(0, |r| r.status().as_u16()), t.elapsed())
}

/// A flooding client: opens a slow connection, and a new one a second after the server closed it
/// (as an attacker would, to keep its connections open past the server's deadlines).
async fn flooder(kind: usize, port: u16, tls: TlsConnector, connected: Arc<AtomicUsize>) {
    loop {
        slow_connection(kind, port, tls.clone(), connected.clone()).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// One slow connection of the flood: `kind` 0 sends part of a ClientHello, 1 part of a request
/// head after the handshake, 2 a request head and then a body one byte every 500 ms.
async fn slow_connection(kind: usize, port: u16, tls: TlsConnector, connected: Arc<AtomicUsize>) {
    let Ok(Ok(mut tcp)) = tokio::time::timeout(Duration::from_secs(10), connect_from(FLOODER, port)).await else {
        return;
    };
    connected.fetch_add(1, Ordering::Relaxed);
    if kind == 0 {
        let _ = tcp.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).await;
        let _ = read_until_closed(&mut tcp, Duration::from_secs(30)).await;
        return;
    }
    let Ok(Ok(mut io)) = tokio::time::timeout(Duration::from_secs(10), tls.connect(server_name(), tcp)).await else {
        return;
    };
    if kind == 1 {
        let _ = io.write_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n").await;
        let _ = read_until_closed(&mut io, Duration::from_secs(30)).await;
        return;
    }
    let head = b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n";
    if io.write_all(head).await.is_err() {
        return;
    }
    for _ in 0..60 {
        if io.write_all(b" ").await.is_err() || io.flush().await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn one_address_holding_3000_slow_connections_does_not_stop_others() {
    const FLOOD: usize = 3000;
    let soft_limit = String::from_utf8(Command::new("sh").args(["-c", "ulimit -Sn"]).output().unwrap().stdout).unwrap();
    let soft_limit: u64 = soft_limit.trim().parse().unwrap_or(u64::MAX);
    assert!(
        soft_limit >= 4096,
        "this test opens {FLOOD} sockets: raise `ulimit -n` (now {soft_limit}) to 4096 or more"
    );
    let setup = spawn_app(&TestDb::Sqlite).await;
    let identity = master_with_certificate(&setup).await;
    let log = setup.data_dir.parent().unwrap().join("serve.log");
    // The server process gets the common default of 1024 open files: without the cap, one
    // address's connections exhaust them and nobody else is accepted.
    let mut served = Served::start(&setup, &[], 1024, &log); // the default cap (128)
    served.wait_ready(&setup.data_dir).await;
    let base = format!("https://127.0.0.1:{}", served.port);

    let tls = tls_connector(&setup.data_dir);
    let connected = Arc::new(AtomicUsize::new(0));
    let mut flood = tokio::task::JoinSet::new();
    for i in 0..FLOOD {
        flood.spawn(flooder(i % 3, served.port, tls.clone(), connected.clone()));
        if i % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while connected.load(Ordering::Relaxed) < FLOOD && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let flood_connected = connected.load(Ordering::Relaxed);

    let other = client_from(&setup.data_dir, None, Some(OTHER_CLIENT));
    let mut health_max = Duration::ZERO;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let t = Instant::now();
        let r = other.get(format!("{base}/api/health")).timeout(Duration::from_secs(5)).send().await;
        let took = t.elapsed();
        assert!(r.is_ok_and(|r| r.status() == 200), "health from 127.0.0.2 during the flood failed after {took:?}");
        health_max = health_max.max(took);
    }
    let (status, login_took) = login(&setup.data_dir, &identity, OTHER_CLIENT, &base).await;
    eprintln!(
        "flood: {flood_connected} TCP connections from 127.0.0.1 in the first wave of {FLOOD}; health from 127.0.0.2 max {health_max:?}; login {login_took:?}"
    );
    assert_eq!(status, 200, "login from 127.0.0.2 during the flood");
    assert!(health_max < Duration::from_secs(1), "health max {health_max:?}");
    assert!(login_took < Duration::from_secs(1), "login took {login_took:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    let cap_lines = text.lines().filter(|l| l.contains("per-address cap")).count();
    assert!((1..=3).contains(&cap_lines), "refusals are logged with a count, not per connection: {cap_lines} lines");
    flood.abort_all();
}

/// A HAProxy process in front of cjs, stopped when dropped.
struct Haproxy {
    child: Child,
    port: u16,
    socket: PathBuf,
}

impl Haproxy {
    /// `None` (and a loud message) when haproxy is not installed, unless CI=true.
    fn start(dir: &Path, backend_port: u16) -> Option<Self> {
        if Command::new("haproxy").arg("-v").output().is_err() {
            assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "haproxy is required in CI (scripts/setup-tools)");
            eprintln!("\n*** SKIPPED: haproxy is not installed (scripts/setup-tools installs it) ***\n");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let socket = dir.join("haproxy.sock");
        let config = format!(
            "global\n  stats socket {sock} mode 600 level admin\n\
             defaults\n  mode tcp\n  timeout connect 5s\n  timeout check 2s\n  timeout client 30s\n  timeout server 30s\n\
             frontend fe\n  bind 127.0.0.1:{port}\n  default_backend be\n\
             backend be\n  option httpchk GET /api/health\n  \
             server cjs 127.0.0.1:{backend_port} send-proxy-v2 check check-ssl verify none check-send-proxy inter 300ms rise 1\n",
            sock = socket.display()
        );
        let cfg = dir.join("haproxy.cfg");
        std::fs::write(&cfg, config).unwrap();
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("haproxy.log")).unwrap())
            .spawn()
            .unwrap();
        Some(Self { child, port, socket })
    }

    /// The status of server `cjs` in `show stat` (UP once its health checks pass).
    fn server_status(&self) -> String {
        use std::io::{Read, Write};
        let Ok(mut s) = std::os::unix::net::UnixStream::connect(&self.socket) else { return "no socket".into() };
        s.write_all(b"show stat\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let line = out.lines().find(|l| l.starts_with("be,cjs,")).unwrap_or_default().to_owned();
        line.split(',').nth(17).unwrap_or_default().to_owned()
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn mutual_tls_works_through_haproxy_and_the_app_sees_the_client_address() {
    let setup = spawn_app(&TestDb::Sqlite).await;
    let dir = setup.data_dir.parent().unwrap().to_owned();
    let identity = master_with_certificate(&setup).await;
    let log = dir.join("serve.log");
    let mut served = Served::start(&setup, &["--trusted-proxies", "127.0.0.1"], 4096, &log);
    // Ready: a direct request from an untrusted address works (and needs no header).
    served.wait_ready(&setup.data_dir).await;
    let Some(haproxy) = Haproxy::start(&dir, served.port) else { return };

    // HAProxy's health checks (PROXY v2 + TLS + GET /api/health) mark the server UP.
    let deadline = Instant::now() + Duration::from_secs(15);
    while haproxy.server_status() != "UP" {
        assert!(
            Instant::now() < deadline,
            "haproxy never saw cjs UP: {}\n{}",
            haproxy.server_status(),
            std::fs::read_to_string(dir.join("haproxy.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let base = format!("https://127.0.0.1:{}", haproxy.port);
    let (status, _) = login(&setup.data_dir, &identity, OTHER_CLIENT, &base).await;
    assert_eq!(status, 200, "mutual-TLS login through haproxy");

    // The access log line of the login names 127.0.0.2 (the PROXY source), not HAProxy's 127.0.0.1.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if text.lines().any(|l| l.contains("127.0.0.2 \"POST /api/login")) {
            assert!(!text.contains("127.0.0.1 \"POST /api/login"), "{text}");
            assert!(!text.contains("PROXY protocol refusal"), "{text}");
            break;
        }
        assert!(Instant::now() < deadline, "no login line from 127.0.0.2 in the server log:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // And so does the audit log: the one login comes from the client behind HAProxy.
    let logins = "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'login'";
    assert_eq!(setup.count(logins).await, 1);
    assert_eq!(
        setup.count(&format!("{logins} AND client_address = '127.0.0.2'")).await,
        1,
        "the audit log names the client"
    );
}

/// A plain-HTTP request over a fresh connection from `from`; the status line, or "" when the
/// connection was closed unanswered.
async fn plain_get(from: IpAddr, port: u16, path: &str) -> String {
    let Ok(mut tcp) = connect_from(from, port).await else { return String::new() };
    let head = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if tcp.write_all(head.as_bytes()).await.is_err() {
        return String::new();
    }
    let answer = read_until_closed(&mut tcp, Duration::from_secs(5)).await.unwrap_or_default();
    String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_owned()
}

/// Issue 29 §3: the plain-HTTP listeners (revocation data, metrics) take the same per-address
/// cap as the HTTPS one, each counted apart: an address holding its slots of one listener is
/// closed there, unanswered, and still served by the others; another address is served; a slot
/// freed is taken again.
#[tokio::test]
async fn the_plain_http_listeners_cap_connections_per_address_too() {
    let opts =
        Options { http_listen: true, metrics_listen: true, max_connections_per_address: Some(2), ..Options::default() };
    let app = spawn(&TestDb::Sqlite, opts).await;
    let (http, metrics) = (app.http_port.unwrap(), app.metrics_port.unwrap());
    for (port, path) in [(http, "/pki/ca.crt"), (metrics, "/metrics")] {
        let first = connect_from(FLOODER, port).await.unwrap();
        let second = connect_from(FLOODER, port).await.unwrap();
        // The server counts a connection when it accepts it: give it the moment.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(plain_get(FLOODER, port, path).await, "", "a third connection of one address is closed ({path})");
        assert_eq!(plain_get(OTHER_CLIENT, port, path).await, "HTTP/1.1 200 OK", "another address is served");
        let other = if port == http { (metrics, "/metrics") } else { (http, "/pki/ca.crt") };
        assert_eq!(plain_get(FLOODER, other.0, other.1).await, "HTTP/1.1 200 OK", "the other listener counts apart");
        assert_eq!(
            health_over(
                &mut tls_connector(&app.data_dir)
                    .connect(server_name(), connect_from(FLOODER, app.port).await.unwrap())
                    .await
                    .unwrap()
            )
            .await,
            "HTTP/1.1 200 OK",
            "HTTPS counts apart"
        );
        drop(first);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(plain_get(FLOODER, port, path).await, "HTTP/1.1 200 OK", "a freed slot is taken again");
        drop(second);
    }
}
