//! `/issuance/confirm`: ⑤ 「電子証明書発行」, then ⑥ 「電子証明書発行中」 while the server builds the
//! .p12, then ⑦ 「電子証明書発行結果」 with the download started by itself.
//!
//! The three steps share one route because they share one in-flight request. Without a token
//! (deep link, reload) the screen sends the user back to ④. Once the file has arrived, the
//! password and the token are forgotten (R10).

use std::time::Duration;

use common::{ErrorCode, api::IssueRequest, jst, testids};
use leptos::prelude::*;
use leptos_router::{
    NavigateOptions,
    components::{A, Redirect},
};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{
    api, browser_download,
    components::{
        forms::CancelLink,
        messages::{ErrorLines, ErrorMessage, NoticeMessage},
        page_title::PageTitle,
        step_bar::{Step, StepBar},
    },
    error_text::{Audience, explain},
    routes::{IssuanceStep, Route},
    wizard::Wizard,
};

/// What ⑦ shows about the issued certificate.
#[derive(Clone)]
struct Issued {
    filename: String,
    serial: Option<String>,
    not_after: Option<String>,
    renewal: bool,
    /// The file arrived but the browser refused to start the download.
    save_error: Option<Vec<String>>,
}

#[component]
pub fn IssuanceIssuePage() -> impl IntoView {
    let wizard = Wizard::expect();
    if wizard.token.get_untracked().is_none() {
        let options = NavigateOptions { replace: true, ..NavigateOptions::default() };
        return view! { <Redirect path=Route::Issuance(IssuanceStep::Auth).href() options /> }.into_any();
    }

    let errors: RwSignal<Vec<String>> = RwSignal::new(Vec::new());
    let issued: RwSignal<Option<Issued>> = RwSignal::new(None);
    let issue = Action::new_local(move |_: &()| async move {
        let Some(token) = wizard.token.get_untracked() else {
            errors.set(vec![
                "認証の有効期限が切れたか、既に使用済みです。もう一度ユーザー認証からやり直してください。".to_owned(),
            ]);
            return;
        };
        let request = IssueRequest { token, password: wizard.password.get_untracked() };
        // The answer is handled even if the user left meanwhile: the certificate now exists, and
        // the file is the user's only copy of its key.
        match api::issuance_issue(&request).await {
            Ok(download) => {
                let renewal = wizard.renewal.get_untracked();
                wizard.forget_secrets();
                let save_error = browser_download::save(&download.blob, &download.filename).err().map(|error| {
                    let mut lines = explain(&error, Audience::Issuance);
                    lines.push(
                        "電子証明書は発行済みです。労金へ失効を依頼してから、もう一度発行してください。".to_owned(),
                    );
                    lines
                });
                issued.set(Some(Issued {
                    filename: download.filename,
                    serial: download.serial,
                    not_after: download.not_after.map(|raw| jst_or_raw(&raw)),
                    renewal,
                    save_error,
                }));
            }
            Err(error) => {
                if matches!(error.code, ErrorCode::InvalidToken | ErrorCode::Unauthenticated) {
                    wizard.forget_secrets();
                }
                errors.set(explain(&error, Audience::Issuance));
            }
        }
    });
    let pending = issue.pending();
    let step = Signal::derive(move || {
        if issued.read().is_some() {
            Step::IssueResult
        } else if pending.get() {
            Step::Issuing
        } else {
            Step::Issue
        }
    });

    view! {
        <StepBar current=step />
        <section class="card" aria-labelledby="page-title">
            {move || match step.get() {
                Step::IssueResult => issued.get().map(|issued| view! { <IssueResult issued /> }.into_any()),
                Step::Issuing => Some(view! { <IssuingProgress /> }.into_any()),
                _ => Some(
                    view! {
                        <IssueConfirm
                            errors=errors.into()
                            can_issue=Signal::derive(move || wizard.token.get().is_some())
                            renewal=wizard.renewal.into()
                            on_issue=Callback::new(move |()| {
                                errors.set(Vec::new());
                                issue.dispatch_local(());
                            })
                        />
                    }
                        .into_any(),
                ),
            }}
        </section>
    }
    .into_any()
}

/// ⑤: what is about to happen, キャンセル / 発行.
#[component]
fn IssueConfirm(
    errors: Signal<Vec<String>>,
    /// False once the token is known to be used or expired: only the way back to ④ remains.
    can_issue: Signal<bool>,
    renewal: Signal<bool>,
    on_issue: Callback<()>,
) -> impl IntoView {
    view! {
        <PageTitle text="電子証明書発行" />
        <ErrorLines lines=errors />
        <p>"[発行]ボタンを押すと、電子証明書を発行します。"</p>
        <ul class="notes">
            <li>"発行した電子証明書ファイル（拡張子「p12」）は、自動でダウンロードされます。"</li>
            <li>"電子証明書は Windows のログオンアカウントごとにインポートしてください。電子証明書の発行は、本システムを利用する際のログオンアカウントで行ってください。"</li>
            <Show when=move || renewal.get()>
                <li>"更新前の電子証明書は、その有効期限まで利用できます。更新後は新しい電子証明書を選択してログインしてください。"</li>
            </Show>
        </ul>
        <div class="form-actions">
            <CancelLink testid=testids::ISSUE_CANCEL />
            <Show
                when=move || can_issue.get()
                fallback=|| {
                    view! {
                        <A href=Route::Issuance(IssuanceStep::Auth).href() {..} class="button button-primary">
                            "ユーザー認証へ戻る"
                        </A>
                    }
                }
            >
                <button type="button" class="button button-primary" data-testid=testids::ISSUE_SUBMIT on:click=move |_| on_issue.run(())>
                    "発行"
                </button>
            </Show>
        </div>
        <dl class="button-help">
            <dt>"キャンセル"</dt>
            <dd>"電子証明書発行を中断し、ログイン画面を表示します。"</dd>
            <dt>"発行"</dt>
            <dd>"電子証明書発行処理を実行します。"</dd>
        </dl>
    }
}

/// ⑥: an animated bar, the seconds elapsed and the manual's "please wait".
#[component]
fn IssuingProgress() -> impl IntoView {
    let elapsed = RwSignal::new(0u32);
    match set_interval_with_handle(move || elapsed.update(|s| *s += 1), Duration::from_secs(1)) {
        Ok(handle) => on_cleanup(move || handle.clear()),
        Err(e) => leptos::logging::error!("starting the elapsed-time counter failed: {e:?}"),
    }
    view! {
        <PageTitle text="電子証明書発行中" />
        <div class="issuing" data-testid=testids::ISSUING_PROGRESS>
            <div class="progress" role="progressbar" aria-label="電子証明書を発行しています" aria-busy="true">
                <div class="progress-bar"></div>
            </div>
            <p class="issuing-elapsed" aria-live="off">{move || format!("経過時間 {} 秒", elapsed.get())}</p>
            <p role="status">"電子証明書を発行しています。数十秒かかる場合があります。そのままお待ちください。"</p>
            <p class="hint">"この画面を閉じたり、ブラウザの[戻る]ボタンを押したりしないでください。"</p>
        </div>
    }
}

/// ⑦: the result, the manual's warnings, 閉じる → ⑧.
#[component]
fn IssueResult(issued: Issued) -> impl IntoView {
    let Issued { filename, serial, not_after, renewal, save_error } = issued;
    view! {
        <PageTitle text="電子証明書発行結果" />
        {match save_error {
            Some(lines) => view! { <ErrorMessage lines /> }.into_any(),
            None => {
                view! {
                    <NoticeMessage>
                        <p>"電子証明書を発行しました。"</p>
                        <p>"電子証明書ファイルのダウンロードが自動で始まります。表示された画面で[開く]ボタンを押してください。"</p>
                    </NoticeMessage>
                }
                    .into_any()
            }
        }}
        <dl class="result-list">
            <dt>"ファイル名"</dt>
            <dd data-testid=testids::RESULT_FILENAME>{filename}</dd>
            <dt>"シリアル番号"</dt>
            <dd data-testid=testids::RESULT_SERIAL class="mono">{serial.unwrap_or_else(|| "（サーバーから通知されませんでした）".to_owned())}</dd>
            <dt>"有効期限"</dt>
            <dd data-testid=testids::RESULT_NOT_AFTER>{not_after.unwrap_or_else(|| "（サーバーから通知されませんでした）".to_owned())}</dd>
        </dl>
        <div class="message message-warning" role="note">
            <p>
                <strong>"ご注意"</strong>
                "電子証明書 p12 ファイルを開かずに終了した場合は、電子証明書が既に発行済みとなっているため、労金へ失効を依頼してください。"
            </p>
        </div>
        <ul class="notes">
            <li>"ダウンロードフォルダに保存した場合は、電子証明書 p12 ファイルをダブルクリックするか、右クリックから[開く]を選択してください。ファイル名: ユーザーID + 日付時間 + .p12"</li>
            <li>"ファイルを開くときのパスワードは、本システムのパスワード（ユーザー認証で入力したパスワード）です。"</li>
            {renewal.then(|| view! { <li>"更新前の電子証明書は、その有効期限まで利用できます。更新後は新しい電子証明書を選択してログインしてください。"</li> })}
        </ul>
        <div class="form-actions">
            <A href=Route::Issuance(IssuanceStep::Import).href() {..} class="button button-primary" data-testid=testids::RESULT_CLOSE>
                "閉じる"
            </A>
        </div>
        <p class="hint">"[閉じる]ボタンを押すと、電子証明書のインポート手順を表示します。"</p>
    }
}

/// An RFC 3339 time in JST (2026年11月24日 23:59), or the text as received if it is not one.
fn jst_or_raw(raw: &str) -> String {
    match OffsetDateTime::parse(raw, &Rfc3339) {
        Ok(t) => jst::format_datetime(t),
        Err(e) => {
            leptos::logging::error!("unreadable certificate expiry {raw:?}: {e}");
            raw.to_owned()
        }
    }
}
