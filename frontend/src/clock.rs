//! The browser's clock. `time`'s own `now_utc` does not work on `wasm32-unknown-unknown`, so the
//! current time comes from JavaScript's `Date.now()`.

use time::OffsetDateTime;

/// Now, as the browser's clock tells it (UTC).
pub fn now() -> OffsetDateTime {
    let millis = js_sys::Date::now() as i128;
    OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
