//! 検印: the requests for a second staff member's approval, as the API gives them (the staff
//! bundle and the backend; the company bundle never reads them).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Where a request for approval (検印) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    /// 承認待ち.
    Pending,
    /// Approved by a second staff member, and done.
    Approved,
    /// Rejected, with a reason; nothing was done.
    Rejected,
    /// Not approved in time; nothing was done.
    Expired,
    /// Approved, but the operation no longer applied (the certificate already revoked, say);
    /// nothing was done.
    Failed,
}

impl ApprovalState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "承認待ち",
            Self::Approved => "承認済み（実行済み）",
            Self::Rejected => "却下",
            Self::Expired => "期限切れ",
            Self::Failed => "実行できず",
        }
    }
}

/// One request for a second staff member's approval (検印) of a sensitive operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Approval {
    pub id: i64,
    /// The operation's kind, as `approval_required` names it (`revoke`, `reset_password`, …).
    pub kind: String,
    /// What it does, in words (「電子証明書の失効（シリアル 0a1b…、理由: …）」).
    pub summary: String,
    pub subject_user: Option<String>,
    pub org_id: Option<i64>,
    pub proposed_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub proposed_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub state: ApprovalState,
    pub decided_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    /// Why it was rejected, or why it could not be done.
    pub reason: Option<String>,
}

/// The answer (202 Accepted) of a staff operation that needs a second staff member's approval:
/// nothing is changed yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalProposed {
    pub approval_id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub message: String,
}

/// `GET /api/admin/approvals`: the requests waiting, then the latest decided ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalList {
    pub items: Vec<Approval>,
    /// How many wait for approval (the tab's count).
    pub pending: u64,
}

/// The answer of an approval: the request, and what the operation gave back for the approver
/// to hand on (a one-time initial password, for a reset or a new master user).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalDone {
    pub approval: Approval,
    pub initial_password: Option<String>,
    /// Whose password it is.
    pub user_id: Option<String>,
}

impl std::fmt::Debug for ApprovalDone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApprovalDone")
            .field("approval", &self.approval)
            .field("initial_password", &self.initial_password.as_ref().map(|_| "…"))
            .field("user_id", &self.user_id)
            .finish()
    }
}

/// `POST /api/admin/approvals/{id}/reject`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RejectApproval {
    pub reason: String,
}
