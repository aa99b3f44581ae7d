//! Issue 29 §1: the client-certificate CA that users' PCs may trust as a root vouches for no
//! website. An attacker holding its key (an insider, a stolen backup, a mis-set HSM) signs server
//! certificates for `www.example.jp` and for `127.0.0.1`; OpenSSL, GnuTLS, NSS and headless
//! Chromium, each trusting that CA as a root, refuse both. With the same trust, an issued client
//! certificate still verifies for client authentication, and logs in (the TLS client-auth
//! handshake and the server's judgement of the certificate) through curl/OpenSSL, GnuTLS, Python,
//! Node.js and Java. The embedded default's server identity comes from its own development CA.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use rcgen::{CertificateParams, ExtendedKeyUsagePurpose, Issuer, KeyPair, KeyUsagePurpose};

use crate::helpers::{TestApp, TestDb, TestStore, client_with, free_port, run, serve_command, spawn_app, started};

/// What a command printed and whether it succeeded.
fn attempt(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// A server certificate for `name` (a DNS name or an IP address) signed with the key of the CA
/// of `data_dir`, as an attacker holding `ca-key.pem` would: (certificate, key) files in `dir`.
fn forge(data_dir: &Path, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let ca_pem = std::fs::read_to_string(data_dir.join("ca.pem")).unwrap();
    let ca_key = KeyPair::from_pem(&std::fs::read_to_string(data_dir.join("ca-key.pem")).unwrap()).unwrap();
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let cert = params.signed_by(&key, &issuer).unwrap();
    let (cert_path, key_path) = (dir.join(format!("forged-{name}.pem")), dir.join(format!("forged-{name}-key.pem")));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

/// An NSS database in `dir` trusting `roots` as CAs of TLS servers and clients ("CT,,"), as a
/// browser's would.
fn nss_db(dir: &Path, roots: &[&Path]) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let db = format!("sql:{}", dir.display());
    run(Command::new("certutil").args(["-N", "--empty-password", "-d", &db]));
    for (i, root) in roots.iter().enumerate() {
        run(Command::new("certutil").args(["-A", "-n", &format!("root{i}"), "-t", "CT,,", "-d", &db, "-i"]).arg(root));
    }
    db
}

/// NSS's verdict on `cert` for `usage` (`V`: SSL server, `C`: SSL client) in `db`.
fn nss_verifies(db: &str, cert: &Path, usage: &str) -> (bool, String) {
    let nick = cert.file_stem().unwrap().to_str().unwrap().to_owned();
    run(Command::new("certutil").args(["-A", "-n", &nick, "-t", ",,", "-d", db, "-i"]).arg(cert));
    attempt(Command::new("certutil").args(["-V", "-n", &nick, "-u", usage, "-d", db]))
}

/// `openssl s_server -WWW` in `dir` presenting `cert`/`key` (serving `dir`'s files); killed on drop.
struct TlsServer(std::process::Child, u16);

impl TlsServer {
    fn start(dir: &Path, cert: &Path, key: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-WWW", "-accept", &format!("127.0.0.1:{port}"), "-cert"])
            .arg(cert)
            .arg("-key")
            .arg(key)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Self(child, port); // killed and waited for on drop, also when this panics
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("openssl s_server did not start");
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// The DOM headless Chromium shows for `url`, its NSS database (under `home`) as set up, with
/// `www.example.jp` mapped to 127.0.0.1.
fn chromium_dom(home: &Path, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let (_, text) = attempt(
        Command::new("timeout")
            .args(["60", "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
            .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
            .arg("--host-resolver-rules=MAP www.example.jp 127.0.0.1")
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(["--dump-dom", url])
            .env("HOME", home)
            .stdin(Stdio::null()),
    );
    text
}

const MARKER: &str = "served-by-the-forged-certificate";

#[tokio::test]
async fn server_certificates_forged_with_the_client_ca_key_are_refused_everywhere() {
    let app = spawn_app(&TestDb::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = app.data_dir.join("ca.pem");
    let text = run(Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(&ca));
    assert!(text.contains("X509v3 Name Constraints: critical"), "{text}");
    assert!(text.contains("TLS Web Client Authentication, OCSP Signing"), "{text}");
    // The browser trusts the client-certificate CA as a root, as a PC that accepted the manual's
    // 「セキュリティの警告」 does, and the development server CA (for the control below).
    let home = dir.path().join("home");
    nss_db(&home.join(".pki/nssdb"), &[&ca, &app.data_dir.join("server-ca.pem")]);
    std::fs::write(dir.path().join("index.html"), format!("<html><body>{MARKER}</body></html>")).unwrap();

    // Control: the same harness with a genuine certificate (the development server's) shows the page.
    let genuine = TlsServer::start(dir.path(), &app.data_dir.join("server.pem"), &app.data_dir.join("server-key.pem"));
    let dom = chromium_dom(&home, &format!("https://127.0.0.1:{}/index.html", genuine.1));
    assert!(dom.contains(MARKER), "the harness must show a page behind a trusted certificate: {dom}");
    drop(genuine);

    for (name, host) in [("www.example.jp", "www.example.jp"), ("127.0.0.1", "127.0.0.1")] {
        let (cert, key) = forge(&app.data_dir, dir.path(), name);
        let (ok, out) =
            attempt(Command::new("openssl").args(["verify", "-purpose", "sslserver", "-CAfile"]).arg(&ca).arg(&cert));
        assert!(!ok, "OpenSSL must refuse the forged {name}: {out}");
        let (ok, out) = attempt(
            Command::new("certtool")
                .args(["--verify", "--verify-purpose=1.3.6.1.5.5.7.3.1", "--load-ca-certificate"])
                .arg(&ca)
                .arg("--infile")
                .arg(&cert),
        );
        assert!(!ok, "GnuTLS must refuse the forged {name}: {out}");
        let nss = nss_db(&dir.path().join(format!("nss-{name}")), &[&ca]);
        let (ok, out) = nss_verifies(&nss, &cert, "V");
        assert!(!ok, "NSS must refuse the forged {name}: {out}");
        let forged = TlsServer::start(dir.path(), &cert, &key);
        let dom = chromium_dom(&home, &format!("https://{host}:{}/index.html", forged.1));
        assert!(!dom.contains(MARKER), "Chromium must not show a page behind the forged {name}: {dom}");
    }

    // The same trust still accepts an issued client certificate for client authentication.
    // (The certificate alone: NSS reads the first PEM block of a file.)
    let pem =
        String::from_utf8_lossy(&std::fs::read(issued_identity_file(&app, dir.path()).await).unwrap()).into_owned();
    let begin = pem.find("-----BEGIN CERTIFICATE-----").unwrap();
    let end = pem.find("-----END CERTIFICATE-----").unwrap() + "-----END CERTIFICATE-----".len();
    let identity = dir.path().join("client.pem");
    std::fs::write(&identity, format!("{}\n", &pem[begin..end])).unwrap();
    let (ok, out) =
        attempt(Command::new("openssl").args(["verify", "-purpose", "sslclient", "-CAfile"]).arg(&ca).arg(&identity));
    assert!(ok, "OpenSSL: {out}");
    let (ok, out) = attempt(
        Command::new("certtool")
            .args(["--verify", "--verify-purpose=1.3.6.1.5.5.7.3.2", "--load-ca-certificate"])
            .arg(&ca)
            .arg("--infile")
            .arg(&identity),
    );
    assert!(ok, "GnuTLS: {out}");
    let nss = nss_db(&dir.path().join("nss-client"), &[&ca]);
    let (ok, out) = nss_verifies(&nss, &identity, "C");
    assert!(ok, "NSS: {out}");
    // The .p12 carries no CA (p12_include_ca off): browsers pick the certificate by its own issuer
    // name, which must be, byte for byte, the CA subject the server's CertificateRequest names.
    let der = |path: &Path| {
        let (_, pem) = x509_parser::pem::parse_x509_pem(&std::fs::read(path).unwrap()).unwrap();
        pem.contents
    };
    let (leaf, root) = (der(&identity), der(&ca));
    let (_, leaf) = x509_parser::parse_x509_certificate(&leaf).unwrap();
    let (_, root) = x509_parser::parse_x509_certificate(&root).unwrap();
    assert_eq!(leaf.issuer().as_raw(), root.subject().as_raw());
}

/// The certificate and key of a newly issued client certificate, in one PEM file.
async fn issued_identity_file(app: &TestApp, dir: &Path) -> PathBuf {
    app.master_ready("テスト株式会社", "master01", "Sekret927").await;
    let (pem, _) = app.issued_identity("master01", "Sekret927").await;
    let path = dir.join("identity.pem");
    std::fs::write(&path, pem).unwrap();
    path
}

/// The issued certificate is presented and judged valid (`/api/tls/client-certificate`) through
/// the TLS stacks a company's business systems use, each trusting only the development server CA.
#[tokio::test]
async fn issued_client_certificates_authenticate_through_every_tls_stack() {
    let app = spawn_app(&TestDb::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let identity = issued_identity_file(&app, dir.path()).await;
    let server_ca = app.data_dir.join("server-ca.pem");
    let url = app.url("/api/tls/client-certificate");
    let valid = |stack: &str, out: &str| {
        assert!(out.contains("\"class\":\"valid\"") && out.contains("master01"), "{stack}: {out}");
    };

    let out = run(Command::new("curl")
        .args(["-sS", "--fail", "--cacert"])
        .arg(&server_ca)
        .arg("--cert")
        .arg(&identity)
        .arg(&url));
    valid("curl (OpenSSL)", &out);

    let request = "GET /api/tls/client-certificate HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let mut gnutls = Command::new("gnutls-cli")
        .args(["-p", &app.port.to_string(), "--x509cafile"])
        .arg(&server_ca)
        .arg("--x509certfile")
        .arg(&identity)
        .arg("--x509keyfile")
        .arg(&identity)
        .arg("127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = gnutls.stdin.take().unwrap();
        stdin.write_all(request.as_bytes()).unwrap();
        // Left open until the answer is read: gnutls-cli ends the session at EOF of its input.
        let out = tokio::task::spawn_blocking(move || {
            std::thread::sleep(std::time::Duration::from_secs(3));
            drop(stdin);
            gnutls.wait_with_output().unwrap()
        })
        .await
        .unwrap();
        valid("gnutls-cli", &String::from_utf8_lossy(&out.stdout));
    }

    let python = std::env::var("CJS_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let out = run(Command::new(python)
        .arg("-c")
        .arg(
            "import ssl, sys, urllib.request\n\
         ctx = ssl.create_default_context(cafile=sys.argv[1])\n\
         ctx.load_cert_chain(sys.argv[2])\n\
         print(urllib.request.urlopen(sys.argv[3], context=ctx).read().decode())",
        )
        .arg(&server_ca)
        .arg(&identity)
        .arg(&url));
    valid("Python ssl", &out);

    let out = run(Command::new("node")
        .arg("-e")
        .arg(
            "const fs = require('fs'), https = require('https');\n\
             const [ca, id, url] = process.argv.slice(1).map(String);\n\
             const pem = fs.readFileSync(id);\n\
             https.get(url, {ca: fs.readFileSync(ca), key: pem, cert: pem}, r => {\n\
               let b = ''; r.on('data', d => b += d); r.on('end', () => console.log(b));\n\
             }).on('error', e => { console.error(e); process.exit(1); });",
        )
        .arg(&server_ca)
        .arg(&identity)
        .arg(&url));
    valid("Node.js https", &out);

    // Java: the .p12 itself as the key store (PKCS#12 with AES-256 and an HMAC-SHA256 MAC).
    let p12 = dir.path().join("identity.p12");
    run(Command::new("openssl")
        .args(["pkcs12", "-export", "-passout", "pass:Sekret927", "-in"])
        .arg(&identity)
        .arg("-out")
        .arg(&p12));
    let java = dir.path().join("Interop.java");
    std::fs::write(
        &java,
        "import java.io.*; import java.net.URI; import java.net.http.*; import java.security.*;\n\
         import java.security.cert.*; import javax.net.ssl.*;\n\
         public class Interop { public static void main(String[] a) throws Exception {\n\
           KeyStore trust = KeyStore.getInstance(\"PKCS12\"); trust.load(null, null);\n\
           try (InputStream in = new FileInputStream(a[0])) { trust.setCertificateEntry(\"server\",\n\
             CertificateFactory.getInstance(\"X.509\").generateCertificate(in)); }\n\
           KeyStore keys = KeyStore.getInstance(\"PKCS12\");\n\
           try (InputStream in = new FileInputStream(a[1])) { keys.load(in, a[2].toCharArray()); }\n\
           KeyManagerFactory kmf = KeyManagerFactory.getInstance(\"PKIX\"); kmf.init(keys, a[2].toCharArray());\n\
           TrustManagerFactory tmf = TrustManagerFactory.getInstance(\"PKIX\"); tmf.init(trust);\n\
           SSLContext ctx = SSLContext.getInstance(\"TLS\"); ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);\n\
           HttpResponse<String> r = HttpClient.newBuilder().sslContext(ctx).build().send(\n\
             HttpRequest.newBuilder(URI.create(a[3])).build(), HttpResponse.BodyHandlers.ofString());\n\
           System.out.println(r.body()); } }\n",
    )
    .unwrap();
    let out = run(Command::new("java").arg(&java).arg(&server_ca).arg(&p12).arg("Sekret927").arg(&url));
    valid("Java HttpClient", &out);
}

/// A data directory of an earlier release: its CA unconstrained (no nameConstraints, no EKU) and
/// its server certificate signed by that CA. The new release starts on it and makes the server
/// certificate anew from the development server CA (a client trusting only that CA connects),
/// keeping the CA; `cjs admin ca rollover` then makes a constrained CA and retires the old one
/// (README, "A deployment made before the CA was constrained").
#[tokio::test]
async fn an_unconstrained_ca_of_an_earlier_release_is_rolled_over_to_a_constrained_one() {
    let store = TestStore::fresh(&TestDb::Sqlite).await;
    let data = &store.data_dir;
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name.push(rcgen::DnType::CommonName, "CJS Client Certificate CA");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let legacy = params.self_signed(&key).unwrap();
    std::fs::write(data.join("ca.pem"), legacy.pem()).unwrap();
    std::fs::write(data.join("ca-key.pem"), key.serialize_pem()).unwrap();
    let issuer = Issuer::from_ca_cert_pem(&legacy.pem(), key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server = server.signed_by(&server_key, &issuer).unwrap();
    std::fs::write(data.join("server.pem"), format!("{}{}", server.pem(), legacy.pem())).unwrap();
    std::fs::write(data.join("server-key.pem"), server_key.serialize_pem()).unwrap();

    let port = free_port();
    let base = format!("https://127.0.0.1:{port}");
    let running = started(serve_command(data, &store.database_url, port, &[]), data, &base).await;
    let health = client_with(data, None).get(format!("{base}/api/health")).send().await.unwrap();
    assert_eq!(health.status(), 200, "served with a server certificate of the development server CA");
    assert_eq!(std::fs::read_to_string(data.join("ca.pem")).unwrap(), legacy.pem(), "the CA is kept");
    drop(running);

    let out = run(Command::new(env!("CARGO_BIN_EXE_cjs")).arg("--data-dir").arg(data).args([
        "--database-url",
        &store.database_url,
        "admin",
        "ca",
        "rollover",
    ]));
    assert!(out.contains("認証局を切り替えました"), "{out}");
    let text = run(Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(data.join("ca.pem")));
    assert!(text.contains("X509v3 Name Constraints: critical"), "the new CA is constrained: {text}");
    assert!(text.contains("TLS Web Client Authentication, OCSP Signing"), "{text}");
    let retired = std::fs::read_dir(data.join("ca-retired")).unwrap().next().unwrap().unwrap().path();
    assert_eq!(std::fs::read_to_string(retired.join("ca.pem")).unwrap(), legacy.pem(), "the old CA is retired");
}
