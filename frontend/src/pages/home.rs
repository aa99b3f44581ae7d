//! `/home` ホーム: who is logged in, the certificate this session used (expiry in JST, days
//! left, the renew button from 30 days before expiry, R5), 最近のご利用 (the lines the server
//! composes: previous logins, failed attempts since, recent issuances) and ログアウト. Bank staff get the way
//! to `/admin`; master users manage their general users below ([`UserManagement`]).
//!
//! The wage-deduction business screens themselves are out of scope; this is where they plug in.

use common::{
    ErrorCode,
    api::{CertificateSummary, Me, Role},
    jst, testids,
};
use leptos::prelude::*;
use leptos_router::{NavigateOptions, components::A, hooks::use_navigate};

use crate::{
    api,
    components::{
        forms::ActionButton,
        messages::{ErrorMessage, Loading, SessionError},
        page_title::{PageTitle, TitledCard},
    },
    error_text::{Audience, explain},
    mounted::screen_action,
    pages::user_management::UserManagement,
    routes::{IssuanceStep, Route},
    session::Session,
};

/// From this many days left the expiry is shown as a warning (the renewal window, R5).
const WARN_DAYS: i64 = 30;

#[component]
pub fn HomePage() -> impl IntoView {
    let me = Session::expect().load();
    view! {
        <div class="wide-page">
            {move || match me.get() {
                None => view! { <Loading /> }.into_any(),
                Some(Err(error)) => view! {
                    <TitledCard title="ホーム">
                        <SessionError error />
                    </TitledCard>
                }
                .into_any(),
                Some(Ok(me)) => view! { <Home me /> }.into_any(),
            }}
        </div>
    }
}

#[component]
fn Home(me: Me) -> impl IntoView {
    let role = me.role;
    view! {
        <section class="card" aria-labelledby="page-title">
            <div class="page-heading">
                <PageTitle text="ホーム" />
                <LogoutButton />
            </div>
            <dl class="facts">
                <dt>"ユーザーID"</dt>
                <dd class="mono" data-testid=testids::HOME_USER_ID>{me.user_id.clone()}</dd>
                <dt>"権限"</dt>
                <dd>{role.label()}</dd>
                <dt>"会社"</dt>
                <dd data-testid=testids::HOME_ORGANIZATION>
                    {me.organization.clone().unwrap_or_else(|| "—（労金）".to_owned())}
                </dd>
                <dt>"メールアドレス"</dt>
                <dd>{me.email.clone()}</dd>
            </dl>
            <CertificatePanel certificate=me.certificate.clone() />
            <h2>"最近のご利用"</h2>
            <ul class="notes" data-testid=testids::HOME_ACTIVITY>
                {if me.activity.is_empty() { vec!["記録はありません。".to_owned()] } else { me.activity.clone() }
                    .into_iter()
                    .map(|line| view! { <li>{line}</li> })
                    .collect_view()}
            </ul>
            {(role == Role::Staff).then(|| view! {
                <h2>"労金スタッフ"</h2>
                <p>"会社・利用者・電子証明書の管理、監査ログ、送信メールの確認を行います。"</p>
                <p>
                    // The staff screens are a bundle of their own: a full page load (rel=external).
                    <a href=Route::Admin.href() rel="external" class="button button-primary" data-testid=testids::HOME_ADMIN_LINK>
                        "労金スタッフ管理画面へ"
                    </a>
                </p>
            })}
            <h2>"業務メニュー"</h2>
            <p class="placeholder">
                "賃金控除事務（財形・預金の積立、ローン返済等の控除データのやり取り）の業務画面は、ここから利用します。業務画面は本サービス（電子証明書・ログイン管理）の対象外です。"
            </p>
        </section>
        {(role == Role::Master).then(|| view! { <UserManagement /> })}
    }
}

/// The certificate this session logged in with: expiry, days left, renewal.
#[component]
fn CertificatePanel(certificate: CertificateSummary) -> impl IntoView {
    let warn = certificate.days_left <= WARN_DAYS;
    let days_left = certificate.days_left.max(0);
    view! {
        <h2>"電子証明書"</h2>
        <dl class="facts">
            <dt>"有効期限"</dt>
            <dd data-testid=testids::HOME_CERT_NOT_AFTER>{jst::format_datetime(certificate.not_after)}</dd>
            <dt>"残り日数"</dt>
            <dd>
                <span class=if warn { "days-left days-left-warn" } else { "days-left" } data-testid=testids::HOME_CERT_DAYS_LEFT>
                    {format!("残り {days_left} 日")}
                </span>
            </dd>
            <dt>"シリアル番号"</dt>
            <dd class="mono">{certificate.serial.clone()}</dd>
        </dl>
        {warn.then(|| view! {
            <div class="message message-warning" role="status">
                <strong>{format!("電子証明書の有効期限まで残り {days_left} 日です。")}</strong>
                <p>"有効期限が切れるとログインできなくなります。有効期限が切れる30日前から電子証明書を更新できます。"</p>
            </div>
        })}
        {certificate.renewable.then(|| view! {
            <p>
                <A href=Route::Issuance(IssuanceStep::Auth).href() {..} class="button button-primary" data-testid=testids::HOME_RENEW>
                    "電子証明書を更新する"
                </A>
            </p>
            <ul class="notes">
                <li>"更新しても、今の電子証明書は有効期限まで引き続き使えます。"</li>
                <li>"新しい電子証明書をインポートした後は、次回のログインで新しい電子証明書を選択してください（ブラウザの画面を全て閉じてからアクセスすると、証明書の選択画面が表示されます）。"</li>
            </ul>
        })}
    }
}

/// ログアウト: ends the session on the server, forgets it here, returns to `/`.
#[component]
fn LogoutButton() -> impl IntoView {
    let session = Session::expect();
    let error = RwSignal::new(None);
    let navigate = use_navigate();
    let logout = screen_action(
        |()| api::logout(),
        move |answer| {
            match answer {
                // Already logged out on the server: the result the user asked for.
                Ok(()) => {}
                Err(e) if e.code == ErrorCode::Unauthenticated => {}
                Err(e) => {
                    error.set(Some(e));
                    return;
                }
            }
            session.me.set(None);
            navigate(Route::Top.href(), NavigateOptions::default());
        },
    );
    view! {
        <div class="logout">
            <ActionButton
                class="button button-secondary"
                pending=logout.pending()
                testid=testids::HOME_LOGOUT
                label="ログアウト"
                pending_label="ログアウト中…"
                on_click=move || {
                    error.set(None);
                    logout.dispatch_local(());
                }
            />
            {move || error.get().map(|e| view! { <ErrorMessage lines=explain(&e, Audience::Session) /> })}
        </div>
    }
}
