//! Mail the manual promises (R2, R6). Each mail is a row of the outbox written in the same
//! transaction as the event that causes it; delivery reads the outbox.

pub mod outbox;
pub mod reminders;
pub mod settings;
pub mod templates;
pub mod worker;
