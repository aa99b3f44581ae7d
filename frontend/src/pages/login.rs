//! `/` ログイン画面 「ろうきん賃金控除事務支援システム」: the entrance to every function.

use common::testids;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::routes::{IssuanceStep, Route};

#[component]
pub fn LoginPage() -> impl IntoView {
    view! {
        <section class="login card" aria-labelledby="login-title">
            <h1 id="login-title" class="login-title" data-testid=testids::LOGIN_TITLE>
                "ろうきん賃金控除事務支援システム"
            </h1>
            <p class="login-lead">"ご利用になる操作を選んでください。"</p>
            <div class="login-actions">
                <A href=Route::Login.href() {..} class="button button-primary button-large" data-testid=testids::BTN_LOGIN>
                    "ログイン"
                </A>
                <A href=Route::RegisterMaster.href() {..} class="button button-secondary button-large" data-testid=testids::BTN_MASTER_REGISTRATION>
                    "マスターユーザーの初期登録"
                </A>
                <A href=Route::Issuance(IssuanceStep::Auth).href() {..} class="button button-secondary button-large" data-testid=testids::BTN_GENERAL_REGISTRATION>
                    "一般ユーザーの初期登録"
                </A>
                <A href=Route::Issuance(IssuanceStep::Auth).href() {..} class="button button-secondary button-large" data-testid=testids::BTN_ISSUE_CERTIFICATE>
                    "電子証明書発行"
                </A>
            </div>
            <dl class="login-help">
                <dt>"ログイン"</dt>
                <dd>"電子証明書とユーザーID・パスワードでログインします。"</dd>
                <dt>"マスターユーザーの初期登録"</dt>
                <dd>"「ご利用開始(変更)のお知らせ」に記載のユーザーIDと初期パスワードで、パスワードとメールアドレスを登録します。"</dd>
                <dt>"一般ユーザーの初期登録"</dt>
                <dd>"マスターユーザーから通知されたユーザーIDと初期パスワードで認証し、電子証明書を発行します。"</dd>
                <dt>"電子証明書発行"</dt>
                <dd>"電子証明書の発行・更新・再発行（有効期限切れ、パソコン変更）を行います。"</dd>
            </dl>
            <p class="login-browser-check">
                <A href=Route::BrowserCheck.href() {..} data-testid=testids::LINK_BROWSER_CHECK>
                    "ブラウザの設定（確認）"
                </A>
            </p>
        </section>
    }
}
