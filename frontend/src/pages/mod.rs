//! One module per screen (route), plus the parts of a screen big enough for their own file.

pub mod admin;
pub mod browser_check;
pub mod home;
pub mod issuance_auth;
pub mod issuance_import;
pub mod issuance_issue;
pub mod login;
pub mod login_form;
pub mod not_found;
pub mod register_master;
pub mod user_management;
