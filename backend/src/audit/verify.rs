//! `cjs admin audit verify`: recomputes the whole chain from the first link, in pages (bounded
//! memory), and checks every checkpoint — those in the database and those given as files —
//! against the audit key and against the chain. The first thing that does not hold is named:
//! the entry that was altered, deleted, inserted or moved, or the checkpoint that was replaced
//! or whose tail was cut off.

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryOrder};

use super::{
    chain::{self, GENESIS},
    checkpoint::{Document, Signed, jst},
    key::Verifier,
};
use crate::{db::entities::audit_checkpoint, read::sql::Sql};

/// Links read per query.
const PAGE: u64 = 10_000;

/// What held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Entries in the chain, every one recomputed.
    pub entries: u64,
    /// Checkpoints whose signature and hash held (database and files, counted once each).
    pub checkpoints: u64,
    /// Entries written after the last seal (chained within a second by a running server).
    pub unsealed: u64,
}

/// The first thing that did not hold, in words for the operator and the auditor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Finding(pub String);

#[derive(Debug, FromQueryResult)]
struct Id {
    id: Option<i64>,
}

#[derive(Debug, FromQueryResult)]
struct Count {
    n: i64,
}

/// Verifies the log in `db` with `verifier` and the checkpoint `files`.
pub async fn verify<C: ConnectionTrait>(
    db: &C,
    verifier: &Verifier,
    files: &[Signed],
) -> Result<Result<Verified, Finding>, DbErr> {
    let backend = db.get_database_backend();
    // Every checkpoint, checked against the key first.
    let rows = audit_checkpoint::Entity::find().order_by_asc(audit_checkpoint::Column::Seq).all(db).await?;
    let mut documents = Vec::new();
    for signed in rows.iter().map(|r| Signed::from_row(r, verifier)).chain(files.iter().cloned()) {
        match signed.check(verifier) {
            Ok(doc) => documents.push(doc),
            Err(finding) => return Ok(Err(Finding(finding))),
        }
    }
    documents.sort_by_key(|d| (d.seq, d.at));
    documents.dedup();
    let head = chain::head(db).await?;
    let head_entry = head.as_ref().map_or(0, |h| h.entry_id);
    // The first entry below the head that no link names: inserted afterwards.
    let inserted = Id::find_by_statement(
        Sql::with(
            "SELECT MIN(a.id) AS id FROM audit_log a WHERE a.id < ? \
             AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.entry_id = a.id)",
            [head_entry.into()],
        )
        .statement(backend),
    )
    .one(db)
    .await?
    .and_then(|r| r.id);
    let unsealed = Count::find_by_statement(
        Sql::with("SELECT COUNT(*) AS n FROM audit_log WHERE id > ?", [head_entry.into()]).statement(backend),
    )
    .one(db)
    .await?
    .map_or(0, |c| c.n);

    let mut pending = documents.iter().peekable();
    let (mut seq, mut prev, mut prev_entry) = (0i64, GENESIS, 0i64);
    loop {
        let page = chain::links_after(db, seq, None, PAGE).await?;
        let n = page.len();
        for row in page {
            let expected = seq + 1;
            if row.seq != expected {
                return Ok(Err(Finding(format!(
                    "通番 {expected} の項目がチェーンにありません: 項目 #{prev_entry} の後の項目が削除されています"
                ))));
            }
            if inserted.is_some_and(|i| i < row.entry_id) {
                return Ok(Err(inserted_finding(inserted)));
            }
            let Some(entry) = row.entry() else {
                return Ok(Err(Finding(format!(
                    "監査ログの項目 #{}（通番 {}）が削除されています",
                    row.entry_id, row.seq
                ))));
            };
            if entry.id <= prev_entry {
                return Ok(Err(Finding(format!(
                    "監査ログの項目 #{}（通番 {}）の順序が入れ替えられています",
                    entry.id, row.seq
                ))));
            }
            let computed = chain::link(&prev, row.seq, &entry);
            if hex::encode(computed) != row.hash {
                return Ok(Err(Finding(format!(
                    "監査ログの項目 #{}（通番 {}、{}）が記録時の内容と一致しません: 書き換えられたか、別の項目が挿入・移動されています",
                    entry.id,
                    row.seq,
                    jst(entry.at)
                ))));
            }
            while let Some(doc) = pending.next_if(|d| d.seq == row.seq) {
                if doc.hash != computed || doc.entry_id != entry.id {
                    return Ok(Err(mismatch(doc)));
                }
            }
            (seq, prev, prev_entry) = (row.seq, computed, entry.id);
        }
        if (n as u64) < PAGE {
            break;
        }
    }
    if let Some(doc) = pending.next() {
        return Ok(Err(if doc.seq > seq {
            Finding(format!(
                "チェックポイント（通番 {}、{}）の項目がありません: チェーンは通番 {seq} で終わっています（末尾の項目が削除されています）",
                doc.seq,
                jst(doc.at)
            ))
        } else {
            mismatch(doc)
        }));
    }
    if inserted.is_some() {
        return Ok(Err(inserted_finding(inserted)));
    }
    let checkpoints = documents.len() as u64;
    Ok(Ok(Verified {
        entries: u64::try_from(seq).unwrap_or(0),
        checkpoints,
        unsealed: u64::try_from(unsealed).unwrap_or(0),
    }))
}

fn inserted_finding(id: Option<i64>) -> Finding {
    Finding(format!("監査ログの項目 #{} はチェーンにない項目です: 後から挿入されています", id.unwrap_or_default()))
}

fn mismatch(doc: &Document) -> Finding {
    Finding(format!(
        "チェックポイント（通番 {}、{}）がチェーンと一致しません: 通番 {} までの項目が書き換えられています",
        doc.seq,
        jst(doc.at),
        doc.seq
    ))
}
