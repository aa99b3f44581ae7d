//! The user ID + password form of ログイン and ④ ユーザー認証: both fields with the manual's input
//! hint, キャンセル, ソフトウェアキーボード (and its dialog, which types into the password) and the
//! submit button; and the 新しいパスワード fields of the two screens that replace a password.

use leptos::{ev::SubmitEvent, html, prelude::*};

use crate::components::{
    form_field::FormField,
    forms::{CancelLink, SubmitButton},
    software_keyboard::SoftwareKeyboard,
};

/// The manual's 入力項目説明 of a user ID or a password (R1).
pub const FORMAT_HINT: &str = "半角英数混在 6~12 桁で入力します。(英数混在必須) 英字は大文字と小文字を区別します。";

/// What tells one credentials form from the other: element ids, test ids, the submit texts.
#[derive(Clone, Copy)]
pub struct CredentialsFormNames {
    /// Element id of the user ID field.
    pub user_id_id: &'static str,
    pub user_id_testid: &'static str,
    /// Element id of the password field.
    pub password_id: &'static str,
    pub password_testid: &'static str,
    pub cancel_testid: &'static str,
    pub keyboard_testid: &'static str,
    pub submit_testid: &'static str,
    /// The submit button's text, e.g. 「ログイン」.
    pub submit: &'static str,
    /// Its text while the request is in flight, e.g. 「ログイン中…」.
    pub submitting: &'static str,
}

/// The form; `on_submit` gets the submit event (the form does not check or send anything itself).
#[component]
pub fn CredentialsForm(
    names: CredentialsFormNames,
    user_id: RwSignal<String>,
    password: RwSignal<String>,
    /// A request is in flight: fields and submit are disabled.
    #[prop(into)]
    pending: Signal<bool>,
    on_submit: impl FnMut(SubmitEvent) + 'static,
) -> impl IntoView {
    let keyboard_open = RwSignal::new(false);
    let keyboard_button = NodeRef::<html::Button>::new();
    view! {
        <form class="form" novalidate=true on:submit=on_submit>
            <FormField id=names.user_id_id label="ユーザーID" value=user_id testid=names.user_id_testid hint=FORMAT_HINT disabled=pending />
            <FormField
                id=names.password_id
                label="パスワード"
                value=password
                input_type="password"
                testid=names.password_testid
                hint=FORMAT_HINT
                disabled=pending
            />
            <div class="form-actions">
                <CancelLink testid=names.cancel_testid />
                <button
                    type="button"
                    class="button button-secondary"
                    node_ref=keyboard_button
                    aria-haspopup="dialog"
                    data-testid=names.keyboard_testid
                    on:click=move |_| keyboard_open.set(true)
                >
                    "ソフトウェアキーボード"
                </button>
                <SubmitButton pending testid=names.submit_testid label=names.submit pending_label=names.submitting />
            </div>
        </form>
        <SoftwareKeyboard open=keyboard_open password return_focus=keyboard_button />
    }
}

/// 新しいパスワード and 新しいパスワード（確認）.
#[component]
pub fn NewPasswordFields(
    /// Element ids of the two fields.
    ids: [&'static str; 2],
    testids: [&'static str; 2],
    /// The hint under 新しいパスワード.
    hint: &'static str,
    new_password: RwSignal<String>,
    confirm: RwSignal<String>,
    #[prop(into)] disabled: Signal<bool>,
) -> impl IntoView {
    view! {
        <FormField
            id=ids[0]
            label="新しいパスワード"
            value=new_password
            input_type="password"
            testid=testids[0]
            hint=hint
            disabled=disabled
        />
        <FormField
            id=ids[1]
            label="新しいパスワード（確認）"
            value=confirm
            input_type="password"
            testid=testids[1]
            hint="確認のため、新しいパスワードをもう一度入力します。"
            disabled=disabled
        />
    }
}
