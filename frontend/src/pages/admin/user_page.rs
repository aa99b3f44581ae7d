//! 利用者の詳細 (`/admin/users/{user_id}`): the user — role, company, e-mail address, lock state
//! (解除 when locked or blocked; パスワード再設定, メール変更, 利用停止 and, for a general user,
//! マスターユーザーにする while not retired) — their certificates (失効 as on the
//! certificates tab) and the newest audit entries done by or about them (the audit tab has the
//! rest).

use common::{
    ErrorBody,
    api::{
        MakeMaster, MasterChanged, PasswordReset, Retire, Role, UserDetail,
        list::{AuditSearch, Search},
    },
    jst, testids,
};
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_params_map};

use super::{
    OrganizationLink, StaffScreen, Tab,
    audit::{self, audit_row},
    certificates::{self, Owner, RevokeDialogs, RevokeOutcome, Revoker, certificate_row},
    letter::{change_letter, master_letter},
    tab_href,
};
use crate::{
    api, clock,
    components::{
        account_actions::{AccountActionButtons, AccountActionOutcome, AccountActions, Op, Outcome},
        data_table::{DataTable, Loaded},
        form_field::CheckField,
        messages::ErrorMessage,
        user_list::{UnlockButton, UnlockOutcome, Unlocker},
    },
    labels,
    mounted::screen_action,
};

#[component]
pub fn UserPage() -> impl IntoView {
    view! {
        <StaffScreen title="利用者の詳細" detail=true>
            <UserOfPath />
        </StaffScreen>
    }
}

/// The user whose ID is in the path.
#[component]
fn UserOfPath() -> impl IntoView {
    let params = use_params_map();
    let user_id = Memo::new(move |_| params.with(|p| p.get("user_id").filter(|id| !id.is_empty())));
    move || match user_id.get() {
        Some(user_id) => view! { <User user_id /> }.into_any(),
        None => view! { <ErrorMessage lines=vec!["ユーザーIDが正しくありません。".to_owned()] /> }.into_any(),
    }
}

#[component]
fn User(user_id: String) -> impl IntoView {
    let detail = LocalResource::new(move || {
        let user_id = user_id.clone();
        async move { api::admin_user(&user_id).await }
    });
    let unlocker =
        Unlocker::new(|user_id| async move { api::admin_unlock_user(&user_id).await }, move || detail.refetch());
    super::proposals_as_notices(unlocker.notices());
    let revoker = Revoker::new();
    let actions = AccountActions::new(
        |(user_id, op)| {
            Box::pin(async move {
                match op {
                    Op::Reset => api::admin_reset_password(&user_id).await.map(|r| Outcome::Reset(Box::new(r))),
                    Op::Email(request) => {
                        api::admin_change_email(&user_id, &request).await.map(|()| Outcome::EmailChanged { user_id })
                    }
                    Op::Retire => api::admin_retire(&user_id, &Retire::default())
                        .await
                        .map(|r| Outcome::Retired { user_id: r.user.user_id, revoked: Some(r.revoked.len()) }),
                }
            })
        },
        unlocker.notices(),
        move || detail.refetch(),
    );
    let changes = Changes::new(unlocker, move || detail.refetch());
    view! {
        <UnlockOutcome unlocker />
        <RevokeOutcome revoker />
        <AccountActionOutcome actions reset_view=reset_letter />
        {move || changes.letter.get().map(|m| master_letter(m, move || changes.letter.set(None)))}
        <Loaded resource=detail show=move |detail| view! { <Sections detail unlocker revoker actions changes /> } />
        <RevokeDialogs revoker on_revoked=move || detail.refetch() />
    }
}

/// マスターユーザーにする of the user shown, with the letter of the last change of master (shown
/// once). `Copy` (signal handles).
#[derive(Clone, Copy)]
struct Changes {
    make_master: Action<(String, MakeMaster), ()>,
    letter: RwSignal<Option<MasterChanged>>,
}

impl Changes {
    /// Notices and errors go to the unlocker's notices; `after` reloads the user.
    fn new(unlocker: Unlocker, after: impl Fn() + Copy + 'static) -> Self {
        let notices = unlocker.notices();
        let letter = RwSignal::new(None);
        // The initial password must not outlive the screen.
        on_cleanup(move || letter.set(None));
        let make_master = screen_action(
            |(user_id, request): (String, MakeMaster)| async move { api::admin_make_master(&user_id, &request).await },
            move |answer: Result<MasterChanged, ErrorBody>| {
                match answer {
                    Ok(changed) => {
                        notices.set(None);
                        letter.set(Some(changed));
                    }
                    Err(e) => notices.set(Some(Err(e))),
                }
                after();
            },
        );
        Self { make_master, letter }
    }
}

/// マスターユーザーにする (a general user of a company), confirmed in the browser's dialog, with
/// the choice of what becomes of the former master user.
#[component]
fn MakeMasterButton(user_id: String, changes: Changes) -> impl IntoView {
    let retire_former = RwSignal::new(false);
    let pending = changes.make_master.pending();
    let ask = move |_| {
        let retire = retire_former.get_untracked();
        let former = if retire {
            "前のマスターユーザーは利用停止になり、その電子証明書は失効します。"
        } else {
            "前のマスターユーザーは一般ユーザーになります。"
        };
        let question = format!(
            "ユーザーID {user_id} をマスターユーザーにしますか？\n{former}新しい初期パスワードを発行し、「ご利用開始(変更)のお知らせ」を表示します。"
        );
        if window().confirm_with_message(&question).unwrap_or(false) {
            changes.letter.set(None);
            changes.make_master.dispatch_local((user_id.clone(), MakeMaster { retire_former: retire }));
        }
    };
    view! {
        <h2 id="make-master-title">"マスターユーザーの変更"</h2>
        <CheckField label="前のマスターユーザーを利用停止にする（しない場合は一般ユーザーになります）" value=retire_former testid=testids::MAKE_MASTER_RETIRE />
        <div class="form-actions">
            <button type="button" class="button button-primary" data-testid=testids::MAKE_MASTER disabled=move || pending.get() on:click=ask>
                "マスターユーザーにする"
            </button>
        </div>
    }
}

#[component]
fn Sections(
    detail: UserDetail,
    unlocker: Unlocker,
    revoker: Revoker,
    actions: AccountActions,
    changes: Changes,
) -> impl IntoView {
    let now = clock::now();
    let user = detail.user;
    let state = &user.state;
    let can_unlock = labels::is_locked_or_blocked(state, now);
    // Retired users are kept for the record; nothing more can be done to them.
    let active = state.retired_at.is_none();
    let organization = match (user.organization_id, user.organization.clone()) {
        (Some(id), Some(name)) => view! { <OrganizationLink id name /> }.into_any(),
        (None, Some(name)) => name.into_any(),
        (_, None) => "—".into_any(),
    };
    let all_audit =
        tab_href(Tab::Audit, &AuditSearch { user_id: Some(user.user_id.clone()), ..Default::default() }.pairs());
    let certificates = if detail.certificates.is_empty() {
        view! { <p class="empty">"電子証明書は発行されていません。"</p> }.into_any()
    } else {
        let rows = detail.certificates.into_iter().map(|c| certificate_row(c, revoker, Owner::Neither)).collect_view();
        view! {
            <DataTable label="この利用者の電子証明書" columns=certificates::COLUMNS_OF_USER testid=Some(testids::USER_DETAIL_CERTS)>
                {rows}
            </DataTable>
        }
        .into_any()
    };
    let audit = if detail.audit.is_empty() {
        view! { <p class="empty">"記録はありません。"</p> }.into_any()
    } else {
        let rows = detail.audit.into_iter().map(audit_row).collect_view();
        view! {
            <DataTable label="この利用者の最近の操作" columns=audit::LABELS testid=Some(testids::USER_DETAIL_AUDIT)>
                {rows}
            </DataTable>
        }
        .into_any()
    };
    view! {
        <h2 class="detail-name mono">{user.user_id.clone()}</h2>
        <dl class="facts" data-testid=testids::USER_DETAIL>
            <dt>"ユーザーID"</dt>
            <dd class="mono">{user.user_id.clone()}</dd>
            <dt>"権限"</dt>
            <dd>{user.role.label()}</dd>
            <dt>"会社"</dt>
            <dd>{organization}</dd>
            <dt>"メールアドレス"</dt>
            <dd>{user.email.clone()}</dd>
            <dt>"状態"</dt>
            <dd>
                <span class=labels::account_state_class(state, now)>{labels::account_state(state, now)}</span>
                {can_unlock.then(|| view! { <UnlockButton user_id=user.user_id.clone() unlocker /> })}
            </dd>
            <dt>"連続失敗回数"</dt>
            <dd>{format!("{}回", state.failures)}</dd>
            <dt>"登録日時"</dt>
            <dd>{jst::format_datetime(detail.created_at)}</dd>
        </dl>
        {active.then(|| view! {
            <div class="form-actions">
                <AccountActionButtons user_id=user.user_id.clone() actions />
            </div>
        })}
        {(active && user.role == Role::General && user.organization_id.is_some()).then(|| view! {
            <MakeMasterButton user_id=user.user_id.clone() changes />
        })}
        <h2>"電子証明書"</h2>
        {certificates}
        <div class="section-heading">
            <h2>"最近の操作"</h2>
            <A href={all_audit} {..} class="button button-secondary button-small">"監査ログですべて見る"</A>
        </div>
        <p class="hint">{format!("この利用者が行った操作と、この利用者に対する操作の新しいもの（最大{}件）です。", UserDetail::AUDIT)}</p>
        {audit}
    }
}

/// The new one-time initial password of a reset on 「ご利用開始(変更)のお知らせ」.
fn reset_letter(reset: PasswordReset, actions: AccountActions) -> AnyView {
    let done = format!("ユーザーID {} のパスワードを再設定しました。", reset.user.user_id);
    change_letter(reset, done, "パスワードを再設定しました。", move || actions.close())
}
