//! Faults: `cjs serve` SIGKILLed in the middle of concurrent issuance and logins, then started
//! again. No half-written state (a certificate row exists only with its audit entry, a lock
//! only with its audit entry and mail), and the service comes back by itself.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use backend::{
    auth::{
        Role,
        accounts::{self, Actor, NewAccount},
    },
    startup::core_services,
};
use common::{Field, Password, UserId};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::json;
use time::OffsetDateTime;

use crate::helpers::{client_with, databases, fresh_store, serve_process};

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql.to_owned()))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

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

/// Authenticate + issue for `id`; the HTTP status of the step that ended it (or 0: connection lost).
async fn issue(client: &reqwest::Client, base: &str, id: &str) -> u16 {
    let Ok(r) = client
        .post(format!("{base}/api/issuance/authenticate"))
        .json(&json!({"user_id": id, "password": "Secret123"}))
        .send()
        .await
    else {
        return 0;
    };
    if r.status() != 200 {
        return r.status().as_u16();
    }
    let Ok(body) = r.json::<serde_json::Value>().await else { return 0 };
    let token = body["token"].as_str().unwrap_or_default().to_owned();
    match client
        .post(format!("{base}/api/issuance/issue"))
        .json(&json!({"token": token, "password": "Secret123"}))
        .send()
        .await
    {
        Ok(r) => {
            let status = r.status().as_u16();
            if r.bytes().await.is_err() { 0 } else { status }
        }
        Err(_) => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_issuance_and_logins_leaves_no_half_written_state() {
    const USERS: usize = 24;
    crate::helpers::init();
    for db in databases() {
        let (_dir, data_dir, url) = fresh_store(&db).await;
        let config = backend::config::Config::resolve(&backend::config::ConfigArgs {
            data_dir: Some(data_dir.clone()),
            database_url: Some(url.clone()),
            ..Default::default()
        })
        .unwrap();
        let (conn, auth) = core_services(&config).await.unwrap();
        let pw = || Some(Password::parse(Field::Password, "Secret123").unwrap());
        let (org, _) = accounts::create_organization(
            &conn,
            &auth.hasher,
            "障害試験株式会社",
            100,
            NewAccount { user_id: &UserId::parse("master01").unwrap(), email: "m@example.co.jp", password: pw() },
            &Actor::Cli,
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
        for i in 0..USERS {
            accounts::create_user(
                &conn,
                &auth.hasher,
                NewAccount {
                    user_id: &UserId::parse(&format!("user{i:02}")).unwrap(),
                    email: &format!("user{i:02}@example.co.jp"),
                    password: pw(),
                },
                Role::General,
                Some(org.id),
                &Actor::Cli,
                OffsetDateTime::now_utc(),
            )
            .await
            .unwrap();
        }
        conn.execute_unprepared("UPDATE users SET must_change_password = false").await.unwrap();

        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let base = format!("https://127.0.0.1:{port}");
        let mut child = serve_process(&data_dir, &url, port, &[]);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !data_dir.join("ca.pem").exists() {
            assert!(Instant::now() < deadline, "no CA");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let client = client_with(&data_dir, None);
        wait_healthy(&client, &base).await;

        // Every user issues at once while master01 keeps failing logins; the server dies mid-way.
        let client = Arc::new(client);
        let mut tasks = Vec::new();
        for i in 0..USERS {
            let (c, b) = (client.clone(), base.clone());
            tasks.push(tokio::spawn(async move { issue(&c, &b, &format!("user{i:02}")).await }));
        }
        let (c, b) = (client.clone(), base.clone());
        let wrong = tokio::spawn(async move {
            for _ in 0..20 {
                let _ = c
                    .post(format!("{b}/api/issuance/authenticate"))
                    .json(&json!({"user_id": "master01", "password": "Wrong1234"}))
                    .send()
                    .await;
            }
        });
        // Kill once some certificates exist and others are still being made.
        let deadline = Instant::now() + Duration::from_secs(60);
        while count(&conn, "SELECT COUNT(*) AS n FROM certificates").await < 3 {
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
        let issued_before = count(&conn, "SELECT COUNT(*) AS n FROM certificates").await;
        let lost = outcomes.iter().filter(|&&s| s == 0).count();
        assert!(lost > 0 && (issued_before as usize) < USERS, "{db:?}: the kill came after everything finished");

        // No half-written state.
        let audited = count(&conn, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'certificate_issued'").await;
        assert_eq!(issued_before, audited, "{db:?}: every certificate row has its audit entry and no more");
        let locks = count(&conn, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'locked'").await;
        let lock_mails = count(&conn, "SELECT COUNT(*) AS n FROM mail_outbox WHERE dedupe_key LIKE 'lock:%'").await;
        let locked_rows =
            count(&conn, "SELECT COUNT(*) AS n FROM users WHERE user_id = 'master01' AND locked_until IS NOT NULL")
                .await;
        assert_eq!(locks, lock_mails, "{db:?}: every lock has its mail");
        assert_eq!(locks, locked_rows, "{db:?}: a lock row only with its audit entry");

        // The service comes back on the same data and finishes the job.
        let mut child = serve_process(&data_dir, &url, port, &[]);
        wait_healthy(&client, &base).await;
        let mut again = 0;
        for i in 0..USERS {
            match issue(&client, &base, &format!("user{i:02}")).await {
                200 => again += 1,
                409 => {} // already holds the certificate issued before the kill
                other => panic!("{db:?}: user{i:02} after restart: {other}"),
            }
        }
        let total = count(&conn, "SELECT COUNT(*) AS n FROM certificates").await;
        assert_eq!(total, USERS as i64, "{db:?}: one certificate per user in the end");
        assert_eq!(issued_before + again, total);
        eprintln!(
            "{db:?}: killed with {issued_before} of {USERS} issued ({lost} requests cut off); after restart {again} \
             more issued, {total} certificates = {total} audit entries"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        drop(conn);
    }
}
