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
    /// `/login` ログイン (client certificate + password).
    Login,
    /// The screens behind a login session (home, user management, staff screens).
    Session,
}

/// The manual's advice for a blocked master user.
pub const BLOCKED_MASTER: &str = "マスターユーザーが閉塞の状態になった場合は、労金へお問い合わせください。";
/// The manual's advice for a blocked general user.
pub const BLOCKED_GENERAL: &str = "一般ユーザーが閉塞の状態になった場合は、マスターユーザーにお問い合わせください（マスターユーザーは一般ユーザーのロック・閉塞状態を解除できます）。";

/// The manual's way out when the browser presented no, or the wrong, certificate: the choice is
/// remembered until every browser window is closed.
pub const CHOOSE_CERTIFICATE_AGAIN: &str = "ブラウザの画面を全て閉じてから、もう一度本システムにアクセスし、証明書の選択画面でご自身の電子証明書を選択してください。";
/// The manual's way out after a PC change (the certificate stays on the old PC).
pub const PC_CHANGE: &str = "パソコンを変更した場合は、お取引店（労金）に旧パソコンの電子証明書の失効を依頼してから、電子証明書を再発行してください。";

/// Whether `code` is a problem with the client certificate, whose way out is (re-)issuance.
pub fn is_certificate_problem(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::CertificateRequired
            | ErrorCode::CertificateMismatch
            | ErrorCode::CertificateRevoked
            | ErrorCode::CertificateExpired
            | ErrorCode::CertificateNotYetValid
            | ErrorCode::CertificateUnknownIssuer
    )
}

/// Whether `code` means the session is missing or may not see the screen: the way out is `/login`.
pub fn needs_login(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::Unauthenticated | ErrorCode::Forbidden)
}

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
            if audience != Audience::MasterRegistration {
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
        ErrorCode::PasswordChangeRequired if audience == Audience::Login => lines.push(
            "初期パスワードのままではログインできません。「マスターユーザーの初期登録」（マスターユーザー）または「一般ユーザーの初期登録」（一般ユーザー）で新しいパスワードを設定してください。"
                .to_owned(),
        ),
        ErrorCode::PasswordChangeRequired => lines
            .push("初期パスワードのままでは利用できません。下の欄で新しいパスワードを設定してください。".to_owned()),
        ErrorCode::Unauthenticated if audience == Audience::Session => {
            lines.push("ログインしていないか、ログインの有効期限が切れました。もう一度ログインしてください。".to_owned())
        }
        ErrorCode::Forbidden if audience == Audience::Session => {
            lines.push("この画面を利用する権限がありません。権限のあるユーザーでログインしてください。".to_owned())
        }
        ErrorCode::InvalidToken | ErrorCode::Unauthenticated => lines.push(
            "認証の有効期限が切れたか、既に使用済みです。もう一度ユーザー認証からやり直してください。".to_owned(),
        ),
        ErrorCode::CertificateRequired => {
            lines.push("本システムへのログインには、ご自身の電子証明書が必要です。".to_owned());
            lines.push(CHOOSE_CERTIFICATE_AGAIN.to_owned());
            lines.push(
                "電子証明書をお持ちでない場合や、有効期限が切れた場合は、電子証明書を発行（再発行）してください。".to_owned(),
            );
            lines.push(PC_CHANGE.to_owned());
        }
        ErrorCode::CertificateMismatch => {
            lines.push("選択された電子証明書は、入力されたユーザーIDのものではありません。".to_owned());
            lines.push(CHOOSE_CERTIFICATE_AGAIN.to_owned());
            lines.push(PC_CHANGE.to_owned());
        }
        ErrorCode::CertificateRevoked => {
            lines.push("失効した電子証明書ではログインできません。".to_owned());
            lines.push(CHOOSE_CERTIFICATE_AGAIN.to_owned());
            lines.push(
                "新しい電子証明書をお持ちでない場合は、電子証明書を再発行してください。".to_owned(),
            );
            lines.push(PC_CHANGE.to_owned());
        }
        ErrorCode::CertificateExpired => lines.push(
            "電子証明書の有効期限が切れています。電子証明書を再発行してから、ブラウザの画面を全て閉じ、新しい電子証明書を選択してログインしてください。"
                .to_owned(),
        ),
        ErrorCode::CertificateNotYetValid => lines.push(
            "電子証明書の有効期間がまだ始まっていません。パソコンの日付と時刻が正しいかご確認ください。".to_owned(),
        ),
        ErrorCode::CertificateUnknownIssuer => {
            lines.push("選択された電子証明書は、本システムが発行したものではありません。".to_owned());
            lines.push(CHOOSE_CERTIFICATE_AGAIN.to_owned());
        }
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
            "name" => "会社名",
            "master_user_id" => "マスターユーザーID",
            "reason" => "失効理由",
            other => other,
        })
}
