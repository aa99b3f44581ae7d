//! 監査ログ tab: the audit log, newest first (at most 200 entries), filtered by user ID and action;
//! 接続元 is the client address of the request (— for entries made by `cjs admin`).

use common::{api::AuditEntry, jst, testids};
use leptos::{ev::SubmitEvent, prelude::*};

use crate::{
    api,
    components::{data_table::ListTable, form_field::SearchField},
    labels,
};

#[component]
pub fn AuditTab() -> impl IntoView {
    let user_id = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let filter = RwSignal::new((String::new(), String::new()));
    let entries = LocalResource::new(move || {
        let (user_id, action) = filter.get();
        async move { api::admin_audit(&user_id, &action).await }
    });
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let next = (user_id.get_untracked().trim().to_owned(), action.get_untracked());
        if next == filter.get_untracked() {
            entries.refetch();
        } else {
            filter.set(next);
        }
    };
    let action_options = labels::AUDIT_ACTIONS
        .map(|(name, label)| view! { <option value=name>{label}</option> })
        .into_iter()
        .collect_view();

    view! {
        <h2 id="audit-title">"監査ログ"</h2>
        <form class="form filters" novalidate=true on:submit=on_submit aria-labelledby="audit-title">
            <SearchField id="audit-user-id" label="ユーザーID" value=user_id />
            <div class="field">
                <label for="audit-action">"操作"</label>
                <select id="audit-action" prop:value=move || action.get() on:change=move |ev| action.set(event_target_value(&ev))>
                    <option value="">"すべて"</option>
                    {action_options}
                </select>
            </div>
            <button type="submit" class="button button-primary">"検索"</button>
        </form>
        <p class="hint">"新しい順に最大200件を表示します。"</p>
        <ListTable
            list=entries
            empty="該当する記録はありません。"
            label="監査ログ"
            columns=&["日時", "実行者", "操作", "対象ユーザー", "接続元", "要求ID", "詳細"]
            testid=testids::ADMIN_AUDIT_TABLE
            rows=|list| list.into_iter().map(audit_row).collect_view()
        />
    }
}

fn audit_row(entry: AuditEntry) -> impl IntoView {
    let action = labels::audit_action(&entry.action).to_owned();
    view! {
        <tr>
            <td class="nowrap">{jst::format_datetime(entry.at)}</td>
            <td class="mono">{entry.actor.unwrap_or_else(|| "本人".to_owned())}</td>
            <td>
                {action}
                <span class="cell-detail mono">{entry.action}</span>
            </td>
            <td class="mono">{entry.subject_user.unwrap_or_else(|| "—".to_owned())}</td>
            <td class="mono">{entry.client_address.unwrap_or_else(|| "—".to_owned())}</td>
            <td class="mono">{entry.request_id.unwrap_or_else(|| "—".to_owned())}</td>
            <td class="detail mono">{entry.detail}</td>
        </tr>
    }
}
