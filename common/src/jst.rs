//! Japan time: every time shown to a user is JST, written the Japanese way (2026年11月24日 19:30).

use time::{OffsetDateTime, UtcOffset, macros::offset};

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
}
