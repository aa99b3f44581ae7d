//! Running it as a bank runs a service: liveness and readiness, request IDs from the response
//! header into the logs and the audit log, a SIGTERM that drains before it stops, backup and
//! restore. The metrics have a test binary of their own (`tests/metrics.rs`).

use std::{
    io::{Read, Write},
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::helpers::{
    Browser, Server, TestDb, TestStore, admin_command, client_with, free_port, fresh_postgres, identity_pem, run,
    serve_command, started,
};

async fn readiness(client: &reqwest::Client, base: &str) -> Option<(u16, Value)> {
    let r = client.get(format!("{base}/api/health/ready")).send().await.ok()?;
    Some((r.status().as_u16(), r.json().await.ok()?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// JSON logs: every line of a request carries its ID, which the answer's `X-Request-Id` and the
/// request's audit entry carry too. Liveness and readiness answer; a SIGTERM makes readiness 503
/// (draining) while requests are still served with `Connection: close`, an issuance under way
/// completes, and the process then exits cleanly.
async fn request_ids_join_logs_and_audit_and_sigterm_drains_before_stopping() {
    let store = TestStore::fresh(&TestDb::Sqlite).await;
    store.create_master("運用株式会社", "master01", "Sekret927").await;
    store.create_general("master01", "user01", "Sekret927").await;
    store.create_general("master01", "user02", "Sekret927").await;
    use sea_orm::ConnectionTrait;
    store.db.execute_unprepared("UPDATE users SET must_change_password = false").await.unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("https://127.0.0.1:{port}");
    let log = store.data_dir.parent().unwrap().join("serve.log");
    let mut cmd = serve_command(
        &store.data_dir,
        &store.database_url,
        port,
        &["--log-format", "json", "--shutdown-drain-seconds", "3"],
    );
    cmd.env("RUST_LOG", "info").stderr(std::fs::File::create(&log).unwrap());
    let mut served = Server(cmd.spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !store.data_dir.join("server-ca.pem").exists() {
        assert!(Instant::now() < deadline, "no CA certificate was written");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client = client_with(&store.data_dir, None);
    let ready = loop {
        if let Some(r) = readiness(&client, &base).await {
            break r;
        }
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        ready,
        (200, serde_json::json!({"status": "ready", "database": "ok", "signer": "ok", "draining": false}))
    );
    let live = client.get(format!("{base}/api/health/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);

    // An issuance: the ID of its issue request is in the audit entry and on its log lines.
    let browser = Browser::of(&base, client.clone());
    let token = browser.token("user01", "Sekret927").await.unwrap();
    let issued = browser.try_issue(&token, "Sekret927").await.unwrap();
    assert_eq!(issued.status(), 200);
    let id = issued.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 16, "{id}");
    identity_pem(&issued.bytes().await.unwrap(), "Sekret927");
    let rows = store
        .count(&format!(
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'certificate_issued' AND request_id = '{id}'"
        ))
        .await;
    assert_eq!(rows, 1, "the audit entry names the request");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<Value> =
            text.lines().filter(|l| l.contains(&id)).map(|l| serde_json::from_str(l).unwrap()).collect();
        let said = |m: &str| lines.iter().any(|l| l["fields"]["message"].as_str().is_some_and(|s| s.contains(m)));
        if said("issued a client certificate") && said("\"POST /api/issuance/issue") {
            assert!(lines.iter().all(|l| l["span"]["request_id"] == id.as_str()), "{lines:?}");
            break;
        }
        assert!(Instant::now() < deadline, "no log lines of request {id}:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // SIGTERM with an issuance under way.
    let under_way = {
        let browser = browser.clone();
        tokio::spawn(async move { browser.issuance("user02", "Sekret927").await })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    let pid = served.0.id().to_string();
    // Timed from before the signal: under load `kill` itself can take a while to return, and the
    // drain runs from the signal, not from then.
    let draining = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let (status, body) = loop {
        let r = readiness(&client, &base).await.expect("still serving while draining");
        if r.0 == 503 {
            break r;
        }
        assert!(draining.elapsed() < Duration::from_secs(2), "readiness never said draining: {r:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        (status, body["draining"].clone(), body["status"].clone()),
        (503, Value::Bool(true), "not_ready".into())
    );
    let during = client.get(format!("{base}/api/ca.pem")).send().await.unwrap();
    assert_eq!(during.status(), 200, "requests are still served while draining");
    assert_eq!(during.headers()["connection"], "close", "and the client moves on");
    let (p12, _) = under_way.await.unwrap().expect("the issuance under way at SIGTERM completes");
    identity_pem(&p12, "Sekret927");
    let exit = loop {
        if let Some(status) = served.0.try_wait().unwrap() {
            break status;
        }
        assert!(draining.elapsed() < Duration::from_secs(20), "it did not stop after draining");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "a clean exit: {exit:?}");
    assert!(draining.elapsed() >= Duration::from_secs(3), "it drained for the configured 3 s first");
    assert_eq!(store.count("SELECT COUNT(*) AS n FROM certificates").await, 2);
}

/// The backups' passphrase in these tests.
const PASSPHRASE: &str = "correct horse battery staple 29";

/// The plain bytes (a tar.gz) of the backup `file`, decrypted as the holder of the passphrase can.
fn decrypted(file: &Path) -> Vec<u8> {
    let decryptor = age::Decryptor::new(std::fs::File::open(file).unwrap()).unwrap();
    let identity = age::scrypt::Identity::new(age::secrecy::SecretString::from(PASSPHRASE.to_owned()));
    let mut plain = Vec::new();
    decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)).unwrap().read_to_end(&mut plain).unwrap();
    plain
}

/// `plain` encrypted with `passphrase` into `to`, as whoever holds it can write a backup.
fn encrypted(plain: &[u8], passphrase: &str, to: &Path) {
    let secret = age::secrecy::SecretString::from(passphrase.to_owned());
    let mut writer =
        age::Encryptor::with_user_passphrase(secret).wrap_output(std::fs::File::create(to).unwrap()).unwrap();
    writer.write_all(plain).unwrap();
    writer.finish().unwrap();
}

/// `cjs admin …` on `store` with `args`: (success, stdout + stderr).
fn admin(store: &TestStore, data_dir: &Path, args: &[&std::ffi::OsStr]) -> (bool, String) {
    let out = admin_command(data_dir, &store.database_url)
        .args(args)
        .env("CJS_BACKUP_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn restore(from: &Path, to: &Path) -> (bool, String) {
    restore_with(from, to, &[])
}

fn restore_with(from: &Path, to: &Path, extra: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cjs"))
        .arg("--data-dir")
        .arg(to)
        .args(["admin", "restore", "--from"])
        .arg(from)
        .args(extra)
        .env("CJS_BACKUP_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// The README's PostgreSQL backup path, run as an operator would: `pg_dump -Fc` of the database
/// and `cjs admin backup --without-database` of the files, restored with `pg_restore` into a new
/// database and `cjs admin restore` into a new data directory, then served: a certificate issued
/// before the backup logs in, and the audit log verifies.
async fn the_postgresql_backup_path_restores_a_service_where_a_certificate_logs_in() {
    use sea_orm::ConnectionTrait;
    let Some(db) = TestDb::postgres() else { return };
    let TestDb::Postgres(admin_url) = &db else { unreachable!() };
    let store = TestStore::fresh(&db).await;
    store.create_master("ダンプ株式会社", "master01", "Sekret927").await;
    store.db.execute_unprepared("UPDATE users SET must_change_password = false").await.unwrap();
    let port = free_port();
    let base = format!("https://127.0.0.1:{port}");
    let served = started(serve_command(&store.data_dir, &store.database_url, port, &[]), &store.data_dir, &base).await;
    let (p12, _) =
        Browser::of(&base, client_with(&store.data_dir, None)).issuance("master01", "Sekret927").await.unwrap();
    let identity = identity_pem(&p12, "Sekret927");

    // The dump first (README: a database newer than the files may name a CA they lack).
    let work = tempfile::tempdir().unwrap();
    let dump = work.path().join("cjs.dump");
    run(Command::new("pg_dump").args(["-Fc", "-f"]).arg(&dump).arg(&store.database_url));
    let files = work.path().join("files.tar.gz");
    let (ok, out) = admin(
        &store,
        &store.data_dir,
        &["backup".as_ref(), "--without-database".as_ref(), "--to".as_ref(), files.as_os_str()],
    );
    assert!(ok && out.contains("バックアップしました"), "{out}");
    drop(served);

    let new_url = fresh_postgres(admin_url).await;
    run(Command::new("pg_restore").args(["--no-owner", "-d", &new_url]).arg(&dump));
    let restored = work.path().join("restored");
    let (ok, out) = restore(&files, &restored);
    assert!(ok && out.contains("pg_restore"), "the restore reminds of the database: {out}");
    let port = free_port();
    let base = format!("https://127.0.0.1:{port}");
    let _served = started(serve_command(&restored, &new_url, port, &[]), &restored, &base).await;
    let mut user = Browser::of(&base, client_with(&restored, Some(&identity)));
    let (status, me) = user.login("master01", "Sekret927").await;
    assert_eq!(status, 200, "the certificate issued before the backup logs in: {me}");
    let verified = run(admin_command(&restored, &new_url).args(["audit", "verify"]));
    assert!(verified.contains("改ざんされていません"), "{verified}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// A backup taken while issuances and logins go on, restored into a new data directory and
/// served: a certificate issued before it logs in, the CRL is the same, every certificate of the
/// copy has its audit entry and its notice (one consistent moment). A second restore onto it, a
/// truncated file and an altered one are refused, and leave nothing behind.
async fn a_backup_under_load_restores_to_a_service_where_nothing_is_missing() {
    const LOADED: usize = 6;
    let store = TestStore::fresh(&TestDb::Sqlite).await;
    store.create_master("バックアップ株式会社", "master01", "Sekret927").await;
    for i in 0..=LOADED {
        store.create_general("master01", &format!("user{i:02}"), "Sekret927").await;
    }
    use sea_orm::ConnectionTrait;
    store.db.execute_unprepared("UPDATE users SET must_change_password = false").await.unwrap();
    let port = free_port();
    let base = format!("https://127.0.0.1:{port}");
    let served = started(serve_command(&store.data_dir, &store.database_url, port, &[]), &store.data_dir, &base).await;
    let client = client_with(&store.data_dir, None);
    let browser = Browser::of(&base, client.clone());
    let (p12, _) = browser.issuance("user00", "Sekret927").await.unwrap();
    let identity = identity_pem(&p12, "Sekret927");
    let crl = client.get(format!("{base}/api/crl")).send().await.unwrap().bytes().await.unwrap();

    // The load: issuances for six users and logins with user00's certificate, during the backup.
    let mut load = tokio::task::JoinSet::new();
    for i in 1..=LOADED {
        let browser = browser.clone();
        load.spawn(async move { browser.issuance(&format!("user{i:02}"), "Sekret927").await.map(|_| ()) });
    }
    for _ in 0..4 {
        let mut user = Browser::of(&base, client_with(&store.data_dir, Some(&identity)));
        load.spawn(async move {
            let (status, body) = user.login("user00", "Sekret927").await;
            if status == 200 { Ok(()) } else { Err((status, body.to_string())) }
        });
    }
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("cjs-backup.tar.gz");
    let (ok, out) = admin(&store, &store.data_dir, &["backup".as_ref(), "--to".as_ref(), file.as_os_str()]);
    assert!(ok && out.contains("バックアップしました"), "{out}");
    while let Some(done) = load.join_next().await {
        done.unwrap().expect("the load goes on during the backup");
    }
    drop(served);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600, "it holds the CA key");
    let (ok, out) = admin(&store, &store.data_dir, &["backup".as_ref(), "--to".as_ref(), file.as_os_str()]);
    assert!(!ok && out.contains("上書きしません"), "an existing file is never overwritten: {out}");
    let mistyped = work.path().join("no-such-data-dir");
    let other = work.path().join("other.tar.gz");
    let (ok, out) = admin(&store, &mistyped, &["backup".as_ref(), "--to".as_ref(), other.as_os_str()]);
    assert!(!ok && out.contains("データディレクトリではありません"), "{out}");
    assert!(!mistyped.exists() && !other.exists(), "a mistyped data directory is not made, nor backed up");
    // No backup without a passphrase, nor with a short one.
    for passphrase in [None, Some("short one")] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cjs"));
        cmd.arg("--data-dir").arg(&store.data_dir).args(["--database-url", &store.database_url]);
        cmd.args(["admin", "backup", "--to"]).arg(&other).env_remove("CJS_BACKUP_PASSPHRASE");
        if let Some(p) = passphrase {
            cmd.env("CJS_BACKUP_PASSPHRASE", p);
        }
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && text.contains("パスフレーズ"), "{passphrase:?}: {text}");
        assert!(!other.exists());
    }

    // Refused: a truncated file, an altered one; neither leaves a data directory.
    let bytes = std::fs::read(&file).unwrap();
    let truncated = work.path().join("truncated.tar.gz");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let target = work.path().join("restored-bad");
    let (ok, out) = restore(&truncated, &target);
    assert!(!ok && out.contains("途中で切れているか壊れています"), "{out}");
    assert!(!target.exists(), "nothing restored");
    // Encrypted and authenticated (issue 29 §3): no tar in sight; a byte changed anywhere, or the
    // wrong passphrase, is refused before anything is written.
    assert!(bytes.starts_with(b"age-encryption.org/v1"), "an age file");
    let mut flipped = bytes.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 1;
    let flipped_file = work.path().join("flipped.tar.gz.age");
    std::fs::write(&flipped_file, &flipped).unwrap();
    let (ok, out) = restore(&flipped_file, &target);
    assert!(!ok && (out.contains("改変されています") || out.contains("壊れています")), "{out}");
    assert!(!target.exists(), "nothing restored");
    let out = Command::new(env!("CARGO_BIN_EXE_cjs"))
        .arg("--data-dir")
        .arg(&target)
        .args(["admin", "restore", "--from"])
        .arg(&file)
        .env("CJS_BACKUP_PASSPHRASE", "a wrong passphrase, long enough")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && text.contains("パスフレーズが違うか"), "{text}");
    assert!(!target.exists(), "nothing restored");
    // What the passphrase's holder sees.
    let plain = work.path().join("plain.tar.gz");
    std::fs::write(&plain, decrypted(&file)).unwrap();
    let unpacked = work.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    crate::helpers::run(Command::new("tar").arg("-xzf").arg(&plain).arg("-C").arg(&unpacked));
    let names = crate::helpers::run(Command::new("tar").arg("-tzf").arg(&plain));
    assert_eq!(names.lines().last(), Some("MANIFEST.json"), "{names}");
    assert!(names.lines().any(|n| n == "ca-key.pem") && names.lines().any(|n| n == "cjs.db"), "{names}");
    assert!(names.lines().any(|n| n == "token.key"), "{names}");
    let pem = std::fs::read_to_string(unpacked.join("ca.pem")).unwrap();
    std::fs::write(unpacked.join("ca.pem"), pem.replacen('A', "B", 1)).unwrap();
    let altered_plain = work.path().join("altered.tar.gz");
    let mut repack = Command::new("tar");
    repack.arg("-czf").arg(&altered_plain).arg("-C").arg(&unpacked).args(names.lines());
    crate::helpers::run(&mut repack);
    let altered = work.path().join("altered.tar.gz.age");
    encrypted(&std::fs::read(&altered_plain).unwrap(), PASSPHRASE, &altered);
    let (ok, out) = restore(&altered, &target);
    assert!(!ok && out.contains("改変されています") && out.contains("ca.pem"), "{out}");
    assert!(!target.exists(), "nothing restored");

    // Issue 29 §3: a forger who rewrites the manifest too gets past the checksums, but a cjs.toml
    // that loads code (its own PKCS#11 module) is refused unless the operator accepts it.
    std::fs::write(unpacked.join("ca.pem"), &pem).unwrap();
    let settings = "ca_pkcs11_module = \"/tmp/evil-pkcs11.so\"\n";
    std::fs::write(unpacked.join("cjs.toml"), settings).unwrap();
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(unpacked.join("MANIFEST.json")).unwrap()).unwrap();
    use sha2::Digest;
    manifest["files"]["cjs.toml"] = serde_json::json!({
        "size": settings.len(), "mode": 0o600, "sha256": hex::encode(sha2::Sha256::digest(settings)),
    });
    std::fs::write(unpacked.join("MANIFEST.json"), serde_json::to_vec(&manifest).unwrap()).unwrap();
    std::fs::set_permissions(unpacked.join("cjs.toml"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut entries: Vec<&str> = names.lines().filter(|n| *n != "MANIFEST.json" && *n != "cjs.toml").collect();
    entries.extend(["cjs.toml", "MANIFEST.json"]);
    let forged_plain = work.path().join("forged.tar.gz");
    crate::helpers::run(Command::new("tar").arg("-czf").arg(&forged_plain).arg("-C").arg(&unpacked).args(&entries));
    let forged = work.path().join("forged.tar.gz.age");
    encrypted(&std::fs::read(&forged_plain).unwrap(), PASSPHRASE, &forged);
    let (ok, out) = restore(&forged, &target);
    assert!(!ok && out.contains("ca_pkcs11_module") && out.contains("--accept-settings"), "{out}");
    assert!(!target.exists(), "nothing restored");
    let accepted = work.path().join("restored-accepted");
    let (ok, out) = restore_with(&forged, &accepted, &["--accept-settings"]);
    assert!(ok, "with the operator's word it is restored: {out}");
    // A plain backup (an earlier release's format) only with --unencrypted.
    let (ok, out) = restore(&plain, &target);
    assert!(!ok && out.contains("--unencrypted"), "{out}");
    assert!(!target.exists(), "nothing restored");
    let (ok, out) = restore_with(&plain, &work.path().join("restored-plain"), &["--unencrypted"]);
    assert!(ok, "{out}");

    // Restored and served.
    let restored = work.path().join("restored");
    let (ok, out) = restore(&file, &restored);
    assert!(ok && out.contains("復元しました"), "{out}");
    assert_eq!(std::fs::metadata(&restored).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(std::fs::metadata(restored.join("ca-key.pem")).unwrap().permissions().mode() & 0o777, 0o600);
    let (ok, out) = restore(&file, &restored);
    assert!(!ok && out.contains("空ではありません"), "{out}");
    let url = format!("sqlite://{}?mode=rwc", restored.join("cjs.db").display());
    let copy = sea_orm::Database::connect(url.as_str()).await.unwrap();
    let count = |sql: &'static str| {
        let copy = copy.clone();
        async move {
            let row = copy.query_one_raw(sea_orm::Statement::from_string(copy.get_database_backend(), sql)).await;
            row.unwrap().unwrap().try_get::<i64>("", "n").unwrap()
        }
    };
    let certificates = count("SELECT COUNT(*) AS n FROM certificates").await;
    assert!(certificates >= 1, "user00's certificate, issued before the backup");
    let audited = count(
        "SELECT COUNT(*) AS n FROM certificates c WHERE EXISTS (SELECT 1 FROM audit_log a WHERE a.action = 'certificate_issued' AND a.detail LIKE '%' || c.serial || '%')",
    )
    .await;
    assert_eq!(audited, certificates, "every certificate of the copy has its audit entry");
    let noticed = count(
        "SELECT COUNT(*) AS n FROM certificates c WHERE EXISTS (SELECT 1 FROM mail_outbox m WHERE m.dedupe_key = 'issued:' || c.serial)",
    )
    .await;
    assert_eq!(noticed, certificates, "and its notice in the outbox");
    copy.close().await.unwrap();
    let port = free_port();
    let base = format!("https://127.0.0.1:{port}");
    let _served = started(serve_command(&restored, &url, port, &[]), &restored, &base).await;
    let mut user = Browser::of(&base, client_with(&restored, Some(&identity)));
    assert_eq!(user.login("user00", "Sekret927").await.0, 200, "a certificate issued before the backup logs in");
    let restored_crl = client_with(&restored, None).get(format!("{base}/api/crl")).send().await.unwrap();
    assert_eq!(restored_crl.bytes().await.unwrap(), crl, "the same CRL");
}

/// Issue 29 §3: a restore streams. A backup holding one 640 MiB entry (zeros, a few hundred KiB
/// compressed) and no manifest is read to its end and refused ("目録がありません") by a `cjs`
/// whose data segment is limited to 256 MiB (`prlimit --data`); the release before kept each
/// entry in memory and could not have read it. Nothing is restored.
#[test]
fn a_restore_reads_a_huge_entry_in_bounded_memory() {
    let work = tempfile::tempdir().unwrap();
    let plain = work.path().join("huge.tar.gz");
    {
        let gz = flate2::write::GzEncoder::new(std::fs::File::create(&plain).unwrap(), flate2::Compression::fast());
        let mut archive = tar::Builder::new(gz);
        let size: u64 = 640 << 20;
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o600);
        header.set_entry_type(tar::EntryType::Regular);
        archive.append_data(&mut header, "cjs.db", std::io::repeat(0).take(size)).unwrap();
        archive.into_inner().unwrap().finish().unwrap();
    }
    // A small scrypt work factor: the default one alone takes about 256 MiB to decrypt.
    let file = work.path().join("huge.tar.gz.age");
    let mut recipient = age::scrypt::Recipient::new(age::secrecy::SecretString::from(PASSPHRASE.to_owned()));
    recipient.set_work_factor(12);
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient)).unwrap();
    let mut writer = encryptor.wrap_output(std::fs::File::create(&file).unwrap()).unwrap();
    writer.write_all(&std::fs::read(&plain).unwrap()).unwrap();
    writer.finish().unwrap();
    let target = work.path().join("restored");
    let out = Command::new("prlimit")
        .arg(format!("--data={}", 256u64 << 20))
        .arg(env!("CARGO_BIN_EXE_cjs"))
        .arg("--data-dir")
        .arg(&target)
        .args(["admin", "restore", "--from"])
        .arg(&file)
        .env("CJS_BACKUP_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a refusal, not a crash: {text}");
    assert!(text.contains("目録"), "read to the end, then refused: {text}");
    assert!(!target.exists(), "nothing restored");
}

crate::helpers::each_database!(a_binary_older_than_the_schema_refuses_to_start_and_changes_nothing);
/// Issue 31: a downgrade is refused. A database that a newer release migrated (a migration
/// recorded that this binary does not have) makes every `cjs` command stop at once, naming this
/// release, its newest migration and the database's; nothing is read or written.
async fn a_binary_older_than_the_schema_refuses_to_start_and_changes_nothing(db: &TestDb) {
    use sea_orm::ConnectionTrait;
    let store = TestStore::fresh(db).await;
    store
        .db
        .execute_unprepared(
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20991231_000099_a_newer_release', 0)",
        )
        .await
        .unwrap();
    let before = store.count("SELECT COUNT(*) AS n FROM audit_log").await;
    let ours = {
        use sea_orm_migration::MigratorTrait;
        let all = backend::db::migration::Migrator::migrations();
        (all.last().unwrap().name().to_owned(), all.len() as i64)
    };
    for args in [&["admin", "mail"][..], &["serve", "--listen", "127.0.0.1:0"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_cjs"))
            .arg("--data-dir")
            .arg(&store.data_dir)
            .args(["--database-url", &store.database_url])
            .args(args)
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!out.status.success(), "{args:?} ran on a newer schema: {text}");
        for expected in
            [concat!("this cjs ", env!("CARGO_PKG_VERSION")), ours.0.as_str(), "m20991231_000099_a_newer_release"]
        {
            assert!(text.contains(expected), "{args:?}: expected {expected:?} in {text}");
        }
    }
    assert_eq!(store.count("SELECT COUNT(*) AS n FROM audit_log").await, before);
    assert_eq!(store.count("SELECT COUNT(*) AS n FROM seaql_migrations").await, ours.1 + 1, "no migration applied");
}

/// The exit statuses cjs(1) gives: 2 for a command line or settings that cannot be used (nothing
/// done), 1 for a command that failed; `cjs openapi` and `cjs manual` read no settings at all.
#[test]
fn exit_statuses_are_those_the_manual_page_gives() {
    let dir = tempfile::tempdir().unwrap();
    let cjs = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_cjs")).env_clear().args(args).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let missing = dir.path().join("missing.toml");
    let (code, err) = cjs(&["--data-dir", data, "--config", missing.to_str().unwrap(), "admin", "mail"]);
    assert_eq!(code, Some(2), "a settings file that is not there: {err}");
    assert!(err.contains("configuration error"), "{err}");
    assert!(!Path::new(data).exists(), "nothing was done (no data directory made)");
    let (code, err) = cjs(&["admin", "no-such-command"]);
    assert_eq!(code, Some(2), "{err}");
    // `manual` and `openapi` read no settings: a settings file that is not there is no matter.
    let pages = dir.path().join("man");
    let (code, err) = cjs(&["--config", missing.to_str().unwrap(), "manual", "--out", pages.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(pages.join("cjs.1").exists() && pages.join("cjs-admin-reset-password.1").exists());
    let (code, err) = cjs(&["manual", "--out", pages.to_str().unwrap(), "--date", "2026-13-01"]);
    assert_eq!(code, Some(2), "a date that is not one: {err}");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let (code, err) = cjs(&["manual", "--out", file.join("man").to_str().unwrap()]);
    assert_eq!(code, Some(1), "a directory that cannot be made: {err}");
    assert!(err.contains("writing the manual pages into"), "{err}");
    let (code, err) = cjs(&["--config", missing.to_str().unwrap(), "openapi"]);
    assert_eq!(code, Some(0), "{err}");
}
