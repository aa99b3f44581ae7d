//! The client certificate of a connection: captured at connect time ([`on_connect`]) and
//! available to handlers through [`PeerCertificates`]. What it is worth is judged elsewhere:
//! `crate::read::presented` finds its record, `crate::domain::certificate` holds the rule.

use actix_web::dev::Extensions;
use rustls_pki_types::CertificateDer;

use crate::net::ClientConnection;

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
