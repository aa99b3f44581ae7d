//! The deliberate exception of the TLS setup: a client-certificate verifier that accepts **any**
//! certificate at the TLS layer. rustls keeps such verifiers in its own `danger` modules; this
//! one is here, apart from the ordinary TLS code, for the same reason.
//!
//! Why: a certificate that is expired, revoked, or issued by a CA we retired must still reach the
//! application, so that the user gets a Japanese explanation and the way to re-issue (R5, R8, R9)
//! instead of a TLS alert the browser shows as a bare connection error. rustls still checks that
//! the client holds the certificate's private key (the handshake signature below). Nothing here
//! makes a certificate count: every handler that needs one asks
//! `crate::read::presented::classify`, which accepts only the exact bytes of a
//! certificate issued here, and the rule in `crate::domain::certificate`.

use rustls::{
    DigitallySignedStruct, DistinguishedName, SignatureScheme,
    client::danger::HandshakeSignatureValid,
    crypto::{CryptoProvider, WebPkiSupportedAlgorithms},
    server::danger::{ClientCertVerified, ClientCertVerifier},
};
use rustls_pki_types::{CertificateDer, UnixTime};

/// Accepts any client certificate whose handshake signature verifies; judgement is left to the
/// application (`crate::read::presented::classify`).
#[derive(Debug)]
pub struct DeferredClientVerifier {
    hints: Vec<DistinguishedName>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl DeferredClientVerifier {
    /// `ca_subjects_der` (every CA of this service, several during a rollover) are announced to
    /// clients so browsers offer only certificates of our CAs.
    pub fn new(ca_subjects_der: Vec<Vec<u8>>, provider: &CryptoProvider) -> Self {
        Self {
            hints: ca_subjects_der.into_iter().map(DistinguishedName::from).collect(),
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ClientCertVerifier for DeferredClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
