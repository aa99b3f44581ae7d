//! The CRL follows the unexpired revoked certificates (RFC 5280 §3.3): an expired revoked
//! certificate stays listed up to the first CRL issued after its expiry and then leaves; the
//! stored CRL history stays bounded. Checked with OpenSSL, which verifies each CRL against the CA.

use backend::db::entities::{certificate, user};
use backend::{
    certificates::revocation::{CRL_HISTORY, regenerate},
    pki::CertificateAuthority,
};
use common::api::CertificateStatus;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use time::OffsetDateTime;

use crate::helpers::{TestDb, TestStore, each_database, verified_crl_text};

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
    let ca = CertificateAuthority::load_or_create(&store.data_dir, None, now).unwrap();
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
        let revoked = status == CertificateStatus::Revoked;
        certificate::ActiveModel {
            serial: Set(serial.to_owned()),
            user_pk: Set(master.id),
            org_id: Set(master.org_id),
            subject_cn: Set(master.user_id.clone()),
            not_before: Set(now - year - year),
            not_after: Set(not_after),
            fingerprint_sha256: Set(format!("fp{serial}")),
            key_type: Set("p256".to_owned()),
            status: Set(status),
            revoked_at: Set(revoked.then_some(now - year)),
            revocation_reason: Set(revoked.then(|| "superseded".to_owned())),
            created_at: Set(now - year - year),
            ..Default::default()
        }
        .insert(&store.db)
        .await
        .unwrap();
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
