//! The one way a request fails: the services' own errors ([`AuthError`], [`LoginError`],
//! [`AccountError`], [`CertificateError`]) carry no status and no text; they become an
//! [`ApiError`] here. Its words are the catalogue's ([`messages`], which the CLI prints too) and
//! its HTTP answer is [`http`]'s. Every database error goes through one classifier,
//! `crate::db::fault`, whatever path it came up (503 / 409 / 400 / 500). Unexpected errors become
//! a generic 500 whose cause chain is logged.

mod http;
mod messages;

use common::FormatError;
use time::OffsetDateTime;

pub use self::http::{json_error_handler, query_error_handler};
use crate::{
    auth::{AccountError, AuthError, LoginError, error::NameProblem},
    certificates::CertificateError,
    db::fault,
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
    /// Blocked after repeated locks (R2). One variant for every role: the words must not tell a
    /// blocked privileged ID from an unknown one.
    #[error("blocked")]
    Blocked,
    /// The user is retired (利用停止).
    #[error("retired")]
    Retired,
    /// The user's company is suspended.
    #[error("company suspended")]
    Suspended,
    #[error("password revoked (key compromise)")]
    PasswordRevoked,
    #[error("password change required")]
    PasswordChangeRequired,
    #[error("certificate active")]
    CertificateActive { renewable_from: OffsetDateTime },
    #[error("invalid token")]
    InvalidToken,
    #[error("forbidden")]
    Forbidden,
    /// Forbidden for a reason the message says (approving one's own request).
    #[error("{0}")]
    Refused(String),
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
/// So is a CA signature that failed in the token (rcgen's `RemoteKeyError`, [`crate::pki::hsm`]).
impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        let unavailable =
            e.chain().any(|c| c.downcast_ref::<sea_orm::DbErr>().is_some_and(fault::database_unavailable));
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
            AuthError::Blocked { .. } => ApiError::Blocked,
            AuthError::Retired => ApiError::Retired,
            AuthError::Suspended => ApiError::Suspended,
            AuthError::PasswordRevoked => ApiError::PasswordRevoked,
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
            AccountError::InvalidReason => {
                invalid("reason", "停止理由は200文字以内で、改行を含めずに入力してください。")
            }
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
            AccountError::Guessable { field, why } => invalid(field.name(), why.message()),
            AccountError::SamePassword => {
                invalid("new_password", "新しいパスワードには現在のパスワードと異なるものを設定してください。")
            }
            AccountError::NotFound => ApiError::NotFound,
            AccountError::Forbidden => ApiError::Forbidden,
            AccountError::AlreadyRetired => ApiError::Conflict(
                "このユーザーIDは既に利用停止されています。利用停止したユーザーIDは変更できません。".to_owned(),
            ),
            AccountError::LimitBelowHolders { holders } => invalid(
                "certificate_limit",
                &format!(
                    "現在 {holders} 名が有効な電子証明書を保有しているため、上限をそれより少なくできません。保有者が減るまで新規発行を止める場合は「保有者数より少なくする」を選んでください。"
                ),
            ),
            AccountError::CompanyAlreadyInState { suspended: true } => {
                ApiError::Conflict("この会社は既に利用停止中です。".to_owned())
            }
            AccountError::CompanyAlreadyInState { suspended: false } => {
                ApiError::Conflict("この会社は利用停止されていません。".to_owned())
            }
            AccountError::SameEmail => {
                invalid("email", "現在と同じメールアドレスです。変更後のメールアドレスを入力してください。")
            }
            AccountError::NotGeneralUser => {
                ApiError::Conflict("マスターユーザーにできるのは、その会社の一般ユーザーだけです。".to_owned())
            }
            AccountError::LastStaffMember => ApiError::Conflict(
                "最後の有効な行員ユーザーは利用停止できません。先に別の行員ユーザーを登録してください。".to_owned(),
            ),
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

impl From<crate::read::search::SearchError> for ApiError {
    fn from(e: crate::read::search::SearchError) -> Self {
        ApiError::InvalidInput { field: Some(e.field), message: e.message }
    }
}

impl From<crate::read::ListError> for ApiError {
    fn from(e: crate::read::ListError) -> Self {
        match e {
            crate::read::ListError::Search(e) => e.into(),
            crate::read::ListError::Database(e) => e.into(),
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        if fault::database_unavailable(&e) {
            ApiError::Unavailable(anyhow::Error::new(e))
        } else if fault::data_exception(&e) {
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

#[cfg(test)]
mod tests {
    use actix_web::{ResponseError, http::StatusCode};
    use common::{ErrorCode, api::Role};
    use time::macros::datetime;

    use super::*;

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
        let words = |role| ApiError::from(AuthError::Blocked { role }).body().message;
        let general = words(Role::General);
        assert_eq!(general, words(Role::Master));
        assert_eq!(general, words(Role::Staff));
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
            let response = e.error_response();
            assert_eq!(response.headers().get("retry-after").map(|v| v.to_str().unwrap()), Some("2"), "{e:?}");
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
