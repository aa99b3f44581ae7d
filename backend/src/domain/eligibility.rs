//! R3/R5: who may be issued a certificate. Authentication for issuance is refused while the user
//! holds an active certificate that expires in more than 30 days; renewal opens exactly 30 days
//! before expiry. Expired and revoked certificates do not count. A company's certificate limit
//! holds back new issues, never renewals. An issuance token does not outlive a revocation of its
//! user's certificates (issue 29).

use common::api::CertificateStatus;
use time::OffsetDateTime;

use super::certificate::{CertificateFacts, renewable_from, status};

/// Whether a new certificate may be issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eligibility {
    /// No certificate that counts: first issue or re-issue.
    NewIssue,
    /// A valid certificate within its last 30 days: renewal (R5; the old one stays valid).
    Renewal,
    /// A valid certificate with more than 30 days left.
    Refused { renewable_from: OffsetDateTime },
}

/// Decides eligibility at `now` given all certificates the user holds.
pub fn eligibility(held: &[CertificateFacts], now: OffsetDateTime) -> Eligibility {
    let active = held.iter().filter(|&&c| status(c, now) == CertificateStatus::Active);
    let latest = active.map(|c| c.not_after).max();
    match latest {
        None => Eligibility::NewIssue,
        Some(not_after) => {
            let from = renewable_from(not_after);
            if now >= from { Eligibility::Renewal } else { Eligibility::Refused { renewable_from: from } }
        }
    }
}

/// Whether the company's limit lets this issue through: a renewal always (the user already holds
/// a certificate that counts), a new issue while fewer than `limit` users of the company hold a
/// valid certificate.
pub fn within_company_limit(holders: u32, limit: u32, renewal: bool) -> bool {
    renewal || holders < limit
}

/// Whether an issuance token granted in the second `granted_at` (its `iat`) may still be used,
/// given the user's latest revocation: not when a certificate of theirs was revoked in that
/// second or later. Whoever made the revocation (a stolen .p12, a PC change) must not be
/// overtaken by a token fetched before it; a new authentication (④) grants a new one.
pub fn token_outlives_revocations(granted_at: i64, latest_revocation: Option<OffsetDateTime>) -> bool {
    latest_revocation.is_none_or(|revoked| revoked.unix_timestamp() < granted_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    const EXPIRY: OffsetDateTime = datetime!(2027-11-24 23:59:59 +9);

    fn active() -> CertificateFacts {
        CertificateFacts {
            stored: CertificateStatus::Active,
            not_before: EXPIRY - Duration::days(366),
            not_after: EXPIRY,
        }
    }

    #[test]
    fn no_certificate_is_a_new_issue() {
        assert_eq!(eligibility(&[], EXPIRY), Eligibility::NewIssue);
    }

    #[test]
    fn refused_one_second_before_renewal_opens() {
        let now = EXPIRY - Duration::days(30) - Duration::seconds(1);
        assert_eq!(eligibility(&[active()], now), Eligibility::Refused { renewable_from: EXPIRY - Duration::days(30) });
    }

    #[test]
    fn renewal_opens_exactly_30_days_before() {
        assert_eq!(eligibility(&[active()], EXPIRY - Duration::days(30)), Eligibility::Renewal);
    }

    #[test]
    fn renewal_until_the_last_second() {
        assert_eq!(eligibility(&[active()], EXPIRY - Duration::seconds(1)), Eligibility::Renewal);
    }

    #[test]
    fn expired_certificate_does_not_count() {
        assert_eq!(eligibility(&[active()], EXPIRY), Eligibility::NewIssue);
    }

    #[test]
    fn revoked_certificate_does_not_count() {
        let revoked = CertificateFacts { stored: CertificateStatus::Revoked, ..active() };
        assert_eq!(eligibility(&[revoked], EXPIRY - Duration::days(200)), Eligibility::NewIssue);
    }

    #[test]
    fn the_newest_active_certificate_decides() {
        // After a renewal the user holds the old one (in its last 30 days) and a new one.
        let old = active();
        let new = CertificateFacts { not_after: EXPIRY + Duration::days(365), ..active() };
        let now = EXPIRY - Duration::days(10);
        assert!(matches!(eligibility(&[old, new], now), Eligibility::Refused { .. }));
    }

    #[test]
    fn company_limit_refuses_the_new_issue_that_would_exceed_it() {
        assert!(within_company_limit(19, 20, false));
        assert!(!within_company_limit(20, 20, false));
        assert!(!within_company_limit(0, 0, false));
    }

    #[test]
    fn company_limit_never_holds_back_a_renewal() {
        assert!(within_company_limit(20, 20, true));
        assert!(within_company_limit(25, 20, true));
    }

    #[test]
    fn a_token_granted_after_the_latest_revocation_is_kept_and_one_of_the_same_second_is_not() {
        let granted = datetime!(2026-12-05 10:00:00 UTC).unix_timestamp();
        assert!(token_outlives_revocations(granted, None));
        assert!(token_outlives_revocations(granted, Some(datetime!(2026-12-05 09:59:59 UTC))));
        assert!(!token_outlives_revocations(granted, Some(datetime!(2026-12-05 10:00:00.5 UTC))));
        assert!(!token_outlives_revocations(granted, Some(datetime!(2026-12-05 10:00:01 UTC))));
    }
}
