//! What the home screen shows of the account's own recent history (issue 29 §4), as Japanese
//! business internet services do so that a user notices what was not theirs: the previous logins,
//! the failed password attempts since the previous login, and the certificates issued in the last
//! 90 days, each with its JST time and client address (or serial), and what to do if it was not
//! them. Read from the audit log with three bounded queries, each a range of the index on
//! (subject_user, action, at) (migration 000014): at most [`LOGINS`] + 1, [`FAILURES`] + 1 and
//! [`ISSUED`] rows, however long the history.

use common::jst;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use time::{Duration, OffsetDateTime};

use crate::{audit::Action, db::entities::audit_log};

/// Previous logins shown (the newest login is the one this screen belongs to).
pub const LOGINS: u64 = 3;
/// Failed attempts shown since the previous login.
pub const FAILURES: u64 = 5;
/// Certificates issued shown, from the last [`ISSUED_WINDOW`].
pub const ISSUED: u64 = 5;
pub const ISSUED_WINDOW: Duration = Duration::days(90);

const ASK_BANK: &str = "心当たりがない場合は労金へご連絡ください";
const ASK_REVOCATION: &str = "心当たりがない場合は至急労金へご連絡のうえ、失効をご依頼ください";

/// The lines of the home screen's 最近のご利用 for `user_id` at `now`, newest first per kind.
pub async fn recent<C: ConnectionTrait>(db: &C, user_id: &str, now: OffsetDateTime) -> Result<Vec<String>, DbErr> {
    let of = |actions: &[Action]| {
        audit_log::Entity::find()
            .filter(audit_log::Column::SubjectUser.eq(user_id))
            .filter(audit_log::Column::Action.is_in(actions.iter().map(|a| a.as_str())))
            .order_by_desc(audit_log::Column::At)
            .order_by_desc(audit_log::Column::Id)
    };
    let mut lines = Vec::new();
    // The newest login is this session's; the ones before it are "previous".
    let logins = of(&[Action::Login]).limit(LOGINS + 1).all(db).await?;
    let previous = logins.get(1).map(|l| l.at);
    for (i, login) in logins.iter().skip(1).enumerate() {
        let label = if i == 0 { "前回ログイン" } else { "それ以前のログイン" };
        lines.push(format!("{label}: {} 接続元 {}（{ASK_BANK}）", when(login.at), from(login)));
    }
    let mut failures = of(&[Action::AuthFailure, Action::AuthRefusedLocked, Action::AuthRefusedBlocked]);
    if let Some(previous) = previous {
        failures = failures.filter(audit_log::Column::At.gt(previous));
    }
    let failures = failures.limit(FAILURES + 1).all(db).await?;
    let since = if previous.is_some() { "前回ログイン以降の" } else { "" };
    for failure in failures.iter().take(FAILURES as usize) {
        lines.push(format!("{since}パスワードの誤り: {} 接続元 {}（{ASK_BANK}）", when(failure.at), from(failure)));
    }
    if failures.len() as u64 > FAILURES {
        lines.push(format!("{since}パスワードの誤りはほかにもあります（{ASK_BANK}）"));
    }
    let issued = of(&[Action::CertificateIssued])
        .filter(audit_log::Column::At.gt(now - ISSUED_WINDOW))
        .limit(ISSUED)
        .all(db)
        .await?;
    for cert in &issued {
        let serial = serde_json::from_str::<serde_json::Value>(&cert.detail)
            .ok()
            .and_then(|d| d["serial"].as_str().map(str::to_owned))
            .unwrap_or_default();
        lines.push(format!(
            "電子証明書の発行: {} シリアル番号 {serial} 接続元 {}（{ASK_REVOCATION}）",
            when(cert.at),
            from(cert)
        ));
    }
    Ok(lines)
}

fn when(at: OffsetDateTime) -> String {
    format!("{}（日本時間）", jst::format_datetime(at))
}

fn from(entry: &audit_log::Model) -> &str {
    entry.client_address.as_deref().unwrap_or("不明")
}
