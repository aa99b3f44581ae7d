//! Turns an [`ErrorBody`] into the lines a screen shows: the server's own message first, then
//! what the user can do about it (the manual's explanations: lock, block, renewal window, …).

use common::{ErrorBody, ErrorCode, Field, jst};

/// Who is reading, where that changes the advice (a blocked master must call the bank).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// ④ ユーザー認証: general or master user.
    Issuance,
    /// マスターユーザー初期登録ログイン.
    MasterRegistration,
}

/// The manual's advice for a blocked master user.
pub const BLOCKED_MASTER: &str = "マスターユーザーが閉塞の状態になった場合は、労金へお問い合わせください。";
/// The manual's advice for a blocked general user.
pub const BLOCKED_GENERAL: &str = "一般ユーザーが閉塞の状態になった場合は、マスターユーザーにお問い合わせください（マスターユーザーは一般ユーザーのロック・閉塞状態を解除できます）。";

/// The lines to show for `error`.
pub fn explain(error: &ErrorBody, audience: Audience) -> Vec<String> {
    let mut lines = Vec::new();
    if !error.message.trim().is_empty() {
        lines.push(error.message.clone());
    }
    match error.code {
        ErrorCode::InvalidInput => {
            if let Some(label) = error.field.as_deref().map(field_label)
                && !error.message.contains(label)
            {
                lines.push(format!("「{label}」の入力内容を確認してください。"));
            }
        }
        ErrorCode::InvalidCredentials => lines.push(
            "ユーザーIDとパスワードを確認してください。パスワードを連続して6回間違えた場合は、60分間ロックされます。"
                .to_owned(),
        ),
        ErrorCode::Locked => match error.locked_until {
            Some(until) => lines.push(format!(
                "{} までロックされています。ロックは時間の経過で自動的に解除されます。",
                jst::format_datetime(until)
            )),
            None => lines.push("ロックは時間の経過で自動的に解除されます。しばらくしてからお試しください。".to_owned()),
        },
        ErrorCode::Blocked => {
            if audience == Audience::Issuance {
                lines.push(BLOCKED_GENERAL.to_owned());
            }
            lines.push(BLOCKED_MASTER.to_owned());
        }
        ErrorCode::CertificateActive => match error.renewable_from {
            Some(from) => lines.push(format!(
                "既に有効な電子証明書が発行されています。有効期限が切れる30日前（{}）から更新できます。",
                jst::format_date(from)
            )),
            None => lines
                .push("既に有効な電子証明書が発行されています。有効期限が切れる30日前から更新できます。".to_owned()),
        },
        ErrorCode::PasswordChangeRequired => lines
            .push("初期パスワードのままでは利用できません。下の欄で新しいパスワードを設定してください。".to_owned()),
        ErrorCode::InvalidToken | ErrorCode::Unauthenticated => lines.push(
            "認証の有効期限が切れたか、既に使用済みです。もう一度ユーザー認証からやり直してください。".to_owned(),
        ),
        _ => {}
    }
    if lines.is_empty() {
        lines.push("エラーが発生しました。時間をおいてもう一度お試しください。".to_owned());
    }
    lines
}

/// The screen label of a wire field name (`user_id` → ユーザーID).
fn field_label(name: &str) -> &str {
    [Field::UserId, Field::Password, Field::CurrentPassword, Field::NewPassword]
        .into_iter()
        .find(|f| f.name() == name)
        .map(Field::label)
        .unwrap_or(match name {
            "email" => "メールアドレス",
            "token" => "認証情報",
            other => other,
        })
}
