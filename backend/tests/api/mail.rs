//! R2/R6 mail: the outbox delivered as .eml files (embedded default) and through a real SMTP
//! server (aiosmtpd, started by the test), surviving a relay outage, a SIGKILL mid-batch and two
//! instances on one PostgreSQL.

use std::{
    collections::HashMap,
    path::Path,
    process::Child,
    time::{Duration, Instant},
};

use backend::mail::{
    outbox::{self, Mail},
    reminders,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, TransactionTrait};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::helpers::{
    Options, SmtpSink, TestApp, TestDb, admin_command, count, each_database, fresh_store, run, serve_process, spawn,
    spawn_app,
};

fn test_mail(i: usize) -> Mail {
    Mail {
        dedupe_key: format!("test:{i}"),
        to: format!("user{i}@example.co.jp"),
        subject: format!("【テスト】お知らせ {i}"),
        body: format!("テスト本文 {i}\n"),
    }
}

/// Queues `n` mails in one transaction.
async fn seed(db: &DatabaseConnection, n: usize) {
    let txn = db.begin().await.unwrap();
    for i in 0..n {
        assert!(outbox::enqueue(&txn, test_mail(i), OffsetDateTime::now_utc()).await.unwrap());
    }
    txn.commit().await.unwrap();
}

/// Waits until `sql` counts `n`.
async fn wait_count(db: &DatabaseConnection, sql: &str, n: i64, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let got = count(db, sql).await;
        if got == n {
            return;
        }
        assert!(Instant::now() < deadline, "{sql}: {got}, expected {n} within {secs} s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Message-ID → how many times it arrived.
fn arrivals(mails: &[Value]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for mail in mails {
        *m.entry(mail["message_id"].as_str().unwrap().to_owned()).or_insert(0) += 1;
    }
    m
}

const SENT: &str = "SELECT COUNT(*) AS n FROM mail_outbox WHERE status = 'sent' AND sent_at IS NOT NULL";

fn smtp(port: u16) -> Options {
    Options { smtp_port: Some(port), ..Options::default() }
}

/// A running SMTP sink and an app on `db` delivering to it, with master01 registered.
async fn master_mailed_over_smtp(db: &TestDb) -> (SmtpSink, TestApp) {
    let mut sink = SmtpSink::reserve();
    sink.start(0.0);
    let app = spawn(db, smtp(sink.port)).await;
    app.master_ready("テスト株式会社", "master01", "Sekret927").await;
    (sink, app)
}

/// The .eml files in `dir` (none when it does not exist yet).
fn eml_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "eml")).collect()
}

#[tokio::test]
async fn lock_mail_is_delivered_as_an_eml_file() {
    let app = spawn_app(&TestDb::Sqlite).await;
    app.master_ready("テスト株式会社", "master01", "Sekret927").await;
    // The registration's password-change notice first (one file), so the lock's file is the second.
    wait_count(&app.db, SENT, 1, 20).await;
    for _ in 0..6 {
        app.browser().authenticate("master01", "Wrong1234").await;
    }
    let dir = app.data_dir.join("mail");
    let before = eml_files(&dir);
    assert_eq!(before.len(), 1, "the password-change notice");
    let deadline = Instant::now() + Duration::from_secs(20);
    let file = loop {
        if let Some(f) = eml_files(&dir).into_iter().find(|p| !before.contains(p)) {
            break f;
        }
        assert!(Instant::now() < deadline, "no .eml appeared in {}", dir.display());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("To: master01@example.co.jp"), "{text}");
    assert!(text.to_lowercase().contains("subject: =?utf-8?b?"), "the Japanese subject is MIME-encoded: {text}");
    assert!(text.contains("Content-Type: text/plain; charset=utf-8"), "{text}");
    wait_count(&app.db, SENT, 2, 10).await;
    // Exactly one more file for the one lock.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
}

each_database!(lock_and_block_mails_arrive_over_smtp_in_japanese, flavor = "multi_thread", worker_threads = 2);
async fn lock_and_block_mails_arrive_over_smtp_in_japanese(db: &TestDb) {
    let (sink, app) = master_mailed_over_smtp(db).await;
    for _ in 0..6 {
        app.browser().authenticate("master01", "Wrong1234").await;
    }
    // The registration's password-change notice, then the lock notice.
    let mails = sink.wait_for(2, 30).await;
    let m = mails.iter().find(|m| m["subject"].as_str().unwrap().contains("ロック")).unwrap();
    assert!(mails.iter().any(|m| m["subject"].as_str().unwrap().contains("パスワードが変更されました")), "{mails:?}");
    assert_eq!(m["rcpt_tos"], json!(["master01@example.co.jp"]), "{db:?}");
    assert_eq!(m["subject"], "【ろうきん賃金控除事務支援システム】ユーザーIDがロックされました");
    assert!(m["raw_subject"].as_str().unwrap().to_lowercase().starts_with("subject: =?utf-8?b?"), "{m}");
    assert!(m["content_type"].as_str().unwrap().contains("text/plain"), "{m}");
    let body = m["body"].as_str().unwrap();
    assert!(body.contains("ユーザーID master01") && body.contains("（日本時間）に自動で解除"), "{body}");
    assert!(body.contains("労金"), "says whom to contact: {body}");
    assert!(m["message_id"].as_str().unwrap().starts_with("<outbox-"), "{m}");
    wait_count(&app.db, SENT, 2, 10).await;
    // The block (third lock) mail, once the locks are lifted early by the test.
    for _ in 0..2 {
        app.db.execute_unprepared("UPDATE users SET locked_until = NULL, failures = 0").await.unwrap();
        for _ in 0..6 {
            app.browser().authenticate("master01", "Wrong1234").await;
        }
    }
    let mails = sink.wait_for(4, 30).await;
    assert!(mails.iter().any(|m| m["subject"].as_str().unwrap().contains("閉塞されました")), "{mails:?}");
    assert_eq!(arrivals(&mails).len(), 4, "four distinct mails: password change, lock, lock, block");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_over_starttls_and_tls_with_auth() {
    use backend::mail::settings::SmtpSecurity;
    // A first app creates a server CA and a server certificate for 127.0.0.1; the SMTP server
    // uses that certificate and the app under test trusts that CA through smtp_ca_file.
    let first = spawn_app(&TestDb::Sqlite).await;
    let cert = first.data_dir.join("server.pem");
    let key = first.data_dir.join("server-key.pem");
    for (security, mode) in [(SmtpSecurity::Starttls, "starttls"), (SmtpSecurity::Tls, "tls")] {
        let mut sink = SmtpSink::reserve();
        let (c, k) = (cert.to_str().unwrap(), key.to_str().unwrap());
        sink.start_with(
            0.0,
            &["--tls", mode, "--cert", c, "--key", k, "--user", "cjs-relay", "--password", "relay-pw"],
        );
        let secure = crate::helpers::SmtpSecure {
            security,
            ca_file: first.data_dir.join("server-ca.pem"),
            username: "cjs-relay".into(),
            password: "relay-pw".into(),
        };
        let app = spawn(
            &TestDb::Sqlite,
            Options { smtp_port: Some(sink.port), smtp_secure: Some(secure), ..Options::default() },
        )
        .await;
        seed(&app.db, 1).await;
        let mails = sink.wait_for(1, 30).await;
        assert_eq!(mails[0]["tls"], true, "{mode}: {:?}", mails[0]);
        assert_eq!(mails[0]["login"], "cjs-relay", "{mode}: AUTH used");
        assert_eq!(mails[0]["subject"], "【テスト】お知らせ 0");
    }
}

each_database!(expiry_reminders_are_queued_once_each_and_delivered, flavor = "multi_thread", worker_threads = 2);
async fn expiry_reminders_are_queued_once_each_and_delivered(db: &TestDb) {
    use backend::db::entities::certificate;
    use sea_orm::EntityTrait;
    let (sink, app) = master_mailed_over_smtp(db).await;
    app.issue_certificate("master01", "Sekret927").await;
    let cert = certificate::Entity::find().one(&app.db).await.unwrap().unwrap();
    let days = [30, 10];
    let url = "https://cjs.example.jp";
    let scan = |at: OffsetDateTime| {
        let db = app.db.clone();
        async move { reminders::scan(&db, &days, url, at, OffsetDateTime::now_utc()).await.unwrap().queued }
    };
    let t = |d: i64| cert.not_after - time::Duration::days(d);
    assert_eq!(scan(t(30) - time::Duration::seconds(1)).await, 0, "{db:?}: not yet");
    assert_eq!(scan(t(30)).await, 1, "30 days before");
    assert_eq!(scan(t(30)).await, 0, "queued once");
    assert_eq!(scan(t(20)).await, 0);
    assert_eq!(scan(t(10)).await, 1, "10 days before");
    assert_eq!(scan(t(1)).await, 0);
    // Renewed: a newer certificate of the same user silences the expiry notice.
    let after = cert.not_after + time::Duration::seconds(1);
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO certificates (serial, user_pk, org_id, subject_cn, not_before, not_after, \
             fingerprint_sha256, key_type, status, created_at) SELECT 'renewed', user_pk, org_id, subject_cn, \
             not_before, '{}', 'renewed-fp', key_type, 'active', created_at FROM certificates WHERE id = {}",
            (cert.not_after + time::Duration::days(365))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap(),
            cert.id
        ))
        .await
        .unwrap();
    assert_eq!(scan(after).await, 0, "renewed: no expiry notice");
    // A revoked renewal does not count: the expiry notice goes out, once.
    app.db.execute_unprepared("UPDATE certificates SET status = 'revoked' WHERE serial = 'renewed'").await.unwrap();
    assert_eq!(scan(after).await, 1, "expired without renewal");
    assert_eq!(scan(after + time::Duration::days(3)).await, 0);

    // Besides the notices of the registration's password change and of the issue: three.
    let all = sink.wait_for(5, 30).await;
    assert_eq!(all.len(), 5, "{all:?}");
    let mails: Vec<&Value> = all.iter().filter(|m| m["subject"].as_str().unwrap().contains("有効期限")).collect();
    assert_eq!(mails.len(), 3, "{all:?}");
    let subjects: Vec<&str> = mails.iter().map(|m| m["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects.iter().filter(|s| s.contains("有効期限が近づいています")).count(), 2, "{subjects:?}");
    assert_eq!(subjects.iter().filter(|s| s.contains("有効期限が切れました")).count(), 1, "{subjects:?}");
    for m in mails {
        let body = m["body"].as_str().unwrap();
        assert!(body.contains(&cert.serial) && body.contains("https://cjs.example.jp/issuance/auth"), "{body}");
        assert!(body.contains("23:59（日本時間）"), "expiry shown in JST: {body}");
    }
}

/// `cjs admin …` against an app's database.
fn cjs_admin(app_data: &Path, url: &str, args: &[&str]) -> String {
    run(admin_command(app_data, url).args(args))
}

each_database!(smtp_outage_mails_wait_then_all_arrive, flavor = "multi_thread", worker_threads = 2);
async fn smtp_outage_mails_wait_then_all_arrive(db: &TestDb) {
    let mut sink = SmtpSink::reserve(); // nothing listens yet: the relay is down
    let app = spawn(db, smtp(sink.port)).await;
    seed(&app.db, 20).await;
    // Every mail is tried, fails, and waits with its error; none is lost or marked failed.
    wait_count(
        &app.db,
        "SELECT COUNT(*) AS n FROM mail_outbox WHERE status = 'pending' AND attempts >= 2 AND last_error IS NOT NULL",
        20,
        30,
    )
    .await;
    let listing = cjs_admin(&app.data_dir, &app.database_url, &["mail", "--status", "pending"]);
    assert!(listing.contains("20 件") && listing.contains("SMTP") && listing.contains("次の再送"), "{listing}");
    assert_eq!(sink.mails().len(), 0);
    let outage_started = Instant::now();
    sink.start(0.0);
    let mails = sink.wait_for(20, 60).await;
    wait_count(&app.db, SENT, 20, 10).await;
    let arrived = arrivals(&mails);
    assert_eq!(arrived.len(), 20, "{db:?}");
    assert!(arrived.values().all(|&n| n == 1), "each exactly once: {arrived:?}");
    eprintln!("{db:?}: 20 mails delivered {:?} after the relay came back", outage_started.elapsed());
    let listing = cjs_admin(&app.data_dir, &app.database_url, &["mail", "--status", "sent"]);
    assert!(listing.contains("【テスト】お知らせ 19") && listing.contains("20 件"), "{listing}");
}

/// `cjs serve` as a separate process delivering to `smtp_port`.
fn serve(data_dir: &Path, url: &str, smtp_port: u16) -> Child {
    let port = smtp_port.to_string();
    serve_process(
        data_dir,
        url,
        0,
        &[
            "--smtp-host",
            "127.0.0.1",
            "--smtp-security",
            "none",
            "--smtp-port",
            &port,
            "--mail-interval-seconds",
            "1",
            "--mail-retry-seconds",
            "1",
        ],
    )
}

each_database!(worker_killed_mid_batch_loses_nothing, flavor = "multi_thread", worker_threads = 2);
async fn worker_killed_mid_batch_loses_nothing(db: &TestDb) {
    const N: usize = 45;
    let (_dir, data_dir, url) = fresh_store(db).await;
    cjs_admin(&data_dir, &url, &["mail"]); // creates the schema
    let conn = Database::connect(&url).await.unwrap();
    seed(&conn, N).await;
    let mut sink = SmtpSink::reserve();
    // Each 250 reply comes 0.2 s after the message is recorded: the kill lands while the
    // worker waits for it, i.e. after delivery and before the row is marked sent.
    sink.start(0.2);
    let mut kills = Vec::new();
    for round in 0..2 {
        let mut child = serve(&data_dir, &url, sink.port);
        let target = (round + 1) * N / 3;
        sink.wait_for(target, 60).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let received = sink.mails().len();
        let sent = count(&conn, SENT).await;
        kills.push((received, sent));
        assert!(received >= target && (sent as usize) < received, "{db:?}: killed mid-send: {received} {sent}");
    }
    let mut child = serve(&data_dir, &url, sink.port);
    wait_count(&conn, SENT, N as i64, 120).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let mails = sink.mails();
    let arrived = arrivals(&mails);
    assert_eq!(arrived.len(), N, "{db:?}: every mail arrived");
    let duplicates = mails.len() - N;
    assert!(duplicates <= 2, "only the one in flight per kill is sent again: {duplicates}");
    eprintln!(
        "{db:?}: killed twice at (received, marked sent) = {kills:?}; after restart all {N} delivered, \
         {duplicates} sent twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_never_send_a_row_twice() {
    const N: usize = 400;
    let Some(db) = TestDb::postgres() else { return };
    let mut sink = SmtpSink::reserve();
    sink.start(0.002);
    let a = spawn(&db, smtp(sink.port)).await;
    let _b = spawn(&db, Options { smtp_port: Some(sink.port), ..a.second_instance() }).await;
    seed(&a.db, N).await;
    wait_count(&a.db, SENT, N as i64, 120).await;
    let mails = sink.wait_for(N, 10).await;
    let arrived = arrivals(&mails);
    assert_eq!(arrived.len(), N);
    assert_eq!(mails.len(), N, "no row sent twice");
    let attempts = count(&a.db, "SELECT CAST(SUM(attempts) AS BIGINT) AS n FROM mail_outbox").await;
    assert_eq!(attempts, N as i64, "each row claimed once");
}
