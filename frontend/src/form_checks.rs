//! Client-side checks of what is typed into forms, before the server (which has the last word)
//! sees it: R1 through `common`, and a plausibility check of e-mail addresses. Every problem comes
//! back as a Japanese line to show; a form reports all of its problems at once.

use common::{Field, Password, UserId, api::Credentials};

/// R1 on a user ID and a password.
pub fn check_credentials(user_id: &str, password: &str) -> Result<Credentials, Vec<String>> {
    let id = UserId::parse(user_id);
    let pw = Password::parse(Field::Password, password);
    match (id, pw) {
        (Ok(id), Ok(pw)) => Ok(Credentials { user_id: id.as_str().to_owned(), password: pw.expose().to_owned() }),
        (id, pw) => Err([id.err(), pw.err()].into_iter().flatten().map(|e| e.to_string()).collect()),
    }
}

/// R1 on a user ID alone (e.g. a new user's ID).
pub fn check_user_id(user_id: &str) -> Result<String, String> {
    UserId::parse(user_id).map(|id| id.as_str().to_owned()).map_err(|e| e.to_string())
}

/// The trimmed e-mail address (one `@`, a dotted domain, no spaces), or the message to show.
pub fn check_email(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        Err("メールアドレスを入力してください。".to_owned())
    } else if !looks_like_email(value) {
        Err("メールアドレスの形式が正しくありません（例: taro@example.co.jp）。".to_owned())
    } else {
        Ok(value.to_owned())
    }
}

fn looks_like_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else { return false };
    value.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::check_email;

    #[test]
    fn accepts_and_trims_a_plain_address() {
        assert_eq!(check_email(" taro@example.co.jp ").as_deref(), Ok("taro@example.co.jp"));
    }

    #[test]
    fn refuses_empty_and_malformed_addresses() {
        for bad in
            ["", "  ", "taro", "taro@", "@example.jp", "taro@example", "a@b@c.jp", "ta ro@example.jp", "taro@.jp"]
        {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
    }
}
