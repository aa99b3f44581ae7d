//! The CA key in a PKCS#11 token, with the real SoftHSM2 (Debian `softhsm2`): a token made by the
//! test in a temporary directory (`SOFTHSM2_CONF`), `cjs serve` as a separate process using it,
//! and OpenSC's `pkcs11-tool` looking at what the token holds. The key is generated in the token
//! and never leaves it; certificates, CRLs, the server certificate and the OCSP responder's
//! certificate are signed through it; issuance works under 8 concurrent clients; a wrong PIN or
//! module is a clear start-up error; a token gone while running turns the signing calls into 503
//! while login and the CRL keep working, and signing comes back when the token does.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use sea_orm::ConnectionTrait;

use crate::helpers::{
    Browser, TestDb, TestStore, client_with, each_database, free_port, identity_pem, openssl_ocsp, run, serve_command,
    started, verified_crl_text,
};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const TOKEN: &str = "cjs-test-ca";
const PIN: &str = "8642-user";

/// A SoftHSM2 token directory of its own with one initialised token.
struct SoftHsm {
    dir: tempfile::TempDir,
}

impl SoftHsm {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tokens")).unwrap();
        let conf = format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.path().join("tokens").display()
        );
        std::fs::write(dir.path().join("softhsm2.conf"), conf).unwrap();
        let hsm = Self { dir };
        run(hsm.command("softhsm2-util").args([
            "--init-token",
            "--free",
            "--label",
            TOKEN,
            "--pin",
            PIN,
            "--so-pin",
            "1357-so",
        ]));
        hsm
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("softhsm2.conf")
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("SOFTHSM2_CONF", self.conf());
        cmd
    }

    /// `pkcs11-tool` on the token, logged in.
    fn tool(&self, args: &[&str]) -> String {
        run(self
            .command("pkcs11-tool")
            .args(["--module", MODULE, "--token-label", TOKEN, "--login", "--pin", PIN])
            .args(args))
    }

    /// The token's directory (SoftHSM keeps one per token), and where it goes while "removed".
    fn token_dir(&self) -> (PathBuf, PathBuf) {
        let tokens = self.dir.path().join("tokens");
        let dir = std::fs::read_dir(&tokens).unwrap().next().unwrap().unwrap().path();
        (dir, self.dir.path().join("removed"))
    }

    /// `cjs serve` with the CA key in this token, PIN from the environment.
    fn serve(&self, store: &TestStore, port: u16, pin: &str, extra: &[&str]) -> Command {
        let mut cmd = serve_command(&store.data_dir, &store.database_url, port, extra);
        cmd.args(["--ca-pkcs11-module", MODULE, "--ca-pkcs11-token-label", TOKEN])
            .env("SOFTHSM2_CONF", self.conf())
            .env("CJS_CA_PKCS11_PIN", pin);
        cmd
    }
}

/// Runs `cmd`, which must fail to start: its error output.
fn refused_start(mut cmd: Command) -> String {
    let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success(), "it should have refused to start");
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return err;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("it started instead of refusing");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn store_with_users(db: &TestDb, users: usize) -> TestStore {
    let store = TestStore::fresh(db).await;
    store.create_master("ＨＳＭ試験株式会社", "master01", "Sekret927").await;
    for i in 0..users {
        store.create_general("master01", &format!("user{i:02}"), "Sekret927").await;
    }
    store.db.execute_unprepared("UPDATE organizations SET certificate_limit = 100").await.unwrap();
    store.db.execute_unprepared("UPDATE users SET must_change_password = false").await.unwrap();
    store
}

/// `openssl verify` of the certificate in `pem` against the CA of `data_dir`.
fn verifies(data_dir: &Path, pem: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("leaf.pem"), pem).unwrap();
    let out = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(data_dir.join("ca.pem"))
        .arg(dir.path().join("leaf.pem"))
        .output()
        .unwrap();
    out.status.success()
}

each_database!(the_ca_key_stays_in_the_token_and_signs_everything_under_concurrent_issuance);
async fn the_ca_key_stays_in_the_token_and_signs_everything_under_concurrent_issuance(db: &TestDb) {
    const CLIENTS: usize = 8;
    let hsm = SoftHsm::new();
    let store = store_with_users(db, CLIENTS).await;
    let (port, http_port) = (free_port(), free_port());
    let base = format!("https://127.0.0.1:{port}");
    let http = format!("127.0.0.1:{http_port}");
    let server = started(hsm.serve(&store, port, PIN, &["--http-listen", &http]), &store.data_dir, &base).await;

    // Generated in the token, never extractable; only the certificate is in the data directory.
    assert!(!store.data_dir.join("ca-key.pem").exists(), "no CA key file");
    let keys = hsm.tool(&["--list-objects", "--type", "privkey"]);
    assert!(keys.contains("Private Key Object; EC") && keys.contains("label:      cjs-ca"), "{keys}");
    assert!(keys.contains("never extractable") && keys.contains("always sensitive"), "{keys}");
    let public = hsm.tool(&["--list-objects", "--type", "pubkey"]);
    assert!(public.contains("EC_POINT 384 bits"), "a P-384 key: {public}");
    // The audit key beside it, a key of its own (issue 30): no file, its public half for auditors.
    assert!(keys.contains("label:      cjs-audit"), "{keys}");
    assert!(!store.data_dir.join("audit-key.pem").exists(), "no audit key file");
    assert!(store.data_dir.join("audit-key.pub.pem").exists());

    // Eight clients issue at once; every certificate verifies against /api/ca.pem.
    let client = client_with(&store.data_dir, None);
    let served_ca = client.get(format!("{base}/api/ca.pem")).send().await.unwrap().text().await.unwrap();
    assert_eq!(served_ca, std::fs::read_to_string(store.data_dir.join("ca.pem")).unwrap());
    let browser = Browser::of(&base, client.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..CLIENTS {
        let browser = browser.clone();
        tasks.spawn(async move {
            let id = format!("user{i:02}");
            let issued = browser.issuance(&id, "Sekret927").await;
            (id, issued.unwrap_or_else(|(status, body)| panic!("issuance: {status} {body}")))
        });
    }
    let mut issued = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (id, (p12, serial)) = done.unwrap();
        let pem = identity_pem(&p12, "Sekret927");
        assert!(verifies(&store.data_dir, &pem), "{id}'s certificate verifies against the CA");
        issued.push((id, pem, serial));
    }
    assert_eq!(store.count("SELECT COUNT(*) AS n FROM certificates").await, CLIENTS as i64);

    // Login with one of them (the TLS server certificate was signed through the token too).
    let (id, pem, serial) = issued[0].clone();
    let mut user = Browser::of(&base, client_with(&store.data_dir, Some(&pem)));
    assert_eq!(user.login(&id, "Sekret927").await.0, 200);

    // Revoked: the CRL (signed in the token) lists it, and the OCSP responder (its certificate
    // issued through the token) says so.
    store.cli_revoke(&id, "key_compromise").await;
    let crl = client.get(format!("{base}/api/crl")).send().await.unwrap().bytes().await.unwrap();
    let text = verified_crl_text(&store.data_dir, &crl);
    assert!(text.to_lowercase().replace(':', "").contains(&serial), "{text}");
    let out = openssl_ocsp(&store.data_dir.join("ca.pem"), &pem, &format!("http://{http}/pki/ocsp")).await;
    assert!(out.contains("Response verify OK") && out.contains(": revoked"), "{out}");

    // Started again: the key is found by its label and matches ca.pem; the others still log in.
    drop(server);
    let _server = started(hsm.serve(&store, port, PIN, &[]), &store.data_dir, &base).await;
    let (id, pem, _) = issued[1].clone();
    let mut user = Browser::of(&base, client_with(&store.data_dir, Some(&pem)));
    assert_eq!(user.login(&id, "Sekret927").await.0, 200, "after a restart");

    // A checkpoint signed in the token verifies against the audit key's public half.
    let audit = |what: &str| {
        let mut cmd = hsm.command(env!("CARGO_BIN_EXE_cjs"));
        cmd.arg("--data-dir").arg(&store.data_dir).args(["--database-url", &store.database_url]);
        cmd.args(["--ca-pkcs11-module", MODULE, "--ca-pkcs11-token-label", TOKEN, "admin", "audit", what]);
        run(cmd.env("CJS_CA_PKCS11_PIN", PIN))
    };
    assert!(audit("checkpoint").contains("チェックポイントを署名しました"));
    let verified = audit("verify");
    assert!(verified.contains("改ざんされていません") && verified.contains("チェックポイント 1 件"), "{verified}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_faults_refuse_the_start_or_answer_503_and_signing_recovers_by_itself() {
    let hsm = SoftHsm::new();
    let store = store_with_users(&TestDb::Sqlite, 2).await;
    let port = free_port();
    let base = format!("https://127.0.0.1:{port}");

    // Refused at start, with a message naming the setting; no CA is made.
    let mut missing = serve_command(&store.data_dir, &store.database_url, port, &[]);
    missing
        .args(["--ca-pkcs11-module", "/usr/lib/no-such-pkcs11.so", "--ca-pkcs11-token-label", TOKEN])
        .env("SOFTHSM2_CONF", hsm.conf())
        .env("CJS_CA_PKCS11_PIN", PIN);
    let err = refused_start(missing);
    assert!(err.contains("cannot load the PKCS#11 module") && err.contains("ca_pkcs11_module"), "{err}");
    let err = refused_start(hsm.serve(&store, port, "0000-wrong", &[]));
    assert!(err.contains("PIN") && err.contains("wrong"), "{err}");
    assert!(!err.contains("0000-wrong") && !err.contains(PIN), "the PIN is never printed: {err}");
    let mut no_pin = hsm.serve(&store, port, PIN, &[]);
    no_pin.env_remove("CJS_CA_PKCS11_PIN");
    let err = refused_start(no_pin);
    assert!(err.contains("CJS_CA_PKCS11_PIN"), "{err}");
    assert!(!store.data_dir.join("ca.pem").exists(), "no CA made by a refused start");

    let _server = started(hsm.serve(&store, port, PIN, &[]), &store.data_dir, &base).await;
    let err = refused_start(hsm.serve(&store, free_port(), PIN, &["--ca-pkcs11-key-label", "another"]));
    assert!(err.contains("holds no key labelled \"another\""), "{err}");
    let client = client_with(&store.data_dir, None);
    let browser = Browser::of(&base, client.clone());
    let (p12, _) = browser.issuance("user00", "Sekret927").await.unwrap();
    let pem = identity_pem(&p12, "Sekret927");
    let crl = client.get(format!("{base}/api/crl")).send().await.unwrap();
    assert_eq!(crl.status(), 200);
    let crl = crl.bytes().await.unwrap();

    // The token goes away while the service runs.
    let (token_dir, removed) = hsm.token_dir();
    std::fs::rename(&token_dir, &removed).unwrap();
    for _ in 0..2 {
        let refused = browser.issuance("user01", "Sekret927").await.unwrap_err();
        assert_eq!(refused.0, 503, "{refused:?}");
        assert!(refused.1.contains("署名装置"), "a Japanese message: {}", refused.1);
    }
    assert_eq!(store.count("SELECT COUNT(*) AS n FROM certificates").await, 1, "nothing half-issued");
    let mut user = Browser::of(&base, client_with(&store.data_dir, Some(&pem)));
    assert_eq!(user.login("user00", "Sekret927").await.0, 200, "login needs no signature");
    let again = client.get(format!("{base}/api/crl")).send().await.unwrap();
    assert_eq!(again.status(), 200, "the CRL already signed is still served");
    assert_eq!(again.bytes().await.unwrap(), crl);
    // A revocation needs no signature either, but the next CRL does: 503 rather than a CRL that
    // leaves it out.
    store.cli_revoke("user00", "superseded").await;
    let stale = client.get(format!("{base}/api/crl")).send().await.unwrap();
    assert_eq!(stale.status(), 503, "no CRL without the revocation");

    // It comes back: a signature after the token returned finds it again, no restart (the
    // module is initialised again at most every 2 s, so the first tries may still be refused).
    std::fs::rename(&removed, &token_dir).unwrap();
    let p12 = issued_once_signing_is_back(&browser, "user01").await;
    assert!(verifies(&store.data_dir, &identity_pem(&p12, "Sekret927")));
    assert_eq!(store.count("SELECT COUNT(*) AS n FROM certificates").await, 2);
    let crl = client.get(format!("{base}/api/crl")).send().await.unwrap();
    assert_eq!(crl.status(), 200);
    assert!(verified_crl_text(&store.data_dir, &crl.bytes().await.unwrap()).contains("Superseded"), "now listed");
}

/// The serials (lower-case hex) listed by the CRL `der`, which must verify against the CA
/// certificate `ca_dir/ca.pem`.
fn crl_serials(ca_dir: &Path, der: &[u8]) -> Vec<String> {
    verified_crl_text(ca_dir, der)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Serial Number: "))
        .map(|s| s.trim().to_ascii_lowercase())
        .collect()
}

each_database!(a_rollover_to_the_token_locks_nobody_out_and_each_ca_keeps_its_revocation_data);
/// A deployment whose CA key is a file moves it to an HSM: `cjs admin ca rollover` with the
/// token configured, while the service runs, then a restart. The old CA's certificate still logs
/// in; a new one is signed by the new CA (key in the token); both CAs are in /api/ca.pem; revoking
/// the old certificate shows in the old CA's CRL (at the CDP its certificates name) and its OCSP
/// answer, not in the new CA's.
async fn a_rollover_to_the_token_locks_nobody_out_and_each_ca_keeps_its_revocation_data(db: &TestDb) {
    let hsm = SoftHsm::new();
    let store = store_with_users(db, 2).await;
    let (port, http_port) = (free_port(), free_port());
    let base = format!("https://127.0.0.1:{port}");
    let http = format!("127.0.0.1:{http_port}");
    let plain = reqwest::Client::new();
    let file_ca = serve_command(&store.data_dir, &store.database_url, port, &["--http-listen", &http]);
    let server = started(file_ca, &store.data_dir, &base).await;
    let browser = Browser::of(&base, client_with(&store.data_dir, None));
    let (p12, old_serial) = browser.issuance("user00", "Sekret927").await.unwrap();
    let old_pem = identity_pem(&p12, "Sekret927");
    let old_ca = std::fs::read_to_string(store.data_dir.join("ca.pem")).unwrap();

    // The rollover, with the service up.
    let mut rollover = hsm.command(env!("CARGO_BIN_EXE_cjs"));
    rollover
        .arg("--data-dir")
        .arg(&store.data_dir)
        .args(["--database-url", &store.database_url])
        .args(["--ca-pkcs11-module", MODULE, "--ca-pkcs11-token-label", TOKEN])
        .env("CJS_CA_PKCS11_PIN", PIN)
        .args(["admin", "ca", "rollover"]);
    let out = run(&mut rollover);
    assert!(out.contains("認証局を切り替えました"), "{out}");
    let retired = std::fs::read_dir(store.data_dir.join("ca-retired")).unwrap().next().unwrap().unwrap().path();
    assert_eq!(std::fs::read_to_string(retired.join("ca.pem")).unwrap(), old_ca);
    assert!(retired.join("ca-key.pem").exists() && !store.data_dir.join("ca-key.pem").exists());
    let ca_pem = std::fs::read_to_string(store.data_dir.join("ca.pem")).unwrap();
    assert!(!ca_pem.starts_with(&old_ca) && ca_pem.ends_with(&old_ca), "the new CA first, then the old: {ca_pem}");
    // Made in the token, constrained all the same (issue 29).
    let text = run(Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(store.data_dir.join("ca.pem")));
    assert!(text.contains("X509v3 Name Constraints: critical") && text.contains("OCSP Signing"), "{text}");
    assert!(hsm.tool(&["--list-objects", "--type", "privkey"]).contains("never extractable"));
    assert_eq!(store.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'ca_rollover'").await, 1);

    // Restarted on the new CA: both CAs served, the old certificate logs in.
    drop(server);
    let _server = started(hsm.serve(&store, port, PIN, &["--http-listen", &http]), &store.data_dir, &base).await;
    let client = client_with(&store.data_dir, None);
    let served = client.get(format!("{base}/api/ca.pem")).send().await.unwrap().text().await.unwrap();
    assert_eq!(served.matches("BEGIN CERTIFICATE").count(), 2, "{served}");
    assert_eq!(served, ca_pem, "both CAs, as ca.pem holds them");
    let mut old_user = Browser::of(&base, client_with(&store.data_dir, Some(&old_pem)));
    assert_eq!(old_user.login("user00", "Sekret927").await.0, 200, "the old CA's certificate logs in");

    // A new certificate is the new CA's, with revocation pointers of its own.
    let browser = Browser::of(&base, client.clone());
    let (p12, _) = browser.issuance("user01", "Sekret927").await.unwrap();
    let new_pem = identity_pem(&p12, "Sekret927");
    assert!(verifies(&store.data_dir, &new_pem), "it verifies against ca.pem");
    assert!(!verifies(&retired, &new_pem), "not signed by the old CA");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("new.pem"), &new_pem).unwrap();
    let text = run(Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(dir.path().join("new.pem")));
    let key_id = text
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("URI:http://{http}/pki/")).and_then(|r| r.strip_suffix("/crl")))
        .unwrap_or_else(|| panic!("a CDP of the new CA's own: {text}"))
        .to_owned();
    let new_ca_der = plain.get(format!("http://{http}/pki/{key_id}/ca.crt")).send().await.unwrap();
    assert_eq!(new_ca_der.status(), 200);

    // Revoking the old CA's certificate: in the old CA's CRL (at /pki/crl, verified against the
    // old CA) and its OCSP answer; not in the new CA's CRL.
    store.cli_revoke("user00", "superseded").await;
    let old_crl = plain.get(format!("http://{http}/pki/crl")).send().await.unwrap().bytes().await.unwrap();
    assert!(crl_serials(&retired, &old_crl).contains(&old_serial), "the old CA's CRL lists it");
    let new_crl = plain.get(format!("http://{http}/pki/{key_id}/crl")).send().await.unwrap().bytes().await.unwrap();
    assert!(crl_serials(&store.data_dir, &new_crl).is_empty(), "the new CA's CRL, signed in the token, lists none");
    let ocsp_url = format!("http://{http}/pki/ocsp");
    let out = openssl_ocsp(&retired.join("ca.pem"), &old_pem, &ocsp_url).await;
    assert!(out.contains("Response verify OK") && out.contains(": revoked"), "{out}");
    let out = openssl_ocsp(&store.data_dir.join("ca.pem"), &new_pem, &ocsp_url).await;
    assert!(out.contains("Response verify OK") && out.contains(": good"), "{out}");
}

/// The .p12 of an issuance for `id`, tried every 500 ms while it answers 503 (the token is back,
/// and the module is initialised again at most every 2 s), for up to 30 s.
async fn issued_once_signing_is_back(browser: &Browser, id: &str) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match browser.issuance(id, "Sekret927").await {
            Ok((p12, _)) => return p12,
            Err((503, _)) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(500)).await,
            Err(other) => panic!("signing did not come back: {other:?}"),
        }
    }
}

/// The refusal of an issuance that must not succeed (without printing a .p12 if it did).
fn refusal(issued: Result<(Vec<u8>, String), (u16, String)>) -> (u16, String) {
    match issued {
        Ok((_, serial)) => panic!("a frozen token signs nothing, yet {serial} was issued"),
        Err(refused) => refused,
    }
}

/// p11-kit's PKCS#11 client module (Debian `p11-kit-modules`): it forwards every call to a
/// `p11-kit server` over a socket, as a network HSM's client library forwards to the appliance.
fn p11_kit_client_module() -> PathBuf {
    std::fs::read_dir("/usr/lib")
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path().join("pkcs11/p11-kit-client.so")))
        .find(|p| p.exists())
        .expect("p11-kit-client.so (Debian p11-kit-modules; scripts/setup-tools installs it)")
}

/// A `p11-kit server` exporting the SoftHSM token on a socket of its own (Debian `p11-kit`): an
/// HSM reached over a connection, which the test can freeze (SIGSTOP) so that calls hang
/// instead of failing.
struct RemoteToken {
    server: Child,
    socket: PathBuf,
}

impl RemoteToken {
    fn start(hsm: &SoftHsm) -> Self {
        let socket = hsm.dir.path().join("p11-kit.sock");
        let server = hsm
            .command("p11-kit")
            .args(["server", "--foreground", "--name"])
            .arg(&socket)
            .args(["--provider", MODULE, &format!("pkcs11:token={TOKEN}")])
            .env("XDG_RUNTIME_DIR", hsm.dir.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "p11-kit server made no socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { server, socket }
    }

    /// Sends `signal` to the server and to the process it started for each connection
    /// (`p11-kit-remote`, its child).
    fn signal(&self, signal: &str) {
        let pid = self.server.id().to_string();
        let children = Command::new("pkill").arg(format!("-{signal}")).args(["-P", &pid]).status().unwrap();
        assert!(children.success(), "pkill -{signal} -P found the server's connection processes");
        assert!(Command::new("kill").arg(format!("-{signal}")).arg(&pid).status().unwrap().success());
    }

    /// `cjs serve` with the CA key in the token behind this server.
    fn serve(&self, store: &TestStore, port: u16, extra: &[&str]) -> Command {
        let mut cmd = serve_command(&store.data_dir, &store.database_url, port, extra);
        cmd.arg("--ca-pkcs11-module")
            .arg(p11_kit_client_module())
            .args(["--ca-pkcs11-token-label", TOKEN])
            .env("P11_KIT_SERVER_ADDRESS", format!("unix:path={}", self.socket.display()))
            .env("CJS_CA_PKCS11_PIN", PIN);
        cmd
    }
}

impl Drop for RemoteToken {
    fn drop(&mut self) {
        let pid = self.server.id().to_string();
        let _ = Command::new("pkill").args(["-KILL", "-P", &pid]).status();
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// A token that stops answering (the p11-kit server frozen with SIGSTOP: the calls wait on its
/// socket) is given up after ca_pkcs11_timeout: the issuance answers 503 in about that time,
/// and the next ones at once, without a call sent to the frozen token; login and the CRL keep
/// working; nothing is half-issued. When the token answers again, the call left behind returns
/// and signing comes back by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_hangs_is_given_up_after_the_timeout_and_signs_again_when_it_answers() {
    const TIMEOUT: Duration = Duration::from_secs(2);
    let hsm = SoftHsm::new();
    let remote = RemoteToken::start(&hsm);
    let store = store_with_users(&TestDb::Sqlite, 3).await;
    let port = free_port();
    let base = format!("https://127.0.0.1:{port}");
    let _server = started(remote.serve(&store, port, &["--ca-pkcs11-timeout", "2"]), &store.data_dir, &base).await;
    assert!(hsm.tool(&["--list-objects", "--type", "privkey"]).contains("never extractable"));
    let client = client_with(&store.data_dir, None);
    let browser = Browser::of(&base, client.clone());
    let (p12, _) = browser.issuance("user00", "Sekret927").await.unwrap();
    let pem = identity_pem(&p12, "Sekret927");
    let crl = client.get(format!("{base}/api/crl")).send().await.unwrap().bytes().await.unwrap();

    remote.signal("STOP");
    let started_at = Instant::now();
    let refused = refusal(browser.issuance("user01", "Sekret927").await);
    let first = started_at.elapsed();
    assert_eq!(refused.0, 503, "{refused:?}");
    assert!(refused.1.contains("署名装置"), "a Japanese message: {}", refused.1);
    assert!(first >= TIMEOUT && first < TIMEOUT * 4, "given up after the timeout: {first:?}");
    // Past the reload interval the signer would be tried again, but a call is still inside the
    // module: refused at once, nothing sent to the token (and the module not finalised under it).
    tokio::time::sleep(backend::pki::hsm::RELOAD_INTERVAL + Duration::from_millis(100)).await;
    let started_at = Instant::now();
    let refused = refusal(browser.issuance("user02", "Sekret927").await);
    assert_eq!(refused.0, 503, "{refused:?}");
    assert!(started_at.elapsed() < TIMEOUT, "not sent to the frozen token: {:?}", started_at.elapsed());
    assert_eq!(store.count("SELECT COUNT(*) AS n FROM certificates").await, 1, "nothing half-issued");
    let mut user = Browser::of(&base, client_with(&store.data_dir, Some(&pem)));
    assert_eq!(user.login("user00", "Sekret927").await.0, 200, "login needs no signature");
    let again = client.get(format!("{base}/api/crl")).send().await.unwrap();
    assert_eq!(again.status(), 200, "the CRL already signed is still served");
    assert_eq!(again.bytes().await.unwrap(), crl);

    // The token answers again: the call left behind comes back, the module is initialised
    // again, and the next issuance is signed.
    remote.signal("CONT");
    let p12 = issued_once_signing_is_back(&browser, "user01").await;
    assert!(verifies(&store.data_dir, &identity_pem(&p12, "Sekret927")));
    assert_eq!(store.count("SELECT COUNT(*) AS n FROM certificates").await, 2);
}
