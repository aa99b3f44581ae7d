//! The application shell: header (with who is logged in), the router (one screen per
//! [`Route`]), and the state every screen shares (the issuance wizard, the session as last seen).

use leptos::prelude::*;
use leptos_router::components::{Route as Screen, Router, Routes};

use crate::{
    pages::{
        admin::AdminPage, browser_check::BrowserCheckPage, home::HomePage, issuance_auth::IssuanceAuthPage,
        issuance_import::IssuanceImportPage, issuance_issue::IssuanceIssuePage, login::LoginPage,
        login_form::LoginFormPage, not_found::NotFoundPage, register_master::RegisterMasterPage,
    },
    routes::{IssuanceStep, Route},
    session::Session,
    wizard::{Wizard, WizardGuard},
};

#[component]
pub fn App() -> impl IntoView {
    Wizard::provide();
    let session = Session::provide();
    view! {
        <Router>
            <WizardGuard />
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
            <main class="site-main">
                <Routes fallback=NotFoundPage>
                    <Screen path=Route::Top view=LoginPage />
                    <Screen path=Route::Login view=LoginFormPage />
                    <Screen path=Route::Home view=HomePage />
                    <Screen path=Route::Admin view=AdminPage />
                    <Screen path=Route::RegisterMaster view=RegisterMasterPage />
                    <Screen path=Route::Issuance(IssuanceStep::Auth) view=IssuanceAuthPage />
                    <Screen path=Route::Issuance(IssuanceStep::Confirm) view=IssuanceIssuePage />
                    <Screen path=Route::Issuance(IssuanceStep::Import) view=IssuanceImportPage />
                    <Screen path=Route::BrowserCheck view=BrowserCheckPage />
                </Routes>
            </main>
            <footer class="site-footer">
                <p>"ご不明な点は、お取引店（労金）にお問い合わせください。"</p>
            </footer>
        </Router>
    }
}
