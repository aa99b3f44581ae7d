//! `cjs-bench`: every figure of docs/PERFORMANCE.md, each printed beside a baseline measured in
//! the same run on the same machine (shared and noisy: medians and ratios are what count).
//! `scripts/bench` builds the release binaries, installs the peers and runs this.

mod audit;
mod cpu;
mod hsm;
mod issuance;
mod lists;
mod ocsp_cpu;
mod previous;
mod revocation;
mod scale;
mod tls;
mod util;

use std::{
    io::Write,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use backend::pki::issue::KeyType;
use clap::Parser;
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::util::{PASSWORD, Server, ms, percentile};

#[derive(Debug, Parser)]
#[command(name = "cjs-bench")]
struct Args {
    /// The `cjs` binary (a release build).
    #[arg(long)]
    cjs: PathBuf,
    /// Trunk's dist/ (release) for the size figures.
    #[arg(long, default_value = "dist")]
    dist: PathBuf,
    /// Sections to run.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "issuance,hsm,tls,password,flood,memory,frontend,revocation,ocsp,scale,lists,audit"
    )]
    only: Vec<String>,
    #[arg(long, default_value = "cfssl")]
    cfssl: PathBuf,
    #[arg(long, default_value = "/usr/sbin/nginx")]
    nginx: PathBuf,
    /// PostgreSQL server for the scale section (a fresh database is created there).
    #[arg(long, env = "CJS_TEST_DATABASE_URL")]
    postgres: Option<String>,
    /// Certificate rows of the scale and lists sections (lists: companies, users, audit entries
    /// and mails in proportion: 1,000,000 → 10,000 / 50,000 / 5,000,000 / 5,000).
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// A baseline `cjs` for the `cpu` section (an earlier release, built with the same profile).
    #[arg(long)]
    baseline_cjs: Option<PathBuf>,
    /// Seconds per throughput measurement.
    #[arg(long, default_value_t = 5)]
    secs: u64,
}

fn heading(title: &str, columns: &[&str]) {
    println!("\n### {title}\n");
    println!("| {} |", columns.join(" | "));
    println!("|{}", "---|".repeat(columns.len()));
}

fn emit(rows: &[String]) {
    for r in rows {
        println!("{r}");
    }
    std::io::stdout().flush().ok();
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let args = Args::parse();
    let on = |s: &str| args.only.iter().any(|o| o == s);
    println!("## cjs-bench run\n");
    println!("- machine: {} cores, {}", util::cores(), uname());
    println!("- date: {}", time::OffsetDateTime::now_utc().date());

    if on("issuance") {
        heading(
            "Issuance (authenticate → issue → .p12, PBES2-AES-256, 600,000 iterations)",
            &[
                "key",
                "clients",
                "issues",
                "cjs p50 / p95 ms",
                "cjs throughput",
                "own-parts bound ms (sequential)",
                "bound throughput (ratio)",
                "CFSSL newcert p50 / p95 ms",
                "CFSSL throughput (cjs ÷ CFSSL)",
            ],
        );
        for kt in [KeyType::Rsa2048, KeyType::P256] {
            let mut rows = Vec::new();
            issuance::section(&args.cjs, Some(&args.cfssl), kt, &mut rows).await?;
            emit(&rows);
        }
    }

    if on("hsm") {
        heading(
            "Issuance with the CA key in SoftHSM2 beside the file key (authenticate → issue → .p12, P-256 client keys)",
            &["CA key", "clients", "issues", "p50 / p95 ms", "throughput"],
        );
        let mut rows = Vec::new();
        hsm::section(&args.cjs, &mut rows).await?;
        emit(&rows);
    }

    if on("tls") || on("memory") || on("password") {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        let config = util::config(&data, None)?;
        drop(util::seed_users(&config, 20).await?);
        let server = Server::start(&args.cjs, &data, None, &[]).await?;
        let idle_rss = util::rss_mib(server.pid());
        let client = server.client()?;
        let base = server.url("");
        let p12 = issuance::issue_via_api(&client, &base, "bench00001").await?;
        let connector = tls::connector(&p12, &data.join("server-ca.pem"), dir.path())?;
        let nginx_dir = dir.path().join("nginx");
        std::fs::create_dir_all(&nginx_dir)?;
        let (nginx, nginx_port) = tls::start_nginx(&args.nginx, &data, &nginx_dir, util::cores()).await?;

        if on("tls") {
            heading(
                "Mutual TLS: full handshake (no resumption) + one request that checks the client certificate",
                &[
                    "clients",
                    "cjs handshakes/s",
                    "nginx handshakes/s",
                    "cjs ÷ nginx",
                    "cjs handshakes per CPU-second",
                    "nginx handshakes per CPU-second (master + workers)",
                    "cjs ÷ nginx (CPU)",
                ],
            );
            for clients in [8, 32] {
                let cpu = util::cpu_tree_seconds(server.pid());
                let ours = tls::handshakes_per_sec(
                    connector.clone(),
                    server.port,
                    "/api/tls/client-certificate",
                    "\"valid\"",
                    clients,
                    args.secs,
                )
                .await?;
                let ours_cpu = util::cpu_tree_seconds(server.pid()) - cpu;
                let cpu = util::cpu_tree_seconds(nginx.0.id());
                let theirs =
                    tls::handshakes_per_sec(connector.clone(), nginx_port, "/", "SUCCESS", clients, args.secs).await?;
                let theirs_cpu = util::cpu_tree_seconds(nginx.0.id()) - cpu;
                // Each rate is over `secs`: the handshakes done are rate × secs.
                let (ours_per_cpu, theirs_per_cpu) =
                    (ours * args.secs as f64 / ours_cpu, theirs * args.secs as f64 / theirs_cpu);
                emit(&[format!(
                    "| {clients} | {ours:.0} | {theirs:.0} | {:.2}× | {ours_per_cpu:.0} | {theirs_per_cpu:.0} | {:.2}× |",
                    ours / theirs,
                    ours_per_cpu / theirs_per_cpu
                )]);
            }
        }

        if on("memory") {
            heading(
                "Memory (RSS)",
                &["state", "cjs MiB", "nginx MiB (master + workers)", "cjs KiB a connection", "nginx KiB a connection"],
            );
            let nginx_idle = util::rss_tree_mib(nginx.0.id());
            emit(&[format!("| idle after start | {idle_rss:.1} | {nginx_idle:.1} | | |")]);
            // Counted from here, not from the start: the issuance above verified a password, and
            // the server keeps argon2's 19 MiB working memory for the next one (auth::password).
            let (ours_before, theirs_before) = (util::rss_mib(server.pid()), util::rss_tree_mib(nginx.0.id()));
            emit(&[format!(
                "| before the connections (after one issuance: argon2's working memory kept) | {ours_before:.1} | {theirs_before:.1} | | |"
            )]);
            // Then 1,000 connections with no request yet, and 1,000 kept alive after one request
            // each (the HTTP layer holds these; cjs closes them after 5 s idle, nginx after 75 s,
            // both measured well inside that). Both counted from the same point: what the first
            // 1,000 left behind is reused, not added.
            let rounds = [
                ("idle mutual-TLS connections, no request yet", None),
                (
                    "mutual-TLS connections kept alive after one request each",
                    Some(["/api/tls/client-certificate", "/"]),
                ),
            ];
            for (what, paths) in rounds {
                let (took, ours, theirs) =
                    tls::rss_with_idle(&connector, (server.port, server.pid()), (nginx_port, nginx.0.id()), paths)
                        .await?;
                let per = |after: f64, before: f64| (after - before) * 1024.0 / tls::IDLE_CONNECTIONS as f64;
                emit(&[format!(
                    "| 1,000 {what} (opened in {:.1} s) | {ours:.1} | {theirs:.1} | {:.1} | {:.1} |",
                    took.as_secs_f64(),
                    per(ours, ours_before),
                    per(theirs, theirs_before)
                )]);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }

        if on("password") {
            heading("Password work (argon2id m = 19 MiB, t = 2, p = 1)", &["measure", "cjs", "baseline", "ratio"]);
            // Raw hashing on every core, in-process: the ceiling.
            let hasher = backend::auth::password::Hasher::new(19_456)?;
            let hash = hasher.hash_blocking(PASSWORD)?;
            let stop = Arc::new(AtomicBool::new(false));
            let count = Arc::new(AtomicUsize::new(0));
            let started = Instant::now();
            let threads: Vec<_> = (0..util::cores())
                .map(|_| {
                    let (h, hash, stop, count) = (hasher.clone(), hash.clone(), stop.clone(), count.clone());
                    std::thread::spawn(move || {
                        while !stop.load(Ordering::Relaxed) {
                            assert!(h.verify_blocking(&hash, PASSWORD));
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            std::thread::sleep(Duration::from_secs(args.secs));
            stop.store(true, Ordering::Relaxed);
            for t in threads {
                t.join().ok();
            }
            let raw = count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();

            // /api/health latency idle, then while 16 clients authenticate as fast as they can.
            let probe = |secs: u64| {
                let (c, b) = (client.clone(), base.clone());
                async move {
                    let mut lat = Vec::new();
                    let end = Instant::now() + Duration::from_secs(secs);
                    while Instant::now() < end {
                        let t = Instant::now();
                        let r = c.get(format!("{b}/api/health")).send().await?;
                        anyhow::ensure!(r.status().is_success());
                        lat.push(ms(t.elapsed()));
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    anyhow::Ok(lat)
                }
            };
            let idle = probe(3).await?;
            let stop = Arc::new(AtomicBool::new(false));
            let done = Arc::new(AtomicUsize::new(0));
            let mut tasks = Vec::new();
            let started = Instant::now();
            for i in 0..16 {
                let (c, b, stop, done) = (client.clone(), base.clone(), stop.clone(), done.clone());
                let user = format!("bench{:05}", 2 + i % 18);
                tasks.push(tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let r = c
                            .post(format!("{b}/api/issuance/authenticate"))
                            .json(&json!({"user_id": user, "password": PASSWORD}))
                            .send()
                            .await?;
                        anyhow::ensure!(r.status().is_success(), "authenticate: {}", r.status());
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    anyhow::Ok(())
                }));
            }
            let loaded = probe(args.secs).await?;
            stop.store(true, Ordering::Relaxed);
            for t in tasks {
                t.await??;
            }
            let auth = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
            emit(&[
                format!(
                    "| authentications/s (16 clients, HTTPS) vs raw argon2id verifications/s ({} threads) | {auth:.1} | {raw:.1} | {:.2}× |",
                    util::cores(),
                    auth / raw
                ),
                format!(
                    "| /api/health p50 / p99 ms while authentication is saturated vs idle | {:.1} / {:.1} | {:.1} / {:.1} | p99 {:.1}× |",
                    percentile(&loaded, 50.0),
                    percentile(&loaded, 99.0),
                    percentile(&idle, 50.0),
                    percentile(&idle, 99.0),
                    percentile(&loaded, 99.0) / percentile(&idle, 99.0)
                ),
            ]);
        }
        server.stop();
        drop(nginx);
    }

    if on("flood") {
        heading(
            "Authentication flood (64 clients, unknown IDs) vs a login (client certificate + password) from a second address",
            &[
                "password queue",
                "login p50 / p95 ms (ok)",
                "idle login p50 / p95 ms",
                "flood answers: 401 / 503",
                "503 p50 ms",
            ],
        );
        for (label, limit) in [("bounded (default 32)", None), ("unbounded (before)", Some("1000000"))] {
            let dir = tempfile::tempdir()?;
            let data = dir.path().join("data");
            let config = util::config(&data, None)?;
            drop(util::seed_users(&config, 4).await?);
            let extra: Vec<&str> = limit.map(|l| vec!["--password-queue-limit", l]).unwrap_or_default();
            let server = Server::start(&args.cjs, &data, None, &extra).await?;
            let (base, flood_client) = (server.url(""), server.client()?);
            // The second client's own certificate, as a browser would hold it.
            let p12 = issuance::issue_via_api(&flood_client, &base, "bench00002").await?;
            let second = server.client_from("127.0.0.2", Some(&util::identity_pem(&p12, dir.path(), "b")?))?;
            let legit = |secs: u64| {
                let (c, b) = (second.clone(), base.clone());
                async move {
                    let (mut lat, mut ok) = (Vec::new(), 0usize);
                    let end = Instant::now() + Duration::from_secs(secs);
                    while Instant::now() < end {
                        let t = Instant::now();
                        let r = c
                            .post(format!("{b}/api/login"))
                            .json(&json!({"user_id": "bench00002", "password": PASSWORD}))
                            .send()
                            .await?;
                        lat.push(ms(t.elapsed()));
                        ok += usize::from(r.status().is_success());
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    anyhow::Ok((lat, ok))
                }
            };
            let (idle, _) = legit(3).await?;
            let stop = Arc::new(AtomicBool::new(false));
            let mut tasks = Vec::new();
            for i in 0..64 {
                let (c, b, stop) = (flood_client.clone(), base.clone(), stop.clone());
                tasks.push(tokio::spawn(async move {
                    let (mut refused, mut busy) = (0usize, Vec::new());
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let t = Instant::now();
                        let r = c
                            .post(format!("{b}/api/issuance/authenticate"))
                            .json(&json!({"user_id": format!("flood{i:02}x{n}"), "password": "Wrong1234"}))
                            .send()
                            .await?;
                        match r.status().as_u16() {
                            503 => busy.push(ms(t.elapsed())),
                            _ => refused += 1,
                        }
                    }
                    anyhow::Ok((refused, busy))
                }));
            }
            let (loaded, ok) = legit(args.secs).await?;
            stop.store(true, Ordering::Relaxed);
            let (mut refused, mut busy) = (0, Vec::new());
            for t in tasks {
                let (r, b) = t.await??;
                refused += r;
                busy.extend(b);
            }
            emit(&[format!(
                "| {label} | {:.0} / {:.0} ({ok}/{}) | {:.0} / {:.0} | {refused} / {} | {:.1} |",
                percentile(&loaded, 50.0),
                percentile(&loaded, 95.0),
                loaded.len(),
                percentile(&idle, 50.0),
                percentile(&idle, 95.0),
                busy.len(),
                if busy.is_empty() { 0.0 } else { percentile(&busy, 50.0) },
            )]);
            server.stop();
        }
    }

    if on("frontend") {
        heading(
            "Frontend (release build)",
            &["file", "raw bytes", "gzip -9 bytes", "sent to a browser (the build's .br) bytes"],
        );
        let (mut total, mut rows) = ((0, 0, 0), Vec::new());
        for e in
            std::fs::read_dir(&args.dist).with_context(|| format!("no {}: build the SPA first", args.dist.display()))?
        {
            let path = e?.path();
            let ext = path.extension().and_then(|x| x.to_str()).unwrap_or_default();
            if !matches!(ext, "wasm" | "js" | "css" | "html") {
                continue;
            }
            let raw = std::fs::read(&path)?;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(&raw)?;
            let gz = gz.finish()?;
            let mut br = path.clone().into_os_string();
            br.push(".br");
            let sent = std::fs::metadata(&br).map_or(raw.len(), |m| m.len() as usize);
            total = (total.0 + raw.len(), total.1 + gz.len(), total.2 + sent);
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            rows.push(format!("| {name} | {} | {} | {sent} |", raw.len(), gz.len()));
        }
        rows.sort();
        rows.push(format!("| **total** | {} | {} (target ≤ 307,200) | {} |", total.0, total.1, total.2));
        emit(&rows);
    }

    if on("revocation") {
        heading(
            "Revocation (one revocation, and the CRL, by revoked certificates on record; 80 % of them long expired)",
            &[
                "revoked on record",
                "CRL entries",
                "revoke p50 ms, in process (÷ empty)",
                "`cjs admin revoke` p50 ms (÷ empty)",
                "former design: revoke + sign in the transaction p50 ms",
                "CRL signing ms (next fetch, off the revocation)",
                "CRL bytes",
            ],
        );
        let mut rows = Vec::new();
        revocation::crl_section(&args.cjs, &mut rows).await?;
        emit(&rows);
    }

    if on("ocsp") {
        heading(
            "OCSP (POST; 200 serials, a tenth revoked) beside `openssl ocsp -index`",
            &[
                "certificates on record",
                "clients",
                "requests",
                "cjs answers/s",
                "cjs p50 / p99 ms",
                "OpenSSL answers/s",
                "OpenSSL p50 / p99 ms",
                "cjs ÷ OpenSSL",
                "answers",
            ],
        );
        let mut rows = Vec::new();
        revocation::ocsp_section(&args.cjs, args.rows, args.secs, &mut rows).await?;
        emit(&rows);
    }

    if on("cpu") {
        heading(
            "Authentication and issuance as the server's CPU per operation (one client, requests one after another; \
             utime + stime from /proc), beside one raw argon2id verification (m = 19 MiB, t = 2, p = 1, in the bench \
             process)",
            &[
                "server",
                "µs CPU per authenticate, kept connection",
                "p50 ms",
                "µs CPU per authenticate, a connection each",
                "µs CPU per issuance (authenticate + issue + .p12)",
                "raw argon2id verify µs CPU",
            ],
        );
        let mut rows = Vec::new();
        cpu::section(&args.cjs, args.baseline_cjs.as_deref(), &mut rows).await?;
        emit(&rows);
    }

    if on("ocsp-cpu") {
        heading(
            "OCSP as CPU per answer (one client, requests one after another; the server process's utime + stime \
             from /proc; SQLite) beside `openssl ocsp -index`",
            &[
                "certificates on record",
                "requests (3,000 each)",
                "cjs µs CPU an answer",
                "cjs p50 ms",
                "cjs before issue 32 µs CPU an answer",
                "before p50 ms",
                "OpenSSL µs CPU an answer",
                "OpenSSL p50 ms",
                "cjs ÷ OpenSSL (CPU)",
                "answers",
            ],
        );
        let (mut rows, mut notes) = (Vec::new(), Vec::new());
        ocsp_cpu::section(&args.cjs, args.rows, &mut rows, &mut notes).await?;
        emit(&rows);
        emit(&notes);
    }
    if (on("ocsp-cpu") || on("ocsp-cpu-postgres"))
        && let Some(admin) = &args.postgres
    {
        println!("\n### OCSP pre-production and CPU per answer on PostgreSQL\n");
        let (conn, name, url) = fresh_postgres(admin, "ocsp").await?;
        let mut lines = Vec::new();
        ocsp_cpu::postgres_section(&args.cjs, args.rows, &url, &mut lines).await?;
        emit(&lines);
        conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
    }

    if on("scale") {
        heading(
            &format!("Scale ({} certificate rows)", args.rows),
            &["database", "measure", "cjs", "baseline", "note"],
        );
        let mut rows = Vec::new();
        scale::section(&args.cjs, "SQLite", None, args.rows, &mut rows).await?;
        emit(&rows);
        if let Some(admin) = &args.postgres {
            let (conn, name, url) = fresh_postgres(admin, "scale").await?;
            let mut rows = Vec::new();
            scale::section(&args.cjs, "PostgreSQL", Some(&url), args.rows, &mut rows).await?;
            emit(&rows);
            conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
        }
    }

    if on("audit") {
        heading(
            "The audit log's chain (issue 30): the first sealing of an existing log, the sealer's pass in service, `cjs admin audit verify`",
            &[
                "database",
                "entries",
                "writing them (baseline)",
                "first sealing (entries/s)",
                "pass of 100 entries p50 / max",
                "sealer per entry",
                "verify (entries/s)",
                "verify peak RSS",
            ],
        );
        let mut rows = Vec::new();
        audit::section(&args.cjs, "SQLite", None, args.rows, &mut rows).await?;
        emit(&rows);
        if let Some(admin) = &args.postgres {
            let (conn, name, url) = fresh_postgres(admin, "audit").await?;
            let mut rows = Vec::new();
            audit::section(&args.cjs, "PostgreSQL", Some(&url), args.rows, &mut rows).await?;
            emit(&rows);
            conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
        }
    }

    if on("lists") {
        let sizes = lists::Sizes::of(args.rows);
        lists::section(&args.cjs, "SQLite", None, sizes).await?;
        if let Some(admin) = &args.postgres {
            let (conn, name, url) = fresh_postgres(admin, "lists").await?;
            lists::section(&args.cjs, "PostgreSQL", Some(&url), sizes).await?;
            if std::env::var_os("CJS_BENCH_KEEP").is_none() {
                conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
            } else {
                eprintln!("lists/PostgreSQL: database {name} kept");
            }
        }
    }
    Ok(())
}

/// A new database `cjs_bench_{section}_{pid}` on the PostgreSQL server of `admin` (an admin URL):
/// the admin connection, the database's name and its URL.
async fn fresh_postgres(admin: &str, section: &str) -> anyhow::Result<(sea_orm::DatabaseConnection, String, String)> {
    let name = format!("cjs_bench_{section}_{}", std::process::id());
    let conn = sea_orm::Database::connect(admin).await?;
    conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}")).await?;
    conn.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
    let (base, _) = admin.rsplit_once('/').context("database URL has a path")?;
    let url = format!("{base}/{name}");
    Ok((conn, name, url))
}

fn uname() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default()
}
