//! パスワード再設定, メール変更 and 利用停止 of a user, as the master's user list and the staff's
//! user page offer them: the three buttons of a user, each confirmed in (or, for the new address,
//! asked by) the browser's own dialog, and the outcome of the last — the new one-time initial
//! password, shown once by the screen's own view of it (a master's notice, or the staff's
//! printable letter), or the screen's notice of what was done. The requests are the screen's, so
//! each bundle holds only its own.

use std::future::Future;

use common::{
    ErrorBody,
    api::{ChangeEmail, PasswordReset},
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
    /// The user's e-mail address changed (both addresses are told).
    EmailChanged {
        user_id: String,
    },
}

/// An operation on a user.
#[derive(Clone)]
pub enum Op {
    /// パスワード再設定.
    Reset,
    /// メール変更, to the address given.
    Email(ChangeEmail),
    /// 利用停止.
    Retire,
}

/// One operation asked for: the user ID and the operation.
pub type Request = (String, Op);

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
                Ok(Outcome::EmailChanged { user_id }) => Some(Ok(format!(
                    "ユーザーID {user_id} のメールアドレスを変更しました。変更前と変更後のアドレスにお知らせします。"
                ))),
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

/// One button of `user_id`'s operations, named for screen readers by the user ID: `ask` asks in
/// the browser's own dialog (a function, not a closure: one instantiation for all three) and
/// gives the operation, or nothing when the person cancels.
fn button(
    actions: AccountActions,
    user_id: &str,
    text: &'static str,
    danger: bool,
    testid_prefix: &'static str,
    ask: fn(&str) -> Option<Op>,
) -> impl IntoView {
    let pending = actions.send.pending();
    let id = user_id.to_owned();
    view! {
        <button
            type="button"
            class=if danger { "button button-danger button-small" } else { "button button-secondary button-small" }
            aria-label=format!("ユーザーID {user_id} の{text}")
            disabled=move || pending.get()
            data-testid=format!("{testid_prefix}{user_id}")
            on:click=move |_| {
                if let Some(op) = ask(&id) {
                    actions.reset.set(None);
                    actions.send.dispatch_local((id.clone(), op));
                }
            }
        >
            {text}
        </button>
    }
}

/// Whether the person says yes to `question` in the browser's dialog.
fn confirmed(question: &str) -> bool {
    window().confirm_with_message(question).unwrap_or(false)
}

fn ask_reset(user_id: &str) -> Option<Op> {
    confirmed(&format!(
        "ユーザーID {user_id} のパスワードを再設定しますか？\n新しい初期パスワードを発行します。ロック・閉塞は解除され、ログイン中の画面は終了します。"
    ))
    .then_some(Op::Reset)
}

fn ask_email(user_id: &str) -> Option<Op> {
    let question = format!(
        "ユーザーID {user_id} の新しいメールアドレスを入力してください。\n変更前と変更後のアドレスにお知らせします。"
    );
    let email = window().prompt_with_message(&question).ok().flatten()?.trim().to_owned();
    Some(Op::Email(ChangeEmail { email }))
}

fn ask_retire(user_id: &str) -> Option<Op> {
    confirmed(&format!(
        "ユーザーID {user_id} の利用を停止しますか？\n電子証明書はすべて失効し、ログインも発行もできなくなります。元に戻せません。"
    ))
    .then_some(Op::Retire)
}

/// パスワード再設定, メール変更 and 利用停止 of one (active) user.
#[component]
pub fn AccountActionButtons(user_id: String, actions: AccountActions) -> impl IntoView {
    view! {
        {button(actions, &user_id, "パスワード再設定", false, testids::RESET_PREFIX, ask_reset)}
        {button(actions, &user_id, "メールアドレス変更", false, testids::EMAIL_PREFIX, ask_email)}
        {button(actions, &user_id, "利用停止", true, testids::RETIRE_PREFIX, ask_retire)}
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
