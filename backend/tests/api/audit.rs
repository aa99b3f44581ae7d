//! Issue 13, "who did it, from where": every audit entry records the client address of the
//! request it was made in (the test client's 127.0.0.1), entries of `cjs admin` record none, and
//! the admin audit API, its OpenAPI description and `cjs admin audit` show the address.

use backend::db::entities::audit_log;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;

use crate::helpers::{TestApp, TestDb, each_database, spawn_app};

/// The client addresses of the entries of `action`, oldest first.
async fn addresses(app: &TestApp, action: &str) -> Vec<Option<String>> {
    let rows = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq(action))
        .order_by_asc(audit_log::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    rows.into_iter().map(|r| r.client_address).collect()
}

const LOCALHOST: Option<&str> = Some("127.0.0.1");

each_database!(api_entries_record_the_client_address_and_cli_entries_none);
async fn api_entries_record_the_client_address_and_cli_entries_none(db: &TestDb) {
    let app = spawn_app(db).await;
    // The bank's CLI path, in this process and outside any request.
    app.create_master("テスト株式会社", "master01", "init1234").await;
    // Through the API.
    assert_eq!(app.change_password("master01", "init1234", "Sekret927", None).await.0, 200, "{db:?}");
    assert_eq!(app.browser().authenticate("master01", "Wrong1234").await.0, 401);
    // The `cjs admin` binary.
    app.admin(&["unlock", "--user-id", "master01"]).await;

    for (action, expected) in [
        ("organization_created", None),
        ("user_created", None),
        ("password_changed", LOCALHOST),
        ("auth_failure", LOCALHOST),
        ("unlocked", None),
    ] {
        assert_eq!(addresses(&app, action).await, vec![expected.map(str::to_owned)], "{db:?}: {action}");
    }
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM audit_log WHERE client_address IS NULL").await, 3, "{db:?}");

    // `cjs admin audit` lists the address (— for the CLI's own entries), newest first.
    let out = app.admin(&["audit", "--user-id", "master01"]).await;
    let line = |action: &str| out.lines().find(|l| l.contains(action)).unwrap_or_else(|| panic!("{action}: {out}"));
    assert!(line("password_changed").contains("127.0.0.1"), "{out}");
    assert!(line("unlocked").contains("cli") && line("unlocked").contains("—"), "{out}");
    assert!(out.lines().nth(1).unwrap().contains("unlocked"), "newest first: {out}");
    let one = app.admin(&["audit", "--user-id", "master01", "--limit", "1"]).await;
    assert!(one.trim_end().ends_with("1 件"), "{one}");
}

each_database!(the_admin_audit_api_and_its_description_carry_the_address);
async fn the_admin_audit_api_and_its_description_carry_the_address(db: &TestDb) {
    let app = spawn_app(db).await;
    app.master_ready("テスト株式会社", "master01", "Sekret927").await;
    let staff = app.staff_session("staff001", "Staff1234").await;

    let (s, entries) = staff.get("/api/admin/audit?user_id=master01").await;
    assert_eq!(s, 200, "{entries}");
    let entries = entries["items"].as_array().unwrap();
    let of = |action: &str| entries.iter().find(|e| e["action"] == action).unwrap_or_else(|| panic!("{action}"));
    assert_eq!(of("password_changed")["client_address"], "127.0.0.1", "{db:?}");
    assert_eq!(of("organization_created")["client_address"], Value::Null, "made by the CLI");
    assert!(entries.iter().all(|e| e.as_object().unwrap().contains_key("client_address")));
    // The OpenAPI description follows the type.
    let doc: Value = app.client.get(app.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    let field = &doc["components"]["schemas"]["AuditEntry"]["properties"]["client_address"];
    assert!(field.is_object(), "{}", doc["components"]["schemas"]["AuditEntry"]);
}
