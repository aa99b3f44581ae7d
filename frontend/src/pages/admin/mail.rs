//! 送信メール tab: the mail outbox (R6) — what was queued, to whom, and whether delivery worked.

use common::{jst, testids};
use leptos::prelude::*;

use crate::{api, components::messages::SessionError, labels};

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
        {move || match mails.get() {
            None => view! { <p class="loading" role="status">"読み込み中…"</p> }.into_any(),
            Some(Err(error)) => view! { <SessionError error /> }.into_any(),
            Some(Ok(list)) if list.is_empty() => view! { <p class="empty">"送信メールはありません。"</p> }.into_any(),
            Some(Ok(list)) => {
                let rows = list
                    .into_iter()
                    .map(|mail| {
                        let status_class = match mail.status.as_str() {
                            "sent" => "state state-ok",
                            "failed" => "state state-bad",
                            _ => "state state-warn",
                        };
                        view! {
                            <tr>
                                <td class="nowrap">{jst::format_datetime(mail.created_at)}</td>
                                <td>{mail.to}</td>
                                <td class="subject">{mail.subject}</td>
                                <td class="nowrap">
                                    <span class=status_class>{labels::mail_status(&mail.status).to_owned()}</span>
                                    {mail.sent_at.map(|at| view! { <span class="cell-detail">{jst::format_datetime(at)}</span> })}
                                    {(mail.status == "pending" && mail.attempts > 0)
                                        .then_some(mail.next_attempt_at)
                                        .flatten()
                                        .map(|at| {
                                            view! {
                                                <span class="cell-detail">
                                                    {format!("次の再送 {}", jst::format_datetime(at))}
                                                </span>
                                            }
                                        })}
                                </td>
                                <td class="num">{mail.attempts}</td>
                                <td class="detail">{mail.last_error.unwrap_or_default()}</td>
                            </tr>
                        }
                    })
                    .collect_view();
                view! {
                    <div class="table-scroll" tabindex="0" role="region" aria-label="送信メール">
                        <table class="data-table" data-testid=testids::ADMIN_MAIL_TABLE>
                            <thead>
                                <tr>
                                    <th scope="col">"作成日時"</th>
                                    <th scope="col">"宛先"</th>
                                    <th scope="col">"件名"</th>
                                    <th scope="col">"状態"</th>
                                    <th scope="col">"試行回数"</th>
                                    <th scope="col">"最後のエラー"</th>
                                </tr>
                            </thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                }
                .into_any()
            }
        }}
    }
}
