//! The 詳細 of an audit entry in words: the server records its details as JSON (times as Unix
//! seconds or RFC 3339, reasons and purposes as snake_case names); the staff read labelled
//! fields in Japanese with JST times, and the raw JSON one click away (「元データ」).
//! A key this screen does not know is shown as `key: value`, never dropped.

use common::{
    api::{RevocationReason, Role, list::Export},
    jst,
};
use leptos::prelude::*;
use serde_json::Value;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use super::certificates::key_type_label;

/// How a detail's value reads.
#[derive(Clone, Copy)]
enum Shown {
    Text,
    /// Unix seconds or RFC 3339 → `2026年11月24日 19:30` (JST); `null` → なし.
    Time,
    /// A count with its unit: `3回`.
    Count(&'static str),
    /// `true` / `false` in words.
    Flag(&'static str, &'static str),
    /// A revocation reason or why an attempt failed.
    Reason,
    /// What a password was checked for.
    Purpose,
    Role,
    KeyType,
    /// Which list a CSV export was of.
    List,
}

/// The keys the server writes (backend: `detail: json!`), in the order they are shown.
const FIELDS: [(&str, &str, Shown); 26] = [
    ("name", "会社名", Shown::Text),
    ("role", "権限", Shown::Role),
    ("serial", "シリアル番号", Shown::Text),
    ("key_type", "鍵の種類", Shown::KeyType),
    ("not_before", "有効期間の開始", Shown::Time),
    ("not_after", "有効期限", Shown::Time),
    ("renewal", "更新", Shown::Flag("更新による発行", "新規の発行")),
    ("fingerprint_sha256", "フィンガープリント（SHA-256）", Shown::Text),
    ("reason", "理由", Shown::Reason),
    ("sessions_ended", "終了したログイン", Shown::Count("件")),
    ("purpose", "用途", Shown::Purpose),
    ("failures", "連続失敗回数", Shown::Count("回")),
    ("locked_until", "ロック期限", Shown::Time),
    ("lock_count", "ロック回数", Shown::Count("回")),
    ("refused_while_locked", "ロック中に拒否した試行", Shown::Count("回")),
    ("coalesced", "記録", Shown::Flag("ロック期間中の拒否を1件にまとめて記録", "1回ごとの記録")),
    ("certificate_of", "提示された電子証明書のユーザー", Shown::Text),
    ("initial", "初期パスワードからの変更", Shown::Flag("はい", "いいえ")),
    ("email_changed", "メールアドレスの変更", Shown::Flag("あり", "なし")),
    ("was_locked_until", "解除前のロック期限", Shown::Time),
    ("was_blocked", "解除前の閉塞", Shown::Flag("閉塞", "なし")),
    ("retired", "旧認証局", Shown::Text),
    ("new", "新認証局", Shown::Text),
    ("list", "一覧", Shown::List),
    ("search", "検索条件", Shown::Text),
    ("rows", "件数", Shown::Count("件")),
];

/// `key_in_token` is the one flag whose words need their own line.
const KEY_IN_TOKEN: (&str, &str, Shown) =
    ("key_in_token", "認証局の鍵の保管", Shown::Flag("HSM（PKCS#11 トークン）", "ファイル"));

/// The labelled fields of `detail`, and 「元データ」 with the JSON as recorded.
#[component]
pub fn AuditDetail(detail: String) -> impl IntoView {
    let fields = describe(&detail);
    if fields.is_empty() && matches!(detail.trim(), "" | "{}" | "null") {
        return "—".into_any();
    }
    let fields = (!fields.is_empty()).then(|| {
        let rows = fields.into_iter().map(|(label, value)| view! { <dt>{label}</dt> <dd>{value}</dd> }).collect_view();
        view! { <dl class="detail-fields">{rows}</dl> }
    });
    view! {
        {fields}
        <details class="raw-detail">
            <summary>"元データ"</summary>
            <code>{detail}</code>
        </details>
    }
    .into_any()
}

/// `detail` as (label, value) lines: the known keys in [`FIELDS`] order, then the others as sent.
/// Not JSON, or not an object: nothing (the raw text stays under 「元データ」).
fn describe(detail: &str) -> Vec<(String, String)> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(detail) else {
        return Vec::new();
    };
    let known = FIELDS.iter().chain([&KEY_IN_TOKEN]);
    let mut lines: Vec<(String, String)> = known
        .clone()
        .filter_map(|(key, label, shown)| map.get(*key).map(|value| ((*label).to_owned(), show(value, *shown))))
        .collect();
    lines.extend(
        map.iter()
            .filter(|(key, _)| !known.clone().any(|(k, _, _)| k == key))
            .map(|(key, value)| (key.clone(), show(value, Shown::Text))),
    );
    lines
}

fn show(value: &Value, shown: Shown) -> String {
    match (shown, value) {
        (_, Value::Null) => "なし".to_owned(),
        (Shown::Time, Value::Number(n)) => n
            .as_i64()
            .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
            .map_or_else(|| n.to_string(), jst::format_datetime),
        (Shown::Time, Value::String(s)) => {
            OffsetDateTime::parse(s, &Rfc3339).map_or_else(|_| s.clone(), jst::format_datetime)
        }
        (Shown::Count(unit), Value::Number(n)) => format!("{n}{unit}"),
        (Shown::Flag(yes, no), Value::Bool(b)) => (if *b { yes } else { no }).to_owned(),
        (Shown::Reason, Value::String(s)) => reason(s).to_owned(),
        (Shown::Purpose, Value::String(s)) => purpose(s).to_owned(),
        (Shown::Role, Value::String(s)) => role(s).to_owned(),
        (Shown::KeyType, Value::String(s)) => key_type_label(s).to_owned(),
        (Shown::List, Value::String(s)) => list(s).to_owned(),
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

fn reason(name: &str) -> &str {
    match name {
        "unknown_user" => "存在しないユーザーID",
        "certificate_mismatch" => "電子証明書とユーザーIDの不一致",
        other => RevocationReason::parse(other).map_or(other, |r| r.label()),
    }
}

fn purpose(name: &str) -> &str {
    match name {
        "issuance" => "電子証明書の発行",
        "password_change" => "パスワード変更",
        "login" => "ログイン",
        other => other,
    }
}

fn list(segment: &str) -> &str {
    match Export::parse(segment) {
        Some(Export::Organizations) => "会社",
        Some(Export::Users) => "利用者",
        Some(Export::Certificates) => "電子証明書",
        Some(Export::Audit) => "監査ログ",
        None => segment,
    }
}

fn role(name: &str) -> &str {
    [Role::General, Role::Master, Role::Staff].into_iter().find(|r| r.as_str() == name).map_or(name, |r| r.label())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(detail: &str) -> Vec<(String, String)> {
        describe(detail)
    }

    fn pair(label: &str, value: &str) -> (String, String) {
        (label.to_owned(), value.to_owned())
    }

    #[test]
    fn an_issuance_reads_in_japanese_with_the_expiry_in_jst() {
        let detail =
            r#"{"serial":"0A1B","fingerprint_sha256":"ab","not_after":1828018799,"key_type":"p256","renewal":false}"#;
        assert_eq!(
            lines(detail),
            vec![
                pair("シリアル番号", "0A1B"),
                pair("鍵の種類", "ECDSA P-256"),
                pair("有効期限", "2027年12月5日 23:59"),
                pair("更新", "新規の発行"),
                pair("フィンガープリント（SHA-256）", "ab"),
            ]
        );
    }

    #[test]
    fn reasons_purposes_and_roles_have_their_words() {
        let revoked = r#"{"serial":"01","reason":"superseded","sessions_ended":2}"#;
        assert_eq!(
            lines(revoked),
            vec![
                pair("シリアル番号", "01"),
                pair("理由", "パソコン変更・再発行 (superseded)"),
                pair("終了したログイン", "2件"),
            ]
        );
        let refused = r#"{"purpose":"login","coalesced":true,"reason":"unknown_user"}"#;
        assert_eq!(
            lines(refused),
            vec![
                pair("理由", "存在しないユーザーID"),
                pair("用途", "ログイン"),
                pair("記録", "ロック期間中の拒否を1件にまとめて記録"),
            ]
        );
        assert_eq!(lines(r#"{"role":"master"}"#), vec![pair("権限", "マスターユーザー")]);
        let exported = r#"{"list":"organizations","search":"q=abc","rows":4}"#;
        assert_eq!(lines(exported), vec![pair("一覧", "会社"), pair("検索条件", "q=abc"), pair("件数", "4件")]);
    }

    #[test]
    fn rfc3339_times_and_nulls_are_shown_too() {
        let locked = r#"{"locked_until":"2026-11-24T10:30:00Z","was_locked_until":null}"#;
        assert_eq!(lines(locked), vec![pair("ロック期限", "2026年11月24日 19:30"), pair("解除前のロック期限", "なし")]);
    }

    #[test]
    fn unknown_keys_and_values_are_shown_as_sent() {
        let detail = r#"{"zeta":{"a":1},"reason":"something_new","alpha":"x"}"#;
        assert_eq!(lines(detail), vec![pair("理由", "something_new"), pair("alpha", "x"), pair("zeta", r#"{"a":1}"#)]);
        assert!(lines("not json").is_empty());
        assert!(lines("[1,2]").is_empty());
    }
}
