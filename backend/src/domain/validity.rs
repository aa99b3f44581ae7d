//! R4: a certificate is valid for 366 days counting the day of issue, in Japan time:
//! notBefore = the moment of issue, notAfter = 23:59:59 JST of (issue date + 365 days).

use common::jst::JST;
use time::{Duration, OffsetDateTime, Time};

/// The validity period of a certificate issued at `now`.
pub fn validity(now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    let not_before = now.replace_nanosecond(0).expect("zero nanoseconds is valid");
    let issue_date = now.to_offset(JST).date();
    let last_day = issue_date + Duration::days(365);
    let not_after = last_day.with_time(Time::from_hms(23, 59, 59).expect("valid time")).assume_offset(JST);
    (not_before, not_after.to_offset(time::UtcOffset::UTC))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn issued_at_235959_jst_counts_that_day() {
        // 2026-11-24 23:59:59 JST = 14:59:59 UTC: day one is the 24th.
        let (nb, na) = validity(datetime!(2026-11-24 14:59:59 UTC));
        assert_eq!(nb, datetime!(2026-11-24 14:59:59 UTC));
        assert_eq!(na, datetime!(2027-11-24 23:59:59 +9));
    }

    #[test]
    fn issued_at_000000_jst_counts_the_next_day() {
        // 2026-11-25 00:00:00 JST = 2026-11-24 15:00:00 UTC: day one is the 25th.
        let (_, na) = validity(datetime!(2026-11-24 15:00:00 UTC));
        assert_eq!(na, datetime!(2027-11-25 23:59:59 +9));
    }

    #[test]
    fn across_a_leap_day() {
        // Issued 2027-03-01 JST: 365 days later is 2028-02-29 (2028 is a leap year).
        let (_, na) = validity(datetime!(2027-03-01 09:00 +9));
        assert_eq!(na, datetime!(2028-02-29 23:59:59 +9));
        // Issued on the leap day itself.
        let (_, na) = validity(datetime!(2028-02-29 12:00 +9));
        assert_eq!(na, datetime!(2029-02-28 23:59:59 +9));
    }

    #[test]
    fn period_spans_366_calendar_days_in_jst() {
        let now = datetime!(2026-06-15 08:00 +9);
        let (nb, na) = validity(now);
        let days = (na.to_offset(JST).date() - nb.to_offset(JST).date()).whole_days() + 1;
        assert_eq!(days, 366);
    }
}
