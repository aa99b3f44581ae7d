//! Entry point of the single-page app (Leptos, client-side rendering, built with Trunk).
//!
//! `index.html` shows 「読み込み中…」 (and, in a browser without WebAssembly, a message of its own)
//! until this runs; mounting the app removes that placeholder.

mod api;
mod app;
mod browser_download;
mod clock;
mod components;
mod error_text;
mod form_checks;
mod labels;
mod mounted;
mod pages;
mod routes;
mod session;
mod wizard;

/// The id of the placeholder in `index.html`.
const LOADING_PLACEHOLDER_ID: &str = "app-loading";

fn main() {
    leptos::mount::mount_to_body(app::App);
    if let Some(placeholder) = leptos::prelude::document().get_element_by_id(LOADING_PLACEHOLDER_ID) {
        placeholder.remove();
    }
    // The first screen is in the DOM: a User Timing mark for the benchmarks (docs/PERFORMANCE.md).
    if let Some(performance) = leptos::prelude::window().performance() {
        let _ = performance.mark("cjs-mounted");
    }
}
