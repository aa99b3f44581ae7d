//! The single-page apps (Leptos, client-side rendering, built with Trunk): two bundles from one
//! library, so a company user's browser never downloads the bank staff's screens.
//!
//! - `src/main.rs` (`frontend/index.html` → `dist/`): every screen of the company users — login,
//!   home, the issuance wizard, the master user's screens.
//! - `src/bin/admin.rs` (`frontend/admin/index.html` → `dist/admin/`, served for `/admin`): the
//!   労金スタッフ管理画面 alone.
//!
//! Leptos' lazy routes would split one bundle instead, but they need a wasm-split step between
//! the compiler and wasm-bindgen that Trunk 0.21 does not have (trunk-rs/trunk#1022). A link
//! from one bundle's screens to the other's is a full page load ([`app::OtherBundle`]).
//!
//! `index.html` shows 「読み込み中…」 (and, in a browser without WebAssembly, a message of its own)
//! until the app mounts; mounting removes that placeholder.

pub mod api;
pub mod app;
mod browser_download;
mod clock;
mod components;
mod error_text;
mod form_checks;
mod labels;
mod mounted;
mod pages;
mod query;
mod routes;
mod session;
mod wizard;

use std::sync::atomic::{AtomicBool, Ordering};

use leptos::prelude::IntoView;

/// The id of the placeholder in `index.html`.
const LOADING_PLACEHOLDER_ID: &str = "app-loading";

/// False while the first screen after a page load renders, true afterwards.
static MOUNTED: AtomicBool = AtomicBool::new(false);

/// Whether the page has finished its first render (so a screen being shown now was navigated to
/// inside the app, not loaded from the server).
pub(crate) fn mounted() -> bool {
    MOUNTED.load(Ordering::Relaxed)
}

/// Mounts `app` on the page and takes the placeholder away.
pub fn start<V: IntoView + 'static>(app: fn() -> V) {
    leptos::mount::mount_to_body(app);
    MOUNTED.store(true, Ordering::Relaxed);
    if let Some(placeholder) = leptos::prelude::document().get_element_by_id(LOADING_PLACEHOLDER_ID) {
        placeholder.remove();
    }
    // The first screen is in the DOM: a User Timing mark for the benchmarks (docs/PERFORMANCE.md).
    if let Some(performance) = leptos::prelude::window().performance() {
        let _ = performance.mark("cjs-mounted");
    }
}
