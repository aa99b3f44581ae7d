//! The checks every list search passes before it reaches the database, as pure functions: the
//! page size within its bound, search texts within [`SEARCH_MAX_CHARS`] and without control
//! characters, a known sort, JST dates, and the normalisation that makes full-width and
//! half-width forms of a company name match (NFKC, then lower case).

use common::api::list::{PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, SEARCH_MAX_CHARS};
use time::{Date, OffsetDateTime};

/// A search value the server refuses: which parameter, and why (in Japanese).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SearchError {
    pub field: &'static str,
    pub message: String,
}

impl SearchError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }

    /// The cursor was altered, or belongs to another search.
    pub fn cursor() -> Self {
        Self::new("cursor", "ページの指定が正しくありません。検索し直してください。")
    }
}

/// Rows of one page: the default when absent, 1 to [`PAGE_SIZE_MAX`] otherwise.
pub fn page_size(limit: Option<u32>) -> Result<u64, SearchError> {
    match limit {
        None => Ok(u64::from(PAGE_SIZE_DEFAULT)),
        Some(n @ 1..=PAGE_SIZE_MAX) => Ok(u64::from(n)),
        Some(_) => Err(SearchError::new("limit", format!("1ページの件数は1〜{PAGE_SIZE_MAX}件で指定してください。"))),
    }
}

/// A search text, trimmed; `None` when empty. Refused when longer than [`SEARCH_MAX_CHARS`] or
/// holding a control character.
pub fn text(field: &'static str, value: &Option<String>) -> Result<Option<String>, SearchError> {
    // Before trimming: a line break at either end is refused too, not trimmed away.
    if value.as_deref().is_some_and(|v| v.chars().any(char::is_control)) {
        return Err(SearchError::new(field, "検索条件に改行や制御文字は使えません。"));
    }
    let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if v.chars().count() > SEARCH_MAX_CHARS {
        return Err(SearchError::new(field, format!("検索条件は{SEARCH_MAX_CHARS}文字以内で入力してください。")));
    }
    Ok(Some(v.to_owned()))
}

/// One of `allowed` values (e.g. a status), or `None` when absent.
pub fn one_of(field: &'static str, value: &Option<String>, allowed: &[&str]) -> Result<Option<String>, SearchError> {
    match text(field, value)? {
        None => Ok(None),
        Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v)),
        Some(_) => Err(SearchError::new(field, format!("指定できる値は {} です。", allowed.join("、")))),
    }
}

/// The start of a user ID: 1–12 half-width letters and digits.
pub fn user_id_prefix(field: &'static str, value: &Option<String>) -> Result<Option<String>, SearchError> {
    match text(field, value)? {
        Some(v) if v.len() > 12 || !v.chars().all(|c| c.is_ascii_alphanumeric()) => {
            Err(SearchError::new(field, "ユーザーIDは半角英数字12文字以内で入力してください。"))
        }
        other => Ok(other),
    }
}

/// A `LIKE` pattern matching `s` anywhere, with `%`, `_` and `\` taken literally (`ESCAPE '\'`).
pub fn contains_pattern(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A sort: a column of the list, and its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub column: &'static str,
    pub descending: bool,
}

impl Sort {
    /// `column` or `-column`.
    pub fn name(&self) -> String {
        format!("{}{}", if self.descending { "-" } else { "" }, self.column)
    }
}

/// `value` (`column` or `-column`, one of `columns`), or `default` when absent.
pub fn sort(value: &Option<String>, columns: &[&'static str], default: Sort) -> Result<Sort, SearchError> {
    let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else { return Ok(default) };
    let (descending, name) = match v.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    match columns.iter().find(|c| **c == name) {
        Some(column) => Ok(Sort { column, descending }),
        None => Err(SearchError::new(
            "sort",
            format!("並べ替えの指定が正しくありません。指定できる項目は {} です。", columns.join("、")),
        )),
    }
}

/// A bound of a half-open time range (`at >= start`, `at < end`) as the database compares it.
/// PostgreSQL compares timestamps. SQLite compares the stored RFC 3339 text
/// (`…T15:00:00.5Z`), where `.` sorts before `Z`: there the bound is given without its `Z`
/// (`…T15:00:00`), which every time of that second or later exceeds and every earlier time
/// does not. Right for `>=` and `<` only (never for `=`, `>` or `<=`).
pub fn range_bound(t: OffsetDateTime, sqlite: bool) -> sea_orm::Value {
    if sqlite {
        let text = t
            .to_offset(time::UtcOffset::UTC)
            .format(&time::format_description::well_known::Rfc3339)
            .expect("a UTC time formats as RFC 3339");
        text.trim_end_matches('Z').to_owned().into()
    } else {
        t.into()
    }
}

/// JST day `value` (`2026-12-01`, years 0001–9999), or a Japanese refusal naming `field`.
pub fn jst_day(field: &'static str, value: &str) -> Result<Date, SearchError> {
    common::jst::parse_day(value)
        .ok_or_else(|| SearchError::new(field, "日付は 2026-12-01 の形式（西暦 0001〜9999 年）で入力してください。"))
}

/// `[from, to)` in UTC of the JST dates `from` and `to`, both inclusive: `to` ends at the
/// next day's JST midnight (no end for 9999-12-31). Refused when `to` is before `from`.
pub fn jst_range(
    from: &Option<String>,
    to: &Option<String>,
) -> Result<(Option<OffsetDateTime>, Option<OffsetDateTime>), SearchError> {
    let from = text("from", from)?.map(|v| jst_day("from", &v)).transpose()?;
    let to = text("to", to)?.map(|v| jst_day("to", &v)).transpose()?;
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        return Err(SearchError::new("to", "終了日は開始日以降の日付を指定してください。"));
    }
    let start = from.map(|d| common::jst::day_bounds(d).0);
    let end = to.and_then(|d| common::jst::day_bounds(d).1);
    Ok((start, end))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn page_size_defaults_to_50_and_stops_at_200() {
        assert_eq!(page_size(None), Ok(50));
        assert_eq!(page_size(Some(1)), Ok(1));
        assert_eq!(page_size(Some(200)), Ok(200));
        assert!(page_size(Some(201)).is_err());
        assert!(page_size(Some(0)).is_err());
    }

    #[test]
    fn search_text_of_exactly_100_characters_passes_and_101_is_refused() {
        assert_eq!(text("q", &Some("あ".repeat(100))), Ok(Some("あ".repeat(100))));
        assert_eq!(text("q", &Some("あ".repeat(101))).unwrap_err().field, "q");
        assert_eq!(text("q", &Some("  ".into())), Ok(None));
        assert!(text("q", &Some("a\nb".into())).is_err());
        assert!(text("q", &Some("a\n".into())).is_err(), "not trimmed away");
        assert!(text("q", &Some("\u{85}a".into())).is_err());
    }

    #[test]
    fn like_wildcards_are_taken_literally() {
        assert_eq!(contains_pattern("100%_a\\b"), "%100\\%\\_a\\\\b%");
    }

    #[test]
    fn unknown_sort_is_refused_and_a_minus_means_descending() {
        let default = Sort { column: "name", descending: false };
        assert_eq!(sort(&None, &["name", "created_at"], default), Ok(default));
        assert_eq!(
            sort(&Some("-created_at".into()), &["name", "created_at"], default),
            Ok(Sort { column: "created_at", descending: true })
        );
        assert_eq!(sort(&Some("password_hash".into()), &["name"], default).unwrap_err().field, "sort");
    }

    #[test]
    fn user_id_prefix_takes_letters_and_digits_only() {
        assert_eq!(user_id_prefix("user_id", &Some("ab1".into())), Ok(Some("ab1".into())));
        assert!(user_id_prefix("user_id", &Some("ab%".into())).is_err());
        assert!(user_id_prefix("user_id", &Some("a".repeat(13))).is_err());
    }

    #[test]
    fn a_jst_day_runs_from_its_midnight_to_the_next() {
        let (from, to) = jst_range(&Some("2026-12-01".into()), &Some("2026-12-01".into())).unwrap();
        assert_eq!(from, Some(datetime!(2026-11-30 15:00 UTC)));
        assert_eq!(to, Some(datetime!(2026-12-01 15:00 UTC)));
        assert!(jst_range(&Some("2026-12-02".into()), &Some("2026-12-01".into())).is_err());
        assert!(jst_range(&Some("2026/12/01".into()), &None).is_err());
    }

    #[test]
    fn the_calendars_last_day_has_no_end_and_signed_years_are_refused() {
        let (from, to) = jst_range(&Some("0001-01-01".into()), &Some("9999-12-31".into())).unwrap();
        assert_eq!(from, Some(datetime!(0000-12-31 15:00 UTC)));
        assert_eq!(to, None);
        assert_eq!(jst_range(&Some("-5000-01-01".into()), &None).unwrap_err().field, "from");
        assert_eq!(jst_range(&None, &Some("0000-12-31".into())).unwrap_err().field, "to");
    }
}
