//! Japanese plain-text mail templates: what happened, what to do next, who to contact.

use common::jst;
use time::OffsetDateTime;

use super::outbox::Mail;

const SYSTEM: &str = "ろうきん賃金控除事務支援システム";

fn footer(url: &str) -> String {
    format!("\n――\n{SYSTEM}\n{url}\nこのメールは送信専用です。ご不明な点はお取引店（労金）へお問い合わせください。\n")
}

/// R2: the ID was locked after consecutive wrong passwords.
pub fn locked(user_id: &str, user_pk: i64, to: &str, until: OffsetDateTime, url: &str) -> Mail {
    Mail {
        dedupe_key: format!("lock:{user_pk}:{}", until.unix_timestamp()),
        to: to.to_owned(),
        subject: format!("【{SYSTEM}】ユーザーIDがロックされました"),
        body: format!(
            "ユーザーID {user_id} はパスワードを連続して間違えたため、ロックされました。\n\n\
             ロックは {}（日本時間）に自動で解除されます。解除後に正しいパスワードで再度お試しください。\n\
             ロックを3回繰り返すと閉塞（ログイン不可）となります。\n\n\
             お心当たりのない場合は、至急マスターユーザーまたは労金へご連絡ください。\n{}",
            jst::format_datetime(until),
            footer(url)
        ),
    }
}

/// R2: the ID was blocked (閉塞) after repeated locks.
pub fn blocked(user_id: &str, user_pk: i64, to: &str, at: OffsetDateTime, master_or_staff: bool, url: &str) -> Mail {
    let contact = if master_or_staff {
        "労金へお問い合わせください。"
    } else {
        "貴社のマスターユーザーにお問い合わせください（マスターユーザーは閉塞を解除できます）。"
    };
    Mail {
        dedupe_key: format!("block:{user_pk}:{}", at.unix_timestamp()),
        to: to.to_owned(),
        subject: format!("【{SYSTEM}】ユーザーIDが閉塞されました"),
        body: format!(
            "ユーザーID {user_id} はロックを繰り返したため、{}（日本時間）に閉塞されました。\n\
             このユーザーIDでは認証できません。\n\n解除のご依頼は、{contact}\n{}",
            jst::format_datetime(at),
            footer(url)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn lock_mail_says_until_when_in_jst() {
        let m = locked("abc123", 7, "a@example.jp", datetime!(2026-11-24 10:30 UTC), "https://x");
        assert!(m.body.contains("2026年11月24日 19:30"));
        assert!(m.subject.contains("ロック"));
        assert_eq!(m.dedupe_key, format!("lock:7:{}", datetime!(2026-11-24 10:30 UTC).unix_timestamp()));
    }

    #[test]
    fn block_mail_names_whom_to_ask() {
        assert!(
            blocked("abc123", 7, "a@x.jp", datetime!(2026-11-24 10:30 UTC), false, "u")
                .body
                .contains("マスターユーザー")
        );
        assert!(blocked("abc123", 7, "a@x.jp", datetime!(2026-11-24 10:30 UTC), true, "u").body.contains("労金へ"));
    }
}
