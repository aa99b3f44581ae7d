//! One module per screen (route).

pub mod browser_check;
pub mod issuance_auth;
pub mod issuance_import;
pub mod issuance_issue;
pub mod login;
pub mod not_found;
pub mod register_master;
