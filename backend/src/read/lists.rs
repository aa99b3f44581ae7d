//! The searched, sorted and paged lists of the staff and master screens (and their CSV
//! exports): companies, users, certificates, the audit log and the mail outbox. Each turns its
//! search into a [`ListQuery`] (filters as bound SQL, a sort column, the page size) and its rows
//! into the API's types.

use common::api::{
    AuditEntry, CertificateSummary, MailEntry, OrganizationSummary, Role, UserSummary,
    list::{AuditSearch, CertificateSearch, MailSearch, OrganizationSearch, Page, Search, UserSearch, UserState},
};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, IdenStatic, Iterable, QueryResult};
use time::OffsetDateTime;

use super::{
    cursor::Key,
    paging::{KeyKind, ListError, ListQuery, SortColumn},
    search::{self, SearchError, Sort},
    sql::Sql,
    views,
};
use crate::{
    db::entities::{audit_log, certificate, mail_outbox, user},
    domain::certificate::RENEWAL_WINDOW,
};

/// `alias.col AS prefix_col, …` of every column of an entity.
fn prefixed<C: IdenStatic + Iterable>(alias: &str, prefix: &str) -> String {
    C::iter().map(|c| format!("{alias}.{0} AS {prefix}{0}", c.as_str())).collect::<Vec<_>>().join(", ")
}

/// The search as text for cursor binding: its filter pairs, trimmed (sort and paging apart).
fn fingerprint(search: &impl Search) -> String {
    search
        .pairs()
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "sort" | "limit" | "cursor"))
        .map(|(k, v)| format!("{k}={}", v.trim()))
        .collect::<Vec<_>>()
        .join("&")
}

fn column(columns: &[SortColumn], sort: Sort) -> SortColumn {
    // `search::sort` only returns names of `columns`.
    columns.iter().copied().find(|c| c.name == sort.column).unwrap_or(columns[0])
}

fn names(columns: &[SortColumn]) -> Vec<&'static str> {
    columns.iter().map(|c| c.name).collect()
}

/// `column LIKE pattern ESCAPE '\'` for part of a text (already normalised by the caller).
fn like(column: &str, part: &str) -> Sql {
    Sql::with(&format!("{column} LIKE ? ESCAPE '\\'"), [search::contains_pattern(part).into()])
}

/// Companies whose normalised name holds `part` (as typed: full-width and half-width alike).
fn org_name_filter(id_column: &str, part: &str) -> Sql {
    let mut q = Sql::new(&format!("{id_column} IN (SELECT id FROM organizations WHERE "));
    q.append(&like("name_search", &crate::domain::names::normalize(part))).push(")");
    q
}

// ---- Companies ----

const ORG_SORTS: &[SortColumn] = &[
    SortColumn { name: "name", expr: "o.name", kind: KeyKind::Text },
    SortColumn { name: "created_at", expr: "o.created_at", kind: KeyKind::Time },
];

const ORG_COLUMNS: &str = "o.id, o.name, o.certificate_limit, o.created_at, o.suspended_at, \
     (SELECT m.user_id FROM users m WHERE m.org_id = o.id AND m.role = 'master' ORDER BY m.id LIMIT 1) AS master_user_id, \
     (SELECT COUNT(*) FROM users n WHERE n.org_id = o.id) AS users";

#[derive(Debug, FromQueryResult)]
struct OrgRow {
    id: i64,
    name: String,
    certificate_limit: i32,
    created_at: OffsetDateTime,
    suspended_at: Option<OffsetDateTime>,
    master_user_id: Option<String>,
    users: i64,
}

impl OrgRow {
    fn summary(self) -> OrganizationSummary {
        OrganizationSummary {
            id: self.id,
            name: self.name,
            master_user_id: self.master_user_id,
            users: u32::try_from(self.users).unwrap_or(u32::MAX),
            certificate_limit: u32::try_from(self.certificate_limit).unwrap_or(0),
            created_at: self.created_at,
            suspended_at: self.suspended_at,
        }
    }
}

pub(super) fn organization_query(s: &OrganizationSearch) -> Result<ListQuery<'static>, SearchError> {
    let sort = search::sort(&s.sort, &names(ORG_SORTS), Sort { column: "name", descending: false })?;
    let mut filters = Vec::new();
    if let Some(q) = search::text("q", &s.q)? {
        filters.push(like("o.name_search", &crate::domain::names::normalize(&q)));
    }
    if let Some(id) = search::user_id_prefix("master_user_id", &s.master_user_id)? {
        filters.push(Sql::with(
            "EXISTS (SELECT 1 FROM users m WHERE m.org_id = o.id AND m.role = 'master' AND m.user_id = ?)",
            [id.into()],
        ));
    }
    Ok(ListQuery {
        list: "organizations",
        columns: ORG_COLUMNS,
        from: "FROM organizations o",
        count_from: "FROM organizations o",
        outer: None,
        id: "o.id",
        filters,
        fingerprint: fingerprint(s),
        sort,
        column: column(ORG_SORTS, sort),
        limit: search::page_size(s.limit)?,
        cursor: s.cursor.clone(),
    })
}

pub(super) fn organization_row(sort: Sort) -> impl Fn(&QueryResult) -> Result<(OrganizationSummary, Key), DbErr> {
    move |r| {
        let row = OrgRow::from_query_result(r, "")?;
        let key = if sort.column == "created_at" { Key::time(row.created_at) } else { Key::Text(row.name.clone()) };
        Ok((row.summary(), key))
    }
}

/// `GET /api/admin/organizations`.
pub async fn organizations<C: ConnectionTrait>(
    db: &C,
    s: &OrganizationSearch,
) -> Result<Page<OrganizationSummary>, ListError> {
    let q = organization_query(s)?;
    q.page(db, organization_row(q.sort)).await
}

/// One company as the lists show it (after its registration, on its detail page).
pub async fn organization<C: ConnectionTrait>(db: &C, id: i64) -> Result<Option<OrganizationSummary>, DbErr> {
    let mut q = Sql::new(&format!("SELECT {ORG_COLUMNS} FROM organizations o WHERE o.id = "));
    q.bind(id);
    let row = db.query_one_raw(q.statement(db.get_database_backend())).await?;
    row.map(|r| OrgRow::from_query_result(&r, "").map(OrgRow::summary)).transpose()
}

// ---- Users ----

const USER_SORTS: &[SortColumn] = &[
    SortColumn { name: "user_id", expr: "u.user_id", kind: KeyKind::Text },
    SortColumn { name: "organization", expr: "COALESCE(o.name, '')", kind: KeyKind::Text },
    SortColumn { name: "created_at", expr: "u.created_at", kind: KeyKind::Time },
];

/// Whose users a list shows: any (staff) or one company's (its master user).
#[derive(Debug, Clone, Copy)]
pub enum UserScope {
    All,
    Organization(i64),
}

fn user_state_filter(state: UserState, now: OffsetDateTime) -> Sql {
    match state {
        UserState::Locked => Sql::with("u.locked_until > ?", [now.into()]),
        UserState::Blocked => Sql::new("u.blocked_at IS NOT NULL"),
        // Renewal is due: an active certificate in its last 30 days, and none that lasts longer,
        // which is the user's latest unrevoked notAfter (`certificates::certified`) in the window:
        // one range of its index, whatever the number of certificates.
        UserState::Expiring => {
            Sql::with("u.certified_until > ? AND u.certified_until <= ?", [now.into(), (now + RENEWAL_WINDOW).into()])
        }
        UserState::NoCertificate => Sql::new("NOT EXISTS (SELECT 1 FROM certificates x WHERE x.user_pk = u.id)"),
    }
}

pub(super) fn user_query(
    s: &UserSearch,
    scope: UserScope,
    now: OffsetDateTime,
    sqlite: bool,
) -> Result<ListQuery<'static>, SearchError> {
    let sort = search::sort(&s.sort, &names(USER_SORTS), Sort { column: "user_id", descending: false })?;
    let mut filters = Vec::new();
    if let Some(prefix) = search::user_id_prefix("user_id", &s.user_id)? {
        // Letters and digits only (checked), so no wildcard needs escaping; both are
        // case-sensitive, as user IDs are.
        filters.push(if sqlite {
            Sql::with("u.user_id GLOB ?", [format!("{prefix}*").into()])
        } else {
            Sql::with("u.user_id LIKE ?", [format!("{prefix}%").into()])
        });
    }
    if let Some(email) = search::text("email", &s.email)? {
        filters.push(like("LOWER(u.email)", &email.to_lowercase()));
    }
    if let Some(role) =
        search::one_of("role", &s.role, &[Role::General.as_str(), Role::Master.as_str(), Role::Staff.as_str()])?
    {
        filters.push(Sql::with("u.role = ?", [role.into()]));
    }
    if let Some(state) = search::text("state", &s.state)? {
        let state = UserState::parse(&state).ok_or_else(|| {
            SearchError::new("state", "状態は locked、blocked、expiring、no_certificate のいずれかを指定してください。")
        })?;
        filters.push(user_state_filter(state, now));
    }
    match scope {
        UserScope::Organization(org) => filters.push(Sql::with("u.org_id = ?", [org.into()])),
        UserScope::All => {
            if let Some(org) = s.organization_id {
                filters.push(Sql::with("u.org_id = ?", [org.into()]));
            }
            if let Some(part) = search::text("organization", &s.organization)? {
                filters.push(org_name_filter("u.org_id", &part));
            }
        }
    }
    Ok(ListQuery {
        list: match scope {
            UserScope::All => "users",
            UserScope::Organization(_) => "org-users",
        },
        columns: USER_COLUMNS.as_str(),
        from: "FROM users u LEFT JOIN organizations o ON o.id = u.org_id",
        count_from: "FROM users u",
        outer: Some((CERT_COLUMNS.as_str(), NEWEST_CERTIFICATE_JOIN)),
        id: "u.id",
        filters,
        fingerprint: fingerprint(s),
        sort,
        column: column(USER_SORTS, sort),
        limit: search::page_size(s.limit)?,
        cursor: s.cursor.clone(),
    })
}

static USER_COLUMNS: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("{}, o.name AS o_name", prefixed::<user::Column>("u", "u_")));
static CERT_COLUMNS: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| prefixed::<certificate::Column>("c", "c_"));
/// Each user's newest certificate, for the page's rows only.
const NEWEST_CERTIFICATE_JOIN: &str = "LEFT JOIN certificates c ON c.id = \
     (SELECT n.id FROM certificates n WHERE n.user_pk = p.u_id ORDER BY n.created_at DESC, n.id DESC LIMIT 1)";

pub(super) fn user_row(sort: Sort, now: OffsetDateTime) -> impl Fn(&QueryResult) -> Result<(UserSummary, Key), DbErr> {
    move |r| {
        let u = user::Model::from_query_result(r, "u_")?;
        let org: Option<String> = r.try_get("", "o_name")?;
        let newest = match r.try_get::<Option<i64>>("", "c_id")? {
            Some(_) => Some(certificate::Model::from_query_result(r, "c_")?),
            None => None,
        };
        let key = match sort.column {
            "organization" => Key::Text(org.clone().unwrap_or_default()),
            "created_at" => Key::time(u.created_at),
            _ => Key::Text(u.user_id.clone()),
        };
        Ok((views::user_summary(&u, org, newest.as_ref(), now), key))
    }
}

/// `GET /api/admin/users` (scope all) and `GET /api/org/users` (one company).
pub async fn users<C: ConnectionTrait>(
    db: &C,
    s: &UserSearch,
    scope: UserScope,
    now: OffsetDateTime,
) -> Result<Page<UserSummary>, ListError> {
    let q = user_query(s, scope, now, db.get_database_backend() == sea_orm::DbBackend::Sqlite)?;
    q.page(db, user_row(q.sort, now)).await
}

// ---- Certificates ----

const CERT_SORTS: &[SortColumn] = &[
    SortColumn { name: "created_at", expr: "c.created_at", kind: KeyKind::Time },
    SortColumn { name: "not_after", expr: "c.not_after", kind: KeyKind::Time },
    SortColumn { name: "user_id", expr: "c.subject_cn", kind: KeyKind::Text },
];

static CERT_LIST_COLUMNS: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("{}, o.name AS o_name", prefixed::<certificate::Column>("c", "c_")));

pub(super) fn certificate_query(s: &CertificateSearch, now: OffsetDateTime) -> Result<ListQuery<'static>, SearchError> {
    let sort = search::sort(&s.sort, &names(CERT_SORTS), Sort { column: "created_at", descending: true })?;
    let mut filters = Vec::new();
    if let Some(part) = search::text("organization", &s.organization)? {
        filters.push(org_name_filter("c.org_id", &part));
    }
    if let Some(org) = s.organization_id {
        filters.push(Sql::with("c.org_id = ?", [org.into()]));
    }
    if let Some(uid) = search::text("user_id", &s.user_id)? {
        filters.push(Sql::with("c.subject_cn = ?", [uid.into()]));
    }
    if let Some(serial) = search::text("serial", &s.serial)? {
        filters.push(Sql::with("c.serial = ?", [serial.to_ascii_lowercase().into()]));
    }
    // The SQL of domain::certificate::status: expired from not_after on.
    match search::one_of("status", &s.status, &["active", "expired", "revoked"])?.as_deref() {
        Some("active") => filters.push(Sql::with("c.status = 'active' AND c.not_after > ?", [now.into()])),
        Some("expired") => filters.push(Sql::with("c.status = 'active' AND c.not_after <= ?", [now.into()])),
        Some(_) => filters.push(Sql::new("c.status = 'revoked'")),
        None => {}
    }
    if let Some(kt) = search::one_of("key_type", &s.key_type, &["rsa2048", "p256"])? {
        filters.push(Sql::with("c.key_type = ?", [kt.into()]));
    }
    Ok(ListQuery {
        list: "certificates",
        columns: CERT_LIST_COLUMNS.as_str(),
        from: "FROM certificates c LEFT JOIN organizations o ON o.id = c.org_id",
        count_from: "FROM certificates c",
        outer: None,
        id: "c.id",
        filters,
        fingerprint: fingerprint(s),
        sort,
        column: column(CERT_SORTS, sort),
        limit: search::page_size(s.limit)?,
        cursor: s.cursor.clone(),
    })
}

pub(super) fn certificate_row(
    sort: Sort,
    now: OffsetDateTime,
) -> impl Fn(&QueryResult) -> Result<(CertificateSummary, Key), DbErr> {
    move |r| {
        let c = certificate::Model::from_query_result(r, "c_")?;
        let org: Option<String> = r.try_get("", "o_name")?;
        let key = match sort.column {
            "not_after" => Key::time(c.not_after),
            "user_id" => Key::Text(c.subject_cn.clone()),
            _ => Key::time(c.created_at),
        };
        Ok((views::certificate_summary(&c, org, now), key))
    }
}

/// `GET /api/admin/certificates`.
pub async fn certificates<C: ConnectionTrait>(
    db: &C,
    s: &CertificateSearch,
    now: OffsetDateTime,
) -> Result<Page<CertificateSummary>, ListError> {
    let q = certificate_query(s, now)?;
    q.page(db, certificate_row(q.sort, now)).await
}

// ---- Audit log ----

/// By time, then id (entries are written in time order; one index serves each filter with it).
const AUDIT_SORTS: &[SortColumn] = &[SortColumn { name: "at", expr: "a.at", kind: KeyKind::Time }];

pub(super) fn audit_query(s: &AuditSearch, sqlite: bool) -> Result<ListQuery<'static>, SearchError> {
    let sort = search::sort(&s.sort, &names(AUDIT_SORTS), Sort { column: "at", descending: true })?;
    let mut filters = Vec::new();
    if let Some(uid) = search::text("user_id", &s.user_id)? {
        filters.push(Sql::with("a.subject_user = ? OR a.actor = ?", [uid.clone().into(), uid.into()]));
    }
    if let Some(action) = search::text("action", &s.action)? {
        filters.push(Sql::with("a.action = ?", [action.into()]));
    }
    let (from, to) = search::jst_range(&s.from, &s.to)?;
    if let Some(from) = from {
        filters.push(Sql::with("a.at >= ?", [search::range_bound(from, sqlite)]));
    }
    if let Some(to) = to {
        filters.push(Sql::with("a.at < ?", [search::range_bound(to, sqlite)]));
    }
    if let Some(address) = search::text("client_address", &s.client_address)? {
        filters.push(Sql::with("a.client_address = ?", [address.into()]));
    }
    Ok(ListQuery {
        list: "audit",
        columns: "a.*",
        from: "FROM audit_log a",
        count_from: "FROM audit_log a",
        outer: None,
        id: "a.id",
        filters,
        fingerprint: fingerprint(s),
        sort,
        column: AUDIT_SORTS[0],
        limit: search::page_size(s.limit)?,
        cursor: s.cursor.clone(),
    })
}

pub fn audit_entry(a: audit_log::Model) -> AuditEntry {
    AuditEntry {
        id: a.id,
        at: a.at,
        actor: a.actor,
        action: a.action,
        subject_user: a.subject_user,
        organization_id: a.org_id,
        detail: a.detail,
        client_address: a.client_address,
        request_id: a.request_id,
    }
}

pub(super) fn audit_row(r: &QueryResult) -> Result<(AuditEntry, Key), DbErr> {
    let a = audit_log::Model::from_query_result(r, "")?;
    let key = Key::time(a.at);
    Ok((audit_entry(a), key))
}

/// `GET /api/admin/audit`.
pub async fn audit<C: ConnectionTrait>(db: &C, s: &AuditSearch) -> Result<Page<AuditEntry>, ListError> {
    audit_query(s, db.get_database_backend() == sea_orm::DbBackend::Sqlite)?.page(db, audit_row).await
}

/// The newest `limit` entries of a search, any number (`cjs admin audit --limit`).
pub async fn audit_latest<C: ConnectionTrait>(
    db: &C,
    s: &AuditSearch,
    limit: u64,
) -> Result<Vec<AuditEntry>, ListError> {
    let q = audit_query(
        &AuditSearch { limit: None, cursor: None, ..s.clone() },
        db.get_database_backend() == sea_orm::DbBackend::Sqlite,
    )?;
    Ok(q.rows(db, None, limit, &audit_row).await?.0)
}

// ---- Mail ----

const MAIL_SORTS: &[SortColumn] = &[SortColumn { name: "created_at", expr: "m.id", kind: KeyKind::Int }];

/// `GET /api/admin/mail`.
pub async fn mail<C: ConnectionTrait>(db: &C, s: &MailSearch) -> Result<Page<MailEntry>, ListError> {
    let sort = search::sort(&s.sort, &names(MAIL_SORTS), Sort { column: "created_at", descending: true })?;
    let mut filters = Vec::new();
    if let Some(status) = search::one_of("status", &s.status, &["pending", "sent", "failed"])? {
        filters.push(Sql::with("m.status = ?", [status.into()]));
    }
    if let Some(to) = search::text("to", &s.to)? {
        filters.push(like("LOWER(m.to_addr)", &to.to_lowercase()));
    }
    let q = ListQuery {
        list: "mail",
        columns: "m.*",
        from: "FROM mail_outbox m",
        count_from: "FROM mail_outbox m",
        outer: None,
        id: "m.id",
        filters,
        fingerprint: fingerprint(s),
        sort,
        column: MAIL_SORTS[0],
        limit: search::page_size(s.limit)?,
        cursor: s.cursor.clone(),
    };
    q.page(db, |r| {
        let m = mail_outbox::Model::from_query_result(r, "")?;
        let key = Key::Int(m.id);
        Ok((mail_entry(m), key))
    })
    .await
}

pub fn mail_entry(m: mail_outbox::Model) -> MailEntry {
    MailEntry {
        id: m.id,
        created_at: m.created_at,
        to: m.to_addr,
        subject: m.subject,
        status: m.status,
        attempts: u32::try_from(m.attempts).unwrap_or(0),
        last_error: m.last_error,
        sent_at: m.sent_at,
        next_attempt_at: Some(m.next_attempt_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_searches_name_their_field() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let field = |r: Result<ListQuery<'static>, SearchError>| r.unwrap_err().field;
        assert_eq!(
            field(organization_query(&OrganizationSearch { sort: Some("x".into()), ..Default::default() })),
            "sort"
        );
        assert_eq!(field(organization_query(&OrganizationSearch { limit: Some(201), ..Default::default() })), "limit");
        assert_eq!(
            field(user_query(
                &UserSearch { state: Some("happy".into()), ..Default::default() },
                UserScope::All,
                now,
                true
            )),
            "state"
        );
        assert_eq!(
            field(certificate_query(&CertificateSearch { key_type: Some("dsa".into()), ..Default::default() }, now)),
            "key_type"
        );
        assert_eq!(
            field(audit_query(&AuditSearch { from: Some("yesterday".into()), ..Default::default() }, false)),
            "from"
        );
    }
}
