//! Revocation at scale: what one revocation costs and how large the CRL is with 0 / 10,000 /
//! 100,000 revoked certificates on record (beside each other, and beside the design that signed
//! the CRL inside the revoking transaction), and the OCSP responder beside OpenSSL's own
//! (`openssl ocsp -index`) at 1,000,000 certificates, same CA, same revoked set.

use std::{
    path::Path,
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use backend::{
    auth::accounts::Actor,
    certificates::revocation::{regenerate, revoke},
    db::entities::{certificate, user},
    pki::CertificateAuthority,
};
use common::api::{CertificateStatus, RevocationReason};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
use time::OffsetDateTime;

use crate::util::{self, Peer, Server, ms, percentile};

/// A serial of the seeded rows: 16 octets, the first 0x01–0x7f (as the CA's own), distinct per `i`.
pub(crate) fn serial(i: usize) -> String {
    let x = (i as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835) & ((1u128 << 120) - 1);
    format!("{:032x}", x | (1u128 << 120))
}

/// Inserts `rows` certificates of the users of `db` from row `from` on: every `revoked_every`-th
/// revoked (key compromise, a year ago), `expired` of the revoked ones long expired.
pub(crate) async fn seed(
    db: &DatabaseConnection,
    from: usize,
    rows: usize,
    revoked_every: usize,
    expired: f64,
) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    let users: Vec<user::Model> = user::Entity::find().order_by_asc(user::Column::Id).all(db).await?;
    for start in (from..from + rows).step_by(2000) {
        let batch: Vec<certificate::ActiveModel> = (start..(start + 2000).min(from + rows))
            .map(|i| {
                let u = &users[i % users.len()];
                let revoked = i % revoked_every == 0;
                let long_expired = revoked && ((i / revoked_every) % 100) < (expired * 100.0) as usize;
                let not_after =
                    if long_expired { now - time::Duration::days(400) } else { now + time::Duration::days(200) };
                certificate::ActiveModel {
                    serial: Set(serial(i)),
                    user_pk: Set(u.id),
                    org_id: Set(u.org_id),
                    subject_cn: Set(u.user_id.clone()),
                    not_before: Set(not_after - time::Duration::days(366)),
                    not_after: Set(not_after),
                    fingerprint_sha256: Set(format!("{i:064x}")),
                    key_type: Set("p256".into()),
                    status: Set(if revoked { CertificateStatus::Revoked } else { CertificateStatus::Active }),
                    revoked_at: Set(revoked.then(|| now - time::Duration::days(365))),
                    revocation_reason: Set(revoked.then(|| "key_compromise".to_owned())),
                    created_at: Set(not_after - time::Duration::days(366)),
                    ..Default::default()
                }
            })
            .collect();
        certificate::Entity::insert_many(batch).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Revocation latency and CRL size at 0 / 10,000 / 100,000 revoked on record (80 % of them long
/// expired, as in a CA that has run for years).
pub async fn crl_section(cjs: &Path, out: &mut Vec<String>) -> anyhow::Result<()> {
    let mut base: Option<(f64, f64)> = None;
    for revoked in [0usize, 10_000, 100_000] {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        let config = util::config(&data, None)?;
        let db = util::seed_users(&config, 40).await?;
        seed(&db, 0, revoked, 1, 0.8).await?;
        // The certificates revoked below: one active per user, after the revoked ones.
        seed(&db, revoked + 1, 40, usize::MAX, 0.0).await?;
        let now = OffsetDateTime::now_utc();
        let ca = std::sync::Arc::new(CertificateAuthority::load_or_create(&data, None, now)?);
        // A CA in service has issued CRLs before: the expired entries left with the second.
        regenerate(&db, &ca, now).await?;
        regenerate(&db, &ca, now).await?;
        // In process (the service the API calls): 20 revocations one after another.
        let mut lib = Vec::new();
        for i in 0..20 {
            let s = serial(revoked + 1 + i);
            let t = Instant::now();
            revoke(&db, &Actor::Cli, &s, RevocationReason::Superseded, "https://127.0.0.1", OffsetDateTime::now_utc())
                .await?;
            lib.push(ms(t.elapsed()));
        }
        // The former design signed the CRL inside the revoking transaction: 10 revocations, each
        // with a CRL signed and stored after it (the sum is what one revocation cost then).
        let mut old = Vec::new();
        for i in 30..40 {
            let s = serial(revoked + 1 + i);
            let t = Instant::now();
            revoke(&db, &Actor::Cli, &s, RevocationReason::Superseded, "https://127.0.0.1", OffsetDateTime::now_utc())
                .await?;
            regenerate(&db, &ca, OffsetDateTime::now_utc()).await?;
            old.push(ms(t.elapsed()));
        }
        // Through `cjs admin revoke` (a process each: start, migrations check, revoke).
        let mut cli = Vec::new();
        for i in 20..30 {
            let user = certificate::Entity::find()
                .filter(certificate::Column::Serial.eq(serial(revoked + 1 + i)))
                .one(&db)
                .await?
                .context("seeded row")?
                .subject_cn;
            let t = Instant::now();
            util::run(Command::new(cjs).arg("--data-dir").arg(&data).args([
                "admin",
                "revoke",
                "--user-id",
                &user,
                "--reason",
                "superseded",
            ]))?;
            cli.push(ms(t.elapsed()));
        }
        // The CRL the next fetch signs, off the revocation path.
        let t = Instant::now();
        let crl = regenerate(&db, &ca, OffsetDateTime::now_utc()).await?;
        let sign_ms = ms(t.elapsed());
        let listed = count_entries(&crl.der);
        let (lib50, cli50) = (percentile(&lib, 50.0), percentile(&cli, 50.0));
        let (b_lib, b_cli) = *base.get_or_insert((lib50, cli50));
        out.push(format!(
            "| {revoked} | {listed} | {lib50:.1} ({:.2}×) | {cli50:.0} ({:.2}×) | {:.1} | {sign_ms:.0} | {} |",
            lib50 / b_lib,
            cli50 / b_cli,
            percentile(&old, 50.0),
            crl.der.len(),
        ));
    }
    Ok(())
}

/// Entries of a DER CRL, as OpenSSL counts them.
fn count_entries(der: &[u8]) -> usize {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("crl.der");
    std::fs::write(&path, der).expect("write crl");
    let text = util::run(Command::new("openssl").args(["crl", "-inform", "DER", "-noout", "-text", "-in"]).arg(&path))
        .unwrap_or_default();
    text.matches("Serial Number:").count()
}

/// OCSP requests (DER, SHA-1 CertID as OpenSSL sends) for `serials`, made by OpenSSL: without
/// a nonce (as RFC 9919 clients (legacy SHA-1 CertIDs), nginx and caches ask), or each with a nonce of its own (so that
/// no answer can be reused).
pub(crate) fn requests(ca_pem: &Path, serials: &[String], nonce: bool, dir: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    serials
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let path = dir.join(format!("req{i}-{nonce}.der"));
            util::run(
                Command::new("openssl")
                    .args(["ocsp", if nonce { "-nonce" } else { "-no_nonce" }, "-issuer"])
                    .arg(ca_pem)
                    .args(["-serial", &format!("0x{s}"), "-reqout"])
                    .arg(&path),
            )?;
            Ok(std::fs::read(&path)?)
        })
        .collect()
}

/// `clients` clients posting `reqs` round robin to `url` for `secs`, each with a new connection for
/// each request (as relying parties such as nginx ask: one query a connection) or keeping one
/// (`keep_alive`; OpenSSL's responder serves one connection at a time, so the others wait):
/// answers/s, p50 and p99 ms, and how many requests got no signed answer (failed or timed out).
/// With no requests, each client GETs `url` instead.
async fn load(
    url: &str,
    reqs: Arc<Vec<Vec<u8>>>,
    clients: usize,
    keep_alive: bool,
    secs: u64,
) -> anyhow::Result<(f64, f64, f64, usize)> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..clients {
        let (url, reqs) = (url.to_owned(), reqs.clone());
        tasks.spawn(async move {
            let idle = if keep_alive { 1 } else { 0 };
            let client =
                reqwest::Client::builder().timeout(Duration::from_secs(10)).pool_max_idle_per_host(idle).build()?;
            let (mut lat, mut bad, mut i) = (Vec::new(), 0usize, c * 7);
            while Instant::now() < deadline {
                let t = Instant::now();
                let sent = if reqs.is_empty() {
                    client.get(&url).send().await
                } else {
                    let body = reqs[i % reqs.len()].clone();
                    i += 1;
                    client.post(&url).header("Content-Type", "application/ocsp-request").body(body).send().await
                };
                match sent {
                    Ok(r) => match r.bytes().await {
                        Ok(bytes) if bytes.len() >= 100 => lat.push(ms(t.elapsed())),
                        _ => bad += 1,
                    },
                    Err(_) => bad += 1,
                }
            }
            anyhow::Ok((lat, bad))
        });
    }
    let started = Instant::now();
    let (mut all, mut bad) = (Vec::new(), 0);
    while let Some(done) = tasks.join_next().await {
        let (lat, b) = done??;
        all.extend(lat);
        bad += b;
    }
    let elapsed = started.elapsed().as_secs_f64().max(secs as f64);
    let p = |q| if all.is_empty() { f64::NAN } else { percentile(&all, q) };
    Ok((all.len() as f64 / elapsed, p(50.0), p(99.0), bad))
}

/// A data directory (temporary) whose database, on `database_url` or SQLite, holds 1,000 users
/// and `rows` certificates, every 20th revoked: the directory, the data path and its settings.
pub(crate) async fn seeded(
    rows: usize,
    database_url: Option<&str>,
) -> anyhow::Result<(tempfile::TempDir, std::path::PathBuf, backend::config::Config)> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let config = util::config(&data, database_url)?;
    let db = util::seed_users(&config, 1000).await?;
    seed(&db, 0, rows, 20, 0.0).await?;
    Ok((dir, data, config))
}

/// OCSP answers/s and latency of cjs and of `openssl ocsp -index` (its delegated signer made the
/// same way: ECDSA P-256, EKU OCSPSigning, nocheck) at `rows` certificates, 5 % revoked.
pub async fn ocsp_section(cjs: &Path, rows: usize, secs: u64, out: &mut Vec<String>) -> anyhow::Result<()> {
    let (dir, data, config) = seeded(rows, None).await?;
    let http_port = util::free_port();
    // Nonces honoured, as before the default left them out: the nonce rows measure an answer
    // read and signed for each request (by default such a request gets the kept answer, which
    // the no-nonce rows measure).
    let listen = format!("127.0.0.1:{http_port}");
    let server = Server::start(cjs, &data, None, &["--http-listen", &listen, "--ocsp-honour-nonces", "true"]).await?;
    // Pre-production (issue 32) signs every answer at start: measured after it, as it runs.
    wait_preproduced(&server, &config.database_url, rows as i64).await?;
    let ca_pem = data.join("ca.pem");
    let (_openssl, openssl_port) = openssl_responder(&config, &data, dir.path()).await?;
    // 200 serials spread over the rows; a tenth of them revoked (rows i with i % 20 == 0).
    let step = (rows / 200 / 20).max(1) * 20;
    let serials: Vec<String> = (0..200).map(|k| serial(k * step + usize::from(k % 10 != 0))).collect();
    let reqs = Arc::new(requests(&ca_pem, &serials, false, dir.path())?);
    let with_nonce = Arc::new(requests(&ca_pem, &serials, true, dir.path())?);
    let runs = [
        (1usize, false, false),
        (16, false, false),
        (1, true, false),
        (16, true, false),
        (1, true, true),
        (16, true, true),
        (16, false, true),
    ];
    for (clients, keep_alive, nonce) in runs {
        let reqs = if nonce { with_nonce.clone() } else { reqs.clone() };
        let cjs_url = format!("http://127.0.0.1:{http_port}/pki/ocsp");
        let (c_rate, c50, c99, c_bad) = load(&cjs_url, reqs.clone(), clients, keep_alive, secs).await?;
        let openssl_url = format!("http://127.0.0.1:{openssl_port}/");
        let (o_rate, o50, o99, o_bad) = load(&openssl_url, reqs.clone(), clients, keep_alive, secs).await?;
        let mode = if keep_alive { "kept" } else { "one a request" };
        let asked = if nonce { "with a nonce, honoured (each answer read and signed)" } else { "no nonce" };
        out.push(format!(
            "| {rows} | {clients}, connections {mode} | {asked} | {c_rate:.0} | {c50:.2} / {c99:.2} | {o_rate:.0} | {o50:.2} / {o99:.2} | {:.1}× | {} |",
            c_rate / o_rate,
            if c_bad + o_bad == 0 { "all signed".to_owned() } else { format!("{c_bad} / {o_bad} unsigned") }
        ));
    }
    // The HTTP path alone, for scale: the same clients fetching /pki/ca.crt (no read, no signature).
    for (clients, keep_alive) in [(16usize, false), (16, true)] {
        let url = format!("http://127.0.0.1:{http_port}/pki/ca.crt");
        let (rate, p50, p99, bad) = load(&url, Arc::new(Vec::new()), clients, keep_alive, secs).await?;
        let mode = if keep_alive { "kept" } else { "one a request" };
        out.push(format!(
            "| {rows} | {clients}, connections {mode} | GET /pki/ca.crt (the HTTP path alone) | {rate:.0} | {p50:.2} / {p99:.2} | — | — | — | {bad} failed |"
        ));
    }
    drop(server);
    Ok(())
}

/// Waits until every unexpired certificate of the server's database has its pre-produced
/// answer: (seconds, CPU seconds of the server meanwhile, answers).
pub async fn wait_preproduced(server: &Server, database_url: &str, expected: i64) -> anyhow::Result<(f64, f64, i64)> {
    let db = sea_orm::Database::connect(database_url).await?;
    let (t, cpu) = (Instant::now(), util::cpu_seconds(server.pid())?);
    loop {
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT COUNT(*) AS n FROM ocsp_answers"))
            .await?
            .context("a count")?;
        let n: i64 = row.try_get("", "n")?;
        if n >= expected {
            return Ok((t.elapsed().as_secs_f64(), util::cpu_seconds(server.pid())? - cpu, n));
        }
        anyhow::ensure!(t.elapsed() < Duration::from_secs(3600), "pre-production stopped at {n} of {expected}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// OpenSSL's responder (`openssl ocsp -index`) for the certificates of `config`'s database: the
/// index of the same rows, and its delegated signer made as cjs makes its own (ECDSA P-256, EKU
/// OCSPSigning, nocheck), by the CA of data directory `data`; ready once it answered.
pub(crate) async fn openssl_responder(
    config: &backend::config::Config,
    data: &Path,
    dir: &Path,
) -> anyhow::Result<(Peer, u16)> {
    let ca_pem = data.join("ca.pem");
    // OpenSSL's responder: index.txt of the same rows, a P-256 OCSP signing certificate.
    let index = dir.join("index.txt");
    write_index(config, &index).await?;
    let rs = dir.join("rs");
    std::fs::create_dir_all(&rs)?;
    std::fs::write(
        rs.join("ext.cnf"),
        "[ocsp]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=OCSPSigning\nnoCheck=ignored\n",
    )?;
    util::run(
        Command::new("openssl")
            .args([
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-noenc",
                "-subj",
                "/CN=openssl ocsp",
            ])
            .arg("-keyout")
            .arg(rs.join("key.pem"))
            .arg("-out")
            .arg(rs.join("req.pem")),
    )?;
    util::run(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-extensions", "ocsp", "-extfile"])
            .arg(rs.join("ext.cnf"))
            .arg("-in")
            .arg(rs.join("req.pem"))
            .arg("-CA")
            .arg(&ca_pem)
            .arg("-CAkey")
            .arg(data.join("ca-key.pem"))
            .arg("-out")
            .arg(rs.join("cert.pem")),
    )?;
    let openssl_port = util::free_port();
    let child = Command::new("openssl")
        .args(["ocsp", "-index"])
        .arg(&index)
        .args(["-port", &openssl_port.to_string(), "-nmin", "60", "-ignore_err", "-CA"])
        .arg(&ca_pem)
        .arg("-rsigner")
        .arg(rs.join("cert.pem"))
        .arg("-rkey")
        .arg(rs.join("key.pem"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start openssl ocsp")?;
    let openssl = Peer(child);
    let probe_req = requests(&ca_pem, &[serial(1)], false, dir)?.remove(0);
    // It reads the whole index before it listens. (Not `wait_port`: OpenSSL 3.0's responder
    // hangs for good on a connection that closes before sending a request.)
    let ready = Instant::now() + Duration::from_secs(300);
    let probe = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
    while probe.post(format!("http://127.0.0.1:{openssl_port}/")).body(probe_req.clone()).send().await.is_err() {
        anyhow::ensure!(Instant::now() < ready, "openssl ocsp did not answer");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok((openssl, openssl_port))
}

/// OpenSSL's CA database (index.txt) of every certificate row.
async fn write_index(config: &backend::config::Config, path: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let (db, _) = backend::startup::core_services(config).await?;
    let rows: Vec<(String, CertificateStatus, OffsetDateTime, Option<OffsetDateTime>)> = certificate::Entity::find()
        .select_only()
        .columns([
            certificate::Column::Serial,
            certificate::Column::Status,
            certificate::Column::NotAfter,
            certificate::Column::RevokedAt,
        ])
        .into_tuple()
        .all(&db)
        .await?;
    let openssl_time = |t: OffsetDateTime| {
        format!(
            "{:02}{:02}{:02}{:02}{:02}{:02}Z",
            t.year() % 100,
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    };
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for (serial, status, not_after, revoked_at) in rows {
        let serial = serial.to_ascii_uppercase();
        match (status, revoked_at) {
            (CertificateStatus::Revoked, Some(at)) => writeln!(
                f,
                "R\t{}\t{},keyCompromise\t{serial}\tunknown\t/CN=x",
                openssl_time(not_after),
                openssl_time(at)
            )?,
            _ => writeln!(f, "V\t{}\t\t{serial}\tunknown\t/CN=x", openssl_time(not_after))?,
        }
    }
    f.flush()?;
    std::fs::write(path.with_extension("txt.attr"), "unique_subject = no\n")?;
    Ok(())
}
