//! 承認待ち tab (検印): the operations other staff members proposed, waiting for a second staff
//! member — 承認 (the operation is done then) or 却下 with a reason — and the latest decided ones.
//! The server refuses approving one's own request; the buttons say so before anyone tries.

use common::{
    ErrorBody,
    api::{Approval, ApprovalDone, ApprovalList, ApprovalState, RejectApproval},
    jst, testids,
};
use leptos::prelude::*;

use crate::{
    api,
    components::{
        data_table::{DataTable, Loaded},
        messages::{NoticeMessage, SessionError},
    },
    mounted::screen_action,
    session::Session,
};

const COLUMNS: &[&str] = &["申請番号", "内容", "申請者", "申請日時", "承認期限", "状態", "承認・却下"];

/// What the last 承認 or 却下 did.
#[derive(Clone)]
enum Decided {
    Approved(ApprovalDone),
    Rejected(Approval),
}

#[component]
pub fn ApprovalsTab(
    /// The list, loaded by the tabs (whose label shows its count).
    list: LocalResource<Result<ApprovalList, ErrorBody>>,
) -> impl IntoView {
    let me = Session::expect().load();
    let my_id = Memo::new(move |_| me.get().and_then(Result::ok).map(|m| m.user_id));
    let outcome: RwSignal<Option<Result<Decided, ErrorBody>>> = RwSignal::new(None);
    on_cleanup(move || outcome.set(None));
    let approve = screen_action(
        |id: i64| async move { api::admin_approve(id).await },
        move |answer: Result<ApprovalDone, ErrorBody>| {
            outcome.set(Some(answer.map(Decided::Approved)));
            list.refetch();
        },
    );
    let reject = screen_action(
        |(id, reason): (i64, String)| async move { api::admin_reject(id, &RejectApproval { reason }).await },
        move |answer: Result<Approval, ErrorBody>| {
            outcome.set(Some(answer.map(Decided::Rejected)));
            list.refetch();
        },
    );
    let busy = Memo::new(move |_| approve.pending().get() || reject.pending().get());
    let row = move |a: Approval| {
        let mine = my_id.get_untracked().as_deref() == Some(a.proposed_by.as_str());
        let about_me = my_id.get_untracked().is_some() && my_id.get_untracked() == a.subject_user;
        let actions = (a.state == ApprovalState::Pending).then(|| {
            let id = a.id;
            let why_not = if mine {
                Some("自分の申請は承認できません")
            } else if about_me {
                Some("自分が対象の操作は承認できません")
            } else {
                None
            };
            let summary = a.summary.clone();
            view! {
                <button
                    type="button"
                    class="button button-primary button-small"
                    data-testid=format!("{}{id}", testids::APPROVE_PREFIX)
                    aria-label=format!("申請番号 {id} を承認")
                    title=why_not.unwrap_or("承認すると、この操作を実行します")
                    disabled=move || busy.get() || why_not.is_some()
                    on:click=move |_| {
                        let question = format!("申請番号 {id} を承認し、次の操作を実行しますか？\n{summary}");
                        if window().confirm_with_message(&question).unwrap_or(false) {
                            outcome.set(None);
                            approve.dispatch_local(id);
                        }
                    }
                >
                    "承認"
                </button>
                <button
                    type="button"
                    class="button button-secondary button-small"
                    data-testid=format!("{}{id}", testids::REJECT_PREFIX)
                    aria-label=format!("申請番号 {id} を却下")
                    disabled=move || busy.get() || (about_me && !mine)
                    on:click=move |_| {
                        let question = format!("申請番号 {id} を却下します。理由を入力してください（申請者にお知らせします）。");
                        let reason = window().prompt_with_message(&question).ok().flatten();
                        if let Some(reason) = reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()) {
                            outcome.set(None);
                            reject.dispatch_local((id, reason));
                        }
                    }
                >
                    "却下"
                </button>
            }
        });
        let state_class = match a.state {
            ApprovalState::Pending => "state state-warn",
            ApprovalState::Approved => "state state-ok",
            _ => "state state-bad",
        };
        view! {
            <tr>
                <td class="num">{a.id}</td>
                <td>{a.summary.clone()}</td>
                <td class="mono">{a.proposed_by.clone()}</td>
                <td class="nowrap">{jst::format_datetime(a.proposed_at)}</td>
                <td class="nowrap">{jst::format_datetime(a.expires_at)}</td>
                <td class="nowrap">
                    <span class=state_class>{a.state.label()}</span>
                    {a.decided_by.clone().map(|by| view! { <span class="cell-detail">{by}</span> })}
                    {a.reason.clone().map(|r| view! { <span class="cell-detail">{r}</span> })}
                </td>
                <td class="nowrap">{actions}</td>
            </tr>
        }
    };
    let show = move |l: ApprovalList| {
        let rows = l.items.into_iter().map(row).collect_view();
        view! {
            <DataTable label="承認待ちの申請" columns=COLUMNS testid=Some(testids::ADMIN_APPROVALS_TABLE)>
                {rows}
            </DataTable>
            {(l.pending == 0).then(|| view! { <p class="hint">"承認待ちの申請はありません。"</p> })}
        }
    };
    view! {
        <h2 id="approvals-title">"承認待ち"</h2>
        <p class="hint">
            "失効、マスターユーザーのロック解除、パスワード再設定、マスターユーザー変更、会社の利用停止・再開、電子証明書の上限変更、職員の利用停止は、別の職員の承認（検印）を受けてから実行されます。自分の申請は承認できません。"
        </p>
        {move || outcome.get().map(|o| match o {
            Ok(Decided::Approved(done)) => view! {
                <NoticeMessage>
                    <p data-testid=testids::APPROVAL_DONE>{format!("申請番号 {} を承認し、実行しました。", done.approval.id)}</p>
                    {done.initial_password.map(|p| view! {
                        <p>
                            {format!("ユーザーID {} の初期パスワード: ", done.user_id.unwrap_or_default())}
                            <span class="mono">{p}</span>
                            "（この画面を離れると再表示できません。お知らせの文書で本人にお渡しください）"
                        </p>
                    })}
                </NoticeMessage>
            }
            .into_any(),
            Ok(Decided::Rejected(a)) => view! {
                <NoticeMessage>
                    <p data-testid=testids::APPROVAL_DONE>{format!("申請番号 {} を却下しました。申請者にお知らせします。", a.id)}</p>
                </NoticeMessage>
            }
            .into_any(),
            Err(error) => view! { <SessionError error /> }.into_any(),
        })}
        <Loaded resource=list show />
    }
}
