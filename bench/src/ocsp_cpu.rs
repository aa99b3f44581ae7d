//! OCSP as CPU per answer (issue 32): the server process's own CPU time (`/proc/<pid>/stat`,
//! utime + stime, every thread) before and after a run of requests, divided by the answers, for
//! cjs and for OpenSSL's responder (`openssl ocsp -index`) on the same CA and the same requests,
//! one client sending them one after another. CPU time does not depend on what the load
//! generator takes from the two cores, which throughput does.

use std::{path::Path, time::Duration, time::Instant};

use anyhow::Context;
use sea_orm::{ConnectionTrait, Database, Statement};

use crate::{
    revocation::{openssl_responder, requests, seeded, serial, wait_preproduced},
    util::{self, Server, percentile},
};

/// Requests in each case (at 100 clock ticks a second, a case of 3,000 answers at 100 µs is
/// 30 ticks: the tick's granularity is inside 4 %).
pub const PER_CASE: usize = 3000;

/// Requests for `serials` made from one OpenSSL request by putting each serial in place of the
/// first one (every seeded serial is 16 octets), and with a nonce, a nonce of its own in each.
fn templated(ca_pem: &Path, serials: &[String], nonce: bool, dir: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let template = requests(ca_pem, &serials[..1], nonce, dir)?.remove(0);
    let first = hex(&serials[0])?;
    let at = template.windows(first.len()).position(|w| w == first).context("the serial in the request")?;
    serials
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut der = template.clone();
            der[at..at + first.len()].copy_from_slice(&hex(s)?);
            if nonce {
                // OpenSSL's nonce is the request's last 16 octets.
                let n = der.len();
                der[n - 16..].copy_from_slice(&((i as u128) << 8 | 0x5a).to_be_bytes());
            }
            Ok(der)
        })
        .collect()
}

fn hex(s: &str) -> anyhow::Result<Vec<u8>> {
    (0..s.len()).step_by(2).map(|i| Ok(u8::from_str_radix(&s[i..i + 2], 16)?)).collect()
}

/// A case: its name, its requests (empty: a GET of the CA certificate), whether one connection
/// is kept, and what an answer must be.
type Case = (&'static str, Vec<Vec<u8>>, bool, fn(&[u8]) -> bool);

/// One run: `reqs` sent one after another by one client (a connection each, or one kept), with
/// the CPU the process `pid` used meanwhile: (µs of CPU per answer, p50 ms, answers that were
/// not what `ok` says).
async fn run_case(
    url: &str,
    pid: u32,
    reqs: &[Vec<u8>],
    keep_alive: bool,
    ok: fn(&[u8]) -> bool,
) -> anyhow::Result<(f64, f64, usize)> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(usize::from(keep_alive))
        .build()?;
    let before = util::cpu_seconds(pid)?;
    let (mut lat, mut bad) = (Vec::with_capacity(reqs.len()), 0);
    for der in reqs {
        let t = Instant::now();
        let sent = if der.is_empty() {
            client.get(url).send().await
        } else {
            client.post(url).header("Content-Type", "application/ocsp-request").body(der.clone()).send().await
        };
        match sent {
            Ok(r) => match r.bytes().await {
                Ok(b) if ok(&b) => lat.push(util::ms(t.elapsed())),
                _ => bad += 1,
            },
            Err(_) => bad += 1,
        }
    }
    let cpu = util::cpu_seconds(pid)? - before;
    Ok((cpu * 1e6 / reqs.len() as f64, percentile(&lat, 50.0), bad))
}

fn signed(b: &[u8]) -> bool {
    b.len() >= 100
}

fn unauthorized_or_unknown(b: &[u8]) -> bool {
    // cjs: the unsigned unauthorized; OpenSSL: a signed `unknown`.
    b == [0x30, 0x03, 0x0a, 0x01, 0x06] || b.len() >= 100
}

fn anything(b: &[u8]) -> bool {
    !b.is_empty()
}

/// MiB the SQLite database at `url` holds, its write-ahead log checkpointed first (the log's
/// file keeps its size and may hold the same pages again).
async fn db_mib(url: &str) -> anyhow::Result<f64> {
    let db = Database::connect(url).await?;
    let backend = db.get_database_backend();
    db.execute_raw(Statement::from_string(backend, "PRAGMA wal_checkpoint(TRUNCATE)")).await?;
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT page_count * page_size AS b FROM pragma_page_count(), pragma_page_size()",
        ))
        .await?
        .context("the page count")?;
    Ok(row.try_get::<i64>("", "b")? as f64 / 1048576.0)
}

/// The note on what pre-producing `n` answers took: `secs`, `cpu` seconds, `mib` of database.
fn preproduction_note(rows: usize, secs: f64, cpu: f64, n: i64, mib: f64) -> String {
    let n = n as f64;
    let per_answer_us = cpu * 1e6 / n;
    let bytes = mib * 1048576.0 / n;
    // Signed anew 15 minutes before the nextUpdate an hour away: every 45 minutes.
    let a_day = 24.0 * 60.0 / 45.0;
    format!(
        "- **Pre-producing {n:.0} answers** (the first pass after start, {rows} certificates on record): {secs:.1} s, \
         {cpu:.1} s of CPU ({per_answer_us:.0} µs an answer: its signature and its write), the database grew by \
         {mib:.0} MiB ({bytes:.0} B an answer). Each answer is signed anew every 45 minutes ({a_day:.0} times a day), so \
         a day at this size costs about {:.0} s of CPU ({:.1} % of one core), {:.0} million rows written ({:.1} GB of \
         answers) and keeps {mib:.0} MiB stored.",
        per_answer_us * 1e-6 * n * a_day,
        per_answer_us * 1e-6 * n * a_day / 864.0,
        n * a_day / 1e6,
        n * a_day * bytes / 1e9,
    )
}

/// The OCSP CPU table at `rows` certificates on record (5 % revoked), SQLite (the embedded
/// default; on PostgreSQL the database's own processes would do part of the work).
pub async fn section(cjs: &Path, rows: usize, out: &mut Vec<String>, notes: &mut Vec<String>) -> anyhow::Result<()> {
    anyhow::ensure!(
        rows >= 7 * PER_CASE + 10,
        "--rows of at least {} (the cases ask about distinct certificates)",
        7 * PER_CASE + 10
    );
    let (dir, data, config) = seeded(rows, None).await?;
    let ca_pem = data.join("ca.pem");

    // The first start makes the CA (nothing pre-produced).
    Server::start(cjs, &data, None, &["--ocsp-preproduce", "false"]).await?.stop();
    // Distinct serials per case, so that no case finds answers an earlier one left in memory.
    let set = |k: usize| -> Vec<String> { (0..PER_CASE).map(|i| serial((i * 7 + k) % rows)).collect() };
    let unknown: Vec<String> = (0..PER_CASE).map(|i| serial(rows + 10 + i)).collect();
    // Not in any set (those are 1, 2 or 3 modulo 7).
    let one = vec![serial(5); PER_CASE];
    let cases: Vec<Case> = vec![
        ("one certificate, asked again and again", templated(&ca_pem, &one, false, dir.path())?, false, signed),
        ("3,000 certificates, each asked once", templated(&ca_pem, &set(1), false, dir.path())?, false, signed),
        ("3,000 certificates, each once, with a nonce", templated(&ca_pem, &set(2), true, dir.path())?, false, signed),
        (
            "3,000 serials never issued",
            templated(&ca_pem, &unknown, false, dir.path())?,
            false,
            unauthorized_or_unknown,
        ),
        (
            "3,000 certificates, each once, one kept connection",
            templated(&ca_pem, &set(3), false, dir.path())?,
            true,
            signed,
        ),
        ("GET /pki/ca.crt (the HTTP path alone)", vec![Vec::new(); PER_CASE], false, anything),
    ];
    let (_openssl, openssl_port) = openssl_responder(&config, &data, dir.path()).await?;
    let openssl_pid = _openssl.0.id();
    let openssl_url = format!("http://127.0.0.1:{openssl_port}/");

    // Each server on the same data: as before issue 32 (no pre-production, nonces honoured:
    // every first answer and every nonce read and signed on the request's path), then this
    // release, whose first pass after start pre-produces every answer (measured here).
    let mut results: Vec<Vec<(f64, f64, usize)>> = Vec::new();
    for preproduce in [false, true] {
        let port = util::free_port();
        let listen = format!("127.0.0.1:{port}");
        let flags: &[&str] = if preproduce {
            &["--ocsp-preproduce", "true"]
        } else {
            &["--ocsp-preproduce", "false", "--ocsp-honour-nonces", "true"]
        };
        let mut args = vec!["--http-listen", listen.as_str()];
        args.extend(flags.iter().copied());
        let size_before = db_mib(&config.database_url).await?;
        let server = Server::start(cjs, &data, None, &args).await?;
        if preproduce {
            let (secs, cpu, n) = wait_preproduced(&server, &config.database_url, rows as i64).await?;
            notes.push(preproduction_note(rows, secs, cpu, n, db_mib(&config.database_url).await? - size_before));
        }
        // Let the start-up's own work (statistics, the first pass's tail) settle.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let mut mine = Vec::new();
        for (name, reqs, keep, ok) in &cases {
            let path = if name.starts_with("GET") { "/pki/ca.crt" } else { "/pki/ocsp" };
            let url = format!("http://127.0.0.1:{port}{path}");
            mine.push(run_case(&url, server.pid(), reqs, *keep, *ok).await?);
        }
        results.push(mine);
    }
    for (i, (name, reqs, keep, ok)) in cases.iter().enumerate() {
        let (o_cpu, o50, o_bad) = if name.starts_with("GET") {
            (f64::NAN, f64::NAN, 0)
        } else {
            run_case(&openssl_url, openssl_pid, reqs, *keep, *ok).await?
        };
        let (b_cpu, b50, b_bad) = results[0][i];
        let (c_cpu, c50, c_bad) = results[1][i];
        out.push(format!(
            "| {rows} | {name} | {c_cpu:.0} | {c50:.2} | {b_cpu:.0} | {b50:.2} | {o_cpu:.0} | {o50:.2} | {} | {} |",
            if o_cpu.is_nan() { "—".to_owned() } else { format!("1/{:.1}", o_cpu / c_cpu) },
            if c_bad + b_bad + o_bad == 0 {
                "all as expected".to_owned()
            } else {
                format!("{c_bad} / {b_bad} / {o_bad} not")
            }
        ));
    }
    Ok(())
}

/// Pre-production and first answers on PostgreSQL (`url`, a fresh database): how long the first
/// pass takes for `rows` certificates, the table's size, and the CPU of an answer counted in cjs
/// and in the database's processes together.
pub async fn postgres_section(cjs: &Path, rows: usize, url: &str, out: &mut Vec<String>) -> anyhow::Result<()> {
    anyhow::ensure!(rows >= 7 * PER_CASE + 10, "--rows of at least {}", 7 * PER_CASE + 10);
    let (dir, data, _config) = seeded(rows, Some(url)).await?;
    let db = Database::connect(url).await?;
    Server::start(cjs, &data, Some(url), &["--ocsp-preproduce", "false"]).await?.stop();
    let ca_pem = data.join("ca.pem");
    let port = util::free_port();
    let listen = format!("127.0.0.1:{port}");
    let (pg_before, started) = (util::postgres_cpu(), Instant::now());
    let server = Server::start(cjs, &data, Some(url), &["--http-listen", &listen]).await?;
    let (secs, cpu, n) = wait_preproduced(&server, url, rows as i64).await?;
    let pg = util::postgres_cpu() - pg_before;
    let size: i64 = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT pg_total_relation_size('ocsp_answers') AS b",
        ))
        .await?
        .context("a size")?
        .try_get("", "b")?;
    out.push(format!(
        "- **PostgreSQL**: pre-producing {n} answers took {secs:.1} s ({:.1} s from the start), {cpu:.1} s of cjs's \
         CPU and {pg:.1} s of the database's ({:.0} µs an answer together); `ocsp_answers` holds {:.0} MiB ({:.0} B an \
         answer, indexes included).",
        started.elapsed().as_secs_f64(),
        (cpu + pg) * 1e6 / n as f64,
        size as f64 / 1048576.0,
        size as f64 / n as f64,
    ));
    // What a million writes leave the database to do (autovacuum, the checkpoint) is done first,
    // so that it is not counted as the answers' work.
    for sql in ["VACUUM (ANALYZE) ocsp_answers", "VACUUM (ANALYZE) certificates", "CHECKPOINT"] {
        db.execute_unprepared(sql).await?;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let url_ocsp = format!("http://127.0.0.1:{port}/pki/ocsp");
    let set: Vec<String> = (0..PER_CASE).map(|i| serial((i * 7 + 1) % rows)).collect();
    let one = vec![serial(5); PER_CASE];
    for (name, serials) in [("3,000 certificates, each asked once", set), ("one certificate, again and again", one)] {
        let reqs = templated(&ca_pem, &serials, false, dir.path())?;
        let pg = util::postgres_cpu();
        let (c, p50, bad) = run_case(&url_ocsp, server.pid(), &reqs, false, signed).await?;
        let pg_us = (util::postgres_cpu() - pg) * 1e6 / reqs.len() as f64;
        out.push(format!(
            "- PostgreSQL, {name}, a connection each: cjs {c:.0} µs of CPU an answer, the database {pg_us:.0} µs, p50 \
             {p50:.2} ms ({bad} not signed answers)."
        ));
    }
    Ok(())
}
