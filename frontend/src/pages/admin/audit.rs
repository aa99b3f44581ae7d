//! 監査ログ tab: the audit log searched by user, action, period (JST dates) and client address,
//! newest first (or oldest), paged; 接続元 is the client address of the request (— for entries
//! made by `cjs admin`), 詳細 the entry's details in words with the raw JSON one click away.

use common::{
    api::{
        AuditEntry,
        list::{AuditSearch, Export, Search},
    },
    jst, testids,
};
use leptos::{ev::SubmitEvent, prelude::*};

use super::{ExportLink, Tab, UserLink, audit_detail::AuditDetail, search_in_url};
use crate::{
    api,
    components::{
        form_field::{SearchField, SelectField},
        paged_list::{Column, ListControls, PagedTable, filter, loaded},
    },
    labels,
};

/// The columns of the audit log.
const COLUMNS: &[Column] = &[
    Column::sorted("日時", "-at"),
    Column::plain("実行者"),
    Column::plain("操作"),
    Column::plain("対象ユーザー"),
    Column::plain("接続元"),
    Column::plain("要求ID"),
    Column::plain("詳細"),
];

/// The column names of [`COLUMNS`], for a table that does not sort (a user's page).
pub(super) const LABELS: &[&str] = &["日時", "実行者", "操作", "対象ユーザー", "接続元", "要求ID", "詳細"];

#[component]
pub fn AuditTab() -> impl IntoView {
    let state = search_in_url::<AuditSearch>(Tab::Audit);
    let list = LocalResource::new(move || {
        let search = state.get();
        async move { api::admin_audit(&search).await }
    });
    let controls = ListControls::new(state, "-at");
    let user_id = state.field_following(|s| s.user_id.clone());
    let action = state.field_following(|s| s.action.clone());
    let from = state.field_following(|s| s.from.clone());
    let to = state.field_following(|s| s.to.clone());
    let client_address = state.field_following(|s| s.client_address.clone());
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        state.submit(AuditSearch {
            user_id: filter(user_id.get_untracked()),
            action: filter(action.get_untracked()),
            from: filter(from.get_untracked()),
            to: filter(to.get_untracked()),
            client_address: filter(client_address.get_untracked()),
            ..Default::default()
        });
    };
    let export = Signal::derive(move || api::admin_export_href(Export::Audit, &state.get().without_paging().pairs()));
    // The export for auditors needs a period: the one searched.
    let chain = Signal::derive(move || {
        let s = state.get();
        Some(api::admin_audit_chain_href(s.from.as_deref()?, s.to.as_deref()?))
    });

    view! {
        <h2 id="audit-title">"監査ログ"</h2>
        <form class="form filters" novalidate=true on:submit=on_submit aria-labelledby="audit-title">
            <SearchField id="audit-user-id" label="ユーザーID" value=user_id />
            <SelectField id="audit-action" label="操作" value=action options=labels::AUDIT_ACTIONS.to_vec() />
            <SearchField id="audit-from" label="期間（開始日）" value=from input_type="date" />
            <SearchField id="audit-to" label="期間（終了日）" value=to input_type="date" />
            <SearchField id="audit-client-address" label="接続元" value=client_address />
            <button type="submit" class="button button-primary" data-testid=testids::ADMIN_AUDIT_SEARCH_SUBMIT>
                "検索"
            </button>
        </form>
        <p class="hint">"ユーザーIDは、そのユーザーが行った操作とそのユーザーに対する操作の両方を探します。期間は日本時間の日付です。"</p>
        <p class="hint">
            {move || match chain.get() {
                Some(href) => view! {
                    <a class="button button-secondary button-small" href=href download="" data-testid=testids::ADMIN_AUDIT_CHAIN_EXPORT>
                        "検証用エクスポート（ハッシュと署名付き）"
                    </a>
                    " この期間の監査ログを、改ざんの有無を監査人が検証できる形（JSON Lines）でダウンロードします。"
                }
                .into_any(),
                None => "期間（開始日と終了日）を指定して検索すると、監査人向けの検証用エクスポート（ハッシュと署名付き）をダウンロードできます。".into_any(),
            }}
        </p>
        <PagedTable
            page=loaded(list)
            controls
            label="監査ログ"
            columns=COLUMNS
            empty="該当する記録はありません。"
            testid=testids::ADMIN_AUDIT_TABLE
            rows=|list| list.into_iter().map(audit_row).collect_view()
        >
            <ExportLink href=export testid=testids::ADMIN_AUDIT_EXPORT />
        </PagedTable>
    }
}

/// The actor of what `cjs admin` did.
const CLI_ACTOR: &str = "cli";

/// One entry of the audit log.
pub(super) fn audit_row(entry: AuditEntry) -> impl IntoView {
    let action = labels::audit_action(&entry.action).to_owned();
    // `cli` (never a user ID: R1 wants letters and digits) is `cjs admin`.
    let person = |user_id: Option<String>, none: &'static str| match user_id {
        Some(cli) if cli == CLI_ACTOR => "管理コマンド（cjs admin）".into_any(),
        Some(user_id) => view! { <UserLink user_id /> }.into_any(),
        None => none.into_any(),
    };
    view! {
        <tr>
            <td class="nowrap">{jst::format_datetime(entry.at)}</td>
            <td>{person(entry.actor, "本人")}</td>
            <td>
                {action}
                <span class="cell-detail mono">{entry.action}</span>
            </td>
            <td>{person(entry.subject_user, "—")}</td>
            <td class="mono nowrap">{entry.client_address.unwrap_or_else(|| "—".to_owned())}</td>
            <td class="mono request-id">{entry.request_id.unwrap_or_else(|| "—".to_owned())}</td>
            <td class="detail">
                <AuditDetail detail=entry.detail />
            </td>
        </tr>
    }
}
