//! Account operations shared by the CLI and the API: creating organizations and users with
//! one-time initial passwords (R11), changing a password (and the e-mail address; the owner is
//! told by mail), lifting a lock or block (R2), resetting a password, and changing another
//! user's e-mail address. Who may act on whom is
//! [`crate::domain::authority`]'s rule.

use common::{Field, Password, UserId, api::Role};
use rand::Rng;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use time::OffsetDateTime;

pub use super::actor::Actor;
use super::{
    AccountError, AuthError, Authenticator, Purpose, companies::check_company_name, guessable, lock_store,
    password::Hasher, sessions,
};
use crate::{
    audit::{self, Action},
    db::entities::{organization, user},
    domain::authority::{self, Operation, Party, Verdict},
    mail::{outbox, templates},
};

/// Characters of generated passwords: no 0/O, 1/l/I, so a letter can be typed from paper.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/// A strong one-time initial password: 12 characters, letters and digits mixed (R1), never one
/// the blocklist or its service words would refuse ([`guessable`]; random ones never are).
pub fn generate_initial_password() -> Password {
    let mut rng = rand::rng();
    loop {
        let s: String = (0..12).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
        if let Ok(p) = Password::parse(Field::Password, &s)
            && guessable::check(p.expose(), "").is_ok()
        {
            return p;
        }
    }
}

/// `password`, chosen by a person for `user_id` in `field`, unless an attacker would guess it first.
fn check_chosen(password: &Password, user_id: &UserId, field: Field) -> Result<(), AccountError> {
    guessable::check(password.expose(), user_id.as_str()).map_err(|why| AccountError::Guessable { field, why })
}

/// A minimal e-mail check: one `@`, something on both sides, a dot in the domain, no spaces.
pub fn check_email(email: &str) -> Result<(), AccountError> {
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(email.split_once('@'), Some((l, d)) if !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.') && !d.contains('@'));
    if ok { Ok(()) } else { Err(AccountError::InvalidEmail) }
}

/// The person a new account is for, as given by the creator.
#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    pub user_id: &'a UserId,
    pub email: &'a str,
    /// The one-time initial password; generated when `None`.
    pub password: Option<Password>,
}

/// Data for a new user row.
pub(crate) struct NewUser<'a> {
    pub(crate) user_id: &'a UserId,
    pub(crate) org_id: Option<i64>,
    pub(crate) role: Role,
    pub(crate) email: &'a str,
    pub(crate) password_hash: String,
}

/// A user row as a new account starts: no failures, no lock, version 0. Also used by the
/// benchmarks to bulk-insert accounts.
pub fn new_user_row(
    user_id: String,
    org_id: Option<i64>,
    role: Role,
    password_hash: String,
    email: String,
    must_change_password: bool,
    now: OffsetDateTime,
) -> user::ActiveModel {
    user::ActiveModel {
        user_id: Set(user_id),
        org_id: Set(org_id),
        role: Set(role),
        password_hash: Set(password_hash),
        email: Set(email),
        must_change_password: Set(must_change_password),
        failures: Set(0),
        locked_until: Set(None),
        lock_count: Set(0),
        blocked_at: Set(None),
        version: Set(0),
        issue_seq: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

pub(crate) async fn insert_user<C: sea_orm::ConnectionTrait>(
    db: &C,
    n: NewUser<'_>,
    now: OffsetDateTime,
) -> Result<user::Model, sea_orm::DbErr> {
    let row =
        new_user_row(n.user_id.as_str().to_owned(), n.org_id, n.role, n.password_hash, n.email.to_owned(), true, now);
    row.insert(db).await
}

pub(crate) async fn ensure_user_id_free<C: sea_orm::ConnectionTrait>(
    db: &C,
    user_id: &UserId,
) -> Result<(), AccountError> {
    if user::Entity::find().filter(user::Column::UserId.eq(user_id.as_str())).one(db).await?.is_some() {
        return Err(AccountError::UserIdTaken(user_id.to_string()));
    }
    Ok(())
}

/// Creates an organization and its master user. Returns the organization and the one-time
/// initial password (the given one, or a generated one).
pub async fn create_organization(
    db: &DatabaseConnection,
    hasher: &Hasher,
    name: &str,
    certificate_limit: u32,
    master: NewAccount<'_>,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<(organization::Model, Password), AccountError> {
    let NewAccount { user_id: master_id, email, password } = master;
    let name = check_company_name(name)?;
    check_email(email)?;
    if let Some(given) = &password {
        check_chosen(given, master_id, Field::Password)?;
    }
    ensure_user_id_free(db, master_id).await?;
    if organization::Entity::find().filter(organization::Column::Name.eq(name)).one(db).await?.is_some() {
        return Err(AccountError::CompanyNameTaken(name.to_owned()));
    }
    let password = password.unwrap_or_else(generate_initial_password);
    let password_hash = hasher.hash(password.expose().to_owned()).await?;
    let txn = db.begin().await?;
    let org = organization::ActiveModel {
        name: Set(name.to_owned()),
        name_search: Set(crate::domain::names::normalize(name)),
        certificate_limit: Set(i32::try_from(certificate_limit).unwrap_or(i32::MAX)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let master = insert_user(
        &txn,
        NewUser { user_id: master_id, org_id: Some(org.id), role: Role::Master, email, password_hash },
        now,
    )
    .await?;
    let actor_name = actor.name();
    audit::record(
        &txn,
        audit::Entry {
            action: Action::OrganizationCreated,
            actor: Some(&actor_name),
            subject_user: Some(&master.user_id),
            org_id: Some(org.id),
            detail: json!({"name": org.name}),
        },
        now,
    )
    .await?;
    audit::record(
        &txn,
        audit::Entry {
            action: Action::UserCreated,
            actor: Some(&actor_name),
            subject_user: Some(&master.user_id),
            org_id: Some(org.id),
            detail: json!({"role": Role::Master.as_str()}),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok((org, password))
}

/// Creates a user of `role` (staff: no organization). Returns the one-time initial password.
pub async fn create_user(
    db: &DatabaseConnection,
    hasher: &Hasher,
    account: NewAccount<'_>,
    role: Role,
    org_id: Option<i64>,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<(user::Model, Password), AccountError> {
    let NewAccount { user_id, email, password } = account;
    check_email(email)?;
    if let Some(given) = &password {
        check_chosen(given, user_id, Field::Password)?;
    }
    ensure_user_id_free(db, user_id).await?;
    let password = password.unwrap_or_else(generate_initial_password);
    let password_hash = hasher.hash(password.expose().to_owned()).await?;
    let txn = db.begin().await?;
    let u = insert_user(&txn, NewUser { user_id, org_id, role, email, password_hash }, now).await?;
    let actor_name = actor.name();
    audit::record(
        &txn,
        audit::Entry {
            action: Action::UserCreated,
            actor: Some(&actor_name),
            subject_user: Some(&u.user_id),
            org_id,
            detail: json!({"role": role.as_str()}),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok((u, password))
}

/// The fields of a password change, still unparsed (as typed).
#[derive(Clone)]
pub struct PasswordChangeInput<'a> {
    pub user_id: &'a str,
    pub current: &'a str,
    pub new: &'a str,
    pub email: Option<&'a str>,
    /// The session cookie the change came with, if any: that session is kept when it is the
    /// user's own; every other session of the user ends.
    pub session: Option<&'a str>,
}

/// Replaces a password (R11: this is how a one-time initial password is replaced). The current
/// password is authenticated under R2 first. Every other session of the user ends in the same
/// transaction (ASVS: whoever knew the old password may be logged in); the session the change
/// came from, when it is the user's own, is kept.
pub async fn change_password(
    auth: &Authenticator,
    input: PasswordChangeInput<'_>,
    now: OffsetDateTime,
) -> Result<user::Model, AccountError> {
    let user_id = UserId::parse(input.user_id)?;
    let current = Password::parse(Field::CurrentPassword, input.current)?;
    let new = Password::parse(Field::NewPassword, input.new)?;
    if new == current {
        return Err(AccountError::SamePassword);
    }
    // Before the current password is checked: a refused choice costs no attempt and says nothing
    // about the account.
    check_chosen(&new, &user_id, Field::NewPassword)?;
    if let Some(email) = input.email {
        check_email(email)?;
    }
    let u = match auth.authenticate(&user_id, &current, Purpose::PasswordChange, now).await {
        Ok(u) => u,
        Err(AuthError::PasswordChangeRequired { user }) => *user,
        Err(e) => return Err(e.into()),
    };
    let new_hash = auth.hasher.hash(new.expose().to_owned()).await?;
    let txn = auth.db.begin().await?;
    let mut update = user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(new_hash))
        .col_expr(user::Column::MustChangePassword, Expr::value(false))
        .col_expr(user::Column::Version, Expr::col(user::Column::Version).add(1))
        .col_expr(user::Column::UpdatedAt, Expr::value(now));
    if let Some(email) = input.email {
        update = update.col_expr(user::Column::Email, Expr::value(email.to_owned()));
    }
    // Only if the password is still the one just verified: the same initial password cannot be
    // used for two concurrent changes (R11).
    let changed = update
        .filter(user::Column::Id.eq(u.id))
        .filter(user::Column::PasswordHash.eq(u.password_hash.clone()))
        .exec(&txn)
        .await?;
    if changed.rows_affected != 1 {
        txn.rollback().await?;
        return Err(AuthError::InvalidCredentials.into());
    }
    let ended = sessions::end_all_of_user_but(&txn, u.id, input.session).await?;
    audit::record(
        &txn,
        audit::Entry {
            action: Action::PasswordChanged,
            actor: None,
            subject_user: Some(&u.user_id),
            org_id: u.org_id,
            detail: json!({
                "initial": u.must_change_password,
                "email_changed": input.email.is_some_and(|e| e != u.email),
                "sessions_ended": ended,
            }),
        },
        now,
    )
    .await?;
    notify_owner_of_change(&txn, &u, input.email, &auth.public_url, now).await?;
    txn.commit().await?;
    user::Entity::find_by_id(u.id).one(&auth.db).await?.ok_or(AccountError::NotFound)
}

/// Queues, in the transaction of a password change, the owner's notices: the password change to
/// the address on record before it (so someone who changes both cannot hide it), and when the
/// address changes, a notice to the old and to the new address.
///
/// The replacement of a one-time initial password is notified too: the initial password travels
/// on paper, and if someone else used the letter first, this mail to the address the bank or the
/// master user registered is how the owner learns of it. For the owner it is one expected mail
/// right after registering.
async fn notify_owner_of_change<C: sea_orm::ConnectionTrait>(
    txn: &C,
    u: &user::Model,
    new_email: Option<&str>,
    url: &str,
    now: OffsetDateTime,
) -> Result<(), sea_orm::DbErr> {
    let facts = templates::ChangeFacts::of(u, url, now, crate::request_context::client_address());
    let mut mails = vec![templates::password_changed(&facts, &u.email)];
    if let Some(new) = new_email.filter(|new| *new != u.email) {
        mails.extend(templates::email_changed(&facts, &u.email, new, None));
    }
    outbox::enqueue_many(txn, mails, now).await?;
    Ok(())
}

/// Whether `actor` may do `op` to `target` ([`authority::decide`]), as the refusal it is.
pub fn permit(actor: &Actor, target: &user::Model, op: Operation) -> Result<(), AccountError> {
    let party = |u: &user::Model| Party { id: u.id, role: u.role, org_id: u.org_id };
    let actor = match actor {
        Actor::Cli => None,
        Actor::User(a) => Some(party(a)),
    };
    match authority::decide(actor, party(target), target.retired_at.is_some(), op) {
        Verdict::Allowed => Ok(()),
        Verdict::Hidden => Err(AccountError::NotFound),
        Verdict::Forbidden => Err(AccountError::Forbidden),
        Verdict::Retired => Err(AccountError::AlreadyRetired),
    }
}

/// The user `target` names, or `NotFound`.
pub async fn find_user<C: sea_orm::ConnectionTrait>(db: &C, target: &UserId) -> Result<user::Model, AccountError> {
    user::Entity::find().filter(user::Column::UserId.eq(target.as_str())).one(db).await?.ok_or(AccountError::NotFound)
}

/// The audit entry of `actor` doing `action` to `u`, in the transaction of the change.
pub async fn record_done_to<C: sea_orm::ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    u: &user::Model,
    action: Action,
    detail: serde_json::Value,
    now: OffsetDateTime,
) -> Result<(), sea_orm::DbErr> {
    let actor_name = actor.name();
    let entry =
        audit::Entry { action, actor: Some(&actor_name), subject_user: Some(&u.user_id), org_id: u.org_id, detail };
    audit::record(txn, entry, now).await
}

/// The lock state a change lifted, as its audit entry states it.
fn lock_detail(u: &user::Model) -> serde_json::Value {
    json!({"was_locked_until": u.locked_until.map(|t| t.unix_timestamp()), "was_blocked": u.blocked_at.is_some()})
}

/// Lifts the lock or block of `target` (R2): the state becomes [`crate::domain::lockout::unlocked`].
pub async fn unlock<C: crate::db::Db>(
    db: &C,
    actor: &Actor,
    target: &UserId,
    now: OffsetDateTime,
) -> Result<user::Model, AccountError> {
    let u = find_user(db, target).await?;
    permit(actor, &u, Operation::Unlock)?;
    let txn = db.begin().await?;
    lock_store::store_unlocked(&txn, u.id, now).await?;
    let mut detail = lock_detail(&u);
    detail["refused_while_locked"] = json!(u.refused_attempts);
    record_done_to(&txn, actor, &u, Action::Unlocked, detail, now).await?;
    txn.commit().await?;
    crate::metrics::metrics().unlocks.inc();
    user::Entity::find_by_id(u.id).one(db).await?.ok_or(AccountError::NotFound)
}

/// Resets the password of `target` to a new one-time initial password (R11), shown once to the
/// actor (staff print it on 「ご利用開始(変更)のお知らせ」; a master hands it over). In one
/// transaction: the password, a lock or block lifted (R2), every session of the user ended, the
/// audit entry and the owner's notice. A user retired meanwhile is refused and nothing changes.
pub async fn reset_password<C: crate::db::Db>(
    db: &C,
    hasher: &Hasher,
    actor: &Actor,
    target: &UserId,
    url: &str,
    now: OffsetDateTime,
) -> Result<(user::Model, Password), AccountError> {
    let u = find_user(db, target).await?;
    permit(actor, &u, Operation::ResetPassword)?;
    let password = generate_initial_password();
    let hash = hasher.hash(password.expose().to_owned()).await?;
    let txn = db.begin().await?;
    // The password first, under the row's lock: a login verifying the old one opens no session
    // after this commits (`sessions::lock_unchanged_user`), and the sessions ended below include
    // any opened before.
    let changed = user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .col_expr(user::Column::MustChangePassword, Expr::value(true))
        .col_expr(user::Column::PasswordRevokedAt, Expr::value(Option::<OffsetDateTime>::None))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(u.id))
        .filter(user::Column::RetiredAt.is_null())
        .exec(&txn)
        .await?;
    if changed.rows_affected != 1 {
        txn.rollback().await?;
        return Err(AccountError::AlreadyRetired);
    }
    lock_store::store_unlocked(&txn, u.id, now).await?;
    let ended = sessions::end_all_of_user(&txn, u.id).await?;
    let mut detail = lock_detail(&u);
    detail["sessions_ended"] = json!(ended);
    detail["password_revocation_lifted"] = json!(u.password_revoked_at.is_some());
    record_done_to(&txn, actor, &u, Action::PasswordReset, detail, now).await?;
    let facts = templates::ChangeFacts::of(&u, url, now, crate::request_context::client_address());
    let by = templates::changed_by(actor.role());
    outbox::enqueue(&txn, templates::password_reset(&facts, &u.email, by), now).await?;
    txn.commit().await?;
    let u = user::Entity::find_by_id(u.id).one(db).await?.ok_or(AccountError::NotFound)?;
    Ok((u, password))
}

/// Changes the e-mail address of `target` as `actor` (a master user: their company's general
/// users; staff and the shell: anyone). In one transaction: the address, the audit entry (both
/// addresses), and a notice to the old address and to the new one, saying who changed it.
pub async fn change_email<C: crate::db::Db>(
    db: &C,
    actor: &Actor,
    target: &UserId,
    email: &str,
    url: &str,
    now: OffsetDateTime,
) -> Result<user::Model, AccountError> {
    let email = email.trim();
    check_email(email)?;
    let u = find_user(db, target).await?;
    permit(actor, &u, Operation::ChangeEmail)?;
    if u.email == email {
        return Err(AccountError::SameEmail);
    }
    let txn = db.begin().await?;
    let changed = user::Entity::update_many()
        .col_expr(user::Column::Email, Expr::value(email))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(u.id))
        .filter(user::Column::RetiredAt.is_null())
        .exec(&txn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(AccountError::AlreadyRetired);
    }
    record_done_to(&txn, actor, &u, Action::EmailChanged, json!({"from": u.email, "to": email}), now).await?;
    let facts = templates::ChangeFacts::of(&u, url, now, crate::request_context::client_address());
    let by = templates::changed_by(actor.role());
    outbox::enqueue_many(&txn, templates::email_changed(&facts, &u.email, email, Some(by)).into(), now).await?;
    txn.commit().await?;
    user::Entity::find_by_id(u.id).one(db).await?.ok_or(AccountError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_satisfy_r1_and_differ() {
        let a = generate_initial_password();
        let b = generate_initial_password();
        assert_eq!(a.expose().len(), 12);
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn email_check() {
        assert!(check_email("taro@example.co.jp").is_ok());
        for bad in ["", "taro", "taro@", "@x.jp", "a b@x.jp", "a@x", "a@@x.jp"] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }
}
