//! `/issuance/auth` ④ 「電子証明書発行 ユーザー認証」: user ID and password, checked against R1
//! here and then by the server, which answers with a single-use issuance token.
//!
//! A one-time initial password (R11, answer 428) is replaced right here: the screen opens the
//! 新しいパスワード fields, changes the password and authenticates again with the new one.

use std::rc::Rc;

use common::{
    ErrorCode, Field, Password,
    api::{Credentials, PasswordChange},
    testids,
};
use leptos::prelude::*;
use leptos_router::{
    NavigateOptions,
    hooks::{use_navigate, use_query_map},
};

use crate::{
    api,
    components::{
        credentials_form::{CredentialsForm, CredentialsFormNames, FORMAT_HINT, NewPasswordFields},
        forms::{SubmitButton, submit_unless_pending},
        messages::{ErrorLines, NoticeMessage},
        page_title::TitledCard,
        step_bar::{Step, StepBar},
    },
    error_text::{Audience, explain},
    form_checks::check_credentials,
    mounted::Mounted,
    routes::{self, IssuanceStep, Route},
    wizard::Wizard,
};

/// The fields and buttons of this screen's form.
const FORM: CredentialsFormNames = CredentialsFormNames {
    user_id_id: "auth-user-id",
    user_id_testid: testids::AUTH_USER_ID,
    password_id: "auth-password",
    password_testid: testids::AUTH_PASSWORD,
    cancel_testid: testids::AUTH_CANCEL,
    keyboard_testid: testids::AUTH_SOFTWARE_KEYBOARD,
    submit_testid: testids::AUTH_SUBMIT,
    submit: "認証",
    submitting: "認証中…",
};

/// What one press of 認証 (or of the R11 change button) sends.
enum AuthRequest {
    Authenticate(Credentials),
    /// R11: replace the initial password, then authenticate with the new one.
    ChangeThenAuthenticate(PasswordChange),
}

#[component]
pub fn IssuanceAuthPage() -> impl IntoView {
    let wizard = Wizard::expect();
    let query = use_query_map();
    let registered = move || routes::is_after_registration(&query.read());

    let errors: RwSignal<Vec<String>> = RwSignal::new(Vec::new());
    let need_change = RwSignal::new(false);
    let new_password = RwSignal::new(String::new());
    let new_password_confirm = RwSignal::new(String::new());

    let mounted = Mounted::track();
    let navigate = use_navigate();
    let authenticate = Action::new_local(move |request: &Rc<AuthRequest>| {
        let request = Rc::clone(request);
        let navigate = navigate.clone();
        let mounted = mounted.clone();
        async move {
            let credentials = match &*request {
                AuthRequest::Authenticate(credentials) => credentials.clone(),
                AuthRequest::ChangeThenAuthenticate(change) => {
                    let changed = api::change_password(change).await;
                    if !mounted.get() {
                        return;
                    }
                    if let Err(error) = changed {
                        errors.set(explain(&error, Audience::Issuance));
                        return;
                    }
                    wizard.password.set(change.new_password.clone());
                    need_change.set(false);
                    new_password.set(String::new());
                    new_password_confirm.set(String::new());
                    Credentials { user_id: change.user_id.clone(), password: change.new_password.clone() }
                }
            };
            let answer = api::issuance_authenticate(&credentials).await;
            if !mounted.get() {
                return;
            }
            match answer {
                Ok(token) => {
                    wizard.user_id.set(credentials.user_id);
                    wizard.password.set(credentials.password);
                    wizard.token.set(Some(token.token));
                    wizard.renewal.set(token.renewal);
                    navigate(Route::Issuance(IssuanceStep::Confirm).href(), NavigateOptions::default());
                }
                Err(error) => {
                    need_change.set(error.code == ErrorCode::PasswordChangeRequired);
                    errors.set(explain(&error, Audience::Issuance));
                }
            }
        }
    });
    let pending = authenticate.pending();

    let on_submit = submit_unless_pending(pending, move || {
        match check_credentials(&wizard.user_id.get_untracked(), &wizard.password.get_untracked()) {
            Ok(credentials) => {
                errors.set(Vec::new());
                authenticate.dispatch_local(Rc::new(AuthRequest::Authenticate(credentials)));
            }
            Err(problems) => errors.set(problems),
        }
    });
    let on_change_submit = submit_unless_pending(pending, move || {
        match check_change(
            &wizard.user_id.get_untracked(),
            &wizard.password.get_untracked(),
            &new_password.get_untracked(),
            &new_password_confirm.get_untracked(),
        ) {
            Ok(change) => {
                errors.set(Vec::new());
                authenticate.dispatch_local(Rc::new(AuthRequest::ChangeThenAuthenticate(change)));
            }
            Err(problems) => errors.set(problems),
        }
    });

    view! {
        <StepBar current=Step::UserAuthentication />
        <TitledCard class="card form-card" title="電子証明書発行 ユーザー認証">
            <Show when=registered>
                <NoticeMessage>
                    <p>"パスワードを変更しました。"</p>
                    <p>"続けて電子証明書を発行します。ユーザーIDと新しいパスワードを入力し、[認証]ボタンを押してください。"</p>
                </NoticeMessage>
            </Show>
            <p>"ユーザーIDとパスワードを入力し、[認証]ボタンを押してください。認証されると「電子証明書発行」画面を表示します。"</p>
            <ErrorLines lines=errors />
            <Show when=move || need_change.get()>
                <form class="form change-password" novalidate=true on:submit=on_change_submit aria-labelledby="change-title">
                    <h2 id="change-title">"新しいパスワードの設定"</h2>
                    <p>"初期パスワードは最初の認証で変更が必要です。新しいパスワードを設定すると、続けて認証します。"</p>
                    <NewPasswordFields
                        ids=["auth-new-password", "auth-new-password-confirm"]
                        testids=[testids::AUTH_NEW_PASSWORD, testids::AUTH_NEW_PASSWORD_CONFIRM]
                        hint=FORMAT_HINT new_password confirm=new_password_confirm disabled=pending
                    />
                    <div class="form-actions">
                        <SubmitButton pending testid=testids::AUTH_CHANGE_SUBMIT label="パスワードを変更して認証" />
                    </div>
                </form>
            </Show>
            <CredentialsForm names=FORM user_id=wizard.user_id password=wizard.password pending on_submit />
            <dl class="button-help">
                <dt>"キャンセル"</dt>
                <dd>"ユーザー認証を中断し、ログイン画面を表示します。"</dd>
                <dt>"ソフトウェアキーボード"</dt>
                <dd>
                    "画面上のキーボードをマウスで押してパスワードを入力します。パソコンのキーボードの入力を盗み取るスパイウェアに効果があるため、ソフトウェアキーボードによる入力をおすすめします。"
                </dd>
                <dt>"認証"</dt>
                <dd>"ユーザー認証を行います。"</dd>
            </dl>
            <ul class="notes">
                <li>
                    "パスワードを連続して6回間違えた場合は、60分間ログイン不可（ロック）になります。ロック状態は60分経過後に解除されますが、ロックを3回繰り返した場合はログイン不可（閉塞）となり、そのユーザーIDでは認証できなくなります。"
                </li>
                <li>"既に電子証明書を発行されている場合、認証を行えません。ただし有効期限が切れる30日前より認証可能になります。"</li>
                <li>"ロックまたは閉塞の状態になった場合、該当ユーザーにメールでお知らせします。"</li>
                <li>"一般ユーザーが閉塞の状態になった場合は、マスターユーザーにお問い合わせください（マスターユーザーは一般ユーザーのロック・閉塞状態を解除できます）。"</li>
                <li>"マスターユーザーが閉塞の状態になった場合は、労金へお問い合わせください。"</li>
            </ul>
        </TitledCard>
    }
}

/// R1 on the ID, the current and the new password; confirmation; new differs from current.
fn check_change(user_id: &str, current: &str, new: &str, confirm: &str) -> Result<PasswordChange, Vec<String>> {
    let credentials = check_credentials(user_id, current);
    let new_password = Password::parse(Field::NewPassword, new);
    let mut problems = credentials.as_ref().err().cloned().unwrap_or_default();
    match &new_password {
        Err(e) => problems.push(e.to_string()),
        Ok(_) if new != confirm => {
            problems.push("新しいパスワードと新しいパスワード（確認）が一致しません。".to_owned())
        }
        Ok(_) if new == current => {
            problems.push("新しいパスワードには、現在のパスワードとは異なるものを設定してください。".to_owned())
        }
        Ok(_) => {}
    }
    match (credentials, new_password) {
        (Ok(credentials), Ok(new_password)) if problems.is_empty() => Ok(PasswordChange {
            user_id: credentials.user_id,
            current_password: credentials.password,
            new_password: new_password.expose().to_owned(),
            email: None,
        }),
        _ => Err(problems),
    }
}
