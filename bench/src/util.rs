//! Shared pieces: the `cjs serve` process, seeding, HTTPS clients, percentiles, RSS.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use backend::{
    auth::accounts::{self, Actor, NewAccount},
    config::{Config, ConfigArgs},
    db::entities::user,
    startup::core_services,
};
use common::{Field, Password, UserId, api::Role};
use sea_orm::{DatabaseConnection, EntityTrait};
use time::OffsetDateTime;

/// The password of every seeded user.
pub const PASSWORD: &str = "Bench1234";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Median and the given percentile of `xs` (milliseconds).
pub fn percentile(xs: &[f64], p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[rank.min(v.len() - 1)]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Resident set size of `pid` in MiB (VmRSS).
pub fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// RSS of `pid` and all its children (nginx master + workers), MiB.
pub fn rss_tree_mib(pid: u32) -> f64 {
    let mut total = rss_mib(pid);
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Ok(child) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            // pid (comm) state ppid …
            let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
            if ppid == Some(pid) {
                total += rss_mib(child);
            }
        }
    }
    total
}

/// Seconds of CPU (user + system, all threads) process `pid` has used so far, from /proc.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command name (which may hold spaces) start with the state, field 3.
    let rest = &stat[stat.rfind(')').context("a /proc stat line")? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(ticks as f64 / clock_ticks()?)
}

/// The clock ticks a second of /proc's CPU times (`getconf CLK_TCK`, asked once).
fn clock_ticks() -> anyhow::Result<f64> {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    if let Some(t) = TICKS.get() {
        return Ok(*t);
    }
    let t: f64 = run(Command::new("getconf").arg("CLK_TCK"))?.trim().parse()?;
    Ok(*TICKS.get_or_init(|| t))
}

/// CPU seconds of every PostgreSQL server process on this machine (the database's own work).
pub fn postgres_cpu() -> f64 {
    let mut total = 0.0;
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "postgres" {
                total += cpu_seconds(pid).unwrap_or(0.0);
            }
        }
    }
    total
}

/// CPU seconds of `pid` and its children (nginx master + workers), from /proc.
pub fn cpu_tree_seconds(pid: u32) -> f64 {
    let mut total = cpu_seconds(pid).unwrap_or(f64::NAN);
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Ok(child) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else { continue };
            let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
            if ppid == Some(pid) {
                total += cpu_seconds(child).unwrap_or(0.0);
            }
        }
    }
    total
}

/// Configuration of a data directory (as `cjs` would resolve it with these flags).
pub fn config(data_dir: &Path, database_url: Option<&str>) -> anyhow::Result<Config> {
    Config::resolve(&ConfigArgs {
        data_dir: Some(data_dir.to_path_buf()),
        database_url: database_url.map(str::to_owned),
        ..Default::default()
    })
}

/// Creates (migrates) the database and `n` general users `bench00001…` of one company, all with
/// [`PASSWORD`] and no pending password change. Returns the connection.
pub async fn seed_users(config: &Config, n: usize) -> anyhow::Result<DatabaseConnection> {
    let (db, auth) = core_services(config).await?;
    seed_users_into(&db, &auth.hasher, n).await?;
    Ok(db)
}

/// [`seed_users`] into a database that is already made (by another release's binary, whose
/// schema it does not migrate; the company and user tables are the same since 000013).
pub async fn seed_users_into(
    db: &DatabaseConnection,
    hasher: &backend::auth::password::Hasher,
    n: usize,
) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    let (org, _) = accounts::create_organization(
        db,
        hasher,
        "ベンチマーク株式会社",
        1_000_000,
        NewAccount {
            user_id: &UserId::parse("benchmast01").map_err(|e| anyhow::anyhow!("{e}"))?,
            email: "benchmast01@example.co.jp",
            password: Some(Password::parse(Field::Password, PASSWORD).map_err(|e| anyhow::anyhow!("{e}"))?),
        },
        &Actor::Cli,
        now,
    )
    .await?;
    let hash = hasher.hash_blocking(PASSWORD)?;
    let rows: Vec<user::ActiveModel> = (1..=n)
        .map(|i| {
            accounts::new_user_row(
                format!("bench{i:05}"),
                Some(org.id),
                Role::General,
                hash.clone(),
                format!("bench{i:05}@example.co.jp"),
                false,
                now,
            )
        })
        .collect();
    for chunk in rows.chunks(1000) {
        user::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    Ok(())
}

/// A running `cjs serve`.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub data_dir: PathBuf,
    /// From spawn to the first `200` of `/api/health`.
    pub startup: Duration,
}

impl Server {
    pub async fn start(
        cjs: &Path,
        data_dir: &Path,
        database_url: Option<&str>,
        extra: &[&str],
    ) -> anyhow::Result<Self> {
        Self::start_with_env(cjs, data_dir, database_url, extra, &[]).await
    }

    /// [`Server::start`] with `env` added to its environment.
    pub async fn start_with_env(
        cjs: &Path,
        data_dir: &Path,
        database_url: Option<&str>,
        extra: &[&str],
        env: &[(&str, &std::ffi::OsStr)],
    ) -> anyhow::Result<Self> {
        let port = free_port();
        let mut cmd = Command::new(cjs);
        cmd.envs(env.iter().copied());
        cmd.arg("serve").arg("--data-dir").arg(data_dir).args(["--listen", &format!("127.0.0.1:{port}")]);
        if let Some(url) = database_url {
            cmd.args(["--database-url", url]);
        }
        // The benchmarks stand for many clients from one machine: the per-address throttle of
        // password attempts is off unless a benchmark sets it.
        if !extra.contains(&"--password-attempts-per-minute") {
            cmd.args(["--password-attempts-per-minute", "0"]);
        }
        // Likewise the per-address connection cap (the memory section holds 1,000 connections).
        if !extra.contains(&"--max-connections-per-address") {
            cmd.args(["--max-connections-per-address", "1000000"]);
        }
        let started = Instant::now();
        let child = cmd
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", cjs.display()))?;
        let mut server = Self { child, port, data_dir: data_dir.to_path_buf(), startup: Duration::ZERO };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if server.data_dir.join("server-ca.pem").exists() {
                let client = server.client()?;
                if let Ok(r) = client.get(server.url("/api/health")).send().await
                    && r.status().is_success()
                {
                    break;
                }
            }
            if let Some(status) = server.child.try_wait()? {
                bail!("cjs serve exited: {status}");
            }
            if Instant::now() > deadline {
                bail!("cjs serve did not become healthy");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.startup = started.elapsed();
        Ok(server)
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{}", self.port, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A keep-alive HTTPS client trusting this server's CA.
    pub fn client(&self) -> anyhow::Result<reqwest::Client> {
        let ca = std::fs::read(self.data_dir.join("server-ca.pem"))?;
        Ok(reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&ca)?)
            .timeout(Duration::from_secs(60))
            .build()?)
    }

    /// [`Server::client`] whose connections come from `ip` (another loopback address: a second
    /// client the server tells apart), presenting `identity` (certificate + key, PEM) if given.
    pub fn client_from(&self, ip: &str, identity: Option<&[u8]>) -> anyhow::Result<reqwest::Client> {
        let ca = std::fs::read(self.data_dir.join("server-ca.pem"))?;
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&ca)?)
            .local_address(ip.parse::<std::net::IpAddr>()?)
            .timeout(Duration::from_secs(60));
        if let Some(pem) = identity {
            builder = builder.identity(reqwest::Identity::from_pem(pem)?);
        }
        Ok(builder.build()?)
    }

    /// Stops the server now (what dropping it does).
    pub fn stop(self) {}
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child process stopped on drop (the peers: cfssl, nginx): SIGTERM first, so a master
/// process (nginx) takes its workers down with it, then SIGKILL after 3 s.
pub struct Peer(pub Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until something accepts TCP connections on `port`.
pub async fn wait_port(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        if Instant::now() > deadline {
            bail!("nothing listens on {port}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Runs a command, failing with its output.
/// The certificate and key of the .p12 `p12` (password [`PASSWORD`]) as PEM, through
/// `openssl pkcs12` (files `<name>.p12` and `<name>.pem` in `dir`), as a client presents them.
pub fn identity_pem(p12: &[u8], dir: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let (p12_path, pem_path) = (dir.join(format!("{name}.p12")), dir.join(format!("{name}.pem")));
    std::fs::write(&p12_path, p12)?;
    run(Command::new("openssl")
        .args(["pkcs12", "-noenc", "-passin", &format!("pass:{PASSWORD}"), "-in"])
        .arg(&p12_path)
        .arg("-out")
        .arg(&pem_path))?;
    Ok(std::fs::read(&pem_path)?)
}

pub fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| format!("cannot run {cmd:?}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        bail!("{cmd:?} failed:\n{text}");
    }
    Ok(text)
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}
