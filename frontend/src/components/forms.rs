//! What forms share: the submit handler that sends at most one request at a time, the buttons
//! that start or leave a request — キャンセル (a link back to the login screen), and the submit and
//! action buttons, which are disabled and say what they are doing while their request is in
//! flight — and the inline 登録 form of the staff and master screens.

use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::components::A;

use crate::routes::Route;

/// A form's submit handler: no page load, and `submit` only while no request is `pending`.
pub fn submit_unless_pending(
    pending: Memo<bool>,
    submit: impl Fn() + Copy + 'static,
) -> impl Fn(SubmitEvent) + Copy + 'static {
    move |ev: SubmitEvent| {
        ev.prevent_default();
        if !pending.get_untracked() {
            submit();
        }
    }
}

/// キャンセル: back to the login screen (`/`); a link, since it only navigates.
#[component]
pub fn CancelLink(testid: &'static str) -> impl IntoView {
    view! {
        <A href=Route::Top.href() {..} class="button button-secondary" data-testid=testid>
            "キャンセル"
        </A>
    }
}

/// The primary submit button: `label`, or `pending_label` while `pending` (and then disabled).
#[component]
pub fn SubmitButton(
    #[prop(into)] pending: Signal<bool>,
    testid: &'static str,
    label: &'static str,
    /// Shown while the request is in flight; `label` if not given.
    #[prop(optional)]
    pending_label: Option<&'static str>,
) -> impl IntoView {
    let pending_label = pending_label.unwrap_or(label);
    view! {
        <button type="submit" class="button button-primary" disabled=move || pending.get() data-testid=testid>
            {move || if pending.get() { pending_label } else { label }}
        </button>
    }
}

/// A (non-submit) button that starts a request: `label`, or `pending_label` while `pending`.
#[component]
pub fn ActionButton(
    /// `button …` classes.
    class: &'static str,
    #[prop(into)] pending: Signal<bool>,
    testid: &'static str,
    label: &'static str,
    pending_label: &'static str,
    on_click: impl Fn() + 'static,
) -> impl IntoView {
    view! {
        <button type="button" class=class disabled=move || pending.get() data-testid=testid on:click=move |_| on_click()>
            {move || if pending.get() { pending_label } else { label }}
        </button>
    }
}

/// An inline form named by the heading `labelledby`: its fields (`children`), then 登録.
#[component]
pub fn RegisterForm(
    labelledby: &'static str,
    #[prop(into)] pending: Signal<bool>,
    submit_testid: &'static str,
    on_submit: impl FnMut(SubmitEvent) + 'static,
    children: Children,
) -> impl IntoView {
    view! {
        <form class="form form-inline" novalidate=true on:submit=on_submit aria-labelledby=labelledby>
            {children()}
            <div class="form-actions">
                <SubmitButton pending testid=submit_testid label="登録" pending_label="登録中…" />
            </div>
        </form>
    }
}
