//! `/issuance/import` ⑧ インポート: the manual's Windows 証明書のインポート ウィザード steps, each
//! with a small drawing of the dialog (plain HTML/CSS, Japanese labels), and a check that asks the
//! server which client certificate this browser presents now.

use common::{
    ErrorBody,
    api::{CertificateClass, PresentedCertificate},
    jst, testids,
};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    api,
    components::{
        messages::ErrorMessage,
        page_title::TitledCard,
        step_bar::{Step, StepBar},
    },
    error_text::{Audience, explain},
    routes::Route,
};

#[component]
pub fn IssuanceImportPage() -> impl IntoView {
    view! {
        <StepBar current=Step::Import />
        <TitledCard title="電子証明書のインポート">
            <p>
                "ダウンロードした電子証明書ファイル（p12）を開くと、「証明書のインポート ウィザード」が開始されます。次の手順でインポートしてください。"
            </p>
            <ImportGuide />
            <CertificateCheck />
            <p class="back-link">
                <A href=Route::Top.href()>"ログイン画面へ戻る"</A>
            </p>
        </TitledCard>
    }
}

/// The manual's seven import steps with their dialog drawings.
#[component]
fn ImportGuide() -> impl IntoView {
    view! {
        <ol class="import-steps" data-testid=testids::IMPORT_GUIDE>
            <li>
                <p>"保存場所に「現在のユーザー(C)」を選択し、[次へ]ボタンを押します。"</p>
                <MockDialog title="証明書のインポート ウィザード" caption="保存場所の選択">
                    <p class="mock-heading">"証明書のインポート ウィザードの開始"</p>
                    <p class="mock-label">"保存場所"</p>
                    <MockChoice kind="radio" checked=true label="現在のユーザー(C)" />
                    <MockChoice kind="radio" checked=false label="ローカル コンピューター(L)" />
                    <MockButtons primary="次へ(N)" />
                </MockDialog>
            </li>
            <li>
                <p>"ファイル名にインポートする電子証明書の p12 ファイルが選択されていることを確認し、[次へ]ボタンを押します。"</p>
                <MockDialog title="証明書のインポート ウィザード" caption="インポートするファイル">
                    <p class="mock-heading">"インポートする証明書ファイル"</p>
                    <p class="mock-label">"ファイル名(F):"</p>
                    <p class="mock-input">"C:\\Users\\…\\Downloads\\（ユーザーID）（日付時間）.p12"</p>
                    <MockButtons primary="次へ(N)" />
                </MockDialog>
            </li>
            <li>
                <p>
                    "「全ての拡張プロファイルを含める(A)」にチェックを入れ、パスワード欄に"
                    <strong>"本システム（賃金控除事務支援システム）に登録したユーザーIDのパスワード"</strong>
                    "を入力し、[次へ]ボタンを押します。"
                </p>
                <MockDialog title="証明書のインポート ウィザード" caption="秘密キーの保護">
                    <p class="mock-heading">"秘密キーの保護"</p>
                    <p class="mock-text">"セキュリティを維持するために、秘密キーはパスワードで保護されています。"</p>
                    <p class="mock-label">"パスワード(P):"</p>
                    <p class="mock-input">"●●●●●●●●"</p>
                    <MockChoice kind="checkbox" checked=false label="パスワードの表示(O)" />
                    <p class="mock-label">"インポート オプション(I):"</p>
                    <MockChoice kind="checkbox" checked=false label="秘密キーの保護を強力にする(E)" />
                    <MockChoice kind="checkbox" checked=false label="このキーをエクスポート可能にする(M)" />
                    <MockChoice kind="checkbox" checked=false label="仮想化ベースのセキュリティを使用して秘密キーを保護する(エクスポート不可)(P)" />
                    <MockChoice kind="checkbox" checked=true label="全ての拡張プロファイルを含める(A)" />
                    <MockButtons primary="次へ(N)" />
                </MockDialog>
            </li>
            <li>
                <p>"「証明書の種類に基づいて、自動的に証明書ストアを選択する(U)」を選択し、[次へ]ボタンを押します。"</p>
                <MockDialog title="証明書のインポート ウィザード" caption="証明書ストア">
                    <p class="mock-heading">"証明書ストア"</p>
                    <p class="mock-text">"証明書ストアは、証明書が保管されるシステム上の領域です。"</p>
                    <MockChoice kind="radio" checked=true label="証明書の種類に基づいて、自動的に証明書ストアを選択する(U)" />
                    <MockChoice kind="radio" checked=false label="証明書をすべて次のストアに配置する(P)" />
                    <MockButtons primary="次へ(N)" />
                </MockDialog>
            </li>
            <li>
                <p>"[完了]ボタンを押します。"</p>
                <MockDialog title="証明書のインポート ウィザード" caption="ウィザードの完了">
                    <p class="mock-heading">"証明書のインポート ウィザードの完了"</p>
                    <p class="mock-text">"[完了]をクリックすると、証明書がインポートされます。"</p>
                    <MockButtons primary="完了(F)" />
                </MockDialog>
            </li>
            <li>
                <p>"「セキュリティ警告」が表示された場合は、[はい]ボタンを押します。"</p>
                <MockDialog title="セキュリティ警告" caption="セキュリティ警告">
                    <p class="mock-text">"発行者が次であると主張する証明機関 (CA) から証明書をインストールしようとしています: …"</p>
                    <p class="mock-text">"この証明書をインストールしますか?"</p>
                    <MockButtons primary="はい(Y)" secondary="いいえ(N)" />
                </MockDialog>
            </li>
            <li>
                <p>"「正しくインポートされました。」と表示されたらインポートは完了です。[OK]ボタンを押して閉じます。"</p>
                <MockDialog title="証明書のインポート ウィザード" caption="インポートの完了">
                    <p class="mock-text">"正しくインポートされました。"</p>
                    <MockButtons primary="OK" secondary="" />
                </MockDialog>
            </li>
        </ol>
        <div class="message message-warning" role="note">
            <p>
                <strong>"インポートの後は、ブラウザを再起動してください。"</strong>
                "開いているブラウザのウィンドウを[×]ボタンですべて閉じてから、もう一度ブラウザを起動して本システムにアクセスします。ログインするときは、新しい電子証明書を選択してください。"
            </p>
        </div>
    }
}

/// A drawing of one Windows dialog; hidden from screen readers (the step text says it all).
#[component]
fn MockDialog(title: &'static str, caption: &'static str, children: Children) -> impl IntoView {
    view! {
        <figure class="mock">
            <div class="mock-window" aria-hidden="true">
                <div class="mock-titlebar">
                    <span>{title}</span>
                    <span class="mock-close">"×"</span>
                </div>
                <div class="mock-body">{children()}</div>
            </div>
            <figcaption>{format!("図: {caption}")}</figcaption>
        </figure>
    }
}

/// A drawn radio button or checkbox; the one to choose is highlighted.
#[component]
fn MockChoice(kind: &'static str, checked: bool, label: &'static str) -> impl IntoView {
    let mark = match (kind, checked) {
        ("radio", true) => "◉",
        ("radio", false) => "○",
        (_, true) => "☑",
        (_, false) => "☐",
    };
    view! {
        <p class="mock-choice" class:mock-chosen=checked>
            <span class="mock-mark">{mark}</span>
            {label}
        </p>
    }
}

/// The dialog's buttons; `primary` is the one to press (highlighted).
#[component]
fn MockButtons(primary: &'static str, #[prop(default = "キャンセル")] secondary: &'static str) -> impl IntoView {
    view! {
        <div class="mock-buttons">
            <span class="mock-button mock-button-press">{primary}</span>
            {(!secondary.is_empty()).then(|| view! { <span class="mock-button">{secondary}</span> })}
        </div>
    }
}

/// 証明書を確認: `GET /api/tls/client-certificate` and what the answer means for the user.
#[component]
fn CertificateCheck() -> impl IntoView {
    let check = Action::new_local(|_: &()| api::presented_certificate());
    let pending = check.pending();
    let value = check.value();
    view! {
        <section class="certificate-check" aria-labelledby="check-title">
            <h2 id="check-title">"電子証明書の確認"</h2>
            <p>
                "ブラウザを再起動して本システムにアクセスした後、[証明書を確認]ボタンを押すと、ブラウザが新しい電子証明書を提示しているかを確認できます。電子証明書の選択画面が表示された場合は、該当ユーザーIDの電子証明書を選択して[OK]ボタンを押してください。"
            </p>
            <button
                type="button"
                class="button button-primary"
                data-testid=testids::IMPORT_CHECK
                disabled=move || pending.get()
                on:click=move |_| {
                    check.dispatch_local(());
                }
            >
                {move || if pending.get() { "確認中…" } else { "証明書を確認" }}
            </button>
            <div class="check-result" data-testid=testids::IMPORT_CHECK_RESULT aria-live="polite">
                {move || value.get().map(check_result)}
            </div>
        </section>
    }
}

fn check_result(answer: Result<PresentedCertificate, ErrorBody>) -> AnyView {
    let presented = match answer {
        Ok(presented) => presented,
        Err(error) => {
            let lines = explain(&error, Audience::Issuance);
            return view! { <ErrorMessage lines /> }.into_any();
        }
    };
    let expiry = presented.not_after.map(jst::format_datetime);
    let (ok, lines): (bool, Vec<String>) = match presented.class {
        CertificateClass::None => (
            false,
            vec!["電子証明書が提示されていません。ブラウザをすべて閉じてから再度アクセスしてください。".to_owned()],
        ),
        CertificateClass::Valid => (
            true,
            vec![
                "電子証明書は正しく提示されています。インポートは完了しています。".to_owned(),
                format!("ユーザーID: {}", presented.user_id.as_deref().unwrap_or("（不明）")),
                format!("有効期限: {}", expiry.as_deref().unwrap_or("（不明）")),
            ],
        ),
        CertificateClass::Expired => (
            false,
            vec![format!(
                "提示された電子証明書は有効期限が切れています{}。ブラウザをすべて閉じてから再度アクセスし、新しい電子証明書を選択してください。",
                expiry.map(|e| format!("（有効期限: {e}）")).unwrap_or_default()
            )],
        ),
        CertificateClass::Revoked => (
            false,
            vec!["提示された電子証明書は失効しています。ブラウザをすべて閉じてから再度アクセスし、新しい電子証明書を選択してください。".to_owned()],
        ),
        CertificateClass::UnknownIssuer => (
            false,
            vec!["提示された電子証明書は本システムで発行されたものではありません。ブラウザをすべて閉じてから再度アクセスし、本システムの電子証明書を選択してください。".to_owned()],
        ),
        CertificateClass::NotYetValid => (
            false,
            vec!["提示された電子証明書はまだ有効期間が始まっていません。パソコンの日付と時刻が正しいか確認してください。".to_owned()],
        ),
    };
    let class = if ok { "message message-notice" } else { "message message-error" };
    view! {
        <div class=class role="status">
            {lines.into_iter().map(|line| view! { <p>{line}</p> }).collect_view()}
        </div>
    }
    .into_any()
}
