//! The application shell: header, router and routes, and the wizard state every screen shares.

use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use crate::{
    pages::{
        browser_check::BrowserCheckPage, issuance_auth::IssuanceAuthPage, issuance_import::IssuanceImportPage,
        issuance_issue::IssuanceIssuePage, login::LoginPage, not_found::NotFoundPage,
        register_master::RegisterMasterPage,
    },
    wizard::{Wizard, WizardGuard},
};

#[component]
pub fn App() -> impl IntoView {
    Wizard::provide();
    view! {
        <Router>
            <WizardGuard />
            <header class="site-header">
                <div class="site-header-inner">
                    <span class="brand-mark" aria-hidden="true">"ろうきん"</span>
                    <span class="brand-name">"賃金控除事務支援システム"</span>
                </div>
            </header>
            <main class="site-main">
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/") view=LoginPage />
                    <Route path=path!("/register/master") view=RegisterMasterPage />
                    <Route path=path!("/issuance/auth") view=IssuanceAuthPage />
                    <Route path=path!("/issuance/confirm") view=IssuanceIssuePage />
                    <Route path=path!("/issuance/import") view=IssuanceImportPage />
                    <Route path=path!("/browser-check") view=BrowserCheckPage />
                </Routes>
            </main>
            <footer class="site-footer">
                <p>"ご不明な点は、お取引店（労金）にお問い合わせください。"</p>
            </footer>
        </Router>
    }
}
