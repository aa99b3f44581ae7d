//! Time to the first rendered login screen in headless Chromium, from the Performance API: on
//! localhost, and on a slow office line (1.6 Mbit/s, 150 ms round trip, Chromium's own network
//! emulation through the DevTools protocol). They check that the app sets its `cjs-mounted`
//! mark, that every file the login screen loads is one the size check of CI counts and came as
//! the brotli variant the build wrote, and print the timings; they assert no timing (those live
//! in benchmarks): `scripts/bench` runs them with `--nocapture` for docs/PERFORMANCE.md.

use common::testids;
use e2e::Fixture;
use serde_json::{Value, json};

/// The timings of the page just loaded: HTML received, login screen mounted, first contentful paint.
async fn timings(f: &Fixture) -> anyhow::Result<(f64, f64, f64)> {
    let v = f
        .client
        .execute(
            "const nav = performance.getEntriesByType('navigation')[0];\
             const mounted = performance.getEntriesByName('cjs-mounted')[0];\
             const fcp = performance.getEntriesByName('first-contentful-paint')[0];\
             return [nav.responseEnd, mounted ? mounted.startTime : null, fcp ? fcp.startTime : null];",
            vec![],
        )
        .await?;
    let n = |i: usize| v[i].as_f64().unwrap_or(f64::NAN);
    anyhow::ensure!(n(1).is_finite(), "the app did not set its cjs-mounted mark: {v:?}");
    Ok((n(0), n(1), n(2)))
}

/// The files of the SPA the page loaded (not the API, nor what the browser asks for by itself
/// and gets 404 for, the favicon): path, bytes on the wire (body), bytes decoded.
async fn loaded_files(f: &Fixture) -> anyhow::Result<Vec<(String, u64, u64)>> {
    let v = f
        .client
        .execute(
            "return performance.getEntriesByType('resource')\
               .map(e => [new URL(e.name).pathname, e.encodedBodySize, e.decodedBodySize, e.responseStatus]);",
            vec![],
        )
        .await?;
    let mut files = Vec::new();
    for e in v.as_array().into_iter().flatten() {
        let path = e[0].as_str().unwrap_or_default().to_owned();
        if !path.starts_with("/api/") && e[3].as_u64() != Some(404) {
            files.push((path, e[1].as_u64().unwrap_or(0), e[2].as_u64().unwrap_or(0)));
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// A fresh navigation to the login screen, until it is shown.
async fn load_login_screen(f: &Fixture) -> anyhow::Result<()> {
    f.client.goto("about:blank").await?;
    f.goto("/").await?;
    f.find(testids::LOGIN_TITLE).await?;
    Ok(())
}

fn print_timings(rows: &[(usize, (f64, f64, f64))]) {
    println!(
        "| load | HTML received (responseEnd) ms | login screen mounted (cjs-mounted) ms | first contentful paint ms |"
    );
    println!("|---|---|---|---|");
    for (round, (html, mounted, fcp)) in rows {
        let kind = if *round == 0 { "cold (empty cache)" } else { "warm" };
        println!("| {kind} #{round} | {html:.0} | {mounted:.0} | {fcp:.0} |");
    }
    let mut warm: Vec<f64> = rows.iter().skip(1).map(|r| r.1.1).collect();
    warm.sort_by(f64::total_cmp);
    println!("\nmedian warm time to the mounted login screen: {:.0} ms", warm[warm.len() / 2]);
}

#[tokio::test]
async fn first_render_of_the_login_screen() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    let mut rows = Vec::new();
    for round in 0..6 {
        load_login_screen(&f).await?;
        if round == 0 {
            // What the cold load fetched: files of dist/ that CI's size check counts (.js, .css,
            // .wasm beside index.html), each as the .br the build wrote (Chromium accepts br
            // over HTTPS), never compressed per request.
            let files = loaded_files(&f).await?;
            anyhow::ensure!(files.iter().any(|(p, ..)| p.ends_with(".wasm")), "no wasm among {files:?}");
            println!("| file the login screen loads | bytes on the wire | bytes decoded |\n|---|---|---|");
            for (path, wire, decoded) in &files {
                println!("| {path} | {wire} | {decoded} |");
                let name = path.trim_start_matches('/');
                anyhow::ensure!(
                    !name.contains('/') && [".js", ".css", ".wasm"].iter().any(|e| name.ends_with(e)),
                    "{path}: the size check counts only the .js, .css and .wasm files of dist/"
                );
                let original = std::fs::metadata(f.dist.join(name))?.len();
                anyhow::ensure!(*decoded == original, "{path}: decoded {decoded} bytes, the file has {original}");
                // Anything worth compressing has its .br (scripts/precompress keeps only smaller ones).
                match std::fs::metadata(f.dist.join(format!("{name}.br"))) {
                    Ok(br) => anyhow::ensure!(*wire == br.len(), "{path}: {wire} bytes came, its .br has {}", br.len()),
                    Err(_) => {
                        anyhow::ensure!(original < 1024, "{path}: no .br beside it: the build did not precompress")
                    }
                }
            }
        }
        rows.push((round, timings(&f).await?));
    }
    print_timings(&rows);
    f.close().await
}

/// 1.6 Mbit/s down and up, 150 ms added to every round trip.
const OFFICE_LINE: (f64, f64) = (1_600_000.0 / 8.0, 150.0);

#[tokio::test]
async fn first_render_on_a_slow_office_line() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    f.cdp("Network.enable", json!({})).await?;
    let (bytes_per_second, latency) = OFFICE_LINE;
    f.cdp(
        "Network.emulateNetworkConditions",
        json!({"offline": false, "latency": latency, "downloadThroughput": bytes_per_second,
               "uploadThroughput": bytes_per_second}),
    )
    .await?;
    let mut rows = Vec::new();
    for round in 0..4 {
        load_login_screen(&f).await?;
        if round == 0 {
            let files = loaded_files(&f).await?;
            let wire: u64 = files.iter().map(|(_, wire, _)| wire).sum();
            println!("cold load over the emulated line: {} files, {wire} bytes of bodies", files.len());
        }
        rows.push((round, timings(&f).await?));
    }
    println!("1.6 Mbit/s, 150 ms round trip (Network.emulateNetworkConditions):");
    print_timings(&rows);
    let _: Value = f.cdp("Network.disable", json!({})).await?;
    f.close().await
}

/// Writes a bank's size into the (running) server's SQLite database, as the staff lists meet it
/// after a year: `companies` companies with five general users each, and `certificates`
/// certificates spread over those users (the oldest expired, the newest active). Python's sqlite3
/// module, one transaction: a few seconds.
fn seed(f: &Fixture, companies: usize, certificates: usize) -> anyhow::Result<()> {
    let script = r#"
import sqlite3, sys, datetime
db, companies, certificates = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = sqlite3.connect(db, timeout=30)
now = datetime.datetime.now(datetime.timezone.utc)
t = lambda d: (now + datetime.timedelta(days=d)).strftime('%Y-%m-%dT%H:%M:%SZ')
created = t(-400)
c.executemany("INSERT INTO organizations (name, name_search, certificate_limit, created_at) VALUES (?, ?, 20, ?)",
    ((f"規模試験{i:05}株式会社", f"規模試験{i:05}株式会社", created) for i in range(companies)))
first = c.execute("SELECT MIN(id) FROM organizations WHERE name LIKE '規模試験%'").fetchone()[0]
users = companies * 5
c.executemany("INSERT INTO users (user_id, org_id, role, password_hash, email, must_change_password, failures,"
    " lock_count, version, issue_seq, refused_attempts, created_at, updated_at)"
    " VALUES (?, ?, 'general', 'x', ?, 0, 0, 0, 0, 0, 0, ?, ?)",
    ((f"s{i:07}", first + i // 5, f"s{i:07}@example.co.jp", created, created) for i in range(users)))
ufirst = c.execute("SELECT MIN(id) FROM users WHERE user_id LIKE 's%' AND role = 'general'").fetchone()[0]
def rows():
    for n in range(certificates):
        u = n % users
        age = n // users
        start = -366 * (age + 1) + 300
        yield (f"{n:032x}", ufirst + u, first + u // 5, f"s{u:07}", t(start), t(start + 365), f"{n:064x}",
               "rsa2048", "active", t(start))
c.executemany("INSERT INTO certificates (serial, user_pk, org_id, subject_cn, not_before, not_after,"
    " fingerprint_sha256, key_type, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows())
c.commit()
"#;
    let python = std::env::var("CJS_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    e2e::run(
        std::process::Command::new(python)
            .args(["-c", script])
            .arg(f.data_dir.join("cjs.db"))
            .args([companies.to_string(), certificates.to_string()]),
    )?;
    Ok(())
}

/// The 利用者 tab's first page at a bank's size (10,000 companies, 50,000 users, 1,000,000
/// certificates; the target is ≤ 1 s to the rendered rows): from navigation start to the list's
/// answer, and to the first frame with its rows. Prints; asserts only that the page shows a full
/// first page. The full size with `CJS_E2E_BANK_SIZE=1` (`scripts/bench`); CI seeds a tenth of
/// it, to keep its run short.
#[tokio::test]
async fn first_render_of_the_users_tab_at_a_banks_size() -> anyhow::Result<()> {
    let mut f = Fixture::start().await?;
    e2e::steps::staff_logs_in(&mut f).await?;
    let full = std::env::var("CJS_E2E_BANK_SIZE").is_ok_and(|v| v == "1");
    let (companies, certificates) = if full { (10_000, 1_000_000) } else { (1_000, 100_000) };
    let seeding = std::time::Instant::now();
    seed(&f, companies, certificates)?;
    println!(
        "seeded {companies} companies, {} users, {certificates} certificates in {:.1} s",
        companies * 5,
        seeding.elapsed().as_secs_f64()
    );
    println!("| load | list answered (responseEnd) ms | rows on screen ms | count shown |\n|---|---|---|---|");
    let mut shown = Vec::new();
    for round in 0..6 {
        f.client.goto("about:blank").await?;
        f.goto("/admin?tab=users").await?;
        let v = f
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 const table = arguments[0], count = arguments[1];\
                 const check = () => {\
                   const rows = document.querySelectorAll(`[data-testid='${table}'] tbody tr`);\
                   const shown = document.querySelector(`[data-testid='${count}']`);\
                   if (rows.length >= 50 && shown) {\
                     const api = performance.getEntriesByType('resource')\
                       .filter(e => new URL(e.name).pathname === '/api/admin/users').pop();\
                     done([api ? api.responseEnd : null, performance.now(), shown.textContent]);\
                   } else { requestAnimationFrame(check); }\
                 };\
                 check();",
                vec![
                    json!(testids::ADMIN_USER_TABLE),
                    json!(format!("{}{}", testids::ADMIN_USER_TABLE, testids::LIST_COUNT_SUFFIX)),
                ],
            )
            .await?;
        let answered = v[0].as_f64().unwrap_or(f64::NAN);
        let rendered = v[1].as_f64().unwrap_or(f64::NAN);
        let count = v[2].as_str().unwrap_or_default().to_owned();
        println!(
            "| {} #{round} | {answered:.0} | {rendered:.0} | {count} |",
            if round == 0 { "first" } else { "again" }
        );
        anyhow::ensure!(count.contains("件"), "no count shown: {count:?}");
        if round > 0 {
            shown.push(rendered);
        }
    }
    shown.sort_by(f64::total_cmp);
    println!("\nmedian time to the rendered first page of 利用者: {:.0} ms", shown[shown.len() / 2]);
    f.close().await
}
