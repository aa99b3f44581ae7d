//! Passwords an attacker tries first (issue 29 §2). The .p12 is protected by the login password
//! (the manual's design), so a stolen .p12 is attacked offline, where neither the throttle nor the
//! lock applies: a password must not be one that is guessed first. As NIST SP 800-63B §3.1.1.2
//! and ASVS 5.0 ask, every new password a person chooses — a change, an initial password typed by
//! staff or an operator — is checked on the server (the list stays out of the SPA) against:
//!
//! - a blocklist compiled in: the common passwords R1 would accept (`common_passwords.txt`: the
//!   9,121 entries of zxcvbn's 30,000 most common passwords that pass R1; its header names the
//!   source and the MIT licence), compared case-insensitively;
//! - words of its context: the user's own ID, and the names of the bank and the service in
//!   romaji (`rokin`, `roukin`, `chingin`, `koujo`). Company names are stored in Japanese only,
//!   so no romaji of them is checked.
//!
//! Generated initial passwords are never refused: they are random 12 characters (see
//! `accounts::generate_initial_password`, which checks anyway).

use std::sync::LazyLock;

/// The blocklist file: a header of `#` lines, then one password per line, lower case, sorted.
const COMMON: &str = include_str!("common_passwords.txt");

/// The blocklist, sorted (a unit test checks it): a binary search is the lookup.
static LIST: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| COMMON.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect());

/// The bank's and the service's names in romaji: ろうきん, 賃金控除.
pub const SERVICE_WORDS: &[&str] = &["rokin", "roukin", "chingin", "koujo"];

/// Why a password is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guessable {
    /// It is on the blocklist.
    Common,
    /// It contains the user's own ID.
    ContainsUserId,
    /// It contains the name of the bank or of the service.
    ContainsServiceName,
}

impl Guessable {
    /// The refusal, in Japanese, as the screens show it under the password field.
    pub fn message(self) -> &'static str {
        match self {
            Guessable::Common => {
                "このパスワードはよく使われているため、第三者に推測されやすく、使用できません。別のパスワードを設定してください。"
            }
            Guessable::ContainsUserId => {
                "ユーザーIDを含むパスワードは推測されやすいため、使用できません。別のパスワードを設定してください。"
            }
            Guessable::ContainsServiceName => {
                "「ろうきん」(rokin、roukin) やシステムの名前 (chingin、koujo) を含むパスワードは推測されやすいため、使用できません。別のパスワードを設定してください。"
            }
        }
    }
}

/// Whether `password` (already valid under R1) may be chosen by the user `user_id`.
pub fn check(password: &str, user_id: &str) -> Result<(), Guessable> {
    let lower = password.to_ascii_lowercase();
    if LIST.binary_search(&lower.as_str()).is_ok() {
        return Err(Guessable::Common);
    }
    let id = user_id.to_ascii_lowercase();
    if !id.is_empty() && lower.contains(&id) {
        return Err(Guessable::ContainsUserId);
    }
    if SERVICE_WORDS.iter().any(|w| lower.contains(w)) {
        return Err(Guessable::ContainsServiceName);
    }
    Ok(())
}

/// How many passwords the blocklist holds.
pub fn list_len() -> usize {
    LIST.len()
}

#[cfg(test)]
mod tests {
    use common::{Field, Password};
    use rand::Rng;

    use super::*;

    #[test]
    fn the_list_is_sorted_unique_lower_case_and_nine_thousand_long() {
        assert!(LIST.windows(2).all(|w| w[0] < w[1]), "sorted and unique: the lookup is a binary search");
        assert!(LIST.iter().all(|p| *p == p.to_ascii_lowercase()));
        assert_eq!(list_len(), 9_121);
    }

    #[test]
    fn every_listed_password_passes_r1_and_is_refused_in_any_case() {
        for p in LIST.iter() {
            assert!(Password::parse(Field::NewPassword, p).is_ok(), "{p} would be refused by R1 already");
            assert_eq!(check(p, "someone1"), Err(Guessable::Common), "{p}");
            assert_eq!(check(&p.to_ascii_uppercase(), "someone1"), Err(Guessable::Common), "{p}");
        }
        for p in ["password1", "abc123", "qwerty123", "Secret123", "1q2w3e4r"] {
            assert_eq!(check(p, "someone1"), Err(Guessable::Common), "{p}");
        }
    }

    #[test]
    fn a_random_r1_password_is_accepted() {
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
        let mut rng = rand::rng();
        for _ in 0..10_000 {
            let len = rng.random_range(6..=12);
            let s: String = (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
            let Ok(p) = Password::parse(Field::NewPassword, &s) else { continue };
            if SERVICE_WORDS.iter().any(|w| s.to_ascii_lowercase().contains(w)) {
                continue;
            }
            assert_eq!(check(p.expose(), "someone1"), Ok(()), "{s}");
        }
    }

    #[test]
    fn the_users_id_and_the_services_names_are_refused_in_any_case_anywhere() {
        assert_eq!(check("master011", "master01"), Err(Guessable::ContainsUserId), "the ID followed by 1");
        assert_eq!(check("1Master01", "master01"), Err(Guessable::ContainsUserId));
        assert_eq!(check("xMASTER01y", "master01"), Err(Guessable::ContainsUserId));
        assert_eq!(check("master0x1", "master01"), Ok(()), "the ID broken up is not the ID");
        for (p, why) in [
            ("Rokin2026", Guessable::ContainsServiceName),
            ("2026roukin", Guessable::ContainsServiceName),
            ("chingin99", Guessable::ContainsServiceName),
            ("Koujo1234", Guessable::ContainsServiceName),
        ] {
            assert_eq!(check(p, "someone1"), Err(why), "{p}");
        }
        assert_eq!(check("Rokn2026x", "someone1"), Ok(()));
    }
}
