//! 利用者の詳細 (`/admin/users/{user_id}`): the user — role, company, e-mail address, lock state
//! (解除 when locked or blocked; パスワード再設定 and 利用停止 while not retired) — their
//! certificates (失効 as on the certificates tab) and the newest audit entries done by or about
//! them (the audit tab has the rest).

use common::{
    api::{
        PasswordReset, UserDetail,
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
    tab_href,
};
use crate::{
    api, clock,
    components::{
        account_actions::{AccountActionButtons, AccountActionOutcome, AccountActions, Outcome},
        data_table::{DataTable, Loaded},
        messages::ErrorMessage,
        user_list::{UnlockButton, UnlockOutcome, Unlocker},
    },
    labels,
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
    let revoker = Revoker::new();
    let actions = AccountActions::new(
        |(user_id, retire)| {
            Box::pin(async move {
                match retire {
                    None => api::admin_reset_password(&user_id).await.map(|r| Outcome::Reset(Box::new(r))),
                    Some(request) => api::admin_retire(&user_id, &request)
                        .await
                        .map(|r| Outcome::Retired { user_id: r.user.user_id, revoked: Some(r.revoked.len()) }),
                }
            })
        },
        unlocker.notices(),
        move || detail.refetch(),
    );
    view! {
        <UnlockOutcome unlocker />
        <RevokeOutcome revoker />
        <AccountActionOutcome actions reset_view=reset_letter />
        <Loaded resource=detail show=move |detail| view! { <Sections detail unlocker revoker actions /> } />
        <RevokeDialogs revoker on_revoked=move || detail.refetch() />
    }
}

#[component]
fn Sections(detail: UserDetail, unlocker: Unlocker, revoker: Revoker, actions: AccountActions) -> impl IntoView {
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

/// The new one-time initial password on 「ご利用開始(変更)のお知らせ」, ready to print (only the
/// letter prints: `@media print` in `admin.css`).
fn reset_letter(reset: PasswordReset, actions: AccountActions) -> AnyView {
    let user = reset.user;
    let print = |_| {
        if let Err(e) = window().print() {
            leptos::logging::error!("window.print failed: {e:?}");
        }
    };
    view! {
        <div class="message message-notice no-print" role="status">
            <p>
                {format!("ユーザーID {} のパスワードを再設定しました。", user.user_id)}
                "初期パスワードはこのお知らせにだけ表示されます。印刷してから閉じてください。"
            </p>
        </div>
        <article class="notice-letter print-area" aria-labelledby="change-letter-title">
            <p class="notice-to">{format!("{} 御中", user.organization.clone().unwrap_or_else(|| "労働金庫".to_owned()))}</p>
            <h2 id="change-letter-title" class="notice-title">"ご利用開始(変更)のお知らせ"</h2>
            <p>"パスワードを再設定しました。次のユーザーIDと初期パスワードでログインし、新しいパスワードを設定してください。"</p>
            <dl class="facts">
                <dt>"URL"</dt>
                <dd class="mono">{reset.url}</dd>
                <dt>"ユーザーID"</dt>
                <dd class="mono">{user.user_id.clone()}</dd>
                <dt>"初期パスワード"</dt>
                <dd>
                    <span class="mono secret" data-testid=testids::RESET_INITIAL_PASSWORD>{reset.initial_password}</span>
                </dd>
            </dl>
        </article>
        <div class="form-actions no-print">
            <button type="button" class="button button-primary" on:click=print>"お知らせを印刷"</button>
            <button type="button" class="button button-secondary" on:click=move |_| actions.close()>"閉じる"</button>
        </div>
    }
    .into_any()
}
