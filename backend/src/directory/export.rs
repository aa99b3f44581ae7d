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

type RowFn<T> = Box<dyn Fn(&QueryResult) -> Result<(T, Key), DbErr> + Send + Sync>;

/// One export, its search checked: the query, how each row is read and written, the header.
pub struct Plan {
    pub export: Export,
    query: ListQuery<'static>,
    write: WriteChunk,
    header: &'static [&'static str],
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan").field("export", &self.export).finish_non_exhaustive()
    }
}

/// Reads and writes the chunk after a cursor (the first chunk without one).
type WriteChunk = Box<dyn Fn(&DatabaseConnection, Option<Cursor>) -> ChunkFuture + Send + Sync>;

/// The next chunk: its CSV bytes, and the cursor after it (`None` at the end).
type ChunkFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(Vec<u8>, Option<Cursor>), DbErr>> + Send>>;

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new())
}

fn chunk_fn<T: Send + 'static>(
    query: ListQuery<'static>,
    row: RowFn<T>,
    cells: fn(&T, OffsetDateTime) -> Vec<String>,
    now: OffsetDateTime,
) -> WriteChunk {
    let query = std::sync::Arc::new(query);
    let row = std::sync::Arc::new(row);
    Box::new(move |db: &DatabaseConnection, cursor: Option<Cursor>| {
        let (db, query, row) = (db.clone(), query.clone(), row.clone());
        Box::pin(async move {
            let (items, next, _) = query.rows(&db, cursor.as_ref(), CHUNK, &|r| row(r)).await?;
            let mut w = writer();
            for item in &items {
                let record: Vec<String> = cells(item, now).iter().map(|c| inert(c).into_owned()).collect();
                w.write_record(&record).map_err(|e| DbErr::Custom(format!("CSV: {e}")))?;
            }
            let bytes = w.into_inner().map_err(|e| DbErr::Custom(format!("CSV: {e}")))?;
            Ok((bytes, next.and_then(|n| query.decode(&n))))
        })
    })
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

/// The export of `export` for the query string `query` (the list's search), checked: a bad
/// search is refused before anything is read.
pub fn plan(export: Export, query: &str, now: OffsetDateTime, sqlite: bool) -> Result<Plan, SearchError> {
    fn parse<T: serde::de::DeserializeOwned>(query: &str) -> Result<T, SearchError> {
        serde_urlencoded::from_str(query).map_err(|_| SearchError::new("query", "検索条件の形式が正しくありません。"))
    }
    // Exports walk the whole result: the page size and cursor of the screen do not apply.
    Ok(match export {
        Export::Organizations => {
            let s = parse::<OrganizationSearch>(query)?.without_paging();
            let query = q::organization_query(&s)?;
            let row: RowFn<OrganizationSummary> = Box::new(q::organization_row(query.sort));
            Plan {
                export,
                write: chunk_fn(query.clone(), row, organization_cells, now),
                query,
                header: &["会社ID", "会社名", "マスターユーザーID", "利用者数", "証明書上限", "登録日時（日本時間）"],
            }
        }
        Export::Users => {
            let s = parse::<UserSearch>(query)?.without_paging();
            let query = q::user_query(&s, UserScope::All, now, sqlite)?;
            let row: RowFn<UserSummary> = Box::new(q::user_row(query.sort, now));
            Plan {
                export,
                write: chunk_fn(query.clone(), row, user_cells, now),
                query,
                header: &[
                    "ユーザーID",
                    "権限",
                    "会社",
                    "メールアドレス",
                    "状態",
                    "失敗回数",
                    "電子証明書",
                    "電子証明書の有効期限（日本時間）",
                ],
            }
        }
        Export::Certificates => {
            let s = parse::<CertificateSearch>(query)?.without_paging();
            let query = q::certificate_query(&s, now)?;
            let row: RowFn<CertificateSummary> = Box::new(q::certificate_row(query.sort, now));
            Plan {
                export,
                write: chunk_fn(query.clone(), row, certificate_cells, now),
                query,
                header: &[
                    "シリアル番号",
                    "ユーザーID",
                    "会社",
                    "鍵の種類",
                    "有効期間の開始（日本時間）",
                    "有効期間の終了（日本時間）",
                    "状態",
                    "失効日時（日本時間）",
                    "失効理由",
                ],
            }
        }
        Export::Audit => {
            let s = parse::<AuditSearch>(query)?.without_paging();
            let query = q::audit_query(&s)?;
            let row: RowFn<AuditEntry> = Box::new(q::audit_row);
            Plan {
                export,
                write: chunk_fn(query.clone(), row, audit_cells, now),
                query,
                header: &[
                    "ID",
                    "日時（日本時間）",
                    "実行者",
                    "操作",
                    "対象ユーザー",
                    "会社ID",
                    "接続元",
                    "要求ID",
                    "詳細",
                ],
            }
        }
    })
}

impl Plan {
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
                        let header: Vec<&str> = plan.header.to_vec();
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
                        match (plan.write)(&db, cursor).await {
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
