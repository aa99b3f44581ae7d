//! The one way to fail over HTTP, and the one place failures get their words: the services'
//! own errors ([`AuthError`], [`LoginError`], [`AccountError`], [`CertificateError`]) carry no
//! status and no text; they become an [`ApiError`] here, which maps to a status and the shared
//! `{code, message}` body (the CLI prints the same message). Every database error goes through
//! one classifier, `From<DbErr>` (503 / 409 / 400 / 500). Unexpected errors become a generic
//! 500 whose cause chain is logged.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use common::{ErrorBody, ErrorCode, FormatError, api::Role, jst};
use time::OffsetDateTime;

use crate::{
    auth::{AccountError, AuthError, LoginError, error::NameProblem},
    certificates::CertificateError,
};

/// Errors a handler can answer with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Format(#[from] FormatError),
    #[error("{message}")]
    InvalidInput { field: Option<&'static str>, message: String },
    /// A line break or another control character in free text (a search term, a name).
    #[error("control character in {field}")]
    ControlCharacters { field: &'static str },
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("locked until {until}")]
    Locked { until: OffsetDateTime },
    #[error("blocked")]
    Blocked { master_or_staff: bool },
    #[error("password change required")]
    PasswordChangeRequired,
    #[error("certificate active")]
    CertificateActive { renewable_from: OffsetDateTime },
    #[error("invalid token")]
    InvalidToken,
    #[error("forbidden")]
    Forbidden,
    #[error("not logged in")]
    Unauthenticated,
    #[error("certificate: {0:?}")]
    Certificate(common::api::CertificateClass),
    #[error("certificate of another user")]
    CertificateMismatch,
    #[error("{0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    #[error("request body not received in time")]
    RequestTimeout,
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// The CA's key cannot sign (its PKCS#11 token removed or not answering): 503 on the calls
    /// that sign, while the rest works.
    #[error("CA signer unavailable")]
    SignerUnavailable(#[source] anyhow::Error),
    /// Password work is queued to its limit (a flood): 503 with `Retry-After`, at once.
    #[error("busy")]
    Busy,
    /// Too many password attempts from this client address: 429 with `Retry-After`.
    #[error("too many requests; retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("internal error")]
    Internal(anyhow::Error),
}

/// An unexpected error from below: 500 — unless a database error in its chain says the database
/// is unreachable or going away, which is 503 whichever path it came up (the CRL, revocation and
/// the certificate insert go through `anyhow`), so one classifier decides for every path.
/// So is a CA signature that failed in the token (rcgen's `RemoteKeyError`, [`crate::pki::token`]).
impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        let unavailable = e.chain().any(|c| c.downcast_ref::<sea_orm::DbErr>().is_some_and(database_unavailable));
        let signer = e.chain().any(|c| matches!(c.downcast_ref::<rcgen::Error>(), Some(rcgen::Error::RemoteKeyError)));
        if signer {
            ApiError::SignerUnavailable(e)
        } else if unavailable {
            ApiError::Unavailable(e)
        } else {
            ApiError::Internal(e)
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidCredentials => ApiError::InvalidCredentials,
            AuthError::Locked { until } => ApiError::Locked { until },
            AuthError::Blocked { role } => ApiError::Blocked { master_or_staff: role != Role::General },
            AuthError::PasswordChangeRequired { .. } => ApiError::PasswordChangeRequired,
            AuthError::Busy => ApiError::Busy,
            AuthError::Database(e) => e.into(),
            AuthError::Internal(e) => e.into(),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::Format(e) => e.into(),
            LoginError::Certificate(class) => ApiError::Certificate(class),
            LoginError::CertificateMismatch => ApiError::CertificateMismatch,
            LoginError::Auth(e) => e.into(),
            LoginError::Database(e) => e.into(),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        let invalid = |field: &'static str, message: &str| ApiError::InvalidInput {
            field: Some(field),
            message: message.to_owned(),
        };
        match e {
            AccountError::Format(e) => e.into(),
            AccountError::InvalidEmail => {
                invalid("email", "メールアドレスの形式が正しくありません（例: taro@example.co.jp）。")
            }
            AccountError::InvalidCompanyName(NameProblem::Length) => {
                invalid("name", "会社名は1〜100文字で入力してください")
            }
            AccountError::InvalidCompanyName(NameProblem::ControlCharacter) => {
                invalid("name", "会社名に改行や制御文字は使えません")
            }
            AccountError::UserIdTaken(id) => invalid("user_id", &format!("ユーザーID {id} は既に使われています")),
            AccountError::CompanyNameTaken(name) => invalid("name", &format!("会社名 {name} は既に登録されています")),
            AccountError::SamePassword => {
                invalid("new_password", "新しいパスワードには現在のパスワードと異なるものを設定してください。")
            }
            AccountError::NotFound => ApiError::NotFound,
            AccountError::Forbidden => ApiError::Forbidden,
            AccountError::Auth(e) => e.into(),
            AccountError::Database(e) => e.into(),
            AccountError::Internal(e) => e.into(),
        }
    }
}

impl From<CertificateError> for ApiError {
    fn from(e: CertificateError) -> Self {
        match e {
            CertificateError::Format(e) => e.into(),
            CertificateError::InvalidToken => ApiError::InvalidToken,
            CertificateError::Auth(e) => e.into(),
            CertificateError::Active { renewable_from } => ApiError::CertificateActive { renewable_from },
            CertificateError::CompanyLimitReached { limit } => ApiError::Conflict(format!(
                "電子証明書を保有できる利用者数の上限（{limit}名）に達しています。不要な電子証明書の失効を労金へご依頼ください。"
            )),
            CertificateError::NotFound => ApiError::NotFound,
            CertificateError::AlreadyRevoked => ApiError::Conflict("この電子証明書は既に失効しています。".to_owned()),
            CertificateError::Forbidden => ApiError::Forbidden,
            CertificateError::Database(e) => e.into(),
            CertificateError::Internal(e) => e.into(),
        }
    }
}

impl From<crate::directory::search::SearchError> for ApiError {
    fn from(e: crate::directory::search::SearchError) -> Self {
        ApiError::InvalidInput { field: Some(e.field), message: e.message }
    }
}

impl From<crate::directory::ListError> for ApiError {
    fn from(e: crate::directory::ListError) -> Self {
        match e {
            crate::directory::ListError::Search(e) => e.into(),
            crate::directory::ListError::Database(e) => e.into(),
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        if database_unavailable(&e) {
            ApiError::Unavailable(anyhow::Error::new(e))
        } else if data_exception(&e) {
            // A text the database refuses (NUL, an invalid encoding, too long) that the checks
            // before it let through: the request's fault. Logged, as it points at a missing check.
            tracing::warn!(error = %e, "database refused a value of the request");
            ApiError::InvalidInput {
                field: None,
                message: "使用できない文字または値が含まれています。入力し直してください。".to_owned(),
            }
        } else if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) {
            // Two requests registering the same thing at once: the loser learns it exists.
            ApiError::Conflict("同じものが同時に登録されました。一覧を確認してください。".to_owned())
        } else {
            ApiError::Internal(anyhow::Error::new(e).context("Database operation failed"))
        }
    }
}

/// Whether PostgreSQL refused a text value of the request: a character it cannot store (22021:
/// NUL or an invalid byte sequence; 22P05: untranslatable) or a string too long (22001). Other
/// data exceptions (overflow, division by zero) would be the server's own bugs and stay 500.
fn data_exception(e: &sea_orm::DbErr) -> bool {
    matches!(sqlx_error(e), Some(sqlx::Error::Database(db))
        if db.code().is_some_and(|c| matches!(c.as_ref(), "22021" | "22P05" | "22001")))
}

/// The driver's error inside a failed statement, if that is what `e` is.
fn sqlx_error(e: &sea_orm::DbErr) -> Option<&sqlx::Error> {
    use sea_orm::{DbErr, RuntimeErr};
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner)) => Some(inner),
        _ => None,
    }
}

/// Whether `e` means "the database cannot be reached or is going away right now" (try again
/// later: 503) rather than a fault of this request (500): no connection, a connection that broke,
/// PostgreSQL shutting down or restarting (SQLSTATE classes 08 and 57), SQLite busy or locked.
fn database_unavailable(e: &sea_orm::DbErr) -> bool {
    use sea_orm::DbErr;
    if matches!(e, DbErr::Conn(_) | DbErr::ConnectionAcquire(_)) {
        return true;
    }
    match sqlx_error(e) {
        Some(
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_),
        ) => true,
        Some(sqlx::Error::Database(db)) => db.code().is_some_and(|code| {
            code.starts_with("08") || code.starts_with("57") || matches!(code.as_ref(), "5" | "6" | "517")
        }),
        _ => false,
    }
}

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
                let mut b = ErrorBody::new(C::InvalidInput, "改行や制御文字は使えません。入力し直してください。");
                b.field = Some((*field).to_owned());
                b
            }
            ApiError::InvalidCredentials => ErrorBody::new(
                C::InvalidCredentials,
                "ユーザーIDまたはパスワードが正しくありません。パスワードを連続して6回間違えると、60分間ロックされます。",
            ),
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
            ApiError::Blocked { .. } => ErrorBody::new(
                C::Blocked,
                "ロックを繰り返したため、このユーザーIDは閉塞されています。一般ユーザーの方はマスターユーザーへ、マスターユーザーの方は労金へお問い合わせください。",
            ),
            ApiError::PasswordChangeRequired => ErrorBody::new(
                C::PasswordChangeRequired,
                "初期パスワードのままです。先に新しいパスワードを設定してください。",
            ),
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
            ApiError::InvalidToken => ErrorBody::new(
                C::InvalidToken,
                "認証の有効期限が切れたか、既に使用されています。もう一度ユーザー認証からやり直してください。",
            ),
            ApiError::Forbidden => ErrorBody::new(C::Forbidden, "この操作を行う権限がありません。"),
            ApiError::Unauthenticated => ErrorBody::new(
                C::Unauthenticated,
                "ログインしていないか、ログインの有効期限が切れました。もう一度ログインしてください。",
            ),
            ApiError::Certificate(class) => certificate_error(*class),
            ApiError::CertificateMismatch => ErrorBody::new(
                C::CertificateMismatch,
                "選択された電子証明書は、入力されたユーザーIDのものではありません。ブラウザをすべて閉じてから再度アクセスし、ご自身の電子証明書を選択してください。",
            ),
            ApiError::Conflict(message) => ErrorBody::new(C::Conflict, message.clone()),
            ApiError::NotFound => ErrorBody::new(C::NotFound, "指定されたものが見つかりません。"),
            ApiError::RequestTimeout => ErrorBody::new(
                C::RequestTimeout,
                "通信に時間がかかりすぎたため、処理を中断しました。通信環境をご確認のうえ、もう一度お試しください。",
            ),
            ApiError::Unavailable(_) => ErrorBody::new(
                C::ServiceUnavailable,
                "現在サービスを利用できません。しばらくしてから再度お試しください。",
            ),
            ApiError::SignerUnavailable(_) => ErrorBody::new(
                C::ServiceUnavailable,
                "認証局の署名装置（HSM）に接続できないため、ただいま電子証明書の発行・更新・再発行などの署名を伴う処理を受け付けられません。しばらくしてから再度お試しください。ログインなどはそのままご利用いただけます。",
            ),
            ApiError::Busy => {
                ErrorBody::new(C::ServiceUnavailable, "ただいま混み合っています。しばらくしてから再度お試しください。")
            }
            ApiError::TooManyRequests { retry_after_secs } => ErrorBody::new(
                C::TooManyRequests,
                format!(
                    "短時間に多くの認証が行われたため、この接続元からの認証を一時的に制限しています。{}秒ほど待ってから再度お試しください。",
                    retry_after_secs
                ),
            ),
            ApiError::Internal(_) => ErrorBody::new(
                C::Internal,
                "システムエラーが発生しました。しばらくしてから再度お試しください。解決しない場合は労金へお問い合わせください。",
            ),
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

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Format(_) | ApiError::InvalidInput { .. } | ApiError::ControlCharacters { .. } => {
                StatusCode::BAD_REQUEST
            }
            ApiError::InvalidCredentials | ApiError::InvalidToken => StatusCode::UNAUTHORIZED,
            ApiError::Locked { .. } => StatusCode::LOCKED,
            ApiError::Blocked { .. } | ApiError::Forbidden | ApiError::CertificateMismatch => StatusCode::FORBIDDEN,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Certificate(common::api::CertificateClass::None) => StatusCode::UNAUTHORIZED,
            ApiError::Certificate(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PasswordChangeRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::CertificateActive { .. } => StatusCode::CONFLICT,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Unavailable(_) | ApiError::SignerUnavailable(_) | ApiError::Busy => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(e) => tracing::error!(error = ?e, "request failed"),
            ApiError::Unavailable(e) => tracing::warn!(error = %format!("{e:#}"), "service unavailable"),
            ApiError::SignerUnavailable(e) => tracing::error!(error = %format!("{e:#}"), "the CA cannot sign"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header(("Cache-Control", "no-store"));
        match self {
            ApiError::TooManyRequests { retry_after_secs } => {
                response.insert_header(("Retry-After", retry_after_secs.to_string()));
            }
            ApiError::Busy => {
                response.insert_header(("Retry-After", "1"));
            }
            ApiError::SignerUnavailable(_) => {
                response.insert_header(("Retry-After", "30"));
            }
            _ => {}
        }
        response.json(self.body())
    }
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

/// Answers a malformed query string with `invalid_input` as JSON.
pub fn query_error_handler(
    err: actix_web::error::QueryPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    let response = HttpResponse::BadRequest()
        .insert_header(("Cache-Control", "no-store"))
        .json(ErrorBody::new(ErrorCode::InvalidInput, "検索条件の形式が正しくありません。"));
    actix_web::error::InternalError::from_response(err, response).into()
}

/// Answers a malformed JSON body with `invalid_input` instead of actix's plain-text error.
pub fn json_error_handler(err: actix_web::error::JsonPayloadError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as J;
    let message = match &err {
        J::OverflowKnownLength { .. } | J::Overflow { .. } => "送信されたデータが大きすぎます。".to_owned(),
        J::ContentType => "Content-Type は application/json にしてください。".to_owned(),
        _ => "送信されたデータの形式が正しくありません。".to_owned(),
    };
    let status = match &err {
        J::OverflowKnownLength { .. } | J::Overflow { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    let code =
        if status == StatusCode::PAYLOAD_TOO_LARGE { ErrorCode::PayloadTooLarge } else { ErrorCode::InvalidInput };
    let response =
        HttpResponse::build(status).insert_header(("Cache-Control", "no-store")).json(ErrorBody::new(code, message));
    actix_web::error::InternalError::from_response(err, response).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn locked_message_gives_the_time_in_jst() {
        let e = ApiError::Locked { until: datetime!(2026-11-24 10:30 UTC) };
        let b = e.body();
        assert_eq!(b.code, ErrorCode::Locked);
        assert!(b.message.contains("2026年11月24日 19:30"), "{}", b.message);
        assert_eq!(e.status_code(), StatusCode::LOCKED);
    }

    #[test]
    fn blocked_message_is_the_same_for_every_role_and_names_both_contacts() {
        let general = ApiError::Blocked { master_or_staff: false }.body().message;
        assert_eq!(general, ApiError::Blocked { master_or_staff: true }.body().message);
        assert!(general.contains("マスターユーザーへ") && general.contains("労金へ"), "{general}");
    }

    /// A database that cannot be reached is 503 whichever service met it: the one classifier
    /// sees the database error of every path (issuance, revocation and the CRL, accounts, login,
    /// the authentication itself), typed or inside an `anyhow` chain.
    #[test]
    fn an_unreachable_database_is_503_on_every_path() {
        let down = || sea_orm::DbErr::Conn(sea_orm::RuntimeErr::Internal("connection refused".into()));
        let answers = [
            ApiError::from(CertificateError::Database(down())),
            ApiError::from(AccountError::Database(down())),
            ApiError::from(LoginError::Database(down())),
            ApiError::from(AuthError::Database(down())),
            ApiError::from(LoginError::Auth(AuthError::Database(down()))),
            ApiError::from(CertificateError::Internal(anyhow::Error::new(down()).context("signing the CRL"))),
        ];
        for e in answers {
            assert_eq!(e.status_code(), StatusCode::SERVICE_UNAVAILABLE, "{e:?}");
            assert_eq!(e.body().code, ErrorCode::ServiceUnavailable);
        }
    }

    #[test]
    fn service_refusals_get_their_words_here() {
        let limit = ApiError::from(CertificateError::CompanyLimitReached { limit: 20 });
        assert_eq!(limit.status_code(), StatusCode::CONFLICT);
        assert!(limit.body().message.contains("上限（20名）"), "{}", limit.body().message);
        let taken = ApiError::from(AccountError::UserIdTaken("abc123".into())).body();
        assert_eq!((taken.code, taken.field.as_deref()), (ErrorCode::InvalidInput, Some("user_id")));
        assert!(taken.message.contains("abc123"));
        let revoked = ApiError::from(CertificateError::AlreadyRevoked);
        assert_eq!(revoked.status_code(), StatusCode::CONFLICT);
        let blocked = ApiError::from(AuthError::Blocked { role: Role::Master });
        assert_eq!(blocked.status_code(), StatusCode::FORBIDDEN);
    }
}
