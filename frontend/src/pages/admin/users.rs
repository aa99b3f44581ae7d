//! 利用者 tab: users searched by the beginning of the ID, part of the e-mail address or company
//! name, role and state (locked, blocked, renewal due, no certificate), sorted and paged, with
//! 解除 for any locked or blocked user (R2: staff may unlock master users and anyone else).

use common::{
    api::{
        Role, UserSummary,
        list::{Export, Search, UserSearch, UserState},
    },
    testids,
};
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::components::A;
use time::OffsetDateTime;

use super::{ExportLink, OrganizationLink, Tab, UserLink, search_in_url, tab_href};
use crate::{
    api, clock,
    components::{
        form_field::{SearchField, SelectField},
        paged_list::{Column, ListControls, PagedTable, filter, loaded},
        user_list::{AccountStateCell, CertificateStateCell, UnlockButton, UnlockOutcome, Unlocker},
    },
    labels,
};

/// The columns of a staff list of users (the 利用者 tab and a company's page).
pub(super) const COLUMNS: &[Column] = &[
    Column::sorted("ユーザーID", "user_id"),
    Column::plain("権限"),
    Column::sorted("会社", "organization"),
    Column::plain("メールアドレス"),
    Column::plain("状態"),
    Column::plain("失敗回数"),
    Column::plain("電子証明書"),
    Column::plain("操作"),
];

/// [`COLUMNS`] without 会社: the users on a company's page.
pub(super) const COLUMNS_OF_ORGANIZATION: &[Column] = &[
    Column::sorted("ユーザーID", "user_id"),
    Column::plain("権限"),
    Column::plain("メールアドレス"),
    Column::plain("状態"),
    Column::plain("失敗回数"),
    Column::plain("電子証明書"),
    Column::plain("操作"),
];

/// The sort of a staff list of users when the search names none.
pub(super) const DEFAULT_SORT: &str = "user_id";

/// The roles, for a search's choice.
pub(super) fn role_options() -> Vec<(&'static str, &'static str)> {
    [Role::General, Role::Master, Role::Staff].map(|role| (role.as_str(), role.label())).to_vec()
}

/// The states, for a search's choice.
pub(super) fn state_options() -> Vec<(&'static str, &'static str)> {
    UserState::ALL.map(|state| (state.as_str(), state.label())).to_vec()
}

#[component]
pub fn UsersTab() -> impl IntoView {
    let state = search_in_url::<UserSearch>(Tab::Users);
    let list = LocalResource::new(move || {
        let search = state.get();
        async move { api::admin_users(&search).await }
    });
    let controls = ListControls::new(state, DEFAULT_SORT);
    let unlocker =
        Unlocker::new(|user_id| async move { api::admin_unlock_user(&user_id).await }, move || list.refetch());
    super::proposals_as_notices(unlocker.notices());
    let user_id = state.field_following(|s| s.user_id.clone());
    let email = state.field_following(|s| s.email.clone());
    let organization = state.field_following(|s| s.organization.clone());
    let role = state.field_following(|s| s.role.clone());
    let account = state.field_following(|s| s.state.clone());
    // A company chosen by a link (its page): kept until 解除.
    let organization_id = Memo::new(move |_| state.get().organization_id);
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        state.submit(UserSearch {
            user_id: filter(user_id.get_untracked()),
            email: filter(email.get_untracked()),
            organization_id: organization_id.get_untracked(),
            organization: filter(organization.get_untracked()),
            role: filter(role.get_untracked()),
            state: filter(account.get_untracked()),
            ..Default::default()
        });
    };
    let export = Signal::derive(move || api::admin_export_href(Export::Users, &state.get().without_paging().pairs()));

    view! {
        <h2 id="users-search-title">"利用者の検索"</h2>
        <form class="form filters" novalidate=true on:submit=on_submit aria-labelledby="users-search-title">
            <SearchField id="users-user-id" label="ユーザーID（前方一致）" value=user_id testid=testids::ADMIN_USER_SEARCH />
            <SearchField id="users-email" label="メールアドレス（部分一致）" value=email />
            <SearchField id="users-organization" label="会社名（部分一致）" value=organization />
            <SelectField id="users-role" label="権限" value=role options=role_options() />
            <SelectField id="users-state" label="状態" value=account options=state_options() />
            <button type="submit" class="button button-primary" data-testid=testids::ADMIN_USER_SEARCH_SUBMIT>
                "検索"
            </button>
        </form>
        {move || organization_id.get().map(|id| view! {
            <p class="filter-note">
                {format!("会社ID {id} の利用者に絞り込んでいます。")}
                <A href=tab_href(Tab::Users, &[])>"絞り込みを解除"</A>
            </p>
        })}
        <UnlockOutcome unlocker />
        <PagedTable
            page=loaded(list)
            controls
            label="利用者一覧"
            columns=COLUMNS
            empty="該当する利用者はいません。"
            testid=testids::ADMIN_USER_TABLE
            rows=move |list| {
                let now = clock::now();
                list.into_iter().map(|user| view! { <UserRow user now unlocker /> }).collect_view()
            }
        >
            <ExportLink href=export testid=testids::ADMIN_USER_EXPORT />
        </PagedTable>
    }
}

/// One user of a staff list; 解除 for any locked or blocked user.
#[component]
pub(super) fn UserRow(
    user: UserSummary,
    now: OffsetDateTime,
    unlocker: Unlocker,
    /// On a company's page: no 会社 cell ([`COLUMNS_OF_ORGANIZATION`]).
    #[prop(optional)]
    of_organization: bool,
) -> impl IntoView {
    let can_unlock = labels::is_locked_or_blocked(&user.state, now);
    let organization = (!of_organization).then(|| {
        let name = match (user.organization_id, user.organization.clone()) {
            (Some(id), Some(name)) => view! { <OrganizationLink id name /> }.into_any(),
            (None, Some(name)) => name.into_any(),
            (_, None) => "—".into_any(),
        };
        view! { <td class="org">{name}</td> }
    });
    view! {
        <tr data-testid=format!("{}{}", testids::USER_ROW_PREFIX, user.user_id)>
            <td>
                <UserLink user_id=user.user_id.clone() />
            </td>
            <td class="nowrap">{user.role.label()}</td>
            {organization}
            <td>{user.email.clone()}</td>
            <AccountStateCell state=user.state.clone() now />
            <td class="num">{user.state.failures}</td>
            <CertificateStateCell certificate=user.certificate.clone() />
            <td>{can_unlock.then(|| view! { <UnlockButton user_id=user.user_id.clone() unlocker /> })}</td>
        </tr>
    }
}
