//! What every certificate this CA signs shares: random serials, the subject key identifier that
//! rcgen leaves out of end-entity certificates, the SHA-256 fingerprint certificates are
//! recognised by, and where relying parties find revocation data (CDP, AIA). Used by the CA (its
//! own and the server certificate), the OCSP responder's certificate and client issuance alike.

use anyhow::Context;
use rcgen::{CertificateParams, CrlDistributionPoint, CustomExtension, KeyPair, SerialNumber};
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

/// Where relying parties find this CA's revocation data: the CRL (distribution point), the OCSP
/// responder and the CA certificate (Authority Information Access), all under one base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationPointers {
    pub crl: String,
    pub ocsp: String,
    pub ca_issuers: String,
}

/// The paths of the revocation data under the base URL (served on the HTTPS listener and on the
/// plain-HTTP one, `crate::api::pki`).
pub const CRL_PATH: &str = "/pki/crl";
pub const OCSP_PATH: &str = "/pki/ocsp";
pub const CA_CERT_PATH: &str = "/pki/ca.crt";

impl RevocationPointers {
    /// The pointers under `base` (e.g. `http://pki.example.jp`; a trailing slash is dropped).
    pub fn under(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            crl: format!("{base}{CRL_PATH}"),
            ocsp: format!("{base}{OCSP_PATH}"),
            ca_issuers: format!("{base}{CA_CERT_PATH}"),
        }
    }

    /// The pointers of a CA that is not the oldest one (a CA rollover): its CRL and certificate
    /// under `/pki/<key id>/`, the OCSP responder shared (it tells CAs apart by the request).
    pub fn of_ca(base: &str, key_id: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            crl: format!("{base}/pki/{key_id}/crl"),
            ocsp: format!("{base}{OCSP_PATH}"),
            ca_issuers: format!("{base}/pki/{key_id}/ca.crt"),
        }
    }

    /// Adds the CRL distribution point and the AIA extension (OCSP, caIssuers) to `params`.
    pub fn add_to(&self, params: &mut CertificateParams) -> anyhow::Result<()> {
        use der::{Encode, asn1::Ia5String};
        use x509_cert::ext::pkix::{AccessDescription, AuthorityInfoAccessSyntax, name::GeneralName};
        const OCSP: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
        const CA_ISSUERS: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.2");
        params.crl_distribution_points = vec![CrlDistributionPoint { uris: vec![self.crl.clone()] }];
        let uri = |u: &str| Ia5String::new(u).map(GeneralName::UniformResourceIdentifier).context("URL is not ASCII");
        let aia = AuthorityInfoAccessSyntax(vec![
            AccessDescription { access_method: OCSP, access_location: uri(&self.ocsp)? },
            AccessDescription { access_method: CA_ISSUERS, access_location: uri(&self.ca_issuers)? },
        ]);
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], aia.to_der().context("AIA")?));
        Ok(())
    }
}
