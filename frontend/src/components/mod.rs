//! Pieces shared by several screens.

pub mod account_actions;
pub mod credentials_form;
pub mod data_table;
pub mod form_field;
pub mod forms;
pub mod messages;
pub mod modal;
pub mod page_title;
pub mod paged_list;
pub mod software_keyboard;
pub mod step_bar;
pub mod user_list;
