//! Who performs an administrative operation: the bank's shell or a logged-in user. A leaf of
//! `auth`, so that accounts, companies and sessions can each name it without importing one
//! another.

use common::api::Role;

use crate::db::entities::user;

/// Who performs an administrative operation.
#[derive(Debug, Clone)]
pub enum Actor {
    /// `cjs admin …` on the server's shell (bank operations).
    Cli,
    /// A logged-in user (a master user or bank staff).
    User(Box<user::Model>),
}

impl Actor {
    /// The role of a logged-in actor; `None` for the shell.
    pub fn role(&self) -> Option<Role> {
        match self {
            Actor::Cli => None,
            Actor::User(u) => Some(u.role),
        }
    }

    /// How the audit log names this actor.
    pub fn name(&self) -> String {
        match self {
            Actor::Cli => "cli".to_owned(),
            Actor::User(u) => u.user_id.clone(),
        }
    }
}
