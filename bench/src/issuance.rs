//! Issuance: the full API path (authenticate → issue → .p12 bytes) against the bound of its own
//! parts and against CFSSL's `newcert`.

use std::{
    path::Path,
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use backend::{
    auth::password::Hasher,
    pki::{
        CertificateAuthority,
        issue::{KeyType, issue_client_certificate},
        p12::{DEFAULT_P12_ITERATIONS, P12Encryption, P12Settings, build_p12},
    },
};
use serde_json::json;
use time::OffsetDateTime;

use crate::util::{self, PASSWORD, Peer, Server, ms, percentile};

/// Latencies (ms) and wall time of `total` requests spread over `clients` concurrent clients.
#[derive(Debug, Clone)]
pub struct Run {
    pub latencies: Vec<f64>,
    pub wall: Duration,
}

impl Run {
    pub fn p50(&self) -> f64 {
        percentile(&self.latencies, 50.0)
    }
    pub fn p95(&self) -> f64 {
        percentile(&self.latencies, 95.0)
    }
    pub fn per_sec(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64()
    }
}

/// Runs `op(i)` for i in 0..total with `clients` concurrent workers.
pub async fn load<F, Fut>(clients: usize, total: usize, op: F) -> anyhow::Result<Run>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (op, next) = (op.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                op(i).await?;
                lat.push(ms(t.elapsed()));
            }
            anyhow::Ok(lat)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    Ok(Run { latencies, wall: started.elapsed() })
}

/// One issuance through the API for `user`; returns the .p12 bytes.
/// `POST /api/issuance/authenticate` for `user` with [`PASSWORD`]: the issuance token.
pub async fn authenticate(client: &reqwest::Client, server_url: &str, user: &str) -> anyhow::Result<String> {
    let r = client
        .post(format!("{server_url}/api/issuance/authenticate"))
        .json(&json!({"user_id": user, "password": PASSWORD}))
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("authenticate {user}: {} {}", r.status(), r.text().await.unwrap_or_default());
    }
    Ok(r.json::<serde_json::Value>().await?["token"].as_str().context("no token")?.to_owned())
}

pub async fn issue_via_api(client: &reqwest::Client, server_url: &str, user: &str) -> anyhow::Result<Vec<u8>> {
    let token = authenticate(client, server_url, user).await?;
    let r = client
        .post(format!("{server_url}/api/issuance/issue"))
        .json(&json!({"token": token, "password": PASSWORD}))
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("issue {user}: {} {}", r.status(), r.text().await.unwrap_or_default());
    }
    let bytes = r.bytes().await?.to_vec();
    if bytes.len() < 500 {
        bail!("issue {user}: a {} byte .p12?", bytes.len());
    }
    Ok(bytes)
}

/// The sequential cost (ms) of the parts one issuance must do: two argon2id verifications (the
/// authentication and the confirmation), key generation + signing, and the .p12 with its KDF.
pub fn bound_ms(data_dir: &Path, key_type: KeyType, reps: usize) -> anyhow::Result<Vec<f64>> {
    let ca = CertificateAuthority::load_or_create(data_dir, None, OffsetDateTime::now_utc())?;
    let hasher = Hasher::new(19_456)?;
    let hash = hasher.hash_blocking(PASSWORD)?;
    let settings =
        P12Settings { encryption: P12Encryption::Aes256, iterations: DEFAULT_P12_ITERATIONS, ..P12Settings::default() };
    let mut out = Vec::new();
    for i in 0..reps {
        let t = Instant::now();
        anyhow::ensure!(hasher.verify_blocking(&hash, PASSWORD) && hasher.verify_blocking(&hash, PASSWORD));
        let issued = issue_client_certificate(
            &ca,
            key_type,
            &format!("bound{i:05}"),
            "ベンチマーク株式会社",
            OffsetDateTime::now_utc(),
        )?;
        let p12 = build_p12(&issued.key_pkcs8, &issued.cert_der, ca.cert_der(), "bound", PASSWORD, settings)?;
        anyhow::ensure!(!p12.is_empty());
        out.push(ms(t.elapsed()));
    }
    Ok(out)
}

/// `cfssl serve` with an ECDSA P-384 CA like ours, on a free port.
pub async fn start_cfssl(cfssl: &Path, dir: &Path) -> anyhow::Result<(Peer, u16)> {
    util::run(
        Command::new("openssl")
            .args(["ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out"])
            .arg(dir.join("cfssl-ca-key.pem")),
    )?;
    util::run(
        Command::new("openssl")
            .args(["req", "-x509", "-new", "-days", "3650", "-subj", "/CN=cfssl bench CA", "-key"])
            .arg(dir.join("cfssl-ca-key.pem"))
            .arg("-out")
            .arg(dir.join("cfssl-ca.pem")),
    )?;
    std::fs::write(
        dir.join("cfssl.json"),
        r#"{"signing":{"default":{"expiry":"8760h","usages":["digital signature","key encipherment","client auth"]}}}"#,
    )?;
    let port = util::free_port();
    let child = Command::new(cfssl)
        .args(["serve", "-address", "127.0.0.1", "-port", &port.to_string()])
        .arg(format!("-ca={}", dir.join("cfssl-ca.pem").display()))
        .arg(format!("-ca-key={}", dir.join("cfssl-ca-key.pem").display()))
        .arg(format!("-config={}", dir.join("cfssl.json").display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", cfssl.display()))?;
    let peer = Peer(child);
    util::wait_port(port).await?;
    Ok((peer, port))
}

/// One `newcert` (key generation + CSR + signing) at CFSSL.
pub async fn cfssl_newcert(client: &reqwest::Client, port: u16, key_type: KeyType, i: usize) -> anyhow::Result<()> {
    let key = match key_type {
        KeyType::Rsa2048 => json!({"algo": "rsa", "size": 2048}),
        KeyType::P256 => json!({"algo": "ecdsa", "size": 256}),
    };
    let r = client
        .post(format!("http://127.0.0.1:{port}/api/v1/cfssl/newcert"))
        .json(&json!({"request": {"CN": format!("bench{i:05}"), "names": [{"O": "ベンチマーク株式会社"}], "key": key}}))
        .send()
        .await?;
    let status = r.status();
    let body: serde_json::Value = r.json().await?;
    if !status.is_success() || body["success"] != true {
        bail!("cfssl newcert: {status} {body}");
    }
    Ok(())
}

/// The issuance section for one key type: prints its rows.
pub async fn section(cjs: &Path, cfssl: Option<&Path>, key_type: KeyType, out: &mut Vec<String>) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let config = util::config(&data, None)?;
    let plan = [(1_usize, 8_usize), (2, 16), (8, 24)];
    let users: usize = plan.iter().map(|(_, n)| n).sum();
    drop(util::seed_users(&config, users + 1).await?);
    let kt = key_type.as_str();
    let server = Server::start(cjs, &data, None, &["--cert-key-type", kt]).await?;
    let client = server.client()?;
    let base = server.url("");
    // Warm-up (first connection, caches): not counted.
    issue_via_api(&client, &base, &format!("bench{:05}", users + 1)).await?;

    let bound = bound_ms(&data, key_type, 6)?;
    let bound_p50 = percentile(&bound, 50.0);
    let cfssl_peer = match cfssl {
        Some(bin) => Some(start_cfssl(bin, dir.path()).await?),
        None => None,
    };
    let plain = reqwest::Client::new();
    let mut first_user = 1;
    for (clients, total) in plan {
        let (c, b) = (client.clone(), base.clone());
        let offset = first_user;
        let ours = load(clients, total, move |i| {
            let (c, b) = (c.clone(), b.clone());
            async move { issue_via_api(&c, &b, &format!("bench{:05}", offset + i)).await.map(|_| ()) }
        })
        .await?;
        first_user += total;
        let bound_tput = clients.min(util::cores()) as f64 / (bound_p50 / 1000.0);
        let cf = match &cfssl_peer {
            Some((_, port)) => {
                let (p, port) = (plain.clone(), *port);
                Some(
                    load(clients, total, move |i| {
                        let p = p.clone();
                        async move { cfssl_newcert(&p, port, key_type, i).await }
                    })
                    .await?,
                )
            }
            None => None,
        };
        out.push(format!(
            "| {kt} | {clients} | {total} | {:.0} / {:.0} | {:.2}/s | {:.0} | {:.2}/s ({:.2}×) | {} | {} |",
            ours.p50(),
            ours.p95(),
            ours.per_sec(),
            bound_p50,
            bound_tput,
            ours.per_sec() / bound_tput,
            cf.as_ref().map_or("–".into(), |r| format!("{:.0} / {:.0}", r.p50(), r.p95())),
            cf.as_ref().map_or("–".into(), |r| format!(
                "{:.2}/s ({:.2}×)",
                r.per_sec(),
                ours.per_sec() / r.per_sec()
            )),
        ));
    }
    server.stop();
    Ok(())
}
