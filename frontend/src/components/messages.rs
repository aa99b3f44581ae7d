//! The error and notice boxes: one look and one testid for every screen.

use common::testids;
use leptos::prelude::*;

/// A red box announcing what went wrong (`role="alert"`), one paragraph per line.
#[component]
pub fn ErrorMessage(lines: Vec<String>) -> impl IntoView {
    view! {
        <div class="message message-error" role="alert" data-testid=testids::ERROR_MESSAGE>
            {lines.into_iter().map(|line| view! { <p>{line}</p> }).collect_view()}
        </div>
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
