//! Revocation for relying parties, checked with real ones: the CDP and AIA of an issued
//! certificate, the plain-HTTP listener, the OCSP responder under OpenSSL's OCSP client (POST,
//! nonce, signature, `good` then `revoked` right after `cjs admin revoke`) and the GET form with
//! its caching headers, and nginx as a business server checking client certificates by OCSP
//! (`ssl_ocsp on`) and by the CRL fetched from the CDP (`ssl_crl`).

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use base64::Engine;

use crate::helpers::{Options, TestApp, TestDb, each_database, openssl_ocsp, run, spawn, verified_crl_text};

/// An app with the plain-HTTP listener, and a company master with a certificate: the app, the
/// identity (PEM), its serial, and the files OpenSSL needs (leaf.pem, and the CA's ca.pem).
async fn app_with_certificate(db: &TestDb) -> (TestApp, Vec<u8>, String, tempfile::TempDir) {
    let app = spawn(db, Options { http_listen: true, ..Options::default() }).await;
    app.master_ready("ＯＣＳＰ試験株式会社", "ocspm001", "Sekret927").await;
    let (identity, serial) = app.issued_identity("ocspm001", "Sekret927").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("leaf.pem"), &identity).unwrap();
    (app, identity, serial, dir)
}

fn x509_text(dir: &Path) -> String {
    run(Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(dir.join("leaf.pem")))
}

each_database!(openssl_finds_the_responder_and_the_crl_through_the_certificate);
async fn openssl_finds_the_responder_and_the_crl_through_the_certificate(db: &TestDb) {
    let (app, identity, serial, dir) = app_with_certificate(db).await;
    let base = format!("http://127.0.0.1:{}", app.http_port.unwrap());
    let text = x509_text(dir.path());
    let ocsp_url = format!("{base}/pki/ocsp");
    assert!(text.contains(&format!("OCSP - URI:{ocsp_url}")), "{text}");
    assert!(text.contains(&format!("CA Issuers - URI:{base}/pki/ca.crt")), "{text}");
    assert!(text.contains(&format!("URI:{base}/pki/crl")), "{text}");
    let uri =
        run(Command::new("openssl").args(["x509", "-noout", "-ocsp_uri", "-in"]).arg(dir.path().join("leaf.pem")));
    assert_eq!(uri.trim(), ocsp_url);

    // good: signed by the delegated responder, which the CA issued. OpenSSL sends a nonce; by
    // default it is left out of the answer (the kept one), which OpenSSL accepts with a warning.
    let out = openssl_ocsp(&app.data_dir.join("ca.pem"), &identity, &ocsp_url).await;
    assert!(out.contains("Response verify OK"), "{out}");
    assert!(out.contains(": good"), "{out}");
    assert!(out.contains("WARNING: no nonce in response"), "the nonce left out: {out}");
    assert_eq!(out.matches("WARNING").count(), 1, "times valid: {out}");
    assert!(out.contains("OCSP Signing") && out.contains("OCSP No Check"), "the responder's certificate: {out}");
    assert!(out.contains("Responder Id: ") && out.contains("Next Update: "), "{out}");

    // The caIssuers URL serves the CA certificate in DER; the plain listener serves nothing else.
    let http = reqwest::Client::new();
    let ca = http.get(format!("{base}/pki/ca.crt")).send().await.unwrap();
    assert_eq!(ca.headers()["content-type"], "application/pkix-cert");
    let pem = std::fs::read_to_string(app.data_dir.join("ca.pem")).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_eq!(ca.bytes().await.unwrap().to_vec(), base64::engine::general_purpose::STANDARD.decode(b64).unwrap());
    for path in ["/", "/api/health", "/api/ca.pem", "/login", "/api/openapi.json"] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path} is not served over plain HTTP");
    }

    // Revoked through the CLI: the very next answer says so, with time and reason.
    app.cli_revoke("ocspm001", "key_compromise").await;
    let out = openssl_ocsp(&app.data_dir.join("ca.pem"), &identity, &ocsp_url).await;
    assert!(out.contains("Response verify OK") && out.contains(": revoked"), "{out}");
    assert!(out.contains("Reason: keyCompromise") && out.contains("Revocation Time: "), "{out}");

    // The CRL at the CDP verifies against the CA and lists the serial.
    let crl = http.get(format!("{base}/pki/crl")).send().await.unwrap();
    assert_eq!(crl.headers()["content-type"], "application/pkix-crl");
    let text = verified_crl_text(&app.data_dir, &crl.bytes().await.unwrap());
    assert!(text.to_lowercase().replace(':', "").contains(&serial), "{text}");
    assert!(text.contains("Key Compromise"), "{text}");
}

#[tokio::test]
async fn the_get_form_is_cacheable_and_malformed_requests_get_an_ocsp_answer() {
    let (app, _identity, _serial, dir) = app_with_certificate(&TestDb::Sqlite).await;
    let base = format!("http://127.0.0.1:{}", app.http_port.unwrap());
    // A request without a nonce, as RFC 9919 §3.1.1 clients and caches send it, in the GET form.
    let req = dir.path().join("req.der");
    run(Command::new("openssl")
        .args(["ocsp", "-no_nonce", "-issuer"])
        .arg(app.data_dir.join("ca.pem"))
        .arg("-cert")
        .arg(dir.path().join("leaf.pem"))
        .arg("-reqout")
        .arg(&req));
    let b64 = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&req).unwrap());
    let escaped = b64.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
    let http = reqwest::Client::new();
    let r = http.get(format!("{base}/pki/ocsp/{escaped}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/ocsp-response");
    let cache = r.headers()["cache-control"].to_str().unwrap().to_owned();
    assert!(cache.starts_with("max-age=") && cache.contains("public") && cache.contains("no-transform"), "{cache}");
    let max_age: i64 = cache["max-age=".len()..].split(',').next().unwrap().parse().unwrap();
    assert!((3500..=3600).contains(&max_age), "nextUpdate an hour on: {cache}");
    for h in ["last-modified", "expires", "etag"] {
        assert!(r.headers().contains_key(h), "RFC 9919 §7.2 header {h}");
    }
    let etag = r.headers()["etag"].clone();
    let first = r.bytes().await.unwrap();
    // Asked again: the kept answer, the same bytes (no new signature while nothing was revoked).
    let again = http.get(format!("{base}/pki/ocsp/{escaped}")).send().await.unwrap();
    assert_eq!(again.headers()["etag"], etag);
    assert_eq!(again.bytes().await.unwrap(), first, "the kept signed answer");
    let resp = dir.path().join("resp.der");
    std::fs::write(&resp, &first).unwrap();
    let out = run(Command::new("openssl")
        .args(["ocsp", "-respin"])
        .arg(&resp)
        .arg("-issuer")
        .arg(app.data_dir.join("ca.pem"))
        .arg("-CAfile")
        .arg(app.data_dir.join("ca.pem"))
        .arg("-cert")
        .arg(dir.path().join("leaf.pem"))
        .arg("-resp_text"));
    assert!(out.contains("Response verify OK") && out.contains(": good"), "{out}");
    // Unpadded and the same on the HTTPS listener.
    let r = app.client.get(app.url(&format!("/pki/ocsp/{}", b64.trim_end_matches('=')))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().len() > 100, "a signed answer on HTTPS too");

    // Not a request: malformedRequest (OCSPResponseStatus 1), 200, never a 5xx.
    let malformed = [0x30, 0x03, 0x0a, 0x01, 0x01];
    let long = vec![0x30; 10_000];
    for body in [&b""[..], b"hello", &[0x30, 0x80, 0x00, 0x00], &long] {
        let r = http.post(format!("{base}/pki/ocsp")).body(body.to_vec()).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["cache-control"], "no-store");
        assert_eq!(r.bytes().await.unwrap().to_vec(), malformed, "{body:?}");
    }
    for path in ["/pki/ocsp/%%%", "/pki/ocsp/AAAA", "/pki/ocsp/"] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.bytes().await.unwrap().to_vec(), malformed, "{path}");
    }
    // A certificate of another CA: this responder cannot speak for it (unauthorized, 6).
    let other = tempfile::tempdir().unwrap();
    run(Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc", "-subj", "/CN=other"])
        .arg("-keyout")
        .arg(other.path().join("k.pem"))
        .arg("-out")
        .arg(other.path().join("c.pem")));
    run(Command::new("openssl")
        .args(["ocsp", "-issuer"])
        .arg(other.path().join("c.pem"))
        .arg("-cert")
        .arg(other.path().join("c.pem"))
        .arg("-reqout")
        .arg(other.path().join("req.der")));
    let r = http.post(format!("{base}/pki/ocsp")).body(std::fs::read(other.path().join("req.der")).unwrap());
    assert_eq!(r.send().await.unwrap().bytes().await.unwrap().to_vec(), [0x30, 0x03, 0x0a, 0x01, 0x06]);
}

/// nginx as a business server: client certificates of this CA required, and `extra` (OCSP or
/// the CRL) deciding revocation. Returns the process and its port.
fn start_nginx(app: &TestApp, dir: &Path, extra: &str) -> (Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let data = app.data_dir.display();
    let d = dir.display();
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    let conf = format!(
        "daemon off;\nmaster_process off;\nuser root;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/tmp;\n  proxy_temp_path {d}/tmp;\n  \
         fastcgi_temp_path {d}/tmp;\n  uwsgi_temp_path {d}/tmp;\n  scgi_temp_path {d}/tmp;\n  \
         server {{\n    listen 127.0.0.1:{port} ssl;\n    ssl_certificate {data}/server.pem;\n    \
         ssl_certificate_key {data}/server-key.pem;\n    ssl_client_certificate {data}/ca.pem;\n    \
         ssl_verify_client on;\n    {extra}\n    \
         location / {{ default_type text/plain; return 200 \"welcome $ssl_client_s_dn\\n\"; }}\n  }}\n}}\n"
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = Child(
        Command::new(nginx())
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (child, port);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("nginx did not start: {}", std::fs::read_to_string(dir.join("error.log")).unwrap_or_default());
}

/// Kills nginx when the test ends, passed or not.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn nginx() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("nginx is not installed: scripts/setup-tools installs Debian's nginx-light")
}

/// The CRL at `url` into `dir`/crl.pem, as an operator's job would fetch it for nginx.
async fn fetch_crl(url: &str, dir: &Path) {
    let der = reqwest::get(url).await.unwrap().error_for_status().unwrap().bytes().await.unwrap();
    std::fs::write(dir.join("crl.der"), der).unwrap();
    run(Command::new("openssl")
        .args(["crl", "-inform", "DER", "-in"])
        .arg(dir.join("crl.der"))
        .arg("-out")
        .arg(dir.join("crl.pem")));
}

/// The status nginx gives a request presenting `identity`.
async fn through_nginx(app: &TestApp, port: u16, identity: &[u8]) -> (u16, String) {
    let client = crate::helpers::client_with(&app.data_dir, Some(identity));
    let r = client.get(format!("https://127.0.0.1:{port}/")).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn nginx_lets_a_valid_certificate_in_and_refuses_it_once_revoked_by_ocsp_and_by_crl() {
    let (app, identity, _serial, dir) = app_with_certificate(&TestDb::Sqlite).await;
    let base = format!("http://127.0.0.1:{}", app.http_port.unwrap());
    // By OCSP: nginx reads the responder from the certificate's AIA and asks it at each handshake.
    let by_ocsp = dir.path().join("nginx-ocsp");
    let (_ocsp_nginx, ocsp_port) = start_nginx(&app, &by_ocsp, "ssl_ocsp on;");
    // By CRL: the CRL fetched from the CDP, as an operator's cron job would.
    let by_crl = dir.path().join("nginx-crl");
    std::fs::create_dir_all(&by_crl).unwrap();
    let crl_url = format!("{base}/pki/crl");
    fetch_crl(&crl_url, &by_crl).await;
    let crl_directive = format!("ssl_crl {}/crl.pem;", by_crl.display());
    let (crl_nginx, crl_port) = start_nginx(&app, &by_crl, &crl_directive);

    let (status, body) = through_nginx(&app, ocsp_port, &identity).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("CN=ocspm001"), "{body}");
    assert_eq!(through_nginx(&app, crl_port, &identity).await.0, 200);

    app.cli_revoke("ocspm001", "key_compromise").await;
    let (status, body) = through_nginx(&app, ocsp_port, &identity).await;
    assert_eq!(status, 400, "nginx refuses a revoked certificate: {body}");
    let log = std::fs::read_to_string(by_ocsp.join("error.log")).unwrap();
    assert!(log.contains("revoked"), "nginx says why: {log}");

    drop(crl_nginx);
    fetch_crl(&crl_url, &by_crl).await;
    let (_crl_nginx, crl_port) = start_nginx(&app, &by_crl, &crl_directive);
    let (status, body) = through_nginx(&app, crl_port, &identity).await;
    assert_eq!(status, 400, "the new CRL lists it: {body}");
}

/// The status in the signed OCSP answer `der` (one certificate asked about): "good", "revoked"
/// or "unknown"; anything else fails the test.
fn single_status(der: &[u8]) -> &'static str {
    use der::Decode;
    use x509_ocsp::{BasicOcspResponse, CertStatus, OcspResponse};
    let response = OcspResponse::from_der(der).expect("an OCSP response");
    let bytes = response.response_bytes.expect("a signed answer, not a refusal");
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).unwrap();
    match basic.tbs_response_data.responses[0].cert_status {
        CertStatus::Good(_) => "good",
        CertStatus::Revoked(_) => "revoked",
        CertStatus::Unknown(_) => "unknown",
    }
}

each_database!(a_revocation_is_in_the_next_answer_while_others_ask_about_the_same_certificates);
/// The responder keeps signed answers and reads the revocation counter once for a burst of
/// requests: neither may hide a revocation. Twelve certificates are asked about (so their `good`
/// answers are kept); then each of twelve tasks revokes one and at once asks about it, while four
/// others ask about all twelve over and over (re-keeping answers read before the revocations).
/// Every answer after a revocation says `revoked`; the others are `good` or `revoked`, never a
/// refusal or `unknown`.
async fn a_revocation_is_in_the_next_answer_while_others_ask_about_the_same_certificates(db: &TestDb) {
    use backend::db::entities::user;
    use sea_orm::EntityTrait;
    use time::{Duration, OffsetDateTime};

    let app = spawn(db, Options { http_listen: true, ..Options::default() }).await;
    app.create_master("並行ＯＣＳＰ株式会社", "master01", "Init1234").await;
    let master = user::Entity::find().one(&app.db).await.unwrap().unwrap();
    let now = OffsetDateTime::now_utc();
    let dir = tempfile::tempdir().unwrap();
    let mut serials = Vec::new();
    for i in 0..12 {
        let serial = format!("0c{i:02x}");
        crate::helpers::insert_certificate(
            &app.db,
            &master,
            &serial,
            (now - Duration::days(1), now + Duration::days(300)),
            None,
        )
        .await;
        let out = dir.path().join(format!("{serial}.der"));
        run(Command::new("openssl")
            .args(["ocsp", "-no_nonce", "-issuer"])
            .arg(app.data_dir.join("ca.pem"))
            .args(["-serial", &format!("0x{serial}"), "-reqout"])
            .arg(&out));
        serials.push((serial, std::fs::read(&out).unwrap()));
    }
    let url = format!("http://127.0.0.1:{}/pki/ocsp", app.http_port.unwrap());
    let http = reqwest::Client::new();
    let ask = |http: reqwest::Client, url: String, body: Vec<u8>| async move {
        let r = http.post(&url).header("Content-Type", "application/ocsp-request").body(body).send().await.unwrap();
        single_status(&r.bytes().await.unwrap())
    };
    for (serial, req) in &serials {
        assert_eq!(ask(http.clone(), url.clone(), req.clone()).await, "good", "{serial} before");
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (serial, req) in serials.clone() {
        let (revocations, http, url) = (app.state.revocations.clone(), http.clone(), url.clone());
        tasks.spawn(async move {
            let reason = common::api::RevocationReason::KeyCompromise;
            let actor = backend::auth::accounts::Actor::Cli;
            revocations.revoke(&actor, &serial, reason, OffsetDateTime::now_utc()).await.unwrap();
            assert_eq!(ask(http, url, req).await, "revoked", "the answer right after revoking {serial}");
        });
    }
    for k in 0..4 {
        let (http, url, serials) = (http.clone(), url.clone(), serials.clone());
        tasks.spawn(async move {
            for round in 0..10 {
                for (serial, req) in serials.iter().cycle().skip(k * 3).take(serials.len()) {
                    let status = ask(http.clone(), url.clone(), req.clone()).await;
                    assert!(matches!(status, "good" | "revoked"), "{serial} in round {round}: {status}");
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    for (serial, req) in &serials {
        assert_eq!(ask(http.clone(), url.clone(), req.clone()).await, "revoked", "{serial} at the end");
    }
    assert_eq!(app.count("SELECT revocations AS n FROM revocation_counter").await, 12);
}

/// Issue 29 §5 (RFC 9919 §3.1.1, §3.2.1, §7.2): a CertID hashed with SHA-1 (older clients) and one
/// hashed with SHA-256 (what new clients must use) are both answered `good`, each with its own
/// CertID echoed, the same caching headers and an ETag that is the hex SHA-256 of the answer.
#[tokio::test]
async fn both_certid_hashes_are_answered_with_their_own_certid_and_cache_headers() {
    let (app, _identity, _serial, dir) = app_with_certificate(&TestDb::Sqlite).await;
    let base = format!("http://127.0.0.1:{}", app.http_port.unwrap());
    for (flag, hash) in [("-sha1", "sha1"), ("-sha256", "sha256")] {
        let req = dir.path().join(format!("req{flag}.der"));
        run(Command::new("openssl")
            .args(["ocsp", "-no_nonce", flag, "-issuer"])
            .arg(app.data_dir.join("ca.pem"))
            .arg("-cert")
            .arg(dir.path().join("leaf.pem"))
            .arg("-reqout")
            .arg(&req));
        let r = reqwest::Client::new()
            .post(format!("{base}/pki/ocsp"))
            .header("content-type", "application/ocsp-request")
            .body(std::fs::read(&req).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{flag}");
        for h in ["last-modified", "expires", "cache-control"] {
            assert!(r.headers().contains_key(h), "{flag}: RFC 9919 §7.2 header {h}");
        }
        let etag = r.headers()["etag"].to_str().unwrap().trim_matches('"').to_owned();
        let body = r.bytes().await.unwrap();
        use sha2::Digest;
        assert_eq!(etag, hex::encode(sha2::Sha256::digest(&body)), "{flag}: the ETag is the answer's SHA-256");
        let resp = dir.path().join(format!("resp{flag}.der"));
        std::fs::write(&resp, &body).unwrap();
        let out = run(Command::new("openssl")
            .args(["ocsp", flag, "-respin"])
            .arg(&resp)
            .arg("-issuer")
            .arg(app.data_dir.join("ca.pem"))
            .arg("-CAfile")
            .arg(app.data_dir.join("ca.pem"))
            .arg("-cert")
            .arg(dir.path().join("leaf.pem"))
            .arg("-resp_text"));
        assert!(out.contains("Response verify OK") && out.contains(": good"), "{flag}: {out}");
        assert!(out.contains(&format!("Hash Algorithm: {hash}")), "{flag}: the CertID asked with is echoed: {out}");
    }
}

/// A DER request of OpenSSL for `leaf` (with a fresh random nonce unless `nonce` is false).
fn der_request(ca_pem: &Path, dir: &Path, nonce: bool, name: &str) -> Vec<u8> {
    let out = dir.join(name);
    run(Command::new("openssl")
        .args(["ocsp", if nonce { "-nonce" } else { "-no_nonce" }, "-issuer"])
        .arg(ca_pem)
        .arg("-cert")
        .arg(dir.join("leaf.pem"))
        .arg("-reqout")
        .arg(&out));
    std::fs::read(out).unwrap()
}

async fn post_ocsp(url: &str, der: Vec<u8>) -> Vec<u8> {
    let r = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/ocsp-request")
        .body(der)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap().to_vec()
}

#[tokio::test]
/// RFC 9919 §3.1.1: by default a nonce is left out, so a request with one gets the answer kept
/// for its certificate (no signature of its own: anyone can send nonces to the plain-HTTP
/// listener); `ocsp_honour_nonces` echoes it, each answer then signed for its request.
async fn nonces_are_left_out_by_default_and_echoed_when_honoured() {
    let (app, _, _, dir) = app_with_certificate(&TestDb::Sqlite).await;
    let ca = app.data_dir.join("ca.pem");
    let url = format!("http://127.0.0.1:{}/pki/ocsp", app.http_port.unwrap());
    let plain = post_ocsp(&url, der_request(&ca, dir.path(), false, "plain.der")).await;
    let first = post_ocsp(&url, der_request(&ca, dir.path(), true, "n1.der")).await;
    let second = post_ocsp(&url, der_request(&ca, dir.path(), true, "n2.der")).await;
    assert_eq!(first, plain, "a nonce request gets the kept answer, byte for byte");
    assert_eq!(second, plain);

    let honouring =
        spawn(&TestDb::Sqlite, Options { http_listen: true, ocsp_honour_nonces: true, ..Options::default() }).await;
    honouring.master_ready("ナンス株式会社", "noncem01", "Sekret927").await;
    let (identity, _) = honouring.issued_identity("noncem01", "Sekret927").await;
    let url = format!("http://127.0.0.1:{}/pki/ocsp", honouring.http_port.unwrap());
    let out = openssl_ocsp(&honouring.data_dir.join("ca.pem"), &identity, &url).await;
    assert!(out.contains("Response verify OK") && out.contains(": good"), "{out}");
    assert!(!out.contains("WARNING"), "the nonce echoed: {out}");
    std::fs::write(dir.path().join("leaf.pem"), &identity).unwrap();
    let ca = honouring.data_dir.join("ca.pem");
    let first = post_ocsp(&url, der_request(&ca, dir.path(), true, "h1.der")).await;
    let second = post_ocsp(&url, der_request(&ca, dir.path(), true, "h2.der")).await;
    assert_ne!(first, second, "each nonce answered for its request");
}

/// A request of OpenSSL for serial `serial` (hex), with a nonce or without.
fn serial_request(ca_pem: &Path, dir: &Path, serial: &str, nonce: bool) -> Vec<u8> {
    let out = dir.join(format!("{serial}-{nonce}.der"));
    run(Command::new("openssl")
        .args(["ocsp", if nonce { "-nonce" } else { "-no_nonce" }, "-issuer"])
        .arg(ca_pem)
        .args(["-serial", &format!("0x{serial}"), "-reqout"])
        .arg(&out));
    std::fs::read(out).unwrap()
}

each_database!(pre_produced_answers_serve_first_requests_and_never_hide_a_revocation);
/// Issue 32 (RFC 9919 §3.2.4): a pass signs an answer ahead for every unexpired certificate and
/// none for an expired one; a first request, with a nonce or without, gets that stored answer
/// byte for byte (no signature); a made-up serial gets an unsigned `unauthorized`. A revocation
/// through the CLI, which knows nothing of stored answers, is in the very next answer, and the
/// next pass stores the revoked answer. A stored answer near its nextUpdate is signed anew by a
/// pass; one too near to be served is signed on the request's path and stored; the answer of a
/// certificate that expired is deleted.
async fn pre_produced_answers_serve_first_requests_and_never_hide_a_revocation(db: &TestDb) {
    use backend::db::entities::{ocsp_answer, user};
    use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
    use time::{Duration, OffsetDateTime};

    // Passes run by hand here: the background one runs at the start, then waits an hour.
    let options = Options { http_listen: true, ocsp_preproduce_interval_seconds: 3600, ..Options::default() };
    let app = spawn(db, options).await;
    app.master_ready("事前署名株式会社", "ocspm001", "Sekret927").await;
    let (identity, issued) = app.issued_identity("ocspm001", "Sekret927").await;
    let dir = tempfile::tempdir().unwrap();
    let ca = app.data_dir.join("ca.pem");
    let url = format!("http://127.0.0.1:{}/pki/ocsp", app.http_port.unwrap());
    // The other certificates are another company's (the CLI below revokes ocspm001's).
    app.create_master("別会社株式会社", "ocspm002", "Init1234").await;
    let master = user::Entity::find().filter(user::Column::UserId.eq("ocspm002")).one(&app.db).await.unwrap().unwrap();
    let now = OffsetDateTime::now_utc();
    let serials: Vec<String> = (0..20).map(|i| format!("5e{i:02x}")).collect();
    for s in &serials {
        crate::helpers::insert_certificate(
            &app.db,
            &master,
            s,
            (now - Duration::days(1), now + Duration::days(300)),
            None,
        )
        .await;
    }
    let expired = "5eff";
    crate::helpers::insert_certificate(
        &app.db,
        &master,
        expired,
        (now - Duration::days(400), now - Duration::days(5)),
        None,
    )
    .await;
    let ocsp = app.state.ocsp.clone();
    let swept = OffsetDateTime::now_utc();
    ocsp.preproduce(swept, None, true).await.unwrap();
    // A sweep spreads its answers' nextUpdates over the last 15 of their 60 minutes, so that
    // they do not all fall due together again.
    let mut next_updates = Vec::new();
    for s in &serials {
        let t = ocsp_answer::Entity::find_by_id(s.clone()).one(&app.db).await.unwrap().unwrap().next_update;
        assert!(t > swept + Duration::minutes(44) && t <= OffsetDateTime::now_utc() + Duration::minutes(60), "{t}");
        next_updates.push(t);
    }
    next_updates.sort();
    next_updates.dedup();
    assert!(next_updates.len() > 1, "spread: {next_updates:?}");
    let stored = |s: String| {
        let db = app.db.clone();
        async move { ocsp_answer::Entity::find_by_id(s).one(&db).await.unwrap() }
    };
    // serials[19] is never asked about before its own check below (nothing kept in memory).
    for s in serials[..19].iter().chain([&issued]) {
        let row = stored(s.clone()).await.unwrap_or_else(|| panic!("{s} has an answer"));
        assert_eq!(row.status, common::api::CertificateStatus::Active);
        for nonce in [false, true] {
            let answer = post_ocsp(&url, serial_request(&ca, dir.path(), s, nonce)).await;
            assert_eq!(answer, row.der, "{s} (nonce {nonce}): the stored answer, byte for byte");
        }
    }
    assert!(stored(expired.to_owned()).await.is_none(), "no answer for an expired certificate");
    assert_eq!(single_status(&stored(serials[0].clone()).await.unwrap().der), "good");

    // A serial never issued: unsigned `unauthorized` (6), no signature.
    let unknown = post_ocsp(&url, serial_request(&ca, dir.path(), "5d00", false)).await;
    assert_eq!(unknown, [0x30, 0x03, 0x0a, 0x01, 0x06], "an unsigned unauthorized");

    // Revoked through the CLI: the very next answer says so, though the stored one says good.
    app.cli_revoke("ocspm001", "key_compromise").await;
    assert_eq!(single_status(&stored(issued.clone()).await.unwrap().der), "good", "the CLI left it");
    let answer = post_ocsp(&url, serial_request(&ca, dir.path(), &issued, false)).await;
    assert_eq!(single_status(&answer), "revoked", "the next answer");
    let out = openssl_ocsp(&ca, &identity, &url).await;
    assert!(out.contains("Response verify OK") && out.contains(": revoked"), "{out}");
    // What the request signed is stored, for the next one.
    let mut waited = 0;
    while stored(issued.clone()).await.unwrap().der != answer {
        waited += 1;
        assert!(waited < 100, "the revoked answer signed on the request's path is stored");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // A revocation the request path never saw (another certificate): the pass signs it.
    app.state
        .revocations
        .revoke(
            &backend::auth::accounts::Actor::Cli,
            &serials[4],
            common::api::RevocationReason::Superseded,
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    let since = OffsetDateTime::now_utc() - Duration::seconds(1);
    ocsp.preproduce(OffsetDateTime::now_utc(), Some(since), false).await.unwrap();
    let row = stored(serials[4].clone()).await.unwrap();
    assert_eq!(row.status, common::api::CertificateStatus::Revoked);
    assert_eq!(single_status(&row.der), "revoked");
    assert_eq!(post_ocsp(&url, serial_request(&ca, dir.path(), &serials[4], false)).await, row.der);

    // Near its nextUpdate: the pass signs it anew. Too near to serve: the request signs, stores.
    let set_next = |s: &str, t: OffsetDateTime| {
        let db = app.db.clone();
        let s = s.to_owned();
        async move {
            use sea_orm::{ActiveModelTrait, ActiveValue::Set};
            let row = ocsp_answer::Entity::find_by_id(s).one(&db).await.unwrap().unwrap();
            let mut row: ocsp_answer::ActiveModel = row.into();
            row.next_update = Set(t);
            row.update(&db).await.unwrap();
        }
    };
    let old = stored(serials[1].clone()).await.unwrap();
    set_next(&serials[1], OffsetDateTime::now_utc() + Duration::minutes(10)).await;
    ocsp.preproduce(OffsetDateTime::now_utc(), Some(OffsetDateTime::now_utc()), false).await.unwrap();
    let refreshed = stored(serials[1].clone()).await.unwrap();
    assert!(refreshed.next_update > OffsetDateTime::now_utc() + Duration::minutes(50), "signed anew");
    assert_ne!(refreshed.der, old.der);
    set_next(&serials[19], OffsetDateTime::now_utc() + Duration::minutes(2)).await;
    let near = stored(serials[19].clone()).await.unwrap();
    let answer = post_ocsp(&url, serial_request(&ca, dir.path(), &serials[19], false)).await;
    assert_ne!(answer, near.der, "too near its nextUpdate to be served");
    assert_eq!(single_status(&answer), "good");
    let mut waited = 0;
    while stored(serials[19].clone()).await.unwrap().der != answer {
        waited += 1;
        assert!(waited < 100, "the answer signed on the request's path is stored");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // A certificate that expired: its answer goes at the next pass.
    let past = OffsetDateTime::now_utc() - Duration::minutes(1);
    let sql = match db {
        TestDb::Sqlite => "UPDATE certificates SET not_after = ? WHERE serial = ?",
        _ => "UPDATE certificates SET not_after = $1 WHERE serial = $2",
    };
    app.db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            app.db.get_database_backend(),
            sql,
            [past.into(), serials[3].clone().into()],
        ))
        .await
        .unwrap();
    set_next(&serials[3], OffsetDateTime::now_utc() + Duration::minutes(10)).await;
    ocsp.preproduce(OffsetDateTime::now_utc(), Some(OffsetDateTime::now_utc()), false).await.unwrap();
    assert!(stored(serials[3].clone()).await.is_none(), "the expired certificate's answer deleted");
}

#[tokio::test]
/// Issue 32: with answers pre-produced, what still needs a signature on a request's path (here
/// certificates too new for a pass, each asked about once) is limited to
/// `ocsp_signing_per_second` (5 here, so that no machine is too slow to pass it): past the burst
/// a request gets `tryLater`, and a second later the signatures go on. Requests made to differ
/// cannot spend more signing than that.
async fn signatures_on_requests_paths_are_limited_when_answers_are_pre_produced() {
    use backend::{db::entities::user, pki::ocsp::IssuerIds};
    use der::Encode;
    use sea_orm::EntityTrait;
    use time::{Duration, OffsetDateTime};

    const PER_SECOND: usize = 5;
    let options = Options {
        http_listen: true,
        ocsp_preproduce_interval_seconds: 3600,
        ocsp_signing_per_second: Some(PER_SECOND as u32),
        ..Options::default()
    };
    let app = spawn(&TestDb::Sqlite, options).await;
    app.create_master("署名制限株式会社", "master01", "Init1234").await;
    let master = user::Entity::find().one(&app.db).await.unwrap().unwrap();
    let now = OffsetDateTime::now_utc();
    // Far more than the burst plus what refills while they are sent (at one a 200 ms).
    let n = 60;
    let ids = IssuerIds::of(app.state.cas.active()).unwrap();
    let mut requests = Vec::new();
    for i in 0..n {
        let serial = format!("6a{i:04x}");
        crate::helpers::insert_certificate(
            &app.db,
            &master,
            &serial,
            (now - Duration::days(1), now + Duration::days(30)),
            None,
        )
        .await;
        let tbs = x509_ocsp::TbsRequest {
            version: x509_ocsp::Version::V1,
            requestor_name: None,
            request_list: vec![x509_ocsp::Request {
                req_cert: ids.cert_id(&serial).unwrap(),
                single_request_extensions: None,
            }],
            request_extensions: None,
        };
        requests.push(x509_ocsp::OcspRequest { tbs_request: tbs, optional_signature: None }.to_der().unwrap());
    }
    let url = format!("http://127.0.0.1:{}/pki/ocsp", app.http_port.unwrap());
    let (mut signed, mut later) = (0, 0);
    for der in requests.iter().cloned() {
        let answer = post_ocsp(&url, der).await;
        match answer.as_slice() {
            [0x30, 0x03, 0x0a, 0x01, 0x03] => later += 1,
            _ => {
                assert_eq!(single_status(&answer), "good");
                signed += 1;
            }
        }
    }
    assert!(later > 0, "past the burst some are tryLater ({signed} signed)");
    assert!(signed >= PER_SECOND, "the burst is signed ({signed})");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let again = post_ocsp(&url, requests.last().unwrap().clone()).await;
    assert_eq!(single_status(&again), "good", "a second later signatures go on");
}
