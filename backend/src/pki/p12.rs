//! PKCS#12 packing (R7): key + certificate + CA, protected by the user's password, friendly name
//! = user ID. Default: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) with an HMAC-SHA256 MAC, which
//! OpenSSL 3 (without -legacy), NSS and Windows 10 1709+ import; a TripleDES/SHA1 setting serves
//! older importers.

use anyhow::Context;
use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKey, PrivateKeyChain,
};
use sha2::{Digest, Sha256};

use crate::config::{P12Encryption, P12Settings};

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
    let ca = Certificate::from_der(ca_der)
        .map_err(|e| anyhow::anyhow!("CA certificate rejected by the PKCS#12 writer: {e}"))?;
    let local_key_id = Sha256::digest(cert_der)[..20].to_vec();
    let chain = PrivateKeyChain::new(local_key_id, key, [cert, ca]);
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
