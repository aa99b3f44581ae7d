//! sea-orm entities, one module per table. Rows never leave the backend: the API has its own types.

pub mod organization {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "organizations")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub name: String,
        /// `name` as searched: NFKC, lower case (`domain::names::normalize`).
        pub name_search: String,
        pub certificate_limit: i32,
        pub created_at: TimeDateTimeWithTimeZone,
        /// While set, the company is suspended: its users are refused at authentication, issuance
        /// and login (nothing is revoked; resuming restores everything).
        pub suspended_at: Option<TimeDateTimeWithTimeZone>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod user {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub user_id: String,
        pub org_id: Option<i64>,
        pub role: common::api::Role,
        pub password_hash: String,
        pub email: String,
        pub must_change_password: bool,
        pub failures: i32,
        pub locked_until: Option<TimeDateTimeWithTimeZone>,
        pub lock_count: i32,
        pub blocked_at: Option<TimeDateTimeWithTimeZone>,
        pub version: i64,
        pub issue_seq: i64,
        /// Attempts refused while locked or blocked since the lock began (coalesced audit).
        pub refused_attempts: i32,
        pub created_at: TimeDateTimeWithTimeZone,
        pub updated_at: TimeDateTimeWithTimeZone,
        /// When the user was retired (利用停止): every login and issuance refused from then on;
        /// the row and its ID stay for the audit log's sake.
        pub retired_at: Option<TimeDateTimeWithTimeZone>,
        /// The latest notAfter among the user's unrevoked certificates, NULL when none
        /// (`certificates::certified`, kept by every transaction that issues or revokes).
        pub certified_until: Option<TimeDateTimeWithTimeZone>,
        /// When a certificate of the user was revoked for keyCompromise: the password is refused
        /// for every purpose until a reset clears this (migration 000013).
        pub password_revoked_at: Option<TimeDateTimeWithTimeZone>,
    }

    impl std::fmt::Debug for Model {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("user::Model")
                .field("id", &self.id)
                .field("user_id", &self.user_id)
                .field("role", &self.role)
                .finish_non_exhaustive()
        }
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod certificate {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "certificates")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub serial: String,
        pub user_pk: i64,
        pub org_id: Option<i64>,
        pub subject_cn: String,
        pub not_before: TimeDateTimeWithTimeZone,
        pub not_after: TimeDateTimeWithTimeZone,
        pub fingerprint_sha256: String,
        pub key_type: String,
        /// Only `Active` or `Revoked` is stored: expiry is a matter of time
        /// ([`crate::domain::certificate::status`]).
        pub status: common::api::CertificateStatus,
        pub revoked_at: Option<TimeDateTimeWithTimeZone>,
        pub revocation_reason: Option<String>,
        pub created_at: TimeDateTimeWithTimeZone,
        /// Key identifier of the CA that issued it (`None` only until the start after the
        /// migration fills it in).
        pub issuer_key_id: Option<String>,
    }

    impl Model {
        /// What the judgement of this certificate at a given time depends on.
        pub fn facts(&self) -> crate::domain::certificate::CertificateFacts {
            crate::domain::certificate::CertificateFacts {
                stored: self.status,
                not_before: self.not_before,
                not_after: self.not_after,
            }
        }
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod audit_log {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_log")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub at: TimeDateTimeWithTimeZone,
        pub actor: Option<String>,
        pub action: String,
        pub subject_user: Option<String>,
        pub org_id: Option<i64>,
        pub detail: String,
        /// The client's IP address (text), when the entry was made while serving a request.
        pub client_address: Option<String>,
        /// The ID of the request it was made in (`X-Request-Id`, and on that request's log lines).
        pub request_id: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// One link of the audit log's hash chain (`audit::chain`).
pub mod audit_chain {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_chain")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        pub entry_id: i64,
        /// Hex of SHA-256(previous link's hash ‖ the entry's canonical encoding).
        pub hash: String,
        pub sealed_at: TimeDateTimeWithTimeZone,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A signed chain head (`audit::checkpoint`).
pub mod audit_checkpoint {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_checkpoints")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub seq: i64,
        pub at: TimeDateTimeWithTimeZone,
        /// The signed text.
        pub document: String,
        /// Base64 of the DER ECDSA signature of `document`.
        pub signature: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A request for a second staff member's approval (`approvals`).
pub mod approval {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "approvals")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub kind: String,
        /// The operation (`approvals::Operation`) as JSON.
        pub operation: String,
        pub summary: String,
        pub subject_user: Option<String>,
        pub org_id: Option<i64>,
        pub proposed_by: String,
        pub proposed_at: TimeDateTimeWithTimeZone,
        pub expires_at: TimeDateTimeWithTimeZone,
        /// pending, approved, rejected, expired or failed.
        pub state: String,
        pub decided_by: Option<String>,
        pub decided_at: Option<TimeDateTimeWithTimeZone>,
        pub reason: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod mail_outbox {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "mail_outbox")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub dedupe_key: String,
        pub to_addr: String,
        pub subject: String,
        pub body: String,
        pub status: common::api::MailStatus,
        pub attempts: i32,
        pub last_error: Option<String>,
        pub next_attempt_at: TimeDateTimeWithTimeZone,
        pub sent_at: Option<TimeDateTimeWithTimeZone>,
        pub created_at: TimeDateTimeWithTimeZone,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod used_token {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "used_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub jti: String,
        pub used_at: TimeDateTimeWithTimeZone,
        pub expires_at: TimeDateTimeWithTimeZone,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod session {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id_hash: String,
        pub user_pk: i64,
        pub cert_serial: String,
        pub created_at: TimeDateTimeWithTimeZone,
        pub last_seen_at: TimeDateTimeWithTimeZone,
        pub expires_at: TimeDateTimeWithTimeZone,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod crl {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "crls")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub number: i64,
        pub this_update: TimeDateTimeWithTimeZone,
        pub next_update: TimeDateTimeWithTimeZone,
        pub der: Vec<u8>,
        /// The revocation counter's value when this CRL's list was read: it holds every
        /// revocation up to it.
        pub revocations: i64,
        /// Key identifier of the CA that signed it.
        pub issuer_key_id: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod ocsp_answer {
    //! A pre-produced OCSP answer of one certificate (see `crate::certificates::ocsp`).
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "ocsp_answers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub serial: String,
        /// The certificate's status the answer gives; served only while it still has it.
        pub status: common::api::CertificateStatus,
        /// SHA-256 of the DER CertID it answers.
        pub id_key: Vec<u8>,
        /// The signed OCSPResponse.
        pub der: Vec<u8>,
        pub this_update: TimeDateTimeWithTimeZone,
        pub next_update: TimeDateTimeWithTimeZone,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod revocation_counter {
    //! One row (`id` 1): how many revocations were ever committed.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "revocation_counter")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub revocations: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod unknown_id_lockout {
    //! The R2 lock state of an ID that has no account, so a lock answers alike for both.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "unknown_id_lockouts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        pub failures: i32,
        pub locked_until: Option<TimeDateTimeWithTimeZone>,
        pub lock_count: i32,
        pub blocked_at: Option<TimeDateTimeWithTimeZone>,
        pub refused_attempts: i32,
        pub version: i64,
        pub updated_at: TimeDateTimeWithTimeZone,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
