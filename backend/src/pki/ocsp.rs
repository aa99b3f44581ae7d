//! OCSP (RFC 6960, in the RFC 9919 profile): reading a request and signing the answer. No
//! database here: what the status of a serial is comes from `crate::certificates::ocsp`.
//!
//! The answers are signed by a delegated responder certificate ([`Signer`]) that the CA issues:
//! EKU id-kp-OCSPSigning, id-pkix-ocsp-nocheck, valid [`SIGNER_LIFETIME`], renewed after
//! [`SIGNER_RENEWAL`]. Its P-256 key is generated in memory and never written anywhere, so each
//! process has its own. Why not the CA itself: every answer is a signature, and the CA key is the
//! one key that must stay where signing is slow and guarded (an HSM); a delegated key keeps the
//! CA key out of the per-request path, and its short life bounds what its theft could do (a
//! relying party cannot check the revocation of a no-check certificate, RFC 6960 §4.2.2.2.1).
//!
//! ASN.1 comes from RustCrypto's `x509-ocsp` (with its `x509-cert` and `der`): typed DER
//! structures, decoding that refuses what is not DER, no C, and the same family as the
//! `x509-cert` that `p12-keystore` already brings.

use anyhow::Context;
use common::api::RevocationReason;
use der::{
    Decode, Encode,
    asn1::{BitString, GeneralizedTime, ObjectIdentifier, OctetString},
};
use rcgen::{
    CertificateParams, CustomExtension, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, PublicKeyData, SigningKey,
};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use time::{Duration, OffsetDateTime};
use x509_cert::ext::{Extension, pkix::CrlReason};
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse, ResponderId, ResponseData,
    RevokedInfo, SingleResponse, Version,
};

use super::{
    CertificateAuthority,
    profile::{add_subject_key_identifier, random_serial},
};

/// How long an answer is valid (its nextUpdate after its thisUpdate, and the HTTP max-age).
pub const OCSP_VALIDITY: Duration = Duration::hours(1);
/// Lifetime of a delegated responder certificate.
pub const SIGNER_LIFETIME: Duration = Duration::days(2);
/// Age at which the responder certificate is replaced (so it is always valid for a day more than
/// any answer it signed).
pub const SIGNER_RENEWAL: Duration = Duration::days(1);
/// Certificates one request may ask about (RFC 9919 §3.1.1 clients ask about one).
pub const MAX_REQUESTS: usize = 8;
/// Longest nonce echoed (RFC 8954 §2.1: 1 to 32 octets); a longer one is a malformed request.
pub const MAX_NONCE: usize = 32;

const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");
/// id-pkix-ocsp-nocheck, as rcgen takes an OID.
const NOCHECK: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 5];

/// What identifies this CA in a CertID: the hashes of its name and of its key, by SHA-1 (what
/// most clients send) and SHA-256.
#[derive(Debug, Clone)]
pub struct IssuerIds {
    sha1: ([u8; 20], [u8; 20]),
    sha256: ([u8; 32], [u8; 32]),
}

impl IssuerIds {
    pub fn of(ca: &CertificateAuthority) -> anyhow::Result<Self> {
        let (_, cert) = x509_parser::parse_x509_certificate(ca.cert_der()).context("CA certificate does not parse")?;
        let name = cert.tbs_certificate.subject.as_raw();
        let key = cert.public_key().subject_public_key.data.as_ref();
        Ok(Self {
            sha1: (Sha1::digest(name).into(), Sha1::digest(key).into()),
            sha256: (Sha256::digest(name).into(), Sha256::digest(key).into()),
        })
    }

    /// The CertID of serial `serial_hex` (lowercase hex) as clients send it: SHA-1 hashes,
    /// parameters NULL (RFC 9919 §3.1.1). A pre-produced answer is for this CertID.
    pub fn cert_id(&self, serial_hex: &str) -> anyhow::Result<CertId> {
        let serial = hex::decode(serial_hex).context("a serial is hex")?;
        Ok(CertId {
            hash_algorithm: AlgorithmIdentifierOwned { oid: SHA1, parameters: Some(der::asn1::Null.into()) },
            issuer_name_hash: OctetString::new(self.sha1.0.to_vec())?,
            issuer_key_hash: OctetString::new(self.sha1.1.to_vec())?,
            serial_number: x509_cert::serial_number::SerialNumber::new(&serial)?,
        })
    }

    /// Whether `id` names a certificate of this CA.
    fn matches(&self, id: &CertId) -> bool {
        let params_ok = id.hash_algorithm.parameters.as_ref().is_none_or(|p| p.is_null());
        let (name, key) = (id.issuer_name_hash.as_bytes(), id.issuer_key_hash.as_bytes());
        params_ok
            && match id.hash_algorithm.oid {
                SHA1 => name == self.sha1.0 && key == self.sha1.1,
                SHA256 => name == self.sha256.0 && key == self.sha256.1,
                _ => false,
            }
    }
}

/// The delegated responder: its key (in memory only) and the certificate the CA gave it.
pub struct Signer {
    key: KeyPair,
    cert: x509_cert::Certificate,
    /// SHA-1 of its public key: the ResponderID byKey (RFC 9919 §3.2.2).
    key_hash: [u8; 20],
    /// Lowercase hex serial of its certificate.
    pub serial: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("serial", &self.serial)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A new P-256 key and a responder certificate for it from `ca`, valid from `now`.
    pub fn issue(ca: &CertificateAuthority, now: OffsetDateTime) -> anyhow::Result<Self> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("Failed to generate the OCSP key")?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "ろうきん賃金控除事務支援システム");
        dn.push(DnType::CommonName, "CJS OCSP Responder");
        params.distinguished_name = dn;
        let (serial_number, serial) = random_serial();
        params.serial_number = Some(serial_number);
        params.not_before = now - Duration::minutes(5);
        params.not_after = now + SIGNER_LIFETIME;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
        params.use_authority_key_identifier_extension = true;
        add_subject_key_identifier(&mut params, &key)?;
        params.custom_extensions.push(CustomExtension::from_oid_content(NOCHECK, vec![0x05, 0x00]));
        let signed = params.signed_by(&key, ca.issuer()).context("Failed to sign the OCSP responder certificate")?;
        let cert = x509_cert::Certificate::from_der(signed.der()).context("responder certificate does not decode")?;
        Ok(Self {
            key_hash: Sha1::digest(key.der_bytes()).into(),
            key,
            cert,
            serial,
            not_before: params.not_before,
            not_after: params.not_after,
        })
    }

    /// Whether it is time to replace this signer.
    pub fn due(&self, now: OffsetDateTime) -> bool {
        now >= self.not_before + SIGNER_RENEWAL
    }
}

/// Why a request gets no per-certificate answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not an OCSP request (or too long, too many certificates, a nonce too long).
    Malformed,
    /// None of its certificates is of this CA: this responder cannot speak for them.
    Unauthorized,
    /// The status could not be read (the database is unreachable).
    TryLater,
}

impl Refusal {
    /// The OCSP response (DER) that says so.
    pub fn response(self) -> Vec<u8> {
        let r = match self {
            Refusal::Malformed => OcspResponse::malformed_request(),
            Refusal::Unauthorized => OcspResponse::unauthorized(),
            Refusal::TryLater => OcspResponse::try_later(),
        };
        r.to_der().unwrap_or_default()
    }

    /// Its response status, as a metric label.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed_request",
            Refusal::Unauthorized => "unauthorized",
            Refusal::TryLater => "try_later",
        }
    }
}

/// One certificate asked about.
#[derive(Debug, Clone)]
pub struct Asked {
    cert_id: CertId,
    /// Lowercase hex of its serial, when it names a certificate of this CA.
    pub serial: Option<String>,
}

/// A decoded request.
#[derive(Debug, Clone)]
pub struct Request {
    pub asked: Vec<Asked>,
    /// The nonce extension, echoed as it came (RFC 6960 §4.4.1).
    nonce: Option<Extension>,
}

impl Request {
    /// Whether the answer depends on this request alone (a nonce): then it is not cached.
    pub fn has_nonce(&self) -> bool {
        self.nonce.is_some()
    }

    /// The same request with its nonce left out: its answer is the one any request for these
    /// certificates gets (RFC 9919 §3.1.1: a responder may answer without the nonce).
    pub fn without_nonce(self) -> Self {
        Self { nonce: None, ..self }
    }

    /// The request a relying party sends for the certificate `id` names (one CertID, no nonce):
    /// what a pre-produced answer answers.
    pub fn for_one(id: CertId) -> Self {
        let serial = Some(hex::encode(id.serial_number.as_bytes()));
        Self { asked: vec![Asked { cert_id: id, serial }], nonce: None }
    }

    /// What identifies the answer to this request among others, when it may be kept and
    /// served again: the SHA-256 of the CertIDs asked about, in order (the answer depends on
    /// nothing else: a request's signature is not checked, so it changes nothing). `None` for a
    /// request with a nonce.
    pub fn reuse_key(&self) -> Option<[u8; 32]> {
        if self.nonce.is_some() {
            return None;
        }
        let mut hash = Sha256::new();
        for a in &self.asked {
            hash.update(a.cert_id.to_der().ok()?);
        }
        Some(hash.finalize().into())
    }
}

/// Decodes a DER OCSPRequest. Signed requests are accepted and their signature ignored (RFC 9919
/// §3.1.2: clients do not sign).
pub fn parse(der: &[u8], issuer: &IssuerIds) -> Result<Request, Refusal> {
    let request = OcspRequest::from_der(der).map_err(|_| Refusal::Malformed)?;
    let tbs = request.tbs_request;
    if tbs.request_list.is_empty() || tbs.request_list.len() > MAX_REQUESTS {
        return Err(Refusal::Malformed);
    }
    let nonce = tbs.request_extensions.iter().flatten().find(|e| e.extn_id == NONCE).cloned();
    if let Some(n) = &nonce {
        // The value is an OCTET STRING holding the nonce (two octets of header at these sizes).
        let inner = n.extn_value.as_bytes();
        if inner.len() < 3 || inner.len() > MAX_NONCE + 2 {
            return Err(Refusal::Malformed);
        }
    }
    let asked: Vec<Asked> = tbs
        .request_list
        .into_iter()
        .map(|r| {
            let id = r.req_cert;
            let serial = (issuer.matches(&id) && id.serial_number.as_bytes().len() <= 20)
                .then(|| hex::encode(id.serial_number.as_bytes()));
            Asked { cert_id: id, serial }
        })
        .collect();
    // The same certificate twice asks nothing more, and would make another answer to sign.
    for (i, a) in asked.iter().enumerate() {
        if asked[..i].iter().any(|b| b.cert_id == a.cert_id) {
            return Err(Refusal::Malformed);
        }
    }
    if asked.iter().all(|a| a.serial.is_none()) {
        return Err(Refusal::Unauthorized);
    }
    Ok(Request { asked, nonce })
}

/// The status of one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Good,
    Revoked {
        at: OffsetDateTime,
        reason: Option<RevocationReason>,
    },
    /// Not a certificate of this CA, or none it ever issued.
    Unknown,
}

fn generalized(t: OffsetDateTime) -> anyhow::Result<OcspGeneralizedTime> {
    let secs = u64::try_from(t.unix_timestamp()).context("time before 1970")?;
    Ok(OcspGeneralizedTime(GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs))?))
}

fn crl_reason(r: RevocationReason) -> CrlReason {
    match r {
        RevocationReason::Unspecified => CrlReason::Unspecified,
        RevocationReason::KeyCompromise => CrlReason::KeyCompromise,
        RevocationReason::AffiliationChanged => CrlReason::AffiliationChanged,
        RevocationReason::Superseded => CrlReason::Superseded,
        RevocationReason::CessationOfOperation => CrlReason::CessationOfOperation,
        RevocationReason::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
    }
}

/// The signed OCSP response (DER) giving `statuses[i]` for `request.asked[i]`, produced at `now`
/// with thisUpdate `now` and nextUpdate `now` + [`OCSP_VALIDITY`].
pub fn respond(
    signer: &Signer,
    request: &Request,
    statuses: &[Status],
    now: OffsetDateTime,
) -> anyhow::Result<Vec<u8>> {
    respond_until(signer, request, statuses, now, now + OCSP_VALIDITY)
}

/// [`respond`] with nextUpdate `next_update` (after `now`, at most [`OCSP_VALIDITY`] later).
pub fn respond_until(
    signer: &Signer,
    request: &Request,
    statuses: &[Status],
    now: OffsetDateTime,
    next_update: OffsetDateTime,
) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(statuses.len() == request.asked.len(), "one status per certificate asked about");
    anyhow::ensure!(now < next_update && next_update <= now + OCSP_VALIDITY, "nextUpdate within the validity");
    let this_update = generalized(now)?;
    let next_update = generalized(next_update)?;
    let responses = request
        .asked
        .iter()
        .zip(statuses)
        .map(|(asked, status)| {
            let cert_status = match *status {
                Status::Good => CertStatus::good(),
                Status::Revoked { at, reason } => CertStatus::Revoked(RevokedInfo {
                    revocation_time: generalized(at)?,
                    revocation_reason: reason.map(crl_reason),
                }),
                Status::Unknown => CertStatus::unknown(),
            };
            Ok(SingleResponse {
                cert_id: asked.cert_id.clone(),
                cert_status,
                this_update,
                next_update: Some(next_update),
                single_extensions: None,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let tbs = ResponseData {
        version: Version::V1,
        responder_id: ResponderId::ByKey(OctetString::new(signer.key_hash.to_vec())?),
        produced_at: this_update,
        responses,
        response_extensions: request.nonce.clone().map(|n| vec![n]),
    };
    let signature = signer.key.sign(&tbs.to_der()?).context("Failed to sign the OCSP response")?;
    let basic = BasicOcspResponse {
        tbs_response_data: tbs,
        signature_algorithm: AlgorithmIdentifierOwned { oid: ECDSA_WITH_SHA256, parameters: None },
        signature: BitString::from_bytes(&signature)?,
        certs: Some(vec![signer.cert.clone()]),
    };
    Ok(OcspResponse::successful(basic)?.to_der()?)
}

/// Whether `der` decodes as a successful OCSP response with `n` single responses (the fuzz
/// target's and the tests' check of [`respond`]).
pub fn decodes_as_response(der: &[u8], n: usize) -> bool {
    OcspResponse::from_der(der)
        .ok()
        .and_then(|r| r.response_bytes)
        .and_then(|b| BasicOcspResponse::from_der(b.response.as_bytes()).ok())
        .is_some_and(|basic| basic.tbs_response_data.responses.len() == n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca() -> (tempfile::TempDir, CertificateAuthority) {
        let dir = tempfile::tempdir().unwrap();
        let ca = CertificateAuthority::load_or_create(dir.path(), None, OffsetDateTime::now_utc()).unwrap();
        (dir, ca)
    }

    #[test]
    fn garbage_and_empty_are_malformed() {
        let (_d, ca) = ca();
        let ids = IssuerIds::of(&ca).unwrap();
        for bad in [&b""[..], b"\x30\x00", b"\x30\x03\x30\x01\x00", &[0xff; 64]] {
            assert_eq!(parse(bad, &ids).unwrap_err(), Refusal::Malformed);
        }
        assert_eq!(Refusal::Malformed.response(), [0x30, 0x03, 0x0a, 0x01, 0x01]);
    }

    /// A DER request for `serial` of `ca` (SHA-1 CertID), with a nonce of `nonce` octets.
    fn request(ca: &CertificateAuthority, serial: &[u8], nonce: Option<usize>) -> Vec<u8> {
        let ids = IssuerIds::of(ca).unwrap();
        let cert_id = CertId {
            hash_algorithm: AlgorithmIdentifierOwned { oid: SHA1, parameters: Some(der::Any::null()) },
            issuer_name_hash: OctetString::new(ids.sha1.0.to_vec()).unwrap(),
            issuer_key_hash: OctetString::new(ids.sha1.1.to_vec()).unwrap(),
            serial_number: x509_cert::serial_number::SerialNumber::new(serial).unwrap(),
        };
        let request_extensions = nonce.map(|n| {
            let value = OctetString::new(vec![0x5a; n]).unwrap().to_der().unwrap();
            vec![Extension { extn_id: NONCE, critical: false, extn_value: OctetString::new(value).unwrap() }]
        });
        let tbs = x509_ocsp::TbsRequest {
            version: Version::V1,
            requestor_name: None,
            request_list: vec![x509_ocsp::Request { req_cert: cert_id, single_request_extensions: None }],
            request_extensions,
        };
        OcspRequest { tbs_request: tbs, optional_signature: None }.to_der().unwrap()
    }

    #[test]
    fn the_canonical_cert_id_is_what_a_client_sends_and_a_repeated_one_is_malformed() {
        let (_dir, ca) = ca();
        let ids = IssuerIds::of(&ca).unwrap();
        let der = request(&ca, &[0x11; 16], None);
        let parsed = parse(&der, &ids).unwrap();
        let canonical = Request::for_one(ids.cert_id(&hex::encode([0x11; 16])).unwrap());
        assert_eq!(parsed.reuse_key(), canonical.reuse_key(), "a pre-produced answer's key");
        // The same CertID twice in one request.
        let mut twice = OcspRequest::from_der(&der).unwrap();
        let again = twice.tbs_request.request_list[0].clone();
        twice.tbs_request.request_list.push(again);
        assert_eq!(parse(&twice.to_der().unwrap(), &ids).unwrap_err(), Refusal::Malformed);
    }

    #[test]
    fn a_nonce_of_1_to_32_octets_is_echoed_and_a_longer_one_is_malformed() {
        let (_d, ca) = ca();
        let ids = IssuerIds::of(&ca).unwrap();
        let signer = Signer::issue(&ca, OffsetDateTime::now_utc()).unwrap();
        for n in [1, 16, MAX_NONCE] {
            let req = parse(&request(&ca, &[0x11; 16], Some(n)), &ids).unwrap();
            assert!(req.has_nonce());
            let der = respond(&signer, &req, &[Status::Good], OffsetDateTime::now_utc()).unwrap();
            let response = OcspResponse::from_der(&der).unwrap();
            let bytes = response.response_bytes.unwrap();
            let basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).unwrap();
            assert_eq!(basic.nonce().unwrap().0.as_bytes(), vec![0x5a; n], "echoed");
        }
        assert_eq!(parse(&request(&ca, &[0x11; 16], Some(MAX_NONCE + 1)), &ids).unwrap_err(), Refusal::Malformed);
        assert_eq!(parse(&request(&ca, &[0x11; 16], Some(0)), &ids).unwrap_err(), Refusal::Malformed);
        assert!(!parse(&request(&ca, &[0x11; 16], None), &ids).unwrap().has_nonce());
    }

    #[test]
    fn statuses_are_answered_in_order_for_this_ca_only() {
        let (_d, ca) = ca();
        let (_e, other) = self::ca();
        let ids = IssuerIds::of(&ca).unwrap();
        let req = parse(&request(&ca, &[0x01, 0xab], None), &ids).unwrap();
        assert_eq!(req.asked[0].serial.as_deref(), Some("01ab"));
        assert_eq!(parse(&request(&other, &[0x01], None), &ids).unwrap_err(), Refusal::Unauthorized);
        let now = OffsetDateTime::now_utc();
        let signer = Signer::issue(&ca, now).unwrap();
        let revoked = Status::Revoked { at: now - Duration::hours(2), reason: Some(RevocationReason::KeyCompromise) };
        let der = respond(&signer, &req, &[revoked], now).unwrap();
        let basic = BasicOcspResponse::from_der(
            OcspResponse::from_der(&der).unwrap().response_bytes.unwrap().response.as_bytes(),
        )
        .unwrap();
        let single = &basic.tbs_response_data.responses[0];
        let CertStatus::Revoked(info) = single.cert_status else { panic!("revoked expected") };
        assert_eq!(info.revocation_reason, Some(CrlReason::KeyCompromise));
        assert!(single.next_update.is_some());
        assert!(respond(&signer, &req, &[], now).is_err(), "one status per certificate");
    }

    #[test]
    fn the_signer_is_renewed_after_a_day_of_two() {
        let (_d, ca) = ca();
        let now = OffsetDateTime::now_utc();
        let s = Signer::issue(&ca, now).unwrap();
        assert!(!s.due(now + SIGNER_RENEWAL - Duration::minutes(6)));
        assert!(s.due(now + SIGNER_RENEWAL));
        assert!(s.not_after - (now + SIGNER_RENEWAL) > OCSP_VALIDITY, "answers never outlive the signer");
    }
}
