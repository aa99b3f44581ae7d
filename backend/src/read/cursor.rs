//! Keyset cursors: where a page of a list starts, as the sort key and the row id of the row next
//! to it, bound to the search it was made for.
//!
//! A cursor is `base64url(json) "." checksum`, where the checksum is the first 12 bytes of
//! SHA-256 over the JSON and the search's fingerprint. An altered cursor, or one carried over to
//! another search or sort, fails the check and the request gets a 400 rather than some other
//! page. The checksum is not keyed: a cursor only names a position in a result its holder may
//! read in full anyway, so a forged one reaches nothing a plain search would not.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// The longest cursor accepted (a company name of 100 characters fits several times).
const MAX_LEN: usize = 1024;

/// The sort key of the row a page starts next to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Key {
    Text(String),
    Int(i64),
    /// Unix time in nanoseconds (what the database gave back, to the digit).
    Time(i128),
}

impl Key {
    pub fn time(t: OffsetDateTime) -> Self {
        Key::Time(t.unix_timestamp_nanos())
    }
}

/// Which side of the named row the page lies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    /// The rows after it in the sort order (次へ).
    After,
    /// The rows before it (前へ).
    Before,
}

/// A decoded cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub side: Side,
    pub key: Key,
    pub id: i64,
}

/// The cursor is not one this server made for this search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid cursor")]
pub struct InvalidCursor;

fn checksum(json: &[u8], search: &str) -> [u8; 12] {
    let mut hasher = Sha256::new();
    hasher.update((json.len() as u64).to_be_bytes());
    hasher.update(json);
    hasher.update(search.as_bytes());
    let digest = hasher.finalize();
    let mut out = [0u8; 12];
    out.copy_from_slice(&digest[..12]);
    out
}

impl Cursor {
    /// The cursor as sent to the client, bound to `search` (the search's fingerprint: its list,
    /// filters and sort).
    pub fn encode(&self, search: &str) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&json), URL_SAFE_NO_PAD.encode(checksum(&json, search)))
    }

    /// The cursor `text` if it was made by [`Cursor::encode`] for the same `search`.
    pub fn decode(text: &str, search: &str) -> Result<Self, InvalidCursor> {
        if text.len() > MAX_LEN {
            return Err(InvalidCursor);
        }
        let (body, sum) = text.split_once('.').ok_or(InvalidCursor)?;
        let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| InvalidCursor)?;
        let sum = URL_SAFE_NO_PAD.decode(sum).map_err(|_| InvalidCursor)?;
        if sum != checksum(&json, search) {
            return Err(InvalidCursor);
        }
        serde_json::from_slice(&json).map_err(|_| InvalidCursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Cursor {
        Cursor { side: Side::After, key: Key::Text("テスト株式会社".into()), id: 42 }
    }

    #[test]
    fn a_cursor_round_trips_for_its_own_search() {
        let c = sample();
        assert_eq!(Cursor::decode(&c.encode("orgs|name|q=x"), "orgs|name|q=x"), Ok(c));
        let t = Cursor { side: Side::Before, key: Key::time(OffsetDateTime::UNIX_EPOCH), id: -1 };
        assert_eq!(Cursor::decode(&t.encode("s"), "s"), Ok(t));
    }

    #[test]
    fn a_cursor_of_another_search_or_sort_is_refused() {
        let text = sample().encode("orgs|name|q=x");
        assert_eq!(Cursor::decode(&text, "orgs|name|q=y"), Err(InvalidCursor));
        assert_eq!(Cursor::decode(&text, "orgs|-name|q=x"), Err(InvalidCursor));
    }

    #[test]
    fn every_altered_character_is_refused() {
        let text = sample().encode("s");
        for i in 0..text.len() {
            let mut bytes = text.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            if altered != text {
                assert_eq!(Cursor::decode(&altered, "s"), Err(InvalidCursor), "position {i}");
            }
        }
    }

    #[test]
    fn garbage_is_refused() {
        for text in ["", ".", "abc", "abc.def", "!!.!!", &"A".repeat(MAX_LEN + 1)] {
            assert_eq!(Cursor::decode(text, "s"), Err(InvalidCursor), "{text}");
        }
    }
}
