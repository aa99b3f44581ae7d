//! The account lifecycle after the first day (issue 28): password reset and retirement (利用停止)
//! — who may do them to whom (every cell of role × action × own/other company, with its status),
//! what each does end to end, the CLI commands, and the races an attacker or a busy bank would
//! mix: a reset against a login, a retirement against an issuance, two staff members retiring
//! each other.

use backend::{
    auth::{
        AccountError,
        accounts::{self, Actor},
    },
    certificates::{masters, retirement},
    db::entities::user,
};
use common::{UserId, api::Role};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::helpers::{Browser, Options, TestApp, TestDb, each_database, openssl_ocsp, run, spawn, spawn_app};

const PW: &str = "Sekret927";

/// A general user of `master`'s company with `PW` as their own password (no longer the initial one).
async fn general_ready(app: &TestApp, master: &str, id: &str) {
    app.create_general(master, id, "init1234").await;
    let (status, body) = app.change_password(id, "init1234", PW, None).await;
    assert_eq!(status, 200, "{body}");
}

async fn find(app: &TestApp, id: &str) -> user::Model {
    user::Entity::find().filter(user::Column::UserId.eq(id)).one(&app.db).await.unwrap().unwrap()
}

fn reset_path(scope: &str, id: &str) -> String {
    format!("/api/{scope}/users/{id}/reset-password")
}

fn retire_path(scope: &str, id: &str) -> String {
    format!("/api/{scope}/users/{id}/retire")
}

#[tokio::test]
async fn who_may_reset_and_retire_whom_cell_by_cell() {
    let app = spawn_app(&TestDb::Sqlite).await;
    let master_a = app.master_session("会社A", "mastera1", PW).await;
    app.master_ready("会社B", "masterb1", PW).await;
    general_ready(&app, "mastera1", "generala1").await;
    general_ready(&app, "mastera1", "generala2").await;
    general_ready(&app, "masterb1", "generalb1").await;
    app.staff_ready("staff002", PW).await;
    let (general_identity, _) = app.issued_identity("generala1", PW).await;
    let general_a = app.login(&general_identity, "generala1", PW).await;
    let anonymous = app.browser();

    // Nobody logged in: 401 on both scopes.
    for path in [reset_path("org", "generala2"), reset_path("admin", "generala2"), retire_path("admin", "generala2")] {
        assert_eq!(anonymous.post(&path, &json!({}), None).await.0, 401, "{path}");
    }
    // A general user: 403 on both scopes, whoever the target.
    for target in ["generala2", "generala1", "mastera1"] {
        for path in [reset_path("org", target), retire_path("org", target), reset_path("admin", target)] {
            assert_eq!(general_a.post(&path, &json!({}), None).await.0, 403, "{path}");
        }
    }
    // A master user: their company's general users only; others hidden (404); themselves 403.
    for (target, status) in [("generalb1", 404), ("masterb1", 404), ("staff002", 404), ("mastera1", 403)] {
        assert_eq!(master_a.post(&reset_path("org", target), &json!({}), None).await.0, status, "reset {target}");
        assert_eq!(master_a.post(&retire_path("org", target), &json!({}), None).await.0, status, "retire {target}");
    }
    assert_eq!(master_a.post(&reset_path("admin", "generala2"), &json!({}), None).await.0, 403, "not staff");
    let (status, body) = master_a.post(&reset_path("org", "generala2"), &json!({}), None).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = master_a.post(&retire_path("org", "generala2"), &json!({"reason": "退職"}), None).await;
    assert_eq!(status, 200, "{body}");
    // Nothing more can be done to a retired user.
    assert_eq!(master_a.post(&reset_path("org", "generala2"), &json!({}), None).await.0, 409);
    assert_eq!(master_a.post(&retire_path("org", "generala2"), &json!({}), None).await.0, 409);

    // Staff: anyone but themselves.
    let staff = app.staff_session("staff001", PW).await;
    for target in ["generalb1", "masterb1", "staff002"] {
        let (status, body) = staff.post(&reset_path("admin", target), &json!({}), None).await;
        assert_eq!(status, 200, "reset {target}: {body}");
    }
    assert_eq!(staff.post(&reset_path("admin", "staff001"), &json!({}), None).await.0, 403, "own password");
    assert_eq!(staff.post(&retire_path("admin", "staff001"), &json!({}), None).await.0, 403, "themselves");
    assert_eq!(staff.post(&reset_path("admin", "nosuch01"), &json!({}), None).await.0, 404);
    assert_eq!(staff.post(&reset_path("org", "generalb1"), &json!({}), None).await.0, 403, "not a master");
    for target in ["generalb1", "masterb1", "staff002"] {
        let (status, body) = staff.post(&retire_path("admin", target), &json!({}), None).await;
        assert_eq!(status, 200, "retire {target}: {body}");
    }
    // staff001 is now the last active staff member: the shell cannot retire them either.
    let last = retirement::retire(&app.db, &Actor::Cli, &UserId::parse("staff001").unwrap(), None, "x", now()).await;
    assert!(matches!(last, Err(AccountError::LastStaffMember)), "{last:?}");
    // Bad input changes nothing.
    let long = "退".repeat(201);
    let (status, body) = staff.post(&retire_path("admin", "generala1"), &json!({"reason": long}), None).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("reason")), "{body}");
    assert!(find(&app, "generala1").await.retired_at.is_none());
    let audit = |action: &str| format!("SELECT COUNT(*) AS n FROM audit_log WHERE action = '{action}'");
    assert_eq!(app.count(&audit("password_reset")).await, 4);
    assert_eq!(app.count(&audit("retired")).await, 4);
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

each_database!(a_reset_gives_a_one_time_password_lifts_the_lock_and_ends_sessions);
async fn a_reset_gives_a_one_time_password_lifts_the_lock_and_ends_sessions(db: &TestDb) {
    let app = spawn_app(db).await;
    let master = app.master_session("会社A", "mastera1", PW).await;
    general_ready(&app, "mastera1", "generala1").await;
    let (identity, _) = app.issued_identity("generala1", PW).await;
    let session = app.login(&identity, "generala1", PW).await;
    // Locked by six wrong passwords.
    for _ in 0..6 {
        app.browser().authenticate("generala1", "Wrong9999").await;
    }
    assert_eq!(app.browser().authenticate("generala1", PW).await.0, 423, "{db:?}");

    let (status, body) = master.post(&reset_path("org", "generala1"), &json!({}), None).await;
    assert_eq!(status, 200, "{body}");
    let initial = body["initial_password"].as_str().unwrap().to_owned();
    assert_eq!(body["user"]["state"]["must_change_password"], json!(true));
    assert!(body["user"]["state"]["locked_until"].is_null(), "the lock is lifted: {body}");
    assert_eq!(session.get("/api/me").await.0, 401, "the user's sessions end");
    assert_eq!(app.browser().authenticate("generala1", PW).await.0, 401, "the old password is gone");
    // The new one is a one-time initial password (R11): it must be changed first.
    let (status, body) = app.browser().authenticate("generala1", &initial).await;
    assert_eq!((status, body["code"].as_str()), (428, Some("password_change_required")), "{body}");
    let (status, body) = app.change_password("generala1", &initial, "Fresh2345", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.login(&identity, "generala1", "Fresh2345").await.get("/api/me").await.0, 200);
    // The audit entry names the master; the owner is told at the address on record.
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'password_reset' AND actor = 'mastera1' AND subject_user = 'generala1'").await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM mail_outbox WHERE dedupe_key LIKE 'reset:%' AND to_addr = 'generala1@example.co.jp'").await,
        1
    );
}

each_database!(retiring_revokes_ends_sessions_refuses_and_frees_the_seat);
async fn retiring_revokes_ends_sessions_refuses_and_frees_the_seat(db: &TestDb) {
    let app = spawn(db, Options { http_listen: true, ..Options::default() }).await;
    let master = app.master_session("会社A", "mastera1", PW).await;
    general_ready(&app, "mastera1", "generala1").await;
    let (identity, serial) = app.issued_identity("generala1", PW).await;
    let session = app.login(&identity, "generala1", PW).await;
    let holders = |org: &Value| org["with_certificates"].as_u64().unwrap();
    let before = holders(&master.get("/api/org/users").await.1);

    let (status, body) = master.post(&retire_path("org", "generala1"), &json!({"reason": "退職のため"}), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["revoked"], json!([serial]));
    assert!(body["user"]["state"]["retired_at"].is_string(), "{body}");
    assert_eq!(session.get("/api/me").await.0, 401, "the session ends");
    assert_eq!(holders(&master.get("/api/org/users").await.1), before - 1, "the seat is free");
    // Every later authentication and login is refused; the certificate is revoked for everyone.
    let (status, body) = app.browser().authenticate("generala1", PW).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("retired")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("利用停止"), "{body}");
    let (status, body) = Browser::new(&app, Some(&identity)).login("generala1", PW).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("certificate_revoked")), "{body}");
    let ocsp_url = format!("http://127.0.0.1:{}/pki/ocsp", app.http_port.unwrap());
    let ocsp = openssl_ocsp(&app.data_dir.join("ca.pem"), &identity, &ocsp_url).await;
    assert!(ocsp.contains(": revoked") && ocsp.contains("Reason: cessationOfOperation"), "{ocsp}");
    // Kept for the audit log: the row, the ID (not reusable), the entry with its reason.
    assert!(find(&app, "generala1").await.retired_at.is_some());
    let (status, _) =
        master.post("/api/org/users", &json!({"user_id": "generala1", "email": "x@example.co.jp"}), None).await;
    assert_eq!(status, 400, "the ID stays taken");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'retired' AND detail LIKE '%退職のため%'").await,
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM mail_outbox WHERE dedupe_key LIKE 'retired:%'").await, 1);
}

each_database!(a_retirement_racing_an_issuance_never_leaves_an_active_certificate, flavor = "multi_thread");
async fn a_retirement_racing_an_issuance_never_leaves_an_active_certificate(db: &TestDb) {
    let app = spawn_app(db).await;
    app.master_ready("会社A", "mastera1", PW).await;
    let (mut issued, mut refused) = (0, 0);
    for i in 0..6 {
        let id = format!("racer{i:03}");
        general_ready(&app, "mastera1", &id).await;
        let token = app.browser().token(&id, PW).await.unwrap();
        let target = UserId::parse(&id).unwrap();
        let revocations = app.state.revocations.clone();
        // Half the rounds start the retirement first, half the issue.
        let retire = async {
            if i % 2 == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            retirement::retire_serving(&revocations, &app.db, &Actor::Cli, &target, None, "https://x", now()).await
        };
        let browser = app.browser();
        let issue = async {
            if i % 2 == 1 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            browser.issue(&token, PW).await.status().as_u16()
        };
        let (retired, status) = tokio::join!(retire, issue);
        retired.unwrap();
        match status {
            200 => issued += 1,
            403 => refused += 1,
            other => panic!("issue answered {other}"),
        }
        let active = format!(
            "SELECT COUNT(*) AS n FROM certificates c JOIN users u ON u.id = c.user_pk WHERE u.user_id = '{id}' AND c.status = 'active'"
        );
        assert_eq!(app.count(&active).await, 0, "{db:?} round {i}: an active certificate of a retired user");
        assert_eq!(find(&app, &id).await.certified_until, None, "{db:?} round {i}: the renewal date of a revoked one");
    }
    eprintln!("{db:?}: issued then revoked {issued}, refused {refused}");
}

each_database!(a_reset_racing_a_login_leaves_no_session_of_the_old_password, flavor = "multi_thread");
async fn a_reset_racing_a_login_leaves_no_session_of_the_old_password(db: &TestDb) {
    let app = spawn_app(db).await;
    app.master_ready("会社A", "mastera1", PW).await;
    general_ready(&app, "mastera1", "generala1").await;
    let (identity, _) = app.issued_identity("generala1", PW).await;
    let target = UserId::parse("generala1").unwrap();
    let mut password = PW.to_owned();
    for round in 0..6 {
        let mut browser = Browser::new(&app, Some(&identity));
        let login = async {
            if round % 2 == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            }
            browser.login("generala1", &password).await.0
        };
        let reset = async {
            if round % 2 == 1 {
                tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            }
            accounts::reset_password(&app.db, &app.auth.hasher, &Actor::Cli, &target, "https://x", now()).await
        };
        let (status, reset) = tokio::join!(login, reset);
        assert!(matches!(status, 200 | 401), "{db:?} round {round}: login answered {status}");
        let (_, initial) = reset.unwrap();
        assert_eq!(browser.get("/api/me").await.0, 401, "{db:?} round {round}: a session outlived the reset");
        assert_eq!(
            app.count(
                "SELECT COUNT(*) AS n FROM sessions s JOIN users u ON u.id = s.user_pk WHERE u.user_id = 'generala1'"
            )
            .await,
            0
        );
        password = format!("Round{round}x9");
        let (status, body) = app.change_password("generala1", initial.expose(), &password, None).await;
        assert_eq!(status, 200, "{body}");
    }
}

each_database!(two_staff_members_retiring_each_other_at_once_leave_one, flavor = "multi_thread");
async fn two_staff_members_retiring_each_other_at_once_leave_one(db: &TestDb) {
    let app = spawn_app(db).await;
    app.create_staff("staff001", "Init1234").await;
    app.create_staff("staff002", "Init1234").await;
    let one = Actor::User(Box::new(find(&app, "staff001").await));
    let two = Actor::User(Box::new(find(&app, "staff002").await));
    let (id1, id2) = (UserId::parse("staff001").unwrap(), UserId::parse("staff002").unwrap());
    let (a, b) = tokio::join!(
        retirement::retire(&app.db, &one, &id2, None, "x", now()),
        retirement::retire(&app.db, &two, &id1, None, "x", now()),
    );
    let done = [a.is_ok(), b.is_ok()].iter().filter(|&&ok| ok).count();
    assert_eq!(done, 1, "{db:?}: {a:?} {b:?}");
    assert!(matches!(a.err().or(b.err()), Some(AccountError::LastStaffMember)));
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM users WHERE role = 'staff' AND retired_at IS NULL").await, 1);
}

#[tokio::test]
async fn the_cli_resets_and_retires() {
    let app = spawn_app(&TestDb::Sqlite).await;
    app.master_ready("会社A", "mastera1", PW).await;
    general_ready(&app, "mastera1", "generala1").await;
    let (_, serial) = app.issued_identity("generala1", PW).await;
    let cjs = |args: &[&str]| {
        run(std::process::Command::new(env!("CARGO_BIN_EXE_cjs"))
            .arg("--data-dir")
            .arg(&app.data_dir)
            .args(["--database-url", &app.database_url])
            .arg("admin")
            .args(args))
    };
    let out = cjs(&["reset-password", "--user-id", "generala1"]);
    let initial = out.lines().find_map(|l| l.strip_prefix("初期パスワード（一度だけ表示します）: ")).unwrap();
    let (status, body) = app.browser().authenticate("generala1", initial).await;
    assert_eq!((status, body["code"].as_str()), (428, Some("password_change_required")), "{out}");
    // Issue 29 §6: the RFC's spelling of a reason; keyCompromise revokes the password, as said.
    let out = cjs(&["revoke", "--user-id", "generala1", "--reason", "keyCompromise"]);
    assert!(out.contains(&serial) && out.contains("パスワードを無効にしました"), "{out}");
    let (status, body) = app.browser().authenticate("generala1", initial).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("password_revoked")), "{body}");
    let out = cjs(&["retire", "--user-id", "generala1", "--reason", "退職"]);
    assert!(out.contains("利用を停止しました: generala1"), "{out}");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'retired' AND actor = 'cli'").await, 1);

    // set-master: a general user, then a new account with create-org's flags.
    general_ready(&app, "mastera1", "generala2").await;
    let out = cjs(&["set-master", "--user-id", "generala2"]);
    assert!(
        out.contains("マスターユーザーを変更しました: generala2") && out.contains("mastera1（一般ユーザー）"),
        "{out}"
    );
    assert!(out.contains("初期パスワード（一度だけ表示します）: "), "{out}");
    let org = find(&app, "generala2").await.org_id.unwrap().to_string();
    let out = cjs(&[
        "set-master",
        "--org-id",
        &org,
        "--master-id",
        "newmast1",
        "--email",
        "n@example.co.jp",
        "--retire-former",
    ]);
    assert!(out.contains("newmast1") && out.contains("generala2（利用停止）"), "{out}");
    assert_eq!(find(&app, "newmast1").await.role, Role::Master);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'master_changed' AND actor = 'cli'").await,
        2
    );
    // change-email.
    let out = cjs(&["change-email", "--user-id", "mastera1", "--email", "m2@example.co.jp"]);
    assert!(out.contains("mastera1 → m2@example.co.jp"), "{out}");
    assert_eq!(find(&app, "mastera1").await.email, "m2@example.co.jp");
}

each_database!(a_suspended_company_is_refused_everywhere_until_resumed);
async fn a_suspended_company_is_refused_everywhere_until_resumed(db: &TestDb) {
    let app = spawn_app(db).await;
    let staff = app.staff_session("staff001", PW).await;
    let master = app.master_session("会社A", "mastera1", PW).await;
    general_ready(&app, "mastera1", "generala1").await;
    let (identity, _) = app.issued_identity("generala1", PW).await;
    let general = app.login(&identity, "generala1", PW).await;
    let org = find(&app, "mastera1").await.org_id.unwrap();
    let suspend = format!("/api/admin/organizations/{org}/suspend");
    let resume = format!("/api/admin/organizations/{org}/resume");
    assert_eq!(master.post(&suspend, &json!({}), None).await.0, 403, "{db:?}: staff only");

    let (status, body) = staff.post(&suspend, &json!({}), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["suspended_at"].is_string(), "{body}");
    assert_eq!(general.get("/api/me").await.0, 401, "the sessions end at once");
    assert_eq!(master.get("/api/me").await.0, 401);
    // Refused with its own words once the password is right; a wrong one is still counted.
    let (status, body) = app.browser().authenticate("generala1", PW).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("suspended")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("労金"), "{body}");
    assert_eq!(app.browser().authenticate("generala1", "Wrong9999").await.0, 401);
    let (status, body) = Browser::new(&app, Some(&identity)).login("generala1", PW).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("suspended")), "{body}");
    assert_eq!(staff.post(&suspend, &json!({}), None).await.0, 409, "already suspended");
    // Nothing was revoked: resuming restores everything.
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM certificates WHERE status = 'revoked'").await, 0);
    let (status, body) = staff.post(&resume, &json!({}), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["suspended_at"].is_null(), "{body}");
    assert_eq!(app.login(&identity, "generala1", PW).await.get("/api/me").await.0, 200);
    assert_eq!(staff.post(&resume, &json!({}), None).await.0, 409, "not suspended");
    let audit = |action: &str| format!("SELECT COUNT(*) AS n FROM audit_log WHERE action = '{action}'");
    assert_eq!(app.count(&audit("organization_suspended")).await, 1);
    assert_eq!(app.count(&audit("organization_resumed")).await, 1);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM mail_outbox WHERE dedupe_key LIKE 'org-suspended:%'").await, 1);
}

each_database!(a_company_change_renames_later_certificates_and_guards_the_limit);
async fn a_company_change_renames_later_certificates_and_guards_the_limit(db: &TestDb) {
    let app = spawn_app(db).await;
    let staff = app.staff_session("staff001", PW).await;
    app.master_ready("会社A", "mastera1", PW).await;
    app.create_master("会社B", "masterb1", "init1234").await;
    general_ready(&app, "mastera1", "generala1").await;
    app.issued_identity("generala1", PW).await;
    let org = find(&app, "mastera1").await.org_id.unwrap();
    let path = format!("/api/admin/organizations/{org}");

    // Below the one holder: refused with the field, unless forced.
    let (status, body) = staff.post(&path, &json!({"certificate_limit": 0}), None).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("certificate_limit")), "{db:?}: {body}");
    let (status, body) = staff.post(&path, &json!({"certificate_limit": 0, "force": true}), None).await;
    assert_eq!((status, body["certificate_limit"].as_u64()), (200, Some(0)), "{body}");
    let (status, body) = app.browser().authenticate("mastera1", PW).await;
    assert_eq!(status, 409, "the limit holds back a new issue: {body}");
    // A name taken by another company is refused and changes nothing; a free one is kept.
    let (status, body) = staff.post(&path, &json!({"name": "会社B"}), None).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("name")), "{body}");
    let (status, body) = staff.post(&path, &json!({"name": "新会社", "certificate_limit": 5}), None).await;
    assert_eq!((status, body["name"].as_str()), (200, Some("新会社")), "{body}");
    // The next certificate carries the new name in O=.
    let (identity, _) = app.issued_identity("mastera1", PW).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("id.pem"), &identity).unwrap();
    let subject = run(std::process::Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-nameopt", "utf8", "-in"])
        .arg(dir.path().join("id.pem")));
    assert!(subject.contains("O=新会社") || subject.contains("O = 新会社"), "{subject}");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'organization_updated'").await, 2);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM organizations WHERE name_search = '新会社'").await, 1);
}

fn make_master_path(id: &str) -> String {
    format!("/api/admin/users/{id}/make-master")
}

fn email_path(scope: &str, id: &str) -> String {
    format!("/api/{scope}/users/{id}/email")
}

each_database!(staff_change_the_master_and_the_former_one_is_kept_or_retired);
async fn staff_change_the_master_and_the_former_one_is_kept_or_retired(db: &TestDb) {
    let app = spawn_app(db).await;
    let master_a = app.master_session("会社A", "mastera1", PW).await;
    general_ready(&app, "mastera1", "generala1").await;
    general_ready(&app, "mastera1", "generala2").await;
    app.master_ready("会社B", "masterb1", PW).await;
    // The master's certificate (their session logged in with it).
    let serial = backend::db::entities::certificate::Entity::find()
        .filter(backend::db::entities::certificate::Column::SubjectCn.eq("mastera1"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .serial;
    let staff = app.staff_session("staff001", PW).await;
    let audit = "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'master_changed'";

    // Refused, and nothing written: not staff, not a general user of a company, retired, unknown.
    assert_eq!(master_a.post(&make_master_path("generala1"), &json!({}), None).await.0, 403, "a master user");
    app.staff_ready("staff002", PW).await;
    // Another company's master and a staff member are no general user of a company; staff never act on themselves.
    for (target, status) in [("masterb1", 409), ("staff002", 409), ("staff001", 403), ("nosuch01", 404)] {
        let (got, body) = staff.post(&make_master_path(target), &json!({}), None).await;
        assert_eq!(got, status, "{target}: {body}");
    }
    assert_eq!(app.count(audit).await, 0);

    // An existing general user, the former master retired with their certificate.
    let (status, body) = staff.post(&make_master_path("generala1"), &json!({"retire_former": true}), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["reset"]["user"]["user_id"], "generala1");
    assert_eq!(body["reset"]["user"]["role"], "master");
    assert_eq!((body["former"].clone(), body["former_retired"].clone()), (json!(["mastera1"]), json!(true)));
    assert_eq!(body["revoked"], json!([serial]));
    assert_eq!(master_a.get("/api/me").await.0, 401, "the former master's session ended");
    assert!(find(&app, "mastera1").await.retired_at.is_some());
    // The letter's one-time password is the new master's way in (R11).
    let initial = body["reset"]["initial_password"].as_str().unwrap();
    let (status, body) = app.browser().authenticate("generala1", initial).await;
    assert_eq!((status, body["code"].as_str()), (428, Some("password_change_required")), "{body}");
    assert_eq!(app.change_password("generala1", initial, "Newpass12", None).await.0, 200);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM mail_outbox WHERE dedupe_key LIKE 'master-new:%'").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM mail_outbox WHERE dedupe_key LIKE 'retired:%'").await, 1);

    // A new account, the former master kept as a general user.
    let org = find(&app, "generala1").await.org_id.unwrap();
    let path = format!("/api/admin/organizations/{org}/master");
    let (status, body) =
        staff.post(&path, &json!({"master_user_id": "generala2", "email": "n@example.co.jp"}), None).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("user_id")), "a taken ID: {body}");
    let (status, body) =
        staff.post(&path, &json!({"master_user_id": "newmast1", "email": "n@example.co.jp"}), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["former"].clone(), body["former_retired"].clone()), (json!(["generala1"]), json!(false)));
    let former = find(&app, "generala1").await;
    assert_eq!((former.role, former.retired_at), (Role::General, None));
    assert_eq!(find(&app, "newmast1").await.role, Role::Master);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM mail_outbox WHERE dedupe_key LIKE 'master-former:%'").await, 1);
    let unknown = staff
        .post(
            "/api/admin/organizations/99999/master",
            &json!({"master_user_id": "newmast2", "email": "n@example.co.jp"}),
            None,
        )
        .await;
    assert_eq!(unknown.0, 404);
    assert_eq!(app.count(audit).await, 2);
    let masters =
        format!("SELECT COUNT(*) AS n FROM users WHERE org_id = {org} AND role = 'master' AND retired_at IS NULL");
    assert_eq!(app.count(&masters).await, 1);
}

each_database!(two_changes_of_master_at_once_leave_one_master, flavor = "multi_thread");
async fn two_changes_of_master_at_once_leave_one_master(db: &TestDb) {
    let app = spawn_app(db).await;
    for round in 0..4 {
        // A company of its own each round: its master and two general users, each made master at once.
        let (master, one, two) = (format!("mastr{round}a"), format!("racea{round}"), format!("raceb{round}"));
        app.master_ready(&format!("会社{round}"), &master, PW).await;
        general_ready(&app, &master, &one).await;
        general_ready(&app, &master, &two).await;
        let (id1, id2) = (UserId::parse(&one).unwrap(), UserId::parse(&two).unwrap());
        let retire_former = round % 2 == 1;
        let change = |id| {
            masters::change_master(
                None,
                &app.db,
                &app.state.auth.hasher,
                &Actor::Cli,
                masters::NewMaster::Existing(id),
                retire_former,
                "x",
                now(),
            )
        };
        let (a, b) = tokio::join!(change(&id1), change(&id2));
        assert!(a.is_ok() && b.is_ok(), "{db:?} round {round}: {a:?} {b:?}");
        let mut active_masters = Vec::new();
        for id in [&master, &one, &two] {
            let u = find(&app, id).await;
            if u.role == Role::Master && u.retired_at.is_none() {
                active_masters.push(u.user_id);
            }
        }
        assert_eq!(active_masters.len(), 1, "{db:?} round {round}: {active_masters:?}");
        let retired = app.count(&format!("SELECT COUNT(*) AS n FROM users WHERE retired_at IS NOT NULL AND user_id IN ('{master}', '{one}', '{two}')")).await;
        assert_eq!(retired, if retire_former { 2 } else { 0 }, "{db:?} round {round}");
    }
}

each_database!(masters_and_staff_change_an_address_and_both_addresses_are_told);
async fn masters_and_staff_change_an_address_and_both_addresses_are_told(db: &TestDb) {
    let app = spawn_app(db).await;
    let master_a = app.master_session("会社A", "mastera1", PW).await;
    general_ready(&app, "mastera1", "generala1").await;
    general_ready(&app, "mastera1", "generala2").await;
    app.master_ready("会社B", "masterb1", PW).await;
    let (identity, _) = app.issued_identity("generala2", PW).await;
    let general = app.login(&identity, "generala2", PW).await;
    let staff = app.staff_session("staff001", PW).await;
    let to = |email: &str| json!({"email": email});

    // Every cell of role × own/other company, with its status; nothing written by a refusal.
    assert_eq!(general.post(&email_path("org", "generala1"), &to("x@example.co.jp"), None).await.0, 403);
    for (target, status) in [("generalb1", 404), ("masterb1", 404), ("staff001", 404), ("mastera1", 403)] {
        let got = master_a.post(&email_path("org", target), &to("x@example.co.jp"), None).await.0;
        assert_eq!(got, status, "master → {target}");
    }
    assert_eq!(master_a.post(&email_path("admin", "generala1"), &to("x@example.co.jp"), None).await.0, 403);
    assert_eq!(staff.post(&email_path("admin", "staff001"), &to("x@example.co.jp"), None).await.0, 403, "own");
    let old = find(&app, "generala1").await.email;
    for (bad, why) in [("not-an-address", "format"), (old.as_str(), "unchanged")] {
        let (status, body) = master_a.post(&email_path("org", "generala1"), &to(bad), None).await;
        assert_eq!((status, body["field"].as_str()), (400, Some("email")), "{why}: {body}");
    }
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'email_changed'").await, 0);

    // The master user, for their general user: both addresses told, saying who.
    let (status, body) = master_a.post(&email_path("org", "generala1"), &to("new1@example.co.jp"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(find(&app, "generala1").await.email, "new1@example.co.jp");
    let told = format!(
        "SELECT COUNT(*) AS n FROM mail_outbox WHERE dedupe_key LIKE 'email:%' AND body LIKE '%マスターユーザーによって%' \
         AND to_addr IN ('{old}', 'new1@example.co.jp')"
    );
    assert_eq!(app.count(&told).await, 2);
    // Staff, for anyone but themselves.
    for target in ["masterb1", "generala2"] {
        let (status, body) = staff.post(&email_path("admin", target), &to(&format!("{target}@example.jp")), None).await;
        assert_eq!(status, 200, "{target}: {body}");
    }
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'email_changed'").await, 3);
    // A retired user's address is history.
    staff.post(&retire_path("admin", "generala2"), &json!({}), None).await;
    assert_eq!(staff.post(&email_path("admin", "generala2"), &to("z@example.jp"), None).await.0, 409);
}

#[tokio::test]
async fn company_operations_are_the_banks_alone_cell_by_cell() {
    let app = spawn_app(&TestDb::Sqlite).await;
    let master_a = app.master_session("会社A", "mastera1", PW).await;
    let master_b = app.master_session("会社B", "masterb1", PW).await;
    general_ready(&app, "mastera1", "generala1").await;
    general_ready(&app, "mastera1", "generala2").await;
    let (identity, _) = app.issued_identity("generala1", PW).await;
    let general = app.login(&identity, "generala1", PW).await;
    let staff = app.staff_session("staff001", PW).await;
    let org = find(&app, "mastera1").await.org_id.unwrap();
    let cells = [
        (format!("/api/admin/organizations/{org}"), json!({"certificate_limit": 20})),
        (format!("/api/admin/organizations/{org}/suspend"), json!({})),
        (format!("/api/admin/organizations/{org}/resume"), json!({})),
        (
            format!("/api/admin/organizations/{org}/master"),
            json!({"master_user_id": "newmast1", "email": "n@example.co.jp"}),
        ),
        (make_master_path("generala2"), json!({})),
    ];
    // Nobody logged in 401; a general user, the company's own master and another company's 403.
    for (path, body) in &cells {
        assert_eq!(app.browser().post(path, body, None).await.0, 401, "anonymous {path}");
        for (who, browser) in [("general", &general), ("own master", &master_a), ("other master", &master_b)] {
            assert_eq!(browser.post(path, body, None).await.0, 403, "{who} {path}");
        }
    }
    let changes = "SELECT COUNT(*) AS n FROM audit_log WHERE action IN \
        ('organization_updated', 'organization_suspended', 'organization_resumed', 'master_changed')";
    assert_eq!(app.count(changes).await, 0, "a refusal writes nothing");
    // Staff: every one of them.
    for (path, body) in &cells {
        let (status, answer) = staff.post(path, body, None).await;
        assert_eq!(status, 200, "staff {path}: {answer}");
    }
    assert_eq!(app.count(changes).await, 5);
}

each_database!(a_key_compromise_revocation_revokes_the_password_until_a_reset);
/// Issue 29 §3: a revocation for keyCompromise means the .p12 and its password are in someone
/// else's hands. The right password is then refused for every purpose (issuance, login, its own
/// change) with words that say who resets it, a wrong one is refused as before (it tells a
/// guesser nothing), the owner is told by mail; a reset by the master lifts it. A PC change
/// (superseded) leaves the password alone (R8).
async fn a_key_compromise_revocation_revokes_the_password_until_a_reset(db: &TestDb) {
    let app = spawn_app(db).await;
    let master = app.master_session("会社A", "mastera1", PW).await;
    let staff = app.staff_session("staff001", PW).await;
    general_ready(&app, "mastera1", "generala1").await;
    let (identity, serial) = app.issued_identity("generala1", PW).await;
    let session = app.login(&identity, "generala1", PW).await;

    // The RFC's spelling is accepted by the API too (§6).
    let revoke = |serial: &str| format!("/api/admin/certificates/{serial}/revoke");
    let (status, body) = staff.post(&revoke(&serial), &json!({"reason": "keyCompromise"}), None).await;
    assert_eq!(status, 200, "{db:?} {body}");
    assert_eq!(session.get("/api/me").await.0, 401, "the sessions end");
    let (status, body) = app.browser().authenticate("generala1", PW).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("password_revoked")), "{db:?} {body}");
    assert!(body["message"].as_str().unwrap().contains("パスワードの再設定を依頼"), "{body}");
    let (status, body) = app.change_password("generala1", PW, "Other2345", None).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("password_revoked")), "not even its own change: {body}");
    let (status, body) = app.browser().authenticate("generala1", "Wrong9999").await;
    assert_eq!((status, body["code"].as_str()), (401, Some("invalid_credentials")), "{body}");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM mail_outbox WHERE dedupe_key LIKE 'password-revoked:%' AND to_addr = 'generala1@example.co.jp' AND body LIKE '%マスターユーザーへパスワードの再設定%'").await,
        1,
        "the owner is told, and whom to ask"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'certificate_revoked' AND detail LIKE '%\"password_revoked\":true%'").await,
        1
    );

    // A PC change of the master's certificate leaves the master's password alone.
    let own: Value = master.get("/api/me").await.1;
    let master_cert = own["certificate"]["serial"].as_str().unwrap().to_owned();
    assert_eq!(staff.post(&revoke(&master_cert), &json!({"reason": "superseded"}), None).await.0, 200);
    assert_eq!(app.browser().authenticate("mastera1", PW).await.0, 200, "superseded keeps the password");

    // The master (a new certificate: tokens count from the second after a revocation) resets it:
    // the new one-time password works, then the user's own.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (pem, _) = app.issued_identity("mastera1", PW).await;
    let master = app.login(&pem, "mastera1", PW).await;
    let (status, body) = master.post(&reset_path("org", "generala1"), &json!({}), None).await;
    assert_eq!(status, 200, "{body}");
    let initial = body["initial_password"].as_str().unwrap().to_owned();
    let (status, body) = app.browser().authenticate("generala1", &initial).await;
    assert_eq!((status, body["code"].as_str()), (428, Some("password_change_required")), "{body}");
    let (status, body) = app.change_password("generala1", &initial, "Fresh2345", None).await;
    assert_eq!(status, 200, "{body}");
    app.issued_identity("generala1", "Fresh2345").await;
    let _ = identity;
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'password_reset' AND detail LIKE '%\"password_revocation_lifted\":true%'").await,
        1
    );
}
