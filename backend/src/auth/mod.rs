//! Accounts and password authentication: one service used by issuance, password change and login.

pub mod accounts;
pub mod error;
pub mod lock_store;
pub mod password;
pub mod service;
pub mod throttle;
pub mod unknown;

pub use error::AuthError;
pub use lock_store::role_of;
pub use service::Authenticator;

/// A user's role (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// 一般ユーザー
    General,
    /// マスターユーザー
    Master,
    /// 労金 staff
    Staff,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::General => "general",
            Role::Master => "master",
            Role::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "general" => Some(Role::General),
            "master" => Some(Role::Master),
            "staff" => Some(Role::Staff),
            _ => None,
        }
    }
}

/// Why an authentication is needed; recorded in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Issuance,
    PasswordChange,
    Login,
}

impl Purpose {
    /// The password queue of this purpose: a login has presented a valid client certificate of
    /// this CA before its password is checked (`api::session::login`), so it does not wait behind
    /// a flood of attempts anyone can make.
    pub fn lane(self) -> password::Lane {
        match self {
            Purpose::Login => password::Lane::Certified,
            Purpose::Issuance | Purpose::PasswordChange => password::Lane::Open,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Issuance => "issuance",
            Purpose::PasswordChange => "password_change",
            Purpose::Login => "login",
        }
    }
}
