//! What the user lists of master users and bank staff share: the account and certificate state
//! cells, and 解除 (R2) — the request with its outcome, and the button of each locked or blocked
//! user.

use std::future::Future;

use common::{
    ErrorBody,
    api::{AccountState, CertificateSummary, UserSummary},
    testids,
};
use leptos::prelude::*;
use time::OffsetDateTime;

use crate::{
    components::messages::{NoticeMessage, SessionError},
    labels,
    mounted::screen_action,
};

/// 状態: 閉塞 / ロック中 / 初期パスワード未変更 / 正常, coloured.
#[component]
pub fn AccountStateCell(state: AccountState, now: OffsetDateTime) -> impl IntoView {
    view! {
        <td>
            <span class=labels::account_state_class(&state, now)>{labels::account_state(&state, now)}</span>
        </td>
    }
}

/// 電子証明書: the newest certificate's state (or 未発行), coloured.
#[component]
pub fn CertificateStateCell(certificate: Option<CertificateSummary>) -> impl IntoView {
    view! {
        <td>
            <span class=labels::certificate_state_class(certificate.as_ref())>
                {labels::certificate_state(certificate.as_ref())}
            </span>
        </td>
    }
}

/// The 解除 of one list: what sends it, and the outcome of the last one; `Copy` (signal handles).
#[derive(Clone, Copy)]
pub struct Unlocker {
    action: Action<String, ()>,
    /// True while a 解除 is in flight.
    pending: Memo<bool>,
    /// What the last operation on a user of the screen did (its notice), or why not: 解除's,
    /// and the screen's other operations' ([`Unlocker::notices`]).
    outcome: RwSignal<Option<Result<String, ErrorBody>>>,
}

impl Unlocker {
    /// `unlock` sends the request for a user ID; `after` runs after every answer (reload the list).
    pub fn new<Fut>(unlock: impl Fn(String) -> Fut + 'static, after: impl Fn() + Copy + 'static) -> Self
    where
        Fut: Future<Output = Result<UserSummary, ErrorBody>> + 'static,
    {
        let outcome = RwSignal::new(None);
        let action = screen_action(unlock, move |answer: Result<UserSummary, ErrorBody>| {
            outcome.set(Some(answer.map(|user| format!("ユーザーID {} のロック・閉塞を解除しました。", user.user_id))));
            after();
        });
        Self { action, pending: action.pending(), outcome }
    }

    /// Where the screen's other operations on users put their notice or error, so that one
    /// place ([`UnlockOutcome`]) shows the last of them.
    pub fn notices(&self) -> RwSignal<Option<Result<String, ErrorBody>>> {
        self.outcome
    }
}

/// The outcome of the last 解除 (or other operation on a user): a notice, or the error.
#[component]
pub fn UnlockOutcome(unlocker: Unlocker) -> impl IntoView {
    move || {
        unlocker.outcome.get().map(|outcome| match outcome {
            Ok(notice) => view! {
                <NoticeMessage>
                    <p>{notice}</p>
                </NoticeMessage>
            }
            .into_any(),
            Err(error) => view! { <SessionError error /> }.into_any(),
        })
    }
}

/// 解除 of one user, named for screen readers by the user ID; disabled while any 解除 runs.
#[component]
pub fn UnlockButton(user_id: String, unlocker: Unlocker) -> impl IntoView {
    let testid = format!("{}{user_id}", testids::UNLOCK_PREFIX);
    let label = format!("ユーザーID {user_id} のロック・閉塞を解除");
    view! {
        <button
            type="button"
            class="button button-secondary button-small"
            aria-label=label
            disabled=move || unlocker.pending.get()
            data-testid=testid
            on:click=move |_| {
                unlocker.action.dispatch_local(user_id.clone());
            }
        >
            "解除"
        </button>
    }
}
