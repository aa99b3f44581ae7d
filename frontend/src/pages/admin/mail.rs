//! 送信メール tab: the mail outbox (R6) — what was queued, to whom, and whether delivery worked —
//! searched by state and recipient, newest first (or oldest), paged.

use common::{
    api::{MailEntry, MailStatus, list::MailSearch},
    jst, testids,
};
use leptos::{ev::SubmitEvent, prelude::*};

use super::{Tab, search_in_url};
use crate::{
    api,
    components::{
        form_field::{SearchField, SelectField},
        paged_list::{Column, ListControls, PagedTable, filter, loaded},
    },
    labels,
};

const COLUMNS: &[Column] = &[
    Column::sorted("作成日時", "-created_at"),
    Column::plain("宛先"),
    Column::plain("件名"),
    Column::plain("状態"),
    Column::plain("試行回数"),
    Column::plain("最後のエラー"),
];

#[component]
pub fn MailTab() -> impl IntoView {
    let state = search_in_url::<MailSearch>(Tab::Mail);
    let list = LocalResource::new(move || {
        let search = state.get();
        async move { api::admin_mail(&search).await }
    });
    let controls = ListControls::new(state, "-created_at");
    let status = state.field_following(|s| s.status.clone());
    let to = state.field_following(|s| s.to.clone());
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        state.submit(MailSearch {
            status: filter(status.get_untracked()),
            to: filter(to.get_untracked()),
            ..Default::default()
        });
    };
    let status_options = MailStatus::ALL.map(|s| (s.as_str(), labels::mail_status(s))).to_vec();

    view! {
        <h2 id="mail-title">"送信メール"</h2>
        <p class="hint">"有効期限のお知らせ、ロック・閉塞のお知らせなど、システムが送るメールの送信状況です。送信に失敗したメールは自動的に再送します。"</p>
        <form class="form filters" novalidate=true on:submit=on_submit aria-labelledby="mail-title">
            <SelectField id="mail-status" label="状態" value=status options=status_options />
            <SearchField id="mail-to" label="宛先（部分一致）" value=to />
            <button type="submit" class="button button-primary" data-testid=testids::ADMIN_MAIL_SEARCH_SUBMIT>
                "検索"
            </button>
        </form>
        <PagedTable
            page=loaded(list)
            controls
            label="送信メール"
            columns=COLUMNS
            empty="該当する送信メールはありません。"
            testid=testids::ADMIN_MAIL_TABLE
            rows=|list| list.into_iter().map(mail_row).collect_view()
        />
    }
}

fn mail_row(mail: MailEntry) -> impl IntoView {
    let status_class = match mail.status {
        MailStatus::Sent => "state state-ok",
        MailStatus::Failed => "state state-bad",
        MailStatus::Pending => "state state-warn",
    };
    let next_attempt =
        (mail.status == MailStatus::Pending && mail.attempts > 0).then_some(mail.next_attempt_at).flatten();
    view! {
        <tr>
            <td class="nowrap">{jst::format_datetime(mail.created_at)}</td>
            <td>{mail.to}</td>
            <td class="subject">{mail.subject}</td>
            <td class="nowrap">
                <span class=status_class>{labels::mail_status(mail.status)}</span>
                {mail.sent_at.map(|at| view! { <span class="cell-detail">{jst::format_datetime(at)}</span> })}
                {next_attempt.map(|at| view! { <span class="cell-detail">{format!("次の再送 {}", jst::format_datetime(at))}</span> })}
            </td>
            <td class="num">{mail.attempts}</td>
            <td class="detail">{mail.last_error.unwrap_or_default()}</td>
        </tr>
    }
}
