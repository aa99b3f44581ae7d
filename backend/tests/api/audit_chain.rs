//! Issue 30, §2: an audit log that proves it is complete and unaltered. Each tampering an
//! insider with database rights could do with plain SQL — change a detail, delete an entry in the
//! middle, insert one, swap two, replace a checkpoint with one signed by another key, cut off
//! the newest entries — makes `cjs admin audit verify` fail and name the place; undone, the log
//! verifies again. Then three instances on one database write at once (with transactions that
//! commit late and roll back), and the chain holds every committed entry exactly once.

use std::{path::Path, process::Command};

use backend::{
    audit::{self, key::AuditKey},
    db::entities::audit_checkpoint,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryOrder, TransactionTrait};
use serde_json::json;
use time::OffsetDateTime;

use crate::helpers::{TestDb, TestStore, each_database, run, spawn};

/// `cjs admin audit …` on the store, with checkpoints written to `outside`.
fn audit_cli(store: &TestStore, outside: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cjs"))
        .arg("--data-dir")
        .arg(&store.data_dir)
        .args(["--database-url", &store.database_url])
        .env("CJS_AUDIT_CHECKPOINT_DIR", outside)
        .args(["admin", "audit"])
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Verifies: panics unless it holds.
fn verifies(store: &TestStore, outside: &Path, extra: &[&str]) -> String {
    let out = audit_cli(store, outside, &[&["verify"], extra].concat());
    assert!(out.status.success(), "verify failed:\n{}", text(&out));
    text(&out)
}

/// Verifies: panics unless it fails, naming `place`.
fn fails_naming(store: &TestStore, outside: &Path, extra: &[&str], place: &str, what: &str) {
    let out = audit_cli(store, outside, &[&["verify"], extra].concat());
    let t = text(&out);
    assert!(!out.status.success(), "{what}: verify passed:\n{t}");
    assert!(t.contains(place), "{what}: expected {place:?} in:\n{t}");
}

async fn exec(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Lets plain SQL change the append-only tables, as a database owner can.
async fn drop_guards(db: &DatabaseConnection) {
    for table in ["audit_log", "audit_chain", "audit_checkpoints"] {
        match db.get_database_backend() {
            DbBackend::Postgres => exec(db, &format!("ALTER TABLE {table} DISABLE TRIGGER USER")).await,
            _ => {
                exec(db, &format!("DROP TRIGGER {table}_no_update")).await;
                exec(db, &format!("DROP TRIGGER {table}_no_delete")).await;
            }
        }
    }
}

/// `n` entries through the log's own writer.
async fn write_entries(db: &DatabaseConnection, n: usize, tag: &str) {
    for i in 0..n {
        let entry = audit::Entry {
            action: audit::Action::Exported,
            actor: Some("staff01"),
            subject_user: None,
            org_id: None,
            detail: json!({"list": "users", "tag": tag, "i": i, "note": "改行\nと\"引用符\""}),
        };
        audit::record(db, entry, OffsetDateTime::now_utc()).await.unwrap();
    }
}

each_database!(every_tampering_is_named_and_the_untouched_log_verifies);
async fn every_tampering_is_named_and_the_untouched_log_verifies(db: &TestDb) {
    let store = TestStore::fresh(db).await;
    let outside = tempfile::tempdir().unwrap();
    let o = outside.path();
    store.create_master("テスト株式会社", "master01", "init1234").await;
    write_entries(&store.db, 40, "first").await;
    // The first checkpoint chains the log from its oldest entry and says so.
    let first = audit_cli(&store, o, &["checkpoint"]);
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("start: 通番 1 = 項目 #1"), "{}", text(&first));
    write_entries(&store.db, 20, "second").await;
    let out = audit_cli(&store, o, &["checkpoint"]);
    assert!(out.status.success(), "{}", text(&out));
    let total = store.count("SELECT COUNT(*) AS n FROM audit_log").await;
    let files: Vec<_> = std::fs::read_dir(o).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 2, "one file per checkpoint: {files:?}");
    let newest_file = files.iter().max().unwrap().to_str().unwrap().to_owned();
    let t = verifies(&store, o, &["--from-checkpoint", &newest_file]);
    assert!(t.contains(&format!("項目 {total} 件")) && t.contains("チェックポイント 2 件"), "{t}");

    // The auditor's export verifies offline (Python's standard library and openssl), and a
    // changed byte in it does not.
    let (from, to) = days_around_today();
    let export = o.join("export.jsonl");
    let out = audit_cli(&store, o, &["export", "--from", &from, "--to", &to, "--output", export.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let public = store.data_dir.join("audit-key.pub.pem");
    let checked = offline_check(&export, &public);
    assert!(
        checked.starts_with("OK: ") && checked.contains(&format!("{total} entries, 2 signed checkpoints")),
        "{checked}"
    );
    let doctored = o.join("doctored.jsonl");
    std::fs::write(
        &doctored,
        std::fs::read_to_string(&export).unwrap().replace("\\\"tag\\\":\\\"first\\\"", "\\\"tag\\\":\\\"other\\\""),
    )
    .unwrap();
    assert!(offline_check(&doctored, &public).starts_with("NG: entry #"), "a doctored export fails");

    drop_guards(&store.db).await;
    let d = &store.db;
    save(d).await;

    // 1. A detail changed.
    exec(d, r#"UPDATE audit_log SET detail = '{"list":"nothing"}' WHERE id = 20"#).await;
    fails_naming(&store, o, &[], "項目 #20（通番 20", "altered detail");
    restore(d, &store, o).await;

    // 2. An entry in the middle deleted: alone, and with its link.
    exec(d, "DELETE FROM audit_log WHERE id = 30").await;
    fails_naming(&store, o, &[], "項目 #30（通番 30）が削除されています", "deleted entry");
    restore(d, &store, o).await;
    exec(d, "DELETE FROM audit_log WHERE id = 30").await;
    exec(d, "DELETE FROM audit_chain WHERE seq = 30").await;
    fails_naming(&store, o, &[], "通番 30 の項目がチェーンにありません", "deleted entry and link");
    restore(d, &store, o).await;

    // 3. An entry inserted in the middle: the later ones moved up one id to make room.
    exec(d, "UPDATE audit_log SET id = -id WHERE id > 25").await;
    exec(d, "UPDATE audit_log SET id = 1 - id WHERE id < 0").await;
    exec(
        d,
        r#"INSERT INTO audit_log (id, at, actor, action, subject_user, org_id, detail)
           SELECT 26, at, actor, 'unlocked', 'master01', org_id, '{}' FROM audit_log WHERE id = 25"#,
    )
    .await;
    fails_naming(&store, o, &[], "項目 #26（通番 26", "inserted entry");
    restore(d, &store, o).await;

    // 4. Two entries swapped.
    exec(d, "UPDATE audit_log SET id = -1 WHERE id = 12").await;
    exec(d, "UPDATE audit_log SET id = 12 WHERE id = 13").await;
    exec(d, "UPDATE audit_log SET id = 13 WHERE id = -1").await;
    fails_naming(&store, o, &[], "項目 #12（通番 12", "swapped entries");
    restore(d, &store, o).await;

    // 5. A checkpoint replaced by one signed with another key (saying the log ended earlier).
    let other = tempfile::tempdir().unwrap();
    let forger = AuditKey::load_or_create(&audit::key::AuditKeySource::File(other.path().join("k.pem"))).unwrap();
    let cp =
        audit_checkpoint::Entity::find().order_by_desc(audit_checkpoint::Column::Id).one(d).await.unwrap().unwrap();
    let forged = cp.document.replace(&format!("seq: {}", cp.seq), "seq: 40");
    let sig = base64_of(&forger.sign(forged.as_bytes()).unwrap());
    let stmt = sea_orm::Statement::from_sql_and_values(
        d.get_database_backend(),
        match d.get_database_backend() {
            DbBackend::Postgres => "UPDATE audit_checkpoints SET document = $1, signature = $2 WHERE id = $3",
            _ => "UPDATE audit_checkpoints SET document = ?, signature = ? WHERE id = ?",
        },
        [forged.into(), sig.into(), cp.id.into()],
    );
    d.execute_raw(stmt).await.unwrap();
    fails_naming(&store, o, &[], "で検証できません: 差し替えられています", "forged checkpoint");
    restore(d, &store, o).await;

    // 6. The newest entries deleted after the last checkpoint, with their links: the checkpoint
    // in the database names the cut; deleted too, the mailed file still does.
    let keep = total - 5;
    exec(d, &format!("DELETE FROM audit_chain WHERE seq > {keep}")).await;
    exec(d, &format!("DELETE FROM audit_log WHERE id > {keep}")).await;
    fails_naming(&store, o, &[], &format!("チェーンは通番 {keep} で終わっています"), "tail cut");
    exec(d, "DELETE FROM audit_checkpoints").await;
    let t = verifies(&store, o, &[]);
    assert!(t.contains("チェックポイント 0 件"), "without any checkpoint the shortened chain holds: {t}");
    fails_naming(
        &store,
        o,
        &["--from-checkpoint", &newest_file],
        &format!("チェーンは通番 {keep} で終わっています"),
        "tail cut, mailed checkpoint",
    );
    restore(d, &store, o).await;

    // A lost audit key is not made anew while checkpoints signed by it exist: every earlier
    // one would then look forged.
    std::fs::remove_file(store.data_dir.join("audit-key.pem")).unwrap();
    let out = audit_cli(&store, o, &["checkpoint"]);
    assert!(!out.status.success() && text(&out).contains("the audit key"), "{}", text(&out));
    assert!(!store.data_dir.join("audit-key.pem").exists());
}

/// The days before and after today (JST), as `cjs admin audit export` takes them.
pub fn days_around_today() -> (String, String) {
    let today = OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9)).date();
    let day = |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    (day(today.previous_day().unwrap()), day(today.next_day().unwrap()))
}

/// What `scripts/audit-verify-export` says of `export` with the public key `public`.
pub fn offline_check(export: &Path, public: &Path) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/audit-verify-export");
    let out = Command::new("python3").arg(script).arg(export).arg("--public-key").arg(public).output().unwrap();
    text(&out)
}

/// Copies of the three tables, to undo each tampering.
async fn save(d: &DatabaseConnection) {
    for (table, copy) in TABLES {
        exec(d, &format!("CREATE TABLE {copy} AS SELECT * FROM {table}")).await;
    }
}

const TABLES: [(&str, &str); 3] =
    [("audit_log", "saved_log"), ("audit_chain", "saved_chain"), ("audit_checkpoints", "saved_checkpoints")];

/// Puts the saved tables back, and checks that the log verifies again.
async fn restore(d: &DatabaseConnection, store: &TestStore, o: &Path) {
    for (table, copy) in TABLES {
        exec(d, &format!("DELETE FROM {table}")).await;
        exec(d, &format!("INSERT INTO {table} SELECT * FROM {copy}")).await;
    }
    verifies(store, o, &[]);
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Three instances on one PostgreSQL database, each with its own sealer, while 30 writers put
/// 3,000 entries through transactions that commit after a random while (so entries commit out of
/// id order) and one in ten roll back (gaps in the ids): every committed entry is chained once,
/// and the log verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_writing_at_once_keep_one_chain() {
    let Some(db) = TestDb::postgres() else { return };
    let first = spawn(&db, Default::default()).await;
    let second = spawn(&db, first.second_instance()).await;
    let third = spawn(&db, first.second_instance()).await;
    let pools = [first.db.clone(), second.db.clone(), third.db.clone()];
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..30usize {
        let pool = pools[w % 3].clone();
        writers.spawn(async move {
            let mut committed = 0u64;
            for i in 0..110usize {
                let txn = pool.begin().await.unwrap();
                write_entries_in(&txn, w, i).await;
                tokio::time::sleep(std::time::Duration::from_millis(((w * 7 + i * 13) % 25) as u64)).await;
                if i % 11 == 10 {
                    txn.rollback().await.unwrap();
                } else {
                    txn.commit().await.unwrap();
                    committed += 1;
                }
            }
            committed
        });
    }
    let mut committed = 0;
    while let Some(n) = writers.join_next().await {
        committed += n.unwrap();
    }
    assert_eq!(committed, 3_000);
    audit::chain::seal(&first.db, OffsetDateTime::now_utc()).await.unwrap();
    let entries = first.count("SELECT COUNT(*) AS n FROM audit_log").await;
    assert_eq!(first.count("SELECT COUNT(*) AS n FROM audit_chain").await, entries, "every entry chained once");
    assert_eq!(
        first.count("SELECT COUNT(*) AS n FROM audit_log a JOIN audit_chain c ON c.entry_id = a.id").await,
        entries
    );
    let outside = tempfile::tempdir().unwrap();
    let out = run(Command::new(env!("CARGO_BIN_EXE_cjs"))
        .arg("--data-dir")
        .arg(&first.data_dir)
        .args(["--database-url", &first.database_url, "admin", "audit", "verify"])
        .env("CJS_AUDIT_CHECKPOINT_DIR", outside.path()));
    assert!(out.contains(&format!("項目 {entries} 件")), "{out}");
}

async fn write_entries_in<C: ConnectionTrait>(txn: &C, writer: usize, i: usize) {
    let entry = audit::Entry {
        action: audit::Action::Exported,
        actor: Some("staff01"),
        subject_user: None,
        org_id: None,
        detail: json!({"writer": writer, "i": i}),
    };
    audit::record(txn, entry, OffsetDateTime::now_utc()).await.unwrap();
}

/// A stopping instance signs the head it leaves (SIGTERM), and files the checkpoint outside the
/// data directory; the log verifies against that file. A directory inside the data directory is
/// refused at start.
#[tokio::test]
async fn a_stopping_instance_signs_a_checkpoint_and_files_it() {
    let store = TestStore::fresh(&TestDb::Sqlite).await;
    store.create_master("停止前株式会社", "master01", "init1234").await;
    let outside = tempfile::tempdir().unwrap();
    let port = crate::helpers::free_port();
    let base = format!("https://127.0.0.1:{port}");
    let mut cmd = crate::helpers::serve_command(&store.data_dir, &store.database_url, port, &[]);
    cmd.env("CJS_AUDIT_CHECKPOINT_DIR", outside.path());
    let mut server = crate::helpers::started(cmd, &store.data_dir, &base).await;
    // An entry written by the server itself: a wrong password.
    let (status, _) = crate::helpers::Browser::of(&base, crate::helpers::client_with(&store.data_dir, None))
        .authenticate("master01", "Wrong9999")
        .await;
    assert_eq!(status, 401);
    assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none(), "no checkpoint before the stop");
    run(Command::new("kill").args(["-TERM", &server.0.id().to_string()]));
    assert!(server.0.wait().unwrap().success());
    let files: Vec<_> = std::fs::read_dir(outside.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let entries = store.count("SELECT COUNT(*) AS n FROM audit_log").await;
    let out = verifies(&store, outside.path(), &["--from-checkpoint", files[0].to_str().unwrap()]);
    assert!(out.contains(&format!("項目 {entries} 件")) && out.contains("チェックポイント 1 件"), "{out}");

    let inside = store.data_dir.join("checkpoints");
    let refused = Command::new(env!("CARGO_BIN_EXE_cjs"))
        .arg("--data-dir")
        .arg(&store.data_dir)
        .args(["--database-url", &store.database_url, "admin", "audit", "verify"])
        .env("CJS_AUDIT_CHECKPOINT_DIR", &inside)
        .output()
        .unwrap();
    assert!(!refused.status.success() && text(&refused).contains("is inside the data directory"), "{}", text(&refused));
}
