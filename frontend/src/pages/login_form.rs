//! `/login` ログイン: the user ID and password, sent together with the client certificate the
//! browser chose in its prompt (R9). On success the server sets the HttpOnly session cookie and
//! the app goes to `/home`.
//!
//! The password lives only in this screen's signal and is cleared after every attempt. When the
//! certificate is the problem (none, another user's, revoked, expired, …) the screen shows the
//! manual's way out next to the server's message: the link to (re-)issuance.

use std::rc::Rc;

use common::{ErrorBody, ErrorCode, api::Credentials, testids};
use leptos::prelude::*;
use leptos_router::{NavigateOptions, components::A, hooks::use_navigate};

use crate::{
    api,
    components::{
        credentials_form::{CredentialsForm, CredentialsFormNames},
        forms::submit_unless_pending,
        messages::ErrorMessage,
        page_title::TitledCard,
    },
    error_text::{Audience, explain, is_certificate_problem},
    form_checks::check_credentials,
    mounted::screen_action,
    routes::{IssuanceStep, Route},
    session::Session,
};

/// The fields and buttons of this screen's form.
const FORM: CredentialsFormNames = CredentialsFormNames {
    user_id_id: "login-user-id",
    user_id_testid: testids::LOGIN_USER_ID,
    password_id: "login-password",
    password_testid: testids::LOGIN_PASSWORD,
    cancel_testid: testids::LOGIN_CANCEL,
    keyboard_testid: testids::LOGIN_SOFTWARE_KEYBOARD,
    submit_testid: testids::LOGIN_SUBMIT,
    submit: "ログイン",
    submitting: "ログイン中…",
};

/// What went wrong with the last attempt.
#[derive(Clone)]
enum Problem {
    /// The form broke R1; nothing was sent.
    Form(Vec<String>),
    /// The server refused.
    Server(ErrorBody),
}

#[component]
pub fn LoginFormPage() -> impl IntoView {
    let session = Session::expect();
    let user_id = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let problem: RwSignal<Option<Problem>> = RwSignal::new(None);

    on_cleanup(move || password.set(String::new()));
    let navigate = use_navigate();
    let login = screen_action(
        |credentials: Rc<Credentials>| async move { api::login(&credentials).await },
        move |answer| {
            password.set(String::new());
            match answer {
                Ok(me) => {
                    session.me.set(Some(me));
                    navigate(Route::Home.href(), NavigateOptions::default());
                }
                Err(error) => problem.set(Some(Problem::Server(error))),
            }
        },
    );
    let pending = login.pending();

    let on_submit = submit_unless_pending(pending, move || {
        match check_credentials(&user_id.get_untracked(), &password.get_untracked()) {
            Ok(credentials) => {
                problem.set(None);
                login.dispatch_local(Rc::new(credentials));
            }
            Err(lines) => {
                password.set(String::new());
                problem.set(Some(Problem::Form(lines)));
            }
        }
    });

    view! {
        <TitledCard class="card form-card" title="ログイン">
            <p>"ユーザーIDとパスワードを入力し、[ログイン]ボタンを押してください。"</p>
            <p class="message message-info">
                "ログインには、ブラウザの「証明書の選択」画面で選んだ電子証明書を使用します。証明書の選択画面が表示されたら、ご自身（入力するユーザーID）の電子証明書を選択してください。"
            </p>
            {move || problem.get().map(|p| view! { <LoginProblem problem=p /> })}
            <CredentialsForm names=FORM user_id password pending on_submit />
            <dl class="button-help">
                <dt>"キャンセル"</dt>
                <dd>"ログインを中断し、ログイン画面（トップ）に戻ります。"</dd>
                <dt>"ソフトウェアキーボード"</dt>
                <dd>"画面上のキーボードをマウスで押してパスワードを入力します。スパイウェア対策として、ソフトウェアキーボードによる入力をおすすめします。"</dd>
                <dt>"ログイン"</dt>
                <dd>"電子証明書とユーザーID・パスワードで本人確認を行い、ホーム画面を表示します。"</dd>
            </dl>
            <ul class="notes">
                <li>
                    "パスワードを連続して6回間違えた場合は、60分間ログイン不可（ロック）になります。ロックを3回繰り返した場合はログイン不可（閉塞）となります。"
                </li>
                <li>"電子証明書の有効期限が切れた場合や、パソコンを変更した場合は、電子証明書を再発行してください。"</li>
            </ul>
        </TitledCard>
    }
}

/// The error box, and under it the way out the error calls for.
#[component]
fn LoginProblem(problem: Problem) -> impl IntoView {
    match problem {
        Problem::Form(lines) => view! { <ErrorMessage lines /> }.into_any(),
        Problem::Server(error) => {
            let lines = explain(&error, Audience::Login);
            let reissue = is_certificate_problem(error.code);
            let initial_password = error.code == ErrorCode::PasswordChangeRequired;
            view! {
                <ErrorMessage lines />
                {reissue.then(|| view! {
                    <p class="message-actions">
                        <A href=Route::Issuance(IssuanceStep::Auth).href() {..} class="button button-primary" data-testid=testids::LOGIN_REISSUE_LINK>
                            "電子証明書を再発行する"
                        </A>
                    </p>
                })}
                {initial_password.then(|| view! {
                    <p class="message-actions">
                        <A href=Route::RegisterMaster.href() {..} class="button button-secondary">"マスターユーザーの初期登録"</A>
                        <A href=Route::Issuance(IssuanceStep::Auth).href() {..} class="button button-secondary">"一般ユーザーの初期登録"</A>
                    </p>
                })}
            }
            .into_any()
        }
    }
}
