//! Requests and responses of the JSON API (SPEC §5). Timestamps are RFC 3339 on the wire.

pub mod list;
pub mod paths;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Response headers of `POST /api/issuance/issue` that describe the certificate in the body.
pub const HEADER_CERT_SERIAL: &str = "x-certificate-serial";
/// RFC 3339 expiry of the issued certificate.
pub const HEADER_CERT_NOT_AFTER: &str = "x-certificate-not-after";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
}

/// `GET /api/health/ready`: whether this instance should get requests, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: String,
    /// `ok` or `unreachable`.
    pub database: String,
    /// `ok`, `unavailable` (the HSM does not sign) or `not_checked` (`?signer=optional`).
    pub signer: String,
    /// The instance is stopping: it finishes what it has and takes nothing new.
    pub draining: bool,
}

/// `POST /api/issuance/authenticate` and `POST /api/login`. The fields are plain strings so the
/// server can answer a malformed value with `invalid_input` naming the field.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Credentials {
    /// R1: 6–12 half-width letters and digits, at least one of each (the pattern: a run of one
    /// kind, then the other, then either).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^([A-Za-z]+[0-9]|[0-9]+[A-Za-z])[A-Za-z0-9]*$", min_length = 6, max_length = 12)
    )]
    pub user_id: String,
    /// R1: 6–12 half-width letters and digits, at least one of each (the pattern: a run of one
    /// kind, then the other, then either).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^([A-Za-z]+[0-9]|[0-9]+[A-Za-z])[A-Za-z0-9]*$", min_length = 6, max_length = 12)
    )]
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("user_id", &self.user_id).finish_non_exhaustive()
    }
}

/// Answer of a successful issuance authentication.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuanceToken {
    /// Single-use, 10-minute token for `POST /api/issuance/issue`.
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// True when the user already holds a certificate that this issuance renews (R5).
    pub renewal: bool,
}

/// `POST /api/issuance/issue`.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssueRequest {
    pub token: String,
    /// R1: 6–12 half-width letters and digits, at least one of each (the pattern: a run of one
    /// kind, then the other, then either).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^([A-Za-z]+[0-9]|[0-9]+[A-Za-z])[A-Za-z0-9]*$", min_length = 6, max_length = 12)
    )]
    pub password: String,
}

impl std::fmt::Debug for IssueRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssueRequest").finish_non_exhaustive()
    }
}

/// `POST /api/password/change`: replaces a one-time initial password (R11) or any password.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordChange {
    /// R1: 6–12 half-width letters and digits, at least one of each (the pattern: a run of one
    /// kind, then the other, then either).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^([A-Za-z]+[0-9]|[0-9]+[A-Za-z])[A-Za-z0-9]*$", min_length = 6, max_length = 12)
    )]
    pub user_id: String,
    /// R1: 6–12 half-width letters and digits, at least one of each (the pattern: a run of one
    /// kind, then the other, then either).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^([A-Za-z]+[0-9]|[0-9]+[A-Za-z])[A-Za-z0-9]*$", min_length = 6, max_length = 12)
    )]
    pub current_password: String,
    /// R1: 6–12 half-width letters and digits, at least one of each (the pattern: a run of one
    /// kind, then the other, then either).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^([A-Za-z]+[0-9]|[0-9]+[A-Za-z])[A-Za-z0-9]*$", min_length = 6, max_length = 12)
    )]
    pub new_password: String,
    /// The e-mail address for notices; the master registration asks for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = Email, max_length = 254))]
    pub email: Option<String>,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordChange").field("user_id", &self.user_id).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordChanged {
    pub user_id: String,
}

/// How the server judged the client certificate presented on this TLS connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CertificateClass {
    /// No certificate was presented.
    None,
    Valid,
    Expired,
    NotYetValid,
    Revoked,
    /// Not issued by this service's CA (or not found in its records).
    UnknownIssuer,
}

/// `GET /api/tls/client-certificate`: what the browser presented on this connection (⑧ check).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresentedCertificate {
    pub class: CertificateClass,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub not_after: Option<OffsetDateTime>,
}

// ---- Login, sessions and the screens behind them (login, home, master, bank staff) ----

/// A user's role (SPEC §2): on the wire, and (feature `db`) the `users.role` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "db", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(feature = "db", sea_orm(rs_type = "String", db_type = "Text"))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 一般ユーザー
    #[cfg_attr(feature = "db", sea_orm(string_value = "general"))]
    General,
    /// マスターユーザー
    #[cfg_attr(feature = "db", sea_orm(string_value = "master"))]
    Master,
    /// 労金 staff
    #[cfg_attr(feature = "db", sea_orm(string_value = "staff"))]
    Staff,
}

impl Role {
    /// The name on the wire, in the database and in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::General => "general",
            Role::Master => "master",
            Role::Staff => "staff",
        }
    }

    /// 一般ユーザー / マスターユーザー / 労金スタッフ
    pub fn label(self) -> &'static str {
        match self {
            Role::General => "一般ユーザー",
            Role::Master => "マスターユーザー",
            Role::Staff => "労金スタッフ",
        }
    }
}

/// State of a certificate as shown to people. The `certificates.status` column (feature `db`)
/// stores only `active` or `revoked`; `expired` is computed from the time (the backend's
/// `domain::certificate::status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "db", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(feature = "db", sea_orm(rs_type = "String", db_type = "Text"))]
#[serde(rename_all = "snake_case")]
pub enum CertificateStatus {
    #[cfg_attr(feature = "db", sea_orm(string_value = "active"))]
    Active,
    #[cfg_attr(feature = "db", sea_orm(string_value = "expired"))]
    Expired,
    #[cfg_attr(feature = "db", sea_orm(string_value = "revoked"))]
    Revoked,
}

impl CertificateStatus {
    pub fn label(self) -> &'static str {
        match self {
            CertificateStatus::Active => "有効",
            CertificateStatus::Expired => "期限切れ",
            CertificateStatus::Revoked => "失効",
        }
    }
}

/// A certificate as listed on the home, master and staff screens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CertificateSummary {
    pub serial: String,
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    pub status: CertificateStatus,
    /// Whole days until expiry (negative once expired).
    pub days_left: i64,
    /// Within the last 30 days of an active certificate: renewal is open (R5).
    pub renewable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_reason: Option<RevocationReason>,
    /// `rsa2048` or `p256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_type: Option<String>,
    /// The company's id (the link to its detail page); absent for bank staff's certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<i64>,
    /// When it was issued (the staff list's default sort, newest first).
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
}

/// The lock state of an account (R2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountState {
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub locked_until: Option<OffsetDateTime>,
    pub blocked: bool,
    /// Still on the one-time initial password (R11).
    pub must_change_password: bool,
    /// Consecutive wrong passwords so far.
    pub failures: u32,
    /// When the user was retired (利用停止); absent while active.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub retired_at: Option<OffsetDateTime>,
}

/// `GET /api/me` and the answer of `POST /api/login`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub user_id: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    pub email: String,
    /// The certificate this session logged in with.
    pub certificate: CertificateSummary,
    /// 最近のご利用: the previous logins, the failed attempts since, the certificates issued in
    /// the last 90 days, each a line in Japanese (time in JST, client address or serial, what to
    /// do if it was not them), composed by the server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub activity: Vec<String>,
}

/// A user as listed for a master user or bank staff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserSummary {
    pub user_id: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// The company's id (the link to its detail page); absent for bank staff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<i64>,
    pub email: String,
    pub state: AccountState,
    /// The newest certificate, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateSummary>,
}

/// `GET /api/org/users` (master user): their company and its users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganizationUsers {
    pub organization: String,
    /// Most users that may hold a valid certificate at once.
    pub certificate_limit: u32,
    /// Users holding an active certificate now.
    pub with_certificates: u32,
    /// One page of the company's users, as searched (`GET /api/org/users?…`).
    pub users: list::Page<UserSummary>,
}

/// `GET /api/admin/organizations/{id}`: one company for its detail page (its users and
/// certificates are the user and certificate lists filtered by `organization_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganizationDetail {
    pub organization: OrganizationSummary,
    /// Users holding an active certificate now (against `certificate_limit`).
    pub with_certificates: u32,
}

/// `GET /api/admin/users/{user_id}`: one user for their detail page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserDetail {
    pub user: UserSummary,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Every certificate of the user, newest first (at most [`UserDetail::CERTIFICATES`]).
    pub certificates: Vec<CertificateSummary>,
    /// The newest audit entries done by or about the user (at most [`UserDetail::AUDIT`]).
    pub audit: Vec<AuditEntry>,
}

impl UserDetail {
    /// Certificates shown on the detail page (one a year: decades of them).
    pub const CERTIFICATES: u64 = 50;
    /// Audit entries shown on the detail page (the audit screen has the rest).
    pub const AUDIT: u64 = 20;
}

/// `POST /api/org/users` (master user creates a general user).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewUser {
    /// R1: 6–12 half-width letters and digits, at least one of each (the pattern: a run of one
    /// kind, then the other, then either).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^([A-Za-z]+[0-9]|[0-9]+[A-Za-z])[A-Za-z0-9]*$", min_length = 6, max_length = 12)
    )]
    pub user_id: String,
    #[cfg_attr(feature = "openapi", schema(format = Email, max_length = 254))]
    pub email: String,
}

/// `POST …/users/{user_id}/retire`: why the user is retired (kept in the audit log).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Retire {
    /// Up to 200 characters, no line breaks (e.g. 退職).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The answer of `POST …/users/{user_id}/retire`: the user, now retired, and the serials of the
/// certificates revoked with the retirement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetiredUser {
    pub user: UserSummary,
    pub revoked: Vec<String>,
}

/// The answer of `POST …/users/{user_id}/reset-password`: the new one-time initial password
/// (shown once) and what 「ご利用開始(変更)のお知らせ」 prints with it.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordReset {
    pub user: UserSummary,
    pub initial_password: String,
    /// The service's address, for the letter.
    pub url: String,
}

impl std::fmt::Debug for PasswordReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordReset").field("user", &self.user.user_id).finish_non_exhaustive()
    }
}

/// `POST …/users/{user_id}/email`: the user's new e-mail address (the old and the new one are
/// both told).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeEmail {
    #[cfg_attr(feature = "openapi", schema(format = Email, max_length = 254))]
    pub email: String,
}

/// `POST /api/admin/users/{user_id}/make-master`: what becomes of the company's former master
/// user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MakeMaster {
    /// Retire the former master user (利用停止: their certificates revoked) instead of keeping
    /// them as a general user.
    #[serde(default)]
    pub retire_former: bool,
}

/// `POST /api/admin/organizations/{id}/master`: a new account to become the company's master user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewMaster {
    /// R1: 6–12 half-width letters and digits, at least one of each.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^([A-Za-z]+[0-9]|[0-9]+[A-Za-z])[A-Za-z0-9]*$", min_length = 6, max_length = 12)
    )]
    pub master_user_id: String,
    #[cfg_attr(feature = "openapi", schema(format = Email, max_length = 254))]
    pub email: String,
    /// Retire the former master user instead of keeping them as a general user.
    #[serde(default)]
    pub retire_former: bool,
}

/// The answer of a change of master user: the new master user, their one-time initial password
/// for 「ご利用開始(変更)のお知らせ」 (shown once), and what became of the former ones.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MasterChanged {
    pub reset: PasswordReset,
    /// The IDs of the former master users.
    pub former: Vec<String>,
    /// Whether they were retired (else they are general users now).
    pub former_retired: bool,
    /// Their certificates revoked by retiring them.
    pub revoked: Vec<String>,
}

impl std::fmt::Debug for MasterChanged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterChanged")
            .field("reset", &self.reset)
            .field("former", &self.former)
            .finish_non_exhaustive()
    }
}

/// A created account with its one-time initial password (shown once).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedUser {
    pub user_id: String,
    pub initial_password: String,
}

impl std::fmt::Debug for CreatedUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedUser").field("user_id", &self.user_id).finish_non_exhaustive()
    }
}

/// `GET /api/admin/organizations` rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganizationSummary {
    pub id: i64,
    pub name: String,
    pub master_user_id: Option<String>,
    pub users: u32,
    pub certificate_limit: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// While the company is suspended: since when (its users are refused; nothing is revoked).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub suspended_at: Option<OffsetDateTime>,
}

/// `POST /api/admin/organizations/{id}`: a company's new name and/or certificate limit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateOrganization {
    /// The new name, 1–100 characters; certificates issued later carry it in O=.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The new limit of users holding a valid certificate at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_limit: Option<u32>,
    /// Accept a limit below the users holding a certificate now (they keep theirs; new issues
    /// wait until the count is below the limit).
    #[serde(default)]
    pub force: bool,
}

/// `POST /api/admin/organizations`: a company and its master user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewOrganization {
    /// The company name, 1–100 characters (surrounding spaces are removed).
    pub name: String,
    /// R1: 6–12 half-width letters and digits, at least one of each (the pattern: a run of one
    /// kind, then the other, then either).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^([A-Za-z]+[0-9]|[0-9]+[A-Za-z])[A-Za-z0-9]*$", min_length = 6, max_length = 12)
    )]
    pub master_user_id: String,
    #[cfg_attr(feature = "openapi", schema(format = Email, max_length = 254))]
    pub email: String,
}

/// Answer of `POST /api/admin/organizations`: what the 「ご利用開始のお知らせ」 letter prints.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedOrganization {
    pub organization: OrganizationSummary,
    pub master_user_id: String,
    pub initial_password: String,
    /// The URL of this system, printed on the letter.
    pub url: String,
}

impl std::fmt::Debug for CreatedOrganization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedOrganization").field("master_user_id", &self.master_user_id).finish_non_exhaustive()
    }
}

/// RFC 5280 revocation reasons offered to bank staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    // Read in either spelling: ours (snake_case) or RFC 5280's, which operators copy.
    Unspecified,
    #[serde(alias = "keyCompromise")]
    KeyCompromise,
    #[serde(alias = "affiliationChanged")]
    AffiliationChanged,
    Superseded,
    #[serde(alias = "cessationOfOperation")]
    CessationOfOperation,
    #[serde(alias = "privilegeWithdrawn")]
    PrivilegeWithdrawn,
}

impl RevocationReason {
    pub const ALL: [RevocationReason; 6] = [
        RevocationReason::Superseded,
        RevocationReason::AffiliationChanged,
        RevocationReason::CessationOfOperation,
        RevocationReason::KeyCompromise,
        RevocationReason::PrivilegeWithdrawn,
        RevocationReason::Unspecified,
    ];

    /// Japanese label (with the usual case in brackets).
    pub fn label(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "理由なし (unspecified)",
            // Said where staff choose it: the password goes with the file.
            RevocationReason::KeyCompromise => "鍵の危殆化・ファイル紛失 (keyCompromise・パスワードも無効化)",
            RevocationReason::AffiliationChanged => "所属変更 (affiliationChanged)",
            RevocationReason::Superseded => "パソコン変更・再発行 (superseded)",
            RevocationReason::CessationOfOperation => "利用終了 (cessationOfOperation)",
            RevocationReason::PrivilegeWithdrawn => "利用資格の取消 (privilegeWithdrawn)",
        }
    }

    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "key_compromise",
            RevocationReason::AffiliationChanged => "affiliation_changed",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessation_of_operation",
            RevocationReason::PrivilegeWithdrawn => "privilege_withdrawn",
        }
    }

    /// The name RFC 5280 (§5.3.1) gives the reason.
    pub fn rfc_name(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "keyCompromise",
            RevocationReason::AffiliationChanged => "affiliationChanged",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessationOfOperation",
            RevocationReason::PrivilegeWithdrawn => "privilegeWithdrawn",
        }
    }

    /// Either spelling: the snake_case wire name or the RFC's name (`key_compromise`,
    /// `keyCompromise`).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s || r.rfc_name() == s)
    }
}

/// `POST /api/admin/certificates/{serial}/revoke`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Revoke {
    pub reason: RevocationReason,
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: Option<String>,
    pub action: String,
    pub subject_user: Option<String>,
    pub organization_id: Option<i64>,
    /// JSON text with the details.
    pub detail: String,
    /// The client's IP address (as the server saw it, or as a trusted proxy reported it); absent
    /// for entries made outside a request (`cjs admin`, background workers).
    #[serde(default)]
    pub client_address: Option<String>,
    /// The ID of the request it was made in: the `X-Request-Id` of the answer, carried by the
    /// server's log lines of that request. Absent outside a request.
    #[serde(default)]
    pub request_id: Option<String>,
}

/// One row of the mail outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailEntry {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub to: String,
    pub subject: String,
    pub status: MailStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
    /// When a pending mail is tried (again).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
}

/// Where a mail of the outbox stands: on the wire, and (feature `db`) the `mail_outbox.status`
/// column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "db", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(feature = "db", sea_orm(rs_type = "String", db_type = "Text"))]
#[serde(rename_all = "snake_case")]
pub enum MailStatus {
    /// Waiting for (another) delivery attempt.
    #[cfg_attr(feature = "db", sea_orm(string_value = "pending"))]
    Pending,
    #[cfg_attr(feature = "db", sea_orm(string_value = "sent"))]
    Sent,
    /// Given up after the last retry.
    #[cfg_attr(feature = "db", sea_orm(string_value = "failed"))]
    Failed,
}

impl MailStatus {
    pub const ALL: [MailStatus; 3] = [MailStatus::Pending, MailStatus::Sent, MailStatus::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            MailStatus::Pending => "pending",
            MailStatus::Sent => "sent",
            MailStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::RevocationReason;

    #[test]
    fn a_revocation_reason_is_read_in_either_spelling_everywhere() {
        for r in RevocationReason::ALL {
            assert_eq!(RevocationReason::parse(r.as_str()), Some(r));
            assert_eq!(RevocationReason::parse(r.rfc_name()), Some(r));
            let wire: RevocationReason = serde_json::from_str(&format!("\"{}\"", r.rfc_name())).unwrap();
            assert_eq!(wire, r);
            let wire: RevocationReason = serde_json::from_str(&format!("\"{}\"", r.as_str())).unwrap();
            assert_eq!(wire, r);
            // Written in one spelling only: ours.
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{}\"", r.as_str()));
        }
        assert_eq!(RevocationReason::parse("KeyCompromise"), None);
        assert_eq!(RevocationReason::parse("key-compromise"), None);
    }
}

mod approvals;
pub use approvals::*;
