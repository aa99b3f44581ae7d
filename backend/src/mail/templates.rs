//! Japanese plain-text mail templates: what happened, what to do next, who to contact. Besides the
//! R2/R6 notices, the owner of an ID is told of every issued certificate, password change and
//! e-mail change, with the time and the client address it came from.

use std::net::IpAddr;

use common::jst;
use time::OffsetDateTime;

use super::outbox::Mail;

pub(crate) const SYSTEM: &str = "ろうきん賃金控除事務支援システム";

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

/// How a notice names where a change came from: the client address, or 「不明」 outside a request.
fn source(address: Option<IpAddr>) -> String {
    address.map_or_else(|| "不明".to_owned(), |ip| ip.to_canonical().to_string())
}

/// `taro@example.co.jp` → `t***@example.co.jp`: enough for the owner to recognise an address in a
/// mail to another one, without spelling it out.
fn masked(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

/// Who an owner asks when a change was not theirs.
const NOT_YOU: &str = "お心当たりのない場合は、第三者がお客さまのユーザーIDとパスワードを使用したおそれがあります。\n\
                       至急マスターユーザーまたは労金へご連絡ください。";

/// Who, when and from where: the facts an owner's notice of a change states.
#[derive(Debug, Clone, Copy)]
pub struct ChangeFacts<'a> {
    pub user_pk: i64,
    pub user_id: &'a str,
    pub at: OffsetDateTime,
    /// Where the change came from: the client address of the request, if any.
    pub address: Option<IpAddr>,
    pub url: &'a str,
}

impl<'a> ChangeFacts<'a> {
    /// The facts of a change to `u` at `now`, made from `address`.
    pub fn of(
        u: &'a crate::db::entities::user::Model,
        url: &'a str,
        now: OffsetDateTime,
        address: Option<IpAddr>,
    ) -> Self {
        Self { user_pk: u.id, user_id: &u.user_id, at: now, address, url }
    }
}

/// Change notice (beside R6): a certificate was issued for the owner's ID (to the address on record).
pub fn certificate_issued(f: &ChangeFacts<'_>, to: &str, serial: &str, not_after: OffsetDateTime) -> Mail {
    Mail {
        dedupe_key: format!("issued:{serial}"),
        to: to.to_owned(),
        subject: format!("【{SYSTEM}】電子証明書が発行されました"),
        body: format!(
            "ユーザーID {user} の電子証明書が発行されましたので、お知らせします。\n\n\
             ■ 発行の内容\n\
             発行日時: {at}（日本時間）\n\
             シリアル番号: {serial}\n\
             有効期限: {expiry}（日本時間）\n\
             接続元: {source}\n\n\
             ご自身で発行された場合は、このメールへの対応は不要です。\n\
             お心当たりのない場合は、第三者がお客さまのユーザーIDとパスワードで電子証明書を取得したおそれがあります。\n\
             至急労金へご連絡のうえ、この電子証明書（シリアル番号 {serial}）の失効をご依頼ください。\n{footer}",
            user = f.user_id,
            at = jst::format_datetime(f.at),
            expiry = jst::format_datetime(not_after),
            source = source(f.address),
            footer = footer(f.url),
        ),
    }
}

/// Change notice (beside R6): the owner's password was changed (to the address on record before the change).
pub fn password_changed(f: &ChangeFacts<'_>, to: &str) -> Mail {
    Mail {
        dedupe_key: format!("password:{}:{}", f.user_pk, f.at.unix_timestamp_nanos()),
        to: to.to_owned(),
        subject: format!("【{SYSTEM}】パスワードが変更されました"),
        body: format!(
            "ユーザーID {user} のパスワードが {at}（日本時間）に変更されました。\n\
             接続元: {source}\n\n\
             ご自身で変更された場合（初期登録を含みます）は、このメールへの対応は不要です。\n\
             {NOT_YOU}\n{footer}",
            user = f.user_id,
            at = jst::format_datetime(f.at),
            source = source(f.address),
            footer = footer(f.url),
        ),
    }
}

/// Change notice: the address on record changed, to the old address (with the new one masked)
/// and to the new one. `by` names who changed it when it was not the owner (their master user,
/// the bank, or the bank's shell).
pub fn email_changed(f: &ChangeFacts<'_>, old: &str, new: &str, by: Option<&str>) -> [Mail; 2] {
    let key = format!("email:{}:{}", f.user_pk, f.at.unix_timestamp_nanos());
    let (user, at, source, footer) = (f.user_id, jst::format_datetime(f.at), source(f.address), footer(f.url));
    let subject = format!("【{SYSTEM}】メールアドレスが変更されました");
    let (changed, closing) = match by {
        None => (
            "変更されました".to_owned(),
            format!("ご自身で変更された場合は、このメールへの対応は不要です。\n{NOT_YOU}"),
        ),
        Some(by) => (
            format!("{by}によって変更されました"),
            "お心当たりのない場合は、マスターユーザーまたは労金へご連絡ください。".to_owned(),
        ),
    };
    let to_old = Mail {
        dedupe_key: format!("{key}:old"),
        to: old.to_owned(),
        subject: subject.clone(),
        body: format!(
            "ユーザーID {user} の登録メールアドレスが {at}（日本時間）に{changed}。\n\
             変更後のメールアドレス: {new_masked}\n\
             接続元: {source}\n\n\
             今後のお知らせは変更後のメールアドレスへお送りします。このアドレスへのお知らせはこれが最後です。\n\
             {closing}\n{footer}",
            new_masked = masked(new),
        ),
    };
    let registered = match by {
        None => "登録されました".to_owned(),
        Some(by) => format!("{by}によって登録されました"),
    };
    let to_new = Mail {
        dedupe_key: format!("{key}:new"),
        to: new.to_owned(),
        subject,
        body: format!(
            "このメールアドレスが、ユーザーID {user} の連絡先として {at}（日本時間）に{registered}。\n\
             接続元: {source}\n\n\
             今後、ロック・閉塞や電子証明書の有効期限などのお知らせをこのアドレスへお送りします。\n\
             お心当たりのない場合は、お手数ですが労金へご連絡ください。\n{footer}"
        ),
    };
    [to_old, to_new]
}

/// Change notice: the owner's password was reset to a new one-time initial password by `by`
/// (their master user, the bank, or the bank's shell), to the address on record.
pub fn password_reset(f: &ChangeFacts<'_>, to: &str, by: &str) -> Mail {
    Mail {
        dedupe_key: format!("reset:{}:{}", f.user_pk, f.at.unix_timestamp_nanos()),
        to: to.to_owned(),
        subject: format!("【{SYSTEM}】パスワードが再設定されました"),
        body: format!(
            "ユーザーID {user} のパスワードが {at}（日本時間）に{by}によって再設定されました。\n\
             接続元: {source}\n\n\
             新しい初期パスワードは「ご利用開始(変更)のお知らせ」または再設定した方からお受け取りください。\n\
             初期パスワードでログインした後、新しいパスワードを設定していただきます。\n\
             ロック・閉塞の状態は解除され、これまでのログインはすべて終了しました。\n\n\
             お心当たりのない場合は、至急マスターユーザーまたは労金へご連絡ください。\n{footer}",
            user = f.user_id,
            at = jst::format_datetime(f.at),
            source = source(f.address),
            footer = footer(f.url),
        ),
    }
}

/// Notice to the owner: a certificate of theirs was revoked for keyCompromise, so their password
/// no longer works until it is reset; who resets it depends on `role` (a general user's master
/// user, else the bank).
pub fn password_revoked(f: &ChangeFacts<'_>, to: &str, role: common::api::Role) -> Mail {
    let ask = if role == common::api::Role::General { "マスターユーザー" } else { "労金" };
    Mail {
        dedupe_key: format!("password-revoked:{}:{}", f.user_pk, f.at.unix_timestamp_nanos()),
        to: to.to_owned(),
        subject: format!("【{SYSTEM}】電子証明書の失効とパスワードの無効化のお知らせ"),
        body: format!(
            "ユーザーID {user} の電子証明書が {at}（日本時間）に「鍵の危殆化・ファイル紛失」により失効されました。\n\n\
             電子証明書のファイル（.p12）を第三者が手にしたおそれがあるため、そのファイルを保護していた\n\
             パスワードも無効にしました。パスワードを再設定するまで、このユーザーIDではログインも\n\
             電子証明書の発行もできません。\n\n\
             {ask}へパスワードの再設定を依頼してください。新しい初期パスワードでユーザー認証を行い、\n\
             パスワードを変更したうえで、電子証明書を発行し直してください。\n\n\
             お心当たりのない場合は、至急労金へご連絡ください。\n{footer}",
            user = f.user_id,
            at = jst::format_datetime(f.at),
            footer = footer(f.url),
        ),
    }
}

/// Change notice: the owner's ID was retired (利用停止) by `by`, its `revoked` certificates with
/// it, to the address on record.
pub fn retired(f: &ChangeFacts<'_>, to: &str, by: &str, revoked: usize) -> Mail {
    Mail {
        dedupe_key: format!("retired:{}", f.user_pk),
        to: to.to_owned(),
        subject: format!("【{SYSTEM}】ユーザーIDの利用を停止しました"),
        body: format!(
            "ユーザーID {user} の利用が {at}（日本時間）に{by}によって停止されました。\n\
             失効した電子証明書: {revoked}件\n\n\
             このユーザーIDでは、今後ログインおよび電子証明書の発行はできません。\n\
             お心当たりのない場合は、マスターユーザーまたは労金へご連絡ください。\n{footer}",
            user = f.user_id,
            at = jst::format_datetime(f.at),
            footer = footer(f.url),
        ),
    }
}

/// Which side of a change of master user a notice goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MasterRole {
    /// The user made the master user (a new one-time initial password is on the letter).
    New,
    /// A former master user, now a general user.
    Former,
}

/// Change notice of a change of the company's master user (マスターユーザー変更), to the new master
/// user and to each former one that stays as a general user (one retired gets [`retired`]).
pub fn master_changed(f: &ChangeFacts<'_>, to: &str, side: MasterRole) -> Mail {
    let (key, text) = match side {
        MasterRole::New => (
            "new",
            "マスターユーザーに変更されました。\n\
             新しい初期パスワードは労金からお送りする「ご利用開始(変更)のお知らせ」に記載しています。\n\
             初期パスワードでログインした後、新しいパスワードを設定していただきます。\n\
             これまでのログインはすべて終了しました。",
        ),
        MasterRole::Former => (
            "former",
            "マスターユーザーから一般ユーザーに変更されました。\n\
             電子証明書とパスワードはそのままお使いいただけます。これまでのログインはすべて終了しました。",
        ),
    };
    Mail {
        dedupe_key: format!("master-{key}:{}:{}", f.user_pk, f.at.unix_timestamp_nanos()),
        to: to.to_owned(),
        subject: format!("【{SYSTEM}】マスターユーザーの変更のお知らせ"),
        body: format!(
            "ユーザーID {user} は {at}（日本時間）に労金によって{text}\n\n\
             お心当たりのない場合は、至急労金へご連絡ください。\n{footer}",
            user = f.user_id,
            at = jst::format_datetime(f.at),
            footer = footer(f.url),
        ),
    }
}

/// What changed about a company, for its master users' notice.
#[derive(Debug, Clone, Copy)]
pub enum CompanyChange {
    Updated { certificate_limit: i32 },
    Suspended,
    Resumed,
}

/// Notice to a master user: their company's name or limit changed, or it was suspended or resumed.
pub fn company_changed(org_id: i64, name: &str, to: &str, what: CompanyChange, at: OffsetDateTime, url: &str) -> Mail {
    let (key, subject, text) = match what {
        CompanyChange::Updated { certificate_limit } => (
            "updated",
            "ご登録内容の変更のお知らせ",
            format!(
                "貴社のご登録内容を変更しました。\n会社名: {name}\n電子証明書の上限: {certificate_limit}名\n\n\
                 これから発行する電子証明書には新しい会社名が記載されます（発行済みの電子証明書はそのまま使えます）。"
            ),
        ),
        CompanyChange::Suspended => (
            "suspended",
            "ご利用停止のお知らせ",
            format!(
                "{name} の本サービスのご利用を停止しました。\n\
                 停止中は、貴社のユーザーはログインおよび電子証明書の発行ができません（電子証明書は失効していません）。"
            ),
        ),
        CompanyChange::Resumed => (
            "resumed",
            "ご利用再開のお知らせ",
            format!("{name} の本サービスのご利用を再開しました。これまでどおりご利用いただけます。"),
        ),
    };
    Mail {
        dedupe_key: format!("org-{key}:{org_id}:{}:{to}", at.unix_timestamp_nanos()),
        to: to.to_owned(),
        subject: format!("【{SYSTEM}】{subject}"),
        body: format!(
            "{text}\n変更日時: {at}（日本時間）\n\nご不明な点は労金へお問い合わせください。\n{footer}",
            at = jst::format_datetime(at),
            footer = footer(url),
        ),
    }
}

/// How a notice names who made a change to someone's account.
pub fn changed_by(actor_role: Option<common::api::Role>) -> &'static str {
    match actor_role {
        Some(common::api::Role::Master) => "マスターユーザー",
        Some(_) => "労金",
        None => "労金（システム管理者）",
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

    fn change() -> ChangeFacts<'static> {
        ChangeFacts {
            user_pk: 7,
            user_id: "abc123",
            at: datetime!(2026-11-24 10:30:15 UTC),
            address: Some("203.0.113.9".parse().unwrap()),
            url: "https://cjs.example.jp",
        }
    }

    #[test]
    fn issued_notice_gives_serial_expiry_time_address_and_revocation_advice() {
        let m = certificate_issued(&change(), "a@example.jp", "0A1B", datetime!(2027-11-24 14:59:59 UTC));
        assert_eq!(m.dedupe_key, "issued:0A1B");
        assert_eq!(m.to, "a@example.jp");
        assert_eq!(m.subject, "【ろうきん賃金控除事務支援システム】電子証明書が発行されました");
        for part in [
            "シリアル番号: 0A1B",
            "2026年11月24日 19:30",
            "2027年11月24日 23:59",
            "接続元: 203.0.113.9",
            "失効",
            "労金",
        ] {
            assert!(m.body.contains(part), "{part}: {}", m.body);
        }
        assert!(m.body.contains("https://cjs.example.jp"), "{}", m.body);
    }

    #[test]
    fn unknown_source_is_said_so_and_mapped_addresses_read_as_ipv4() {
        let f = ChangeFacts { address: None, ..change() };
        assert!(password_changed(&f, "a@x.jp").body.contains("接続元: 不明"));
        let f = ChangeFacts { address: Some("::ffff:192.0.2.1".parse().unwrap()), ..change() };
        assert!(password_changed(&f, "a@x.jp").body.contains("接続元: 192.0.2.1\n"));
    }

    #[test]
    fn two_password_changes_are_two_notices() {
        let first = password_changed(&change(), "a@x.jp");
        let later =
            password_changed(&ChangeFacts { at: datetime!(2026-11-24 10:30:15.000000001 UTC), ..change() }, "a@x.jp");
        assert!(first.dedupe_key.starts_with("password:7:"));
        assert_ne!(first.dedupe_key, later.dedupe_key);
        assert!(first.body.contains("2026年11月24日 19:30") && first.body.contains("接続元: 203.0.113.9"));
        assert!(first.body.contains("お心当たりのない場合"), "{}", first.body);
    }

    #[test]
    fn email_change_tells_the_old_and_the_new_address() {
        let [old, new] = email_changed(&change(), "old@example.jp", "taro@example.co.jp", None);
        assert_eq!((old.to.as_str(), new.to.as_str()), ("old@example.jp", "taro@example.co.jp"));
        assert_ne!(old.dedupe_key, new.dedupe_key);
        assert!(old.body.contains("t***@example.co.jp") && !old.body.contains("taro@"), "{}", old.body);
        for m in [&old, &new] {
            assert!(m.subject.contains("メールアドレスが変更されました"));
            assert!(m.body.contains("2026年11月24日 19:30") && m.body.contains("接続元: 203.0.113.9"), "{}", m.body);
        }
    }

    #[test]
    fn an_address_changed_by_someone_else_says_who() {
        let [old, new] = email_changed(&change(), "old@example.jp", "taro@example.co.jp", Some("マスターユーザー"));
        assert!(old.body.contains("マスターユーザーによって変更されました"), "{}", old.body);
        assert!(!old.body.contains("ご自身で変更された場合"), "{}", old.body);
        assert!(new.body.contains("マスターユーザーによって登録されました"), "{}", new.body);
    }

    #[test]
    fn a_new_master_is_told_to_expect_the_letter_and_a_former_one_what_remains() {
        let new = master_changed(&change(), "a@x.jp", MasterRole::New);
        assert!(
            new.subject.contains("マスターユーザー") && new.body.contains("ご利用開始(変更)のお知らせ"),
            "{}",
            new.body
        );
        let former = master_changed(&change(), "b@x.jp", MasterRole::Former);
        assert!(former.body.contains("一般ユーザー"), "{}", former.body);
        assert_ne!(new.dedupe_key, former.dedupe_key);
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

/// 検印: a staff member proposed an operation; every other staff member is asked to approve it.
pub fn approval_requested(
    id: i64,
    summary: &str,
    proposer: &str,
    to_user: &str,
    to: &str,
    expires_at: OffsetDateTime,
    url: &str,
) -> Mail {
    Mail {
        dedupe_key: format!("approval:{id}:request:{to_user}"),
        to: to.to_owned(),
        subject: format!("【{SYSTEM}】承認依頼（申請番号 {id}）"),
        body: format!(
            "{proposer} さんから、次の操作の承認依頼があります。\n\n{summary}\n\n\
             管理画面の「承認待ち」から、内容を確かめて承認または却下してください。\n\
             承認の期限: {}（日本時間）。期限を過ぎた申請は承認できません。\n{}",
            jst::format_datetime(expires_at),
            footer(url)
        ),
    }
}

/// How a proposed operation ended, for the mail to its proposer.
#[derive(Debug, Clone, Copy)]
pub enum ApprovalEnd<'a> {
    Approved,
    Rejected { reason: &'a str },
    Failed { why: &'a str },
}

/// 検印: the proposer is told how their request ended.
pub fn approval_decided(id: i64, summary: &str, by: &str, to: &str, end: ApprovalEnd<'_>, url: &str) -> Mail {
    let (key, subject, what) = match end {
        ApprovalEnd::Approved => ("approved", "承認されました", format!("{by} さんが承認し、操作を実行しました。")),
        ApprovalEnd::Rejected { reason } => {
            ("rejected", "却下されました", format!("{by} さんが却下しました。操作は実行していません。\n理由: {reason}"))
        }
        ApprovalEnd::Failed { why } => (
            "failed",
            "実行できませんでした",
            format!("{by} さんが承認しましたが、操作は実行できませんでした。何も変更していません。\n理由: {why}"),
        ),
    };
    Mail {
        dedupe_key: format!("approval:{id}:{key}"),
        to: to.to_owned(),
        subject: format!("【{SYSTEM}】申請番号 {id} は{subject}"),
        body: format!("申請番号 {id} の操作:\n{summary}\n\n{what}\n{}", footer(url)),
    }
}
