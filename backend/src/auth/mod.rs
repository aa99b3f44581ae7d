//! Accounts and password authentication: one service used by issuance, password change and login.

pub mod accounts;
pub mod password;
pub mod service;
pub mod throttle;
pub mod unknown;

pub use service::{AuthError, Authenticator, Purpose};

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
