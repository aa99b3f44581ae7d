//! `/register/master` マスターユーザー初期登録ログイン: the ID and one-time initial password from
//! the letter 「ご利用開始(変更)のお知らせ」 are replaced by a new password and an e-mail address
//! (R11), then the user continues with certificate issuance.

use std::rc::Rc;

use common::{Field, Password, UserId, api::PasswordChange, testids};
use leptos::prelude::*;
use leptos_router::{NavigateOptions, hooks::use_navigate};

use crate::{
    api,
    components::{
        credentials_form::{FORMAT_HINT, NewPasswordFields},
        form_field::FormField,
        forms::{CancelLink, SubmitButton, submit_unless_pending},
        messages::ErrorLines,
        page_title::TitledCard,
    },
    error_text::{Audience, explain},
    form_checks::check_email,
    mounted::screen_action,
    routes,
    wizard::Wizard,
};

const NEW_PASSWORD_HINT: &str = "半角英数混在 6~12 桁で入力します。(英数混在必須) 英字は大文字と小文字を区別します。初期パスワードとは異なるものを設定してください。";

#[component]
pub fn RegisterMasterPage() -> impl IntoView {
    let wizard = Wizard::expect();
    let user_id = RwSignal::new(String::new());
    let current_password = RwSignal::new(String::new());
    let new_password = RwSignal::new(String::new());
    let new_password_confirm = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let errors: RwSignal<Vec<String>> = RwSignal::new(Vec::new());

    let navigate = use_navigate();
    let register = screen_action(
        // The ID as typed goes on to ④ with the answer.
        |registration: Rc<PasswordChange>| async move {
            (api::change_password(&registration).await, registration.user_id.clone())
        },
        move |(answer, user_id)| match answer {
            Ok(_) => {
                wizard.user_id.set(user_id);
                navigate(&routes::issuance_auth_after_registration(), NavigateOptions::default());
            }
            Err(error) => errors.set(explain(&error, Audience::MasterRegistration)),
        },
    );
    let pending = register.pending();

    let on_submit = submit_unless_pending(pending, move || {
        match check_form(
            &user_id.get_untracked(),
            &current_password.get_untracked(),
            &new_password.get_untracked(),
            &new_password_confirm.get_untracked(),
            &email.get_untracked(),
        ) {
            Ok(registration) => {
                errors.set(Vec::new());
                register.dispatch_local(Rc::new(registration));
            }
            Err(problems) => errors.set(problems),
        }
    });

    view! {
        <TitledCard class="card form-card" title="マスターユーザー初期登録ログイン">
            <p>
                "「ご利用開始(変更)のお知らせ」に記載されているユーザーIDと初期パスワードを入力し、新しいパスワードとメールアドレスを登録してください。登録後、続けて電子証明書を発行します。"
            </p>
            <ErrorLines lines=errors />
            <form class="form" novalidate=true on:submit=on_submit>
                <FormField id="reg-user-id" label="ユーザーID" value=user_id testid=testids::REG_USER_ID hint=FORMAT_HINT disabled=pending />
                <FormField
                    id="reg-current-password"
                    label="初期パスワード"
                    value=current_password
                    input_type="password"
                    testid=testids::REG_CURRENT_PASSWORD
                    hint="「ご利用開始(変更)のお知らせ」に記載されている初期パスワードを入力します。"
                    disabled=pending
                />
                <NewPasswordFields
                    ids=["reg-new-password", "reg-new-password-confirm"]
                    testids=[testids::REG_NEW_PASSWORD, testids::REG_NEW_PASSWORD_CONFIRM]
                    hint=NEW_PASSWORD_HINT new_password confirm=new_password_confirm disabled=pending
                />
                <FormField
                    id="reg-email"
                    label="メールアドレス"
                    value=email
                    input_type="email"
                    testid=testids::REG_EMAIL
                    hint="電子証明書の有効期限やロック・閉塞のお知らせを送ります。"
                    disabled=pending
                />
                <div class="form-actions">
                    <CancelLink testid=testids::REG_CANCEL />
                    <SubmitButton pending testid=testids::REG_SUBMIT label="登録" pending_label="登録中…" />
                </div>
            </form>
        </TitledCard>
    }
}

/// The client-side checks (R1 via `common`, confirmation, e-mail shape); all problems at once.
fn check_form(
    user_id: &str,
    current_password: &str,
    new_password: &str,
    confirm: &str,
    email: &str,
) -> Result<PasswordChange, Vec<String>> {
    let mut problems = Vec::new();
    let user_id = UserId::parse(user_id).map_err(|e| problems.push(e.to_string()));
    let current = Password::parse(Field::CurrentPassword, current_password)
        .map_err(|_| problems.push(initial_password_problem(current_password)));
    let new = Password::parse(Field::NewPassword, new_password).map_err(|e| problems.push(e.to_string()));
    if new.is_ok() && confirm != new_password {
        problems.push("新しいパスワードと新しいパスワード（確認）が一致しません。".to_owned());
    }
    if new.is_ok() && new_password == current_password {
        problems.push("新しいパスワードには、初期パスワードとは異なるものを設定してください。".to_owned());
    }
    let email = check_email(email).map_err(|problem| problems.push(problem));
    match (user_id, current, new, email) {
        (Ok(user_id), Ok(current), Ok(new), Ok(email)) if problems.is_empty() => Ok(PasswordChange {
            user_id: user_id.as_str().to_owned(),
            current_password: current.expose().to_owned(),
            new_password: new.expose().to_owned(),
            email: Some(email),
        }),
        _ => Err(problems),
    }
}

/// The initial password is named as the letter calls it, whatever R1 part it breaks.
fn initial_password_problem(value: &str) -> String {
    if value.is_empty() {
        "初期パスワードを入力してください。".to_owned()
    } else {
        "初期パスワードは「ご利用開始(変更)のお知らせ」に記載の半角英数混在 6~12 桁です。入力内容を確認してください。"
            .to_owned()
    }
}
