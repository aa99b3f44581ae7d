//! Data loaded from the server shows 読み込み中… until it arrives and the error (with the way to
//! `/login`) when it could not be loaded ([`Loaded`]); a table sits in a keyboard-scrollable
//! region ([`DataTable`]). The searched and paged lists are `paged_list`'s.

use common::ErrorBody;
use leptos::prelude::*;

use crate::components::messages::{Loading, SessionError};

/// `show` of the loaded value; 読み込み中… and the error stand in for it until then.
#[component]
pub fn Loaded<T, F, V>(resource: LocalResource<Result<T, ErrorBody>>, show: F) -> impl IntoView
where
    T: Clone + 'static,
    F: Fn(T) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    move || match resource.get() {
        None => view! { <Loading /> }.into_any(),
        Some(Err(error)) => view! { <SessionError error /> }.into_any(),
        Some(Ok(value)) => show(value).into_any(),
    }
}

/// A table with one header row of `columns`, in a region that scrolls sideways by keyboard too.
#[component]
pub fn DataTable(
    /// The accessible name of the region.
    label: &'static str,
    columns: &'static [&'static str],
    #[prop(optional_no_strip)] testid: Option<&'static str>,
    /// The `<tr>` rows.
    children: Children,
) -> impl IntoView {
    let headers = columns.iter().map(|column| view! { <th scope="col">{*column}</th> }).collect_view();
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label=label>
            <table class="data-table" data-testid=testid>
                <thead>
                    <tr>{headers}</tr>
                </thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}
