//! `cjs` as a process of its own, and the other programs the tests run.

use super::*;

/// `cjs serve` as a separate process (so a test can SIGKILL it) on `data_dir` and `url`,
/// listening on `port` (0: any), with `extra` flags. Output is discarded. The test's load stands
/// for many users, so the per-address throttle is off unless `extra` sets it.
pub fn serve_process(data_dir: &std::path::Path, url: &str, port: u16, extra: &[&str]) -> std::process::Child {
    serve_command(data_dir, url, port, extra).spawn().unwrap()
}

/// The command [`serve_process`] runs, for a test that adds to its environment.
pub fn serve_command(data_dir: &std::path::Path, url: &str, port: u16, extra: &[&str]) -> Command {
    serve_command_of(std::path::Path::new(env!("CARGO_BIN_EXE_cjs")), data_dir, url, port, extra)
}

/// [`serve_command`] of another `cjs` binary (the previous release's).
pub fn serve_command_of(
    bin: &std::path::Path,
    data_dir: &std::path::Path,
    url: &str,
    port: u16,
    extra: &[&str],
) -> Command {
    let throttle: &[&str] =
        if extra.contains(&"--password-attempts-per-minute") { &[] } else { &["--password-attempts-per-minute", "0"] };
    let mut cmd = Command::new(bin);
    cmd.args(throttle)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data_dir)
        .args(["--database-url", url])
        .args(extra)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd
}

/// `cjs --data-dir <data_dir> --database-url <url> admin` of this release, as an operator runs
/// it; the command's own arguments follow.
pub fn admin_command(data_dir: &std::path::Path, url: &str) -> Command {
    admin_command_of(std::path::Path::new(env!("CARGO_BIN_EXE_cjs")), data_dir, url)
}

/// [`admin_command`] of another `cjs` binary (the previous release's).
pub fn admin_command_of(bin: &std::path::Path, data_dir: &std::path::Path, url: &str) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg("--data-dir").arg(data_dir).args(["--database-url", url, "admin"]);
    cmd
}

/// Runs an external command, failing the test with its output if it fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// A command installed beside the tests' Python (scripts/setup-tools: pkilint, schemathesis).
pub fn python_tool(name: &str) -> PathBuf {
    let python = std::env::var("CJS_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let bin = PathBuf::from(python).parent().map(|d| d.join(name)).filter(|p| p.exists());
    bin.unwrap_or_else(|| PathBuf::from(name))
}

/// A `cjs serve` process of a test, killed when the test ends, however it ends.
pub struct Server(pub std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port free now on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `cmd` (a `cjs serve`) and waits until it answers /api/health over TLS trusting the data
/// directory's CA.
pub async fn started(mut cmd: Command, data_dir: &std::path::Path, base: &str) -> Server {
    let server = Server(cmd.spawn().unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    // The server CA is written after the client-certificate CA: both exist then.
    while !data_dir.join("server-ca.pem").exists() {
        assert!(std::time::Instant::now() < deadline, "no CA certificate was written");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let client = client_with(data_dir, None);
    loop {
        if let Ok(r) = client.get(format!("{base}/api/health")).send().await
            && r.status().is_success()
        {
            return server;
        }
        assert!(std::time::Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
