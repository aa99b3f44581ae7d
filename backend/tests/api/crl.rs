//! The CRL follows the unexpired revoked certificates (RFC 5280 §3.3): an expired revoked
//! certificate stays listed up to the first CRL issued after its expiry and then leaves; the
//! stored CRL history stays bounded. Checked with OpenSSL, which verifies each CRL against the CA.

use backend::db::entities::user;
use backend::{
    certificates::revocation::{CRL_HISTORY, regenerate},
    pki::CertificateAuthority,
};
use common::api::CertificateStatus;
use sea_orm::EntityTrait;
use time::OffsetDateTime;

use crate::helpers::{TestDb, TestStore, each_database, insert_certificate, verified_crl_text};

/// The serials a CRL lists (lower-case hex), after OpenSSL verified it against the CA.
fn listed_serials(store: &TestStore, der: &[u8]) -> Vec<String> {
    verified_crl_text(&store.data_dir, der)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Serial Number: "))
        .map(|s| s.trim().to_ascii_lowercase())
        .collect()
}

each_database!(expired_revoked_certificates_leave_the_crl_after_one_more_and_history_is_bounded);
async fn expired_revoked_certificates_leave_the_crl_after_one_more_and_history_is_bounded(db: &TestDb) {
    let store = TestStore::fresh(db).await;
    store.create_master("テスト株式会社", "master01", "Init1234").await;
    let now = OffsetDateTime::now_utc();
    let ca = std::sync::Arc::new(CertificateAuthority::load_or_create(&store.data_dir, None, now).unwrap());
    // Three revoked certificates of the master: expired a year ago, expiring in a minute, valid
    // for a year; and one active.
    let master = user::Entity::find().one(&store.db).await.unwrap().unwrap();
    let year = time::Duration::days(365);
    let rows = [
        ("0a01", now - year, CertificateStatus::Revoked),
        ("0a02", now + time::Duration::minutes(1), CertificateStatus::Revoked),
        ("0a03", now + year, CertificateStatus::Revoked),
        ("0a04", now + year, CertificateStatus::Active),
    ];
    for (serial, not_after, status) in rows {
        let revoked_at = (status == CertificateStatus::Revoked).then_some(now - year);
        insert_certificate(&store.db, &master, serial, (now - year - year, not_after), revoked_at).await;
    }
    let first = regenerate(&store.db, &ca, now).await.unwrap();
    assert_eq!(listed_serials(&store, &first.der), ["0a01", "0a02", "0a03"], "the first CRL lists every revoked one");
    let second = regenerate(&store.db, &ca, now).await.unwrap();
    assert_eq!(
        listed_serials(&store, &second.der),
        ["0a02", "0a03"],
        "expired before the previous CRL was issued: left"
    );
    let later = now + time::Duration::minutes(2);
    let third = regenerate(&store.db, &ca, later).await.unwrap();
    assert_eq!(listed_serials(&store, &third.der), ["0a02", "0a03"], "expired since: listed once more");
    let fourth = regenerate(&store.db, &ca, later).await.unwrap();
    assert_eq!(listed_serials(&store, &fourth.der), ["0a03"], "then it leaves");
    for _ in 0..CRL_HISTORY {
        regenerate(&store.db, &ca, later).await.unwrap();
    }
    assert_eq!(store.count("SELECT COUNT(*) AS n FROM crls").await, CRL_HISTORY, "the newest CRL_HISTORY are kept");
    assert_eq!(store.count("SELECT MIN(number) AS n FROM crls").await, 4 + 1, "the oldest went first");
}

each_database!(a_crl_fetched_after_a_revocation_lists_it_while_others_revoke_and_fetch);
async fn a_crl_fetched_after_a_revocation_lists_it_while_others_revoke_and_fetch(db: &TestDb) {
    let app = crate::helpers::spawn_app(db).await;
    app.create_master("並行試験株式会社", "master01", "Init1234").await;
    let master = user::Entity::find().one(&app.db).await.unwrap().unwrap();
    let now = OffsetDateTime::now_utc();
    let serials: Vec<String> = (0..12).map(|i| format!("0b{i:02x}")).collect();
    for serial in &serials {
        let validity = (now - time::Duration::days(1), now + time::Duration::days(300));
        insert_certificate(&app.db, &master, serial, validity, None).await;
    }
    let crl_url = app.url("/pki/crl");
    let mut tasks = tokio::task::JoinSet::new();
    // Revokers: each revokes one certificate and at once fetches the CRL, which must list it,
    // while the others revoke and sign.
    for serial in serials.clone() {
        let (revocations, client, url) = (app.state.revocations.clone(), app.client.clone(), crl_url.clone());
        tasks.spawn(async move {
            let actor = backend::auth::accounts::Actor::Cli;
            let reason = common::api::RevocationReason::Superseded;
            revocations.revoke(&actor, &serial, reason, OffsetDateTime::now_utc()).await.unwrap();
            let der = client.get(&url).send().await.unwrap().bytes().await.unwrap().to_vec();
            (Some(serial), der)
        });
    }
    // Readers: fetch the CRL meanwhile (each fetch may sign one).
    for _ in 0..4 {
        let (client, url) = (app.client.clone(), crl_url.clone());
        tasks.spawn(async move {
            let mut last = Vec::new();
            for _ in 0..5 {
                last = client.get(&url).send().await.unwrap().bytes().await.unwrap().to_vec();
            }
            (None, last)
        });
    }
    let mut checked = 0;
    while let Some(done) = tasks.join_next().await {
        let (serial, der) = done.unwrap();
        let listed = listed_serials(&app, &der);
        if let Some(serial) = serial {
            assert!(listed.contains(&serial), "the CRL fetched after revoking {serial} lists it: {listed:?}");
            checked += 1;
        }
    }
    assert_eq!(checked, serials.len());
    let der = app.client.get(&crl_url).send().await.unwrap().bytes().await.unwrap();
    let mut listed = listed_serials(&app, &der);
    listed.sort();
    assert_eq!(listed, serials, "the last CRL lists all twelve");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'certificate_revoked'").await, 12);
    assert_eq!(app.count("SELECT revocations AS n FROM revocation_counter").await, 12);
}
