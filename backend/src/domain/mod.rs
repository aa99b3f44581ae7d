//! The bank's rules as pure functions of state and time. No I/O here, and `now` is always a
//! parameter: the clock is read by the services that call these.

pub mod authority;
pub mod certificate;
pub mod eligibility;
pub mod lockout;
pub mod names;
pub mod reminders;
pub mod session;
pub mod validity;
