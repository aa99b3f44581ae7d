//! The `h1` of a screen: the element its `<section aria-labelledby="page-title">` is named by, and
//! what the e2e tests read to know which screen is shown; and that section, for the screens whose
//! title opens it.

use common::testids;
use leptos::prelude::*;

/// The screen's title.
#[component]
pub fn PageTitle(text: &'static str) -> impl IntoView {
    view! { <h1 id="page-title" data-testid=testids::PAGE_TITLE>{text}</h1> }
}

/// A screen's card: a `<section>` named by its [`PageTitle`] `title`, then `children`.
#[component]
pub fn TitledCard(
    /// The section's classes.
    #[prop(default = "card")]
    class: &'static str,
    title: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <section class=class aria-labelledby="page-title">
            <PageTitle text=title />
            {children()}
        </section>
    }
}
