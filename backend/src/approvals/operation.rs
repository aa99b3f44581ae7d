//! The operations a staff member's request may only propose (`approval_required`), as data that
//! waits in `approvals` until a second staff member approves it, and the one way each is done —
//! directly (no approval needed, or a master user's own) or at approval time inside the
//! approval's transaction. Either way the answer is the same JSON.

use common::{
    UserId,
    api::{MasterChanged, PasswordReset, RetiredUser, RevocationReason, Role},
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{
    auth::{
        accounts::{self, Actor},
        companies::{self, CompanyChange},
    },
    certificates::{masters, retirement, revocation},
    db::entities::{certificate, organization, user},
    error::ApiError,
    read::{self, lists, views},
};

/// The kinds of operation `approval_required` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Kind {
    /// Revocation of a certificate by staff.
    Revoke,
    /// Unlocking or unblocking a master user.
    UnlockMaster,
    /// Resetting the password of a master user or a staff member.
    ResetPassword,
    /// A change of a company's master user.
    ChangeMaster,
    /// Suspending a company.
    Suspend,
    /// Resuming a suspended company.
    Resume,
    /// Changing a company's certificate limit.
    CertificateLimit,
    /// Retiring a staff member.
    RetireStaff,
}

impl Kind {
    /// Every kind: the default of `approval_required`.
    pub const ALL: [Kind; 8] = [
        Kind::Revoke,
        Kind::UnlockMaster,
        Kind::ResetPassword,
        Kind::ChangeMaster,
        Kind::Suspend,
        Kind::Resume,
        Kind::CertificateLimit,
        Kind::RetireStaff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Revoke => "revoke",
            Kind::UnlockMaster => "unlock_master",
            Kind::ResetPassword => "reset_password",
            Kind::ChangeMaster => "change_master",
            Kind::Suspend => "suspend",
            Kind::Resume => "resume",
            Kind::CertificateLimit => "certificate_limit",
            Kind::RetireStaff => "retire_staff",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// One operation with its parameters, as it waits for approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    Revoke {
        serial: String,
        reason: RevocationReason,
    },
    Unlock {
        user_id: String,
    },
    ResetPassword {
        user_id: String,
    },
    /// A general user made their company's master user.
    MakeMaster {
        user_id: String,
        retire_former: bool,
    },
    /// A new account made a company's master user.
    NewMaster {
        org_id: i64,
        user_id: String,
        email: String,
        retire_former: bool,
    },
    Suspend {
        org_id: i64,
    },
    Resume {
        org_id: i64,
    },
    UpdateOrganization {
        org_id: i64,
        name: Option<String>,
        certificate_limit: Option<u32>,
        force: bool,
    },
    Retire {
        user_id: String,
        reason: Option<String>,
    },
}

/// What an operation gave back: the direct route's answer, and a one-time password to hand on.
#[derive(Debug)]
pub struct Outcome {
    pub body: serde_json::Value,
    pub initial_password: Option<String>,
    pub user_id: Option<String>,
    /// Certificates were revoked: the CRL refresh is to be woken once this is committed.
    pub revoked: bool,
}

impl Outcome {
    fn of(body: impl Serialize) -> Result<Self, ApiError> {
        let body = serde_json::to_value(body).map_err(|e| ApiError::Internal(e.into()))?;
        Ok(Self { body, initial_password: None, user_id: None, revoked: false })
    }
}

/// Who or what an operation is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    pub user: Option<String>,
    pub org_id: Option<i64>,
}

impl Operation {
    /// The kind of approval this operation needs, if any kind applies to it (an unlock of a
    /// general user is not `unlock_master`). A target that does not exist needs none: the
    /// operation itself then answers 404.
    pub async fn kind<C: ConnectionTrait>(&self, db: &C) -> Result<Option<Kind>, ApiError> {
        let role = |id: &str| {
            let id = id.to_owned();
            async move {
                let u = user::Entity::find().filter(user::Column::UserId.eq(id)).one(db).await?;
                Ok::<_, sea_orm::DbErr>(u.map(|u| u.role))
            }
        };
        Ok(match self {
            Operation::Revoke { .. } => Some(Kind::Revoke),
            Operation::Unlock { user_id } => (role(user_id).await? == Some(Role::Master)).then_some(Kind::UnlockMaster),
            Operation::ResetPassword { user_id } => {
                matches!(role(user_id).await?, Some(Role::Master | Role::Staff)).then_some(Kind::ResetPassword)
            }
            Operation::MakeMaster { .. } | Operation::NewMaster { .. } => Some(Kind::ChangeMaster),
            Operation::Suspend { .. } => Some(Kind::Suspend),
            Operation::Resume { .. } => Some(Kind::Resume),
            // A change of name alone (the screen sends the limit as it is) needs none.
            Operation::UpdateOrganization { org_id, certificate_limit: Some(limit), .. } => {
                let org = organization::Entity::find_by_id(*org_id).one(db).await?;
                org.is_some_and(|o| i64::from(o.certificate_limit) != i64::from(*limit))
                    .then_some(Kind::CertificateLimit)
            }
            Operation::UpdateOrganization { .. } => None,
            Operation::Retire { user_id, .. } => {
                (role(user_id).await? == Some(Role::Staff)).then_some(Kind::RetireStaff)
            }
        })
    }

    /// Who the operation is about (an approver may not be its subject).
    pub async fn subject<C: ConnectionTrait>(&self, db: &C) -> Result<Subject, ApiError> {
        let of_user = |id: &str| Subject { user: Some(id.to_owned()), org_id: None };
        Ok(match self {
            Operation::Revoke { serial, .. } => {
                let cert = certificate::Entity::find()
                    .filter(certificate::Column::Serial.eq(serial.to_ascii_lowercase()))
                    .one(db)
                    .await?;
                cert.map(|c| Subject { user: Some(c.subject_cn), org_id: c.org_id }).unwrap_or_default()
            }
            Operation::Unlock { user_id }
            | Operation::ResetPassword { user_id }
            | Operation::MakeMaster { user_id, .. }
            | Operation::Retire { user_id, .. } => of_user(user_id),
            Operation::NewMaster { org_id, user_id, .. } => {
                Subject { user: Some(user_id.clone()), org_id: Some(*org_id) }
            }
            Operation::Suspend { org_id }
            | Operation::Resume { org_id }
            | Operation::UpdateOrganization { org_id, .. } => Subject { user: None, org_id: Some(*org_id) },
        })
    }

    /// What it does, in words, for the 承認待ち list and the mails.
    pub async fn summary<C: ConnectionTrait>(&self, db: &C) -> Result<String, ApiError> {
        let company = |id: i64| async move {
            let org = organization::Entity::find_by_id(id).one(db).await?;
            Ok::<_, sea_orm::DbErr>(org.map_or_else(|| format!("企業 #{id}"), |o| o.name))
        };
        let former =
            |retire: bool| if retire { "前任者は利用停止" } else { "前任者は一般ユーザーに" };
        Ok(match self {
            Operation::Revoke { serial, reason } => {
                let who = self.subject(db).await?.user.unwrap_or_else(|| "—".to_owned());
                format!("電子証明書の失効（{who}、シリアル {serial}、理由: {}）", reason.label())
            }
            Operation::Unlock { user_id } => format!("ロック・閉塞の解除（{user_id}）"),
            Operation::ResetPassword { user_id } => format!("パスワードの初期化（{user_id}）"),
            Operation::MakeMaster { user_id, retire_former } => {
                format!("マスターユーザー変更（{user_id} をマスターユーザーに、{}）", former(*retire_former))
            }
            Operation::NewMaster { org_id, user_id, email, retire_former } => format!(
                "マスターユーザー変更（{}: 新しい ID {user_id}、{email}、{}）",
                company(*org_id).await?,
                former(*retire_former)
            ),
            Operation::Suspend { org_id } => format!("企業の利用停止（{}）", company(*org_id).await?),
            Operation::Resume { org_id } => format!("企業の利用再開（{}）", company(*org_id).await?),
            Operation::UpdateOrganization { org_id, name, certificate_limit, .. } => {
                let mut parts = Vec::new();
                if let Some(limit) = certificate_limit {
                    parts.push(format!("証明書の上限を {limit} に"));
                }
                if let Some(name) = name {
                    parts.push(format!("名称を「{name}」に"));
                }
                format!("企業情報の変更（{}: {}）", company(*org_id).await?, parts.join("、"))
            }
            Operation::Retire { user_id, reason } => match reason {
                Some(r) => format!("職員の利用停止（{user_id}、理由: {r}）"),
                None => format!("職員の利用停止（{user_id}）"),
            },
        })
    }

    /// Does it as `actor` through `db` (a connection, or the approval's transaction: then every
    /// read and write is in it), and answers as the direct route does.
    pub async fn execute<C: crate::db::Db>(
        &self,
        s: super::Services<'_>,
        db: &C,
        actor: &Actor,
        now: OffsetDateTime,
    ) -> Result<Outcome, ApiError> {
        let url = s.url;
        let user_id = |id: &str| UserId::parse(id).map_err(|_| ApiError::NotFound);
        match self {
            Operation::Revoke { serial, reason } => {
                let c = revocation::revoke(db, actor, serial, *reason, url, now).await?;
                let mut out = Outcome::of(views::certificate_summary(&c, None, now))?;
                out.revoked = true;
                Ok(out)
            }
            Operation::Unlock { user_id: id } => {
                let u = accounts::unlock(db, actor, &user_id(id)?, now).await?;
                Outcome::of(read::user(db, &u, now).await?)
            }
            Operation::ResetPassword { user_id: id } => {
                let (u, password) = accounts::reset_password(db, s.hasher, actor, &user_id(id)?, url, now).await?;
                let initial = password.expose().to_owned();
                let mut out = Outcome::of(PasswordReset {
                    user: read::user(db, &u, now).await?,
                    initial_password: initial.clone(),
                    url: s.url.to_owned(),
                })?;
                (out.initial_password, out.user_id) = (Some(initial), Some(u.user_id));
                Ok(out)
            }
            Operation::MakeMaster { user_id: id, retire_former } => {
                let id = user_id(id)?;
                let new = masters::NewMaster::Existing(&id);
                self.master(s, db, actor, new, *retire_former, now).await
            }
            Operation::NewMaster { org_id, user_id: id, email, retire_former } => {
                let id = UserId::parse(id)?;
                let new = masters::NewMaster::Create { org_id: *org_id, user_id: &id, email: email.trim() };
                self.master(s, db, actor, new, *retire_former, now).await
            }
            Operation::Suspend { org_id } | Operation::Resume { org_id } => {
                let suspend = matches!(self, Operation::Suspend { .. });
                let org = companies::set_suspended(db, actor, *org_id, suspend, url, now).await?;
                Outcome::of(lists::organization(db, org.id).await?.ok_or(ApiError::NotFound)?)
            }
            Operation::UpdateOrganization { org_id, name, certificate_limit, force } => {
                let change =
                    CompanyChange { name: name.as_deref(), certificate_limit: *certificate_limit, force: *force };
                let org = companies::update(db, actor, *org_id, change, url, now).await?;
                Outcome::of(lists::organization(db, org.id).await?.ok_or(ApiError::NotFound)?)
            }
            Operation::Retire { user_id: id, reason } => {
                let retired = retirement::retire(db, actor, &user_id(id)?, reason.as_deref(), url, now).await?;
                let revoked = !retired.revoked.is_empty();
                let mut out = Outcome::of(RetiredUser {
                    user: read::user(db, &retired.user, now).await?,
                    revoked: retired.revoked,
                })?;
                out.revoked = revoked;
                Ok(out)
            }
        }
    }

    async fn master<C: crate::db::Db>(
        &self,
        s: super::Services<'_>,
        db: &C,
        actor: &Actor,
        new: masters::NewMaster<'_>,
        retire_former: bool,
        now: OffsetDateTime,
    ) -> Result<Outcome, ApiError> {
        let url = s.url;
        let changed = masters::change_master(None, db, s.hasher, actor, new, retire_former, url, now).await?;
        let initial = changed.password.expose().to_owned();
        let mut out = Outcome::of(MasterChanged {
            reset: PasswordReset {
                user: read::user(db, &changed.master, now).await?,
                initial_password: initial.clone(),
                url: s.url.to_owned(),
            },
            former: changed.former,
            former_retired: changed.former_retired,
            revoked: changed.revoked.clone(),
        })?;
        (out.initial_password, out.user_id, out.revoked) =
            (Some(initial), Some(changed.master.user_id.clone()), !changed.revoked.is_empty());
        Ok(out)
    }
}
