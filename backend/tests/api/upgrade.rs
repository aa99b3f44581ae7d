//! Releases side by side (issue 31): the previous release — CHANGELOG.md's newest, built by
//! scripts/previous-release from the commit it records — and this one. On PostgreSQL behind
//! HAProxy, a rolling upgrade: this release starts and migrates the database the previous one is
//! serving, both serve a load, the previous one stops; no request fails. On SQLite, the previous
//! release's data directory opens in this one, and its backup restores in this one.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use sea_orm::ConnectionTrait;

use crate::{
    cluster::{Haproxy, Instance, consistent, load},
    helpers::{
        Browser, TestDb, TestStore, admin_command_of, client_with, free_port, fresh_store, identity_pem, init, run,
        serve_command_of, started,
    },
};

/// Issuances under each phase of the load (each user once: masters issue their own first
/// certificate).
const ISSUERS: usize = 4;
const PASSPHRASE: &str = "correct horse battery staple 31";

/// The previous release's `cjs` (`CJS_PREVIOUS_BIN`, which scripts/test sets from
/// scripts/previous-release). Required in CI; elsewhere these tests are skipped without it.
fn previous_release() -> Option<PathBuf> {
    init();
    match std::env::var_os("CJS_PREVIOUS_BIN") {
        Some(bin) => Some(PathBuf::from(bin)),
        None if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CJS_PREVIOUS_BIN is not set: scripts/test builds the previous release (scripts/previous-release)")
        }
        None => {
            eprintln!("skipped: CJS_PREVIOUS_BIN is not set (CJS_PREVIOUS_BIN=$(scripts/previous-release))");
            None
        }
    }
}

fn this_release() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_cjs"))
}

/// `cjs admin …` of `bin` on a data directory and database, `stdin` its standard input; its
/// output, the test failing if it fails.
fn admin(bin: &Path, data_dir: &Path, url: &str, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = admin_command_of(bin, data_dir, url)
        .args(args)
        .env("CJS_BACKUP_PASSPHRASE", PASSPHRASE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{} admin {args:?} failed:\n{text}", bin.display());
    text
}

/// What a release in service holds, made by `bin` (the previous release's CLI): `companies`
/// companies, each with its master `masterNN` (password Sekret927, no change required).
async fn seed(bin: &Path, data_dir: &Path, url: &str, companies: usize) {
    for i in 0..companies {
        let (name, id, email) =
            (format!("アップグレード{i:02}株式会社"), format!("master{i:02}"), format!("master{i:02}@example.co.jp"));
        admin(
            bin,
            data_dir,
            url,
            &["create-org", "--name", &name, "--master-id", &id, "--email", &email, "--password-stdin"],
            "Sekret927\n",
        );
    }
    // Plain SQL on a column both releases have: the password change of a first login is not
    // what this test is about.
    let db = sea_orm::Database::connect(url).await.unwrap();
    db.execute_unprepared("UPDATE users SET must_change_password = false").await.unwrap();
    db.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_upgrade_from_the_previous_release_fails_no_request() {
    let Some(previous) = previous_release() else { return };
    let Some(db) = TestDb::postgres() else { return };
    let (dir, data_dir, url) = fresh_store(&db).await;
    seed(&previous, &data_dir, &url, 1 + 2 * ISSUERS).await;
    let log = dir.path().join("instances.log");
    let (old_port, new_port) = (free_port(), free_port());
    let mut old = Instance::start_of(&previous, &data_dir, &url, old_port, &log);
    let haproxy = Haproxy::start(dir.path(), &[old_port, new_port]);
    haproxy.wait_for(0, "UP").await;
    let base = format!("https://127.0.0.1:{}", haproxy.port);
    let browser = Browser::of(&base, client_with(&data_dir, None));
    let (p12, first) = browser.issuance("master00", "Sekret927").await.unwrap();
    let identity = identity_pem(&p12, "Sekret927");
    let issuers = |phase: usize| (1..=ISSUERS).map(|i| format!("master{:02}", phase * ISSUERS + i)).collect::<Vec<_>>();

    // 1. This release starts on the database the previous one serves under load, and migrates it.
    let stop = Arc::new(AtomicBool::new(false));
    let during_start = load(&base, &data_dir, ("master00", &identity), issuers(0), stop.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _new = Instance::start_of(this_release(), &data_dir, &url, new_port, &log);
    haproxy.wait_for(1, "UP").await;

    // 2. Both serve logins and issuances for a while.
    let before = haproxy.sessions();
    let both = load(&base, &data_dir, ("master00", &identity), issuers(1), stop.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = haproxy.sessions();
    assert!(before.len() == 2 && after.len() == 2, "HAProxy's counters: {before:?} {after:?}");
    let served: Vec<u64> = after.iter().zip(&before).map(|(after, before)| after.saturating_sub(*before)).collect();

    // 3. The previous release stops (SIGTERM: it drains, HAProxy takes it out); the load goes on.
    old.signal("TERM");
    haproxy.wait_for(0, "DOWN").await;
    assert!(old.wait_exit(Duration::from_secs(20)).await, "the previous release exits cleanly after draining");
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let (during_start, both) = (during_start.await.unwrap(), both.await.unwrap());

    for (phase, seen) in [("while this release started", &during_start), ("with both serving", &both)] {
        assert!(seen.failed.is_empty(), "no failed request {phase}: {:?}", seen.failed);
        assert_eq!(seen.issued.len(), ISSUERS, "every issuance {phase} answered");
    }
    assert!(served.iter().all(|n| *n > 0), "both releases served the load (connections per release: {served:?})");
    let store = TestStore::attach(data_dir.clone(), url.clone()).await;
    let issued: Vec<String> = std::iter::once(first).chain(during_start.issued).chain(both.issued).collect();
    consistent(&store, &issued).await;
    // The audit chain holds across the entries both releases wrote.
    let verified = store.admin(&["audit", "verify"]).await;
    println!(
        "rolling upgrade: {} logins and {} issuances, 0 failed; connections to the previous release and this one while both served: {served:?}; {}",
        during_start.ok + both.ok - issued.len() + 1,
        issued.len(),
        verified.lines().last().unwrap_or_default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_data_directory_and_a_backup_of_the_previous_release_serve_in_this_one() {
    let Some(previous) = previous_release() else { return };
    let (dir, data_dir, url) = fresh_store(&TestDb::Sqlite).await;
    seed(&previous, &data_dir, &url, 1).await;

    // The previous release serves, issues a certificate, and makes a backup.
    let port = free_port();
    let base = format!("https://127.0.0.1:{port}");
    let served = started(serve_command_of(&previous, &data_dir, &url, port, &[]), &data_dir, &base).await;
    let (p12, serial) =
        Browser::of(&base, client_with(&data_dir, None)).issuance("master00", "Sekret927").await.unwrap();
    let identity = identity_pem(&p12, "Sekret927");
    let backup = dir.path().join("previous-release.tar.gz");
    admin(&previous, &data_dir, &url, &["backup", "--to", backup.to_str().unwrap()], "");
    drop(served);

    // Whatever this release serves, the certificate the previous one issued logs in there.
    let logs_in = |data_dir: PathBuf, url: String| {
        let (identity, serial) = (identity.clone(), serial.clone());
        async move {
            let port = free_port();
            let base = format!("https://127.0.0.1:{port}");
            let _served = started(serve_command_of(this_release(), &data_dir, &url, port, &[]), &data_dir, &base).await;
            let mut user = Browser::of(&base, client_with(&data_dir, Some(&identity)));
            let (status, me) = user.login("master00", "Sekret927").await;
            assert_eq!(status, 200, "{me}");
            let store = TestStore::attach(data_dir.clone(), url.clone()).await;
            assert_eq!(
                store.count(&format!("SELECT COUNT(*) AS n FROM certificates WHERE serial = '{serial}'")).await,
                1
            );
            admin(this_release(), &data_dir, &url, &["audit", "verify"], "")
        }
    };
    // 1. The previous release's data directory, opened (and migrated) by this one.
    let verified = logs_in(data_dir.clone(), url.clone()).await;
    assert!(verified.contains("項目"), "{verified}");

    // 2. The previous release's backup, restored by this one into a new data directory.
    let restored = dir.path().join("restored");
    let out = run(Command::new(this_release())
        .arg("--data-dir")
        .arg(&restored)
        .args(["admin", "restore", "--from"])
        .arg(&backup)
        .env("CJS_BACKUP_PASSPHRASE", PASSPHRASE));
    assert!(out.contains("復元"), "{out}");
    let restored_url = format!("sqlite://{}/cjs.db?mode=rwc", restored.display());
    logs_in(restored, restored_url).await;
}
