//! Scale: 1,000,000 certificate rows — start-up time, the reminder scan and the admin
//! certificate search, each beside the same measurement on an empty database / without the
//! search indexes, in the same run.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use backend::{
    auth::accounts,
    db::entities::{certificate, organization, user},
    mail::reminders,
    read::lists::certificates,
};
use common::api::{CertificateStatus, Role, list::CertificateSearch as CertificateQuery};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait};
use time::OffsetDateTime;

use crate::util::{self, Server, ms, percentile};

/// Indexes the certificate search relies on (created by migration 000003).
const SEARCH_INDEXES: &[(&str, &str)] = &[
    ("idx_certificates_subject_cn", "subject_cn"),
    ("idx_certificates_created_at", "created_at"),
    ("idx_certificates_org_created", "org_id, created_at"),
    ("idx_certificates_status_created", "status, created_at"),
];

/// Seeds `orgs` companies, `users` users and `rows` certificates (each user's latest expiry
/// spread over two years, older ones a year apart each, 5 % revoked).
pub async fn seed(db: &DatabaseConnection, orgs: usize, users: usize, rows: usize) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let now = OffsetDateTime::now_utc();
    let org_rows: Vec<organization::ActiveModel> = (0..orgs)
        .map(|i| organization::ActiveModel {
            name: Set(format!("規模試験{i:04}株式会社")),
            name_search: Set(backend::domain::names::normalize(&format!("規模試験{i:04}株式会社"))),
            certificate_limit: Set(1_000),
            created_at: Set(now),
            ..Default::default()
        })
        .collect();
    for c in org_rows.chunks(1000) {
        organization::Entity::insert_many(c.to_vec()).exec_without_returning(db).await?;
    }
    let first_org: i64 = min_id(db, "organizations").await?;
    let user_rows: Vec<user::ActiveModel> = (0..users)
        .map(|i| {
            accounts::new_user_row(
                format!("s{i:07}"),
                Some(first_org + (i % orgs) as i64),
                Role::General,
                "$argon2id$v=19$m=19456,t=2,p=1$c2NhbGVzY2FsZQ$0000000000000000000000000000000000000000000".to_owned(),
                format!("s{i:07}@example.co.jp"),
                false,
                now,
            )
        })
        .collect();
    for c in user_rows.chunks(2000) {
        user::Entity::insert_many(c.to_vec()).exec_without_returning(db).await?;
    }
    let first_user: i64 = min_id(db, "users").await?;
    let span = 730 * 24 * 3600;
    for start in (0..rows).step_by(2000) {
        let batch: Vec<certificate::ActiveModel> = (start..(start + 2000).min(rows))
            .map(|i| {
                // User u holds certificates j = 0, 1, … one year apart; the latest expires
                // somewhere in [now − 60 days, now + 670 days], so some are due a notice.
                let (u, j) = (i % users, i / users);
                let per_user = rows.div_ceil(users);
                let latest = now - time::Duration::days(60) + time::Duration::seconds((u as i64 * 7919) % span);
                let not_after = latest - time::Duration::days(365 * (per_user - 1 - j) as i64);
                certificate::ActiveModel {
                    serial: Set(format!("{:040x}", i as u128 * 0x9e37_79b9_7f4a_7c15 + 1)),
                    user_pk: Set(first_user + u as i64),
                    org_id: Set(Some(first_org + (u % orgs) as i64)),
                    subject_cn: Set(format!("s{u:07}")),
                    not_before: Set(not_after - time::Duration::days(366)),
                    not_after: Set(not_after),
                    fingerprint_sha256: Set(format!("{:064x}", i)),
                    key_type: Set("rsa2048".into()),
                    status: Set(if i % 20 == 0 { CertificateStatus::Revoked } else { CertificateStatus::Active }),
                    revoked_at: Set(None),
                    revocation_reason: Set(None),
                    created_at: Set(not_after - time::Duration::days(366)),
                    ..Default::default()
                }
            })
            .collect();
        certificate::Entity::insert_many(batch).exec_without_returning(db).await?;
    }
    // What issuing keeps on each user's row, for rows written straight in.
    backend::certificates::certified::refresh_all(db).await?;
    Ok(started.elapsed())
}

pub(crate) async fn min_id(db: &DatabaseConnection, table: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT CAST(MIN(id) AS BIGINT) AS n FROM {table}"),
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("empty {table}"))?;
    Ok(row.try_get::<i64>("", "n")?)
}

/// p50 and p95 in ms of a mix of admin certificate searches, and the slowest kind's p95.
async fn search_mix(db: &DatabaseConnection, users: usize, orgs: usize) -> anyhow::Result<(f64, f64, String)> {
    let now = OffsetDateTime::now_utc();
    let kinds = ["user ID", "serial", "company", "status=valid", "newest"];
    let mut lat = Vec::new();
    let mut per_kind: Vec<Vec<f64>> = vec![Vec::new(); kinds.len()];
    for i in 0..20 {
        let queries = [
            CertificateQuery { user_id: Some(format!("s{:07}", (i * 4999) % users)), ..Default::default() },
            CertificateQuery {
                serial: Some(format!("{:040x}", (i as u128 * 7777) * 0x9e37_79b9_7f4a_7c15 + 1)),
                ..Default::default()
            },
            CertificateQuery {
                organization: Some(format!("規模試験{:04}", (i * 37) % orgs)), ..Default::default()
            },
            CertificateQuery { status: Some("active".into()), ..Default::default() },
            CertificateQuery::default(),
        ];
        for (k, q) in queries.iter().enumerate() {
            let t = Instant::now();
            let found = certificates(db, q, now).await?;
            let elapsed = ms(t.elapsed());
            lat.push(elapsed);
            per_kind[k].push(elapsed);
            std::hint::black_box(found);
        }
    }
    let worst = per_kind
        .iter()
        .zip(kinds)
        .map(|(v, k)| (percentile(v, 95.0), k))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(p, k)| format!("slowest kind: {k} p95 {p:.1} ms"))
        .unwrap_or_default();
    Ok((percentile(&lat, 50.0), percentile(&lat, 95.0), worst))
}

/// Runs the scale section on one database kind; pushes table rows.
pub async fn section(
    cjs: &Path,
    label: &str,
    database_url: Option<&str>,
    rows: usize,
    out: &mut Vec<String>,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let config = util::config(&data, database_url)?;
    let (db, _) = backend::startup::core_services(&config).await?;
    // Start-up on the empty (already migrated) database: the baseline.
    let empty = Server::start(cjs, &data, database_url, &[]).await?;
    let empty_startup = empty.startup;
    empty.stop();
    let users = (rows / 10).max(1);
    let orgs = (users / 100).clamp(1, 1000);
    let seeded = seed(&db, orgs, users, rows).await?;
    let full = Server::start(cjs, &data, database_url, &[]).await?;
    let full_startup = full.startup;
    full.stop();
    out.push(format!(
        "| {label} | start-up to first healthy answer | {:.0} ms | {:.0} ms on the empty database ({:.2}×) | seeded {rows} rows in {:.0} s |",
        ms(full_startup),
        ms(empty_startup),
        full_startup.as_secs_f64() / empty_startup.as_secs_f64(),
        seeded.as_secs_f64()
    ));

    // Reminder scan: the first pass queues every due notice; the second finds them all queued.
    let now = OffsetDateTime::now_utc();
    let t = Instant::now();
    let first = reminders::scan(&db, &[30, 10], "https://cjs.example.jp", now, now).await?;
    let first_t = t.elapsed();
    let t = Instant::now();
    let second = reminders::scan(&db, &[30, 10], "https://cjs.example.jp", now, now).await?;
    let second_t = t.elapsed();
    out.push(format!(
        "| {label} | reminder scan | first {:.2} s ({} certificates in the window, {} mails queued); repeat {:.2} s ({} queued) | {:.0} certificates/s examined | |",
        first_t.as_secs_f64(),
        first.examined,
        first.queued,
        second_t.as_secs_f64(),
        second.queued,
        second.examined as f64 / second_t.as_secs_f64()
    ));

    // Admin search with and without the indexes of migration 000003.
    let (p50, p95, worst) = search_mix(&db, users, orgs).await?;
    for (name, _) in SEARCH_INDEXES {
        db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
    }
    let (np50, np95, nworst) = search_mix(&db, users, orgs).await?;
    for (name, cols) in SEARCH_INDEXES {
        db.execute_unprepared(&format!("CREATE INDEX {name} ON certificates ({cols})")).await?;
    }
    out.push(format!(
        "| {label} | admin certificate search (5 query kinds × 20) | p50 {p50:.1} ms / p95 {p95:.1} ms ({worst}) | without the search indexes: p50 {np50:.1} / p95 {np95:.1} ms ({nworst}) | target p95 ≤ 50 ms |"
    ));
    db.close().await?;
    Ok(())
}
