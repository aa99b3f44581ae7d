//! How accounts, certificates, audit actions and outgoing mail are described on the screens: the
//! Japanese words for the states the API sends, in one place for the master and staff tables.

use common::{
    api::{AccountState, CertificateStatus, CertificateSummary, MailStatus, Role, UserSummary},
    jst,
};
use time::OffsetDateTime;

/// 利用停止 / 閉塞 / ロック中（HH:MM まで） / 初期パスワード未変更 / 正常, in that order of precedence.
pub fn account_state(state: &AccountState, now: OffsetDateTime) -> String {
    if state.retired_at.is_some() {
        "利用停止".to_owned()
    } else if state.blocked {
        "閉塞".to_owned()
    } else if let Some(until) = state.locked_until.filter(|until| *until > now) {
        format!("ロック中（{} まで）", jst::format_time(until))
    } else if state.must_change_password {
        "初期パスワード未変更".to_owned()
    } else {
        "正常".to_owned()
    }
}

/// The CSS class that colours an account state.
pub fn account_state_class(state: &AccountState, now: OffsetDateTime) -> &'static str {
    if state.retired_at.is_some() {
        "state state-none"
    } else if is_locked_or_blocked(state, now) {
        "state state-bad"
    } else if state.must_change_password {
        "state state-warn"
    } else {
        "state state-ok"
    }
}

/// Blocked, or locked with the lock not yet lifted: what 解除 is for (never for a retired user).
pub fn is_locked_or_blocked(state: &AccountState, now: OffsetDateTime) -> bool {
    state.retired_at.is_none() && (state.blocked || state.locked_until.is_some_and(|until| until > now))
}

/// Whether a master user may reset the password of, or retire, this user: an active general user
/// of their company (the list shows no other).
pub fn master_may_manage(user: &UserSummary) -> bool {
    user.role == Role::General && user.state.retired_at.is_none()
}

/// Whether a master user may lift this user's lock or block (general users of their company only).
pub fn master_may_unlock(user: &UserSummary, now: OffsetDateTime) -> bool {
    user.role == Role::General && is_locked_or_blocked(&user.state, now)
}

/// 有効（2027年11月24日まで） / 期限切れ / 失効 / 未発行.
pub fn certificate_state(certificate: Option<&CertificateSummary>) -> String {
    match certificate {
        None => "未発行".to_owned(),
        Some(c) if c.status == CertificateStatus::Active => format!("有効（{}まで）", jst::format_date(c.not_after)),
        Some(c) => c.status.label().to_owned(),
    }
}

/// The CSS class that colours a certificate state.
pub fn certificate_state_class(certificate: Option<&CertificateSummary>) -> &'static str {
    match certificate.map(|c| c.status) {
        Some(CertificateStatus::Active) => "state state-ok",
        Some(CertificateStatus::Expired | CertificateStatus::Revoked) => "state state-bad",
        None => "state state-none",
    }
}

/// The audit actions the server records, as (wire name, Japanese label).
pub const AUDIT_ACTIONS: [(&str, &str); 25] = [
    ("login", "ログイン"),
    ("auth_success", "認証成功"),
    ("auth_failure", "認証失敗（パスワード誤り）"),
    ("auth_refused_locked", "認証拒否（ロック中）"),
    ("auth_refused_blocked", "認証拒否（閉塞）"),
    ("locked", "ロック"),
    ("blocked", "閉塞"),
    ("unlocked", "ロック・閉塞の解除"),
    ("password_changed", "パスワード変更"),
    ("organization_created", "会社の登録"),
    ("user_created", "ユーザーの登録"),
    ("certificate_issued", "電子証明書の発行"),
    ("certificate_revoked", "電子証明書の失効"),
    ("ca_rollover", "認証局の切替"),
    ("exported", "CSVダウンロード"),
    ("password_reset", "パスワードの再設定"),
    ("retired", "利用停止"),
    ("organization_updated", "会社情報の変更"),
    ("organization_suspended", "会社の利用停止"),
    ("organization_resumed", "会社の利用再開"),
    ("email_changed", "メールアドレスの変更"),
    ("master_changed", "マスターユーザーの変更"),
    ("approval_requested", "承認の申請（検印）"),
    ("approval_rejected", "申請の却下"),
    ("approval_failed", "承認後に実行できず"),
];

/// The Japanese label of an audit action; an action this app does not know is shown as sent.
pub fn audit_action(action: &str) -> &str {
    AUDIT_ACTIONS.iter().find(|(name, _)| *name == action).map_or(action, |(_, label)| label)
}

/// 送信待ち / 送信済み / 送信失敗 for the outbox states.
pub fn mail_status(status: MailStatus) -> &'static str {
    match status {
        MailStatus::Pending => "送信待ち",
        MailStatus::Sent => "送信済み",
        MailStatus::Failed => "送信失敗",
    }
}

#[cfg(test)]
mod tests {
    use time::{Duration, macros::datetime};

    use super::*;

    fn state(locked_until: Option<OffsetDateTime>, blocked: bool, must_change_password: bool) -> AccountState {
        AccountState { locked_until, blocked, must_change_password, failures: 0, retired_at: None }
    }

    #[test]
    fn a_lock_shows_until_when_in_japan_time() {
        let now = datetime!(2026-11-24 10:00 UTC);
        let locked = state(Some(now + Duration::minutes(30)), false, false);
        assert_eq!(account_state(&locked, now), "ロック中（19:30 まで）");
        assert!(is_locked_or_blocked(&locked, now));
    }

    #[test]
    fn a_lifted_lock_is_no_longer_shown() {
        let now = datetime!(2026-11-24 10:00 UTC);
        let lifted = state(Some(now), false, false);
        assert_eq!(account_state(&lifted, now), "正常");
        assert!(!is_locked_or_blocked(&lifted, now));
    }

    #[test]
    fn block_wins_over_lock_and_initial_password() {
        let now = datetime!(2026-11-24 10:00 UTC);
        assert_eq!(account_state(&state(Some(now + Duration::hours(1)), true, true), now), "閉塞");
        assert_eq!(account_state(&state(None, false, true), now), "初期パスワード未変更");
    }

    #[test]
    fn retired_wins_over_everything_and_offers_no_unlock() {
        let now = datetime!(2026-11-24 10:00 UTC);
        let mut retired = state(Some(now + Duration::hours(1)), true, true);
        retired.retired_at = Some(now);
        assert_eq!(account_state(&retired, now), "利用停止");
        assert!(!is_locked_or_blocked(&retired, now));
    }

    #[test]
    fn unknown_actions_are_shown_as_sent_and_every_mail_state_has_its_words() {
        assert_eq!(audit_action("certificate_revoked"), "電子証明書の失効");
        assert_eq!(audit_action("something_new"), "something_new");
        assert_eq!(mail_status(MailStatus::Failed), "送信失敗");
        assert_eq!(MailStatus::ALL.map(mail_status), ["送信待ち", "送信済み", "送信失敗"]);
    }
}
