//! 検印: a sensitive operation entered by one staff member is done only when a second, different
//! one approves it. Which operations is the setting `approval_required` ([`Kind`]; all of them
//! by default). A staff member's request for one of them only proposes it ([`propose`]: 202,
//! nothing changed, the other staff members mailed); another staff member approves it
//! ([`approve`]: the operation checked again and done in the approval's transaction, its audit
//! entry naming proposer and approver with both times) or rejects it with a reason ([`reject`]).
//! Refused: approving one's own request or an operation on oneself (403), an expired or already
//! decided request, and one whose operation no longer applies (409). `cjs admin` stays the
//! operator's direct path: it needs the server's shell.

pub mod operation;

use common::api::{Approval, ApprovalList, ApprovalState, Role};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait, sea_query::Expr,
};
use serde_json::json;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

pub use operation::{Kind, Operation, Outcome};

use crate::{
    audit::{self, Action},
    auth::accounts::Actor,
    db::entities::{approval, user},
    error::ApiError,
    mail::{
        outbox,
        templates::{self, ApprovalEnd},
    },
};

/// What the operations and their requests need: the database, the password hasher (resets and
/// new master users), the service's address (the notices) and 検印's policy. Taken from the
/// serving state by the API, so that this feature does not reach into it.
#[derive(Clone, Copy)]
pub struct Services<'a> {
    pub db: &'a sea_orm::DatabaseConnection,
    pub hasher: &'a crate::auth::password::Hasher,
    pub url: &'a str,
    pub policy: &'a Policy,
}

impl std::fmt::Debug for Services<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").field("url", &self.url).field("policy", self.policy).finish_non_exhaustive()
    }
}

/// Which operations need a second staff member, and for how long a request may be approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub required: Vec<Kind>,
    pub ttl: time::Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self { required: Kind::ALL.to_vec(), ttl: time::Duration::hours(DEFAULT_HOURS.into()) }
    }
}

/// How long a request may be approved, by default.
pub const DEFAULT_HOURS: u32 = 24;
/// The longest rejection reason.
pub const MAX_REASON_CHARS: usize = 200;

const PENDING: &str = "pending";

fn state_of(text: &str) -> ApprovalState {
    match text {
        "approved" => ApprovalState::Approved,
        "rejected" => ApprovalState::Rejected,
        "expired" => ApprovalState::Expired,
        "failed" => ApprovalState::Failed,
        _ => ApprovalState::Pending,
    }
}

/// The row as the API shows it; a pending request past its time shows as expired.
pub fn view(m: &approval::Model, now: OffsetDateTime) -> Approval {
    let mut state = state_of(&m.state);
    if state == ApprovalState::Pending && m.expires_at <= now {
        state = ApprovalState::Expired;
    }
    Approval {
        id: m.id,
        kind: m.kind.clone(),
        summary: m.summary.clone(),
        subject_user: m.subject_user.clone(),
        org_id: m.org_id,
        proposed_by: m.proposed_by.clone(),
        proposed_at: m.proposed_at,
        expires_at: m.expires_at,
        state,
        decided_by: m.decided_by.clone(),
        decided_at: m.decided_at,
        reason: m.reason.clone(),
    }
}

/// The kind of approval `op`, asked for by `actor`, needs under `policy`: `None` when it is done
/// at once (a master user's own operations, the shell's, and kinds not listed).
pub async fn needed<C: ConnectionTrait>(
    db: &C,
    policy: &Policy,
    actor: &Actor,
    op: &Operation,
) -> Result<Option<Kind>, ApiError> {
    if actor.role() != Some(Role::Staff) || policy.required.is_empty() {
        return Ok(None);
    }
    Ok(op.kind(db).await?.filter(|k| policy.required.contains(k)))
}

/// Records `op` as proposed by `proposer`, once it has been checked by doing it in a transaction
/// that is rolled back (so it is refused now for whatever the operation itself would refuse).
pub async fn propose(
    s: Services<'_>,
    proposer: &user::Model,
    op: &Operation,
    kind: Kind,
    now: OffsetDateTime,
) -> Result<approval::Model, ApiError> {
    let actor = Actor::User(Box::new(proposer.clone()));
    let trial = s.db.begin().await?;
    crate::metrics::uncounted(op.execute(s, &trial, &actor, now)).await?;
    trial.rollback().await?;
    let subject = op.subject(s.db).await?;
    let summary = op.summary(s.db).await?;
    let expires_at = now + s.policy.ttl;
    let txn = s.db.begin().await?;
    let row = approval::ActiveModel {
        kind: Set(kind.as_str().to_owned()),
        operation: Set(serde_json::to_string(op).map_err(|e| ApiError::Internal(e.into()))?),
        summary: Set(summary.clone()),
        subject_user: Set(subject.user.clone()),
        org_id: Set(subject.org_id),
        proposed_by: Set(proposer.user_id.clone()),
        proposed_at: Set(now),
        expires_at: Set(expires_at),
        state: Set(PENDING.to_owned()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let detail = json!({
        "approval_id": row.id,
        "kind": kind.as_str(),
        "summary": summary,
        "operation": op,
        "expires_at": expires_at.format(&Rfc3339).unwrap_or_default(),
    });
    let entry = audit::Entry {
        action: Action::ApprovalRequested,
        actor: Some(&proposer.user_id),
        subject_user: subject.user.as_deref(),
        org_id: subject.org_id,
        detail,
    };
    audit::record(&txn, entry, now).await?;
    let others = user::Entity::find()
        .filter(user::Column::Role.eq(Role::Staff))
        .filter(user::Column::RetiredAt.is_null())
        .filter(user::Column::Id.ne(proposer.id))
        .all(&txn)
        .await?;
    let url = s.url;
    let mails = others
        .iter()
        .map(|s| {
            templates::approval_requested(row.id, &summary, &proposer.user_id, &s.user_id, &s.email, expires_at, url)
        })
        .collect();
    outbox::enqueue_many(&txn, mails, now).await?;
    txn.commit().await?;
    Ok(row)
}

/// The request `id`, or 404.
async fn find<C: ConnectionTrait>(db: &C, id: i64) -> Result<approval::Model, ApiError> {
    approval::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound)
}

/// Why `row` cannot be decided now, if it cannot.
fn undecidable(row: &approval::Model, now: OffsetDateTime) -> Option<ApiError> {
    let state = view(row, now).state;
    match state {
        ApprovalState::Pending => None,
        ApprovalState::Expired => Some(ApiError::Conflict(format!(
            "この申請は承認の期限（{}）を過ぎたため、承認も却下もできません。必要な場合はもう一度申請してください。",
            common::jst::format_datetime(row.expires_at)
        ))),
        other => Some(ApiError::Conflict(format!("この申請は既に「{}」です。", other.label()))),
    }
}

/// Approves request `id` as `approver`, and does its operation in the same transaction (the
/// caller wakes the CRL refresh when [`Outcome::revoked`]).
pub async fn approve(
    s: Services<'_>,
    approver: &user::Model,
    id: i64,
    now: OffsetDateTime,
) -> Result<(approval::Model, Outcome), ApiError> {
    let row = find(s.db, id).await?;
    if row.proposed_by == approver.user_id {
        return Err(ApiError::Refused(
            "自分が申請した操作は承認できません。別の職員に承認を依頼してください。".to_owned(),
        ));
    }
    if row.subject_user.as_deref() == Some(approver.user_id.as_str()) {
        return Err(ApiError::Refused(
            "自分が対象の操作は承認できません。別の職員に承認を依頼してください。".to_owned(),
        ));
    }
    if let Some(e) = undecidable(&row, now) {
        return Err(e);
    }
    let op: Operation = serde_json::from_str(&row.operation).map_err(|e| ApiError::Internal(e.into()))?;
    let txn = s.db.begin().await?;
    // The claim: of two approvals at once, the second waits for the first's row lock and then
    // finds it decided (SQLite: one writer at a time).
    if !claim(&txn, id, "approved", approver, None, now).await? {
        txn.rollback().await?;
        let row = find(s.db, id).await?;
        return Err(undecidable(&row, now).unwrap_or(ApiError::Conflict("この申請は既に処理されています。".to_owned())));
    }
    let under = json!({
        "id": id,
        "proposed_by": row.proposed_by,
        "proposed_at": row.proposed_at.format(&Rfc3339).unwrap_or_default(),
        "approved_by": approver.user_id,
        "approved_at": now.format(&Rfc3339).unwrap_or_default(),
    });
    let actor = Actor::User(Box::new(approver.clone()));
    let done = audit::under_approval(under, op.execute(s, &txn, &actor, now)).await;
    let proposer_mail = proposer_email(&txn, &row.proposed_by).await?;
    match done {
        Ok(outcome) => {
            if let Some(to) = proposer_mail {
                let mail =
                    templates::approval_decided(id, &row.summary, &approver.user_id, &to, ApprovalEnd::Approved, s.url);
                outbox::enqueue(&txn, mail, now).await?;
            }
            txn.commit().await?;
            Ok((find(s.db, id).await?, outcome))
        }
        Err(e) if actix_web::ResponseError::status_code(&e).is_client_error() => {
            txn.rollback().await?;
            let why = e.body().message;
            fail(s, &row, approver, &why, proposer_mail, now).await?;
            Err(ApiError::Conflict(format!("この操作は実行できなくなりました（何も変更していません）: {why}")))
        }
        Err(e) => Err(e),
    }
}

/// Marks `row` failed: approved, but its operation no longer applied.
async fn fail(
    s: Services<'_>,
    row: &approval::Model,
    approver: &user::Model,
    why: &str,
    proposer_mail: Option<String>,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let txn = s.db.begin().await?;
    if claim(&txn, row.id, "failed", approver, Some(why), now).await? {
        let entry = audit::Entry {
            action: Action::ApprovalFailed,
            actor: Some(&approver.user_id),
            subject_user: row.subject_user.as_deref(),
            org_id: row.org_id,
            detail: json!({"approval_id": row.id, "proposed_by": row.proposed_by, "summary": row.summary, "why": why}),
        };
        audit::record(&txn, entry, now).await?;
        if let Some(to) = proposer_mail {
            let end = ApprovalEnd::Failed { why };
            let mail = templates::approval_decided(row.id, &row.summary, &approver.user_id, &to, end, s.url);
            outbox::enqueue(&txn, mail, now).await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

/// Rejects request `id` as `by` (its proposer may withdraw it so too; its subject may not), with
/// `reason`.
pub async fn reject(
    s: Services<'_>,
    by: &user::Model,
    id: i64,
    reason: &str,
    now: OffsetDateTime,
) -> Result<approval::Model, ApiError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::InvalidInput {
            field: Some("reason"),
            message: format!("却下の理由を{MAX_REASON_CHARS}文字以内で入力してください。"),
        });
    }
    let row = find(s.db, id).await?;
    if row.subject_user.as_deref() == Some(by.user_id.as_str()) && row.proposed_by != by.user_id {
        return Err(ApiError::Refused("自分が対象の申請は却下できません。別の職員が判断します。".to_owned()));
    }
    if let Some(e) = undecidable(&row, now) {
        return Err(e);
    }
    let txn = s.db.begin().await?;
    if !claim(&txn, id, "rejected", by, Some(reason), now).await? {
        txn.rollback().await?;
        let row = find(s.db, id).await?;
        return Err(undecidable(&row, now).unwrap_or(ApiError::Conflict("この申請は既に処理されています。".to_owned())));
    }
    let entry = audit::Entry {
        action: Action::ApprovalRejected,
        actor: Some(&by.user_id),
        subject_user: row.subject_user.as_deref(),
        org_id: row.org_id,
        detail: json!({
            "approval_id": id,
            "summary": row.summary,
            "proposed_by": row.proposed_by,
            "proposed_at": row.proposed_at.format(&Rfc3339).unwrap_or_default(),
            "reason": reason,
        }),
    };
    audit::record(&txn, entry, now).await?;
    if let Some(to) = proposer_email(&txn, &row.proposed_by).await? {
        let end = ApprovalEnd::Rejected { reason };
        outbox::enqueue(&txn, templates::approval_decided(id, &row.summary, &by.user_id, &to, end, s.url), now).await?;
    }
    txn.commit().await?;
    find(s.db, id).await
}

/// Moves request `id` from pending to `to`, if it is still pending and in time.
async fn claim<C: ConnectionTrait>(
    txn: &C,
    id: i64,
    to: &str,
    by: &user::Model,
    reason: Option<&str>,
    now: OffsetDateTime,
) -> Result<bool, DbErr> {
    let done = approval::Entity::update_many()
        .col_expr(approval::Column::State, Expr::value(to))
        .col_expr(approval::Column::DecidedBy, Expr::value(Some(by.user_id.clone())))
        .col_expr(approval::Column::DecidedAt, Expr::value(Some(now)))
        .col_expr(approval::Column::Reason, Expr::value(reason.map(str::to_owned)))
        .filter(approval::Column::Id.eq(id))
        .filter(approval::Column::State.eq(PENDING))
        .filter(approval::Column::ExpiresAt.gt(now))
        .exec(txn)
        .await?;
    Ok(done.rows_affected == 1)
}

async fn proposer_email<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<Option<String>, DbErr> {
    let u = user::Entity::find().filter(user::Column::UserId.eq(user_id)).one(db).await?;
    Ok(u.map(|u| u.email))
}

/// The requests waiting (oldest first), then the 50 latest decided or lapsed ones. A request
/// that lapsed keeps its `pending` row (nothing needs to write it) but is no longer waiting: it
/// never takes the place of one that is.
pub async fn list<C: ConnectionTrait>(db: &C, now: OffsetDateTime) -> Result<ApprovalList, DbErr> {
    let waiting = approval::Entity::find()
        .filter(approval::Column::State.eq(PENDING))
        .filter(approval::Column::ExpiresAt.gt(now))
        .order_by_asc(approval::Column::ProposedAt)
        .limit(500)
        .all(db)
        .await?;
    let over =
        sea_orm::Condition::any().add(approval::Column::State.ne(PENDING)).add(approval::Column::ExpiresAt.lte(now));
    let decided = approval::Entity::find().filter(over).order_by_desc(approval::Column::Id).limit(50).all(db).await?;
    let items: Vec<Approval> = waiting.iter().chain(&decided).map(|m| view(m, now)).collect();
    let pending = items.iter().filter(|a| a.state == ApprovalState::Pending).count() as u64;
    Ok(ApprovalList { items, pending })
}
