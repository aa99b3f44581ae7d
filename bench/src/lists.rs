//! Staff lists at a bank's size (issue 26): 10,000 companies, 50,000 users, 1,000,000
//! certificates, 5,000,000 audit entries and a few thousand mails (`--rows` certificates; the
//! rest in proportion). Every list's first page and its 20th page (following `next` cursors) for
//! the searches staff use, timed in process as the handlers call them (the list function of
//! `backend::read::lists` and the JSON of its page), after the statistics step a serving
//! database has had (cjs's `PRAGMA optimize` on SQLite, autovacuum's ANALYZE on PostgreSQL);
//! beside each, the previous release's query for the same screen (`previous`). Then through the
//! release server over HTTPS with a staff session: the first pages again, and the CSV export of
//! every certificate, read to the end while the server's RSS is sampled every 100 ms.

use std::{
    io::Write,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use backend::{
    auth::accounts,
    db::entities::{mail_outbox, user},
    mail::reminders,
    read::lists::{self, UserScope},
};
use common::api::{
    CertificateStatus, MailStatus, Role,
    list::{AuditSearch, CertificateSearch, MailSearch, OrganizationSearch, Search, Total, UserSearch},
};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, Statement, Value};
use serde_json::json;
use time::OffsetDateTime;

use crate::{
    previous, scale,
    util::{self, PASSWORD, Server, ms, percentile},
};

/// The page the deep-page rows measure (reached by following `next`).
const DEEP_PAGE: usize = 20;
/// Repetitions of each measurement (fewer when one takes longer than [`BUDGET`] in all).
const REPS: usize = 20;
const BUDGET: Duration = Duration::from_secs(15);
/// The staff user of the HTTPS measurements.
const STAFF: &str = "staff0001";

/// How much data: `certificates` rows and the rest in the issue's proportions.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub orgs: usize,
    pub users: usize,
    pub certificates: usize,
    pub audit: usize,
    pub mail: usize,
}

impl Sizes {
    /// 1,000,000 → 10,000 companies, 50,000 users, 5,000,000 audit entries, 5,000 mails.
    pub fn of(certificates: usize) -> Self {
        Self {
            orgs: (certificates / 100).clamp(10, 10_000),
            users: (certificates / 20).max(20),
            certificates,
            audit: certificates * 5,
            mail: (certificates / 200).max(50),
        }
    }
}

/// The audit log's indexes (migrations 000001 and 000009): dropped while the log is seeded and
/// made again after, which is faster than keeping them up to date row by row.
const AUDIT_INDEXES: &[(&str, &str)] = &[
    ("idx_audit_subject", "subject_user"),
    ("idx_audit_subject_at", "subject_user, at, id"),
    ("idx_audit_actor", "actor, at, id"),
    ("idx_audit_action", "action, at, id"),
    ("idx_audit_at", "at, id"),
    ("idx_audit_client_address", "client_address, at, id"),
];

const TABLES: &[&str] = &["organizations", "users", "certificates", "audit_log", "mail_outbox"];

/// A statement with `?` placeholders, numbered for PostgreSQL.
fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let text = match backend {
        DbBackend::Postgres => {
            let mut n = 0;
            sql.chars()
                .map(|c| {
                    if c == '?' {
                        n += 1;
                        format!("${n}")
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        }
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, text, values)
}

async fn exec(db: &DatabaseConnection, sql: &str, values: Vec<Value>) -> anyhow::Result<()> {
    db.execute_raw(statement(db.get_database_backend(), sql, values)).await.with_context(|| sql.to_owned())?;
    Ok(())
}

/// One `INSERT … SELECT` of `n` audit entries over the last two years, oldest first (ids follow
/// time, as in service): actors and subjects spread over the users (a third done by the user
/// themself), ten actions in a fixed mix, 300 client addresses.
pub fn audit_insert(backend: DbBackend, sizes: Sizes, first_org: i64, start: i64) -> String {
    let (n, users, orgs) = (sizes.audit, sizes.users, sizes.orgs);
    let span = 730 * 86_400_i64;
    let cols = "at, actor, action, subject_user, org_id, detail, client_address, request_id";
    let actions = [
        "login",
        "login",
        "login",
        "auth_success",
        "auth_success",
        "auth_success",
        "certificate_issued",
        "auth_failure",
        "password_changed",
        "certificate_revoked",
    ];
    match backend {
        DbBackend::Postgres => {
            let array = actions.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ");
            format!(
                "INSERT INTO audit_log ({cols}) SELECT \
                 to_timestamp({start} + i * {span} / {n}), \
                 CASE WHEN i % 3 = 0 THEN NULL ELSE 's' || lpad(((i * 104729) % {users})::text, 7, '0') END, \
                 (ARRAY[{array}])[i % 10 + 1], \
                 's' || lpad(((i * 7919) % {users})::text, 7, '0'), \
                 {first_org} + (i * 7919) % {users} % {orgs}, \
                 '{{\"serial\":\"' || lpad(to_hex(i), 40, '0') || '\"}}', \
                 '10.20.' || ((i * 7) % 300 / 100) || '.' || ((i * 7) % 300 % 100 + 1), \
                 lpad(to_hex(i * 2654435761), 16, '0') \
                 FROM generate_series(0::bigint, {last}) AS s(i)",
                last = n as i64 - 1
            )
        }
        _ => {
            let case =
                actions.iter().enumerate().map(|(k, a)| format!("WHEN {k} THEN '{a}'")).collect::<Vec<_>>().join(" ");
            // Times as sqlx writes an OffsetDateTime into SQLite: RFC 3339 text in UTC with 'Z'.
            format!(
                "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < {n}) \
                 INSERT INTO audit_log ({cols}) SELECT \
                 strftime('%Y-%m-%dT%H:%M:%SZ', {start} + i * {span} / {n}, 'unixepoch'), \
                 CASE WHEN i % 3 = 0 THEN NULL ELSE printf('s%07d', (i * 104729) % {users}) END, \
                 CASE i % 10 {case} END, \
                 printf('s%07d', (i * 7919) % {users}), \
                 {first_org} + (i * 7919) % {users} % {orgs}, \
                 printf('{{\"serial\":\"%040x\"}}', i), \
                 printf('10.20.%d.%d', (i * 7) % 300 / 100, (i * 7) % 300 % 100 + 1), \
                 printf('%016x', i * 2654435761) \
                 FROM s"
            )
        }
    }
}

/// Everything the lists need beyond `scale::seed`: a master user per company, one user in 500
/// locked, a third of the certificates P-256, the mail outbox, the audit log.
async fn seed_rest(db: &DatabaseConnection, sizes: Sizes, now: OffsetDateTime) -> anyhow::Result<(i64, i64)> {
    let first_org = scale::min_id(db, "organizations").await?;
    let first_user = scale::min_id(db, "users").await?;
    // User i belongs to company i % orgs: the first `orgs` users are one per company.
    exec(db, "UPDATE users SET role = 'master' WHERE id < ?", vec![(first_user + sizes.orgs as i64).into()]).await?;
    exec(
        db,
        "UPDATE users SET locked_until = ?, failures = 5, lock_count = 1 WHERE id % 500 = 0",
        vec![(now + time::Duration::hours(1)).into()],
    )
    .await?;
    exec(db, "UPDATE certificates SET key_type = 'p256' WHERE id % 3 = 0", vec![]).await?;
    let mails: Vec<mail_outbox::ActiveModel> = (0..sizes.mail)
        .map(|i| {
            let created = now - time::Duration::minutes(((sizes.mail - i) * 17) as i64);
            let status = match i % 10 {
                0 => MailStatus::Failed,
                1 => MailStatus::Pending,
                _ => MailStatus::Sent,
            };
            mail_outbox::ActiveModel {
                dedupe_key: Set(format!("bench-{i}")),
                to_addr: Set(format!("s{:07}@example.co.jp", (i * 7919) % sizes.users)),
                subject: Set("【重要】電子証明書の有効期限が近づいています".to_owned()),
                body: Set("電子証明書の有効期限が30日以内に切れます。更新してください。".repeat(4)),
                status: Set(status),
                attempts: Set(if status == MailStatus::Failed { 8 } else { 1 }),
                last_error: Set((status == MailStatus::Failed).then(|| "550 5.1.1 mailbox unavailable".to_owned())),
                next_attempt_at: Set(created),
                sent_at: Set((status == MailStatus::Sent).then_some(created)),
                created_at: Set(created),
                ..Default::default()
            }
        })
        .collect();
    for c in mails.chunks(1000) {
        mail_outbox::Entity::insert_many(c.to_vec()).exec_without_returning(db).await?;
    }
    let backend = db.get_database_backend();
    let sqlite = backend == DbBackend::Sqlite;
    if sqlite {
        // The seeding connection only (the measurements run with SQLite's default again).
        db.execute_unprepared("PRAGMA cache_size = -262144").await?;
    }
    for (name, _) in AUDIT_INDEXES {
        db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
    }
    let start = (now - time::Duration::days(730)).unix_timestamp();
    db.execute_unprepared(&audit_insert(backend, sizes, first_org, start)).await?;
    for (name, col) in AUDIT_INDEXES {
        db.execute_unprepared(&format!("CREATE INDEX {name} ON audit_log ({col})")).await?;
    }
    if sqlite {
        db.execute_unprepared("PRAGMA cache_size = -2000").await?;
    }
    Ok((first_org, first_user))
}

/// A list's search, as the API takes it.
#[derive(Debug, Clone)]
enum Query {
    Orgs(OrganizationSearch),
    Users(UserSearch),
    Certs(CertificateSearch),
    Audit(AuditSearch),
    Mail(MailSearch),
}

/// What one call answered: the JSON, rows on the page, the total, the next page's cursor.
struct Answer {
    json: Vec<u8>,
    items: usize,
    total: Total,
    next: Option<String>,
}

macro_rules! answer {
    ($page:expr) => {{
        let page = $page;
        Answer { json: serde_json::to_vec(&page)?, items: page.items.len(), total: page.total, next: page.next }
    }};
}

impl Query {
    fn path(&self) -> &'static str {
        match self {
            Query::Orgs(_) => "/api/admin/organizations",
            Query::Users(_) => "/api/admin/users",
            Query::Certs(_) => "/api/admin/certificates",
            Query::Audit(_) => "/api/admin/audit",
            Query::Mail(_) => "/api/admin/mail",
        }
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        match self {
            Query::Orgs(s) => s.pairs(),
            Query::Users(s) => s.pairs(),
            Query::Certs(s) => s.pairs(),
            Query::Audit(s) => s.pairs(),
            Query::Mail(s) => s.pairs(),
        }
    }

    fn at(&self, cursor: Option<String>) -> Self {
        match self {
            Query::Orgs(s) => Query::Orgs(OrganizationSearch { cursor, ..s.clone() }),
            Query::Users(s) => Query::Users(UserSearch { cursor, ..s.clone() }),
            Query::Certs(s) => Query::Certs(CertificateSearch { cursor, ..s.clone() }),
            Query::Audit(s) => Query::Audit(AuditSearch { cursor, ..s.clone() }),
            Query::Mail(s) => Query::Mail(MailSearch { cursor, ..s.clone() }),
        }
    }

    /// What the handler does: the list's page, and its JSON.
    async fn run(&self, db: &DatabaseConnection) -> anyhow::Result<Answer> {
        let now = OffsetDateTime::now_utc();
        Ok(match self {
            Query::Orgs(s) => answer!(lists::organizations(db, s).await?),
            Query::Users(s) => answer!(lists::users(db, s, UserScope::All, now).await?),
            Query::Certs(s) => answer!(lists::certificates(db, s, now).await?),
            Query::Audit(s) => answer!(lists::audit(db, s).await?),
            Query::Mail(s) => answer!(lists::mail(db, s).await?),
        })
    }
}

/// The previous release's query for the same screen.
#[derive(Debug, Clone)]
enum Prev {
    Orgs,
    Users,
    Certs(Option<String>, Option<CertificateStatus>),
    Audit(Option<String>, Option<String>),
    Mail(Option<MailStatus>),
}

impl Prev {
    /// The JSON of the answer and its rows.
    async fn run(&self, db: &DatabaseConnection) -> anyhow::Result<(Vec<u8>, usize)> {
        let now = OffsetDateTime::now_utc();
        macro_rules! rows {
            ($rows:expr) => {{
                let rows = $rows;
                (serde_json::to_vec(&rows)?, rows.len())
            }};
        }
        Ok(match self {
            Prev::Orgs => rows!(previous::organizations(db).await?),
            Prev::Users => rows!(previous::users(db, now).await?),
            Prev::Certs(org, status) => rows!(previous::certificates(db, org.as_deref(), *status, now).await?),
            Prev::Audit(user, action) => rows!(previous::audit(db, user.as_deref(), action.as_deref()).await?),
            Prev::Mail(status) => rows!(previous::mail(db, *status).await?),
        })
    }
}

struct Case {
    name: String,
    query: Query,
    /// The previous release's query, or why there is none.
    prev: Result<Prev, &'static str>,
}

fn cases(sizes: Sizes, first_org: i64, now: OffsetDateTime) -> Vec<Case> {
    let case = |name: &str, query: Query, prev: Result<Prev, &'static str>| Case { name: name.to_owned(), query, prev };
    let company = "試験０１２"; // full-width digits: 規模試験0120…0129 after NFKC
    let org_id = first_org + 12;
    let uid = format!("s{:07}", sizes.users / 3 + 7);
    let jst = |days: i64| (now - time::Duration::days(days)).to_offset(common::jst::JST).date().to_string();
    let (from, to) = (jst(37), jst(31));
    let whole = "— (none: the whole list above, filtered in the browser)";
    vec![
        case("companies", Query::Orgs(OrganizationSearch::default()), Ok(Prev::Orgs)),
        case(
            &format!("companies, q={company}"),
            Query::Orgs(OrganizationSearch { q: Some(company.into()), ..Default::default() }),
            Err(whole),
        ),
        case("users", Query::Users(UserSearch::default()), Ok(Prev::Users)),
        case(
            "users, state=expiring",
            Query::Users(UserSearch { state: Some("expiring".into()), ..Default::default() }),
            Err(whole),
        ),
        case(
            "users, state=locked",
            Query::Users(UserSearch { state: Some("locked".into()), ..Default::default() }),
            Err(whole),
        ),
        case(
            "users, user_id=s00001 (ID prefix)",
            Query::Users(UserSearch { user_id: Some("s00001".into()), ..Default::default() }),
            Err(whole),
        ),
        case(
            "users, organization_id",
            Query::Users(UserSearch { organization_id: Some(org_id), ..Default::default() }),
            Err(whole),
        ),
        case(
            &format!("users, organization={company}"),
            Query::Users(UserSearch { organization: Some(company.into()), ..Default::default() }),
            Err(whole),
        ),
        case("certificates", Query::Certs(CertificateSearch::default()), Ok(Prev::Certs(None, None))),
        case(
            "certificates, status=active&key_type=p256",
            Query::Certs(CertificateSearch {
                status: Some("active".into()),
                key_type: Some("p256".into()),
                ..Default::default()
            }),
            Ok(Prev::Certs(None, Some(CertificateStatus::Active))),
        ),
        case(
            &format!("certificates, organization={company}"),
            Query::Certs(CertificateSearch { organization: Some(company.into()), ..Default::default() }),
            Ok(Prev::Certs(Some(company.into()), None)),
        ),
        case(
            "certificates, organization_id",
            Query::Certs(CertificateSearch { organization_id: Some(org_id), ..Default::default() }),
            Err("— (no such search)"),
        ),
        case("audit", Query::Audit(AuditSearch::default()), Ok(Prev::Audit(None, None))),
        case(
            &format!("audit, user_id={uid}"),
            Query::Audit(AuditSearch { user_id: Some(uid.clone()), ..Default::default() }),
            Ok(Prev::Audit(Some(uid), None)),
        ),
        case(
            "audit, action=certificate_revoked",
            Query::Audit(AuditSearch { action: Some("certificate_revoked".into()), ..Default::default() }),
            Ok(Prev::Audit(None, Some("certificate_revoked".into()))),
        ),
        case(
            &format!("audit, from={from}&to={to} (JST, 7 days)"),
            Query::Audit(AuditSearch { from: Some(from), to: Some(to), ..Default::default() }),
            Err("— (no such search)"),
        ),
        case(
            "audit, client_address=10.20.1.43",
            Query::Audit(AuditSearch { client_address: Some("10.20.1.43".into()), ..Default::default() }),
            Err("— (no such search)"),
        ),
        case("mail", Query::Mail(MailSearch::default()), Ok(Prev::Mail(None))),
        case(
            "mail, status=failed",
            Query::Mail(MailSearch { status: Some("failed".into()), ..Default::default() }),
            Ok(Prev::Mail(Some(MailStatus::Failed))),
        ),
    ]
}

/// Latencies (ms) of `REPS` calls of `f` (at least 3, fewer than `REPS` past [`BUDGET`]), and
/// the last answer.
async fn timed<T, F, Fut>(mut f: F) -> anyhow::Result<(Vec<f64>, T)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let (mut lat, mut last) = (Vec::new(), None);
    let started = Instant::now();
    while lat.len() < REPS && (lat.len() < 3 || started.elapsed() < BUDGET) {
        let t = Instant::now();
        let a = f().await?;
        lat.push(ms(t.elapsed()));
        last = Some(a);
    }
    Ok((lat, last.expect("at least one call")))
}

struct Measured {
    first: (Vec<f64>, Answer),
    /// The deep page: its number and measure (the last page when there are fewer than 20).
    deep: Option<(usize, Vec<f64>, Answer)>,
}

async fn measure(db: &DatabaseConnection, q: &Query) -> anyhow::Result<Measured> {
    let first = timed(|| q.run(db)).await?;
    let (mut page, mut cursor, mut last) = (1, first.1.next.clone(), None);
    while let Some(c) = cursor.take() {
        page += 1;
        let at = q.at(Some(c));
        if page == DEEP_PAGE {
            last = Some(at);
            break;
        }
        cursor = at.run(db).await?.next;
        last = Some(at);
    }
    let deep = match last {
        Some(at) => {
            let (lat, a) = timed(|| at.run(db)).await?;
            Some((page, lat, a))
        }
        None => None,
    };
    Ok(Measured { first, deep })
}

fn gzip_len(bytes: &[u8]) -> usize {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).ok();
    gz.finish().map_or(0, |v| v.len())
}

fn total(t: Total) -> String {
    if t.exact { t.count.to_string() } else { format!("> {}", t.count) }
}

fn p50_95(lat: &[f64]) -> String {
    format!("{:.1} / {:.1}", percentile(lat, 50.0), percentile(lat, 95.0))
}

fn p95(lat: &[f64]) -> f64 {
    percentile(lat, 95.0)
}

/// Whether all first and deep pages met p95 ≤ 50 ms and ≤ 100 KB.
fn verdict(m: &Measured) -> bool {
    let ok = |lat: &[f64], a: &Answer| p95(lat) <= 50.0 && a.json.len() <= 100 * 1024;
    ok(&m.first.0, &m.first.1) && m.deep.as_ref().is_none_or(|(_, lat, a)| ok(lat, a))
}

/// The statistics step of a serving database: cjs's own on SQLite, ANALYZE on PostgreSQL (what
/// its autovacuum runs by itself after a bulk load).
async fn analyze(db: &DatabaseConnection) -> anyhow::Result<Duration> {
    let t = Instant::now();
    if db.get_database_backend() == DbBackend::Sqlite {
        backend::db::optimize(db).await?;
    } else {
        db.execute_unprepared("ANALYZE").await?;
    }
    Ok(t.elapsed())
}

async fn autovacuum(db: &DatabaseConnection, on: bool) -> anyhow::Result<()> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for t in TABLES {
        let sql = if on {
            format!("ALTER TABLE {t} RESET (autovacuum_enabled)")
        } else {
            format!("ALTER TABLE {t} SET (autovacuum_enabled = false)")
        };
        db.execute_unprepared(&sql).await?;
    }
    Ok(())
}

/// An HTTPS client of `server` presenting `pem`, with a timeout long enough for an export.
fn staff_client(server: &Server, pem: &[u8]) -> anyhow::Result<reqwest::Client> {
    let ca = std::fs::read(server.data_dir.join("server-ca.pem"))?;
    Ok(reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca)?)
        .identity(reqwest::Identity::from_pem(pem)?)
        .timeout(Duration::from_secs(900))
        .build()?)
}

/// A staff session on `server`: a certificate issued through the API, then `POST /api/login`
/// with it. Returns the client (presenting the certificate) and the session cookie.
async fn staff_session(server: &Server, dir: &Path) -> anyhow::Result<(reqwest::Client, String)> {
    let p12 = crate::issuance::issue_via_api(&server.client()?, &server.url(""), STAFF).await?;
    let client = staff_client(server, &util::identity_pem(&p12, dir, "staff")?)?;
    let r = client.post(server.url("/api/login")).json(&json!({"user_id": STAFF, "password": PASSWORD})).send().await?;
    anyhow::ensure!(r.status().is_success(), "staff login: {}", r.status());
    let cookie = r
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next())
        .find(|c| c.starts_with("cjs_session="))
        .context("no session cookie")?
        .to_owned();
    Ok((client, cookie))
}

/// Runs the lists section on one database kind; prints its tables.
pub async fn section(cjs: &Path, label: &str, database_url: Option<&str>, sizes: Sizes) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let config = util::config(&data, database_url)?;
    let (db, auth) = backend::startup::core_services(&config).await?;
    autovacuum(&db, false).await?;
    let now = OffsetDateTime::now_utc();
    let t = Instant::now();
    scale::seed(&db, sizes.orgs, sizes.users, sizes.certificates).await?;
    let (first_org, _) = seed_rest(&db, sizes, now).await?;
    let seeded = t.elapsed();
    eprintln!("lists/{label}: seeded in {:.0} s", seeded.as_secs_f64());

    let cases = cases(sizes, first_org, now);
    // The planner's statistics as a server has them: SQLite's from cjs's own `PRAGMA optimize`
    // (at every connect and every hour), PostgreSQL's from autovacuum (ANALYZE stands in for it).
    let analyzed = analyze(&db).await?;
    autovacuum(&db, true).await?;
    eprintln!("lists/{label}: statistics in {:.1} s", analyzed.as_secs_f64());

    crate::heading(
        &format!(
            "Staff lists, {label}: {} companies, {} users, {} certificates, {} audit entries, {} mails (in process, p50 / p95 of {REPS})",
            sizes.orgs, sizes.users, sizes.certificates, sizes.audit, sizes.mail
        ),
        &[
            "list, search",
            "page",
            "rows / total",
            "p50 / p95 ms",
            "JSON bytes (gzip)",
            "previous release: p50 / p95 ms, rows, JSON bytes",
            "≤ 50 ms, ≤ 100 KB",
        ],
    );
    let mut first_pages = Vec::new();
    for c in &cases {
        let m = measure(&db, &c.query).await.with_context(|| c.name.clone())?;
        let prev = match &c.prev {
            Err(why) => (*why).to_owned(),
            Ok(p) => {
                // Errors (SQLite's variable limit) are what the endpoint answered: a 500.
                let mut lat = Vec::new();
                let mut outcome = String::new();
                let started = Instant::now();
                while lat.len() < REPS && (lat.len() < 3 || started.elapsed() < BUDGET) {
                    let t = Instant::now();
                    let r = p.run(&db).await;
                    lat.push(ms(t.elapsed()));
                    outcome = match r {
                        Ok((json, rows)) => format!("{rows} rows, {} B", json.len()),
                        Err(e) => {
                            let e = e.to_string();
                            format!("**500**: {}", e.chars().take(120).collect::<String>().replace('|', "/"))
                        }
                    };
                }
                format!("{} ({} runs), {outcome}", p50_95(&lat), lat.len())
            }
        };
        let (lat, a) = &m.first;
        first_pages.push((c.query.clone(), a.json.len()));
        crate::emit(&[format!(
            "| {} | 1 | {} / {} | {} | {} ({}) | {prev} | {} |",
            c.name,
            a.items,
            total(a.total),
            p50_95(lat),
            a.json.len(),
            gzip_len(&a.json),
            if verdict(&m) { "yes" } else { "**no**" }
        )]);
        if let Some((page, lat, a)) = &m.deep {
            crate::emit(&[format!(
                "| ↳ | {page} | {} / {} | {} | {} ({}) | | |",
                a.items,
                total(a.total),
                p50_95(lat),
                a.json.len(),
                gzip_len(&a.json),
            )]);
        }
    }

    // Through the release server. Its reminder scan (30 s after start) is run here first, so
    // the server's own finds everything queued and writes nothing during the measurements.
    reminders::scan(&db, &[30, 10], "https://cjs.example.jp", now, now).await?;
    let hash = auth.hasher.hash_blocking(PASSWORD)?;
    user::Entity::insert(accounts::new_user_row(
        STAFF.to_owned(),
        None,
        Role::Staff,
        hash,
        format!("{STAFF}@bank.example.jp"),
        false,
        now,
    ))
    .exec(&db)
    .await?;
    let server = Server::start(cjs, &data, database_url, &[]).await?;
    let (client, cookie) = staff_session(&server, dir.path()).await?;

    crate::heading(
        &format!(
            "Staff lists, {label}, through HTTPS (release `cjs serve`, one keep-alive client, staff session; first pages)"
        ),
        &["list, search", "p50 / p95 ms", "body bytes (identity)"],
    );
    for (c, (q, _)) in cases.iter().zip(&first_pages) {
        let (client, cookie, url, pairs, name) = (&client, &cookie, server.url(q.path()), q.pairs(), &c.name);
        let (lat, len) = timed(|| {
            let (url, pairs) = (url.clone(), pairs.clone());
            async move {
                let r = client.get(url).query(&pairs).header("cookie", cookie).send().await?;
                anyhow::ensure!(r.status().is_success(), "{name}: {}", r.status());
                Ok(r.bytes().await?.len())
            }
        })
        .await?;
        crate::emit(&[format!("| {} | {} | {len} |", c.name, p50_95(&lat))]);
    }

    // The CSV export of every certificate, read to the end; the server's RSS every 100 ms.
    let pid = server.pid();
    let rss_before = util::rss_mib(pid);
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let (mut peak, mut samples) = (0f64, 0usize);
            while !stop.load(Ordering::Relaxed) {
                peak = peak.max(util::rss_mib(pid));
                samples += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (peak, samples)
        })
    };
    let t = Instant::now();
    let mut r = client.get(server.url("/api/admin/export/certificates")).header("cookie", &cookie).send().await?;
    let headers_at = t.elapsed();
    anyhow::ensure!(r.status().is_success(), "export: {}", r.status());
    let announced = r.headers().get("x-export-rows").and_then(|v| v.to_str().ok()).unwrap_or("?").to_owned();
    let (mut bytes, mut lines) = (0usize, 0usize);
    while let Some(chunk) = r.chunk().await? {
        bytes += chunk.len();
        lines += chunk.iter().filter(|&&b| b == b'\n').count();
    }
    let took = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (peak, samples) = sampler.await?;
    crate::heading(
        &format!(
            "CSV export of every certificate, {label} (GET /api/admin/export/certificates over HTTPS, read to the end)"
        ),
        &[
            "rows (X-Export-Rows)",
            "bytes",
            "headers after s",
            "done after s",
            "RSS before / peak MiB",
            "growth (target ≤ 50 MB)",
        ],
    );
    crate::emit(&[format!(
        "| {} ({announced}) | {bytes} | {:.2} | {:.1} ({:.0} rows/s) | {rss_before:.1} / {peak:.1} ({samples} samples) | {:.1} MiB |",
        lines.saturating_sub(1),
        headers_at.as_secs_f64(),
        took.as_secs_f64(),
        lines.saturating_sub(1) as f64 / took.as_secs_f64(),
        peak - rss_before
    )]);
    server.stop();
    println!("\n(seeded in {:.0} s; the statistics step took {:.1} s)", seeded.as_secs_f64(), analyzed.as_secs_f64());
    db.close().await?;
    if std::env::var_os("CJS_BENCH_KEEP").is_some() {
        eprintln!("lists/{label}: data kept in {}", dir.keep().display());
    }
    Ok(())
}
