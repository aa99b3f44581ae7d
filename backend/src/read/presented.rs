//! A certificate a client presented, judged against our records: found by its exact bytes
//! (SHA-256) among the certificates issued here, then classified by the rule
//! [`crate::domain::certificate::class`].

use common::api::CertificateClass;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use time::OffsetDateTime;

use crate::{db::entities::certificate, domain::certificate::class, pki::profile::fingerprint};

/// How a presented certificate relates to our records.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub class: CertificateClass,
    /// The row of a certificate this CA issued.
    pub record: Option<certificate::Model>,
}

impl Judgement {
    /// The record of a valid certificate, or why the certificate is not one.
    pub fn valid(self) -> Result<certificate::Model, CertificateClass> {
        match (self.class, self.record) {
            (CertificateClass::Valid, Some(record)) => Ok(record),
            (class, _) => Err(class),
        }
    }
}

/// Judges `leaf` at `now`: a certificate is ours only if its exact bytes (SHA-256) were issued
/// here; then [`crate::domain::certificate::class`] says what it is.
pub async fn classify<C: ConnectionTrait>(
    db: &C,
    leaf: Option<&[u8]>,
    now: OffsetDateTime,
) -> Result<Judgement, DbErr> {
    let Some(der) = leaf else {
        return Ok(Judgement { class: CertificateClass::None, record: None });
    };
    let found =
        certificate::Entity::find().filter(certificate::Column::FingerprintSha256.eq(fingerprint(der))).one(db).await?;
    let Some(row) = found else {
        return Ok(Judgement { class: CertificateClass::UnknownIssuer, record: None });
    };
    Ok(Judgement { class: class(row.facts(), now), record: Some(row) })
}
