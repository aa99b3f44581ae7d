//! 利用者 tab: every user (optionally of one company) with role, account and certificate state,
//! and 解除 for any locked or blocked user (R2: staff may unlock master users and anyone else).

use common::{api::UserSummary, testids};
use leptos::prelude::*;
use time::OffsetDateTime;

use crate::{
    api, clock,
    components::{
        data_table::ListTable,
        user_list::{AccountStateCell, CertificateStateCell, UnlockButton, UnlockOutcome, Unlocker},
    },
    labels,
};

#[component]
pub fn UsersTab() -> impl IntoView {
    let organizations = LocalResource::new(api::admin_organizations);
    // The company filter: an organization id, or empty for all.
    let organization = RwSignal::new(String::new());
    let users = LocalResource::new(move || {
        let organization_id = organization.get();
        async move { api::admin_users(&organization_id).await }
    });
    let unlocker =
        Unlocker::new(|user_id| async move { api::admin_unlock_user(&user_id).await }, move || users.refetch());

    let organization_options = move || {
        organizations
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .map(|org| {
                view! { <option value=org.id.to_string()>{org.name}</option> }
            })
            .collect_view()
    };

    view! {
        <h2>"利用者一覧"</h2>
        <div class="filters">
            <div class="field">
                <label for="users-organization">"会社"</label>
                <select
                    id="users-organization"
                    prop:value=move || organization.get()
                    on:change=move |ev| organization.set(event_target_value(&ev))
                >
                    <option value="">"すべての会社"</option>
                    {organization_options}
                </select>
            </div>
            <button type="button" class="button button-secondary" on:click=move |_| users.refetch()>
                "最新の情報に更新"
            </button>
        </div>
        <UnlockOutcome unlocker />
        <ListTable
            list=users
            empty="該当する利用者はいません。"
            label="利用者一覧"
            columns=&["ユーザーID", "権限", "会社", "メールアドレス", "状態", "失敗回数", "電子証明書", "操作"]
            rows=move |list| {
                let now = clock::now();
                list.into_iter().map(|user| view! { <UserRow user now unlocker /> }).collect_view()
            }
        />
    }
}

/// One user; 解除 for any locked or blocked user.
#[component]
fn UserRow(user: UserSummary, now: OffsetDateTime, unlocker: Unlocker) -> impl IntoView {
    let can_unlock = labels::is_locked_or_blocked(&user.state, now);
    view! {
        <tr data-testid=format!("{}{}", testids::USER_ROW_PREFIX, user.user_id)>
            <td class="mono">{user.user_id.clone()}</td>
            <td class="nowrap">{user.role.label()}</td>
            <td class="org">{user.organization.clone().unwrap_or_else(|| "—".to_owned())}</td>
            <td>{user.email.clone()}</td>
            <AccountStateCell state=user.state.clone() now />
            <td class="num">{user.state.failures}</td>
            <CertificateStateCell certificate=user.certificate.clone() />
            <td>{can_unlock.then(|| view! { <UnlockButton user_id=user.user_id.clone() unlocker /> })}</td>
        </tr>
    }
}
