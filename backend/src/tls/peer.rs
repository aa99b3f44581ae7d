//! The client certificate of a connection: captured at connect time ([`on_connect`]), available
//! to handlers through [`PeerCertificates`], and judged against our records by [`classify`].

use actix_web::dev::Extensions;
use common::api::CertificateClass;
use rustls_pki_types::CertificateDer;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use time::OffsetDateTime;

use crate::{db::entities::certificate, domain::certificate::class, net::ClientConnection, pki::profile::fingerprint};

/// The certificate chain the client presented in the TLS handshake (leaf first).
#[derive(Debug, Clone)]
pub struct PeerCertificates(pub Vec<CertificateDer<'static>>);

impl PeerCertificates {
    pub fn leaf(&self) -> Option<&CertificateDer<'static>> {
        self.0.first()
    }
}

/// The DER of the leaf certificate presented on the connection of `req`, if any.
pub fn presented_leaf(req: &actix_web::HttpRequest) -> Option<Vec<u8>> {
    req.conn_data::<PeerCertificates>().and_then(|p| p.leaf()).map(|c| c.as_ref().to_vec())
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
