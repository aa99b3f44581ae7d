//! 「ご利用開始(変更)のお知らせ」 after a password reset or a change of master user: the new
//! one-time initial password, shown once, ready to print (only the letter prints: `@media print`
//! in `admin.css`), and what the change did.

use common::{
    api::{MasterChanged, PasswordReset},
    testids,
};
use leptos::prelude::*;

/// The letter of `reset`: `done` says what was done (not printed), `lead` is the letter's first line.
pub fn change_letter(reset: PasswordReset, done: String, lead: &'static str, close: impl Fn() + 'static) -> AnyView {
    let user = reset.user;
    let print = |_| {
        if let Err(e) = window().print() {
            leptos::logging::error!("window.print failed: {e:?}");
        }
    };
    view! {
        <div class="message message-notice no-print" role="status">
            <p>{done} "初期パスワードはこのお知らせにだけ表示されます。印刷してから閉じてください。"</p>
        </div>
        <article class="notice-letter print-area" aria-labelledby="change-letter-title">
            <p class="notice-to">{format!("{} 御中", user.organization.clone().unwrap_or_else(|| "労働金庫".to_owned()))}</p>
            <h2 id="change-letter-title" class="notice-title">"ご利用開始(変更)のお知らせ"</h2>
            <p>{lead} "次のユーザーIDと初期パスワードでログインし、新しいパスワードを設定してください。"</p>
            <dl class="facts">
                <dt>"URL"</dt>
                <dd class="mono">{reset.url}</dd>
                <dt>"ユーザーID"</dt>
                <dd class="mono">{user.user_id.clone()}</dd>
                <dt>"初期パスワード"</dt>
                <dd>
                    <span class="mono secret" data-testid=testids::RESET_INITIAL_PASSWORD>{reset.initial_password}</span>
                </dd>
            </dl>
        </article>
        <div class="form-actions no-print">
            <button type="button" class="button button-primary" on:click=print>"お知らせを印刷"</button>
            <button type="button" class="button button-secondary" on:click=move |_| close()>"閉じる"</button>
        </div>
    }
    .into_any()
}

/// The letter of a change of master user, saying what became of the former master users.
pub fn master_letter(changed: MasterChanged, close: impl Fn() + 'static) -> AnyView {
    let formers = changed.former.join("、");
    let done = match (formers.is_empty(), changed.former_retired) {
        (true, _) => format!("ユーザーID {} をマスターユーザーにしました。", changed.reset.user.user_id),
        (false, false) => format!(
            "ユーザーID {} をマスターユーザーにしました。前のマスターユーザー {formers} は一般ユーザーになりました。",
            changed.reset.user.user_id
        ),
        (false, true) => format!(
            "ユーザーID {} をマスターユーザーにしました。前のマスターユーザー {formers} の利用を停止しました（失効した電子証明書 {}件）。",
            changed.reset.user.user_id,
            changed.revoked.len()
        ),
    };
    change_letter(changed.reset, done, "マスターユーザーを変更しました。", close)
}
