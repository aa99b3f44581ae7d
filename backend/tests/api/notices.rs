//! Issue 13, "telling the owner": a certificate issued for an ID, a password change and an e-mail
//! change each queue the owner's notice (recipient, subject, JST time, serial, client address)
//! in the transaction of the change — a refused change queues nothing, and a notice that cannot
//! be queued undoes the change.

use backend::db::entities::{audit_log, certificate, mail_outbox, user};
use common::jst;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder};

use crate::helpers::{TestApp, TestDb, each_database, spawn_app};

const OWNER: &str = "master01@example.co.jp";

/// Outbox rows whose dedupe key starts with `prefix`, oldest first.
async fn queued(app: &TestApp, prefix: &str) -> Vec<mail_outbox::Model> {
    mail_outbox::Entity::find()
        .filter(mail_outbox::Column::DedupeKey.starts_with(prefix))
        .order_by_asc(mail_outbox::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

/// A fault: the database refuses outbox rows whose dedupe key starts with `prefix` until
/// [`accept_outbox`].
async fn refuse_outbox(app: &TestApp, prefix: &str) {
    let statements = match app.db.get_database_backend() {
        DbBackend::Postgres => vec![
            format!(
                "CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF NEW.dedupe_key LIKE '{prefix}%' THEN RAISE EXCEPTION 'refused by the test'; END IF; \
                 RETURN NEW; END; $$;"
            ),
            "CREATE TRIGGER refuse_outbox BEFORE INSERT ON mail_outbox FOR EACH ROW EXECUTE FUNCTION refuse_outbox();"
                .to_owned(),
        ],
        _ => vec![format!(
            "CREATE TRIGGER refuse_outbox BEFORE INSERT ON mail_outbox WHEN NEW.dedupe_key LIKE '{prefix}%' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
        )],
    };
    for s in statements {
        app.db.execute_unprepared(&s).await.unwrap();
    }
}

async fn accept_outbox(app: &TestApp) {
    let sql = match app.db.get_database_backend() {
        DbBackend::Postgres => "DROP TRIGGER refuse_outbox ON mail_outbox; DROP FUNCTION refuse_outbox();",
        _ => "DROP TRIGGER refuse_outbox;",
    };
    app.db.execute_unprepared(sql).await.unwrap();
}

/// A fault on PostgreSQL: the commit of a transaction that inserted a row into `table` matching
/// `when` fails (a deferred constraint trigger), after every statement of it succeeded — so a
/// notice queued outside that transaction would stay behind. (On SQLite a notice written by
/// another connection could not pass the open transaction's write lock at all.)
async fn refuse_commit(app: &TestApp, table: &str, when: &str) {
    for s in [
        "CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         RAISE EXCEPTION 'commit refused by the test'; END; $$;"
            .to_owned(),
        format!(
            "CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT ON {table} DEFERRABLE INITIALLY DEFERRED \
             FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION refuse_commit();"
        ),
    ] {
        app.db.execute_unprepared(&s).await.unwrap();
    }
}

async fn accept_commit(app: &TestApp, table: &str) {
    let sql = format!("DROP TRIGGER refuse_commit ON {table}; DROP FUNCTION refuse_commit();");
    app.db.execute_unprepared(&sql).await.unwrap();
}

fn is_postgres(app: &TestApp) -> bool {
    app.db.get_database_backend() == DbBackend::Postgres
}

/// When the newest audit entry of `action` was made, as the notices write it.
async fn jst_of_last(app: &TestApp, action: &str) -> String {
    let entry = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq(action))
        .order_by_desc(audit_log::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    jst::format_datetime(entry.at)
}

each_database!(an_issued_certificate_is_notified_to_its_owner_in_the_issuing_transaction);
async fn an_issued_certificate_is_notified_to_its_owner_in_the_issuing_transaction(db: &TestDb) {
    let app = spawn_app(db).await;
    app.master_ready("テスト株式会社", "master01", "Sekret927").await;

    // The notice cannot be queued: no certificate is recorded either.
    refuse_outbox(&app, "issued:").await;
    let token = app.browser().token("master01", "Sekret927").await.unwrap();
    let r = app.browser().issue(&token, "Sekret927").await;
    assert_eq!(r.status(), 500, "{db:?}");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM certificates").await, 0, "{db:?}");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'certificate_issued'").await, 0);
    accept_outbox(&app).await;
    assert!(queued(&app, "issued:").await.is_empty());
    if is_postgres(&app) {
        // The commit fails after the notice was queued: the notice goes with the certificate.
        refuse_commit(&app, "certificates", "true").await;
        let token = app.browser().token("master01", "Sekret927").await.unwrap();
        let r = app.browser().issue(&token, "Sekret927").await;
        assert_eq!(r.status(), 500);
        accept_commit(&app, "certificates").await;
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM certificates").await, 0);
        assert!(queued(&app, "issued:").await.is_empty(), "no notice of a certificate that was not recorded");
    }

    let (_, serial) = app.issued_identity("master01", "Sekret927").await;
    let mails = queued(&app, "issued:").await;
    assert_eq!(mails.len(), 1, "{db:?}");
    let m = &mails[0];
    let cert = certificate::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!((m.dedupe_key.as_str(), m.to_addr.as_str()), (format!("issued:{serial}").as_str(), OWNER));
    assert_eq!(m.subject, "【ろうきん賃金控除事務支援システム】電子証明書が発行されました");
    for part in [
        format!("シリアル番号: {serial}"),
        format!("発行日時: {}（日本時間）", jst::format_datetime(cert.created_at)),
        format!("有効期限: {}（日本時間）", jst::format_datetime(cert.not_after)),
        "接続元: 127.0.0.1".to_owned(),
        "失効".to_owned(),
    ] {
        assert!(m.body.contains(&part), "{db:?} {part}: {}", m.body);
    }

    // A refused issue (R3: the certificate is still valid) queues nothing.
    assert_eq!(app.browser().token("master01", "Sekret927").await.unwrap_err().0, 409);
    assert_eq!(queued(&app, "issued:").await.len(), 1);
}

each_database!(password_and_email_changes_are_notified_in_their_transaction);
async fn password_and_email_changes_are_notified_in_their_transaction(db: &TestDb) {
    let app = spawn_app(db).await;
    app.create_master("テスト株式会社", "master01", "init1234").await;

    // Refused changes queue nothing: a wrong current password, a bad address.
    assert_eq!(app.change_password("master01", "Wrong1234", "Sekret927", None).await.0, 401, "{db:?}");
    assert_eq!(app.change_password("master01", "init1234", "Sekret927", Some("nope")).await.0, 400);
    // A notice that cannot be queued undoes the change: the initial password still holds.
    refuse_outbox(&app, "password:").await;
    assert_eq!(app.change_password("master01", "init1234", "Sekret927", None).await.0, 500, "{db:?}");
    accept_outbox(&app).await;
    if is_postgres(&app) {
        // The commit fails after the notices were queued: they go with the change.
        refuse_commit(&app, "audit_log", "NEW.action = 'password_changed'").await;
        assert_eq!(app.change_password("master01", "init1234", "Sekret927", Some("other@example.co.jp")).await.0, 500);
        accept_commit(&app, "audit_log").await;
    }
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM mail_outbox").await, 0, "{db:?}");
    assert_eq!(app.browser().token("master01", "init1234").await.unwrap_err().0, 428, "still the initial password");

    // The initial registration, address unchanged: one notice, to the registered address.
    assert_eq!(app.change_password("master01", "init1234", "Sekret927", Some(OWNER)).await.0, 200);
    let mails = queued(&app, "password:").await;
    assert_eq!(mails.len(), 1, "{db:?}");
    assert_eq!(mails[0].to_addr, OWNER);
    assert_eq!(mails[0].subject, "【ろうきん賃金控除事務支援システム】パスワードが変更されました");
    let at = jst_of_last(&app, "password_changed").await;
    assert!(mails[0].body.contains(&format!("{at}（日本時間）")), "{}", mails[0].body);
    assert!(mails[0].body.contains("接続元: 127.0.0.1"), "{}", mails[0].body);
    assert!(queued(&app, "email:").await.is_empty(), "the address did not change");

    // A later change with a new address: the password notice to the old address, and one
    // e-mail notice to each address.
    assert_eq!(app.change_password("master01", "Sekret927", "Other1234", Some("new@example.co.jp")).await.0, 200);
    let passwords = queued(&app, "password:").await;
    assert_eq!(passwords.len(), 2, "two changes, two notices");
    assert_eq!(passwords[1].to_addr, OWNER, "told at the address on record before the change");
    let emails = queued(&app, "email:").await;
    let to: Vec<&str> = emails.iter().map(|m| m.to_addr.as_str()).collect();
    assert_eq!(to, [OWNER, "new@example.co.jp"], "{db:?}");
    let at = jst_of_last(&app, "password_changed").await;
    for m in &emails {
        assert_eq!(m.subject, "【ろうきん賃金控除事務支援システム】メールアドレスが変更されました");
        assert!(m.body.contains(&format!("{at}（日本時間）")) && m.body.contains("接続元: 127.0.0.1"), "{}", m.body);
    }
    assert!(emails[0].body.contains("n***@example.co.jp"), "{}", emails[0].body);

    // An address change whose notices cannot be queued changes nothing, password included.
    refuse_outbox(&app, "email:").await;
    assert_eq!(app.change_password("master01", "Other1234", "Third1234", Some("x@example.co.jp")).await.0, 500);
    accept_outbox(&app).await;
    let u = user::Entity::find().filter(user::Column::UserId.eq("master01")).one(&app.db).await.unwrap().unwrap();
    assert_eq!(u.email, "new@example.co.jp", "{db:?}");
    assert_eq!(queued(&app, "password:").await.len(), 2);
    assert_eq!(app.browser().token("master01", "Other1234").await.map(|_| ()), Ok(()), "the password is unchanged");
}
