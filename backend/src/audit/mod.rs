//! The append-only audit log. Every entry is written with the same connection (usually the same
//! transaction) as the change it records; the table refuses UPDATE and DELETE. Each entry carries
//! the client address of the request it was made in ([`crate::request_context`]), taken here so
//! that no call site can forget it, with the request's ID; entries made outside a request (CLI,
//! workers) have neither.
//!
//! The log proves itself: every entry is chained ([`chain`]) by a sealer that follows commit
//! order, the chain's head is signed with the audit key ([`key`]) at intervals and at shutdown
//! ([`checkpoint`]), `cjs admin audit verify` recomputes it all ([`verify`]), and auditors take
//! an export they verify offline ([`export`]).

pub mod chain;
pub mod checkpoint;
pub mod export;
pub mod key;
pub mod verify;

use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};
use time::OffsetDateTime;

use crate::{db::entities::audit_log, request_context};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    AuthSuccess,
    AuthFailure,
    AuthRefusedLocked,
    AuthRefusedBlocked,
    Locked,
    Blocked,
    Unlocked,
    PasswordChanged,
    OrganizationCreated,
    UserCreated,
    CertificateIssued,
    CertificateRevoked,
    Login,
    /// A new CA took over issuing (`cjs admin ca rollover`).
    CaRollover,
    /// Bank staff exported a search as CSV (detail: the list, the search, the rows).
    Exported,
    /// A master user, staff or the shell reset a user's password to a one-time initial one.
    PasswordReset,
    /// A user was retired (利用停止; detail: the reason and the certificates revoked).
    Retired,
    /// Staff changed a company's name or certificate limit (detail: before and after).
    OrganizationUpdated,
    /// Staff suspended a company (detail: the sessions ended).
    OrganizationSuspended,
    /// Staff resumed a suspended company.
    OrganizationResumed,
    /// A master user or staff changed another user's e-mail address (detail: from and to).
    EmailChanged,
    /// Staff changed a company's master user (detail: the former masters, whether retired).
    MasterChanged,
    /// A staff member proposed an operation that needs a second one's approval (検印).
    ApprovalRequested,
    /// A second staff member rejected a proposed operation (the operation's own entry, naming
    /// both, records an approval).
    ApprovalRejected,
    /// A proposed operation was approved, but no longer applied: nothing was done.
    ApprovalFailed,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::AuthSuccess => "auth_success",
            Action::AuthFailure => "auth_failure",
            Action::AuthRefusedLocked => "auth_refused_locked",
            Action::AuthRefusedBlocked => "auth_refused_blocked",
            Action::Locked => "locked",
            Action::Blocked => "blocked",
            Action::Unlocked => "unlocked",
            Action::PasswordChanged => "password_changed",
            Action::OrganizationCreated => "organization_created",
            Action::UserCreated => "user_created",
            Action::CertificateIssued => "certificate_issued",
            Action::CertificateRevoked => "certificate_revoked",
            Action::Login => "login",
            Action::CaRollover => "ca_rollover",
            Action::Exported => "exported",
            Action::PasswordReset => "password_reset",
            Action::Retired => "retired",
            Action::OrganizationUpdated => "organization_updated",
            Action::OrganizationSuspended => "organization_suspended",
            Action::OrganizationResumed => "organization_resumed",
            Action::EmailChanged => "email_changed",
            Action::MasterChanged => "master_changed",
            Action::ApprovalRequested => "approval_requested",
            Action::ApprovalRejected => "approval_rejected",
            Action::ApprovalFailed => "approval_failed",
        }
    }
}

/// One audit entry. `actor` is who did it (a user ID, `cli`, or `None` for the user themself).
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub action: Action,
    pub actor: Option<&'a str>,
    pub subject_user: Option<&'a str>,
    pub org_id: Option<i64>,
    pub detail: serde_json::Value,
}

tokio::task_local! {
    /// The approval (検印) an operation is being done under: every entry it writes names it.
    static APPROVAL: serde_json::Value;
}

/// Runs `f` with every audit entry it writes carrying `approval` (who proposed it and when, who
/// approved it and when) in its detail, under `"approval"`.
pub async fn under_approval<F: std::future::Future>(approval: serde_json::Value, f: F) -> F::Output {
    APPROVAL.scope(approval, f).await
}

/// Appends `entry` at `now` through `db` (a connection or an open transaction), with the client
/// address of the request being served, if any.
pub async fn record<C: ConnectionTrait>(db: &C, entry: Entry<'_>, now: OffsetDateTime) -> Result<(), DbErr> {
    let mut detail = entry.detail;
    if let Ok(approval) = APPROVAL.try_with(Clone::clone)
        && let Some(object) = detail.as_object_mut()
    {
        object.insert("approval".to_owned(), approval);
    }
    audit_log::ActiveModel {
        at: Set(now),
        actor: Set(entry.actor.map(str::to_owned)),
        action: Set(entry.action.as_str().to_owned()),
        subject_user: Set(entry.subject_user.map(str::to_owned)),
        org_id: Set(entry.org_id),
        detail: Set(detail.to_string()),
        client_address: Set(request_context::client_address().map(|ip| ip.to_canonical().to_string())),
        request_id: Set(request_context::request_id().map(|id| id.to_string())),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
