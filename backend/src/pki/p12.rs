//! PKCS#12 packing (R7): key + certificate (+ the CA only where `p12_include_ca` asks for it),
//! protected by the user's password, friendly name = user ID.
//!
//! Why no CA by default (issue 29): a CA inside the .p12 is what makes Windows ask, at import,
//! whether to install it into 信頼されたルート証明機関 — for every purpose. The server needs the CA,
//! not the user's PC: browsers offer a client certificate whose own issuer name is in the
//! server's CertificateRequest (Chromium on Windows via `CertFindChainInStore` by issuer, which
//! compares the leaf's issuer; NSS/Firefox and Chromium on Linux and macOS compare the leaf's
//! issuer first), with no chain to a trusted root. `p12_include_ca = true` brings it back for an
//! importer that needs it. Default: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) with an HMAC-SHA256 MAC, which
//! OpenSSL 3 (without -legacy), NSS and Windows 10 1709+ import; a TripleDES/SHA1 setting serves
//! older importers.

use anyhow::Context;
use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKey, PrivateKeyChain,
};
use sha2::{Digest, Sha256};

/// Password-based encryption of the .p12 (R7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum P12Encryption {
    /// PBES2: PBKDF2-HMAC-SHA256 + AES-256-CBC, HMAC-SHA256 MAC (Windows 10 1709+, OpenSSL 3, NSS).
    Aes256,
    /// pbeWithSHAAnd3-KeyTripleDES-CBC + HMAC-SHA1 MAC, for old Windows/macOS importers.
    TripleDes,
}

/// Default PBKDF2 iteration count of the .p12: ASVS 11.4.4's floor for PBKDF2-HMAC-SHA256.
pub const DEFAULT_P12_ITERATIONS: u32 = 600_000;

/// PKCS#12 protection parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct P12Settings {
    pub encryption: P12Encryption,
    pub iterations: u32,
    /// Whether the issuing CA's certificate goes into the file (`p12_include_ca`, default no).
    pub include_ca: bool,
}

impl Default for P12Settings {
    fn default() -> Self {
        Self { encryption: P12Encryption::Aes256, iterations: DEFAULT_P12_ITERATIONS, include_ca: false }
    }
}

/// Builds the .p12. CPU-bound (the KDF): call it off the async workers.
pub fn build_p12(
    key_pkcs8: &[u8],
    cert_der: &[u8],
    ca_der: &[u8],
    friendly_name: &str,
    password: &str,
    settings: P12Settings,
) -> anyhow::Result<Vec<u8>> {
    let key = PrivateKey::from_der(key_pkcs8)
        .map_err(|e| anyhow::anyhow!("private key rejected by the PKCS#12 writer: {e}"))?;
    let cert = Certificate::from_der(cert_der)
        .map_err(|e| anyhow::anyhow!("certificate rejected by the PKCS#12 writer: {e}"))?;
    let mut chain = vec![cert];
    if settings.include_ca {
        chain.push(
            Certificate::from_der(ca_der)
                .map_err(|e| anyhow::anyhow!("CA certificate rejected by the PKCS#12 writer: {e}"))?,
        );
    }
    let local_key_id = Sha256::digest(cert_der)[..20].to_vec();
    let chain = PrivateKeyChain::new(local_key_id, key, chain);
    let mut store = KeyStore::new();
    store.add_entry(friendly_name, KeyStoreEntry::PrivateKeyChain(chain));
    let (encryption, mac) = match settings.encryption {
        P12Encryption::Aes256 => (EncryptionAlgorithm::PbeWithHmacSha256AndAes256, MacAlgorithm::HmacSha256),
        P12Encryption::TripleDes => (EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc, MacAlgorithm::HmacSha1),
    };
    store
        .writer(password)
        .encryption_algorithm(encryption)
        .encryption_iterations(settings.iterations)
        .mac_algorithm(mac)
        .mac_iterations(settings.iterations)
        .write()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("Failed to write the PKCS#12 file")
}
