//! Login with the issued certificate (R9), every certificate class, sessions, revocation and the
//! CRL (R8), and server-side authorisation of the master and staff APIs.

use std::process::Command;

use serde_json::json;

use crate::helpers::{Browser, TestDb, each_database, spawn_app, verified_crl_text};

each_database!(login_needs_the_users_own_valid_certificate_and_password);
async fn login_needs_the_users_own_valid_certificate_and_password(db: &TestDb) {
    let app = spawn_app(db).await;
    app.master_ready("会社A", "mastera1", "Sekret927").await;
    app.master_ready("会社B", "masterb1", "Secret456").await;
    let (pem_a, serial_a) = app.issued_identity("mastera1", "Sekret927").await;

    // No certificate.
    let (s, b) = Browser::new(&app, None).login("mastera1", "Sekret927").await;
    assert_eq!((s, b["code"].as_str().unwrap()), (401, "certificate_required"), "{db:?}");
    // A certificate of another CA.
    let key = rcgen::KeyPair::generate().unwrap();
    let foreign = rcgen::CertificateParams::new(vec![]).unwrap().self_signed(&key).unwrap();
    let foreign_pem = format!("{}{}", key.serialize_pem(), foreign.pem());
    let (s, b) = Browser::new(&app, Some(foreign_pem.as_bytes())).login("mastera1", "Sekret927").await;
    assert_eq!((s, b["code"].as_str().unwrap()), (403, "certificate_unknown_issuer"));
    // A's certificate with B's ID and password.
    let (s, b) = Browser::new(&app, Some(&pem_a)).login("masterb1", "Secret456").await;
    assert_eq!((s, b["code"].as_str().unwrap()), (403, "certificate_mismatch"));
    // A's certificate with a wrong password: counted under R2.
    let (s, b) = Browser::new(&app, Some(&pem_a)).login("mastera1", "Wrong1234").await;
    assert_eq!((s, b["code"].as_str().unwrap()), (401, "invalid_credentials"));
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM users WHERE user_id = 'mastera1' AND failures = 1").await, 1);
    // The right certificate and password.
    let mut a = Browser::new(&app, Some(&pem_a));
    let (s, me) = a.login("mastera1", "Sekret927").await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["user_id"], "mastera1");
    assert_eq!(me["organization"], "会社A");
    assert_eq!(me["certificate"]["serial"], serial_a);
    assert!(me["certificate"]["days_left"].as_i64().unwrap() >= 364);
    let (s, me) = a.get("/api/me").await;
    assert_eq!((s, me["role"].as_str().unwrap()), (200, "master"));
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'login'").await, 1);
    // The session cookie alone is not enough: the certificate must be presented too.
    let stolen = Browser::new(&app, None).with_cookie(a.cookie());
    assert_eq!(stolen.get("/api/me").await.0, 401);
    // Logout ends the session.
    assert_eq!(a.post("/api/logout", &json!({}), None).await.0, 204);
    assert_eq!(a.get("/api/me").await.0, 401);
}

#[tokio::test]
async fn expired_not_yet_valid_and_revoked_certificates_have_their_own_answers() {
    let app = spawn_app(&TestDb::Sqlite).await;
    app.master_ready("会社A", "mastera1", "Sekret927").await;
    let (pem, serial) = app.issued_identity("mastera1", "Sekret927").await;
    use sea_orm::ConnectionTrait;
    let mut b = app.login(&pem, "mastera1", "Sekret927").await;

    app.db.execute_unprepared("UPDATE certificates SET not_after = '2001-01-01T00:00:00Z'").await.unwrap();
    let (s, body) = Browser::new(&app, Some(&pem)).login("mastera1", "Sekret927").await;
    assert_eq!((s, body["code"].as_str().unwrap()), (403, "certificate_expired"));
    assert!(body["message"].as_str().unwrap().contains("再発行"));
    assert_eq!(b.get("/api/me").await.0, 403, "a session ends with its certificate's validity");

    app.db
        .execute_unprepared(
            "UPDATE certificates SET not_after = '2099-01-01T00:00:00Z', not_before = '2098-01-01T00:00:00Z'",
        )
        .await
        .unwrap();
    let (s, body) = Browser::new(&app, Some(&pem)).login("mastera1", "Sekret927").await;
    assert_eq!((s, body["code"].as_str().unwrap()), (403, "certificate_not_yet_valid"));

    app.db.execute_unprepared("UPDATE certificates SET not_before = '2020-01-01T00:00:00Z'").await.unwrap();
    assert_eq!(b.login("mastera1", "Sekret927").await.0, 200);
    // Revoked through the bank's CLI path (same service as the admin screen).
    let out = Command::new(env!("CARGO_BIN_EXE_cjs"))
        .arg("--data-dir")
        .arg(&app.data_dir)
        .args(["admin", "revoke", "--user-id", "mastera1", "--reason", "superseded"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (s, body) = Browser::new(&app, Some(&pem)).login("mastera1", "Sekret927").await;
    assert_eq!((s, body["code"].as_str().unwrap()), (403, "certificate_revoked"));
    assert_eq!(b.get("/api/me").await.0, 401, "revocation ends the session");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM sessions").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'certificate_revoked'").await, 1);

    // The CRL lists it, is signed by the CA and has a nextUpdate.
    let crl = app.client.get(app.url("/api/crl")).send().await.unwrap();
    assert_eq!(crl.headers()["content-type"], "application/pkix-crl");
    let text = verified_crl_text(&app.data_dir, &crl.bytes().await.unwrap());
    assert!(text.contains("verify OK"), "{text}");
    assert!(text.contains("Next Update"), "{text}");
    assert!(text.to_lowercase().replace(':', "").contains(&serial), "{text}");
    assert!(text.contains("Superseded"), "{text}");

    // R8: the user can now re-issue.
    assert_eq!(app.browser().authenticate("mastera1", "Sekret927").await.0, 200);
}

#[tokio::test]
async fn authorization_is_enforced_on_the_server() {
    let app = spawn_app(&TestDb::Sqlite).await;
    let a = app.master_session("会社A", "mastera1", "Sekret927").await;
    let b = app.master_session("会社B", "masterb1", "Secret456").await;

    // Master A creates a general user; the initial password is one-time (R11).
    let (s, created) =
        a.post("/api/org/users", &json!({"user_id": "generala1", "email": "g@example.co.jp"}), None).await;
    assert_eq!(s, 200, "{created}");
    let initial = created["initial_password"].as_str().unwrap().to_owned();
    assert_eq!(app.browser().authenticate("generala1", &initial).await.0, 428);
    // A cross-site request is refused even with the cookie.
    let (s, _) = a
        .post(
            "/api/org/users",
            &json!({"user_id": "generala2", "email": "g@example.co.jp"}),
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(s, 403);
    // A sees only company A.
    let (s, list) = a.get("/api/org/users").await;
    assert_eq!(s, 200);
    let ids: Vec<&str> =
        list["users"]["items"].as_array().unwrap().iter().map(|u| u["user_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["generala1", "mastera1"]);
    assert_eq!(list["with_certificates"], 1);
    // Master B cannot unlock A's user; A can.
    assert_eq!(b.post("/api/org/users/generala1/unlock", &json!({}), None).await.0, 404, "B cannot see A's users");
    assert_eq!(a.post("/api/org/users/generala1/unlock", &json!({}), None).await.0, 200);
    // Masters cannot call staff APIs; nobody without a session can call either.
    for path in [
        "/api/admin/organizations",
        "/api/admin/certificates",
        "/api/admin/audit",
        "/api/admin/mail",
        "/api/admin/users",
    ] {
        assert_eq!(a.get(path).await.0, 403, "{path}");
        assert_eq!(Browser::new(&app, Some(a.identity())).get(path).await.0, 401, "{path}");
    }
    assert_eq!(
        a.post("/api/admin/organizations", &json!({"name": "X", "master_user_id": "xx1234", "email": "x@x.jp"}), None)
            .await
            .0,
        403
    );
    assert_eq!(Browser::new(&app, None).get("/api/org/users").await.0, 401);

    // Staff: log in with their own certificate, then see and act on everything.
    let staff = app.staff_session("staff001", "Staff1234").await;
    assert_eq!(staff.get("/api/org/users").await.0, 403, "staff are not a company's master");
    let (s, orgs) = staff.get("/api/admin/organizations").await;
    assert_eq!((s, orgs["items"].as_array().unwrap().len()), (200, 2));
    let (s, created) = staff
        .post(
            "/api/admin/organizations",
            &json!({"name": "会社C", "master_user_id": "masterc1", "email": "c@example.co.jp"}),
            None,
        )
        .await;
    assert_eq!(s, 200, "{created}");
    assert_eq!(created["initial_password"].as_str().unwrap().len(), 12);
    let (s, certs) = staff.get("/api/admin/certificates?organization=%E4%BC%9A%E7%A4%BEA&status=active").await;
    assert_eq!(s, 200);
    let certs = certs["items"].as_array().unwrap();
    assert_eq!(certs.len(), 1);
    let serial = certs[0]["serial"].as_str().unwrap().to_owned();
    let (s, revoked) = staff
        .post(&format!("/api/admin/certificates/{serial}/revoke"), &json!({"reason": "key_compromise"}), None)
        .await;
    assert_eq!((s, revoked["status"].as_str().unwrap()), (200, "revoked"));
    assert_eq!(
        staff.post(&format!("/api/admin/certificates/{serial}/revoke"), &json!({"reason": "superseded"}), None).await.0,
        409
    );
    assert_eq!(a.get("/api/me").await.0, 401, "A's session ended with the revocation");
    let (s, body) = staff.get("/api/admin/certificates?status=nonsense").await;
    assert_eq!((s, body["code"].as_str().unwrap()), (400, "invalid_input"));
    let (s, audit) = staff.get("/api/admin/audit?action=certificate_revoked").await;
    assert_eq!((s, audit["items"].as_array().unwrap().len()), (200, 1));
    assert_eq!(staff.get("/api/admin/mail").await.0, 200);
    assert_eq!(staff.post("/api/admin/users/masterb1/unlock", &json!({}), None).await.0, 200);
}

#[tokio::test]
async fn company_certificate_limit_is_enforced() {
    let app = spawn_app(&TestDb::Sqlite).await;
    app.master_ready("会社A", "mastera1", "Sekret927").await;
    app.issued_identity("mastera1", "Sekret927").await;
    use sea_orm::ConnectionTrait;
    app.db.execute_unprepared("UPDATE organizations SET certificate_limit = 1").await.unwrap();
    app.create_general("mastera1", "generala1", "Gen12345").await;
    app.db
        .execute_unprepared("UPDATE users SET must_change_password = false WHERE user_id = 'generala1'")
        .await
        .unwrap();
    let (status, body) = app.browser().authenticate("generala1", "Gen12345").await;
    assert_eq!(status, 409);
    assert!(body["message"].as_str().unwrap().contains("上限"));
}

each_database!(a_password_change_ends_the_users_other_sessions);
/// Issue 29 §3 (ASVS: terminate other sessions after a password change): a change made from one
/// of the user's sessions keeps that one and ends the others; a change made without a session
/// (the sign-in page's form) ends them all; another user's sessions are untouched.
async fn a_password_change_ends_the_users_other_sessions(db: &TestDb) {
    let app = spawn_app(db).await;
    app.master_ready("会社A", "mastera1", "Sekret927").await;
    app.master_ready("会社B", "masterb1", "Secret456").await;
    let (pem_a, _) = app.issued_identity("mastera1", "Sekret927").await;
    let (pem_b, _) = app.issued_identity("masterb1", "Secret456").await;
    let here = app.login(&pem_a, "mastera1", "Sekret927").await;
    let elsewhere = app.login(&pem_a, "mastera1", "Sekret927").await;
    let other_user = app.login(&pem_b, "masterb1", "Secret456").await;

    let body = json!({"user_id": "mastera1", "current_password": "Sekret927", "new_password": "Secret789"});
    let (s, b) = here.post("/api/password/change", &body, None).await;
    assert_eq!(s, 200, "{db:?} {b}");
    assert_eq!(here.get("/api/me").await.0, 200, "the session the change came from is kept");
    assert_eq!(elsewhere.get("/api/me").await.0, 401, "another session of the user ends");
    assert_eq!(other_user.get("/api/me").await.0, 200, "another user's session is untouched");
    let sql = "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'password_changed' AND detail LIKE '%\"sessions_ended\":1%'";
    assert_eq!(app.count(sql).await, 1, "the audit entry counts the session ended");

    // Without a session cookie: every session of the user ends.
    let body = json!({"user_id": "mastera1", "current_password": "Secret789", "new_password": "Secret321"});
    let (s, b) = Browser::new(&app, None).post("/api/password/change", &body, None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(here.get("/api/me").await.0, 401);
    assert_eq!(other_user.get("/api/me").await.0, 200);
}

each_database!(the_home_screen_shows_the_previous_logins_the_failures_since_and_recent_issuances);
/// Issue 29 §4: `/api/me` carries 最近のご利用 from the audit log: the previous login (not this
/// one) with its time and address, the failed attempts since it — at most five, then a line that
/// there are more — and the certificates issued in the last 90 days with their serial; each line
/// says what to do if it was not them. A first login has no previous one.
async fn the_home_screen_shows_the_previous_logins_the_failures_since_and_recent_issuances(db: &TestDb) {
    let app = spawn_app(db).await;
    app.master_ready("会社A", "mastera1", "Sekret927").await;
    let (pem, serial) = app.issued_identity("mastera1", "Sekret927").await;
    let first = app.login(&pem, "mastera1", "Sekret927").await;
    let lines = |me: &serde_json::Value| -> Vec<String> {
        me["activity"]
            .as_array()
            .map(|a| a.iter().map(|l| l.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    };
    let seen = lines(&first.get("/api/me").await.1);
    assert!(!seen.iter().any(|l| l.contains("前回ログイン")), "a first login has no previous one: {seen:?}");
    assert!(
        seen.iter().any(|l| l.contains("電子証明書の発行") && l.contains(&serial) && l.contains("失効をご依頼")),
        "{db:?}: {seen:?}"
    );
    for _ in 0..7 {
        app.browser().authenticate("mastera1", "Wrong1234").await;
    }
    // Seven wrong passwords lock the ID for an hour: lift it as staff would, then log in again.
    let id = common::UserId::parse("mastera1").unwrap();
    let now = time::OffsetDateTime::now_utc();
    backend::auth::accounts::unlock(&app.db, &backend::auth::accounts::Actor::Cli, &id, now).await.unwrap();
    let second = app.login(&pem, "mastera1", "Sekret927").await;
    let seen = lines(&second.get("/api/me").await.1);
    let previous: Vec<_> = seen.iter().filter(|l| l.starts_with("前回ログイン:")).collect();
    assert_eq!(previous.len(), 1, "{seen:?}");
    assert!(
        previous[0].contains("127.0.0.1") && previous[0].contains("日本時間") && previous[0].contains("労金へご連絡")
    );
    let failures = seen.iter().filter(|l| l.starts_with("前回ログイン以降のパスワードの誤り:")).count();
    assert_eq!(failures, 5, "at most five: {seen:?}");
    assert!(seen.iter().any(|l| l.contains("ほかにもあります")), "{seen:?}");
}
