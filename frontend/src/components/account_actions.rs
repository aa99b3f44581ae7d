//! パスワード再設定 and 利用停止 of a user, as the master's user list and the staff's user page
//! offer them: the two buttons of a user, each confirmed in the browser's own dialog, and the
//! outcome of the last — the new one-time initial password,
//! shown once by the screen's own view of it (a master's notice, or the staff's printable letter),
//! or the screen's notice of what retiring revoked. The requests are the screen's, so each bundle
//! holds only its own.

use std::future::Future;

use common::{
    ErrorBody,
    api::{PasswordReset, Retire},
    testids,
};
use leptos::prelude::*;

use crate::mounted::screen_action;

/// What the last operation gave.
#[derive(Clone)]
pub enum Outcome {
    Reset(Box<PasswordReset>),
    /// The user retired, and how many certificates went with them when the screen asked.
    Retired {
        user_id: String,
        revoked: Option<usize>,
    },
}

/// One operation asked for: the user ID, and for 利用停止 its request (`None`: パスワード再設定).
pub type Request = (String, Option<Retire>);

/// The answer of one operation, boxed: one instantiation of the action for both operations.
pub type Answer = std::pin::Pin<Box<dyn Future<Output = Result<Outcome, ErrorBody>>>>;

/// The operations of one screen: the request in flight, and the new initial password of the last
/// reset (the other outcomes go to the screen's notices: [`super::user_list::Unlocker::notices`]).
/// `Copy` (signal handles).
#[derive(Clone, Copy)]
pub struct AccountActions {
    send: Action<Request, ()>,
    reset: RwSignal<Option<PasswordReset>>,
}

/// Where the screen shows the notice or the error of the last operation.
type Notices = RwSignal<Option<Result<String, ErrorBody>>>;

impl AccountActions {
    /// `send` makes the request of an operation (the screen's own endpoints); its notice or error
    /// goes to `notices`; `after` runs after every success (reload).
    pub fn new(send: fn(Request) -> Answer, notices: Notices, after: impl Fn() + Copy + 'static) -> Self {
        let reset = RwSignal::new(None);
        // The initial password must not outlive the screen.
        on_cleanup(move || reset.set(None));
        let send = screen_action(send, move |answer: Result<Outcome, ErrorBody>| {
            let notice = match answer {
                Ok(Outcome::Reset(r)) => {
                    reset.set(Some(*r));
                    None
                }
                Ok(Outcome::Retired { user_id, revoked }) => Some(Ok(match revoked {
                    Some(n) => format!("ユーザーID {user_id} の利用を停止しました（失効した電子証明書 {n}件）。"),
                    None => format!("ユーザーID {user_id} の利用を停止しました。"),
                })),
                Err(e) => Some(Err(e)),
            };
            let succeeded = !matches!(notice, Some(Err(_)));
            notices.set(notice);
            if succeeded {
                after();
            }
        });
        Self { send, reset }
    }

    /// Forgets the new initial password shown.
    pub fn close(&self) {
        self.reset.set(None);
    }
}

/// One button of a user's operations: `ask` confirms in the browser's dialog and gives the request.
fn button(
    actions: AccountActions,
    text: &'static str,
    class: &'static str,
    testid: String,
    label: String,
    ask: Box<dyn Fn() -> Option<Request>>,
) -> impl IntoView {
    let pending = actions.send.pending();
    view! {
        <button
            type="button"
            class=class
            aria-label=label
            disabled=move || pending.get()
            data-testid=testid
            on:click=move |_| {
                if let Some(request) = ask() {
                    actions.reset.set(None);
                    actions.send.dispatch_local(request);
                }
            }
        >
            {text}
        </button>
    }
}

/// パスワード再設定 and 利用停止 of one (active) user, named for screen readers by the user ID.
#[component]
pub fn AccountActionButtons(user_id: String, actions: AccountActions) -> impl IntoView {
    let (reset_id, retire_id) = (user_id.clone(), user_id.clone());
    let reset = Box::new(move || {
        let question = format!(
            "ユーザーID {reset_id} のパスワードを再設定しますか？\n新しい初期パスワードを発行します。ロック・閉塞は解除され、ログイン中の画面は終了します。"
        );
        window().confirm_with_message(&question).unwrap_or(false).then(|| (reset_id.clone(), None))
    });
    let retire = Box::new(move || {
        let question = format!(
            "ユーザーID {retire_id} の利用を停止しますか？\n電子証明書はすべて失効し、ログインも発行もできなくなります。元に戻せません。"
        );
        window().confirm_with_message(&question).unwrap_or(false).then(|| (retire_id.clone(), Some(Retire::default())))
    });
    view! {
        {button(
            actions,
            "パスワード再設定",
            "button button-secondary button-small",
            format!("{}{user_id}", testids::RESET_PREFIX),
            format!("ユーザーID {user_id} のパスワード再設定"),
            reset,
        )}
        {button(
            actions,
            "利用停止",
            "button button-danger button-small",
            format!("{}{user_id}", testids::RETIRE_PREFIX),
            format!("ユーザーID {user_id} の利用停止"),
            retire,
        )}
    }
}

/// The new initial password of the last reset, shown by `reset_view` (the screen's own words).
#[component]
pub fn AccountActionOutcome(
    actions: AccountActions,
    reset_view: fn(PasswordReset, AccountActions) -> AnyView,
) -> impl IntoView {
    move || actions.reset.get().map(|reset| reset_view(reset, actions))
}
