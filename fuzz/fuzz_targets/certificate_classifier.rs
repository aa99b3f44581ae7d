//! The client-certificate classifier on arbitrary DER (what a TLS client may present): never
//! panics, never errors, and only the exact bytes of a certificate issued here are ours — every
//! other input is `unknown_issuer`.
#![no_main]

use std::sync::OnceLock;

use backend::{
    auth::accounts::{self, Actor, NewAccount},
    config::{Config, ConfigArgs},
    db::entities::certificate,
    pki::{
        CertificateAuthority,
        issue::{KeyType, issue_client_certificate},
    },
    read::presented::classify,
    startup::core_services,
};
use common::{Field, Password, UserId, api::CertificateClass};
use libfuzzer_sys::fuzz_target;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use time::OffsetDateTime;

struct Env {
    rt: tokio::runtime::Runtime,
    db: DatabaseConnection,
    issued: Vec<u8>,
    _dir: tempfile::TempDir,
}

static ENV: OnceLock<Env> = OnceLock::new();

fn env() -> &'static Env {
    ENV.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let (db, issued) = rt.block_on(async {
            let config = Config::resolve(&ConfigArgs {
                data_dir: Some(dir.path().join("data")),
                argon2_memory_kib: Some(64),
                ..Default::default()
            })
            .unwrap();
            let (db, auth) = core_services(&config).await.unwrap();
            let (org, _) = accounts::create_organization(
                &db,
                &auth.hasher,
                "ファズ株式会社",
                20,
                NewAccount {
                    user_id: &UserId::parse("fuzz0001").unwrap(),
                    email: "f@example.co.jp",
                    password: Some(Password::parse(Field::Password, "Fuzz1234").unwrap()),
                },
                &Actor::Cli,
                now,
            )
            .await
            .unwrap();
            let ca = CertificateAuthority::load_or_create(&config.data_dir, None, now).unwrap();
            let cert = issue_client_certificate(&ca, KeyType::P256, "fuzz0001", &org.name, now).unwrap();
            let user = backend::db::entities::user::Entity::find().one(&db).await.unwrap().unwrap();
            certificate::Entity::insert(certificate::ActiveModel {
                serial: Set(cert.serial.clone()),
                user_pk: Set(user.id),
                org_id: Set(Some(org.id)),
                subject_cn: Set("fuzz0001".into()),
                not_before: Set(cert.not_before),
                not_after: Set(cert.not_after),
                fingerprint_sha256: Set(cert.fingerprint.clone()),
                key_type: Set(KeyType::P256.as_str().into()),
                status: Set(common::api::CertificateStatus::Active),
                revoked_at: Set(None),
                revocation_reason: Set(None),
                created_at: Set(now),
                ..Default::default()
            })
            .exec(&db)
            .await
            .unwrap();
            (db, cert.cert_der)
        });
        Env { rt, db, issued, _dir: dir }
    })
}

fuzz_target!(|data: &[u8]| {
    let env = env();
    let judged = env.rt.block_on(classify(&env.db, Some(data), OffsetDateTime::now_utc())).expect("classify errs");
    if data == env.issued.as_slice() {
        assert_eq!(judged.class, CertificateClass::Valid);
    } else {
        assert_eq!(judged.class, CertificateClass::UnknownIssuer, "{} bytes judged {:?}", data.len(), judged.class);
    }
});
