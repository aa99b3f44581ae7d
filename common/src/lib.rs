//! Types shared by the backend and the WASM frontend.
//!
//! This crate builds for both the host and `wasm32-unknown-unknown`; it has no I/O and no async
//! runtime. The frontend validates forms with exactly the same R1 rules the server enforces, and
//! both speak the same request/response and error types.

pub mod api;
pub mod credentials;
pub mod error;
pub mod jst;
pub mod testids;

pub use credentials::{Field, FormatError, Password, UserId};
pub use error::{ErrorBody, ErrorCode};
