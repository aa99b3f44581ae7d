//! What the issuance wizard (④ → ⑦) remembers between its screens: the user ID, the password
//! (needed again as the .p12 password) and the one-time issuance token.
//!
//! It lives only in memory, in reactive signals provided by the app (R10): never in
//! `localStorage`, `sessionStorage`, cookies or the URL. It is cleared on キャンセル, whenever the
//! user leaves the `/issuance/` pages (see [`WizardGuard`]) and right after the certificate is issued.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::routes::ISSUANCE_PREFIX;

/// The wizard's in-memory state; `Copy` because it is a bundle of signal handles.
#[derive(Clone, Copy)]
pub struct Wizard {
    pub user_id: RwSignal<String>,
    /// The password typed on ④; also the password of the .p12 built on ⑤.
    pub password: RwSignal<String>,
    /// The single-use token from `POST /api/issuance/authenticate`.
    pub token: RwSignal<Option<String>>,
    /// True when this issuance renews a certificate that stays valid until its own expiry (R5).
    pub renewal: RwSignal<bool>,
}

impl Wizard {
    /// Creates an empty wizard state and provides it to the component tree.
    pub fn provide() -> Self {
        let wizard = Self {
            user_id: RwSignal::new(String::new()),
            password: RwSignal::new(String::new()),
            token: RwSignal::new(None),
            renewal: RwSignal::new(false),
        };
        provide_context(wizard);
        wizard
    }

    /// The wizard state provided by the app.
    pub fn expect() -> Self {
        expect_context::<Self>()
    }

    /// Forgets the secrets (password and token) but keeps the user ID for display.
    pub fn forget_secrets(&self) {
        self.password.set(String::new());
        self.token.set(None);
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.forget_secrets();
        self.user_id.set(String::new());
        self.renewal.set(false);
    }
}

/// Clears the wizard whenever the current path is outside [`ISSUANCE_PREFIX`]. Renders nothing;
/// must sit inside the `<Router>`.
#[component]
pub fn WizardGuard() -> impl IntoView {
    let wizard = Wizard::expect();
    let location = use_location();
    Effect::new(move |_| {
        if !location.pathname.get().starts_with(ISSUANCE_PREFIX) {
            wizard.clear();
        }
    });
}
