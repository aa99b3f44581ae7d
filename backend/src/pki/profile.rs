//! What every certificate this CA signs shares: random serials, the subject key identifier that
//! rcgen leaves out of end-entity certificates, and the SHA-256 fingerprint certificates are
//! recognised by. Used by the CA (its own and the server certificate) and client issuance alike.

use anyhow::Context;
use rcgen::{CertificateParams, CustomExtension, KeyPair, SerialNumber};
use sha2::{Digest, Sha256};

/// A random positive 128-bit serial number (RFC 5280 §4.1.2.2: at most 20 octets).
pub fn random_serial() -> (SerialNumber, String) {
    use rand::Rng;
    let mut bytes: [u8; 16] = rand::rng().random();
    bytes[0] = (bytes[0] & 0x7f) | 0x01; // positive, and never a leading zero octet
    (SerialNumber::from_slice(&bytes), hex::encode(bytes))
}

/// Lowercase hex SHA-256 of `der`.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// rcgen writes a subject key identifier only for CA certificates; RFC 5280 §4.2.1.2 asks for
/// one on end-entity certificates too (client and server).
pub fn add_subject_key_identifier(params: &mut CertificateParams, key: &KeyPair) -> anyhow::Result<()> {
    let ski = params.key_identifier(key);
    let mut ski_der = vec![0x04, u8::try_from(ski.len()).context("key identifier too long")?];
    ski_der.extend_from_slice(&ski);
    params.custom_extensions.push(CustomExtension::from_oid_content(&[2, 5, 29, 14], ski_der));
    Ok(())
}
