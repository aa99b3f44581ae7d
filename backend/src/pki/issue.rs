//! Client certificates (R4, R7): a fresh key pair generated here, CN = user ID, O = company name
//! (UTF-8), EKU clientAuth, a random 128-bit serial, AKI/SKI, and the CA's CRL distribution
//! point and AIA (OCSP, caIssuers) when it has them. The private key exists only in
//! memory, in this value, and is zeroed when dropped.

use anyhow::Context;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256, RsaKeySize,
};
use time::OffsetDateTime;

use super::{
    CertificateAuthority,
    profile::{add_subject_key_identifier, fingerprint, random_serial},
};
use crate::domain::validity::validity;

/// A just-issued certificate with its private key.
pub struct IssuedCertificate {
    pub cert_der: Vec<u8>,
    /// Lowercase hex of the serial's octets.
    pub serial: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// Lowercase hex SHA-256 of the DER certificate.
    pub fingerprint: String,
    /// PKCS#8 DER of the private key.
    pub key_pkcs8: zeroize::Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for IssuedCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCertificate")
            .field("serial", &self.serial)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// Key algorithm of issued client certificates (R7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum KeyType {
    /// RSA 2048-bit with SHA-256 (the default: imports everywhere).
    Rsa2048,
    /// ECDSA P-256 with SHA-256.
    P256,
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Rsa2048 => "rsa2048",
            KeyType::P256 => "p256",
        }
    }
}

/// Generates a key of `key_type` and a client certificate for `user_id` of `organization`, valid
/// from `now` per R4. CPU-bound (RSA key generation): call it off the async workers.
pub fn issue_client_certificate(
    ca: &CertificateAuthority,
    key_type: KeyType,
    user_id: &str,
    organization: &str,
    now: OffsetDateTime,
) -> anyhow::Result<IssuedCertificate> {
    let key = match key_type {
        KeyType::Rsa2048 => KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048),
        KeyType::P256 => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256),
    }
    .context("Failed to generate the key pair")?;
    let (not_before, not_after) = validity(now);
    let (serial_number, serial) = random_serial();
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, organization);
    dn.push(DnType::CommonName, user_id);
    params.distinguished_name = dn;
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(serial_number);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.key_usages = match key_type {
        KeyType::Rsa2048 => vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment],
        KeyType::P256 => vec![KeyUsagePurpose::DigitalSignature],
    };
    params.use_authority_key_identifier_extension = true;
    add_subject_key_identifier(&mut params, &key)?;
    if let Some(pointers) = ca.pointers() {
        pointers.add_to(&mut params)?;
    }
    let cert = params.signed_by(&key, ca.issuer()).context("Failed to sign the client certificate")?;
    let cert_der = cert.der().to_vec();
    Ok(IssuedCertificate {
        fingerprint: fingerprint(&cert_der),
        cert_der,
        serial,
        not_before,
        not_after,
        key_pkcs8: zeroize::Zeroizing::new(key.serialize_der()),
    })
}
