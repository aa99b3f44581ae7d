//! Prometheus metrics on a listener of their own: `promtool check metrics` (Debian `prometheus`)
//! accepts the output, the counters move by exactly what happened, and a real Prometheus server
//! scraping it sees the series. The counters are per process, so this binary is its own process
//! and its checks run one after the other: no other test moves them meanwhile.

#[path = "api/helpers/mod.rs"]
#[allow(dead_code, unused_macros, unused_imports)]
mod helpers;

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use backend::{auth::accounts::Actor, certificates::revocation};
use common::api::RevocationReason;
use serde_json::Value;

use crate::helpers::{Options, TestDb, openssl_ocsp, spawn};

/// One test: the checks share the process's counters, so they must not run at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_happened_and_prometheus_scrapes_them() {
    the_counters_move_when_things_happen_and_promtool_accepts_them(&TestDb::Sqlite).await;
    if let Some(db) = TestDb::postgres() {
        the_counters_move_when_things_happen_and_promtool_accepts_them(&db).await;
    }
    a_prometheus_server_scraping_it_sees_the_series().await;
}

/// The value of the series `name{labels}` (labels as written by the text format, sorted by
/// name), or 0 when it is absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

async fn scrape(port: u16) -> String {
    let r = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    r.text().await.unwrap()
}

/// `promtool check metrics` on `text` (Debian `prometheus`): its complaints, if any.
fn promtool_check(text: &str) {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian prometheus; scripts/setup-tools installs it)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn the_counters_move_when_things_happen_and_promtool_accepts_them(db: &TestDb) {
    let opts =
        Options { metrics_listen: true, http_listen: true, password_attempts_per_minute: 1, ..Options::default() };
    let app = spawn(db, opts).await;
    let port = app.metrics_port.expect("the metrics listener");
    app.create_master("メトリクス株式会社", "master01", "Sekret927").await;
    app.create_general("master01", "user01", "Sekret927").await;
    app.create_general("master01", "lock01", "Sekret927").await;
    use sea_orm::ConnectionTrait;
    app.db.execute_unprepared("UPDATE users SET must_change_password = false").await.unwrap();
    let before = scrape(port).await;
    promtool_check(&before);

    // Wrong passwords until the ID locks (R2): failures, then the lock.
    let mut failures = 0;
    loop {
        let (status, body) = app.browser().authenticate("lock01", "Wrong999").await;
        if body["code"] == "locked" {
            break;
        }
        assert_eq!(status, 401, "{body}");
        failures += 1;
    }
    // An issuance (two password attempts: authenticate, issue).
    let (identity, serial) = app.issued_identity("user01", "Sekret927").await;
    // The throttle's burst (8 attempts a minute at 1/min) is spent: the next is refused.
    let (status, _) = app.browser().authenticate("user01", "Sekret927").await;
    assert_eq!(status, 429);
    // A revocation, and an OCSP answer about it.
    revocation::revoke(
        &app.db,
        &Actor::Cli,
        &serial,
        RevocationReason::KeyCompromise,
        "https://127.0.0.1",
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let http = app.http_port.unwrap();
    let out = openssl_ocsp(&app.data_dir.join("ca.pem"), &identity, &format!("http://127.0.0.1:{http}/pki/ocsp")).await;
    assert!(out.contains(": revoked"), "{out}");

    // The lock notice and the issuance notice are delivered by the mail worker (every second here).
    let deadline = Instant::now() + Duration::from_secs(20);
    let after = loop {
        let text = scrape(port).await;
        if value(&text, "cjs_outbox{status=\"pending\"}") == 0.0
            && value(&text, "cjs_mails_total{outcome=\"sent\"}") >= 2.0
        {
            break text;
        }
        assert!(Instant::now() < deadline, "no mail counted as sent:\n{text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    promtool_check(&after);
    let delta = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(delta("cjs_authentications_total{outcome=\"failure\",purpose=\"issuance\"}"), f64::from(failures));
    assert_eq!(delta("cjs_authentications_total{outcome=\"locked\",purpose=\"issuance\"}"), 1.0);
    assert_eq!(delta("cjs_authentications_total{outcome=\"success\",purpose=\"issuance\"}"), 2.0);
    assert_eq!(delta("cjs_authentications_total{outcome=\"throttled\",purpose=\"issuance\"}"), 1.0);
    assert_eq!(delta("cjs_locks_total"), 1.0);
    assert_eq!(delta("cjs_blocks_total"), 0.0);
    assert_eq!(delta("cjs_certificates_issued_total{key_type=\"p256\",renewal=\"false\"}"), 1.0, "{after}");
    assert_eq!(delta("cjs_revocations_total{reason=\"key_compromise\"}"), 1.0);
    assert!(delta("cjs_ocsp_answers_total{status=\"successful\"}") >= 1.0);
    // Gauges, read from the database: the one certificate is revoked; the notices sent, as counted.
    assert_eq!(value(&after, "cjs_certificates_active"), 0.0);
    assert_eq!(delta("cjs_outbox{status=\"sent\"}"), delta("cjs_mails_total{outcome=\"sent\"}"));
    assert_eq!(value(&after, "cjs_ca_signer_up"), 1.0);
    assert_eq!(value(&after, "cjs_database_up"), 1.0);
    // Latency per route pattern (never the raw path).
    let route =
        "cjs_http_request_duration_seconds_count{method=\"POST\",route=\"/api/issuance/authenticate\",status=\"4xx\"}";
    assert!(value(&after, route) >= f64::from(failures), "{after}");
    assert!(!after.contains(&serial), "no certificate serial in a label");

    // Never on the public HTTPS listener.
    let public = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(!public.contains("cjs_authentications_total"), "{public}");

    // PostgreSQL gone (its database dropped under the server): the counters are still scraped,
    // `cjs_database_up` says why the database's gauges are missing.
    if let TestDb::Postgres(admin_url) = db {
        app.drop_postgres_database(admin_url).await;
        let down = scrape(port).await;
        promtool_check(&down);
        assert_eq!(value(&down, "cjs_database_up"), 0.0, "{down}");
        assert_eq!(value(&down, "cjs_locks_total"), value(&after, "cjs_locks_total"));
        assert!(down.contains("cjs_authentications_total{"), "{down}");
        assert!(!down.contains("cjs_certificates_active") && !down.contains("cjs_outbox{"), "{down}");
    }
}

/// A Prometheus server (Debian `prometheus`) scraping a target every second, in a temporary
/// directory; killed when dropped.
struct Prometheus {
    child: Child,
    port: u16,
}

impl Prometheus {
    fn start(dir: &Path, target_port: u16) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: cjs\n    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n"
        );
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .expect("prometheus (Debian prometheus; scripts/setup-tools installs it)");
        Self { child, port }
    }

    /// The result vector of the instant query `query` (empty while it has no sample).
    async fn query(&self, query: &str) -> Vec<Value> {
        let url = format!("http://127.0.0.1:{}/api/v1/query", self.port);
        let Ok(r) = reqwest::Client::new().get(url).query(&[("query", query)]).send().await else { return vec![] };
        let Ok(body) = r.json::<Value>().await else { return vec![] };
        body["data"]["result"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn a_prometheus_server_scraping_it_sees_the_series() {
    let app = spawn(&TestDb::Sqlite, Options { metrics_listen: true, ..Options::default() }).await;
    app.create_master("メトリクス株式会社", "master01", "Sekret927").await;
    app.create_general("master01", "user01", "Sekret927").await;
    use sea_orm::ConnectionTrait;
    app.db.execute_unprepared("UPDATE users SET must_change_password = false").await.unwrap();
    app.issue_certificate("user01", "Sekret927").await;
    // The counter is the process's (the checks before issued too): what the process says now.
    let text = scrape(app.metrics_port.unwrap()).await;
    let issued_here: f64 = text
        .lines()
        .filter(|l| l.starts_with("cjs_certificates_issued_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert!(issued_here >= 1.0, "{text}");
    let dir = tempfile::tempdir().unwrap();
    let prometheus = Prometheus::start(dir.path(), app.metrics_port.unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let up = prometheus.query("up{job=\"cjs\"}").await;
        let issued = prometheus.query("sum(cjs_certificates_issued_total)").await;
        let active = prometheus.query("cjs_certificates_active").await;
        if up.first().is_some_and(|s| s["value"][1] == "1")
            && issued
                .first()
                .is_some_and(|s| s["value"][1].as_str().and_then(|v| v.parse::<f64>().ok()) == Some(issued_here))
            && active.first().is_some_and(|s| s["value"][1] == "1")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus did not see the series: up={up:?} issued={issued:?} active={active:?}\n{}",
            std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
