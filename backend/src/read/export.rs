//! CSV exports of what a staff search finds (companies, users, certificates, audit log), for
//! Excel in Japan: UTF-8 with a byte-order mark, times in JST, and every cell that a spreadsheet
//! would take for a formula (`=`, `+`, `-`, `@`, tab, carriage return first) made inert with a
//! leading `'` (OWASP's CSV injection advice).
//!
//! The rows are read [`CHUNK`] at a time by the list's own keyset query and written out as they
//! come, so memory stays bounded whatever the size of the result; the stream is pulled as fast
//! as the client reads it.

use common::api::{
    AccountState, AuditEntry, CertificateStatus, CertificateSummary, OrganizationSummary, UserSummary,
    list::{AuditSearch, CertificateSearch, Export, OrganizationSearch, UserSearch},
};
use common::jst;
use sea_orm::{DatabaseConnection, DbErr, QueryResult};
use time::OffsetDateTime;

use super::{
    cursor::{Cursor, Key},
    lists::{self as q, UserScope},
    paging::ListQuery,
    search::SearchError,
};

/// Rows read per query while exporting.
pub const CHUNK: u64 = 1000;

/// The UTF-8 byte-order mark Excel needs to read the file as UTF-8.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `companies_20261205193000.csv`: what it is and when it was made (JST).
pub fn file_name(export: Export, now: OffsetDateTime) -> String {
    format!("{}_{}.csv", export.stem(), jst::format_compact(now))
}

/// A cell as written: a leading formula character is neutralised with `'`.
pub fn inert(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// `2026-12-05 19:30:00` in JST (Excel reads it as a date and time).
fn time_cell(t: OffsetDateTime) -> String {
    jst::format_spreadsheet(t)
}

/// 閉塞 / ロック中 / 初期パスワード未変更 / 正常, as the screens say it (`frontend/src/labels.rs`,
/// which adds the lock's end time).
fn account_state(state: &AccountState, now: OffsetDateTime) -> &'static str {
    if state.blocked {
        "閉塞"
    } else if state.locked_until.is_some_and(|t| t > now) {
        "ロック中"
    } else if state.must_change_password {
        "初期パスワード未変更"
    } else {
        "正常"
    }
}

/// One export, its search checked: which list, its query, and the moment it judges states at.
pub struct Plan {
    pub export: Export,
    query: ListQuery<'static>,
    now: OffsetDateTime,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan").field("export", &self.export).finish_non_exhaustive()
    }
}

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new())
}

/// The rows after `cursor` (the first ones without), [`CHUNK`] of them, read by `row` and written
/// as CSV by `cells`: the bytes, and the cursor after them (`None` at the end).
async fn chunk<T>(
    query: &ListQuery<'static>,
    db: &DatabaseConnection,
    cursor: Option<&Cursor>,
    row: &impl Fn(&QueryResult) -> Result<(T, Key), DbErr>,
    cells: fn(&T, OffsetDateTime) -> Vec<String>,
    now: OffsetDateTime,
) -> Result<(Vec<u8>, Option<Cursor>), DbErr> {
    let (items, next, _) = query.rows(db, cursor, CHUNK, row).await?;
    let mut w = writer();
    for item in &items {
        let record: Vec<String> = cells(item, now).iter().map(|c| inert(c).into_owned()).collect();
        w.write_record(&record).map_err(|e| DbErr::Custom(format!("CSV: {e}")))?;
    }
    let bytes = w.into_inner().map_err(|e| DbErr::Custom(format!("CSV: {e}")))?;
    Ok((bytes, next.and_then(|n| query.decode(&n))))
}

fn organization_cells(o: &OrganizationSummary, _now: OffsetDateTime) -> Vec<String> {
    vec![
        o.id.to_string(),
        o.name.clone(),
        o.master_user_id.clone().unwrap_or_default(),
        o.users.to_string(),
        o.certificate_limit.to_string(),
        time_cell(o.created_at),
    ]
}

fn user_cells(u: &UserSummary, now: OffsetDateTime) -> Vec<String> {
    let c = u.certificate.as_ref();
    vec![
        u.user_id.clone(),
        u.role.label().to_owned(),
        u.organization.clone().unwrap_or_default(),
        u.email.clone(),
        account_state(&u.state, now).to_owned(),
        u.state.failures.to_string(),
        c.map_or("未発行", |c| c.status.label()).to_owned(),
        c.map(|c| time_cell(c.not_after)).unwrap_or_default(),
    ]
}

fn certificate_cells(c: &CertificateSummary, _now: OffsetDateTime) -> Vec<String> {
    vec![
        c.serial.clone(),
        c.user_id.clone(),
        c.organization.clone().unwrap_or_default(),
        c.key_type.clone().unwrap_or_default(),
        time_cell(c.not_before),
        time_cell(c.not_after),
        c.status.label().to_owned(),
        c.revoked_at.map(time_cell).unwrap_or_default(),
        match c.status {
            CertificateStatus::Revoked => c.revocation_reason.map(|r| r.label().to_owned()).unwrap_or_default(),
            _ => String::new(),
        },
    ]
}

fn audit_cells(a: &AuditEntry, _now: OffsetDateTime) -> Vec<String> {
    vec![
        a.id.to_string(),
        time_cell(a.at),
        a.actor.clone().unwrap_or_else(|| "本人".to_owned()),
        a.action.clone(),
        a.subject_user.clone().unwrap_or_default(),
        a.organization_id.map(|id| id.to_string()).unwrap_or_default(),
        a.client_address.clone().unwrap_or_default(),
        a.request_id.clone().unwrap_or_default(),
        a.detail.clone(),
    ]
}

/// The CSV header of each export.
const ORGANIZATION_COLUMNS: &[&str] =
    &["会社ID", "会社名", "マスターユーザーID", "利用者数", "証明書上限", "登録日時（日本時間）"];
const USER_COLUMNS: &[&str] = &[
    "ユーザーID",
    "権限",
    "会社",
    "メールアドレス",
    "状態",
    "失敗回数",
    "電子証明書",
    "電子証明書の有効期限（日本時間）",
];
const CERTIFICATE_COLUMNS: &[&str] = &[
    "シリアル番号",
    "ユーザーID",
    "会社",
    "鍵の種類",
    "有効期間の開始（日本時間）",
    "有効期間の終了（日本時間）",
    "状態",
    "失効日時（日本時間）",
    "失効理由",
];
const AUDIT_COLUMNS: &[&str] =
    &["ID", "日時（日本時間）", "実行者", "操作", "対象ユーザー", "会社ID", "接続元", "要求ID", "詳細"];

/// The export of `export` for the query string `query` (the list's search), checked: a bad
/// search is refused before anything is read.
pub fn plan(export: Export, query: &str, now: OffsetDateTime, sqlite: bool) -> Result<Plan, SearchError> {
    fn parse<T: serde::de::DeserializeOwned>(query: &str) -> Result<T, SearchError> {
        serde_urlencoded::from_str(query).map_err(|_| SearchError::new("query", "検索条件の形式が正しくありません。"))
    }
    // Exports walk the whole result: the page size and cursor of the screen do not apply.
    let query = match export {
        Export::Organizations => q::organization_query(&parse::<OrganizationSearch>(query)?.without_paging())?,
        Export::Users => q::user_query(&parse::<UserSearch>(query)?.without_paging(), UserScope::All, now, sqlite)?,
        Export::Certificates => q::certificate_query(&parse::<CertificateSearch>(query)?.without_paging(), now)?,
        Export::Audit => q::audit_query(&parse::<AuditSearch>(query)?.without_paging(), sqlite)?,
    };
    Ok(Plan { export, query, now })
}

impl Plan {
    /// The CSV header.
    fn header(&self) -> &'static [&'static str] {
        match self.export {
            Export::Organizations => ORGANIZATION_COLUMNS,
            Export::Users => USER_COLUMNS,
            Export::Certificates => CERTIFICATE_COLUMNS,
            Export::Audit => AUDIT_COLUMNS,
        }
    }

    /// The chunk after `cursor`, as CSV (see [`chunk`]).
    async fn write_chunk(
        &self,
        db: &DatabaseConnection,
        cursor: Option<Cursor>,
    ) -> Result<(Vec<u8>, Option<Cursor>), DbErr> {
        let (query, now, cursor) = (&self.query, self.now, cursor.as_ref());
        let sort = query.sort;
        match self.export {
            Export::Organizations => {
                chunk(query, db, cursor, &q::organization_row(sort), organization_cells, now).await
            }
            Export::Users => chunk(query, db, cursor, &q::user_row(sort, now), user_cells, now).await,
            Export::Certificates => {
                chunk(query, db, cursor, &q::certificate_row(sort, now), certificate_cells, now).await
            }
            Export::Audit => chunk(query, db, cursor, &q::audit_row, audit_cells, now).await,
        }
    }

    /// Every row the search finds (the audit entry states it before the file leaves).
    pub async fn count(&self, db: &DatabaseConnection) -> Result<u64, DbErr> {
        self.query.count_all(db).await
    }

    /// The search as the audit entry records it.
    pub fn search(&self) -> String {
        self.query.describe()
    }

    /// The file, chunk by chunk: the BOM and the header first, then [`CHUNK`] rows at a time.
    pub fn stream(
        self,
        db: DatabaseConnection,
    ) -> impl futures_util::Stream<Item = Result<actix_web::web::Bytes, actix_web::Error>> + 'static {
        enum State {
            Header,
            Rows(Option<Cursor>),
            Done,
        }
        let plan = std::sync::Arc::new(self);
        futures_util::stream::unfold(State::Header, move |state| {
            let (plan, db) = (plan.clone(), db.clone());
            async move {
                match state {
                    State::Done => None,
                    State::Header => {
                        let mut w = writer();
                        let header: Vec<&str> = plan.header().to_vec();
                        let mut bytes = BOM.to_vec();
                        if w.write_record(&header).is_ok()
                            && let Ok(head) = w.into_inner()
                        {
                            bytes.extend(head);
                        }
                        Some((Ok(actix_web::web::Bytes::from(bytes)), State::Rows(None)))
                    }
                    State::Rows(cursor) => {
                        let first = cursor.is_none();
                        match plan.write_chunk(&db, cursor).await {
                            Ok((bytes, Some(next))) => Some((Ok(bytes.into()), State::Rows(Some(next)))),
                            Ok((bytes, None)) => Some((Ok(bytes.into()), State::Done)),
                            Err(e) => {
                                // The header is out: the only way left to say it failed is to
                                // break the transfer, so the file is never taken for complete.
                                tracing::error!(error = %e, first, "CSV export failed while streaming");
                                Some((Err(actix_web::error::ErrorInternalServerError("export failed")), State::Done))
                            }
                        }
                    }
                }
            }
        })
    }
}
