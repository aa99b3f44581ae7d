//! 会社の登録 tab: a company with its master user. The answer carries the master user's one-time
//! initial password, printed at once on the letter 「ご利用開始のお知らせ」 (only the letter
//! prints: see `@media print` in `admin.css`).

use std::rc::Rc;

use common::{
    api::{CreatedOrganization, NewOrganization},
    jst, testids,
};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    api, clock,
    components::{
        form_field::FormField,
        forms::{RegisterForm, submit_unless_pending},
        messages::ErrorLines,
    },
    error_text::{Audience, explain},
    form_checks::{check_email, check_user_id},
    mounted::screen_action,
    routes,
};

/// Longest company name accepted here (the server checks again).
const MAX_NAME_CHARS: usize = 100;

#[component]
pub fn RegisterTab() -> impl IntoView {
    let created: RwSignal<Option<CreatedOrganization>> = RwSignal::new(None);
    // The initial password must not outlive the screen.
    on_cleanup(move || created.set(None));
    view! {
        {move || created.get().map(|letter| view! { <Notice letter on_close=move || created.set(None) /> })}
        <div class="no-print">
            <NewOrganizationForm on_created=move |letter| created.set(Some(letter)) />
        </div>
    }
}

#[component]
fn NewOrganizationForm(on_created: impl Fn(CreatedOrganization) + Copy + 'static) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let master_user_id = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let errors: RwSignal<Vec<String>> = RwSignal::new(Vec::new());

    let create = screen_action(
        |request: Rc<NewOrganization>| async move { api::admin_create_organization(&request).await },
        move |answer| match answer {
            Ok(letter) => {
                name.set(String::new());
                master_user_id.set(String::new());
                email.set(String::new());
                on_created(letter);
            }
            Err(error) => errors.set(explain(&error, Audience::Session)),
        },
    );
    let pending = create.pending();

    let on_submit = submit_unless_pending(pending, move || {
        match check_form(&name.get_untracked(), &master_user_id.get_untracked(), &email.get_untracked()) {
            Ok(request) => {
                errors.set(Vec::new());
                create.dispatch_local(Rc::new(request));
            }
            Err(problems) => errors.set(problems),
        }
    });

    view! {
        <h2 id="new-org-title">"会社の登録"</h2>
        <p>"会社とそのマスターユーザーを登録します。登録後に表示される「ご利用開始のお知らせ」を印刷し、会社へお送りください。"</p>
        <ErrorLines lines=errors />
        <RegisterForm labelledby="new-org-title" pending submit_testid=testids::ADMIN_ORG_CREATE on_submit>
            <FormField id="org-name" label="会社名" value=name testid=testids::ADMIN_ORG_NAME hint="正式名称（100文字以内）" disabled=pending />
            <FormField
                id="org-master-id"
                label="マスターユーザーID"
                value=master_user_id
                testid=testids::ADMIN_ORG_MASTER_ID
                hint="半角英数混在 6~12 桁。"
                disabled=pending
            />
            <FormField
                id="org-email"
                label="メールアドレス"
                value=email
                input_type="email"
                testid=testids::ADMIN_ORG_EMAIL
                hint="マスターユーザーのメールアドレス。"
                disabled=pending
            />
        </RegisterForm>
    }
}

fn check_form(name: &str, master_user_id: &str, email: &str) -> Result<NewOrganization, Vec<String>> {
    let name = name.trim();
    let name_problem = if name.is_empty() {
        Some("会社名を入力してください。".to_owned())
    } else if name.chars().count() > MAX_NAME_CHARS {
        Some(format!("会社名は{MAX_NAME_CHARS}文字以内で入力してください。"))
    } else if name.chars().any(char::is_control) {
        Some("会社名に使えない文字が含まれています。".to_owned())
    } else {
        None
    };
    let id = check_user_id(master_user_id).map_err(|e| e.replace("ユーザーID", "マスターユーザーID"));
    let address = check_email(email);
    match (name_problem, id, address) {
        (None, Ok(master_user_id), Ok(email)) => Ok(NewOrganization { name: name.to_owned(), master_user_id, email }),
        (name_problem, id, address) => Err([name_problem, id.err(), address.err()].into_iter().flatten().collect()),
    }
}

/// 「ご利用開始のお知らせ」: what the company needs to start, ready to print.
#[component]
fn Notice(letter: CreatedOrganization, on_close: impl Fn() + 'static) -> impl IntoView {
    let today = jst::format_date(clock::now());
    let print = |_| {
        if let Err(e) = window().print() {
            leptos::logging::error!("window.print failed: {e:?}");
        }
    };
    view! {
        <div class="notice-screen">
            <div class="message message-notice no-print" role="status">
                <p>
                    {format!("「{}」とマスターユーザー {} を登録しました。", letter.organization.name, letter.master_user_id)}
                    "初期パスワードはこのお知らせにだけ表示されます。印刷してから閉じてください。"
                </p>
            </div>
            <article class="notice-letter print-area" data-testid=testids::ADMIN_NOTICE aria-labelledby="notice-title">
                <p class="notice-date">{today}</p>
                <p class="notice-to">{format!("{} 御中", letter.organization.name)}</p>
                <h2 id="notice-title" class="notice-title">"ご利用開始のお知らせ"</h2>
                <p>"ろうきん賃金控除事務支援システムのご利用を開始します。次の情報でマスターユーザーの初期登録を行ってください。"</p>
                <dl class="notice-facts">
                    <dt>"会社名"</dt>
                    <dd>{letter.organization.name.clone()}</dd>
                    <dt>"URL"</dt>
                    <dd class="mono">{letter.url.clone()}</dd>
                    <dt>"マスターユーザーID"</dt>
                    <dd class="mono">{letter.master_user_id.clone()}</dd>
                    <dt>"初期パスワード"</dt>
                    <dd>
                        <span class="mono secret">{letter.initial_password.clone()}</span>
                    </dd>
                </dl>
                <h3>"ご利用開始の手順"</h3>
                <ol class="notice-steps">
                    <li>"上記の URL にアクセスし、ログイン画面の[マスターユーザーの初期登録]ボタンを押します。"</li>
                    <li>"マスターユーザーIDと初期パスワードを入力し、新しいパスワードとメールアドレスを登録します（初期パスワードは一度だけ使えます）。"</li>
                    <li>"続けて電子証明書を発行し、パソコンにインポートします。"</li>
                    <li>"電子証明書とユーザーID・新しいパスワードでログインし、一般ユーザーを登録します。"</li>
                </ol>
                <p class="notice-foot">
                    "本書は初期パスワードを記載した重要書類です。第三者の目に触れないよう厳重に管理し、初期登録後は適切に廃棄してください。ご不明な点は、お取引店（労金）にお問い合わせください。"
                </p>
            </article>
            <div class="form-actions no-print">
                <button type="button" class="button button-primary" on:click=print>
                    "印刷"
                </button>
                <A href=routes::admin_organization(letter.organization.id) {..} class="button button-secondary">
                    "会社の詳細を見る"
                </A>
                <button type="button" class="button button-secondary" on:click=move |_| on_close()>
                    "閉じる"
                </button>
            </div>
        </div>
    }
}
