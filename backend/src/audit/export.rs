//! The export for auditors (`cjs admin audit export`, and the staff screen's 監査ログ tab): the
//! entries of a span of days (JST) in chain order with their hashes, the hash before the first
//! (so that the chain is recomputed from there), and the checkpoints that cover them — the span is
//! extended to the first checkpoint at or after its last entry, so that the last one is anchored
//! too. An auditor verifies it offline: `hash = SHA-256(previous hash ‖ the entry's fields as
//! compact JSON in the order given)`, and each checkpoint's signature with the audit key they
//! hold (`openssl dgst -sha384 -verify`). Read in pages: memory stays bounded.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder};
use serde::Serialize;
use time::{Date, OffsetDateTime};

use super::{
    chain::{self, Canonical, GENESIS},
    checkpoint::Signed,
    key::Verifier,
};
use crate::{
    db::entities::{audit_chain, audit_checkpoint},
    read::sql::Sql,
};

/// Links read per page.
const PAGE: u64 = 2_000;

/// The two formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Jsonl,
}

/// The header line of a JSON Lines export (and the first row of a CSV one).
#[derive(Debug, Serialize)]
struct Header<'a> {
    record: &'static str,
    from: String,
    to: String,
    first_seq: i64,
    last_seq: i64,
    prev_hash: String,
    public_key: String,
    how: &'a str,
}

const HOW: &str = "hash = SHA-256(prev_hash octets || UTF-8 of the entry's fields from seq to request_id as compact JSON, \
                   in that order); the first entry's prev_hash is given here, each next one's is the hash before it. \
                   Each checkpoint's document is signed (ECDSA P-384, SHA-384, DER, base64) with the audit key.";

#[derive(Debug, Serialize)]
struct EntryLine<'a> {
    record: &'static str,
    #[serde(flatten)]
    fields: Canonical<'a>,
    hash: &'a str,
}

#[derive(Debug, Serialize)]
struct CheckpointLine<'a> {
    record: &'static str,
    #[serde(flatten)]
    signed: &'a Signed,
}

#[derive(Debug, FromQueryResult)]
struct Span {
    lo: Option<i64>,
    hi: Option<i64>,
}

/// An export being written, a page at a time.
#[derive(Debug)]
pub struct Export {
    format: Format,
    verifier: Verifier,
    from: Date,
    to: Date,
    /// The span of sequence numbers (None: nothing in those days).
    span: Option<(i64, i64)>,
    /// The next link to write.
    next: i64,
    header_done: bool,
    done: bool,
}

impl Export {
    /// The export of the days `from` to `to` (JST, both included).
    pub async fn plan<C: ConnectionTrait>(
        db: &C,
        verifier: Verifier,
        from: Date,
        to: Date,
        format: Format,
    ) -> Result<Self, DbErr> {
        // In UTC, as the times are stored. SQLite compares them as text (`…T15:00:00.5Z`), where
        // `.` sorts before `Z`: a midnight bound is given there without its `Z`
        // (`…T15:00:00`), which every time of that second or later exceeds.
        let backend = db.get_database_backend();
        let bound = |t: OffsetDateTime| crate::read::search::range_bound(t, backend == sea_orm::DbBackend::Sqlite);
        // The calendar's last day (9999-12-31) has no next midnight: it runs to the log's end.
        let (start, end) = (common::jst::day_bounds(from).0, common::jst::day_bounds(to).1);
        let end = end.unwrap_or(time::macros::datetime!(9999-12-31 23:59:59.999999 UTC));
        let (start, end) = (bound(start), bound(end));
        let span = Span::find_by_statement(
            Sql::with(
                "SELECT MIN(c.seq) AS lo, MAX(c.seq) AS hi FROM audit_chain c JOIN audit_log a ON a.id = c.entry_id \
                 WHERE a.at >= ? AND a.at < ?",
                [start, end],
            )
            .statement(backend),
        )
        .one(db)
        .await?;
        let span = match span {
            Some(Span { lo: Some(lo), hi: Some(hi) }) => {
                let covering = audit_checkpoint::Entity::find()
                    .filter(audit_checkpoint::Column::Seq.gte(hi))
                    .order_by_asc(audit_checkpoint::Column::Seq)
                    .one(db)
                    .await?;
                Some((lo, covering.map_or(hi, |c| c.seq)))
            }
            _ => None,
        };
        let next = span.map_or(0, |(lo, _)| lo);
        Ok(Self { format, verifier, from, to, span, next, header_done: false, done: false })
    }

    /// How many entries it holds.
    pub fn entries(&self) -> i64 {
        self.span.map_or(0, |(lo, hi)| hi - lo + 1)
    }

    /// The next piece of the file, `None` at its end.
    pub async fn next_chunk<C: ConnectionTrait>(&mut self, db: &C) -> Result<Option<Vec<u8>>, DbErr> {
        if self.done {
            return Ok(None);
        }
        let mut out = Vec::new();
        if !self.header_done {
            self.header_done = true;
            let prev = match self.span {
                Some((lo, _)) if lo > 1 => audit_chain::Entity::find_by_id(lo - 1).one(db).await?.map(|l| l.hash),
                _ => None,
            };
            let (first_seq, last_seq) = self.span.unwrap_or((0, 0));
            let header = Header {
                record: "export",
                from: self.from.to_string(),
                to: self.to.to_string(),
                first_seq,
                last_seq,
                prev_hash: prev.unwrap_or_else(|| hex::encode(GENESIS)),
                public_key: self.verifier.to_pem(),
                how: HOW,
            };
            match self.format {
                Format::Jsonl => line(&mut out, &header),
                Format::Csv => {
                    out.extend(crate::read::export::BOM);
                    let mut w = csv_writer(&mut out);
                    let _ = w.write_record(CSV_HEADER);
                    let _ = w.write_record([
                        "export",
                        &first_seq.to_string(),
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        &format!("{} – {} / {}", header.from, header.to, HOW),
                        "",
                        "",
                        &header.prev_hash,
                        &header.public_key,
                    ]);
                }
            }
            return Ok(Some(out));
        }
        let Some((_, hi)) = self.span else {
            self.done = true;
            return Ok(None);
        };
        if self.next <= hi {
            let rows = chain::links_after(db, self.next - 1, Some(hi), PAGE).await?;
            if rows.is_empty() {
                self.next = hi + 1;
            }
            let mut w = csv_writer(&mut out);
            let mut lines = Vec::new();
            for row in &rows {
                self.next = row.seq + 1;
                let Some(e) = row.entry() else { continue };
                let fields = Canonical::of(row.seq, &e);
                match self.format {
                    Format::Jsonl => line(&mut lines, &EntryLine { record: "entry", fields, hash: &row.hash }),
                    Format::Csv => {
                        let _ = w.write_record([
                            "entry",
                            &row.seq.to_string(),
                            &e.id.to_string(),
                            &fields.at,
                            e.actor.as_deref().unwrap_or(""),
                            &e.action,
                            e.subject_user.as_deref().unwrap_or(""),
                            &e.org_id.map(|o| o.to_string()).unwrap_or_default(),
                            &crate::read::export::inert(&e.detail),
                            e.client_address.as_deref().unwrap_or(""),
                            e.request_id.as_deref().unwrap_or(""),
                            &row.hash,
                            "",
                        ]);
                    }
                }
            }
            drop(w);
            out.extend(lines);
            return Ok(Some(out));
        }
        // The checkpoints in the span, last.
        self.done = true;
        let (lo, hi) = self.span.unwrap_or((0, 0));
        let checkpoints = audit_checkpoint::Entity::find()
            .filter(audit_checkpoint::Column::Seq.between(lo, hi))
            .order_by_asc(audit_checkpoint::Column::Seq)
            .all(db)
            .await?;
        let mut w = csv_writer(&mut out);
        let mut lines = Vec::new();
        for c in &checkpoints {
            let signed = Signed::from_row(c, &self.verifier);
            match self.format {
                Format::Jsonl => line(&mut lines, &CheckpointLine { record: "checkpoint", signed: &signed }),
                Format::Csv => {
                    let hash = super::checkpoint::Document::parse(&c.document).map(|d| hex::encode(d.hash));
                    let _ = w.write_record([
                        "checkpoint",
                        &c.seq.to_string(),
                        "",
                        &chain::format_at(c.at),
                        "",
                        "",
                        "",
                        "",
                        &c.document,
                        "",
                        "",
                        &hash.unwrap_or_default(),
                        &c.signature,
                    ]);
                }
            }
        }
        drop(w);
        out.extend(lines);
        Ok(Some(out))
    }

    /// `audit-chain_20261201-20261205.jsonl`.
    pub fn file_name(&self) -> String {
        let ext = match self.format {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        };
        let d = |d: Date| format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day());
        format!("audit-chain_{}-{}.{ext}", d(self.from), d(self.to))
    }

    pub fn content_type(&self) -> &'static str {
        match self.format {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Jsonl => "application/jsonl; charset=utf-8",
        }
    }
}

const CSV_HEADER: [&str; 13] = [
    "record",
    "seq",
    "id",
    "at",
    "actor",
    "action",
    "subject_user",
    "org_id",
    "detail",
    "client_address",
    "request_id",
    "hash",
    "signature",
];

fn csv_writer(out: &mut Vec<u8>) -> csv::Writer<&mut Vec<u8>> {
    csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out)
}

fn line<T: Serialize>(out: &mut Vec<u8>, value: &T) {
    serde_json::to_writer(&mut *out, value).expect("plain fields serialise");
    out.push(b'\n');
}

/// The whole export into `out` (the CLI).
pub async fn write_all<C: ConnectionTrait>(
    db: &C,
    mut export: Export,
    out: &mut impl std::io::Write,
) -> anyhow::Result<i64> {
    while let Some(chunk) = export.next_chunk(db).await? {
        out.write_all(&chunk)?;
    }
    out.flush()?;
    Ok(export.entries())
}

/// `2026-12-05` (a JST day).
pub fn parse_day(text: &str) -> Result<Date, String> {
    common::jst::parse_day(text)
        .ok_or_else(|| format!("日付は 2026-12-05 の形（西暦 0001〜9999 年）で指定してください: {text:?}"))
}

/// The whole export as a stream (the staff screen).
pub fn stream(
    db: sea_orm::DatabaseConnection,
    export: Export,
) -> impl futures_util::Stream<Item = Result<actix_web::web::Bytes, actix_web::Error>> + 'static {
    futures_util::stream::unfold(Some(export), move |state| {
        let db = db.clone();
        async move {
            let mut export = state?;
            match export.next_chunk(&db).await {
                Ok(Some(chunk)) => Some((Ok(actix_web::web::Bytes::from(chunk)), Some(export))),
                Ok(None) => None,
                Err(e) => {
                    tracing::error!(error = %e, "audit export failed part-way");
                    Some((Err(actix_web::error::ErrorServiceUnavailable("export failed")), None))
                }
            }
        }
    })
}
