//! R1: the format of user IDs and passwords.
//!
//! Both are 6–12 half-width ASCII letters and digits, with at least one letter and one digit,
//! case-sensitive. [`UserId`] and [`Password`] can only be constructed valid ("parse, don't
//! validate"); every refusal names the field and the rule in Japanese.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Shortest allowed ID or password (R1).
pub const MIN_LEN: usize = 6;
/// Longest allowed ID or password (R1).
pub const MAX_LEN: usize = 12;

/// The form field a value was typed into; used to name it in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    UserId,
    Password,
    CurrentPassword,
    NewPassword,
}

impl Field {
    /// The field's label as shown on the screens.
    pub fn label(self) -> &'static str {
        match self {
            Field::UserId => "ユーザーID",
            Field::Password => "パスワード",
            Field::CurrentPassword => "現在のパスワード",
            Field::NewPassword => "新しいパスワード",
        }
    }

    /// The wire name (`user_id`, `password`, …) used in `ErrorBody::field`.
    pub fn name(self) -> &'static str {
        match self {
            Field::UserId => "user_id",
            Field::Password => "password",
            Field::CurrentPassword => "current_password",
            Field::NewPassword => "new_password",
        }
    }
}

/// Which part of R1 a value breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("{}を入力してください。", .0.label())]
    Empty(Field),
    #[error("{}は半角英字と半角数字のみで入力してください（全角文字・記号・空白は使えません）。", .0.label())]
    InvalidCharacter(Field),
    #[error("{}は6桁以上12桁以下で入力してください。", .0.label())]
    Length(Field),
    #[error("{}には英字と数字をそれぞれ1文字以上含めてください（英数混在必須）。", .0.label())]
    NotMixed(Field),
}

impl FormatError {
    /// The field the refused value was typed into.
    pub fn field(self) -> Field {
        match self {
            FormatError::Empty(f)
            | FormatError::InvalidCharacter(f)
            | FormatError::Length(f)
            | FormatError::NotMixed(f) => f,
        }
    }
}

/// Checks `value` against R1 for `field`. Order of checks: empty, characters, length, mix, so the
/// message points at the first thing the user has to change.
pub fn check_format(field: Field, value: &str) -> Result<(), FormatError> {
    if value.is_empty() {
        return Err(FormatError::Empty(field));
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(FormatError::InvalidCharacter(field));
    }
    if !(MIN_LEN..=MAX_LEN).contains(&value.len()) {
        return Err(FormatError::Length(field));
    }
    let letter = value.bytes().any(|b| b.is_ascii_alphabetic());
    let digit = value.bytes().any(|b| b.is_ascii_digit());
    if !(letter && digit) {
        return Err(FormatError::NotMixed(field));
    }
    Ok(())
}

/// A user ID that satisfies R1.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    /// Parses a user ID typed into the ユーザーID field.
    pub fn parse(value: &str) -> Result<Self, FormatError> {
        check_format(Field::UserId, value)?;
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UserId").field(&self.0).finish()
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for UserId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        UserId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A password that satisfies R1. Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Parses a password typed into `field` (パスワード, 新しいパスワード, …).
    pub fn parse(field: Field, value: &str) -> Result<Self, FormatError> {
        check_format(field, value)?;
        Ok(Self(value.to_owned()))
    }

    /// The secret itself; call only where it is hashed, verified or used as the .p12 password.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_six_and_twelve_mixed_characters() {
        assert!(UserId::parse("abc123").is_ok());
        assert!(UserId::parse("abcdef123456").is_ok());
        assert!(UserId::parse("1a2b3C").is_ok());
    }

    #[test]
    fn refuses_five_and_thirteen_characters() {
        assert_eq!(UserId::parse("abc12"), Err(FormatError::Length(Field::UserId)));
        assert_eq!(UserId::parse("abcdefg123456"), Err(FormatError::Length(Field::UserId)));
    }

    #[test]
    fn refuses_letters_only_and_digits_only() {
        assert_eq!(UserId::parse("abcdef"), Err(FormatError::NotMixed(Field::UserId)));
        assert_eq!(Password::parse(Field::Password, "123456").unwrap_err(), FormatError::NotMixed(Field::Password));
    }

    #[test]
    fn refuses_full_width_symbols_and_spaces() {
        for bad in ["ａｂｃ１２３", "abc 123", "abc-123", "abc_123", "ユーザー123", "abc12３"] {
            assert_eq!(UserId::parse(bad), Err(FormatError::InvalidCharacter(Field::UserId)), "{bad}");
        }
    }

    #[test]
    fn refuses_empty() {
        assert_eq!(Password::parse(Field::NewPassword, "").unwrap_err(), FormatError::Empty(Field::NewPassword));
    }

    #[test]
    fn is_case_sensitive() {
        assert_ne!(UserId::parse("Abc123").unwrap(), UserId::parse("abc123").unwrap());
    }

    #[test]
    fn messages_name_the_field_and_rule() {
        let msg = FormatError::Length(Field::NewPassword).to_string();
        assert!(msg.contains("新しいパスワード") && msg.contains("6桁以上12桁以下"), "{msg}");
        let msg = FormatError::NotMixed(Field::UserId).to_string();
        assert!(msg.contains("ユーザーID") && msg.contains("英数混在"), "{msg}");
    }

    #[test]
    fn password_debug_is_redacted() {
        let p = Password::parse(Field::Password, "secret123").unwrap();
        assert!(!format!("{p:?}").contains("secret123"));
    }

    #[test]
    fn deserializing_an_invalid_user_id_fails() {
        assert!(serde_json::from_str::<UserId>("\"ab\"").is_err());
        assert_eq!(serde_json::from_str::<UserId>("\"ab12cd\"").unwrap().as_str(), "ab12cd");
    }
}
