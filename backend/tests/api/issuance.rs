//! R3, R4, R7 through the API: every outcome, and interop of every issued variant with OpenSSL 3
//! (no -legacy) and NSS.

use std::process::Command;

use backend::pki::{issue::KeyType, p12::P12Encryption};
use serde_json::Value;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::helpers::{Options, TestDb, client_with, each_database, run, spawn, spawn_app};

each_database!(issue_returns_a_p12_once_and_then_409);
async fn issue_returns_a_p12_once_and_then_409(db: &TestDb) {
    let app = spawn_app(db).await;
    app.master_ready("テスト株式会社", "master01", "Sekret927").await;
    let t = app.browser().token("master01", "Sekret927").await.unwrap();
    let r = app.browser().issue(&t, "Sekret927").await;
    assert_eq!(r.status(), 200, "{db:?}");
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "application/x-pkcs12");
    assert_eq!(h["cache-control"], "no-store");
    let cd = h["content-disposition"].to_str().unwrap().to_owned();
    assert!(cd.starts_with("attachment; filename=\"master01") && cd.ends_with(".p12\""), "{cd}");
    assert_eq!(cd.len(), "attachment; filename=\"master01YYYYMMDDhhmmss.p12\"".len());
    let serial = h[common::api::HEADER_CERT_SERIAL].to_str().unwrap().to_owned();
    assert_eq!(serial.len(), 32);
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.len() > 500);
    // The row and its audit entry exist.
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) AS n FROM certificates WHERE serial = '{serial}' AND status = 'active'"))
            .await,
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'certificate_issued'").await, 1);
    // The token is single-use.
    let r = app.browser().issue(&t, "Sekret927").await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "invalid_token");
    // R3: a second authentication is refused with the date renewal opens.
    let (status, body) = app.browser().authenticate("master01", "Sekret927").await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "certificate_active");
    let from = OffsetDateTime::parse(body["renewable_from"].as_str().unwrap(), &Rfc3339).unwrap();
    let days = (from - OffsetDateTime::now_utc()).whole_days();
    assert!((334..=336).contains(&days), "{days}");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM certificates").await, 1);
}

#[tokio::test]
async fn bad_tokens_and_wrong_passwords_are_refused() {
    let app = spawn_app(&TestDb::Sqlite).await;
    app.master_ready("テスト株式会社", "master01", "Sekret927").await;
    let r = app.browser().issue("garbage", "Sekret927").await;
    assert_eq!(r.status(), 401);
    let t = app.browser().token("master01", "Sekret927").await.unwrap();
    // A tampered token.
    let mut tampered = t.clone();
    tampered.pop();
    tampered.push(if t.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(app.browser().issue(&tampered, "Sekret927").await.status(), 401);
    // Wrong password at issue time counts for R2 and issues nothing.
    let r = app.browser().issue(&t, "Wrong1234").await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "invalid_credentials");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM certificates").await, 0);
    // The token still works with the right password (it was not consumed).
    assert_eq!(app.browser().issue(&t, "Sekret927").await.status(), 200);
    // An expired token: signed with the app's key but 11 minutes old.
    let keys =
        backend::certificates::tokens::IssuanceTokenKey::load_or_create(&app.data_dir.join("token.key")).unwrap();
    let (old, _) = keys.issue("master01", 1, OffsetDateTime::now_utc() - time::Duration::minutes(11)).unwrap();
    assert_eq!(app.browser().issue(&old, "Sekret927").await.status(), 401);
}

each_database!(a_token_used_twice_concurrently_issues_once);
async fn a_token_used_twice_concurrently_issues_once(db: &TestDb) {
    let app = spawn_app(db).await;
    app.master_ready("テスト株式会社", "master01", "Sekret927").await;
    let t = app.browser().token("master01", "Sekret927").await.unwrap();
    let browser = app.browser();
    let (a, b) = tokio::join!(browser.issue(&t, "Sekret927"), browser.issue(&t, "Sekret927"));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    // The loser is refused either as a used token (401) or, when the winner committed before
    // it got that far, because the user now holds an active certificate (409).
    assert_eq!(statuses[0], 200, "{db:?}");
    assert!(statuses[1] == 401 || statuses[1] == 409, "{db:?} {statuses:?}");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM certificates").await, 1);
}

each_database!(concurrent_issuance_for_one_user_yields_one_certificate);
async fn concurrent_issuance_for_one_user_yields_one_certificate(db: &TestDb) {
    let app = spawn_app(db).await;
    app.master_ready("テスト株式会社", "master01", "Sekret927").await;
    let t1 = app.browser().token("master01", "Sekret927").await.unwrap();
    let t2 = app.browser().token("master01", "Sekret927").await.unwrap();
    let browser = app.browser();
    let (a, b) = tokio::join!(browser.issue(&t1, "Sekret927"), browser.issue(&t2, "Sekret927"));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{db:?}");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM certificates").await, 1);
}

#[tokio::test]
async fn revoked_and_expiring_certificates_allow_a_new_issue() {
    let app = spawn_app(&TestDb::Sqlite).await;
    app.master_ready("テスト株式会社", "master01", "Sekret927").await;
    let t = app.browser().token("master01", "Sekret927").await.unwrap();
    assert_eq!(app.browser().issue(&t, "Sekret927").await.status(), 200);
    use sea_orm::ConnectionTrait;
    // R5: within the last 30 days the authentication is a renewal.
    let soon = (OffsetDateTime::now_utc() + time::Duration::days(29)).format(&Rfc3339).unwrap();
    app.db.execute_unprepared(&format!("UPDATE certificates SET not_after = '{soon}'")).await.unwrap();
    let (status, body) = app.browser().authenticate("master01", "Sekret927").await;
    assert_eq!(status, 200);
    assert_eq!(body["renewal"], true);
    // R8: a revoked certificate does not count.
    let far = (OffsetDateTime::now_utc() + time::Duration::days(300)).format(&Rfc3339).unwrap();
    app.db
        .execute_unprepared(&format!("UPDATE certificates SET not_after = '{far}', status = 'revoked'"))
        .await
        .unwrap();
    let (status, body) = app.browser().authenticate("master01", "Sekret927").await;
    assert_eq!(status, 200);
    assert_eq!(body["renewal"], false);
}

each_database!(a_token_granted_before_a_revocation_issues_nothing);
async fn a_token_granted_before_a_revocation_issues_nothing(db: &TestDb) {
    let app = spawn_app(db).await;
    app.master_ready("テスト株式会社", "master01", "Sekret927").await;
    let staff = app.staff_session("staff001", "Sekret927").await;
    let t = app.browser().token("master01", "Sekret927").await.unwrap();
    let r = app.browser().issue(&t, "Sekret927").await;
    assert_eq!(r.status(), 200);
    let serial = r.headers()[common::api::HEADER_CERT_SERIAL].to_str().unwrap().to_owned();
    // Within its renewal window, so that ④ grants a token while the certificate is valid.
    use sea_orm::ConnectionTrait;
    let soon = (OffsetDateTime::now_utc() + time::Duration::days(29)).format(&Rfc3339).unwrap();
    app.db.execute_unprepared(&format!("UPDATE certificates SET not_after = '{soon}'")).await.unwrap();
    let before = app.browser().token("master01", "Sekret927").await.unwrap();
    let path = format!("/api/admin/certificates/{serial}/revoke");
    // A PC change (superseded): the password stays usable (R8); keyCompromise would revoke it too
    // (lifecycle::a_key_compromise_revocation_revokes_the_password_until_a_reset).
    assert_eq!(staff.post(&path, &serde_json::json!({"reason": "superseded"}), None).await.0, 200);
    // A token counts from the second after the revocation's (tokens carry whole seconds).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // The token fetched before the revocation issues nothing; one fetched after it does (R8).
    let r = app.browser().issue(&before, "Sekret927").await;
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!((status, body["code"].as_str()), (401, Some("invalid_token")), "{db:?}: {body}");
    assert!(body["message"].as_str().unwrap().contains("失効"), "{body}");
    let of_master = "SELECT COUNT(*) AS n FROM certificates WHERE subject_cn = 'master01'";
    assert_eq!(app.count(of_master).await, 1, "{db:?}: nothing issued");
    let after = app.browser().token("master01", "Sekret927").await.unwrap();
    assert_eq!(app.browser().issue(&after, "Sekret927").await.status(), 200, "{db:?}");
}

/// Issues one certificate with `opts` and checks it with OpenSSL and NSS. Returns the .p12 path.
async fn issue_and_check_interop(opts: Options) {
    let app = spawn(&TestDb::Sqlite, opts.clone()).await;
    app.master_ready("テスト労働組合株式会社", "master01", "Sekret927").await;
    let t = app.browser().token("master01", "Sekret927").await.unwrap();
    let r = app.browser().issue(&t, "Sekret927").await;
    assert_eq!(r.status(), 200);
    let serial = r.headers()[common::api::HEADER_CERT_SERIAL].to_str().unwrap().to_owned();
    let bytes = r.bytes().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p12 = dir.path().join("master01.p12");
    std::fs::write(&p12, &bytes).unwrap();
    let ca = dir.path().join("ca.pem");
    let ca_pem = app.client.get(app.url("/api/ca.pem")).send().await.unwrap().text().await.unwrap();
    std::fs::write(&ca, ca_pem).unwrap();

    // OpenSSL 3 without -legacy: MAC, decryption, contents.
    let info =
        run(Command::new("openssl").args(["pkcs12", "-info", "-nokeys", "-passin", "pass:Sekret927", "-in"]).arg(&p12));
    match opts.encryption {
        P12Encryption::Aes256 => {
            assert!(info.contains("PBES2") && info.contains("AES-256-CBC") && info.contains("sha256"), "{info}")
        }
        P12Encryption::TripleDes => assert!(info.contains("pbeWithSHA1And3-KeyTripleDES-CBC"), "{info}"),
    }
    // The user's certificate alone, unless the CA was asked for (issue 29: a CA in the file is
    // what Windows offers to install as a trusted root at import).
    let certificates = info.matches("-----BEGIN CERTIFICATE-----").count();
    assert_eq!(certificates, if opts.p12_include_ca { 2 } else { 1 }, "{info}");
    // The private key's friendly name is the user ID (the certificate bags carry their subject).
    let keys = run(Command::new("openssl")
        .args(["pkcs12", "-info", "-nocerts", "-noenc", "-passin", "pass:Sekret927", "-in"])
        .arg(&p12));
    assert!(keys.contains("friendlyName: master01"), "{keys}");
    let wrong = Command::new("openssl")
        .args(["pkcs12", "-noout", "-passin", "pass:Wrong1234", "-in"])
        .arg(&p12)
        .output()
        .unwrap();
    assert!(!wrong.status.success(), "a wrong password must not open the file");
    let cert = dir.path().join("cert.pem");
    run(Command::new("openssl")
        .args(["pkcs12", "-nokeys", "-clcerts", "-passin", "pass:Sekret927", "-in"])
        .arg(&p12)
        .arg("-out")
        .arg(&cert));
    let key = dir.path().join("key.pem");
    run(Command::new("openssl")
        .args(["pkcs12", "-nocerts", "-noenc", "-passin", "pass:Sekret927", "-in"])
        .arg(&p12)
        .arg("-out")
        .arg(&key));
    let verify = run(Command::new("openssl").args(["verify", "-purpose", "sslclient", "-CAfile"]).arg(&ca).arg(&cert));
    assert!(verify.contains(": OK"), "{verify}");
    let text = run(Command::new("openssl")
        .args(["x509", "-noout", "-text", "-nameopt", "utf8,sep_comma_plus", "-in"])
        .arg(&cert));
    assert!(text.contains("CN=master01") && text.contains("O=テスト労働組合株式会社"), "{text}");
    assert!(text.contains("TLS Web Client Authentication"), "{text}");
    assert!(
        text.contains("X509v3 Subject Key Identifier") && text.contains("X509v3 Authority Key Identifier"),
        "{text}"
    );
    assert!(
        text.contains("Not After : ") && text.contains("14:59:59 20"),
        "notAfter is 23:59:59 JST = 14:59:59 GMT: {text}"
    );
    let serial_line = run(Command::new("openssl").args(["x509", "-noout", "-serial", "-in"]).arg(&cert));
    assert_eq!(serial_line.trim().trim_start_matches("serial=").to_lowercase(), serial);
    match opts.key_type {
        KeyType::Rsa2048 => {
            assert!(text.contains("Public-Key: (2048 bit)") && text.contains("rsaEncryption"), "{text}")
        }
        KeyType::P256 => assert!(text.contains("Public-Key: (256 bit)") && text.contains("prime256v1"), "{text}"),
    }
    // NSS (the store Chromium uses) imports it.
    let nss = dir.path().join("nssdb");
    std::fs::create_dir(&nss).unwrap();
    let db_arg = format!("sql:{}", nss.display());
    run(Command::new("certutil").args(["-N", "--empty-password", "-d", &db_arg]));
    run(Command::new("pk12util").args(["-d", &db_arg, "-W", "Sekret927", "-i"]).arg(&p12));
    let listed = run(Command::new("certutil").args(["-L", "-d", &db_arg]));
    assert!(listed.contains("master01"), "{listed}");
    // And the issued certificate is recognised as valid when presented over TLS.
    let identity = [std::fs::read(&key).unwrap(), std::fs::read(&cert).unwrap()].concat();
    let client = client_with(&app.data_dir, Some(&identity));
    let seen: Value = client.get(app.url("/api/tls/client-certificate")).send().await.unwrap().json().await.unwrap();
    assert_eq!(seen["class"], "valid", "{seen}");
    assert_eq!(seen["user_id"], "master01");
    assert_eq!(seen["serial"], serial);
}

#[tokio::test]
async fn interop_rsa_aes() {
    // The production default, with the production iteration count.
    issue_and_check_interop(Options {
        key_type: KeyType::Rsa2048,
        encryption: P12Encryption::Aes256,
        p12_iterations: backend::pki::p12::DEFAULT_P12_ITERATIONS,
        ..Options::default()
    })
    .await;
}

#[tokio::test]
async fn interop_rsa_3des() {
    issue_and_check_interop(Options {
        key_type: KeyType::Rsa2048,
        encryption: P12Encryption::TripleDes,
        ..Options::default()
    })
    .await;
}

#[tokio::test]
async fn interop_ecdsa_aes() {
    issue_and_check_interop(Options {
        key_type: KeyType::P256,
        encryption: P12Encryption::Aes256,
        ..Options::default()
    })
    .await;
}

#[tokio::test]
async fn interop_ecdsa_3des() {
    // For old importers, with the CA in the file as they may want it (`p12_include_ca`).
    issue_and_check_interop(Options {
        key_type: KeyType::P256,
        encryption: P12Encryption::TripleDes,
        p12_include_ca: true,
        ..Options::default()
    })
    .await;
}

#[tokio::test]
async fn ca_pem_is_served() {
    let app = spawn_app(&TestDb::Sqlite).await;
    let r = app.client.get(app.url("/api/ca.pem")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let pem = r.text().await.unwrap();
    assert_eq!(pem, std::fs::read_to_string(app.data_dir.join("ca.pem")).unwrap());
}
