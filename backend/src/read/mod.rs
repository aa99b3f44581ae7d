//! The read side: what the home, master and staff screens (and `cjs admin`) show. One-thing
//! queries in `queries`; the searched, sorted and paged lists in `lists`, built on `paging`
//! (keyset pages, capped counts), `cursor`, `search` (the checks of a search) and `sql`; the CSV
//! exports in `export`; rows turned into the API's types in `views`; the record of a certificate a
//! client presents in `presented`.

pub mod activity;
pub mod cursor;
pub mod export;
pub mod lists;
pub mod paging;
pub mod presented;
mod queries;
pub mod search;
pub(crate) mod sql;
pub mod views;

pub use paging::ListError;
pub use queries::*;
