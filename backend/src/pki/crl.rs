//! Signing the certificate revocation list (R8): every revoked certificate with its time and
//! reason, numbered, valid for [`CRL_VALIDITY`]. What is revoked, and where the CRL is kept, is
//! `crate::certificates::revocation`'s business.

use anyhow::Context;
use common::api::RevocationReason;
use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevokedCertParams, SerialNumber};
use time::{Duration, OffsetDateTime};

use super::CertificateAuthority;

/// How long a CRL is valid.
pub const CRL_VALIDITY: Duration = Duration::days(7);

/// One entry of the list.
#[derive(Debug, Clone)]
pub struct Revoked<'a> {
    /// Lowercase hex of the serial's octets, as stored.
    pub serial: &'a str,
    pub revoked_at: OffsetDateTime,
    pub reason: Option<RevocationReason>,
}

fn rcgen_reason(r: RevocationReason) -> rcgen::RevocationReason {
    match r {
        RevocationReason::Unspecified => rcgen::RevocationReason::Unspecified,
        RevocationReason::KeyCompromise => rcgen::RevocationReason::KeyCompromise,
        RevocationReason::AffiliationChanged => rcgen::RevocationReason::AffiliationChanged,
        RevocationReason::Superseded => rcgen::RevocationReason::Superseded,
        RevocationReason::CessationOfOperation => rcgen::RevocationReason::CessationOfOperation,
        RevocationReason::PrivilegeWithdrawn => rcgen::RevocationReason::PrivilegeWithdrawn,
    }
}

/// The DER of CRL number `number`, issued at `now`, listing `revoked`.
pub fn sign(
    ca: &CertificateAuthority,
    revoked: &[Revoked<'_>],
    number: i64,
    now: OffsetDateTime,
) -> anyhow::Result<Vec<u8>> {
    let mut revoked_certs = Vec::with_capacity(revoked.len());
    for c in revoked {
        let serial = hex::decode(c.serial).with_context(|| format!("stored serial {} is not hex", c.serial))?;
        revoked_certs.push(RevokedCertParams {
            serial_number: SerialNumber::from_slice(&serial),
            revocation_time: c.revoked_at,
            reason_code: c.reason.map(rcgen_reason),
            invalidity_date: None,
        });
    }
    let params = CertificateRevocationListParams {
        this_update: now,
        next_update: now + CRL_VALIDITY,
        crl_number: SerialNumber::from(u64::try_from(number).context("CRL number")?),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let signed = params.signed_by(ca.issuer()).context("Failed to sign the CRL")?;
    Ok(signed.der().to_vec())
}
