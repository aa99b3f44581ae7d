//! The error and notice boxes (one look and one testid for every screen), and what a screen shows
//! while its data is on the way.

use common::{ErrorBody, testids};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    error_text::{Audience, explain, needs_login},
    routes::Route,
};

/// A red box announcing what went wrong (`role="alert"`), one paragraph per line.
#[component]
pub fn ErrorMessage(lines: Vec<String>) -> impl IntoView {
    view! {
        <div class="message message-error" role="alert" data-testid=testids::ERROR_MESSAGE>
            {lines.into_iter().map(|line| view! { <p>{line}</p> }).collect_view()}
        </div>
    }
}

/// The [`ErrorMessage`] of `lines`, or nothing while there are none.
#[component]
pub fn ErrorLines(#[prop(into)] lines: Signal<Vec<String>>) -> impl IntoView {
    move || {
        let lines = lines.get();
        (!lines.is_empty()).then(|| view! { <ErrorMessage lines /> })
    }
}

/// A calm box telling the user what happened and what comes next.
#[component]
pub fn NoticeMessage(children: Children) -> impl IntoView {
    view! {
        <div class="message message-notice" role="status" data-testid=testids::NOTICE_MESSAGE>
            {children()}
        </div>
    }
}

/// What a screen behind the login shows when its data could not be loaded or an action failed:
/// the explanation and, when the session is missing or lacks the right, the way to `/login`.
#[component]
pub fn SessionError(error: ErrorBody) -> impl IntoView {
    let to_login = needs_login(error.code);
    view! {
        <ErrorMessage lines=explain(&error, Audience::Session) />
        {to_login.then(|| view! {
            <p class="message-actions">
                <A href=Route::Login.href() {..} class="button button-primary">"ログイン画面へ"</A>
            </p>
        })}
    }
}

/// 読み込み中…, announced politely, while a screen waits for the server.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" role="status">"読み込み中…"</p> }
}
