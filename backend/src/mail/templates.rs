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
        dedupe_key: format!("lock:{user_pk}:{}", until.unix_timestamp_nanos()),
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
        dedupe_key: format!("block:{user_pk}:{}", at.unix_timestamp_nanos()),
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

/// R6: the certificate expires in `days` days; renewal is open now.
pub fn expiry_reminder(r: &ReminderFacts<'_>, days: u32) -> Mail {
    Mail {
        dedupe_key: format!("reminder:{}:{days}", r.certificate_id),
        to: r.to.to_owned(),
        subject: format!("【{SYSTEM}】電子証明書の有効期限が近づいています（{}まで）", jst::format_date(r.not_after)),
        body: format!(
            "ユーザーID {user} の電子証明書（シリアル番号 {serial}）の有効期限は {expiry}（日本時間）です。\n\
             有効期限の{days}日前になりましたので、お知らせします。\n\n\
             ■ 更新の手順\n\
             1. ご利用のパソコンで次のURLを開きます: {url}/issuance/auth\n\
             2. ユーザーIDとパスワードで認証し、画面の案内に従って新しい電子証明書を発行します。\n\
             3. ダウンロードした証明書ファイル（.p12）をパソコンに取り込みます。\n\n\
             更新しても、今お使いの証明書は有効期限まで引き続きご利用いただけます。\n\
             有効期限を過ぎると、この証明書ではログインできなくなります。\n{footer}",
            user = r.user_id,
            serial = r.serial,
            expiry = jst::format_datetime(r.not_after),
            url = r.url.trim_end_matches('/'),
            footer = footer(r.url),
        ),
    }
}

/// R6: the certificate expired and no newer one was issued.
pub fn expired(r: &ReminderFacts<'_>) -> Mail {
    Mail {
        dedupe_key: format!("expired:{}", r.certificate_id),
        to: r.to.to_owned(),
        subject: format!("【{SYSTEM}】電子証明書の有効期限が切れました"),
        body: format!(
            "ユーザーID {user} の電子証明書（シリアル番号 {serial}）は {expiry}（日本時間）に有効期限が切れました。\n\
             この証明書ではログインできません。\n\n\
             ■ 再発行の手順\n\
             1. ご利用のパソコンで次のURLを開きます: {url}/issuance/auth\n\
             2. ユーザーIDとパスワードで認証し、画面の案内に従って電子証明書を発行します。\n\
             3. ダウンロードした証明書ファイル（.p12）をパソコンに取り込み、ログインし直してください。\n\n\
             パスワードがご不明な場合やロック・閉塞されている場合は、{contact}\n{footer}",
            user = r.user_id,
            serial = r.serial,
            expiry = jst::format_datetime(r.not_after),
            url = r.url.trim_end_matches('/'),
            contact = if r.master_or_staff {
                "労金へお問い合わせください。"
            } else {
                "貴社のマスターユーザーにお問い合わせください。"
            },
            footer = footer(r.url),
        ),
    }
}

/// What the expiry mails say about a certificate.
#[derive(Debug, Clone, Copy)]
pub struct ReminderFacts<'a> {
    pub certificate_id: i64,
    pub serial: &'a str,
    pub user_id: &'a str,
    pub to: &'a str,
    pub not_after: OffsetDateTime,
    pub master_or_staff: bool,
    pub url: &'a str,
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
        assert_eq!(m.dedupe_key, format!("lock:7:{}", datetime!(2026-11-24 10:30 UTC).unix_timestamp_nanos()));
    }

    fn facts() -> ReminderFacts<'static> {
        ReminderFacts {
            certificate_id: 42,
            serial: "0A1B",
            user_id: "abc123",
            to: "a@example.jp",
            not_after: datetime!(2027-12-24 14:59:59 UTC),
            master_or_staff: false,
            url: "https://cjs.example.jp/",
        }
    }

    #[test]
    fn reminder_gives_expiry_in_jst_and_the_renewal_url() {
        let m = expiry_reminder(&facts(), 30);
        assert_eq!(m.dedupe_key, "reminder:42:30");
        assert!(m.subject.contains("2027年12月24日まで"), "{}", m.subject);
        assert!(m.body.contains("2027年12月24日 23:59"), "{}", m.body);
        assert!(m.body.contains("30日前"));
        assert!(m.body.contains("https://cjs.example.jp/issuance/auth"), "{}", m.body);
        assert_ne!(expiry_reminder(&facts(), 10).dedupe_key, m.dedupe_key);
    }

    #[test]
    fn expired_notice_is_keyed_by_certificate() {
        let m = expired(&facts());
        assert_eq!(m.dedupe_key, "expired:42");
        assert!(m.subject.contains("切れました"));
        assert!(m.body.contains("マスターユーザー"));
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
