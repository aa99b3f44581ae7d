//! The lists of the staff and master screens, searched, sorted and paged on the server: one
//! search type per list (its filters, its sort, the page size and the cursor), the [`Page`] every
//! list answers with, and the bounds the server enforces (a bigger page, a longer search text, an
//! unknown sort or a cursor that was altered is a 400).
//!
//! A search is also the screen's URL query and the CSV export's query: [`Search::pairs`] writes it
//! (empty values left out) and [`Search::from_pairs`] reads it back, so the SPA, the server and
//! a bookmark spell it the same way.
//!
//! Paging is by keyset: a cursor names the last (or first) row seen, by the sort's columns and
//! the row id, so rows inserted while someone pages never shift a page (no row twice, none
//! skipped). The total is counted up to [`COUNT_LIMIT`]; beyond it the answer says "more than".

use serde::{Deserialize, Serialize};

/// Rows per page when the request does not say.
pub const PAGE_SIZE_DEFAULT: u32 = 50;
/// The most rows one page may ask for.
pub const PAGE_SIZE_MAX: u32 = 200;
/// Rows counted at most for [`Total`]: beyond it the count says "more than" (counting millions
/// of audit entries for every page would cost more than the page).
pub const COUNT_LIMIT: u64 = 10_000;
/// The longest search text (characters) of any filter.
pub const SEARCH_MAX_CHARS: usize = 100;

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: Total,
    /// The cursor of the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// The cursor of the previous page; absent on the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
}

/// How many rows the search finds: exact up to [`COUNT_LIMIT`], else "more than `count`".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Total {
    pub count: u64,
    /// False when counting stopped at [`COUNT_LIMIT`]: there are more than `count`.
    pub exact: bool,
}

impl Total {
    /// `1,234件` or `10,000件以上`.
    pub fn label(&self) -> String {
        let n = group_thousands(self.count);
        if self.exact { format!("{n}件") } else { format!("{n}件以上") }
    }
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A list's search as URL query pairs: the SPA's address bar, the API call and the CSV export.
pub trait Search: Default + Clone + PartialEq {
    /// Its pairs, empty values left out, in a fixed order.
    fn pairs(&self) -> Vec<(&'static str, String)>;
    /// Read back from pairs (unknown keys ignored; a bad value is left for the server to refuse).
    fn from_pairs(get: &dyn Fn(&str) -> Option<String>) -> Self;
}

macro_rules! search {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
        #[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
        pub struct $name {
            $( $(#[$fmeta])* #[serde(default, skip_serializing_if = "Option::is_none")] pub $field: $ty, )*
            /// Sort: a column name, `-` in front for descending.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub sort: Option<String>,
            /// Rows per page, 1–200 (default 50).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub limit: Option<u32>,
            /// A `next` or `prev` cursor of the previous answer; absent for the first page.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub cursor: Option<String>,
        }

        impl Search for $name {
            fn pairs(&self) -> Vec<(&'static str, String)> {
                let mut out = Vec::new();
                $( if let Some(v) = &self.$field { push(&mut out, stringify!($field), v.to_string()); } )*
                if let Some(v) = &self.sort { push(&mut out, "sort", v.clone()); }
                if let Some(v) = &self.limit { push(&mut out, "limit", v.to_string()); }
                if let Some(v) = &self.cursor { push(&mut out, "cursor", v.clone()); }
                out
            }

            fn from_pairs(get: &dyn Fn(&str) -> Option<String>) -> Self {
                Self {
                    $( $field: get(stringify!($field)).filter(|v| !v.trim().is_empty()).and_then(|v| v.trim().parse().ok()), )*
                    sort: get("sort").filter(|v| !v.is_empty()),
                    limit: get("limit").and_then(|v| v.parse().ok()),
                    cursor: get("cursor").filter(|v| !v.is_empty()),
                }
            }
        }

        impl $name {
            /// The same search from its first page (a new filter or sort starts over).
            pub fn first_page(&self) -> Self {
                Self { cursor: None, ..self.clone() }
            }

            /// The filters alone: what a CSV export of this search takes.
            pub fn without_paging(&self) -> Self {
                Self { cursor: None, limit: None, ..self.clone() }
            }
        }
    };
}

fn push(out: &mut Vec<(&'static str, String)>, key: &'static str, value: String) {
    if !value.trim().is_empty() {
        out.push((key, value));
    }
}

search! {
    /// `GET /api/admin/organizations`: companies. Sorts: `name` (default), `-name`, `created_at`,
    /// `-created_at`.
    pub struct OrganizationSearch {
        /// Part of the company name; full-width and half-width forms match (NFKC), case ignored.
        q: Option<String>,
        /// The master user's ID, exactly.
        master_user_id: Option<String>,
    }
}

search! {
    /// `GET /api/admin/users` and `GET /api/org/users`: users. Sorts: `user_id` (default),
    /// `-user_id`, `organization` (company name, then ID), `-organization`, `created_at`,
    /// `-created_at`.
    pub struct UserSearch {
        /// The beginning of the user ID (letters and digits, case-sensitive).
        user_id: Option<String>,
        /// Part of the e-mail address, case ignored.
        email: Option<String>,
        /// The company (staff only).
        organization_id: Option<i64>,
        /// Part of the company name (staff only), as [`OrganizationSearch::q`].
        organization: Option<String>,
        /// `general`, `master` or `staff`.
        role: Option<String>,
        /// [`UserState`]: `locked`, `blocked`, `expiring` or `no_certificate`.
        state: Option<String>,
    }
}

search! {
    /// `GET /api/admin/certificates`. Sorts: `-created_at` (default), `created_at`, `not_after`,
    /// `-not_after`, `user_id`, `-user_id`.
    pub struct CertificateSearch {
        /// Part of the company name, as [`OrganizationSearch::q`].
        organization: Option<String>,
        organization_id: Option<i64>,
        /// The user ID, exactly.
        user_id: Option<String>,
        /// The serial number (hex, case ignored).
        serial: Option<String>,
        /// `active`, `expired` or `revoked`.
        status: Option<String>,
        /// `rsa2048` or `p256`.
        key_type: Option<String>,
    }
}

search! {
    /// `GET /api/admin/audit`. Sorts: `-at` (default, newest first) and `at`.
    pub struct AuditSearch {
        /// Entries done by this user or about them.
        user_id: Option<String>,
        /// One action (`certificate_revoked`, …).
        action: Option<String>,
        /// From this date, JST (`2026-12-01`), inclusive.
        from: Option<String>,
        /// Up to this date, JST, inclusive.
        to: Option<String>,
        /// The client address, exactly (`127.0.0.1`, `2001:db8::1`).
        client_address: Option<String>,
    }
}

search! {
    /// `GET /api/admin/mail`. Sorts: `-created_at` (default) and `created_at`.
    pub struct MailSearch {
        /// `pending`, `sent` or `failed`.
        status: Option<String>,
        /// Part of the recipient's address, case ignored.
        to: Option<String>,
    }
}

/// The state filters of the user lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserState {
    /// Locked now (the lock lifts at `locked_until`: locked until exactly now is not locked).
    Locked,
    /// Blocked (閉塞).
    Blocked,
    /// Holding an active certificate that expires within 30 days, and no later one: renewal
    /// is due (R5).
    Expiring,
    /// Never issued a certificate.
    NoCertificate,
}

impl UserState {
    pub const ALL: [UserState; 4] =
        [UserState::Locked, UserState::Blocked, UserState::Expiring, UserState::NoCertificate];

    pub fn as_str(self) -> &'static str {
        match self {
            UserState::Locked => "locked",
            UserState::Blocked => "blocked",
            UserState::Expiring => "expiring",
            UserState::NoCertificate => "no_certificate",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            UserState::Locked => "ロック中",
            UserState::Blocked => "閉塞",
            UserState::Expiring => "30日以内に期限切れ",
            UserState::NoCertificate => "電子証明書未発行",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// The CSV exports: which list, and its file's name stem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    Organizations,
    Users,
    Certificates,
    Audit,
}

impl Export {
    pub const ALL: [Export; 4] = [Export::Organizations, Export::Users, Export::Certificates, Export::Audit];

    /// The `{list}` of [`super::paths::ADMIN_EXPORT`].
    pub fn segment(self) -> &'static str {
        match self {
            Export::Organizations => "organizations",
            Export::Users => "users",
            Export::Certificates => "certificates",
            Export::Audit => "audit",
        }
    }

    pub fn parse(segment: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.segment() == segment)
    }

    /// The file name's stem: `companies_20261205-1930.csv`.
    pub fn stem(self) -> &'static str {
        match self {
            Export::Organizations => "companies",
            Export::Users => "users",
            Export::Certificates => "certificates",
            Export::Audit => "audit-log",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_say_more_than_when_counting_stopped() {
        assert_eq!(Total { count: 0, exact: true }.label(), "0件");
        assert_eq!(Total { count: 1234, exact: true }.label(), "1,234件");
        assert_eq!(Total { count: 10_000, exact: false }.label(), "10,000件以上");
        assert_eq!(Total { count: 1_000_000, exact: true }.label(), "1,000,000件");
    }

    #[test]
    fn a_search_round_trips_through_its_pairs() {
        let s = UserSearch {
            user_id: Some("abc".into()),
            organization_id: Some(7),
            state: Some("locked".into()),
            sort: Some("-created_at".into()),
            limit: Some(100),
            cursor: Some("xyz".into()),
            ..Default::default()
        };
        let pairs = s.pairs();
        let get = |k: &str| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| v.clone());
        assert_eq!(UserSearch::from_pairs(&get), s);
        assert_eq!(s.first_page().cursor, None);
        assert_eq!(s.without_paging().limit, None);
    }

    #[test]
    fn empty_values_are_left_out() {
        let s = OrganizationSearch { q: Some("  ".into()), ..Default::default() };
        assert!(s.pairs().is_empty());
        let none = |_: &str| Some(String::new());
        assert_eq!(OrganizationSearch::from_pairs(&none), OrganizationSearch::default());
    }
}
