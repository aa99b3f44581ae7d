//! Checkpoints: the chain's head signed with the audit key, at an interval (default 1 h), at
//! shutdown and on demand (`cjs admin audit checkpoint`). A checkpoint leaves the database at
//! once: it is mailed through the outbox to `audit_checkpoint_mail` and written as a file into
//! `audit_checkpoint_dir` (outside the data directory), so that whoever rewrites the database
//! cannot rewrite what was already sent. `cjs admin audit verify --from-checkpoint FILE` checks
//! the log against such a file.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine as _;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryOrder, Set, TransactionTrait};
use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use super::{
    chain,
    key::{AuditKey, Verifier},
};
use crate::{db::entities::audit_checkpoint, mail::outbox, read::sql::Sql};

/// The first line of every checkpoint document.
pub const MAGIC: &str = "cjs audit checkpoint 1";

/// Where checkpoints go besides the database.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// How often one is made while serving.
    pub interval: std::time::Duration,
    /// The auditor's address (`audit_checkpoint_mail`).
    pub mail: Option<String>,
    /// A directory outside the data directory (`audit_checkpoint_dir`).
    pub dir: Option<PathBuf>,
}

/// What a checkpoint says (its signed text, parsed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub seq: i64,
    pub entry_id: i64,
    pub hash: [u8; 32],
    pub at: OffsetDateTime,
    pub key_id: String,
    /// The chain's start, said by the first checkpoint of a log: its first entry and that entry's time.
    pub start: Option<String>,
}

impl Document {
    pub fn text(&self) -> String {
        let mut s = format!(
            "{MAGIC}\nseq: {}\nentry: {}\nhash: {}\nat: {}\nkey: {}\n",
            self.seq,
            self.entry_id,
            hex::encode(self.hash),
            self.at.format(&Rfc3339).expect("UTC formats"),
            self.key_id
        );
        if let Some(start) = &self.start {
            s.push_str(&format!("start: {start}\n"));
        }
        s
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            bail!("not a cjs audit checkpoint");
        }
        let mut field = |name: &str| -> anyhow::Result<String> {
            let line = lines.next().with_context(|| format!("checkpoint: no {name}"))?;
            let value = line.strip_prefix(name).and_then(|r| r.strip_prefix(": "));
            value.map(str::to_owned).with_context(|| format!("checkpoint: expected {name}, found {line:?}"))
        };
        let seq = field("seq")?.parse().context("checkpoint: seq")?;
        let entry_id = field("entry")?.parse().context("checkpoint: entry")?;
        let hash = chain::parse_hash(&field("hash")?).context("checkpoint: hash")?;
        let at = OffsetDateTime::parse(&field("at")?, &Rfc3339).context("checkpoint: at")?;
        let key_id = field("key")?;
        let start = field("start").ok();
        Ok(Self { seq, entry_id, hash, at, key_id, start })
    }
}

/// A checkpoint as it travels: the file written and the JSON in the mail.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Signed {
    /// The signed text ([`Document::text`]).
    pub document: String,
    /// Base64 of the DER ECDSA-SHA384 signature of `document`'s UTF-8 octets.
    pub signature: String,
    /// The audit key's public half (PEM), for the auditor's convenience: what is trusted is the
    /// key the auditor already holds.
    pub public_key: String,
}

impl Signed {
    /// The document, when `verifier` signed it.
    pub fn check(&self, verifier: &Verifier) -> Result<Document, String> {
        let sig = base64::engine::general_purpose::STANDARD.decode(&self.signature).unwrap_or_default();
        if !verifier.verify(self.document.as_bytes(), &sig) {
            let what = Document::parse(&self.document).map_or_else(
                |_| "（読めない内容）".to_owned(),
                |d| format!("通番 {}、{}、署名した鍵 {}", d.seq, jst(d.at), d.key_id),
            );
            return Err(format!(
                "チェックポイント（{what}）の署名が監査鍵 {} で検証できません: 差し替えられています",
                verifier.key_id()
            ));
        }
        Document::parse(&self.document).map_err(|e| format!("チェックポイントが読めません: {e}"))
    }

    pub fn from_row(row: &audit_checkpoint::Model, verifier: &Verifier) -> Self {
        Self { document: row.document.clone(), signature: row.signature.clone(), public_key: verifier.to_pem() }
    }

    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("Failed to read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not a checkpoint file", path.display()))
    }
}

/// A time for people: JST.
pub fn jst(at: OffsetDateTime) -> String {
    common::jst::format_datetime(at)
}

/// Seals, then signs the head when it moved since the last checkpoint (or always, with `force`),
/// records it, queues its mail and writes its file. `None`: nothing new to sign.
pub async fn make(
    db: &DatabaseConnection,
    key: &std::sync::Arc<AuditKey>,
    settings: &Settings,
    now: OffsetDateTime,
    force: bool,
) -> anyhow::Result<Option<Signed>> {
    // A busy log (the sealer's lock not had in time) delays only the newest entries: the head
    // chained so far is signed all the same.
    match chain::seal(db, now).await {
        Err(e) if chain::is_lock_timeout(&e) => {
            tracing::info!("audit log busy: the checkpoint signs the head chained so far")
        }
        done => {
            done?;
        }
    }
    let Some(head) = chain::head(db).await? else { return Ok(None) };
    let last = latest(db).await?;
    let last_seq = last.as_ref().map(|l| l.seq);
    if !force && last_seq == Some(head.seq) {
        return Ok(None);
    }
    let start = match last {
        Some(_) => None,
        None => chain::first(db).await?.map(|f| {
            format!("通番 1 = 項目 #{}（このチェーンの開始時点で最も古い項目。それ以前の項目はありません）", f.entry_id)
        }),
    };
    let doc = Document {
        seq: head.seq,
        entry_id: head.entry_id,
        hash: head.hash,
        at: now.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(now),
        key_id: key.verifier().key_id(),
        start,
    };
    let document = doc.text();
    let signer = key.clone();
    let message = document.clone();
    let signature = tokio::task::spawn_blocking(move || signer.sign(message.as_bytes())).await??;
    let signed = Signed {
        document,
        signature: base64::engine::general_purpose::STANDARD.encode(signature),
        public_key: key.verifier().to_pem(),
    };
    let txn = db.begin().await?;
    // One checkpoint per head across instances: the sealer's row orders them.
    let backend = db.get_database_backend();
    txn.execute_raw(Sql::with("UPDATE audit_sealer SET sealed_at = sealed_at WHERE id = 1", []).statement(backend))
        .await?;
    if !force && latest(&txn).await?.map(|l| l.seq) == Some(head.seq) {
        txn.rollback().await?;
        return Ok(None);
    }
    audit_checkpoint::ActiveModel {
        seq: Set(head.seq),
        at: Set(now),
        document: Set(signed.document.clone()),
        signature: Set(signed.signature.clone()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    if let Some(to) = &settings.mail {
        outbox::enqueue(&txn, mail(to, &doc, &signed), now).await?;
    }
    txn.commit().await?;
    if let Some(dir) = &settings.dir {
        let path = dir.join(file_name(&doc));
        let json = serde_json::to_string_pretty(&signed)? + "\n";
        if let Err(e) = crate::pki::files::write_public(&path, json.as_bytes()) {
            tracing::error!(error = %format!("{e:#}"), path = %path.display(), "AUDIT CHECKPOINT FILE NOT WRITTEN");
        }
    }
    tracing::info!(seq = head.seq, "audit checkpoint signed");
    Ok(Some(signed))
}

async fn latest<C: sea_orm::ConnectionTrait>(db: &C) -> Result<Option<audit_checkpoint::Model>, sea_orm::DbErr> {
    audit_checkpoint::Entity::find().order_by_desc(audit_checkpoint::Column::Id).one(db).await
}

/// `cjs-audit-checkpoint-<seq>-<UTC time>.json`.
pub fn file_name(doc: &Document) -> String {
    let t = doc.at;
    format!(
        "cjs-audit-checkpoint-{:010}-{:04}{:02}{:02}T{:02}{:02}{:02}Z.json",
        doc.seq,
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn mail(to: &str, doc: &Document, signed: &Signed) -> outbox::Mail {
    let json = serde_json::to_string_pretty(signed).expect("strings serialise");
    outbox::Mail {
        dedupe_key: format!("audit-checkpoint:{}:{}", doc.seq, doc.at.unix_timestamp()),
        to: to.to_owned(),
        subject: format!("【{}】監査ログのチェックポイント（通番 {}）", crate::mail::templates::SYSTEM, doc.seq),
        body: format!(
            "監査ログのチェックポイントを署名しました。\n\n\
             通番: {}\n項目: #{}\n日時: {}\n\n\
             このメールの下の JSON を {} として保存し、保管してください。\n\
             監査ログの検証: cjs admin audit verify --from-checkpoint <保存したファイル>\n\
             データベースが書き換えられても、送信済みのチェックポイントは書き換えられません。\n\n{json}\n",
            doc.seq,
            doc.entry_id,
            jst(doc.at),
            file_name(doc)
        ),
    }
}

/// Checkpoints every `settings.interval` for the life of the process.
pub async fn make_forever(db: DatabaseConnection, key: std::sync::Arc<AuditKey>, settings: Settings) {
    let mut tick = tokio::time::interval(settings.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = make(&db, &key, &settings, OffsetDateTime::now_utc(), false).await {
            tracing::error!(error = %format!("{e:#}"), "audit checkpoint failed; next interval");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_reads_back_what_it_says() {
        let doc = Document {
            seq: 42,
            entry_id: 57,
            hash: [7; 32],
            at: time::macros::datetime!(2026-12-05 08:00:00 UTC),
            key_id: "0011223344556677".into(),
            start: Some("通番 1 = 項目 #1".into()),
        };
        assert_eq!(Document::parse(&doc.text()).unwrap(), doc);
        let later = Document { start: None, ..doc };
        assert_eq!(Document::parse(&later.text()).unwrap(), later);
        assert!(Document::parse("seq: 1").is_err());
        assert_eq!(file_name(&later), "cjs-audit-checkpoint-0000000042-20261205T080000Z.json");
    }
}
