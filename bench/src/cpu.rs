//! Authentication and issuance as CPU per operation (issues 30 and 32): the server process's own
//! CPU time (`/proc/<pid>/stat`, every thread) over a run of requests sent one after another,
//! divided by the requests; beside one raw argon2id verification with the same parameters
//! (measured in this process, on one thread), and beside a baseline binary (`--baseline-cjs`:
//! the release before the audit chain) on a database of its own making, in the same run.

use std::{path::Path, time::Instant};

use anyhow::Context;

use crate::{
    issuance::{authenticate, issue_via_api},
    util::{self, PASSWORD, Server, cpu_seconds},
};

/// Authentications measured per case (each about 16 ms of CPU: 3 s a case).
const AUTHENTICATIONS: usize = 200;
/// Issuances measured (each two verifications, a key, a signature and 600,000 PBKDF2 rounds).
const ISSUANCES: usize = 20;
/// Raw verifications measured in this process.
const RAW: usize = 100;

/// CPU seconds this process has used so far.
fn own_cpu() -> anyhow::Result<f64> {
    cpu_seconds(std::process::id())
}

/// µs of CPU of one raw argon2id verification (m = 19 MiB, t = 2, p = 1), on this thread.
pub fn raw_verify_us() -> anyhow::Result<f64> {
    let hasher = backend::auth::password::Hasher::new(19_456)?;
    let hash = hasher.hash_blocking(PASSWORD)?;
    assert!(hasher.verify_blocking(&hash, PASSWORD));
    let before = own_cpu()?;
    for _ in 0..RAW {
        assert!(hasher.verify_blocking(&hash, PASSWORD));
    }
    Ok((own_cpu()? - before) * 1e6 / RAW as f64)
}

/// What one server costs: µs of CPU per authentication over one kept connection, per
/// authentication with a connection each (TLS handshake included), per issuance (authenticate +
/// issue + .p12), and the p50 ms of the kept-connection authentications.
pub struct Costs {
    pub authenticate_kept: f64,
    pub authenticate_new: f64,
    pub issuance: f64,
    pub authenticate_p50: f64,
}

/// Measures the server `cjs` on the data directory `data` (already holding the bench users).
pub async fn measure(cjs: &Path, data: &Path) -> anyhow::Result<Costs> {
    let server = Server::start(cjs, data, None, &[]).await?;
    let base = server.url("");
    let kept = server.client()?;
    // Warm-up: the first connection, the caches.
    issue_via_api(&kept, &base, "bench00001").await?;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let pid = server.pid();

    let (before, mut lat) = (cpu_seconds(pid)?, Vec::new());
    for i in 0..AUTHENTICATIONS {
        let t = Instant::now();
        authenticate(&kept, &base, &format!("bench{:05}", 2 + i % 50)).await?;
        lat.push(util::ms(t.elapsed()));
    }
    let authenticate_kept = (cpu_seconds(pid)? - before) * 1e6 / AUTHENTICATIONS as f64;

    let before = cpu_seconds(pid)?;
    for i in 0..AUTHENTICATIONS {
        // A client of its own: a new connection and a full TLS handshake each.
        let fresh = server.client()?;
        authenticate(&fresh, &base, &format!("bench{:05}", 2 + i % 50)).await?;
    }
    let authenticate_new = (cpu_seconds(pid)? - before) * 1e6 / AUTHENTICATIONS as f64;

    let before = cpu_seconds(pid)?;
    for i in 0..ISSUANCES {
        issue_via_api(&kept, &base, &format!("bench{:05}", 100 + i)).await.context("an issuance")?;
    }
    let issuance = (cpu_seconds(pid)? - before) * 1e6 / ISSUANCES as f64;
    Ok(Costs { authenticate_kept, authenticate_new, issuance, authenticate_p50: util::percentile(&lat, 50.0) })
}

/// A data directory of `cjs`'s own making (its schema), holding the bench users.
pub async fn data_of(cjs: &Path, dir: &Path, users: usize) -> anyhow::Result<std::path::PathBuf> {
    let data = dir.join("data");
    // Its own start makes the schema, the CA and the keys.
    Server::start(cjs, &data, None, &[]).await?.stop();
    let config = util::config(&data, None)?;
    let db = sea_orm::Database::connect(&config.database_url).await?;
    let hasher = backend::auth::password::Hasher::new(config.argon2_memory_kib)?;
    util::seed_users_into(&db, &hasher, users).await?;
    Ok(data)
}

/// The table: this release, and the baseline release if given.
pub async fn section(cjs: &Path, baseline: Option<&Path>, out: &mut Vec<String>) -> anyhow::Result<()> {
    let raw = raw_verify_us()?;
    let mut servers = vec![("this release", cjs)];
    if let Some(b) = baseline {
        servers.push(("baseline release", b));
    }
    for (name, bin) in servers {
        let dir = tempfile::tempdir()?;
        let data = data_of(bin, dir.path(), 200).await?;
        let c = measure(bin, &data).await?;
        out.push(format!(
            "| {name} | {:.0} ({:.2}× raw) | {:.2} | {:.0} ({:.2}× raw) | {:.0} | {raw:.0} |",
            c.authenticate_kept,
            c.authenticate_kept / raw,
            c.authenticate_p50,
            c.authenticate_new,
            c.authenticate_new / raw,
            c.issuance,
        ));
    }
    Ok(())
}
