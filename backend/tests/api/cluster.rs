//! Several instances behind a load balancer, with real parts (SPEC §1): three `cjs serve`
//! processes on one PostgreSQL behind HAProxy (Debian `haproxy`, `mode tcp`, PROXY protocol v2,
//! health checks on `/api/health/ready`), a load of issuances and logins through it, then one
//! instance SIGKILLed, a rolling restart with SIGTERM, and a burst of wrong passwords.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use sea_orm::ConnectionTrait;

use crate::helpers::{Browser, TestDb, TestStore, client_with, free_port, identity_pem, serve_command_of};

const INSTANCES: usize = 3;
/// Users issuing under the load (each once per phase: an issuance for a user who already holds
/// a valid certificate is a renewal only near its expiry, so each phase has users of its own).
const ISSUERS: usize = 4;

/// One `cjs serve` of the cluster.
pub(crate) struct Instance {
    child: Option<Child>,
    port: u16,
}

impl Instance {
    fn start(store: &TestStore, port: u16, log: &Path) -> Self {
        Self::start_of(Path::new(env!("CARGO_BIN_EXE_cjs")), &store.data_dir, &store.database_url, port, log)
    }

    /// An instance of binary `bin` (another release's) on a data directory and database.
    pub(crate) fn start_of(bin: &Path, data_dir: &Path, database_url: &str, port: u16, log: &Path) -> Self {
        Self::start_with(bin, data_dir, database_url, port, log, &["--trusted-proxies", "127.0.0.1"])
    }

    /// An instance of binary `bin` with settings of its own (`extra`), reached directly (no
    /// trusted proxy) unless they say otherwise.
    pub(crate) fn start_with(
        bin: &Path,
        data_dir: &Path,
        database_url: &str,
        port: u16,
        log: &Path,
        extra: &[&str],
    ) -> Self {
        let mut args = vec!["--shutdown-drain-seconds", "2", "--p12-iterations", "2048"];
        args.extend_from_slice(extra);
        let mut cmd = serve_command_of(bin, data_dir, database_url, port, &args);
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        cmd.env("RUST_LOG", "info").stderr(log);
        Self { child: Some(cmd.spawn().unwrap()), port }
    }

    pub(crate) fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        assert!(Command::new("kill").args([&format!("-{signal}"), &pid]).status().unwrap().success());
    }

    /// Waits for the process to end: whether it exited cleanly.
    pub(crate) async fn wait_exit(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let child = self.child.as_mut().unwrap();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status.success();
            }
            assert!(Instant::now() < deadline, "instance on {} did not stop", self.port);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// HAProxy in front of the instances, with its admin socket to read the servers' states.
pub(crate) struct Haproxy {
    child: Child,
    pub(crate) port: u16,
    socket: PathBuf,
    servers: usize,
}

impl Haproxy {
    pub(crate) fn start(dir: &Path, backends: &[u16]) -> Self {
        let port = free_port();
        let socket = dir.join("haproxy.sock");
        let servers: String =
            backends.iter().enumerate().map(|(i, p)| format!("  server cjs{i} 127.0.0.1:{p}\n")).collect();
        let config = format!(
            "global\n  stats socket {sock} mode 600 level admin\n\
             defaults\n  mode tcp\n  timeout connect 2s\n  timeout check 2s\n  timeout client 30s\n  timeout server 30s\n  retries 3\n  option redispatch\n\
             frontend fe\n  bind 127.0.0.1:{port}\n  default_backend be\n\
             backend be\n  balance roundrobin\n  option httpchk GET /api/health/ready\n  \
             default-server send-proxy-v2 check check-ssl verify none check-send-proxy inter 300ms fall 2 rise 2\n{servers}",
            sock = socket.display()
        );
        std::fs::write(dir.join("haproxy.cfg"), config).unwrap();
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(dir.join("haproxy.cfg"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("haproxy.log")).unwrap())
            .spawn()
            .expect("haproxy (scripts/setup-tools installs it)");
        Self { child, port, socket, servers: backends.len() }
    }

    /// The status (UP, DOWN, …) of each server, in order.
    fn statuses(&self) -> Vec<String> {
        self.column(17)
    }

    /// The connections each server was given so far, in order.
    pub(crate) fn sessions(&self) -> Vec<u64> {
        self.column(7).iter().map(|n| n.parse().unwrap_or(0)).collect()
    }

    /// Column `n` of `show stat` for each server, in order.
    fn column(&self, n: usize) -> Vec<String> {
        let rows = haproxy_servers(&self.socket, "be");
        (0..self.servers)
            .map(|i| {
                let row = rows.iter().find(|r| r[1] == format!("cjs{i}"));
                row.and_then(|r| r.get(n)).cloned().unwrap_or_default()
            })
            .collect()
    }

    pub(crate) async fn wait_for(&self, server: usize, status: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.statuses().get(server).map(String::as_str) != Some(status) {
            assert!(Instant::now() < deadline, "cjs{server} never {status}: {:?}", self.statuses());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The rows of `show stat` (its CSV fields) of the servers of `backend`, read from HAProxy's
/// admin socket; none while the socket is not there yet.
pub(crate) fn haproxy_servers(socket: &Path, backend: &str) -> Vec<Vec<String>> {
    use std::io::{Read, Write};
    let Ok(mut s) = std::os::unix::net::UnixStream::connect(socket) else { return vec![] };
    s.write_all(b"show stat\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.lines()
        .map(|l| l.split(',').map(str::to_owned).collect::<Vec<_>>())
        .filter(|f| f.len() > 17 && f[0] == backend && f[1] != "FRONTEND" && f[1] != "BACKEND")
        .collect()
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the load saw: each request's outcome with its time.
#[derive(Default)]
pub(crate) struct Seen {
    pub(crate) ok: usize,
    pub(crate) failed: Vec<(Instant, String)>,
    pub(crate) issued: Vec<String>,
}

/// Runs logins (as `login`, with `identity`) and issuances (for `issuers`, once each) through
/// `base` until `stop`; returns what they saw.
pub(crate) fn load(
    base: &str,
    data_dir: &Path,
    (login, identity): (&str, &[u8]),
    issuers: Vec<String>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Seen> {
    let (base, data_dir, identity) = (base.to_owned(), data_dir.to_owned(), identity.to_owned());
    let login = login.to_owned();
    tokio::spawn(async move {
        let mut tasks = tokio::task::JoinSet::new();
        for id in issuers {
            let browser = Browser::of(&base, client_with(&data_dir, None));
            tasks.spawn(async move {
                let mut seen = Seen::default();
                match browser.issuance(&id, "Sekret927").await {
                    Ok((_, serial)) => {
                        seen.ok += 1;
                        seen.issued.push(serial);
                    }
                    Err(e) => seen.failed.push((Instant::now(), format!("issuance {id}: {e:?}"))),
                }
                seen
            });
        }
        for _ in 0..3 {
            let (stop, login) = (stop.clone(), login.clone());
            let mut user = Browser::of(&base, client_with(&data_dir, Some(&identity)));
            tasks.spawn(async move {
                let mut seen = Seen::default();
                while !stop.load(Ordering::Relaxed) {
                    match user.try_login(&login, "Sekret927").await {
                        Ok(200) => seen.ok += 1,
                        other => seen.failed.push((Instant::now(), format!("login: {other:?}"))),
                    }
                }
                seen
            });
        }
        let mut all = Seen::default();
        while let Some(done) = tasks.join_next().await {
            let s = done.unwrap();
            all.ok += s.ok;
            all.failed.extend(s.failed);
            all.issued.extend(s.issued);
        }
        all
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_behind_haproxy_survive_a_kill_and_a_rolling_restart_and_lock_exactly() {
    let Some(db) = TestDb::postgres() else { return };
    let store = TestStore::fresh(&db).await;
    store.create_master("クラスタ株式会社", "master01", "Sekret927").await;
    for i in 0..=3 * ISSUERS {
        store.create_general("master01", &format!("user{i:02}"), "Sekret927").await;
    }
    store.db.execute_unprepared("UPDATE users SET must_change_password = false").await.unwrap();
    store.db.execute_unprepared("UPDATE organizations SET certificate_limit = 100").await.unwrap();
    let dir = store.data_dir.parent().unwrap().to_owned();
    let log = dir.join("instances.log");
    let ports: Vec<u16> = (0..INSTANCES).map(|_| free_port()).collect();
    // The first makes the CA; the others start on its files (as instances sharing them would).
    let mut instances = vec![Instance::start(&store, ports[0], &log)];
    let deadline = Instant::now() + Duration::from_secs(60);
    while !store.data_dir.join("server-key.pem").exists() {
        assert!(Instant::now() < deadline, "the first instance made no server key");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for port in &ports[1..] {
        instances.push(Instance::start(&store, *port, &log));
    }
    let haproxy = Haproxy::start(&dir, &ports);
    for i in 0..INSTANCES {
        haproxy.wait_for(i, "UP").await;
    }
    let base = format!("https://127.0.0.1:{}", haproxy.port);
    let browser = Browser::of(&base, client_with(&store.data_dir, None));
    let (p12, _) = browser.issuance("user00", "Sekret927").await.unwrap();
    let identity = identity_pem(&p12, "Sekret927");
    let issuers = |phase: usize| (1..=ISSUERS).map(|i| format!("user{:02}", phase * ISSUERS + i)).collect::<Vec<_>>();

    // 1. One instance SIGKILLed mid-load.
    let stop = Arc::new(AtomicBool::new(false));
    let running = load(&base, &store.data_dir, ("user00", &identity), issuers(0), stop.clone());
    tokio::time::sleep(Duration::from_millis(400)).await;
    instances[1].signal("KILL");
    let killed_at = Instant::now();
    instances[1].wait_exit(Duration::from_secs(5)).await;
    haproxy.wait_for(1, "DOWN").await;
    tokio::time::sleep(Duration::from_secs(2)).await; // the load goes on, on the other two
    stop.store(true, Ordering::Relaxed);
    let seen = running.await.unwrap();
    // Only requests that were on the killed instance fail (at most one per client, and only
    // around the kill); every other request, and everything after HAProxy saw it down, succeeds.
    assert!(seen.failed.len() <= ISSUERS + 3, "{:?}", seen.failed);
    for (at, what) in &seen.failed {
        assert!(at.duration_since(killed_at) < Duration::from_secs(2), "a failure long after the kill: {what}");
    }
    assert!(seen.ok > 0, "the load went on");
    let kill_failures = seen.failed.len();
    consistent(&store, &seen.issued).await;

    // 2. A rolling restart with SIGTERM under load: no request fails.
    instances[1] = Instance::start(&store, ports[1], &log);
    haproxy.wait_for(1, "UP").await;
    let stop = Arc::new(AtomicBool::new(false));
    let running = load(&base, &store.data_dir, ("user00", &identity), issuers(1), stop.clone());
    for i in 0..INSTANCES {
        instances[i].signal("TERM");
        haproxy.wait_for(i, "DOWN").await; // it leaves the pool while still serving (draining)
        assert!(instances[i].wait_exit(Duration::from_secs(20)).await, "a clean exit after draining");
        instances[i] = Instance::start(&store, ports[i], &log);
        haproxy.wait_for(i, "UP").await;
    }
    stop.store(true, Ordering::Relaxed);
    let seen = running.await.unwrap();
    assert!(seen.failed.is_empty(), "no failed request during the rolling restart: {:?}", seen.failed);
    assert_eq!(seen.issued.len(), ISSUERS);
    consistent(&store, &seen.issued).await;

    // 3. The lockout stays exact across the three: 50 parallel wrong passwords through HAProxy.
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let browser = browser.clone();
        burst.spawn(async move { browser.try_authenticate("master01", "Wrong1234").await.unwrap().status().as_u16() });
    }
    let mut statuses = Vec::new();
    while let Some(s) = burst.join_next().await {
        statuses.push(s.unwrap());
    }
    let counted = store
        .count("SELECT COUNT(*) AS n FROM audit_log WHERE action IN ('auth_failure', 'locked') AND subject_user = 'master01'")
        .await;
    assert_eq!(counted, 6, "exactly six attempts counted; statuses {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 423).count(), 45, "{statuses:?}");
    assert_eq!(store.count("SELECT COUNT(*) AS n FROM mail_outbox WHERE dedupe_key LIKE 'lock:%'").await, 1);
    let spread = std::fs::read_to_string(&log).unwrap();
    println!(
        "cluster: {kill_failures} failed request(s) at the SIGKILL, 0 in the rolling restart, lockout exact; {} access lines",
        spread.lines().filter(|l| l.contains("POST /api/")).count()
    );
}

/// Every certificate is whole (its audit entry and its notice in the same transaction), none
/// is duplicated, and every issuance a client was told of is there.
pub(crate) async fn consistent(store: &TestStore, issued: &[String]) {
    let whole = store
        .count(
            "SELECT COUNT(*) AS n FROM certificates c WHERE NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.action = 'certificate_issued' AND a.detail LIKE '%' || c.serial || '%') OR NOT EXISTS (SELECT 1 FROM mail_outbox m WHERE m.dedupe_key = 'issued:' || c.serial)",
        )
        .await;
    assert_eq!(whole, 0, "no half-written certificate");
    let duplicated = store
        .count(
            "SELECT COUNT(*) AS n FROM (SELECT user_pk FROM certificates WHERE status = 'active' GROUP BY user_pk HAVING COUNT(*) > 1) d",
        )
        .await;
    assert_eq!(duplicated, 0, "no user with two certificates");
    for serial in issued {
        let n = store.count(&format!("SELECT COUNT(*) AS n FROM certificates WHERE serial = '{serial}'")).await;
        assert_eq!(n, 1, "the certificate the client got ({serial}) is stored");
    }
}
