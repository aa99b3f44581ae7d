//! The client certificate of a connection: captured at connect time ([`on_connect`]), available
//! to handlers through [`PeerCertificates`], and judged against our records by [`classify`].

use actix_web::dev::Extensions;
use common::api::CertificateClass;
use rustls_pki_types::CertificateDer;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use time::OffsetDateTime;

use crate::{db::entities::certificate, net::ClientConnection, pki::issue::fingerprint};

/// The certificate chain the client presented in the TLS handshake (leaf first).
#[derive(Debug, Clone)]
pub struct PeerCertificates(pub Vec<CertificateDer<'static>>);

impl PeerCertificates {
    pub fn leaf(&self) -> Option<&CertificateDer<'static>> {
        self.0.first()
    }
}

/// The HTTP service's `on_connect_ext` callback: stores the presented chain in the connection's
/// data, which every request on the connection sees.
pub fn on_connect(conn: &ClientConnection, ext: &mut Extensions) {
    if let Some(certs) = conn.tls_session().peer_certificates() {
        ext.insert(PeerCertificates(certs.iter().map(|c| c.clone().into_owned()).collect()));
    }
}

/// How a presented certificate relates to our records.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub class: CertificateClass,
    /// The row of a certificate this CA issued.
    pub record: Option<certificate::Model>,
}

/// Judges `leaf` at `now`: a certificate is ours only if its exact bytes (SHA-256) were issued
/// here; then it is revoked, not yet valid, expired or valid.
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
    let class = if row.status == "revoked" {
        CertificateClass::Revoked
    } else if now < row.not_before {
        CertificateClass::NotYetValid
    } else if now > row.not_after {
        CertificateClass::Expired
    } else {
        CertificateClass::Valid
    };
    Ok(Judgement { class, record: Some(row) })
}
