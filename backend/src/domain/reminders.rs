//! R6: which expiry notice a certificate is due, as a pure function of the certificate and `now`.
//!
//! A reminder for `d` days is due from the instant renewal opens for that distance, `not_after - d
//! days` (the same instant R4's 30-day renewal window opens, so the mail never announces a renewal the
//! wizard would still refuse). When several reminder distances are due (the service was down, or the
//! certificate was issued late), only the nearest one is: a user never gets the 30-day and the 10-day
//! mail at once. The expiry notice is due once the certificate has expired, for [`EXPIRY_NOTICE_WINDOW`]
//! after expiry (a notice about a certificate that ran out months ago helps nobody). Revoked
//! certificates and certificates already followed by a newer one (renewed) get nothing.

use time::{Duration, OffsetDateTime};

/// How long after expiry the expiry notice may still go out.
pub const EXPIRY_NOTICE_WINDOW: Duration = Duration::days(30);

/// The facts a notice depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateFacts {
    pub not_after: OffsetDateTime,
    pub revoked: bool,
    /// The user holds another unrevoked certificate expiring later (renewal or re-issue done).
    pub superseded: bool,
}

/// A notice to queue. Its identity (certificate + kind) is the outbox dedupe key, so each is queued once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// `days` before expiry.
    Reminder { days: u32 },
    /// Expired without renewal.
    Expired,
}

/// The notice `cert` is due at `now`, if any. `reminder_days` in any order.
pub fn notice_due(cert: CertificateFacts, reminder_days: &[u32], now: OffsetDateTime) -> Option<Notice> {
    if cert.revoked || cert.superseded {
        return None;
    }
    if now > cert.not_after {
        return (now - cert.not_after <= EXPIRY_NOTICE_WINDOW).then_some(Notice::Expired);
    }
    reminder_days
        .iter()
        .copied()
        .filter(|&d| now >= cert.not_after - Duration::days(i64::from(d)))
        .min()
        .map(|days| Notice::Reminder { days })
}

/// The widest window of `not_after` values a scan at `now` must look at.
pub fn scan_window(reminder_days: &[u32], now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    let ahead = reminder_days.iter().copied().max().unwrap_or(0);
    (now - EXPIRY_NOTICE_WINDOW, now + Duration::days(i64::from(ahead)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// Certificates expire at 23:59:59 JST (R3).
    const EXPIRY: OffsetDateTime = datetime!(2027-12-24 23:59:59 +9);

    fn cert() -> CertificateFacts {
        CertificateFacts { not_after: EXPIRY, revoked: false, superseded: false }
    }

    #[test]
    fn nothing_one_second_before_thirty_days() {
        let now = EXPIRY - Duration::days(30) - Duration::seconds(1);
        assert_eq!(notice_due(cert(), &[30], now), None);
    }

    #[test]
    fn thirty_day_reminder_exactly_when_renewal_opens() {
        let now = EXPIRY - Duration::days(30);
        assert_eq!(now, datetime!(2027-11-24 23:59:59 +9));
        assert_eq!(notice_due(cert(), &[30], now), Some(Notice::Reminder { days: 30 }));
        assert_eq!(
            crate::domain::eligibility::eligibility(
                &[crate::domain::certificate::CertificateFacts {
                    stored: common::api::CertificateStatus::Active,
                    not_before: EXPIRY - Duration::days(366),
                    not_after: EXPIRY,
                }],
                now
            ),
            crate::domain::eligibility::Eligibility::Renewal,
            "the mail goes out when the wizard accepts the renewal"
        );
    }

    #[test]
    fn ten_day_reminder_replaces_thirty_when_both_are_due() {
        let days = [30, 10];
        assert_eq!(notice_due(cert(), &days, EXPIRY - Duration::days(11)), Some(Notice::Reminder { days: 30 }));
        assert_eq!(notice_due(cert(), &days, EXPIRY - Duration::days(10)), Some(Notice::Reminder { days: 10 }));
        assert_eq!(notice_due(cert(), &[10, 30], EXPIRY - Duration::days(3)), Some(Notice::Reminder { days: 10 }));
    }

    #[test]
    fn last_second_of_validity_is_still_a_reminder() {
        assert_eq!(notice_due(cert(), &[30], EXPIRY), Some(Notice::Reminder { days: 30 }));
    }

    #[test]
    fn expired_notice_from_the_first_second_after_expiry() {
        let now = EXPIRY + Duration::seconds(1);
        assert_eq!(now, datetime!(2027-12-25 00:00:00 +9));
        assert_eq!(notice_due(cert(), &[30], now), Some(Notice::Expired));
    }

    #[test]
    fn expired_notice_window_ends_after_thirty_days() {
        assert_eq!(notice_due(cert(), &[30], EXPIRY + EXPIRY_NOTICE_WINDOW), Some(Notice::Expired));
        assert_eq!(notice_due(cert(), &[30], EXPIRY + EXPIRY_NOTICE_WINDOW + Duration::seconds(1)), None);
    }

    #[test]
    fn renewed_or_revoked_certificates_get_nothing() {
        let renewed = CertificateFacts { superseded: true, ..cert() };
        let revoked = CertificateFacts { revoked: true, ..cert() };
        for now in [EXPIRY - Duration::days(5), EXPIRY + Duration::days(1)] {
            assert_eq!(notice_due(renewed, &[30], now), None);
            assert_eq!(notice_due(revoked, &[30], now), None);
        }
    }

    #[test]
    fn leap_day_distance_counts_real_days() {
        // Expiry 2028-03-01: 30 days before crosses 29 February.
        let expiry = datetime!(2028-03-01 23:59:59 +9);
        let c = CertificateFacts { not_after: expiry, ..cert() };
        assert_eq!(notice_due(c, &[30], datetime!(2028-01-31 23:59:58 +9)), None);
        assert_eq!(notice_due(c, &[30], datetime!(2028-01-31 23:59:59 +9)), Some(Notice::Reminder { days: 30 }));
    }

    #[test]
    fn scan_window_covers_every_due_notice() {
        let now = EXPIRY;
        let (from, to) = scan_window(&[30, 10], now);
        assert_eq!(from, now - EXPIRY_NOTICE_WINDOW);
        assert_eq!(to, now + Duration::days(30));
    }
}
