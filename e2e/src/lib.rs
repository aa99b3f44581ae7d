//! The e2e fixture: starts the real `cjs` server (temporary data directory, free port) and
//! chromedriver (free port), and drives headless Chromium over WebDriver. Everything it starts
//! is stopped when the fixture is dropped, also when a test fails.
//!
//! `CJS_E2E_DRIVER` and `CJS_E2E_BROWSER` choose another WebDriver and browser binary (e.g.
//! msedgedriver and Edge); the default is Debian's chromedriver and Chromium.
//!
//! Chromium reads client certificates and trusted CAs from `$HOME/.pki/nssdb`, so each fixture
//! gets its own HOME with an NSS database that trusts the server's CA.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::json;

pub use common::testids as ids;

/// How long any wait for a condition may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(30);

pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The repository root (this crate lives in `<root>/e2e`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("e2e is inside the repository").to_path_buf()
}

/// A child process killed (with its process group) on drop.
struct Guard(Child, &'static str);

impl Drop for Guard {
    fn drop(&mut self) {
        let pid = self.0.id();
        // `--` so that the negative PID (the whole process group) is not read as an option.
        let _ = Command::new("kill").args(["-s", "TERM", "--", &format!("-{pid}")]).status();
        std::thread::sleep(Duration::from_millis(200));
        let _ = Command::new("kill").args(["-s", "KILL", "--", &format!("-{pid}")]).stderr(Stdio::null()).status();
        let _ = self.0.wait();
        let _ = self.1;
    }
}

fn spawn_group(cmd: &mut Command, name: &'static str) -> anyhow::Result<Guard> {
    use std::os::unix::process::CommandExt;
    // A background process group must not touch the terminal (SIGTTIN would stop it).
    let child =
        cmd.process_group(0).stdin(Stdio::null()).spawn().with_context(|| format!("cannot start {name} ({cmd:?})"))?;
    Ok(Guard(child, name))
}

/// Runs a command to completion, failing with its output.
pub fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| format!("cannot run {cmd:?}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        bail!("{cmd:?} failed: {text}");
    }
    Ok(text)
}

/// The `cjs` binary: `CJS_BIN`, else the debug build in the cargo target directory (built if missing).
fn cjs_binary() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("CJS_BIN") {
        return Ok(PathBuf::from(p));
    }
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| repo_root().join("target"));
    let bin = target.join("debug/cjs");
    if !bin.exists() {
        run(Command::new("cargo").args(["build", "--bin", "cjs"]).current_dir(repo_root()))?;
    }
    Ok(bin)
}

/// The built SPA, both bundles: `CJS_DIST_DIR`, else `<root>/dist` (built if missing).
fn dist_dir() -> anyhow::Result<PathBuf> {
    let dist = std::env::var("CJS_DIST_DIR").map(PathBuf::from).unwrap_or_else(|_| repo_root().join("dist"));
    if !dist.join("index.html").exists() || !dist.join("admin/index.html").exists() {
        run(&mut Command::new(repo_root().join("scripts/build-frontend")))?;
    }
    Ok(dist)
}

/// `/etc/chromium/policies/managed/cjs-e2e-<port>.json`: AutoSelectCertificateForUrls for the
/// test server; removed on drop.
struct PolicyFile(PathBuf);

impl PolicyFile {
    fn write(port: u16) -> anyhow::Result<Self> {
        let dir = Path::new("/etc/chromium/policies/managed");
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(format!("cjs-e2e-{port}.json"));
        let pattern = json!({"pattern": format!("https://127.0.0.1:{port}"), "filter": {}}).to_string();
        std::fs::write(&path, json!({"AutoSelectCertificateForUrls": [pattern]}).to_string())?;
        Ok(Self(path))
    }
}

impl Drop for PolicyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn new_session(driver_url: &str, dir: &Path, downloads: &Path) -> anyhow::Result<Client> {
    let profile = tempfile::Builder::new().prefix("profile").tempdir_in(dir)?.keep();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": std::env::var("CJS_E2E_BROWSER").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()),
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1366,768", "--lang=ja", format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
                "intl.accept_languages": "ja",
            },
        }),
    );
    ClientBuilder::rustls()?.capabilities(caps).connect(driver_url).await.context("WebDriver session")
}

/// A DevTools Protocol command for [`Fixture::cdp`].
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/goog/cdp/execute", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({"cmd": self.cmd, "params": self.params}).to_string()))
    }
}

/// Passwords the e2e flows type.
const KNOWN_PASSWORDS: &[&str] = &["Init1234", "Sekret927", "Wrong1234"];

/// A running server + browser.
pub struct Fixture {
    pub client: Client,
    pub base: String,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub data_dir: PathBuf,
    pub downloads: PathBuf,
    pub home: PathBuf,
    /// The built SPA the server serves.
    pub dist: PathBuf,
    cjs: PathBuf,
    driver_url: String,
    /// Passwords and other secrets this test used: none may appear in the server log (checked by
    /// [`Fixture::close`]).
    secrets: std::sync::Mutex<Vec<String>>,
    _policy: PolicyFile,
    // Dropped in reverse order: browser driver first, then the server.
    _server: Guard,
    _driver: Guard,
}

impl Fixture {
    /// Starts server, chromedriver and a headless Chromium session at 1366×768. Staff operations
    /// are done at once (`--approval-required none`); [`Fixture::start_with`] serves otherwise.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(&["--approval-required", "none"]).await
    }

    /// [`Fixture::start`] with `extra` arguments of `cjs serve` instead of the default ones.
    pub async fn start_with(extra: &[&str]) -> anyhow::Result<Self> {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let dir = tempfile::tempdir()?;
        let data_dir = dir.path().join("data");
        let downloads = dir.path().join("downloads");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&downloads)?;
        std::fs::create_dir_all(home.join(".pki/nssdb"))?;
        let cjs = cjs_binary()?;
        let port = free_port()?;
        let dist = dist_dir()?;
        let log = std::fs::File::create(dir.path().join("server.log"))?;
        let server = spawn_group(
            Command::new(&cjs)
                .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
                .env("RUST_LOG", "info")
                .arg("--data-dir")
                .arg(&data_dir)
                .arg("--dist-dir")
                .arg(&dist)
                .args(extra)
                .stdout(log.try_clone()?)
                .stderr(log),
            "cjs serve",
        )?;
        let base = format!("https://127.0.0.1:{port}");
        wait_for_health(&base, &data_dir).await?;

        // The browser's NSS database trusts the development server CA, as the README tells a
        // developer to (never the client-certificate CA: the .p12 does not carry it, and the
        // browser offers the certificate without it).
        let nss = format!("sql:{}", home.join(".pki/nssdb").display());
        run(Command::new("certutil").args(["-N", "--empty-password", "-d", &nss]).stdin(Stdio::null()))?;
        run(Command::new("certutil")
            .args(["-A", "-n", "cjs-dev-server", "-t", "C,,", "-d", &nss, "-i"])
            .arg(data_dir.join("server-ca.pem"))
            .stdin(Stdio::null()))?;

        let driver_port = free_port()?;
        let driver = spawn_group(
            Command::new(std::env::var("CJS_E2E_DRIVER").unwrap_or_else(|_| "chromedriver".to_owned()))
                .arg(format!("--port={driver_port}"))
                .env("HOME", &home)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            "chromedriver",
        )?;
        let driver_url = format!("http://127.0.0.1:{driver_port}");
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", driver_port)).is_err() {
            if Instant::now() > deadline {
                bail!("chromedriver did not start");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Chromium picks our certificate by itself for this origin (it would hang on the prompt).
        let policy = PolicyFile::write(port)?;
        let client = new_session(&driver_url, dir.path(), &downloads).await?;
        Ok(Self {
            client,
            base,
            port,
            data_dir,
            downloads,
            home,
            dist,
            cjs,
            driver_url,
            secrets: std::sync::Mutex::new(KNOWN_PASSWORDS.iter().map(|s| (*s).to_owned()).collect()),
            dir,
            _policy: policy,
            _server: server,
            _driver: driver,
        })
    }

    /// Empties the browser's NSS database but for the development server CA: the next person at
    /// this PC imports their own certificate (then [`Fixture::restart_browser`]).
    pub fn forget_certificates(&self) -> anyhow::Result<()> {
        let db = self.home.join(".pki/nssdb");
        std::fs::remove_dir_all(&db)?;
        std::fs::create_dir_all(&db)?;
        let nss = format!("sql:{}", db.display());
        run(Command::new("certutil").args(["-N", "--empty-password", "-d", &nss]).stdin(Stdio::null()))?;
        run(Command::new("certutil")
            .args(["-A", "-n", "cjs-dev-server", "-t", "C,,", "-d", &nss, "-i"])
            .arg(self.data_dir.join("server-ca.pem"))
            .stdin(Stdio::null()))?;
        Ok(())
    }

    /// Closes the browser and starts a fresh one (same NSS database): what a user does after
    /// importing a certificate, and the only way Chromium forgets "no certificate" for a site.
    pub async fn restart_browser(&mut self) -> anyhow::Result<()> {
        self.client.clone().close().await.ok();
        self.client = new_session(&self.driver_url, self.dir.path(), &self.downloads).await?;
        Ok(())
    }

    /// Imports a .p12 into the browser's NSS database.
    pub fn import_into_browser(&self, p12: &Path, password: &str) -> anyhow::Result<()> {
        let nss = format!("sql:{}", self.home.join(".pki/nssdb").display());
        run(Command::new("pk12util").args(["-d", &nss, "-W", password, "-i"]).arg(p12).stdin(Stdio::null()))?;
        Ok(())
    }

    /// An HTTPS client for direct API calls (trusts the server's CA).
    pub fn api(&self) -> anyhow::Result<reqwest::Client> {
        let ca = std::fs::read(self.data_dir.join("server-ca.pem"))?;
        Ok(reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&ca)?)
            .build()?)
    }

    /// `cjs admin …` against this server's data directory, with `stdin` as standard input.
    pub fn admin(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<String> {
        use std::io::Write;
        let mut child = Command::new(&self.cjs)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("admin")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        child.stdin.take().context("stdin")?.write_all(stdin.unwrap_or("").as_bytes())?;
        let out = child.wait_with_output()?;
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if !out.status.success() {
            bail!("cjs admin {args:?} failed: {text}");
        }
        if let Some(initial) = text.lines().find_map(|l| l.split_once("初期パスワード（一度だけ表示します）: "))
        {
            self.note_secret(initial.1.trim());
        }
        Ok(text)
    }

    /// Sends a Chrome DevTools Protocol command to the page (chromedriver's `goog/cdp/execute`),
    /// e.g. `Network.emulateNetworkConditions`; returns its result.
    pub async fn cdp(&self, cmd: &'static str, params: serde_json::Value) -> anyhow::Result<serde_json::Value> {
        self.client.issue_cmd(Cdp { cmd, params }).await.with_context(|| format!("DevTools command {cmd}"))
    }

    pub async fn goto(&self, path: &str) -> anyhow::Result<()> {
        self.client.goto(&format!("{}{}", self.base, path)).await?;
        Ok(())
    }

    /// Waits for the element with `data-testid = id`.
    pub async fn find(&self, id: &str) -> anyhow::Result<Element> {
        let sel = format!("[data-testid='{id}']");
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(&sel))
            .await
            .with_context(|| format!("element {id} never appeared"))
    }

    /// Waits until the element `id` contains `text`; returns its text.
    pub async fn wait_text(&self, id: &str, text: &str) -> anyhow::Result<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let sel = format!("[data-testid='{id}']");
            if let Ok(el) = self.client.find(Locator::Css(&sel)).await
                && let Ok(t) = el.text().await
            {
                if t.contains(text) {
                    return Ok(t);
                }
                if Instant::now() > deadline {
                    bail!("element {id} has text {t:?}, never containing {text:?}");
                }
            }
            if Instant::now() > deadline {
                bail!("element {id} never appeared (waiting for {text:?})");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the URL path is `path`.
    pub async fn wait_path(&self, path: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self.client.current_url().await?;
            if url.path() == path {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("expected path {path}, still at {url}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until no element has `data-testid = id`.
    pub async fn wait_gone(&self, id: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + WAIT;
        let sel = format!("[data-testid='{id}']");
        while !self.client.find_all(Locator::Css(&sel)).await?.is_empty() {
            if Instant::now() > deadline {
                bail!("element {id} is still there");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    pub async fn click(&self, id: &str) -> anyhow::Result<()> {
        self.find(id).await?.click().await.with_context(|| format!("click {id}"))?;
        Ok(())
    }

    /// Presses Tab until the element `id` has the focus (at most 150 times); returns it. For
    /// keyboard-only flows: nothing is clicked.
    pub async fn tab_to(&self, id: &str) -> anyhow::Result<Element> {
        self.find(id).await?;
        for _ in 0..150 {
            let active = self.client.active_element().await?;
            if active.attr("data-testid").await?.as_deref() == Some(id) {
                return Ok(active);
            }
            active.send_keys("\u{E004}").await?; // Tab
        }
        bail!("{id} never got the focus with Tab")
    }

    /// Tab to the button `id` and press Enter on it.
    pub async fn press(&self, id: &str) -> anyhow::Result<()> {
        self.tab_to(id).await?.send_keys("\u{E007}").await.with_context(|| format!("Enter on {id}"))?;
        Ok(())
    }

    pub async fn type_into(&self, id: &str, text: &str) -> anyhow::Result<()> {
        let el = self.find(id).await?;
        el.clear().await?;
        el.send_keys(text).await.with_context(|| format!("type into {id}"))?;
        Ok(())
    }

    /// Saves a screenshot to `<target>/e2e/<name>.png`, then checks the screen with axe-core:
    /// every screen a flow photographs is also an accessibility check.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let target =
            std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| repo_root().join("target"));
        let dir = target.join("e2e");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, self.client.screenshot().await?)?;
        self.axe(name).await?;
        Ok(path)
    }

    /// Waits for a finished download whose name satisfies `pred` (no `.crdownload` left).
    pub async fn wait_download(&self, pred: impl Fn(&str) -> bool) -> anyhow::Result<PathBuf> {
        let deadline = Instant::now() + WAIT;
        loop {
            for entry in std::fs::read_dir(&self.downloads)? {
                let path = entry?.path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_owned();
                if pred(&name) && !name.ends_with(".crdownload") && std::fs::metadata(&path)?.len() > 0 {
                    return Ok(path);
                }
            }
            if Instant::now() > deadline {
                bail!("no download appeared in {}", self.downloads.display());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs axe-core (npm, set up by scripts/setup-tools) on the current page; fails on any
    /// violation, naming the rule, its impact and the first offending elements.
    pub async fn axe(&self, screen: &str) -> anyhow::Result<()> {
        let path = std::env::var("CJS_AXE_JS").map(PathBuf::from).unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/cjs-tools/node_modules/axe-core/axe.min.js")
        });
        let source = std::fs::read_to_string(&path)
            .with_context(|| format!("axe-core not found at {} (run scripts/setup-tools)", path.display()))?;
        self.client.execute(&format!("{source}\nreturn true;"), vec![]).await?;
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v =>\
                   `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`)));",
                vec![],
            )
            .await?;
        let violations: Vec<String> = serde_json::from_value(result)?;
        anyhow::ensure!(violations.is_empty(), "axe-core on {screen}:\n{}", violations.join("\n"));
        Ok(())
    }

    /// Remembers a secret that must never reach the server log.
    pub fn note_secret(&self, secret: &str) {
        self.secrets.lock().unwrap().push(secret.to_owned());
    }

    /// Closes the browser, then checks the server log of the whole test: no password this test
    /// used, no session cookie value, no issuance token (JWT) and no private key.
    /// Ends the browser session (call at the end of a test; Drop stops the processes anyway).
    pub async fn close(self) -> anyhow::Result<()> {
        if let Ok(cookies) = self.client.get_all_cookies().await {
            for c in cookies {
                self.note_secret(c.value());
            }
        }
        self.client.clone().close().await.ok();
        let log = std::fs::read_to_string(self.dir.path().join("server.log"))?;
        let secrets = self.secrets.lock().unwrap().clone();
        for line in log.lines() {
            for s in secrets.iter().filter(|s| s.len() >= 6) {
                anyhow::ensure!(!line.contains(s.as_str()), "a secret is in the server log: {line}");
            }
            anyhow::ensure!(!contains_jwt(line), "a token (JWT) is in the server log: {line}");
            anyhow::ensure!(!line.contains("PRIVATE KEY"), "a private key is in the server log: {line}");
        }
        Ok(())
    }
}

/// Whether `line` holds a JSON Web Token: base64url JSON (`eyJ…`), a dot, base64url JSON again
/// (header and claims). A list's paging cursor (one base64url JSON and a signature) is not one.
fn contains_jwt(line: &str) -> bool {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    line.match_indices("eyJ").any(|(at, _)| {
        let rest = &line[at..];
        let header_end = rest.find(|c| !is_b64(c)).unwrap_or(rest.len());
        rest[header_end..].starts_with(".eyJ")
    })
}

async fn wait_for_health(base: &str, data_dir: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(ca) = std::fs::read(data_dir.join("server-ca.pem")) {
            let client = reqwest::Client::builder()
                .use_rustls_tls()
                .tls_built_in_root_certs(false)
                .add_root_certificate(reqwest::Certificate::from_pem(&ca)?)
                .build()?;
            if let Ok(r) = client.get(format!("{base}/api/health")).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("the server did not become healthy at {base}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::contains_jwt;

    #[test]
    fn a_jwt_is_found_and_a_cursor_is_not() {
        assert!(contains_jwt("token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl rest"));
        assert!(!contains_jwt("GET /api/admin/organizations?cursor=eyJzaWRlIjoiQWZ0ZXIifQ.Wl8BQgwhN9qq HTTP/1.1"));
        assert!(!contains_jwt("no token here"));
    }
}

/// Steps of the flows that several tests share.
pub mod steps {
    use std::path::PathBuf;

    use super::{Fixture, ids};

    /// Types `password` on the software keyboard (opens and closes it) and checks that the
    /// keyboard never shows it.
    pub async fn type_with_software_keyboard(f: &Fixture, open_button: &str, password: &str) -> anyhow::Result<()> {
        f.click(open_button).await?;
        f.find(ids::KEYBOARD).await?;
        let mut upper = false;
        for c in password.chars() {
            if c.is_ascii_alphabetic() && c.is_ascii_uppercase() != upper {
                f.click(ids::KEYBOARD_SHIFT).await?;
                upper = !upper;
            }
            f.click(&format!("{}{}", ids::KEYBOARD_KEY_PREFIX, c)).await?;
        }
        let shown = f.find(ids::KEYBOARD_DISPLAY).await?.text().await?;
        anyhow::ensure!(!shown.contains(password), "the keyboard must not show the password");
        anyhow::ensure!(shown.chars().filter(|c| *c == '●').count() == password.len(), "display shows {shown:?}");
        f.click(ids::KEYBOARD_CLOSE).await?;
        Ok(())
    }

    /// The password change of `id` straight through the API (what the pages do), for a test
    /// whose subject is elsewhere.
    pub async fn change_password_by_api(f: &Fixture, id: &str, current: &str, new: &str) -> anyhow::Result<()> {
        let body = serde_json::json!({"user_id": id, "current_password": current, "new_password": new});
        let r = f.api()?.post(format!("{}/api/password/change", f.base)).json(&body).send().await?;
        anyhow::ensure!(r.status() == 200, "password change of {id}: {}", r.text().await?);
        Ok(())
    }

    /// A certificate issued to `id` straight through the API (authenticate, then issue): its
    /// serial and the .p12's bytes.
    pub async fn issue_by_api(f: &Fixture, id: &str, password: &str) -> anyhow::Result<(String, Vec<u8>)> {
        let api = f.api()?;
        let auth = serde_json::json!({"user_id": id, "password": password});
        let r = api.post(format!("{}/api/issuance/authenticate", f.base)).json(&auth).send().await?;
        anyhow::ensure!(r.status() == 200, "authentication of {id}: {}", r.text().await?);
        let token: serde_json::Value = r.json().await?;
        let issue = serde_json::json!({"token": token["token"], "password": password});
        let r = api.post(format!("{}/api/issuance/issue", f.base)).json(&issue).send().await?;
        anyhow::ensure!(r.status() == 200, "issuance to {id}: {}", r.text().await?);
        let serial = r.headers()[common::api::HEADER_CERT_SERIAL].to_str()?.to_owned();
        Ok((serial, r.bytes().await?.to_vec()))
    }

    /// マスターユーザーの初期登録: initial password → new password; lands on ④.
    pub async fn register_master(f: &Fixture, id: &str, initial: &str, new: &str) -> anyhow::Result<()> {
        f.goto("/").await?;
        f.click(ids::BTN_MASTER_REGISTRATION).await?;
        f.wait_path("/register/master").await?;
        f.type_into(ids::REG_USER_ID, id).await?;
        f.type_into(ids::REG_CURRENT_PASSWORD, initial).await?;
        f.type_into(ids::REG_NEW_PASSWORD, new).await?;
        f.type_into(ids::REG_NEW_PASSWORD_CONFIRM, new).await?;
        f.type_into(ids::REG_EMAIL, &format!("{id}@example.co.jp")).await?;
        f.click(ids::REG_SUBMIT).await?;
        f.wait_path("/issuance/auth").await
    }

    /// ④ → ⑦ with the software keyboard; returns the downloaded .p12.
    pub async fn issue_in_wizard(f: &Fixture, id: &str, password: &str) -> anyhow::Result<PathBuf> {
        f.goto("/issuance/auth").await?;
        f.type_into(ids::AUTH_USER_ID, id).await?;
        type_with_software_keyboard(f, ids::AUTH_SOFTWARE_KEYBOARD, password).await?;
        f.click(ids::AUTH_SUBMIT).await?;
        f.wait_path("/issuance/confirm").await?;
        f.click(ids::ISSUE_SUBMIT).await?;
        f.wait_text(ids::RESULT_FILENAME, ".p12").await?;
        let prefix = id.to_owned();
        f.wait_download(move |n| n.starts_with(&prefix) && n.ends_with(".p12")).await
    }

    /// A staff member (staff001, Sekret927) gets a certificate in the wizard and logs in with it.
    pub async fn staff_logs_in(f: &mut Fixture) -> anyhow::Result<()> {
        staff_member_logs_in(f, "staff001").await
    }

    /// Staff member `id` (password Sekret927) is made, gets a certificate in the wizard, and logs
    /// in with it in a browser that holds only that certificate.
    pub async fn staff_member_logs_in(f: &mut Fixture, id: &str) -> anyhow::Result<()> {
        let email = format!("{id}@rokin.example.jp");
        f.admin(&["create-staff", "--id", id, "--email", &email, "--password-stdin"], Some("Init1234\n"))?;
        let r = f
            .api()?
            .post(format!("{}/api/password/change", f.base))
            .json(&serde_json::json!({"user_id": id, "current_password": "Init1234", "new_password": "Sekret927"}))
            .send()
            .await?;
        anyhow::ensure!(r.status() == 200, "{}", r.text().await?);
        let p12 = issue_in_wizard(f, id, "Sekret927").await?;
        f.forget_certificates()?;
        f.import_into_browser(&p12, "Sekret927")?;
        f.restart_browser().await?;
        login(f, id, "Sekret927").await
    }

    /// The login screen: ID + password; waits for home.
    pub async fn login(f: &Fixture, id: &str, password: &str) -> anyhow::Result<()> {
        f.goto("/login").await?;
        f.type_into(ids::LOGIN_USER_ID, id).await?;
        f.type_into(ids::LOGIN_PASSWORD, password).await?;
        f.click(ids::LOGIN_SUBMIT).await?;
        f.wait_path("/home").await
    }
}
