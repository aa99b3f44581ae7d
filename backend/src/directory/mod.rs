//! The read side: what the home, master and staff screens (and `cjs admin`) list. Queries in
//! `queries`, rows turned into the API's types in `views`.

mod queries;
pub mod views;

pub use queries::*;
