//! HTTPS: the rustls server configuration (TLS 1.2 and 1.3) with optional client certificates.
//!
//! The server asks every client for a certificate issued by our CA but does not require one: the
//! login screen, the issuance wizard and the re-issue of an expired certificate must all be
//! reachable without one. Which certificate is accepted is decided by the application, not by
//! the TLS layer: see [`danger`], the one deliberate exception in this setup.

pub mod danger;
pub mod peer;

use std::{path::PathBuf, sync::Arc};

use anyhow::Context;
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

use self::danger::DeferredClientVerifier;

/// The server's certificate chain and private key (PEM files), as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsIdentity {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Builds the server configuration from PEM files.
pub fn server_config(identity: &TlsIdentity, ca_subjects_der: Vec<Vec<u8>>) -> anyhow::Result<ServerConfig> {
    let (cert_path, key_path) = (identity.cert.as_path(), identity.key.as_path());
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
