//! PostgreSQL failover with nothing committed lost (issue 31), with Debian's postgresql-15
//! tools: a primary and a synchronous standby made by `pg_createcluster` (the standby from
//! `pg_basebackup`), HAProxy in front sending connections only to the server that answers
//! `pg_is_in_recovery() = false`, and three `cjs serve` on HAProxy's address. Under a load of
//! logins and issuances, the primary's postmaster is SIGKILLed and the standby promoted.
//!
//! Needs root (pg_createcluster writes /etc/postgresql and /var/lib/postgresql): required in CI,
//! skipped elsewhere without it.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use sea_orm::ConnectionTrait;

use crate::{
    cluster::{Instance, consistent, haproxy_servers},
    helpers::{Browser, TestStore, client_with, free_port, identity_pem, init, run},
};

const PG_VERSION: &str = "15";
/// The standby's name in `primary_conninfo`, which `synchronous_standby_names` waits for.
const STANDBY_NAME: &str = "cjs_standby";
const INSTANCES: usize = 3;
/// Users who each issue once during the load.
const ISSUERS: usize = 80;

/// A cluster made by `pg_createcluster` for this test, dropped with it.
struct Cluster {
    name: String,
    port: u16,
    data: PathBuf,
}

impl Cluster {
    /// A new cluster on `port` with `settings` (postgresql.conf lines), not started.
    /// Drops the clusters an interrupted run of this test left (a killed test runs no `Drop`).
    fn drop_leftovers() {
        let list = Command::new("pg_lsclusters").arg("-h").output().unwrap();
        for line in String::from_utf8_lossy(&list.stdout).lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if let [version, name, ..] = fields[..]
                && name.starts_with("cjs_failover_")
            {
                let _ = Command::new("pg_dropcluster").args(["--stop", version, name]).output();
            }
        }
    }

    fn create(role: &str, port: u16, settings: &str) -> Self {
        let name = format!("cjs_failover_{role}_{port}");
        let cluster =
            Self { name: name.clone(), port, data: format!("/var/lib/postgresql/{PG_VERSION}/{name}").into() };
        run(Command::new("pg_createcluster").args([
            "-p",
            &port.to_string(),
            "--start-conf",
            "manual",
            PG_VERSION,
            &name,
            "--",
            "--auth=trust",
        ]));
        let conf = format!("/etc/postgresql/{PG_VERSION}/{name}/conf.d/cjs-failover.conf");
        std::fs::write(conf, format!("listen_addresses = '127.0.0.1'\n{settings}")).unwrap();
        cluster
    }

    fn ctl(&self, action: &str) {
        run(Command::new("pg_ctlcluster").args([PG_VERSION, &self.name, action]));
    }

    fn psql(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", "postgres", "-XtAc", sql])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn postmaster(&self) -> String {
        let pid = std::fs::read_to_string(self.data.join("postmaster.pid")).unwrap();
        pid.lines().next().unwrap().to_owned()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("pg_ctlcluster").args([PG_VERSION, &self.name, "stop", "-m", "immediate"]).output();
        let _ = Command::new("pg_dropcluster").args([PG_VERSION, &self.name]).output();
    }
}

/// HAProxy in front of the two database servers: a server is up only while a `psql` asking
/// `pg_is_in_recovery()` gets `f` (HAProxy's external check), and the connections of a server
/// marked down are cut, so that the pools reconnect to the new primary.
///
/// HAProxy kills an external check that runs longer than `inter` (src/extcheck.c; with
/// `timeout check` set, longer than `timeout connect` if that is less: not set here), and a
/// `psql` on a loaded machine can take longer than 250 ms: with `inter 250ms` two slow checks in
/// a row marked the healthy primary down before the kill (seen in CI; reproduced here with four
/// busy loops beside the test, 1 run in 3). So `inter` is 1 s, the time a check may take, and
/// checks come every 250 ms while a server is down or changing (`downinter`, `fastinter`): a
/// promoted standby is still taken within about 250 ms, a dead primary within about 1.25 s.
struct PgProxy {
    child: std::process::Child,
    port: u16,
    socket: PathBuf,
    log: PathBuf,
}

impl PgProxy {
    fn start(dir: &Path, primary: u16, standby: u16) -> Self {
        let port = free_port();
        let socket = dir.join("haproxy-pg.sock");
        let check = dir.join("pg-primary-check");
        std::fs::write(
            &check,
            "#!/bin/sh\n# HAProxy's external check: $3 the server's address, $4 its port. Up only on a primary.\n\
             [ \"$(PGCONNECT_TIMEOUT=1 psql -h \"$3\" -p \"$4\" -U postgres -d postgres -XtAc 'SELECT pg_is_in_recovery()' 2>/dev/null)\" = f ]\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&check, std::fs::Permissions::from_mode(0o755)).unwrap();
        let config = format!(
            "global\n  stats socket {sock} mode 600 level admin\n  insecure-fork-wanted\n  external-check\n\
             defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1h\n  timeout server 1h\n\
             frontend pg\n  bind 127.0.0.1:{port}\n  default_backend pg\n\
             backend pg\n  option external-check\n  external-check path \"/usr/bin:/bin\"\n  external-check command {check}\n  \
             default-server check inter 1s fastinter 250ms downinter 250ms fall 2 rise 1 on-marked-down shutdown-sessions\n  \
             server primary 127.0.0.1:{primary}\n  server standby 127.0.0.1:{standby}\n",
            sock = socket.display(),
            check = check.display()
        );
        std::fs::write(dir.join("haproxy-pg.cfg"), config).unwrap();
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(dir.join("haproxy-pg.cfg"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("haproxy-pg.log")).unwrap())
            .spawn()
            .expect("haproxy (scripts/setup-tools installs it)");
        Self { child, port, socket, log: dir.join("haproxy-pg.log") }
    }

    /// Each server's status (`primary`, `standby`): `UP`, `DOWN`, or on its way (`UP 1/2`: up,
    /// one failed check seen; `DOWN 1/1`…).
    fn statuses(&self) -> Vec<(String, String)> {
        haproxy_servers(&self.socket, "pg").into_iter().map(|f| (f[1].clone(), f[17].clone())).collect()
    }

    /// Waits until `server` is up and every other one down, for good: a server HAProxy has just
    /// started with is up until its checks say otherwise (`UP 1/2` still takes connections).
    async fn wait_for_only(&self, server: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let statuses = self.statuses();
            let settled = !statuses.is_empty()
                && statuses.iter().all(|(name, status)| status == if name == server { "UP" } else { "DOWN" });
            if settled {
                return;
            }
            assert!(Instant::now() < deadline, "HAProxy never sent to {server} alone: {statuses:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for PgProxy {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("HAProxy (PostgreSQL):\n{}", std::fs::read_to_string(&self.log).unwrap_or_default());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer the load got: when, to what, its status (0: no answer) and whether a 503 said
/// when to come back.
#[derive(Debug, Clone)]
struct Answer {
    at: Instant,
    what: String,
    status: u16,
    retry_after: bool,
}

fn answer_of(what: String, r: &reqwest::Result<reqwest::Response>) -> Answer {
    let (status, retry_after) = match r {
        Ok(r) => (r.status().as_u16(), r.headers().contains_key("retry-after")),
        Err(_) => (0, false),
    };
    Answer { at: Instant::now(), what, status, retry_after }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_to_the_synchronous_standby_loses_nothing_committed_and_recovers_by_itself() {
    init();
    if !nix_root() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "the failover test needs root in CI (pg_createcluster)");
        eprintln!("skipped: pg_createcluster needs root");
        return;
    }
    Cluster::drop_leftovers();
    let dir = tempfile::tempdir().unwrap();
    let (primary_port, standby_port) = (free_port(), free_port());
    // Synchronous commit `on`: a commit returns once the standby has flushed its WAL, so the
    // promoted standby, which replays all it flushed, holds every commit a client was told of.
    // (`remote_apply` would also wait for the replay, for reads on the standby: cjs reads none.)
    let primary = Cluster::create(
        "primary",
        primary_port,
        &format!(
            "wal_level = replica\nmax_wal_senders = 4\nsynchronous_commit = on\nsynchronous_standby_names = '{STANDBY_NAME}'\n"
        ),
    );
    primary.ctl("start");
    let standby = Cluster::create(
        "standby",
        standby_port,
        &format!(
            "primary_conninfo = 'host=127.0.0.1 port={primary_port} user=postgres application_name={STANDBY_NAME}'\n"
        ),
    );
    // The standby's data: a base backup of the primary, and the signal that makes it a standby.
    for entry in std::fs::read_dir(&standby.data).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { std::fs::remove_dir_all(&path).unwrap() } else { std::fs::remove_file(&path).unwrap() }
    }
    run(Command::new("runuser").args(["-u", "postgres", "--", "pg_basebackup", "-h", "127.0.0.1"]).args([
        "-p",
        &primary_port.to_string(),
        "-U",
        "postgres",
        "-D",
        standby.data.to_str().unwrap(),
        "-X",
        "stream",
        "-c",
        "fast",
    ]));
    run(Command::new("runuser").args(["-u", "postgres", "--", "touch"]).arg(standby.data.join("standby.signal")));
    standby.ctl("start");
    let deadline = Instant::now() + Duration::from_secs(30);
    while primary.psql(&format!("SELECT sync_state FROM pg_stat_replication WHERE application_name = '{STANDBY_NAME}'"))
        != "sync"
    {
        assert!(Instant::now() < deadline, "the standby never became synchronous");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    primary.psql("CREATE DATABASE cjs");
    let proxy = PgProxy::start(dir.path(), primary_port, standby_port);
    proxy.wait_for_only("primary").await;
    let url = format!("postgres://postgres@127.0.0.1:{}/cjs", proxy.port);

    // The data, then three instances on HAProxy's address.
    let data_dir = dir.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let store = TestStore::attach(data_dir.clone(), url.clone()).await;
    store.create_master("フェイルオーバー株式会社", "master01", "Sekret927").await;
    for i in 1..=ISSUERS {
        store.create_general("master01", &format!("user{i:02}"), "Sekret927").await;
    }
    store.db.execute_unprepared("UPDATE users SET must_change_password = false").await.unwrap();
    store.db.execute_unprepared("UPDATE organizations SET certificate_limit = 100").await.unwrap();
    let log = dir.path().join("instances.log");
    let ports: Vec<u16> = (0..INSTANCES).map(|_| free_port()).collect();
    let bin = Path::new(env!("CARGO_BIN_EXE_cjs"));
    let extra = ["--mail-interval-seconds", "1", "--mail-retry-seconds", "1"];
    let mut instances = vec![Instance::start_with(bin, &data_dir, &url, ports[0], &log, &extra)];
    while !data_dir.join("server-key.pem").exists() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for port in &ports[1..] {
        instances.push(Instance::start_with(bin, &data_dir, &url, *port, &log, &extra));
    }
    let bases: Vec<String> = ports.iter().map(|p| format!("https://127.0.0.1:{p}")).collect();
    let client = client_with(&data_dir, None);
    for base in &bases {
        let deadline = Instant::now() + Duration::from_secs(60);
        while client.get(format!("{base}/api/health/ready")).send().await.map(|r| r.status().as_u16()).ok() != Some(200)
        {
            assert!(Instant::now() < deadline, "{base} never ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // HAProxy's check of the primary is a psql run every second, given 1 s: on a very loaded
    // machine two slow ones in a row could still mark it down for a moment before the test has
    // begun, and the answer is then 503 with Retry-After, which a client tries again.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (p12, _) = loop {
        match Browser::of(&bases[0], client.clone()).issuance("master01", "Sekret927").await {
            Ok(done) => break done,
            Err((503, _)) if Instant::now() < deadline => tokio::time::sleep(Duration::from_secs(2)).await,
            Err(e) => panic!("the first issuance: {e:?}"),
        }
    };
    let identity = identity_pem(&p12, "Sekret927");

    // The load: a login loop on each instance, and issuances, one user after another, across them.
    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(Mutex::new(Vec::<Answer>::new()));
    let issued = Arc::new(Mutex::new(Vec::<(Instant, String)>::new()));
    let mut load = tokio::task::JoinSet::new();
    for base in &bases {
        let user = Browser::of(base, client_with(&data_dir, Some(&identity)));
        let (stop, answers, base) = (stop.clone(), answers.clone(), base.clone());
        load.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let body = serde_json::json!({"user_id": "master01", "password": "Sekret927"});
                let r = user.request(reqwest::Method::POST, "/api/login").json(&body).send().await;
                answers.lock().unwrap().push(answer_of(format!("login on {base}"), &r));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }
    for lane in 0..2 {
        let (stop, answers, issued, bases, data_dir) =
            (stop.clone(), answers.clone(), issued.clone(), bases.clone(), data_dir.clone());
        load.spawn(async move {
            // Until the load stops: a user refused at authentication tries again after
            // Retry-After; one refused at the issue itself (it may have committed) is left.
            let mut users = (1..=ISSUERS).filter(|i| i % 2 == lane);
            let mut next = users.next();
            while let Some(i) = next {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let base = &bases[i % bases.len()];
                let browser = Browser::of(base, client_with(&data_dir, None));
                let id = format!("user{i:02}");
                let r = browser.try_authenticate(&id, "Sekret927").await;
                let a = answer_of(format!("authenticate {id} on {base}"), &r);
                answers.lock().unwrap().push(a.clone());
                if a.status != 200 {
                    // As a browser would: come back after Retry-After.
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                next = users.next();
                let token = r.unwrap().json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
                let r = browser.try_issue(&token, "Sekret927").await;
                let a = answer_of(format!("issue {id} on {base}"), &r);
                answers.lock().unwrap().push(a.clone());
                if a.status == 200 {
                    let r = r.unwrap();
                    let serial = r.headers()[common::api::HEADER_CERT_SERIAL].to_str().unwrap().to_owned();
                    r.bytes().await.unwrap();
                    issued.lock().unwrap().push((Instant::now(), serial));
                } else {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(3)).await;

    // 1. The primary's postmaster is SIGKILLed: the gap begins.
    let killed_at = Instant::now();
    run(Command::new("kill").args(["-KILL", &primary.postmaster()]));
    let deadline = Instant::now() + Duration::from_secs(10);
    // Readiness says so (a load balancer takes the instances out).
    while client.get(format!("{}/api/health/ready", bases[1])).send().await.unwrap().status() != 503 {
        assert!(Instant::now() < deadline, "readiness never said 503 while the database was gone");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // HAProxy marks the primary down (two failed checks: about 1.25 s), as an operator sees it
    // before promoting; then a second more of the gap.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !proxy.statuses().iter().any(|(name, status)| name == "primary" && status == "DOWN") {
        assert!(Instant::now() < deadline, "HAProxy never marked the killed primary down: {:?}", proxy.statuses());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // 2. The standby is promoted; 3. HAProxy moves over; the instances come back by themselves.
    standby.ctl("promote");
    let promoted_at = Instant::now();
    proxy.wait_for_only("standby").await;
    let mut back = vec![false; INSTANCES];
    while back.contains(&false) {
        assert!(promoted_at.elapsed() < Duration::from_secs(10), "not every instance was back within 10 s: {back:?}");
        for (i, base) in bases.iter().enumerate() {
            back[i] = back[i]
                || client
                    .get(format!("{base}/api/health/ready"))
                    .send()
                    .await
                    .map(|r| r.status() == 200)
                    .unwrap_or(false);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recovered = promoted_at.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    while let Some(done) = load.join_next().await {
        done.expect("a lane of the load failed");
    }

    // No 500, no dropped connection: every refusal is a 503 that says when to come back.
    let answers = answers.lock().unwrap().clone();
    let refused: Vec<&Answer> = answers.iter().filter(|a| a.status != 200).collect();
    for a in &refused {
        let (what, status) = (&a.what, a.status);
        assert!(
            a.status == 503 && a.retry_after,
            "only 503 with Retry-After in the gap: {what} answered {status} ({a:?})"
        );
        assert!(a.at > killed_at, "a refusal before the kill: {what} answered {status}");
    }
    let after = answers.iter().filter(|a| a.at > promoted_at + recovered && a.status == 200).count();
    assert!(after > 0, "the load was served again after the recovery");
    // Every issuance answered 200 is in the new primary, with its audit entry and its notice,
    // and no user got two certificates.
    let issued: Vec<(Instant, String)> = issued.lock().unwrap().clone();
    let before_kill = issued.iter().filter(|(at, _)| *at < killed_at).count();
    let after_recovery = issued.iter().filter(|(at, _)| *at > promoted_at + recovered).count();
    assert!(
        before_kill > 0 && after_recovery > 0,
        "issuances answered before the kill ({before_kill}) and after the recovery ({after_recovery})"
    );
    drop(store);
    let store = TestStore::attach(data_dir.clone(), url.clone()).await;
    let serials: Vec<String> = issued.iter().map(|(_, s)| s.clone()).collect();
    consistent(&store, &serials).await;
    // The outbox sends every notice at least once (as a file each here).
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.count("SELECT COUNT(*) AS n FROM mail_outbox WHERE sent_at IS NULL").await > 0 {
        assert!(Instant::now() < deadline, "notices left unsent after the failover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for serial in &serials {
        let sent = store
            .count(&format!(
                "SELECT COUNT(*) AS n FROM mail_outbox WHERE dedupe_key = 'issued:{serial}' AND sent_at IS NOT NULL"
            ))
            .await;
        assert_eq!(sent, 1, "the notice of {serial} was sent");
    }
    let files = std::fs::read_dir(data_dir.join("mail")).unwrap().count();
    assert!(files >= serials.len(), "{files} mail files for {} notices", serials.len());
    for instance in &mut instances {
        instance.signal("TERM");
        assert!(instance.wait_exit(Duration::from_secs(30)).await, "a clean exit after the failover");
    }
    println!(
        "failover: {} answers, {} refused (all 503 with Retry-After; readiness 503 in the gap); \
         {} issuances ({before_kill} before the kill, {after_recovery} after the recovery) all in the promoted standby; back {:.1} s after the promotion",
        answers.len(),
        refused.len(),
        serials.len(),
        recovered.as_secs_f64()
    );
}

fn nix_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}
