//! The server starts, answers over HTTPS, serves the SPA with deep links, and sees client certificates.

use rcgen::{CertificateParams, KeyPair};
use serde_json::Value;

use crate::helpers::{TestDb, client_with, each_database, spawn_app};

each_database!(health_is_ok_on_every_database);
async fn health_is_ok_on_every_database(db: &TestDb) {
    let app = spawn_app(db).await;
    let r = app.client.get(app.url("/api/health")).send().await.unwrap();
    assert_eq!(r.status(), 200, "{db:?}");
    assert_eq!(r.json::<Value>().await.unwrap(), serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn health_is_503_json_when_the_database_is_gone() {
    // PostgreSQL: drop the app's database under it (terminating its connections).
    let Some(ref db @ TestDb::Postgres(ref admin_url)) = TestDb::postgres() else { return };
    let app = spawn_app(db).await;
    assert_eq!(app.client.get(app.url("/api/health")).send().await.unwrap().status(), 200);
    app.drop_postgres_database(admin_url).await;
    let r = app.client.get(app.url("/api/health")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "service_unavailable");
}

#[tokio::test]
async fn spa_index_deep_links_and_assets() {
    let app = spawn_app(&TestDb::Sqlite).await;
    for path in ["/", "/issuance/auth", "/register/master"] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["cache-control"], "no-cache");
        assert!(r.text().await.unwrap().contains("test-index"), "{path}");
    }
    let r = app.client.get(app.url("/app-0123456789abcdef.js")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    let r = app.client.get(app.url("/missing-0123456789abcdef.wasm")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = app.client.get(app.url("/api/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "not_found");
}

#[tokio::test]
async fn plain_http_is_refused() {
    let app = spawn_app(&TestDb::Sqlite).await;
    let plain = reqwest::Client::new();
    assert!(plain.get(format!("http://127.0.0.1:{}/api/health", app.port)).send().await.is_err());
}

#[tokio::test]
async fn handlers_see_the_presented_client_certificate() {
    let app = spawn_app(&TestDb::Sqlite).await;
    // Without a certificate the handshake succeeds and the handler sees none.
    let r: Value = app.client.get(app.url("/api/tls/client-certificate")).send().await.unwrap().json().await.unwrap();
    assert_eq!(r["class"], "none");
    // A certificate from a foreign CA is accepted by TLS and judged by the application.
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec![]).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, "stranger1");
    let cert = params.self_signed(&key).unwrap();
    let pem = format!("{}{}", key.serialize_pem(), cert.pem());
    let client = client_with(&app.data_dir, Some(pem.as_bytes()));
    let r: Value = client.get(app.url("/api/tls/client-certificate")).send().await.unwrap().json().await.unwrap();
    assert_eq!(r["class"], "unknown_issuer");
}

#[tokio::test]
async fn restart_reuses_the_data_directory() {
    let app = spawn_app(&TestDb::Sqlite).await;
    let ca_before = std::fs::read(app.data_dir.join("ca.pem")).unwrap();
    let server_before = std::fs::read(app.data_dir.join("server.pem")).unwrap();
    let second = crate::helpers::spawn(&TestDb::Sqlite, app.second_instance()).await;
    assert_eq!(std::fs::read(second.data_dir.join("ca.pem")).unwrap(), ca_before);
    assert_eq!(std::fs::read(second.data_dir.join("server.pem")).unwrap(), server_before);
    use std::os::unix::fs::PermissionsExt;
    for key in ["ca-key.pem", "server-key.pem", "token.key"] {
        let mode = std::fs::metadata(app.data_dir.join(key)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{key}");
    }
}

#[tokio::test]
async fn security_headers_on_every_response() {
    let app = spawn_app(&TestDb::Sqlite).await;
    for path in ["/", "/login", "/api/health", "/api/nope", "/api/me", "/app-0123456789abcdef.js"] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        if path.starts_with("/api/") {
            assert_eq!(h["cache-control"], "no-store", "{path}");
            assert!(csp.starts_with("default-src 'none'"), "{path}: {csp}");
        }
        if path == "/" || path == "/login" {
            let script_src = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap();
            assert!(script_src.contains("'self'") && !script_src.contains("unsafe-inline"), "{script_src}");
        }
        assert_eq!(h["strict-transport-security"], "max-age=31536000", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413_before_they_are_read() {
    let app = spawn_app(&TestDb::Sqlite).await;
    let big = format!("{{\"user_id\":\"master01\",\"password\":\"{}\"}}", "x".repeat(1024 * 1024));
    for path in ["/api/issuance/authenticate", "/api/issuance/issue", "/api/password/change"] {
        let r = app
            .client
            .post(app.url(path))
            .header("Content-Type", "application/json")
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["code"], "payload_too_large", "{path}: {body}");
    }
}
