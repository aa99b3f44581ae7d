//! 利用者 tab: every user (optionally of one company) with role, account and certificate state,
//! and 解除 for any locked or blocked user (R2: staff may unlock master users and anyone else).

use common::{ErrorBody, testids};
use leptos::prelude::*;

use crate::{
    api, clock,
    components::messages::{NoticeMessage, SessionError},
    labels,
    mounted::Mounted,
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
    let unlock_result: RwSignal<Option<Result<String, ErrorBody>>> = RwSignal::new(None);
    let mounted = Mounted::track();
    let unlock = Action::new_local(move |user_id: &String| {
        let user_id = user_id.clone();
        let mounted = mounted.clone();
        async move {
            let answer = api::admin_unlock_user(&user_id).await;
            if !mounted.get() {
                return;
            }
            unlock_result.set(Some(answer.map(|user| user.user_id)));
            users.refetch();
        }
    });
    let unlocking = unlock.pending();

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
        {move || unlock_result.get().map(|result| match result {
            Ok(user_id) => view! {
                <NoticeMessage>
                    <p>{format!("ユーザーID {user_id} のロック・閉塞を解除しました。")}</p>
                </NoticeMessage>
            }
            .into_any(),
            Err(error) => view! { <SessionError error /> }.into_any(),
        })}
        {move || match users.get() {
            None => view! { <p class="loading" role="status">"読み込み中…"</p> }.into_any(),
            Some(Err(error)) => view! { <SessionError error /> }.into_any(),
            Some(Ok(list)) if list.is_empty() => view! { <p class="empty">"該当する利用者はいません。"</p> }.into_any(),
            Some(Ok(list)) => {
                let now = clock::now();
                let rows = list
                    .into_iter()
                    .map(|user| {
                        let can_unlock = labels::is_locked_or_blocked(&user.state, now);
                        let user_id = user.user_id.clone();
                        view! {
                            <tr data-testid=format!("{}{}", testids::USER_ROW_PREFIX, user.user_id)>
                                <td class="mono">{user.user_id.clone()}</td>
                                <td class="nowrap">{user.role.label()}</td>
                                <td class="org">{user.organization.clone().unwrap_or_else(|| "—".to_owned())}</td>
                                <td>{user.email.clone()}</td>
                                <td>
                                    <span class=labels::account_state_class(&user.state, now)>
                                        {labels::account_state(&user.state, now)}
                                    </span>
                                </td>
                                <td class="num">{user.state.failures}</td>
                                <td>
                                    <span class=labels::certificate_state_class(user.certificate.as_ref())>
                                        {labels::certificate_state(user.certificate.as_ref())}
                                    </span>
                                </td>
                                <td>
                                    {can_unlock.then(|| {
                                        let testid = format!("{}{user_id}", testids::UNLOCK_PREFIX);
                                        let label = format!("ユーザーID {user_id} のロック・閉塞を解除");
                                        view! {
                                            <button
                                                type="button"
                                                class="button button-secondary button-small"
                                                aria-label=label
                                                disabled=move || unlocking.get()
                                                data-testid=testid
                                                on:click=move |_| {
                                                    unlock.dispatch_local(user_id.clone());
                                                }
                                            >
                                                "解除"
                                            </button>
                                        }
                                    })}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view();
                view! {
                    <div class="table-scroll" tabindex="0" role="region" aria-label="利用者一覧">
                        <table class="data-table">
                            <thead>
                                <tr>
                                    <th scope="col">"ユーザーID"</th>
                                    <th scope="col">"権限"</th>
                                    <th scope="col">"会社"</th>
                                    <th scope="col">"メールアドレス"</th>
                                    <th scope="col">"状態"</th>
                                    <th scope="col">"失敗回数"</th>
                                    <th scope="col">"電子証明書"</th>
                                    <th scope="col">"操作"</th>
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
