//! A real SMTP server for the mail tests.

use super::*;

/// A real SMTP server (aiosmtpd, `tests/smtp_sink.py`) on a port of its own. Created stopped, so
/// a test can run the service against a relay that is down and start it later. Every accepted
/// mail is one JSON line (decoded subject and body, Message-ID, recipients).
pub struct SmtpSink {
    pub port: u16,
    out: PathBuf,
    child: Option<std::process::Child>,
    _dir: TempDir,
}

impl SmtpSink {
    /// Picks a free port; nothing listens on it until [`SmtpSink::start`].
    pub fn reserve() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        Self { port, out: dir.path().join("mails.jsonl"), child: None, _dir: dir }
    }

    /// Starts the server (`delay`: seconds each message takes) and waits until it accepts connections.
    pub fn start(&mut self, delay: f64) {
        self.start_with(delay, &[]);
    }

    /// [`SmtpSink::start`] with extra arguments of `smtp_sink.py` (`--tls`, `--user`, …).
    pub fn start_with(&mut self, delay: f64, extra: &[&str]) {
        let python = std::env::var("CJS_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_sink.py");
        let child = Command::new(&python)
            .args([script, "--port", &self.port.to_string(), "--out"])
            .arg(&self.out)
            .args(["--delay", &delay.to_string()])
            .args(extra)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {python} (run scripts/setup-tools for aiosmtpd): {e}"));
        self.child = Some(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("the SMTP sink exited ({status}): is aiosmtpd installed for {python}? run scripts/setup-tools");
            }
            assert!(std::time::Instant::now() < deadline, "the SMTP sink did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every mail received so far.
    pub fn mails(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits until at least `n` mails arrived (at most `secs` seconds).
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let mails = self.mails();
            if mails.len() >= n {
                return mails;
            }
            assert!(std::time::Instant::now() < deadline, "only {} of {n} mails arrived in {secs} s", mails.len());
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}
