//! 一般ユーザーの管理 (master users, on `/home`): their company's users — searched by the
//! beginning of the ID, part of the e-mail address and state, sorted and paged on the server —
//! with account and certificate state, 解除 for locked or blocked general users (R2), パスワード
//! 再設定 and 利用停止 of active general users, and the
//! creation of a general user whose one-time initial password (R11) is shown once, here, and
//! never again. The search is the screen's own (not in the URL: this bundle stays small).

use std::rc::Rc;

use common::{
    api::{
        CreatedUser, NewUser, PasswordReset, UserSummary,
        list::{UserSearch, UserState},
    },
    testids,
};
use leptos::{ev::SubmitEvent, prelude::*};
use time::OffsetDateTime;

use crate::{
    api, clock,
    components::{
        account_actions::{AccountActionButtons, AccountActionOutcome, AccountActions, Op, Outcome},
        form_field::{FormField, SearchField, SelectField},
        forms::{RegisterForm, submit_unless_pending},
        messages::ErrorLines,
        paged_list::{Column, ListControls, PagedTable, SearchState, filter},
        user_list::{AccountStateCell, CertificateStateCell, UnlockButton, UnlockOutcome, Unlocker},
    },
    error_text::{Audience, explain},
    form_checks::{check_email, check_user_id},
    labels,
    mounted::screen_action,
};

const COLUMNS: &[Column] = &[
    Column::sorted("ユーザーID", "user_id"),
    Column::plain("権限"),
    Column::plain("メールアドレス"),
    Column::plain("状態"),
    Column::plain("電子証明書"),
    Column::plain("操作"),
];

#[component]
pub fn UserManagement() -> impl IntoView {
    let state = SearchState::local(UserSearch::default());
    let org = LocalResource::new(move || {
        let search = state.get();
        async move { api::org_users(&search).await }
    });
    let unlocker = Unlocker::new(|user_id| async move { api::unlock_org_user(&user_id).await }, move || org.refetch());
    let actions = AccountActions::new(
        |(user_id, op)| {
            Box::pin(async move {
                match op {
                    Op::Reset => api::org_reset_password(&user_id).await.map(|r| Outcome::Reset(Box::new(r))),
                    Op::Email(request) => {
                        api::org_change_email(&user_id, &request).await.map(|()| Outcome::EmailChanged { user_id })
                    }
                    Op::Retire => api::org_retire(&user_id).await.map(|()| Outcome::Retired { user_id, revoked: None }),
                }
            })
        },
        unlocker.notices(),
        move || org.refetch(),
    );
    let users = Signal::derive(move || org.get().map(|answer| answer.map(|org| org.users)));
    // The company's figures, once loaded (the list shows the error, if any).
    let facts = move || {
        org.map(|answer| {
            answer.as_ref().ok().map(|org| (org.organization.clone(), org.with_certificates, org.certificate_limit))
        })
        .flatten()
        .map(|(name, with_certificates, limit)| {
            view! {
                <dl class="facts">
                    <dt>"会社"</dt>
                    <dd>{name}</dd>
                    <dt>"電子証明書"</dt>
                    <dd>
                        {format!("証明書保有 {with_certificates} / 上限 {limit} 名")}
                        {(with_certificates >= limit).then(|| view! { <span class="state state-warn">"上限に達しています"</span> })}
                    </dd>
                </dl>
            }
        })
    };

    view! {
        <section class="card section-card" aria-labelledby="users-title">
            <h2 id="users-title" class="section-title">"一般ユーザーの管理"</h2>
            {facts}
            <SearchForm state />
            <UnlockOutcome unlocker />
            <AccountActionOutcome actions reset_view=reset_notice />
            <PagedTable
                page=users
                controls=ListControls::new(state, "user_id")
                label="ユーザー一覧"
                columns=COLUMNS
                empty="該当するユーザーはいません。"
                testid=testids::MASTER_USERS_TABLE
                rows=move |list| {
                    let now = clock::now();
                    list.into_iter().map(|user| view! { <UserRow user now unlocker actions /> }).collect_view()
                }
            />
            <ul class="notes">
                <li>"ロック中・閉塞の一般ユーザーは[解除]ボタンで利用を再開できます。解除すると失敗回数もリセットされます。"</li>
                <li>"パスワードを忘れた一般ユーザーには[パスワード再設定]で新しい初期パスワードを発行します。連絡先は[メールアドレス変更]で変えられます。退職などでご利用を終える一般ユーザーは[利用停止]にしてください（電子証明書は失効し、上限の枠が空きます）。"</li>
                <li>"パソコンの変更などで電子証明書の失効が必要な場合は、お取引店（労金）にご連絡ください。"</li>
            </ul>
            <NewUserForm on_created=move || org.refetch() />
        </section>
    }
}

/// The search of the list: the beginning of the ID, part of the e-mail address, the state.
#[component]
fn SearchForm(state: SearchState<UserSearch>) -> impl IntoView {
    let user_id = state.field(|s| s.user_id.clone());
    let email = state.field(|s| s.email.clone());
    let account = state.field(|s| s.state.clone());
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        state.submit(UserSearch {
            user_id: filter(user_id.get_untracked()),
            email: filter(email.get_untracked()),
            state: filter(account.get_untracked()),
            ..Default::default()
        });
    };
    let states = UserState::ALL.map(|s| (s.as_str(), s.label())).to_vec();
    view! {
        <form class="form filters" novalidate=true on:submit=on_submit aria-label="ユーザーの検索">
            <SearchField id="master-search-user-id" label="ユーザーID（前方一致）" value=user_id testid=testids::MASTER_SEARCH_USER_ID />
            <SearchField id="master-search-email" label="メールアドレス（部分一致）" value=email />
            <SelectField id="master-search-state" label="状態" value=account options=states />
            <button type="submit" class="button button-primary" data-testid=testids::MASTER_SEARCH_SUBMIT>
                "検索"
            </button>
        </form>
    }
}

/// One user; 解除 only for a locked or blocked general user, パスワード再設定, メールアドレス変更 and
/// 利用停止 for an active general user.
#[component]
fn UserRow(user: UserSummary, now: OffsetDateTime, unlocker: Unlocker, actions: AccountActions) -> impl IntoView {
    let can_unlock = labels::master_may_unlock(&user, now);
    let can_manage = labels::master_may_manage(&user);
    view! {
        <tr data-testid=format!("{}{}", testids::USER_ROW_PREFIX, user.user_id)>
            <td class="mono">{user.user_id.clone()}</td>
            <td>{user.role.label()}</td>
            <td>{user.email.clone()}</td>
            <AccountStateCell state=user.state.clone() now />
            <CertificateStateCell certificate=user.certificate.clone() />
            <td class="actions">
                {can_unlock.then(|| view! { <UnlockButton user_id=user.user_id.clone() unlocker /> })}
                {can_manage.then(|| view! { <AccountActionButtons user_id=user.user_id.clone() actions /> })}
            </td>
        </tr>
    }
}

/// 一般ユーザーの登録: ID and e-mail; the answer's initial password is shown once.
#[component]
fn NewUserForm(on_created: impl Fn() + Copy + 'static) -> impl IntoView {
    let user_id = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let errors: RwSignal<Vec<String>> = RwSignal::new(Vec::new());
    let created: RwSignal<Option<CreatedUser>> = RwSignal::new(None);
    // The initial password must not outlive the screen.
    on_cleanup(move || created.set(None));

    let create = screen_action(
        |new_user: Rc<NewUser>| async move { api::create_org_user(&new_user).await },
        move |answer| match answer {
            Ok(user) => {
                created.set(Some(user));
                user_id.set(String::new());
                email.set(String::new());
                on_created();
            }
            Err(error) => errors.set(explain(&error, Audience::Session)),
        },
    );
    let pending = create.pending();

    let on_submit = submit_unless_pending(pending, move || {
        let id = check_user_id(&user_id.get_untracked());
        let address = check_email(&email.get_untracked());
        match (id, address) {
            (Ok(user_id), Ok(email)) => {
                errors.set(Vec::new());
                created.set(None);
                create.dispatch_local(Rc::new(NewUser { user_id, email }));
            }
            (id, address) => errors.set([id.err(), address.err()].into_iter().flatten().collect()),
        }
    });

    view! {
        <h3 id="new-user-title">"一般ユーザーの登録"</h3>
        <p>"登録すると初期パスワードを発行します。初期パスワードはこの画面に一度だけ表示されます。"</p>
        {move || {
            created.get().map(|user| {
                let heading = format!("一般ユーザー {} を登録しました。", user.user_id);
                view! { <CreatedUserNotice user heading on_close=move || created.set(None) /> }
            })
        }}
        <ErrorLines lines=errors />
        <RegisterForm labelledby="new-user-title" pending submit_testid=testids::MASTER_CREATE_USER on_submit>
            <FormField
                id="new-user-id"
                label="ユーザーID"
                value=user_id
                testid=testids::MASTER_NEW_USER_ID
                hint="半角英数混在 6~12 桁。英字は大文字と小文字を区別します。"
                disabled=pending
            />
            <FormField
                id="new-user-email"
                label="メールアドレス"
                value=email
                input_type="email"
                testid=testids::MASTER_NEW_EMAIL
                hint="ロック・閉塞や有効期限のお知らせを送ります。"
                disabled=pending
            />
        </RegisterForm>
    }
}

/// A new initial password shown once: of a user just created, or after a reset.
fn reset_notice(reset: PasswordReset, actions: AccountActions) -> AnyView {
    let heading = format!("ユーザーID {} のパスワードを再設定しました。", reset.user.user_id);
    let user = CreatedUser { user_id: reset.user.user_id, initial_password: reset.initial_password };
    view! { <CreatedUserNotice user heading on_close=move || actions.close() /> }.into_any()
}

/// The one-time initial password of a user just created (or reset), with how to hand it over.
#[component]
fn CreatedUserNotice(user: CreatedUser, heading: String, on_close: impl Fn() + 'static) -> impl IntoView {
    view! {
        <div class="message message-notice secret-notice" role="status">
            <p>
                <strong>{heading}</strong>
            </p>
            <dl class="facts">
                <dt>"ユーザーID"</dt>
                <dd class="mono">{user.user_id.clone()}</dd>
                <dt>"初期パスワード"</dt>
                <dd>
                    <span class="secret mono" data-testid=testids::CREATED_INITIAL_PASSWORD>{user.initial_password.clone()}</span>
                </dd>
            </dl>
            <ul class="notes">
                <li>"初期パスワードはこの画面を閉じると二度と表示されません。控えてから閉じてください。"</li>
                <li>"ユーザーIDと初期パスワードは、本人に安全な方法で（メールに書かずに）お渡しください。"</li>
                <li>"一般ユーザーは、ログイン画面の「一般ユーザーの初期登録」で初期パスワードを新しいパスワードに変更し、電子証明書を発行します。"</li>
            </ul>
            <button type="button" class="button button-secondary button-small" on:click=move |_| on_close()>
                "控えたので閉じる"
            </button>
        </div>
    }
}
