//! `/browser-check` ブラウザの設定（確認）: checks what a page can see (cookies, JavaScript,
//! WebAssembly, HTTPS, the browser, pop-ups) and explains, with the manual's steps, what it cannot
//! (downloads, 信頼済みサイト, オートコンプリート).

use leptos::prelude::*;
use leptos_router::components::A;
use wasm_bindgen::JsValue;

use common::testids;

use crate::{components::page_title::TitledCard, routes::Route};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Ok,
    /// Works, but not what the bank supports or recommends.
    Caution,
    Ng,
    /// Needs the user to look (a page cannot read it) or to press a button.
    Manual,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Ok => "OK",
            Verdict::Caution => "注意",
            Verdict::Ng => "NG",
            Verdict::Manual => "要確認",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Verdict::Ok => "verdict verdict-ok",
            Verdict::Caution => "verdict verdict-caution",
            Verdict::Ng => "verdict verdict-ng",
            Verdict::Manual => "verdict verdict-manual",
        }
    }
}

#[component]
pub fn BrowserCheckPage() -> impl IntoView {
    let popup = RwSignal::new((
        Verdict::Manual,
        "[ポップアップを確認]ボタンを押すと、小さなウィンドウを開いてすぐに閉じ、ポップアップが許可されているかを確認します。".to_owned(),
    ));
    let origin = window().location().origin().unwrap_or_else(|e| {
        leptos::logging::error!("reading location.origin failed: {e:?}");
        "本システムの URL".to_owned()
    });

    view! {
        <TitledCard title="ブラウザの設定（確認）">
            <p>
                "本システムをご利用いただくには、JavaScript・Cookie・ポップアップの設定と「信頼済みサイト」の登録などが必要です。このページでは、ブラウザから確認できる項目を自動で確認します。"
            </p>
            <table class="check-table" data-testid=testids::BROWSER_CHECK_RESULTS>
                <caption class="visually-hidden">"ブラウザの確認結果"</caption>
                <thead>
                    <tr>
                        <th scope="col">"項目"</th>
                        <th scope="col">"結果"</th>
                        <th scope="col">"説明"</th>
                    </tr>
                </thead>
                <tbody>
                    <CheckRow name="JavaScript" verdict=Verdict::Ok advice="有効です。".to_owned() />
                    <CheckRow name="WebAssembly" verdict=Verdict::Ok advice="利用できます（この画面が表示されていれば動作しています）。".to_owned() />
                    {cookie_row()}
                    {secure_context_row()}
                    {browser_row()}
                    <tr>
                        <th scope="row">"ポップアップ"</th>
                        <td>
                            <span class=move || popup.get().0.class()>{move || popup.get().0.label()}</span>
                        </td>
                        <td>
                            <p>{move || popup.get().1}</p>
                            <button type="button" class="button button-secondary" on:click=move |_| popup.set(check_popup())>
                                "ポップアップを確認"
                            </button>
                        </td>
                    </tr>
                    <CheckRow
                        name="ダウンロード"
                        verdict=Verdict::Manual
                        advice="ブラウザからは確認できません。Microsoft Edge の「設定」→「ダウンロード」で「ダウンロード時の動作を毎回確認する」が「オン」になっていることを確認してください。電子証明書ファイルのダウンロード時に[開く]を選べるようになります。".to_owned()
                    />
                </tbody>
            </table>

            <h2>"ブラウザから確認できない設定"</h2>
            <h3>"「信頼済みサイト」への登録"</h3>
            <ol class="manual-steps">
                <li>"Windows の「検索」から「インターネットオプション」と検索し、「インターネットオプション」を開きます。"</li>
                <li>"[セキュリティ]タブを選択し、[信頼済みサイト]ゾーンの[サイト]ボタンを押します。"</li>
                <li>
                    "「この Web サイトをゾーンに追加する」の下に本システムの URL（"
                    <code>{origin.clone()}</code>
                    "）を入力し、[追加]ボタンを押します。"
                </li>
                <li>"「Web サイト」の下に本システムの URL が追加されたことを確認し、[閉じる]ボタンを押します。"</li>
                <li>"[OK]ボタンを押します。"</li>
            </ol>
            <h3>"オートコンプリートの無効化"</h3>
            <p>
                "オートコンプリート機能とは、一度入力した ID・パスワードを PC 内部に保存し、次回からの入力を省略するものです。PC 内部に情報が残るため、どなたでもログインが可能となったり、ID・パスワード情報の漏えいに繋がる恐れがあります。セキュリティの観点から、無効化したうえでご利用ください。"
            </p>
            <ol class="manual-steps">
                <li>"Microsoft Edge の右上の「・・・」からメニューを展開し、「設定」をクリックします。"</li>
                <li>"「プロフィール」の「個人情報」をクリックし、「オフ」に設定します。"</li>
                <li>"同じく「プロフィール」の「パスワード」で、パスワードの保存を提案する設定を「オフ」にします。"</li>
                <li>"ブラウザの[×]ボタンを押して画面を閉じます。"</li>
            </ol>
            <h3>"ポップアップの許可（ブロックされている場合）"</h3>
            <ol class="manual-steps">
                <li>"Microsoft Edge の「設定」→「Cookie とサイトのアクセス許可」→「ポップアップとリダイレクト」をクリックします。"</li>
                <li>
                    "「許可」の項目欄にある[追加]ボタンを押し、「ご利用開始(変更)のお知らせ」に記載されている URL（"
                    <code>{origin}</code>
                    "）を入力して[追加]ボタンを押します。"
                </li>
            </ol>
            <p class="hint">"Microsoft Edge (IE モード) の設定手順書が必要な場合は、お取引店にご連絡ください。"</p>
            <p class="back-link">
                <A href=Route::Top.href()>"ログイン画面へ戻る"</A>
            </p>
        </TitledCard>
    }
}

#[component]
fn CheckRow(name: &'static str, verdict: Verdict, advice: String) -> impl IntoView {
    view! {
        <tr>
            <th scope="row">{name}</th>
            <td>
                <span class=verdict.class()>{verdict.label()}</span>
            </td>
            <td>{advice}</td>
        </tr>
    }
}

fn cookie_row() -> impl IntoView {
    let navigator = window().navigator();
    let (verdict, advice) = match js_sys::Reflect::get(&navigator, &JsValue::from_str("cookieEnabled")) {
        Ok(value) if value.as_bool() == Some(true) => (Verdict::Ok, "有効です。".to_owned()),
        Ok(_) => (
            Verdict::Ng,
            "Cookie が無効です。Microsoft Edge の「設定」→「Cookie とサイトのアクセス許可」→「Cookie とサイトデータの管理と削除」で、「Cookie データの保存と読み取りをサイトに許可する(推奨)」を有効にしてください。".to_owned(),
        ),
        Err(e) => {
            leptos::logging::error!("reading navigator.cookieEnabled failed: {e:?}");
            (Verdict::Manual, "ブラウザから確認できませんでした。Cookie の設定を手順に沿って確認してください。".to_owned())
        }
    };
    view! { <CheckRow name="Cookie" verdict advice /> }
}

fn secure_context_row() -> impl IntoView {
    let (verdict, advice) = if window().is_secure_context() {
        (Verdict::Ok, "安全な接続（HTTPS）で表示されています。".to_owned())
    } else {
        (
            Verdict::Ng,
            "安全な接続ではありません。「ご利用開始(変更)のお知らせ」に記載されている https:// で始まる URL で開いてください。".to_owned(),
        )
    };
    view! { <CheckRow name="安全な接続（HTTPS）" verdict advice /> }
}

fn browser_row() -> impl IntoView {
    let (verdict, advice) = match window().navigator().user_agent() {
        Ok(ua) if ua.contains("Edg/") => (Verdict::Ok, "Microsoft Edge です。".to_owned()),
        Ok(ua) if ua.contains("Chrome/") || ua.contains("Chromium/") => (
            Verdict::Caution,
            "Chromium 系のブラウザです。動作確認対象のブラウザは Microsoft Edge です。うまく動作しない場合は Microsoft Edge をご利用ください。".to_owned(),
        ),
        Ok(_) => (
            Verdict::Ng,
            "動作確認対象外のブラウザです。Microsoft Edge（IE モードではない通常のモード）をご利用ください。".to_owned(),
        ),
        Err(e) => {
            leptos::logging::error!("reading navigator.userAgent failed: {e:?}");
            (Verdict::Manual, "ブラウザの種類を確認できませんでした。Microsoft Edge をご利用ください。".to_owned())
        }
    };
    view! { <CheckRow name="ブラウザ" verdict advice /> }
}

/// Opens a tiny window on a click and closes it again: `None` back means the blocker stopped it.
fn check_popup() -> (Verdict, String) {
    match window().open_with_url_and_target_and_features("about:blank", "_blank", "width=200,height=100") {
        Ok(Some(opened)) => {
            if let Err(e) = opened.close() {
                leptos::logging::error!("closing the test pop-up failed: {e:?}");
            }
            (Verdict::Ok, "ポップアップは許可されています。".to_owned())
        }
        Ok(None) => (
            Verdict::Ng,
            "ポップアップがブロックされています。下の「ポップアップの許可」の手順で、本システムの URL を許可してください。".to_owned(),
        ),
        Err(e) => {
            leptos::logging::error!("window.open failed: {e:?}");
            (
                Verdict::Ng,
                "ポップアップを開けませんでした。下の「ポップアップの許可」の手順で、本システムの URL を許可してください。".to_owned(),
            )
        }
    }
}
