//! 送信メール tab: the mail outbox (R6) — what was queued, to whom, and whether delivery worked.

use common::{
    api::{MailEntry, MailStatus},
    jst, testids,
};
use leptos::prelude::*;

use crate::{api, components::data_table::ListTable, labels};

#[component]
pub fn MailTab() -> impl IntoView {
    let mails = LocalResource::new(api::admin_mail);
    view! {
        <div class="page-heading">
            <h2>"送信メール"</h2>
            <button type="button" class="button button-secondary" on:click=move |_| mails.refetch()>
                "最新の情報に更新"
            </button>
        </div>
        <p class="hint">"有効期限のお知らせ、ロック・閉塞のお知らせなど、システムが送るメールの送信状況です。送信に失敗したメールは自動的に再送します。"</p>
        <ListTable
            list=mails
            empty="送信メールはありません。"
            label="送信メール"
            columns=&["作成日時", "宛先", "件名", "状態", "試行回数", "最後のエラー"]
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
