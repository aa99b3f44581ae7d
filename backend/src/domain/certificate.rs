//! What a certificate is at a given time: the one judgement the login, the home screen, the
//! master and staff lists, the certificate search and the expiry reminders share. A certificate is
//! in force from `not_before` up to, not including, `not_after` (the same boundary eligibility
//! and the certificate limit use), unless revoked.

use common::api::{CertificateClass, CertificateStatus};
use time::{Duration, OffsetDateTime};

/// How long before expiry renewal opens (R5).
pub const RENEWAL_WINDOW: Duration = Duration::days(30);

/// When renewal of a certificate that expires at `not_after` opens.
pub fn renewable_from(not_after: OffsetDateTime) -> OffsetDateTime {
    not_after - RENEWAL_WINDOW
}

/// The facts of a stored certificate the judgement depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateFacts {
    /// As stored: only `Active` or `Revoked`.
    pub stored: CertificateStatus,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl CertificateFacts {
    pub fn revoked(&self) -> bool {
        self.stored == CertificateStatus::Revoked
    }
}

/// Whether a certificate that expires at `not_after` has expired at `now`.
pub fn expired(not_after: OffsetDateTime, now: OffsetDateTime) -> bool {
    now >= not_after
}

/// The status people see at `now`: revoked, expired, or active.
pub fn status(c: CertificateFacts, now: OffsetDateTime) -> CertificateStatus {
    if c.revoked() {
        CertificateStatus::Revoked
    } else if expired(c.not_after, now) {
        CertificateStatus::Expired
    } else {
        CertificateStatus::Active
    }
}

/// How a presented certificate of ours is judged at `now` (login, step ⑧): revoked, not yet
/// valid, expired or valid.
pub fn class(c: CertificateFacts, now: OffsetDateTime) -> CertificateClass {
    if c.revoked() {
        CertificateClass::Revoked
    } else if now < c.not_before {
        CertificateClass::NotYetValid
    } else if expired(c.not_after, now) {
        CertificateClass::Expired
    } else {
        CertificateClass::Valid
    }
}

/// Whether the certificate may be renewed at `now` (R5): active and in its last 30 days.
pub fn renewable(c: CertificateFacts, now: OffsetDateTime) -> bool {
    status(c, now) == CertificateStatus::Active && now >= renewable_from(c.not_after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const ISSUED: OffsetDateTime = datetime!(2026-11-24 10:00 UTC);
    const EXPIRY: OffsetDateTime = datetime!(2027-11-24 23:59:59 +9);

    fn active() -> CertificateFacts {
        CertificateFacts { stored: CertificateStatus::Active, not_before: ISSUED, not_after: EXPIRY }
    }

    #[test]
    fn active_until_one_second_before_expiry() {
        assert_eq!(status(active(), EXPIRY - Duration::seconds(1)), CertificateStatus::Active);
        assert_eq!(class(active(), EXPIRY - Duration::seconds(1)), CertificateClass::Valid);
    }

    #[test]
    fn expired_at_not_after() {
        assert_eq!(status(active(), EXPIRY), CertificateStatus::Expired);
        assert_eq!(class(active(), EXPIRY), CertificateClass::Expired);
    }

    #[test]
    fn not_yet_valid_one_second_before_not_before() {
        assert_eq!(class(active(), ISSUED - Duration::seconds(1)), CertificateClass::NotYetValid);
        assert_eq!(class(active(), ISSUED), CertificateClass::Valid);
    }

    #[test]
    fn revoked_wins_over_time() {
        let revoked = CertificateFacts { stored: CertificateStatus::Revoked, ..active() };
        assert_eq!(status(revoked, ISSUED), CertificateStatus::Revoked);
        assert_eq!(status(revoked, EXPIRY + Duration::days(1)), CertificateStatus::Revoked);
        assert_eq!(class(revoked, ISSUED - Duration::days(1)), CertificateClass::Revoked);
        assert!(!renewable(revoked, EXPIRY - Duration::days(1)));
    }

    #[test]
    fn renewable_from_exactly_30_days_before_expiry() {
        assert!(!renewable(active(), EXPIRY - Duration::days(30) - Duration::seconds(1)));
        assert!(renewable(active(), EXPIRY - Duration::days(30)));
        assert!(renewable(active(), EXPIRY - Duration::seconds(1)));
        assert!(!renewable(active(), EXPIRY), "expired: a new issue, not a renewal");
    }
}
