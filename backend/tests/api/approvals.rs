//! Issue 30, §1: 検印. Under the default `approval_required`, each sensitive operation a staff
//! member asks for is only proposed (202, nothing changed, the other staff mailed); a second
//! staff member approves it and it is done then, with its audit entry naming both; refused:
//! approving one's own request or an operation on oneself (403), an expired request, and one whose
//! operation no longer applies (409); two approvals at once do it once; a rejection changes
//! nothing and tells the proposer.

use serde_json::{Value, json};

use crate::helpers::{Browser, Options, TestApp, TestDb, each_database, spawn};

const PW: &str = "Sekret927";

async fn proposed(a: &Browser, path: &str, body: Value) -> i64 {
    let (status, answer) = a.post(path, &body, None).await;
    assert_eq!(status, 202, "{path}: {answer}");
    assert!(answer["message"].as_str().unwrap().contains("承認待ち"), "{answer}");
    answer["approval_id"].as_i64().unwrap()
}

async fn decide(b: &Browser, id: i64, how: &str, body: Value) -> (u16, Value) {
    b.post(&format!("/api/admin/approvals/{id}/{how}"), &body, None).await
}

async fn approved(b: &Browser, id: i64) -> Value {
    let (status, body) = decide(b, id, "approve", json!({})).await;
    assert_eq!(status, 200, "approval {id}: {body}");
    assert_eq!(body["approval"]["state"], "approved");
    body
}

/// The audit entries of `action` done under approval `id`: exactly one, naming both and their
/// times.
async fn one_entry_naming_both(app: &TestApp, action: &str, id: i64) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let rows = backend::db::entities::audit_log::Entity::find()
        .filter(backend::db::entities::audit_log::Column::Action.eq(action))
        .all(&app.db)
        .await
        .unwrap();
    let under: Vec<Value> = rows
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.detail).unwrap())
        .filter(|d| d["approval"]["id"] == json!(id))
        .collect();
    assert_eq!(under.len(), 1, "{action} under approval {id}: {under:?}");
    let a = &under[0]["approval"];
    assert_eq!(a["proposed_by"], "staff01", "{a}");
    assert_eq!(a["approved_by"], "staff02", "{a}");
    assert!(a["proposed_at"].is_string() && a["approved_at"].is_string(), "{a}");
    // The entry's actor is the approver.
    let actor = rows.iter().find(|r| r.detail.contains(&format!("\"id\":{id},"))).and_then(|r| r.actor.clone());
    assert_eq!(actor.as_deref(), Some("staff02"));
}

async fn one(app: &TestApp, sql: &str) -> i64 {
    app.count(sql).await
}

async fn staff_pair(db: &TestDb) -> (TestApp, Browser, Browser) {
    let app = spawn(db, Options { approvals: true, ..Options::default() }).await;
    let a = app.staff_session("staff01", PW).await;
    let b = app.staff_session("staff02", PW).await;
    (app, a, b)
}

each_database!(each_operation_of_the_default_list_waits_for_a_second_staff_member);
async fn each_operation_of_the_default_list_waits_for_a_second_staff_member(db: &TestDb) {
    let (app, a, b) = staff_pair(db).await;
    app.staff_ready("staff03", PW).await;
    app.master_ready("承認テスト株式会社", "master01", PW).await;
    app.create_general("master01", "general01", "Init1234").await;
    let (_, serial) = app.issued_identity("master01", PW).await;
    let org = one(&app, "SELECT org_id AS n FROM users WHERE user_id = 'master01'").await;

    // 1. Revocation.
    let id = proposed(&a, &format!("/api/admin/certificates/{serial}/revoke"), json!({"reason": "superseded"})).await;
    let active = format!("SELECT COUNT(*) AS n FROM certificates WHERE serial = '{serial}' AND status = 'active'");
    assert_eq!(one(&app, &active).await, 1, "nothing changed yet");
    assert_eq!(
        one(&app, &format!("SELECT COUNT(*) AS n FROM mail_outbox WHERE dedupe_key LIKE 'approval:{id}:request:%'"))
            .await,
        2,
        "staff02 and staff03 are asked"
    );
    approved(&b, id).await;
    assert_eq!(one(&app, &active).await, 0, "revoked on approval");
    one_entry_naming_both(&app, "certificate_revoked", id).await;

    // 2. Unlocking a master user (a general user is unlocked at once).
    sea_orm::ConnectionTrait::execute_unprepared(
        &app.db,
        "UPDATE users SET locked_until = '2999-01-01T00:00:00Z' WHERE user_id IN ('master01', 'general01')",
    )
    .await
    .unwrap();
    let (status, _) = a.post("/api/admin/users/general01/unlock", &json!({}), None).await;
    assert_eq!(status, 200, "a general user's unlock needs no approval");
    let id = proposed(&a, "/api/admin/users/master01/unlock", json!({})).await;
    let locked = "SELECT COUNT(*) AS n FROM users WHERE user_id = 'master01' AND locked_until IS NOT NULL";
    assert_eq!(one(&app, locked).await, 1);
    approved(&b, id).await;
    assert_eq!(one(&app, locked).await, 0);
    one_entry_naming_both(&app, "unlocked", id).await;

    // 3. A master user's password reset: the approver gets the initial password.
    let id = proposed(&a, "/api/admin/users/master01/reset-password", json!({})).await;
    let must = "SELECT COUNT(*) AS n FROM users WHERE user_id = 'master01' AND must_change_password";
    assert_eq!(one(&app, must).await, 0);
    let done = approved(&b, id).await;
    assert_eq!(done["user_id"], "master01");
    assert!(done["initial_password"].as_str().is_some_and(|p| p.len() >= 8), "{done}");
    assert_eq!(one(&app, must).await, 1);
    one_entry_naming_both(&app, "password_reset", id).await;

    // 4. A change of master user.
    let id = proposed(&a, "/api/admin/users/general01/make-master", json!({"retire_former": false})).await;
    let master = "SELECT COUNT(*) AS n FROM users WHERE user_id = 'general01' AND role = 'master'";
    assert_eq!(one(&app, master).await, 0);
    approved(&b, id).await;
    assert_eq!(one(&app, master).await, 1);
    one_entry_naming_both(&app, "master_changed", id).await;

    // 5, 6. Suspending and resuming the company.
    let suspended = format!("SELECT COUNT(*) AS n FROM organizations WHERE id = {org} AND suspended_at IS NOT NULL");
    let id = proposed(&a, &format!("/api/admin/organizations/{org}/suspend"), json!({})).await;
    assert_eq!(one(&app, &suspended).await, 0);
    approved(&b, id).await;
    assert_eq!(one(&app, &suspended).await, 1);
    one_entry_naming_both(&app, "organization_suspended", id).await;
    let id = proposed(&a, &format!("/api/admin/organizations/{org}/resume"), json!({})).await;
    approved(&b, id).await;
    assert_eq!(one(&app, &suspended).await, 0);
    one_entry_naming_both(&app, "organization_resumed", id).await;

    // 7. The certificate limit (a change of name alone is done at once).
    let (status, body) = a
        .post(
            &format!("/api/admin/organizations/{org}"),
            &json!({"name": "改名株式会社", "certificate_limit": 20}),
            None,
        )
        .await;
    assert_eq!(status, 200, "the same limit and a new name: no approval: {body}");
    let id = proposed(&a, &format!("/api/admin/organizations/{org}"), json!({"certificate_limit": 7})).await;
    let limit = format!("SELECT CAST(certificate_limit AS BIGINT) AS n FROM organizations WHERE id = {org}");
    assert_eq!(one(&app, &limit).await, 20);
    approved(&b, id).await;
    assert_eq!(one(&app, &limit).await, 7);
    one_entry_naming_both(&app, "organization_updated", id).await;

    // 8. Retiring a staff member.
    let id = proposed(&a, "/api/admin/users/staff03/retire", json!({"reason": "異動"})).await;
    let retired = "SELECT COUNT(*) AS n FROM users WHERE user_id = 'staff03' AND retired_at IS NOT NULL";
    assert_eq!(one(&app, retired).await, 0);
    approved(&b, id).await;
    assert_eq!(one(&app, retired).await, 1);
    one_entry_naming_both(&app, "retired", id).await;

    // The list: nothing waits, the decided ones show.
    let (status, list) = b.get("/api/admin/approvals").await;
    assert_eq!(status, 200);
    assert_eq!(list["pending"], 0, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 8, "{list}");

    // The staff screen's export for auditors: every entry chained, verified offline.
    backend::audit::chain::seal(&app.db, time::OffsetDateTime::now_utc()).await.unwrap();
    let (from, to) = crate::audit_chain::days_around_today();
    let (status, headers, body) = b.get_raw(&format!("/api/admin/audit/chain?from={from}&to={to}")).await;
    assert_eq!(status, 200);
    assert!(headers["content-type"].to_str().unwrap().starts_with("application/jsonl"), "{headers:?}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chain.jsonl");
    std::fs::write(&file, &body).unwrap();
    let checked = crate::audit_chain::offline_check(&file, &app.data_dir.join("audit-key.pub.pem"));
    let rows = headers["x-export-rows"].to_str().unwrap();
    assert!(checked.starts_with(&format!("OK: {rows} entries")), "{checked}");
    let (status, _) = b.get(&format!("/api/admin/audit/chain?from={to}&to={from}")).await;
    assert_eq!(status, 400, "a period that ends before it starts");
}

each_database!(own_requests_expired_ones_stale_ones_and_rejections_are_refused_or_change_nothing);
async fn own_requests_expired_ones_stale_ones_and_rejections_are_refused_or_change_nothing(db: &TestDb) {
    let (app, a, b) = staff_pair(db).await;
    app.master_ready("承認テスト株式会社", "master01", PW).await;
    let (_, serial) = app.issued_identity("master01", PW).await;
    let org = one(&app, "SELECT org_id AS n FROM users WHERE user_id = 'master01'").await;

    // One's own request, and an operation on oneself.
    let id = proposed(&a, &format!("/api/admin/organizations/{org}/suspend"), json!({})).await;
    let (status, body) = decide(&a, id, "approve", json!({})).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("自分が申請した"), "{body}");
    let about_b = proposed(&a, "/api/admin/users/staff02/reset-password", json!({})).await;
    let (status, body) = decide(&b, about_b, "approve", json!({})).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"].as_str().unwrap().contains("自分が対象"), "{body}");
    let (status, body) = decide(&b, about_b, "reject", json!({"reason": "不要です"})).await;
    assert_eq!(status, 403, "nor reject a request about oneself: {body}");

    // A rejection: nothing done, the proposer told, in the log.
    let (status, body) = decide(&b, id, "reject", json!({"reason": ""})).await;
    assert_eq!(status, 400, "a reason is needed: {body}");
    let (status, body) = decide(&b, id, "reject", json!({"reason": "対象の会社が違います"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "rejected");
    let suspended = format!("SELECT COUNT(*) AS n FROM organizations WHERE id = {org} AND suspended_at IS NOT NULL");
    assert_eq!(one(&app, &suspended).await, 0);
    let told = format!(
        "SELECT COUNT(*) AS n FROM mail_outbox WHERE dedupe_key = 'approval:{id}:rejected' AND to_addr = 'staff01@rokin.example.jp'"
    );
    assert_eq!(one(&app, &told).await, 1);
    assert_eq!(one(&app, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'approval_rejected'").await, 1);
    let (status, _) = decide(&b, id, "approve", json!({})).await;
    assert_eq!(status, 409, "already rejected");

    // Expired.
    let id = proposed(&a, &format!("/api/admin/organizations/{org}/suspend"), json!({})).await;
    sea_orm::ConnectionTrait::execute_unprepared(
        &app.db,
        &format!("UPDATE approvals SET expires_at = '2020-01-01T00:00:00Z' WHERE id = {id}"),
    )
    .await
    .unwrap();
    let (status, body) = decide(&b, id, "approve", json!({})).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["message"].as_str().unwrap().contains("期限"), "{body}");
    assert_eq!(one(&app, &suspended).await, 0);
    // A lapsed request no longer counts as waiting (and never hides one that is).
    let (_, list) = b.get("/api/admin/approvals").await;
    assert_eq!(list["pending"], 1, "only the request about staff02 waits: {list}");
    let lapsed = list["items"].as_array().unwrap().iter().find(|i| i["id"] == json!(id)).unwrap().clone();
    assert_eq!(lapsed["state"], "expired", "{lapsed}");

    // No longer applies: revoked meanwhile by the operator's shell.
    let id = proposed(&a, &format!("/api/admin/certificates/{serial}/revoke"), json!({"reason": "superseded"})).await;
    app.cli_revoke("master01", "superseded").await;
    let (status, body) = decide(&b, id, "approve", json!({})).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["message"].as_str().unwrap().contains("実行できなくなりました"), "{body}");
    let (_, list) = b.get("/api/admin/approvals").await;
    let item = list["items"].as_array().unwrap().iter().find(|i| i["id"] == json!(id)).unwrap().clone();
    assert_eq!(item["state"], "failed", "{item}");
    assert_eq!(one(&app, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'approval_failed'").await, 1);

    // Two approvals at once, by two staff members: done once.
    let c = app.staff_session("staff03", PW).await;
    let id = proposed(&a, &format!("/api/admin/organizations/{org}/suspend"), json!({})).await;
    let ((s1, b1), (s2, b2)) = tokio::join!(decide(&b, id, "approve", json!({})), decide(&c, id, "approve", json!({})));
    let mut statuses = [s1, s2];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{b1} {b2}");
    assert_eq!(one(&app, &suspended).await, 1);
    assert_eq!(one(&app, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'organization_suspended'").await, 1);
}
