//! The staff and master lists at a bank's size: every list answers a bounded page past both
//! databases' parameter limits (over 70,000 users), paging stays exact while rows are inserted,
//! each filter holds at its boundary, bad searches are refused in Japanese, and the CSV exports
//! read back in a real CSV reader with their Japanese text and no live formula.

use std::collections::HashSet;

use backend::{
    auth::accounts,
    db::entities::{audit_log, certificate, organization, user},
    read::lists::{self, UserScope},
};
use common::api::{
    CertificateStatus, Role,
    list::{COUNT_LIMIT, UserSearch},
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::helpers::{Browser, TestApp, TestDb, each_database, python_tool, spawn_app};

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2NhbGVzY2FsZQ$0000000000000000000000000000000000000000000";

/// `orgs` companies and `users` general users spread over them (IDs `u0000001`…), each with one
/// active certificate; inserted in chunks well under both parameter limits.
async fn seed(db: &DatabaseConnection, orgs: usize, users: usize) -> i64 {
    let now = OffsetDateTime::now_utc();
    let org_rows: Vec<organization::ActiveModel> = (0..orgs)
        .map(|i| {
            let name = format!("試験{i:05}株式会社");
            organization::ActiveModel {
                name_search: Set(backend::domain::names::normalize(&name)),
                name: Set(name),
                certificate_limit: Set(1000),
                created_at: Set(now),
                ..Default::default()
            }
        })
        .collect();
    for c in org_rows.chunks(1000) {
        organization::Entity::insert_many(c.to_vec()).exec_without_returning(db).await.unwrap();
    }
    let first_org = organization::Entity::find()
        .filter(organization::Column::Name.eq("試験00000株式会社"))
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let rows: Vec<user::ActiveModel> = (0..users)
        .map(|i| {
            accounts::new_user_row(
                format!("u{i:07}"),
                Some(first_org + (i % orgs) as i64),
                Role::General,
                HASH.to_owned(),
                format!("u{i:07}@example.co.jp"),
                false,
                now,
            )
        })
        .collect();
    for c in rows.chunks(1000) {
        user::Entity::insert_many(c.to_vec()).exec_without_returning(db).await.unwrap();
    }
    let first_user =
        user::Entity::find().filter(user::Column::UserId.eq("u0000000")).one(db).await.unwrap().unwrap().id;
    let certs: Vec<certificate::ActiveModel> = (0..users)
        .map(|i| certificate::ActiveModel {
            serial: Set(format!("{:040x}", 0xa000_0000_u64 + i as u64)),
            user_pk: Set(first_user + i as i64),
            org_id: Set(Some(first_org + (i % orgs) as i64)),
            subject_cn: Set(format!("u{i:07}")),
            not_before: Set(now - Duration::days(1)),
            not_after: Set(now + Duration::days(300)),
            fingerprint_sha256: Set(format!("{:064x}", i)),
            key_type: Set(if i % 2 == 0 { "rsa2048" } else { "p256" }.to_owned()),
            status: Set(CertificateStatus::Active),
            created_at: Set(now - Duration::seconds(i as i64)),
            ..Default::default()
        })
        .collect();
    for c in certs.chunks(1000) {
        certificate::Entity::insert_many(c.to_vec()).exec_without_returning(db).await.unwrap();
    }
    backend::certificates::certified::refresh_all(db).await.unwrap();
    first_org
}

fn items(body: &Value) -> &Vec<Value> {
    body["items"].as_array().unwrap_or_else(|| panic!("no items: {body}"))
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

each_database!(every_list_answers_a_bounded_page_past_the_parameter_limits);
async fn every_list_answers_a_bounded_page_past_the_parameter_limits(db: &TestDb) {
    let app = spawn_app(db).await;
    let first_org = seed(&app.db, 1000, 70_500).await;
    let staff = app.staff_session("staff001", "Sekret927").await;

    for path in [
        "/api/admin/organizations",
        "/api/admin/users",
        "/api/admin/certificates",
        "/api/admin/audit",
        "/api/admin/mail",
        "/api/admin/users?sort=-organization",
        "/api/admin/users?sort=created_at&limit=200",
        "/api/admin/certificates?status=active&key_type=p256&sort=not_after",
        "/api/admin/users?state=no_certificate",
        "/api/admin/users?organization=%E8%A9%A6%E9%A8%93",
    ] {
        let (status, body) = staff.get(path).await;
        assert_eq!(status, 200, "{db:?} {path}: {body}");
        let n = items(&body).len();
        assert!(n <= 200, "{path}: {n} rows");
        if !path.contains("limit") {
            assert!(n <= 50, "{path}: {n} rows");
        }
    }
    // 70,500 users: the count stops at the limit and says so; the page is full.
    let (_, body) = staff.get("/api/admin/users").await;
    assert_eq!(items(&body).len(), 50);
    assert_eq!(body["total"], serde_json::json!({"count": COUNT_LIMIT, "exact": false}), "{db:?}");
    assert!(body["next"].is_string() && body["prev"].is_null());
    assert_eq!(items(&body)[0]["user_id"], "staff001", "{db:?}: sorted by ID ('s' < 'u')");
    assert_eq!(items(&body)[1]["user_id"], "u0000000");
    assert_eq!(items(&body)[1]["certificate"]["status"], "active", "the newest certificate rides along");

    // One company: its detail, its users (exact count), its certificates.
    let (status, detail) = staff.get(&format!("/api/admin/organizations/{first_org}")).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["organization"]["users"], 71, "{detail}");
    assert_eq!(detail["with_certificates"], 71);
    let (_, users) = staff.get(&format!("/api/admin/users?organization_id={first_org}&limit=200")).await;
    assert_eq!(users["total"], serde_json::json!({"count": 71, "exact": true}));
    assert_eq!(items(&users).len(), 71);
    assert!(users["next"].is_null());
    let (_, user) = staff.get("/api/admin/users/u0000000").await;
    assert_eq!(user["user"]["organization_id"], first_org, "{user}");
    assert_eq!(user["certificates"].as_array().unwrap().len(), 1);

    // The master's own list is paged too.
    let master = app.master_session("マスター株式会社", "master01", "Sekret927").await;
    let (status, own) = master.get("/api/org/users?limit=10").await;
    assert_eq!(status, 200, "{own}");
    assert_eq!(own["users"]["total"]["count"], 1);

    // A CSV of every user streams out whole.
    let (status, headers, csv) = staff.get_raw("/api/admin/export/users").await;
    assert_eq!(status, 200, "{db:?}");
    assert_eq!(headers["x-export-rows"], "70502");
    let rows = python_csv_rows(&csv);
    assert_eq!(rows.len(), 70_503, "header + every user");
}

/// The rows of a CSV file as Python's `csv` module reads it (`utf-8-sig`: the BOM is required).
fn python_csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM for Excel");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.csv");
    std::fs::write(&file, bytes).unwrap();
    let out = std::process::Command::new(python_tool("python"))
        .args([
            "-c",
            "import csv, json, sys\nwith open(sys.argv[1], encoding='utf-8-sig', newline='') as f:\n    print(json.dumps(list(csv.reader(f)), ensure_ascii=False))",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every page from the first by `next`, with `limit` rows.
async fn walk(staff: &Browser, path: &str, key: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let sep = if path.contains('?') { '&' } else { '?' };
    let (status, mut body) = staff.get(path).await;
    assert_eq!(status, 200, "{body}");
    loop {
        seen.extend(
            items(&body).iter().map(|r| r[key].as_str().map(str::to_owned).unwrap_or_else(|| r[key].to_string())),
        );
        let Some(next) = body["next"].as_str() else { break };
        let (status, b) = staff.get(&format!("{path}{sep}cursor={}", enc(next))).await;
        assert_eq!(status, 200, "{b}");
        body = b;
    }
    seen
}

each_database!(paging_while_rows_are_inserted_gives_each_row_exactly_once, flavor = "multi_thread");
async fn paging_while_rows_are_inserted_gives_each_row_exactly_once(db: &TestDb) {
    let app = spawn_app(db).await;
    seed(&app.db, 50, 3000).await;
    let staff = app.staff_session("staff001", "Sekret927").await;
    let before_users: HashSet<String> =
        user::Entity::find().all(&app.db).await.unwrap().into_iter().map(|u| u.user_id).collect();
    let before_serials: HashSet<String> =
        certificate::Entity::find().all(&app.db).await.unwrap().into_iter().map(|c| c.serial).collect();

    // Inserts users whose IDs fall between the existing ones, and newer certificates, while
    // the pages are read.
    let writer = {
        let db = app.db.clone();
        tokio::spawn(async move {
            let now = OffsetDateTime::now_utc();
            let owner =
                user::Entity::find().filter(user::Column::UserId.eq("u0000001")).one(&db).await.unwrap().unwrap();
            for i in 0..300 {
                accounts::new_user_row(
                    format!("u{:07}x", i * 10),
                    owner.org_id,
                    Role::General,
                    HASH.into(),
                    "x@example.jp".into(),
                    false,
                    now,
                )
                .insert(&db)
                .await
                .unwrap();
                crate::helpers::insert_certificate(
                    &db,
                    &owner,
                    &format!("{:040x}", 0xf000_0000_u64 + i),
                    (OffsetDateTime::now_utc(), now + Duration::days(365)),
                    None,
                )
                .await;
                tokio::task::yield_now().await;
            }
        })
    };
    let users = walk(&staff, "/api/admin/users?limit=97", "user_id").await;
    let serials = walk(&staff, "/api/admin/certificates?limit=89", "serial").await;
    writer.await.unwrap();

    for (name, seen, before) in [("users", &users, &before_users), ("certificates", &serials, &before_serials)] {
        let distinct: HashSet<&String> = seen.iter().collect();
        assert_eq!(distinct.len(), seen.len(), "{db:?} {name}: a row came twice");
        let missing: Vec<_> = before.iter().filter(|id| !distinct.contains(id)).take(5).collect();
        assert!(missing.is_empty(), "{db:?} {name}: rows present from the start were skipped: {missing:?}");
    }
    let mut sorted = users.clone();
    sorted.sort();
    assert_eq!(users, sorted, "{db:?}: pages come in the sort's order");

    // Back: the previous page of the second page is the first page.
    let (_, first) = staff.get("/api/admin/audit?limit=3").await;
    let (_, second) =
        staff.get(&format!("/api/admin/audit?limit=3&cursor={}", enc(first["next"].as_str().unwrap()))).await;
    let (_, back) =
        staff.get(&format!("/api/admin/audit?limit=3&cursor={}", enc(second["prev"].as_str().unwrap()))).await;
    assert_eq!(back["items"], first["items"], "{db:?}");
    assert!(back["prev"].is_null(), "{db:?}: nothing before the first page");
}

each_database!(state_filters_hold_at_their_boundaries);
async fn state_filters_hold_at_their_boundaries(db: &TestDb) {
    let app = spawn_app(db).await;
    app.create_master("境界株式会社", "master01", "Init1234").await;
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let owner = user::Entity::find().filter(user::Column::UserId.eq("master01")).one(&app.db).await.unwrap().unwrap();
    let mut ids = Vec::new();
    for (id, locked_until, not_after) in [
        ("lock0000", Some(now), None),
        ("lock0001", Some(now + Duration::seconds(1)), None),
        ("exp30d00", None, Some(now + Duration::days(30))),
        ("exp30d01", None, Some(now + Duration::days(30) + Duration::seconds(1))),
        ("expnow00", None, Some(now)),
        ("nocert00", None, None),
    ] {
        let mut row = accounts::new_user_row(
            id.into(),
            owner.org_id,
            Role::General,
            HASH.into(),
            format!("{id}@example.jp"),
            false,
            now,
        );
        row.locked_until = Set(locked_until);
        let u = row.insert(&app.db).await.unwrap();
        if let Some(not_after) = not_after {
            crate::helpers::insert_certificate(
                &app.db,
                &u,
                &format!("{:040x}", u.id),
                (now - Duration::days(335), not_after),
                None,
            )
            .await;
        }
        ids.push(id);
    }
    let found = |state: &'static str| {
        let db = app.db.clone();
        async move {
            let search = UserSearch { state: Some(state.into()), limit: Some(200), ..Default::default() };
            let page = lists::users(&db, &search, UserScope::All, now).await.unwrap();
            page.items.into_iter().map(|u| u.user_id).collect::<Vec<_>>()
        }
    };
    assert_eq!(found("locked").await, ["lock0001"], "{db:?}: locked until exactly now is no longer locked");
    assert_eq!(found("expiring").await, ["exp30d00"], "{db:?}: exactly 30 days is within; expired is not expiring");
    assert_eq!(found("no_certificate").await, ["lock0000", "lock0001", "master01", "nocert00"], "{db:?}");
    // A renewal ends "expiring": the newer certificate lasts longer.
    let u = user::Entity::find().filter(user::Column::UserId.eq("exp30d00")).one(&app.db).await.unwrap().unwrap();
    crate::helpers::insert_certificate(&app.db, &u, "renewed00", (now, now + Duration::days(366)), None).await;
    assert!(found("expiring").await.is_empty(), "{db:?}");
    let _ = ids;
}

/// `id`'s `certified_until` and what it stands for: the latest notAfter of their active certificates.
async fn certified(db: &DatabaseConnection, id: &str) -> (Option<OffsetDateTime>, Option<OffsetDateTime>) {
    let u = user::Entity::find().filter(user::Column::UserId.eq(id)).one(db).await.unwrap().unwrap();
    let latest = certificate::Entity::find()
        .filter(certificate::Column::UserPk.eq(u.id))
        .filter(certificate::Column::Status.eq(CertificateStatus::Active))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.not_after)
        .max();
    (u.certified_until, latest)
}

each_database!(the_renewal_search_follows_issuing_revoking_and_retiring, flavor = "multi_thread");
async fn the_renewal_search_follows_issuing_revoking_and_retiring(db: &TestDb) {
    let app = spawn_app(db).await;
    app.master_ready("更新株式会社", "master01", "Sekret927").await;
    let staff = app.staff_session("staff001", "Sekret927").await;
    let revoke = |serial: String| {
        let staff = &staff;
        async move {
            let path = format!("/api/admin/certificates/{serial}/revoke");
            staff.post(&path, &serde_json::json!({"reason": "superseded"}), None).await.0
        }
    };
    // Issued through the API: the row carries the certificate's notAfter.
    let (_, serial) = app.issued_identity("master01", "Sekret927").await;
    let (kept, latest) = certified(&app.db, "master01").await;
    assert!(kept.is_some() && kept == latest, "{db:?}: {kept:?} {latest:?}");
    assert_eq!(revoke(serial).await, 200);
    assert_eq!(certified(&app.db, "master01").await, (None, None), "{db:?}: revoked, nothing certified");

    // Two certificates revoked at once, and one of two: never the date of a revoked certificate.
    let owner = user::Entity::find().filter(user::Column::UserId.eq("master01")).one(&app.db).await.unwrap().unwrap();
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    for round in 0..4u64 {
        let serials: Vec<String> = (0..3u64).map(|k| format!("{:040x}", 0xbeef_0000 + round * 16 + k)).collect();
        for (k, serial) in serials.iter().enumerate() {
            let not_after = now + Duration::days(10 + k as i64);
            crate::helpers::insert_certificate(&app.db, &owner, serial, (now - Duration::days(300), not_after), None)
                .await;
        }
        let (a, b) = tokio::join!(revoke(serials[2].clone()), revoke(serials[1].clone()));
        assert_eq!((a, b), (200, 200));
        let (kept, latest) = certified(&app.db, "master01").await;
        assert_eq!(kept, Some(now + Duration::days(10)), "{db:?} round {round}: the one left");
        assert_eq!(kept, latest);
        let search = UserSearch { state: Some("expiring".into()), ..Default::default() };
        let page = lists::users(&app.db, &search, UserScope::All, now).await.unwrap();
        assert_eq!(page.items.iter().map(|u| u.user_id.as_str()).collect::<Vec<_>>(), ["master01"]);
        assert_eq!(revoke(serials[0].clone()).await, 200);
        assert_eq!(certified(&app.db, "master01").await, (None, None), "{db:?} round {round}");
    }

    // Retiring revokes everything: nothing certified.
    app.create_general("master01", "general1", "init1234").await;
    assert_eq!(app.change_password("general1", "init1234", "Sekret927", None).await.0, 200);
    app.issued_identity("general1", "Sekret927").await;
    assert!(certified(&app.db, "general1").await.0.is_some());
    let (status, body) = staff.post("/api/admin/users/general1/retire", &serde_json::json!({}), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(certified(&app.db, "general1").await, (None, None), "{db:?}");
}

each_database!(bad_searches_are_refused_in_japanese_naming_the_field);
async fn bad_searches_are_refused_in_japanese_naming_the_field(db: &TestDb) {
    let app = spawn_app(db).await;
    let staff = app.staff_session("staff001", "Sekret927").await;
    for i in 0..4 {
        app.create_master(&format!("会社{i}"), &format!("master0{i}"), "Init1234").await;
    }
    let (_, first) = staff.get("/api/admin/organizations?limit=2").await;
    let cursor = first["next"].as_str().unwrap().to_owned();
    let mut tampered = cursor.clone().into_bytes();
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let long = "あ".repeat(101);
    let audit_before = app.count("SELECT COUNT(*) AS n FROM audit_log").await;
    for (path, field) in [
        ("/api/admin/organizations?sort=password_hash".to_owned(), "sort"),
        ("/api/admin/users?limit=201".to_owned(), "limit"),
        ("/api/admin/users?limit=0".to_owned(), "limit"),
        (format!("/api/admin/organizations?q={}", enc(&long)), "q"),
        (format!("/api/admin/organizations?limit=2&cursor={}", enc(&tampered)), "cursor"),
        // A cursor carried over to another search or sort.
        (format!("/api/admin/organizations?limit=2&sort=-name&cursor={}", enc(&cursor)), "cursor"),
        (format!("/api/admin/organizations?limit=2&q=x&cursor={}", enc(&cursor)), "cursor"),
        (format!("/api/admin/users?limit=2&cursor={}", enc(&cursor)), "cursor"),
        ("/api/admin/users?state=sleepy".to_owned(), "state"),
        ("/api/admin/users?user_id=a%25".to_owned(), "user_id"),
        ("/api/admin/audit?from=2026%2F12%2F01".to_owned(), "from"),
        ("/api/admin/audit?from=2026-12-02&to=2026-12-01".to_owned(), "to"),
        // Years PostgreSQL cannot store, and a year 0 the calendar does not have.
        ("/api/admin/audit?from=-5000-01-01".to_owned(), "from"),
        ("/api/admin/audit?to=0000-12-31".to_owned(), "to"),
        ("/api/admin/audit/chain?from=-5000-01-01&to=2026-12-01".to_owned(), "from"),
        ("/api/admin/certificates?status=lost".to_owned(), "status"),
        ("/api/admin/mail?status=lost".to_owned(), "status"),
        ("/api/admin/export/users?sort=email".to_owned(), "sort"),
    ] {
        let (status, body) = staff.get(&path).await;
        assert_eq!(status, 400, "{db:?} {path}: {body}");
        assert_eq!(body["code"], "invalid_input", "{path}");
        assert_eq!(body["field"], field, "{path}: {body}");
        assert!(!body["message"].as_str().unwrap().is_ascii(), "{path}: a Japanese message: {body}");
    }
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM audit_log").await, audit_before, "{db:?}: nothing changed");
    // The calendar's first and last days are searchable: the day after 9999-12-31 does not exist.
    for path in
        ["/api/admin/audit?from=0001-01-01&to=9999-12-31", "/api/admin/audit/chain?from=0001-01-01&to=9999-12-31"]
    {
        let (status, _, _) = staff.get_raw(path).await;
        assert_eq!(status, 200, "{db:?} {path}");
    }
    // The master user's own list has the same bounds.
    let master = app.master_session("マスター株式会社", "mastera1", "Sekret927").await;
    let (status, body) = master.get("/api/org/users?limit=999").await;
    assert_eq!((status, body["field"].as_str()), (400, Some("limit")), "{body}");
    // Not found, not 400 or 500.
    assert_eq!(staff.get("/api/admin/organizations/999999").await.0, 404);
    assert_eq!(staff.get("/api/admin/organizations/x").await.0, 404);
    assert_eq!(staff.get("/api/admin/users/nobody99").await.0, 404);
    assert_eq!(staff.get("/api/admin/export/secrets").await.0, 404);
}

each_database!(company_names_match_in_full_width_and_half_width);
async fn company_names_match_in_full_width_and_half_width(db: &TestDb) {
    let app = spawn_app(db).await;
    let staff = app.staff_session("staff001", "Sekret927").await;
    app.create_master("ABC商事株式会社", "master01", "Init1234").await;
    app.create_master("ＸＹＺ物産株式会社", "master02", "Init1234").await;
    app.create_master("100%_商会", "master03", "Init1234").await;
    let names = |q: &'static str| {
        let staff = staff.clone();
        async move {
            let (status, body) = staff.get(&format!("/api/admin/organizations?q={}", enc(q))).await;
            assert_eq!(status, 200, "{body}");
            items(&body).iter().map(|o| o["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(names("ａｂｃ商事").await, ["ABC商事株式会社"], "{db:?}: full-width finds half-width");
    assert_eq!(names("abc").await, ["ABC商事株式会社"], "{db:?}: case ignored");
    assert_eq!(names("xyz物産").await, ["ＸＹＺ物産株式会社"], "{db:?}: half-width finds full-width");
    assert_eq!(names("株式会社").await.len(), 2);
    assert_eq!(names("%_").await, ["100%_商会"], "{db:?}: wildcards are literal");
    assert_eq!(names("_").await, ["100%_商会"], "{db:?}");
    let (_, body) = staff.get("/api/admin/organizations?master_user_id=master02").await;
    assert_eq!(items(&body).len(), 1);
    assert_eq!(items(&body)[0]["master_user_id"], "master02");
}

each_database!(csv_exports_read_back_with_japanese_text_and_inert_formulas);
async fn csv_exports_read_back_with_japanese_text_and_inert_formulas(db: &TestDb) {
    let app = spawn_app(db).await;
    let staff = app.staff_session("staff001", "Sekret927").await;
    app.master_ready("=HYPERLINK(\"http://evil\")株式会社", "master01", "Sekret927").await;
    app.master_ready("テスト株式会社", "master02", "Sekret927").await;
    app.issue_certificate("master02", "Sekret927").await;
    for (list, query, expect_rows) in [
        ("organizations", "", 2),
        ("organizations", "?q=%E3%83%86%E3%82%B9%E3%83%88", 1),
        ("users", "?role=master", 2),
        ("certificates", "", 2),
        ("audit", "?user_id=master02", 0),
    ] {
        let (status, headers, bytes) = staff.get_raw(&format!("/api/admin/export/{list}{query}")).await;
        assert_eq!(status, 200, "{db:?} {list}");
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/csv"));
        let disposition = headers["content-disposition"].to_str().unwrap();
        let stem = common::api::list::Export::parse(list).unwrap().stem();
        assert!(
            disposition.contains(&format!("filename=\"{stem}_20")) && disposition.ends_with(".csv\""),
            "{disposition}"
        );
        let rows = python_csv_rows(&bytes);
        if expect_rows > 0 {
            assert_eq!(rows.len(), expect_rows + 1, "{db:?} {list}{query}: {rows:?}");
        }
        for row in &rows {
            for cell in row {
                assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "{db:?} {list}: live cell {cell:?}");
            }
        }
        let text = rows.concat().join("|");
        match list {
            "organizations" if query.is_empty() => {
                assert!(text.contains("'=HYPERLINK(\"http://evil\")株式会社"), "{text}");
                assert!(text.contains("テスト株式会社") && text.contains("会社名"), "{text}");
            }
            "users" => assert!(text.contains("マスターユーザー") && text.contains("テスト株式会社"), "{text}"),
            "certificates" => assert!(text.contains("有効") && text.contains("master02"), "{text}"),
            _ => {}
        }
    }
    // Every export is in the audit log: who, what search, how many rows.
    let exports =
        audit_log::Entity::find().filter(audit_log::Column::Action.eq("exported")).all(&app.db).await.unwrap();
    assert_eq!(exports.len(), 5, "{db:?}");
    let detail: Value = serde_json::from_str(&exports[1].detail).unwrap();
    assert_eq!(exports[1].actor.as_deref(), Some("staff001"));
    assert_eq!(detail["list"], "organizations");
    assert_eq!(detail["rows"], 1);
    assert!(detail["search"].as_str().unwrap().contains("テスト"), "{detail}");
    // Only staff export.
    let master = Browser::new(&app, None);
    assert_eq!(master.get_raw("/api/admin/export/users").await.0, 401);
    let _: &TestApp = &app;
}

each_database!(a_day_of_the_audit_search_starts_at_jst_midnight_to_the_fraction_of_a_second);
/// Entries half a second before, at, and half a second after JST midnight: a day's search
/// holds the last two, the day before the first (SQLite compares the stored text, where a
/// fraction of a second sorted below a whole-second bound).
async fn a_day_of_the_audit_search_starts_at_jst_midnight_to_the_fraction_of_a_second(db: &TestDb) {
    let app = spawn_app(db).await;
    let staff = app.staff_session("staff001", "Sekret927").await;
    // Stored as the service stores every time: in UTC.
    let midnight = time::macros::datetime!(2026-11-30 15:00 UTC);
    for (mark, at) in [
        ("before", midnight - Duration::milliseconds(500)),
        ("at", midnight),
        ("after", midnight + Duration::milliseconds(500)),
    ] {
        let entry = backend::audit::Entry {
            action: backend::audit::Action::Exported,
            actor: Some("境界テスト"),
            subject_user: None,
            org_id: None,
            detail: serde_json::json!({"mark": mark}),
        };
        backend::audit::record(&app.db, entry, at).await.unwrap();
    }
    let marks = |day: &'static str| {
        let staff = &staff;
        async move {
            let (status, page) = staff.get(&format!("/api/admin/audit?from={day}&to={day}")).await;
            assert_eq!(status, 200, "{page}");
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["actor"] == "境界テスト")
                .map(|e| {
                    let detail: Value = serde_json::from_str(e["detail"].as_str().unwrap()).unwrap();
                    detail["mark"].as_str().unwrap().to_owned()
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(marks("2026-11-30").await, ["before"], "{db:?}");
    // (Their order within the second is SQLite's text order: no real time is a whole second.)
    let mut day = marks("2026-12-01").await;
    day.sort();
    assert_eq!(day, ["after", "at"], "{db:?}");
}
