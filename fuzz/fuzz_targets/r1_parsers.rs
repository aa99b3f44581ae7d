//! R1 format checks on arbitrary text: never panic; whatever is accepted really has the
//! format (6–12 characters, ASCII letters and digits, both present) and is kept exactly.
#![no_main]

use common::{Field, Password, UserId};
use libfuzzer_sys::fuzz_target;

fn well_formed(s: &str) -> bool {
    (6..=12).contains(&s.chars().count())
        && s.chars().all(|c| c.is_ascii_alphanumeric())
        && s.chars().any(|c| c.is_ascii_alphabetic())
        && s.chars().any(|c| c.is_ascii_digit())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(id) = UserId::parse(text) {
        assert_eq!(id.as_str(), text);
        assert!(well_formed(text), "accepted user ID {text:?}");
    }
    for field in [Field::Password, Field::NewPassword, Field::CurrentPassword] {
        if let Ok(pw) = Password::parse(field, text) {
            assert_eq!(pw.expose(), text);
            assert!(well_formed(text), "accepted password {text:?}");
        }
    }
});
