//! 一般ユーザーの管理 (master users, on `/home`): their company's users with account and
//! certificate state, 解除 for locked or blocked general users (R2), and the creation of a general
//! user whose one-time initial password (R11) is shown once, here, and never again.

use std::rc::Rc;

use common::{
    api::{CreatedUser, NewUser, OrganizationUsers, UserSummary},
    testids,
};
use leptos::prelude::*;
use time::OffsetDateTime;

use crate::{
    api, clock,
    components::{
        data_table::{DataTable, Loaded},
        form_field::FormField,
        forms::{RegisterForm, submit_unless_pending},
        messages::ErrorLines,
        user_list::{AccountStateCell, CertificateStateCell, UnlockButton, UnlockOutcome, Unlocker},
    },
    error_text::{Audience, explain},
    form_checks::{check_email, check_user_id},
    labels,
    mounted::screen_action,
};

#[component]
pub fn UserManagement() -> impl IntoView {
    let users = LocalResource::new(api::org_users);
    let unlocker =
        Unlocker::new(|user_id| async move { api::unlock_org_user(&user_id).await }, move || users.refetch());

    view! {
        <section class="card section-card" aria-labelledby="users-title">
            <h2 id="users-title" class="section-title">"一般ユーザーの管理"</h2>
            <Loaded resource=users show=move |org| view! { <Organization org unlocker /> } />
            <UnlockOutcome unlocker />
            <ul class="notes">
                <li>"ロック中・閉塞の一般ユーザーは[解除]ボタンで利用を再開できます。解除すると失敗回数もリセットされます。"</li>
                <li>"パソコンの変更などで電子証明書の失効が必要な場合は、お取引店（労金）にご連絡ください。"</li>
            </ul>
            <NewUserForm on_created=move || users.refetch() />
        </section>
    }
}

/// The company's certificate count against its limit, and its users.
#[component]
fn Organization(org: OrganizationUsers, unlocker: Unlocker) -> impl IntoView {
    let now = clock::now();
    let full = org.with_certificates >= org.certificate_limit;
    let rows = org.users.into_iter().map(|user| view! { <UserRow user now unlocker /> }).collect_view();
    view! {
        <dl class="facts">
            <dt>"会社"</dt>
            <dd>{org.organization}</dd>
            <dt>"電子証明書"</dt>
            <dd>
                {format!("証明書保有 {} / 上限 {} 名", org.with_certificates, org.certificate_limit)}
                {full.then(|| view! { <span class="state state-warn">"上限に達しています"</span> })}
            </dd>
        </dl>
        <DataTable
            label="ユーザー一覧"
            columns=&["ユーザーID", "権限", "メールアドレス", "状態", "電子証明書", "操作"]
            testid=Some(testids::MASTER_USERS_TABLE)
        >
            {rows}
        </DataTable>
    }
}

/// One user; 解除 only for a locked or blocked general user.
#[component]
fn UserRow(user: UserSummary, now: OffsetDateTime, unlocker: Unlocker) -> impl IntoView {
    let can_unlock = labels::master_may_unlock(&user, now);
    view! {
        <tr data-testid=format!("{}{}", testids::USER_ROW_PREFIX, user.user_id)>
            <td class="mono">{user.user_id.clone()}</td>
            <td>{user.role.label()}</td>
            <td>{user.email.clone()}</td>
            <AccountStateCell state=user.state.clone() now />
            <CertificateStateCell certificate=user.certificate.clone() />
            <td>{can_unlock.then(|| view! { <UnlockButton user_id=user.user_id.clone() unlocker /> })}</td>
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
        {move || created.get().map(|user| view! { <CreatedUserNotice user on_close=move || created.set(None) /> })}
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

/// The one-time initial password of a user just created, with how to hand it over.
#[component]
fn CreatedUserNotice(user: CreatedUser, on_close: impl Fn() + 'static) -> impl IntoView {
    view! {
        <div class="message message-notice secret-notice" role="status">
            <p>
                <strong>{format!("一般ユーザー {} を登録しました。", user.user_id)}</strong>
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
