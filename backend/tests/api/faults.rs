//! Faults: `cjs serve` SIGKILLed in the middle of concurrent issuance and logins, then started
//! again. No half-written state (a certificate row exists only with its audit entry, a lock
//! only with its audit entry and mail), and the service comes back by itself.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use sea_orm::ConnectionTrait;

use crate::helpers::{Browser, TestDb, TestStore, client_with, each_database, serve_process};

async fn wait_healthy(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{base}/api/health")).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "the server did not come back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

each_database!(
    sigkill_during_issuance_and_logins_leaves_no_half_written_state,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn sigkill_during_issuance_and_logins_leaves_no_half_written_state(db: &TestDb) {
    const USERS: usize = 24;
    let store = TestStore::fresh(db).await;
    store.create_master("障害試験株式会社", "master01", "Sekret927").await;
    for i in 0..USERS {
        store.create_general("master01", &format!("user{i:02}"), "Sekret927").await;
    }
    // Room for every user's certificate, and no password change first.
    store.db.execute_unprepared("UPDATE organizations SET certificate_limit = 100").await.unwrap();
    store.db.execute_unprepared("UPDATE users SET must_change_password = false").await.unwrap();
    let (data_dir, url) = (&store.data_dir, &store.database_url);

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("https://127.0.0.1:{port}");
    let mut child = serve_process(data_dir, url, port, &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !data_dir.join("server-ca.pem").exists() {
        assert!(Instant::now() < deadline, "no CA");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client = client_with(data_dir, None);
    wait_healthy(&client, &base).await;
    let server = Browser::of(&base, client.clone());

    // Every user issues at once while master01 keeps failing logins; the server dies mid-way.
    // An outcome is the status of the step that ended the issuance (0: the connection was lost).
    let mut tasks = Vec::new();
    for i in 0..USERS {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            server.issuance(&format!("user{i:02}"), "Sekret927").await.map_or_else(|(status, _)| status, |_| 200)
        }));
    }
    let attacker = server.clone();
    let wrong = tokio::spawn(async move {
        for _ in 0..20 {
            let _ = attacker.try_authenticate("master01", "Wrong1234").await;
        }
    });
    // Kill once some certificates exist and others are still being made.
    let deadline = Instant::now() + Duration::from_secs(60);
    while store.count("SELECT COUNT(*) AS n FROM certificates").await < 3 {
        assert!(Instant::now() < deadline, "no certificate was issued");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    wrong.await.unwrap();
    let issued_before = store.count("SELECT COUNT(*) AS n FROM certificates").await;
    let lost = outcomes.iter().filter(|&&s| s == 0).count();
    assert!(lost > 0 && (issued_before as usize) < USERS, "{db:?}: the kill came after everything finished");

    // No half-written state.
    let audited = store.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'certificate_issued'").await;
    assert_eq!(issued_before, audited, "{db:?}: every certificate row has its audit entry and no more");
    let locks = store.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'locked'").await;
    let lock_mails = store.count("SELECT COUNT(*) AS n FROM mail_outbox WHERE dedupe_key LIKE 'lock:%'").await;
    let locked_rows =
        store.count("SELECT COUNT(*) AS n FROM users WHERE user_id = 'master01' AND locked_until IS NOT NULL").await;
    assert_eq!(locks, lock_mails, "{db:?}: every lock has its mail");
    assert_eq!(locks, locked_rows, "{db:?}: a lock row only with its audit entry");

    // The service comes back on the same data and finishes the job.
    let mut child = serve_process(data_dir, url, port, &[]);
    wait_healthy(&client, &base).await;
    let mut again = 0;
    for i in 0..USERS {
        match server.issuance(&format!("user{i:02}"), "Sekret927").await {
            Ok(_) => again += 1,
            Err((409, _)) => {} // already holds the certificate issued before the kill
            Err((other, body)) => panic!("{db:?}: user{i:02} after restart: {other} {body}"),
        }
    }
    let total = store.count("SELECT COUNT(*) AS n FROM certificates").await;
    assert_eq!(total, USERS as i64, "{db:?}: one certificate per user in the end");
    assert_eq!(issued_before + again, total);
    eprintln!(
        "{db:?}: killed with {issued_before} of {USERS} issued ({lost} requests cut off); after restart {again} \
         more issued, {total} certificates = {total} audit entries"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    drop(store);
}

/// A PostgreSQL server of the test's own (initdb in a temporary directory, run as the
/// `postgres` user), so it can be stopped and started without touching the shared one.
struct PrivatePostgres {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    port: u16,
}

impl PrivatePostgres {
    /// `None` where it cannot run (not root, no server binaries): the test then says so.
    fn start() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql").ok()?.flatten().map(|e| e.path().join("bin")).next()?;
        if !bin.join("initdb").exists()
            || !std::process::Command::new("id").arg("-u").output().ok()?.stdout.starts_with(b"0")
        {
            return None;
        }
        let dir = tempfile::tempdir().ok()?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).ok()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let pg = Self { dir, bin, port };
        pg.as_postgres("initdb", &["-D", &pg.data(), "-A", "trust", "-U", "postgres", "--no-sync"]);
        pg.ctl_start();
        Some(pg)
    }

    fn data(&self) -> String {
        self.dir.path().join("pgdata").display().to_string()
    }

    fn as_postgres(&self, tool: &str, args: &[&str]) {
        crate::helpers::run(
            std::process::Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(self.bin.join(tool))
                .args(args)
                .current_dir(self.dir.path()),
        );
    }

    fn ctl_start(&self) {
        let opts = format!("-p {} -c listen_addresses=127.0.0.1 -k {}", self.port, self.dir.path().display());
        let log = self.dir.path().join("pg.log").display().to_string();
        self.as_postgres("pg_ctl", &["-D", &self.data(), "-l", &log, "-w", "-o", &opts, "start"]);
    }

    fn ctl_stop(&self) {
        self.as_postgres("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_under_load_gives_503_json_then_recovers() {
    let Some(pg) = PrivatePostgres::start() else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI must be able to run a private PostgreSQL");
        eprintln!("no private PostgreSQL possible here (needs root and the server binaries): skipped");
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let app = crate::helpers::spawn(
        &crate::helpers::TestDb::Postgres(String::new()),
        crate::helpers::Options { share_with: Some((data.path().join("data"), pg.url())), ..Default::default() },
    )
    .await;
    // Load: health checks and unknown-ID authentications, non-stop, recording every answer.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let answers = Arc::new(std::sync::Mutex::new(Vec::<(Instant, u16, String)>::new()));
    let mut tasks = Vec::new();
    for i in 0..5 {
        let (browser, client, base) = (app.browser(), app.client.clone(), app.url(""));
        let (stop, answers) = (stop.clone(), answers.clone());
        tasks.push(tokio::spawn(async move {
            // A new unknown ID each time: six tries of one would lock it (423) like a known ID.
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let r = if i == 4 {
                    // The CRL comes from the database through `anyhow`: 503 too, not 500.
                    client.get(format!("{base}/api/crl")).send().await
                } else if i % 2 == 0 {
                    client.get(format!("{base}/api/health")).send().await
                } else {
                    browser.try_authenticate(&format!("nobody{i:02}x{n}"), "Wrong1234").await
                };
                if let Ok(r) = r {
                    let status = r.status().as_u16();
                    let body = r.text().await.unwrap_or_default();
                    let body = if i == 4 { format!("crl:{body}") } else { body };
                    answers.lock().unwrap().push((Instant::now(), status, body));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stopped_at = Instant::now();
    pg.ctl_stop();
    tokio::time::sleep(Duration::from_secs(7)).await;
    let restarted_at = Instant::now();
    pg.ctl_start();
    // Recovery without restarting the service: healthy again within 30 s.
    let deadline = Instant::now() + Duration::from_secs(30);
    let recovered = loop {
        let ok = answers
            .lock()
            .unwrap()
            .iter()
            .rev()
            .take(8)
            .filter(|(t, s, _)| *t > restarted_at && (*s == 200 || *s == 401))
            .count();
        if ok >= 8 {
            break Instant::now();
        }
        assert!(Instant::now() < deadline, "the service did not recover after PostgreSQL came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let answers = answers.lock().unwrap();
    let during: Vec<_> = answers.iter().filter(|(t, _, _)| *t > stopped_at && *t < restarted_at).collect();
    let unavailable = during.iter().filter(|(_, s, _)| *s == 503).count();
    // Requests fail fast: the pool's 3 s acquire timeout, not a hang.
    let answered_during = during.len();
    assert!(
        unavailable > 0,
        "no 503 while the database was down: {:?}",
        during.iter().map(|a| a.1).collect::<Vec<_>>()
    );
    let crl_unavailable = during.iter().filter(|(_, s, b)| *s == 503 && b.starts_with("crl:")).count();
    assert!(crl_unavailable > 0, "the CRL answered 503 during the outage too");
    for (_, status, body) in answers.iter() {
        assert!(matches!(status, 200 | 401 | 503), "unexpected {status}: {body}");
        if *status == 503 {
            let json = body.strip_prefix("crl:").unwrap_or(body);
            let v: serde_json::Value = serde_json::from_str(json).expect("503 answers are JSON");
            assert_eq!(v["code"], "service_unavailable", "{body}");
        }
    }
    eprintln!(
        "{} answers; {answered_during} while PostgreSQL was down for 7 s ({unavailable} × 503 JSON, {crl_unavailable} of them the CRL, no 500); healthy again {:.1} s after it restarted",
        answers.len(),
        (recovered - restarted_at).as_secs_f64()
    );
}

/// Mounts a tmpfs at `dir` with `opts`; false where mounting is not allowed.
fn mount_tmpfs(dir: &std::path::Path, opts: &str) -> bool {
    std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
        .arg(dir)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn read_only_or_full_data_directory_at_start_is_a_clear_error() {
    let base = tempfile::tempdir().unwrap();
    let cases = [("ro,size=1m", "Read-only file system"), ("size=192k", "disk is full")];
    for (opts, expected) in cases {
        let dir = base.path().join(opts.replace([',', '='], "_"));
        std::fs::create_dir_all(&dir).unwrap();
        if !mount_tmpfs(&dir, opts) {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "CI must be able to mount a tmpfs");
            eprintln!("cannot mount a tmpfs here: skipped");
            return;
        }
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cjs"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.join("data"))
            .output()
            .unwrap();
        let _ = std::process::Command::new("umount").arg(&dir).output();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{opts}: the server must not start");
        assert!(stderr.contains(expected), "{opts}: {stderr}");
        eprintln!("{opts}: exit {:?}: {}", out.status.code(), stderr.lines().last().unwrap_or_default());
    }
}
