//! The application shells: the frame (header with who is logged in, footer), the router (one
//! screen per [`Route`]), and the state every screen shares (the issuance wizard, the session as
//! last seen). [`App`] is the company users' bundle, [`StaffApp`] the bank staff's.

use leptos::prelude::*;
use leptos_router::{
    components::{Route as Screen, Router, Routes},
    path,
};

use crate::{
    pages::{
        admin::{AdminPage, OrganizationPage, UserPage},
        browser_check::BrowserCheckPage,
        home::HomePage,
        issuance_auth::IssuanceAuthPage,
        issuance_import::IssuanceImportPage,
        issuance_issue::IssuanceIssuePage,
        login::LoginPage,
        login_form::LoginFormPage,
        not_found::NotFoundPage,
        register_master::RegisterMasterPage,
    },
    routes::{IssuanceStep, Route},
    session::Session,
    wizard::{Wizard, WizardGuard},
};

/// Every screen of the company users; `/admin` belongs to the staff bundle.
#[component]
pub fn App() -> impl IntoView {
    Wizard::provide();
    Session::provide();
    view! {
        <Router>
            <WizardGuard />
            <Frame>
                <Routes fallback=NotFoundPage>
                    <Screen path=Route::Top view=LoginPage />
                    <Screen path=Route::Login view=LoginFormPage />
                    <Screen path=Route::Home view=HomePage />
                    <Screen path=Route::Admin view=OtherBundle />
                    <Screen path=Route::RegisterMaster view=RegisterMasterPage />
                    <Screen path=Route::Issuance(IssuanceStep::Auth) view=IssuanceAuthPage />
                    <Screen path=Route::Issuance(IssuanceStep::Confirm) view=IssuanceIssuePage />
                    <Screen path=Route::Issuance(IssuanceStep::Import) view=IssuanceImportPage />
                    <Screen path=Route::BrowserCheck view=BrowserCheckPage />
                </Routes>
            </Frame>
        </Router>
    }
}

/// The 労金スタッフ管理画面 and its detail pages alone (`routes::ADMIN_ORGANIZATION_PATH`,
/// `routes::ADMIN_USER_PATH`, spelled again here because `path!` takes a literal); every other
/// path belongs to the company bundle.
#[component]
pub fn StaffApp() -> impl IntoView {
    Session::provide();
    view! {
        <Router>
            <Frame>
                <Routes fallback=OtherBundle>
                    <Screen path=Route::Admin view=AdminPage />
                    <Screen path=path!("/admin/organizations/:id") view=OrganizationPage />
                    <Screen path=path!("/admin/users/:user_id") view=UserPage />
                </Routes>
            </Frame>
        </Router>
    }
}

/// The header, the screen, the footer.
#[component]
fn Frame(children: Children) -> impl IntoView {
    let session = Session::expect();
    view! {
        <header class="site-header">
            <div class="site-header-inner">
                <span class="brand-mark" aria-hidden="true">"ろうきん"</span>
                <span class="brand-name">"賃金控除事務支援システム"</span>
                {move || session.me.get().map(|me| view! {
                    <span class="header-user">
                        {format!("{}（{}）", me.user_id, me.role.label())}
                        <span class="visually-hidden">"でログイン中"</span>
                    </span>
                })}
            </div>
        </header>
        <main class="site-main">{children()}</main>
        <footer class="site-footer">
            <p>"ご不明な点は、お取引店（労金）にお問い合わせください。"</p>
        </footer>
    }
}

/// A path of the other bundle, reached by navigating inside this one (links across use
/// `rel="external"`, which the router leaves to the browser): the page is loaded from the server,
/// which sends that bundle. Shown by the first render after a page load, the server
/// sent this bundle for it after all (the other is not deployed): the not-found screen, rather
/// than loading the same page forever.
#[component]
pub fn OtherBundle() -> impl IntoView {
    if crate::mounted() {
        // The router's location: the browser's may not show the new path yet.
        let location = leptos_router::hooks::use_location();
        let search = location.search.get_untracked();
        let path = location.pathname.get_untracked();
        let href = if search.is_empty() { path } else { format!("{path}?{search}") };
        let _ = window().location().replace(&href);
        ().into_any()
    } else {
        view! { <NotFoundPage /> }.into_any()
    }
}
