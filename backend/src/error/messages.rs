//! The words of every refusal, in Japanese: what the browser shows (the `{code, message}` body)
//! and what `cjs admin` prints ([`ApiError::for_operator`]). One catalogue, so that the screen
//! and the shell say the same thing.

use common::{ErrorBody, ErrorCode, jst};

use super::ApiError;

// The words of the refusals that take no detail, by error.
const CONTROL_CHARACTERS: &str = "改行や制御文字は使えません。入力し直してください。";
const INVALID_CREDENTIALS: &str =
    "ユーザーIDまたはパスワードが正しくありません。パスワードを連続して6回間違えると、60分間ロックされます。";
const BLOCKED: &str = "ロックを繰り返したため、このユーザーIDは閉塞されています。一般ユーザーの方はマスターユーザーへ、マスターユーザーの方は労金へお問い合わせください。";
const RETIRED: &str = "このユーザーIDは利用停止されているため、ご利用いただけません。一般ユーザーの方はマスターユーザーへ、マスターユーザーの方は労金へお問い合わせください。";
const SUSPENDED: &str = "ご利用の会社は現在、本サービスの利用を停止されています。詳しくは労金へお問い合わせください。";
const PASSWORD_REVOKED: &str = "電子証明書が「鍵の危殆化・ファイル紛失」により失効されたため、このユーザーIDのパスワードは無効になりました。一般ユーザーの方はマスターユーザーへ、マスターユーザーの方は労金へパスワードの再設定を依頼してください。";
const PASSWORD_CHANGE_REQUIRED: &str = "初期パスワードのままです。先に新しいパスワードを設定してください。";
const INVALID_TOKEN: &str = "認証の有効期限が切れたか、既に使用されたか、認証の後に電子証明書が失効しました。もう一度ユーザー認証からやり直してください。";
const FORBIDDEN: &str = "この操作を行う権限がありません。";
const UNAUTHENTICATED: &str = "ログインしていないか、ログインの有効期限が切れました。もう一度ログインしてください。";
const CERTIFICATE_MISMATCH: &str = "選択された電子証明書は、入力されたユーザーIDのものではありません。ブラウザをすべて閉じてから再度アクセスし、ご自身の電子証明書を選択してください。";
const NOT_FOUND: &str = "指定されたものが見つかりません。";
const REQUEST_TIMEOUT: &str =
    "通信に時間がかかりすぎたため、処理を中断しました。通信環境をご確認のうえ、もう一度お試しください。";
const UNAVAILABLE: &str = "現在サービスを利用できません。しばらくしてから再度お試しください。";
const SIGNER_UNAVAILABLE: &str = "認証局の署名装置（HSM）に接続できないため、ただいま電子証明書の発行・更新・再発行などの署名を伴う処理を受け付けられません。しばらくしてから再度お試しください。ログインなどはそのままご利用いただけます。";
const BUSY: &str = "ただいま混み合っています。しばらくしてから再度お試しください。";
const INTERNAL: &str =
    "システムエラーが発生しました。しばらくしてから再度お試しください。解決しない場合は労金へお問い合わせください。";

impl ApiError {
    /// The JSON body the client sees.
    pub fn body(&self) -> ErrorBody {
        use ErrorCode as C;
        match self {
            ApiError::Format(e) => {
                let mut b = ErrorBody::new(C::InvalidInput, e.to_string());
                b.field = Some(e.field().name().to_owned());
                b
            }
            ApiError::InvalidInput { field, message } => {
                let mut b = ErrorBody::new(C::InvalidInput, message.clone());
                b.field = field.map(str::to_owned);
                b
            }
            ApiError::ControlCharacters { field } => {
                let mut b = ErrorBody::new(C::InvalidInput, CONTROL_CHARACTERS);
                b.field = Some((*field).to_owned());
                b
            }
            ApiError::InvalidCredentials => ErrorBody::new(C::InvalidCredentials, INVALID_CREDENTIALS),
            ApiError::Locked { until } => {
                let mut b = ErrorBody::new(
                    C::Locked,
                    format!(
                        "パスワードを連続して間違えたため、このユーザーIDはロックされています。{}（日本時間）以降に再度お試しください。",
                        jst::format_datetime(*until)
                    ),
                );
                b.locked_until = Some(*until);
                b
            }
            // One text for every role: a role-specific text would tell a blocked privileged ID
            // from an unknown one (which blocks like a general user). The block mail names the
            // right contact.
            ApiError::Blocked => ErrorBody::new(C::Blocked, BLOCKED),
            ApiError::Retired => ErrorBody::new(C::Retired, RETIRED),
            ApiError::Suspended => ErrorBody::new(C::Suspended, SUSPENDED),
            ApiError::PasswordRevoked => ErrorBody::new(C::PasswordRevoked, PASSWORD_REVOKED),
            ApiError::PasswordChangeRequired => ErrorBody::new(C::PasswordChangeRequired, PASSWORD_CHANGE_REQUIRED),
            ApiError::CertificateActive { renewable_from } => {
                let mut b = ErrorBody::new(
                    C::CertificateActive,
                    format!(
                        "既に電子証明書が発行されています。電子証明書の更新は有効期限が切れる30日前（{}）から可能です。",
                        jst::format_datetime(*renewable_from)
                    ),
                );
                b.renewable_from = Some(*renewable_from);
                b
            }
            ApiError::InvalidToken => ErrorBody::new(C::InvalidToken, INVALID_TOKEN),
            ApiError::Forbidden => ErrorBody::new(C::Forbidden, FORBIDDEN),
            ApiError::Refused(message) => ErrorBody::new(C::Forbidden, message.clone()),
            ApiError::Unauthenticated => ErrorBody::new(C::Unauthenticated, UNAUTHENTICATED),
            ApiError::Certificate(class) => certificate_error(*class),
            ApiError::CertificateMismatch => ErrorBody::new(C::CertificateMismatch, CERTIFICATE_MISMATCH),
            ApiError::Conflict(message) => ErrorBody::new(C::Conflict, message.clone()),
            ApiError::NotFound => ErrorBody::new(C::NotFound, NOT_FOUND),
            ApiError::RequestTimeout => ErrorBody::new(C::RequestTimeout, REQUEST_TIMEOUT),
            ApiError::Unavailable(_) => ErrorBody::new(C::ServiceUnavailable, UNAVAILABLE),
            ApiError::SignerUnavailable(_) => ErrorBody::new(C::ServiceUnavailable, SIGNER_UNAVAILABLE),
            ApiError::Busy => ErrorBody::new(C::ServiceUnavailable, BUSY),
            ApiError::TooManyRequests { retry_after_secs } => ErrorBody::new(
                C::TooManyRequests,
                format!(
                    "短時間に多くの認証が行われたため、この接続元からの認証を一時的に制限しています。{}秒ほど待ってから再度お試しください。",
                    retry_after_secs
                ),
            ),
            ApiError::Internal(_) => ErrorBody::new(C::Internal, INTERNAL),
        }
    }
}

/// The refusal for a presented certificate of `class` (anything but valid).
fn certificate_error(class: common::api::CertificateClass) -> ErrorBody {
    use common::api::CertificateClass as K;
    let (code, message) = match class {
        K::None => (
            ErrorCode::CertificateRequired,
            "電子証明書が提示されていません。電子証明書を発行・インポートしてから、ブラウザをすべて閉じて再度アクセスしてください。",
        ),
        K::Expired => {
            (ErrorCode::CertificateExpired, "電子証明書の有効期限が切れています。電子証明書を再発行してください。")
        }
        K::NotYetValid => (
            ErrorCode::CertificateNotYetValid,
            "電子証明書の有効期間がまだ始まっていません。パソコンの日付と時刻をご確認ください。",
        ),
        K::Revoked => (
            ErrorCode::CertificateRevoked,
            "この電子証明書は失効しています。電子証明書を再発行し、ブラウザをすべて閉じてから新しい電子証明書を選択してください。",
        ),
        K::UnknownIssuer | K::Valid => (
            ErrorCode::CertificateUnknownIssuer,
            "本システムが発行した電子証明書ではありません。ブラウザをすべて閉じてから再度アクセスし、本システムの電子証明書を選択してください。",
        ),
    };
    ErrorBody::new(code, message)
}

impl ApiError {
    /// What `cjs admin` prints for a refusal: the API's message, and the cause of an unexpected
    /// failure (the operator at the shell may see it; a browser does not).
    pub fn for_operator(self) -> anyhow::Error {
        let message = self.body().message;
        match self {
            ApiError::Internal(e) | ApiError::Unavailable(e) | ApiError::SignerUnavailable(e) => e.context(message),
            _ => anyhow::anyhow!(message),
        }
    }
}
