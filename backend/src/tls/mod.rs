//! HTTPS: the rustls server configuration (TLS 1.2 and 1.3) with optional client certificates.
//!
//! The server asks every client for a certificate issued by our CA but does not require one: the
//! login screen, the issuance wizard and the re-issue of an expired certificate must all be
//! reachable without one. The verifier accepts any presented certificate at the TLS layer (rustls
//! still checks that the client holds its private key) and the application judges it, so an
//! expired or revoked certificate gets a Japanese explanation instead of a TLS alert.

pub mod peer;

use std::{path::Path, sync::Arc};

use anyhow::Context;
use rustls::{
    DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme,
    client::danger::HandshakeSignatureValid,
    crypto::{CryptoProvider, WebPkiSupportedAlgorithms},
    server::danger::{ClientCertVerified, ClientCertVerifier},
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime, pem::PemObject};

/// Accepts any client certificate whose handshake signature verifies; judgement is left to the
/// application ([`peer::ClientCertificate`]).
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

/// Builds the server configuration from PEM files.
pub fn server_config(cert_path: &Path, key_path: &Path, ca_subjects_der: Vec<Vec<u8>>) -> anyhow::Result<ServerConfig> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .with_context(|| format!("Failed to read {}", cert_path.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not valid PEM", cert_path.display()))?;
    anyhow::ensure!(!chain.is_empty(), "{} contains no certificate", cert_path.display());
    let key = PrivateKeyDer::from_pem_file(key_path)
        .with_context(|| format!("Failed to read the private key {}", key_path.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(DeferredClientVerifier::new(ca_subjects_der, &provider));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("TLS versions not supported by the provider")?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .context("The server certificate and key do not match")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
