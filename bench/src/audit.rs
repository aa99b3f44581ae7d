//! The audit log's chain (issue 30): what chaining costs — the first sealing of a log written
//! before the chain existed, and the sealer's pass in service (its time is the longest a
//! PostgreSQL insert into the log can wait behind the sealer's lock; nothing else on a request's
//! path changed) — and how fast `cjs admin audit verify` reads a log, with its peak memory.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::Context;
use sea_orm::ConnectionTrait;
use time::OffsetDateTime;

use crate::{
    lists::{self, Sizes},
    util::{self, ms, percentile},
};

/// Entries each steady-state pass finds (about a second of a busy service's audit writes).
const PASS: usize = 100;
const PASSES: usize = 40;

pub async fn section(
    cjs: &Path,
    label: &str,
    database_url: Option<&str>,
    entries: usize,
    out: &mut Vec<String>,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let config = util::config(&data, database_url)?;
    let (db, _) = backend::startup::core_services(&config).await?;
    let backend = db.get_database_backend();
    let start = OffsetDateTime::now_utc().unix_timestamp() - 730 * 86_400;
    let sizes = |n: usize| Sizes { audit: n, ..Sizes::of(20_000) };
    // The baseline: writing the entries themselves (one INSERT … SELECT, the log's indexes kept).
    let t = Instant::now();
    db.execute_unprepared(&lists::audit_insert(backend, sizes(entries), 1, start)).await?;
    let written = t.elapsed();

    // A log from before the chain: chained once, from the oldest.
    let t = Instant::now();
    let sealed = backend::audit::chain::seal(&db, OffsetDateTime::now_utc()).await?;
    let first = t.elapsed();
    anyhow::ensure!(sealed as usize == entries, "sealed {sealed} of {entries}");

    // In service: each pass finds the entries written since the last.
    let mut passes = Vec::new();
    for _ in 0..PASSES {
        db.execute_unprepared(&lists::audit_insert(backend, sizes(PASS), 1, start)).await?;
        let t = Instant::now();
        let n = backend::audit::chain::seal(&db, OffsetDateTime::now_utc()).await?;
        passes.push(ms(t.elapsed()));
        anyhow::ensure!(n as usize == PASS, "a pass sealed {n}");
    }
    let max = passes.iter().copied().fold(0.0, f64::max);
    let per_entry_us = percentile(&passes, 50.0) * 1000.0 / PASS as f64;

    // `cjs admin audit verify`, as the operator runs it, after a checkpoint.
    let admin = |args: &[&str]| {
        let mut cmd = Command::new(cjs);
        cmd.arg("--data-dir").arg(&data);
        if let Some(url) = database_url {
            cmd.args(["--database-url", url]);
        }
        cmd.args(["admin", "audit"]).args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd
    };
    util::run(&mut admin(&["checkpoint"]))?;
    let t = Instant::now();
    let child = admin(&["verify"]).spawn().context("cjs admin audit verify")?;
    let pid = child.id();
    let mut peak_kib = 0u64;
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output());
    while !waiting.is_finished() {
        peak_kib = peak_kib.max(vm_hwm_kib(pid));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let output = waiting.await??;
    let took = t.elapsed();
    let text = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(output.status.success(), "verify failed: {text}{}", String::from_utf8_lossy(&output.stderr));
    let total = entries + PASS * PASSES;
    anyhow::ensure!(text.contains(&format!("項目 {total} 件")), "verify counted otherwise: {text}");
    out.push(format!(
        "| {label} | {total} | {:.1} s | {:.1} s ({:.0}/s; {:.1}× the writing) | {:.1} / {:.1} ms | {per_entry_us:.0} µs | {:.1} s ({:.0}/s, process start included) | {:.0} MiB |",
        written.as_secs_f64(),
        first.as_secs_f64(),
        entries as f64 / first.as_secs_f64(),
        first.as_secs_f64() / written.as_secs_f64(),
        percentile(&passes, 50.0),
        max,
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
        peak_kib as f64 / 1024.0,
    ));
    Ok(())
}

/// The peak resident set of process `pid` (VmHWM), 0 once it is gone.
fn vm_hwm_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}
