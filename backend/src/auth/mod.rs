//! Who someone is: password authentication under R2 (one service used by issuance, password
//! change and login), the login itself and its sessions (R9), and the accounts (R1, R11).

pub mod accounts;
pub mod actor;
pub mod companies;
pub mod error;
pub mod guessable;
pub mod lock_store;
pub mod login;
pub mod password;
pub mod service;
pub mod sessions;
pub mod throttle;
pub mod unknown_ids;

pub use error::{AccountError, AuthError, LoginError};
pub use service::Authenticator;

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

    /// The purpose of the password a route (its pattern) takes, if it takes one.
    pub fn of_route(pattern: &str) -> Option<Self> {
        use common::api::paths as p;
        let route = pattern.strip_prefix(p::PREFIX)?;
        match route {
            p::ISSUANCE_AUTHENTICATE | p::ISSUANCE_ISSUE => Some(Purpose::Issuance),
            p::PASSWORD_CHANGE => Some(Purpose::PasswordChange),
            p::LOGIN => Some(Purpose::Login),
            _ => None,
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
