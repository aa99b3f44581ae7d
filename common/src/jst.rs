//! Japan time: every time shown to a user is JST, written the Japanese way (2026年11月24日 19:30).

use time::{Date, OffsetDateTime, UtcOffset, macros::offset};

/// Japan Standard Time, UTC+9 (Japan has no daylight saving time).
pub const JST: UtcOffset = offset!(+9);

/// `2026年11月24日 19:30` in JST.
pub fn format_datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(JST);
    format!("{}年{}月{}日 {:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
}

/// `2026年11月24日` in JST.
pub fn format_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(JST);
    format!("{}年{}月{}日", t.year(), u8::from(t.month()), t.day())
}

/// `19:30` in JST.
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(JST);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// `20261124193000` in JST: file names (`<userID><this>.p12`, the CSV exports).
pub fn format_compact(t: OffsetDateTime) -> String {
    let t = t.to_offset(JST);
    format!("{:04}{:02}{:02}{:02}{:02}{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second())
}

/// `2026-11-24 19:30:00` in JST: what a spreadsheet reads as a date and time (the CSV exports).
pub fn format_spreadsheet(t: OffsetDateTime) -> String {
    let compact = format_compact(t);
    let (d, h) = compact.split_at(8);
    format!("{}-{}-{} {}:{}:{}", &d[..4], &d[4..6], &d[6..], &h[..2], &h[2..4], &h[4..])
}

/// A JST calendar day typed as `2026-12-01`: four digits of year (0001–9999, no sign), two of
/// month and two of day. `None` for anything else, so that no search reaches a database with a
/// year it cannot store (PostgreSQL's timestamps end before 4713 BC; `-5000-01-01` would fail
/// there as a database error, not as bad input).
pub fn parse_day(text: &str) -> Option<Date> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) || !digits(5..7) || !digits(8..10) {
        return None;
    }
    let year: i32 = text[0..4].parse().ok()?;
    let month = time::Month::try_from(text[5..7].parse::<u8>().ok()?).ok()?;
    let day: u8 = text[8..10].parse().ok()?;
    if year < 1 {
        return None;
    }
    Date::from_calendar_date(year, month, day).ok()
}

/// The instants `[start, end)` of JST day `day`, in UTC; `end` is `None` for the last day the
/// calendar holds (9999-12-31), which nothing follows.
pub fn day_bounds(day: Date) -> (OffsetDateTime, Option<OffsetDateTime>) {
    let start = |d: Date| d.midnight().assume_offset(JST).to_offset(UtcOffset::UTC);
    (start(day), day.next_day().map(start))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats_in_japan_time() {
        let t = datetime!(2026-11-24 10:30 UTC);
        assert_eq!(format_datetime(t), "2026年11月24日 19:30");
        assert_eq!(format_time(t), "19:30");
    }

    #[test]
    fn compact_and_spreadsheet_forms_are_japan_time() {
        let t = datetime!(2026-11-24 10:30:05 UTC);
        assert_eq!(format_compact(t), "20261124193005");
        assert_eq!(format_spreadsheet(t), "2026-11-24 19:30:05");
    }

    #[test]
    fn date_rolls_over_at_jst_midnight() {
        assert_eq!(format_date(datetime!(2026-11-24 15:00 UTC)), "2026年11月25日");
        assert_eq!(format_date(datetime!(2026-11-24 14:59:59 UTC)), "2026年11月24日");
    }

    #[test]
    fn a_day_is_four_digits_of_year_then_month_and_day() {
        assert_eq!(parse_day("2026-12-01"), Some(time::macros::date!(2026 - 12 - 01)));
        assert_eq!(parse_day("0001-01-01"), Some(time::macros::date!(0001 - 01 - 01)));
        assert_eq!(parse_day("9999-12-31"), Some(time::macros::date!(9999 - 12 - 31)));
        for bad in [
            "0000-01-01",
            "-5000-01-01",
            "+2026-12-01",
            "2026-13-01",
            "2026-02-30",
            "2026/12/01",
            "26-12-01",
            "２０２６-12-01",
            "2026-12-1",
            "",
        ] {
            assert_eq!(parse_day(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_jst_day_starts_at_1500_utc_the_day_before_and_the_last_day_has_no_end() {
        let (start, end) = day_bounds(time::macros::date!(2026 - 12 - 01));
        assert_eq!(start, datetime!(2026-11-30 15:00 UTC));
        assert_eq!(end, Some(datetime!(2026-12-01 15:00 UTC)));
        assert_eq!(day_bounds(time::macros::date!(9999 - 12 - 31)).1, None);
        assert_eq!(day_bounds(time::macros::date!(0001 - 01 - 01)).0, datetime!(0000-12-31 15:00 UTC));
    }
}
