//! Changing a company's master user (マスターユーザー変更), by bank staff or the bank's shell: a
//! general user of the company becomes its master user, or a new account is made one, and the
//! former master user becomes a general user or is retired, as staff choose. Here, beside
//! retirement, because retiring the former master revokes their certificates in the same
//! transaction.
//!
//! The new master user gets a new one-time initial password, printed on 「ご利用開始(変更)のお知らせ」
//! as for a new company: the letter to the company's registered address is how the bank hands
//! the company's administration to a person, whoever asked for the change. Everything else of
//! theirs (ID, certificates, history) stays.
//!
//! In one transaction, under the company's row lock (two changes at once leave one master user):
//! the new master (role, password, lock lifted, sessions ended), each former master (role
//! general and sessions ended, or retired), the audit entry and the notices.

use common::{Password, UserId, api::Role};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;
use time::OffsetDateTime;

use super::{
    retirement::{counted, retire_in},
    revocation::Revocations,
};
use crate::{
    audit::Action,
    auth::{
        AccountError,
        accounts::{
            self, Actor, NewUser, check_email, ensure_user_id_free, find_user, generate_initial_password, permit,
            record_done_to,
        },
        companies, lock_store,
        password::Hasher,
        sessions,
    },
    db::entities::user,
    domain::authority::Operation,
    mail::{outbox, templates},
};

/// Reason recorded when a change of master retires the former master user.
const RETIRE_REASON: &str = "マスターユーザー変更";

/// Who becomes the master user.
#[derive(Debug, Clone)]
pub enum NewMaster<'a> {
    /// A general user of a company, who keeps their ID, certificates and history.
    Existing(&'a UserId),
    /// A new account in company `org_id` (its password is generated).
    Create { org_id: i64, user_id: &'a UserId, email: &'a str },
}

/// A change of master done.
#[derive(Debug)]
pub struct MasterChanged {
    /// The new master user as they are now.
    pub master: user::Model,
    /// Their one-time initial password, for the letter.
    pub password: Password,
    /// The IDs of the former master users.
    pub former: Vec<String>,
    /// Whether the former master users were retired (else they are general users now).
    pub former_retired: bool,
    /// The certificates of the former master users revoked by retiring them.
    pub revoked: Vec<String>,
}

/// Makes `new` the master user of their company as `actor` (see the module's doc).
#[allow(clippy::too_many_arguments)]
pub async fn change_master<C: crate::db::Db>(
    revocations: Option<&Revocations>,
    db: &C,
    hasher: &Hasher,
    actor: &Actor,
    new: NewMaster<'_>,
    retire_former: bool,
    url: &str,
    now: OffsetDateTime,
) -> Result<MasterChanged, AccountError> {
    companies::staff_only(actor)?;
    // Checked before the password is hashed; checked again under the lock where it can change.
    let (promoted, org_id) = match &new {
        NewMaster::Existing(id) => {
            let u = find_user(db, id).await?;
            permit(actor, &u, Operation::MakeMaster)?;
            let org_id = u.org_id.filter(|_| u.role == Role::General).ok_or(AccountError::NotGeneralUser)?;
            (Some(u), org_id)
        }
        NewMaster::Create { org_id, user_id, email } => {
            check_email(email)?;
            ensure_user_id_free(db, user_id).await?;
            (None, *org_id)
        }
    };
    let password = generate_initial_password();
    let hash = hasher.hash(password.expose().to_owned()).await?;
    let txn = db.begin().await?;
    companies::lock(&txn, org_id).await?;
    let master = match (promoted, &new) {
        (Some(u), _) => {
            let changed = user::Entity::update_many()
                .col_expr(user::Column::Role, Expr::value(Role::Master))
                .col_expr(user::Column::PasswordHash, Expr::value(hash))
                .col_expr(user::Column::MustChangePassword, Expr::value(true))
                .col_expr(user::Column::UpdatedAt, Expr::value(now))
                .filter(user::Column::Id.eq(u.id))
                .filter(user::Column::Role.eq(Role::General))
                .filter(user::Column::RetiredAt.is_null())
                .exec(&txn)
                .await?;
            if changed.rows_affected != 1 {
                // Retired, or made master by someone else, since it was read.
                let now_is = user::Entity::find_by_id(u.id).one(&txn).await?.ok_or(AccountError::NotFound)?;
                return Err(if now_is.retired_at.is_some() {
                    AccountError::AlreadyRetired
                } else {
                    AccountError::NotGeneralUser
                });
            }
            lock_store::store_unlocked(&txn, u.id, now).await?;
            sessions::end_all_of_user(&txn, u.id).await?;
            u
        }
        (None, NewMaster::Create { user_id, email, .. }) => {
            let n = NewUser { user_id, org_id: Some(org_id), role: Role::Master, email, password_hash: hash };
            let u = accounts::insert_user(&txn, n, now).await?;
            record_done_to(&txn, actor, &u, Action::UserCreated, json!({"role": Role::Master.as_str()}), now).await?;
            u
        }
        (None, NewMaster::Existing(_)) => return Err(AccountError::NotFound),
    };
    let formers = user::Entity::find()
        .filter(user::Column::OrgId.eq(org_id))
        .filter(user::Column::Role.eq(Role::Master))
        .filter(user::Column::RetiredAt.is_null())
        .filter(user::Column::Id.ne(master.id))
        .all(&txn)
        .await?;
    let mut revoked = Vec::new();
    for former in &formers {
        if retire_former {
            revoked.extend(retire_in(&txn, actor, former, Some(RETIRE_REASON), url, now).await?);
        } else {
            user::Entity::update_many()
                .col_expr(user::Column::Role, Expr::value(Role::General))
                .col_expr(user::Column::UpdatedAt, Expr::value(now))
                .filter(user::Column::Id.eq(former.id))
                .exec(&txn)
                .await?;
            sessions::end_all_of_user(&txn, former.id).await?;
            let facts = templates::ChangeFacts::of(former, url, now, crate::request_context::client_address());
            let mail = templates::master_changed(&facts, &former.email, templates::MasterRole::Former);
            outbox::enqueue(&txn, mail, now).await?;
        }
    }
    let former: Vec<String> = formers.iter().map(|u| u.user_id.clone()).collect();
    let created = matches!(new, NewMaster::Create { .. });
    let detail = json!({"former": former, "former_retired": retire_former, "created": created});
    record_done_to(&txn, actor, &master, Action::MasterChanged, detail, now).await?;
    let facts = templates::ChangeFacts::of(&master, url, now, crate::request_context::client_address());
    let mail = templates::master_changed(&facts, &master.email, templates::MasterRole::New);
    outbox::enqueue(&txn, mail, now).await?;
    txn.commit().await?;
    counted(&revoked);
    if let Some(revocations) = revocations
        && !revoked.is_empty()
    {
        revocations.wake();
    }
    let master = user::Entity::find_by_id(master.id).one(db).await?.ok_or(AccountError::NotFound)?;
    Ok(MasterChanged { master, password, former, former_retired: retire_former, revoked })
}
