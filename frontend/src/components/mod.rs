//! Pieces shared by several screens.

pub mod form_field;
pub mod messages;
pub mod modal;
pub mod software_keyboard;
pub mod step_bar;
