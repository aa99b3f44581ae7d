//! The lists searched, sorted and paged on the server (`common::api::list`): a list's search and
//! how another one is asked for ([`SearchState`]: the URL on the staff tabs, a signal elsewhere),
//! and its screen — the count, the table with a sort button in each sortable column header
//! (`aria-sort` on the header), and the pager (前へ / 次へ by the answer's cursors, the page size).
//!
//! The table's header and the pager stay in place while pages change (only the rows and the
//! count are drawn again), so the focus stays on the button that was pressed.

use common::{
    ErrorBody,
    api::list::{
        AuditSearch, CertificateSearch, MailSearch, OrganizationSearch, PAGE_SIZE_DEFAULT, Page, Search, UserSearch,
    },
    testids,
};
use leptos::prelude::*;

use crate::components::messages::SessionError;

/// The page sizes offered (the server takes 1–200), as the select spells them below.
const PAGE_SIZES: [u32; 3] = [50, 100, 200];

/// What the list controls change in a search: its sort, page size and cursor (every search of
/// `common::api::list` has them).
pub trait Paged: Search + Send + Sync + 'static {
    fn sort(&self) -> Option<&str>;
    fn limit(&self) -> Option<u32>;
    /// The same filters with this sort, page size and cursor.
    fn paged(&self, sort: Option<String>, limit: Option<u32>, cursor: Option<String>) -> Self;
}

macro_rules! paged {
    ($($search:ty),*) => {$(
        impl Paged for $search {
            fn sort(&self) -> Option<&str> {
                self.sort.as_deref()
            }

            fn limit(&self) -> Option<u32> {
                self.limit
            }

            fn paged(&self, sort: Option<String>, limit: Option<u32>, cursor: Option<String>) -> Self {
                Self { sort, limit, cursor, ..self.clone() }
            }
        }
    )*};
}

paged!(OrganizationSearch, UserSearch, CertificateSearch, AuditSearch, MailSearch);

/// A search field's value as a filter: trimmed, `None` when empty.
pub fn filter(value: String) -> Option<String> {
    let trimmed = value.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// A list's search, and the way to ask for another. `Copy` (signal handles).
pub struct SearchState<S: Send + Sync + 'static> {
    current: Signal<S>,
    apply: Callback<S>,
    /// Counts the times the shown search was asked for again: the list is loaded again.
    reloads: RwSignal<u32>,
}

impl<S: Send + Sync + 'static> Clone for SearchState<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S: Send + Sync + 'static> Copy for SearchState<S> {}

impl<S: Paged> SearchState<S> {
    /// The search `current` (e.g. read from the URL), changed by `apply` (e.g. navigating).
    pub fn new(current: Signal<S>, apply: impl Fn(S) + Send + Sync + 'static) -> Self {
        Self { current, apply: Callback::new(apply), reloads: RwSignal::new(0) }
    }

    /// A search held by the screen alone (it starts over when the screen is shown again).
    pub fn local(initial: S) -> Self {
        let search = RwSignal::new(initial);
        Self::new(search.into(), move |next| search.set(next))
    }

    /// The search, tracked: what the list's resource reads (it reloads on [`SearchState::set`] of
    /// the same search too).
    pub fn get(&self) -> S {
        self.reloads.track();
        self.current.get()
    }

    /// The search now, untracked.
    pub fn get_untracked(&self) -> S {
        self.current.get_untracked()
    }

    /// Asks for `next`; asking for the shown search again loads it again.
    pub fn set(&self, next: S) {
        if self.current.with_untracked(|current| *current == next) {
            self.reloads.update(|n| *n += 1);
        } else {
            self.apply.run(next);
        }
    }

    /// A form field's text, starting from the value `read` from the search.
    pub fn field(&self, read: fn(&S) -> Option<String>) -> RwSignal<String> {
        RwSignal::new(self.current.with_untracked(|s| read(s).unwrap_or_default()))
    }

    /// [`SearchState::field`], following the search when it changes by other means than the form
    /// (Back, a link): what a search in the URL needs.
    pub fn field_following(&self, read: fn(&S) -> Option<String>) -> RwSignal<String> {
        let current = self.current;
        let field = self.field(read);
        Effect::new(move |_| field.set(current.with(|s| read(s).unwrap_or_default())));
        field
    }

    /// Asks for the search `filters` made from the form, keeping the sort and page size and
    /// starting from the first page.
    pub fn submit(&self, filters: S) {
        let current = self.get_untracked();
        self.set(filters.paged(current.sort().map(str::to_owned), current.limit(), None));
    }
}

/// One change of the list controls.
enum Change {
    Sort(String),
    Cursor(String),
    Limit(u32),
}

/// The sort, page size and paging of one list, for its header and pager (not generic: one copy
/// of their code serves every list). `Copy`.
#[derive(Clone, Copy)]
pub struct ListControls {
    /// The sort in effect: the search's, or the list's default.
    sort: Signal<String>,
    limit: Signal<u32>,
    change: Callback<Change>,
}

impl ListControls {
    /// The controls of `state`'s list, sorted by `default_sort` when the search names no sort.
    pub fn new<S: Paged>(state: SearchState<S>, default_sort: &'static str) -> Self {
        let current = state.current;
        Self {
            sort: Signal::derive(move || current.with(|s| s.sort().unwrap_or(default_sort).to_owned())),
            limit: Signal::derive(move || current.with(|s| s.limit().unwrap_or(PAGE_SIZE_DEFAULT))),
            change: Callback::new(move |change| {
                let s = state.get_untracked();
                let sort = s.sort().map(str::to_owned);
                let next = match change {
                    Change::Sort(sort) => s.paged(Some(sort), s.limit(), None),
                    Change::Cursor(cursor) => s.paged(sort, s.limit(), Some(cursor)),
                    Change::Limit(limit) => s.paged(sort, Some(limit), None),
                };
                state.set(next);
            }),
        }
    }
}

/// A column of a list's table.
#[derive(Clone, Copy)]
pub struct Column {
    label: &'static str,
    /// The sort a first press of the header asks for (`name`, `-created_at`: the column's key
    /// with the direction that makes sense first); `None`: not sortable.
    sort: Option<&'static str>,
}

impl Column {
    /// A column that does not sort.
    pub const fn plain(label: &'static str) -> Self {
        Self { label, sort: None }
    }

    /// A column sorted by `first` (`-` in front: descending first), then the other way.
    pub const fn sorted(label: &'static str, first: &'static str) -> Self {
        Self { label, sort: Some(first) }
    }
}

/// A list's resource as [`PagedTable`] reads it.
pub fn loaded<T: Clone + Send + Sync + 'static>(
    resource: LocalResource<Result<T, ErrorBody>>,
) -> Signal<Option<Result<T, ErrorBody>>> {
    Signal::derive(move || resource.get())
}

/// The count, the table (its rows by `rows`, or the line `empty`) and the pager of a list;
/// `children` (the CSV link) beside the count.
#[component]
pub fn PagedTable<T, F, V>(
    /// The page as loaded ([`loaded`]): `None` while the first one is on its way.
    page: Signal<Option<Result<Page<T>, ErrorBody>>>,
    controls: ListControls,
    /// The accessible name of the table's region.
    label: &'static str,
    columns: &'static [Column],
    /// Said in the table when nothing is found.
    empty: &'static str,
    /// The table's testid; its count, pager and sort buttons are named after it.
    testid: &'static str,
    /// The `<tr>` of every item.
    rows: F,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    F: Fn(Vec<T>) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let count = move || {
        page.with(|answer| match answer {
            None => "読み込み中…".to_owned(),
            Some(Ok(page)) => format!("検索結果 {}", page.total.label()),
            Some(Err(_)) => String::new(),
        })
    };
    let error = move || page.with(|answer| answer.as_ref().and_then(|answer| answer.as_ref().err().cloned()));
    let body =
        move || match page.with(|answer| answer.as_ref().map(|answer| answer.as_ref().ok().map(|p| p.items.clone()))) {
            None => Some(message_row(columns.len(), "読み込み中…")),
            Some(None) => None,
            Some(Some(items)) if items.is_empty() => Some(message_row(columns.len(), empty)),
            Some(Some(items)) => Some(rows(items).into_any()),
        };
    let cursors = Signal::derive(move || {
        page.with(|answer| match answer {
            Some(Ok(page)) => (page.prev.clone(), page.next.clone()),
            _ => (None, None),
        })
    });
    view! {
        <div class="list-summary">
            <p class="list-count" role="status" data-testid=format!("{testid}{}", testids::LIST_COUNT_SUFFIX)>
                {count}
            </p>
            {children.map(|children| children())}
        </div>
        {move || error().map(|error| view! { <SessionError error /> })}
        <div class="table-scroll" tabindex="0" role="region" aria-label=label>
            <table class="data-table" data-testid=testid>
                <thead>
                    <tr>
                        <SortHeaders columns controls testid />
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        </div>
        <Pager label controls cursors testid />
    }
}

/// One row across the table saying `text` (読み込み中…, nothing found).
fn message_row(columns: usize, text: &'static str) -> AnyView {
    view! {
        <tr>
            <td class="table-message" colspan=columns.to_string()>{text}</td>
        </tr>
    }
    .into_any()
}

/// The header cells; a sortable one holds the button that sorts by it (or the other way).
#[component]
fn SortHeaders(columns: &'static [Column], controls: ListControls, testid: &'static str) -> impl IntoView {
    columns
        .iter()
        .map(|column| {
            let Some(first) = column.sort else {
                return view! { <th scope="col">{column.label}</th> }.into_any();
            };
            let key = first.trim_start_matches('-');
            let state = move || {
                let sort = controls.sort.get();
                if sort == key {
                    "ascending"
                } else if sort.strip_prefix('-') == Some(key) {
                    "descending"
                } else {
                    "none"
                }
            };
            let press = move |_| {
                let next = match state() {
                    "ascending" => format!("-{key}"),
                    "descending" => key.to_owned(),
                    _ => first.to_owned(),
                };
                controls.change.run(Change::Sort(next));
            };
            view! {
                <th scope="col" aria-sort=state>
                    <button
                        type="button"
                        class="sort-button"
                        data-testid=format!("{testid}{}{key}", testids::LIST_SORT_SUFFIX)
                        on:click=press
                    >
                        {column.label}
                        // The mark follows `aria-sort` (tables.css).
                        <span class="sort-mark" aria-hidden="true"></span>
                    </button>
                </th>
            }
            .into_any()
        })
        .collect_view()
}

/// 前へ / 次へ (disabled without a cursor) and the page size; shown when there is more than one
/// page or the page size was changed.
#[component]
fn Pager(
    label: &'static str,
    controls: ListControls,
    /// The answer's `prev` and `next`.
    cursors: Signal<(Option<String>, Option<String>)>,
    testid: &'static str,
) -> impl IntoView {
    let prev = move || cursors.with(|(prev, _)| prev.clone());
    let next = move || cursors.with(|(_, next)| next.clone());
    let hidden = move || {
        cursors.with(|(prev, next)| prev.is_none() && next.is_none()) && controls.limit.get() == PAGE_SIZE_DEFAULT
    };
    let go = move |cursor: Option<String>| {
        if let Some(cursor) = cursor {
            controls.change.run(Change::Cursor(cursor));
        }
    };
    let limit_id = format!("{testid}{}", testids::LIST_LIMIT_SUFFIX);
    // A size set in the URL (`limit=20`) is offered too, so the select shows it.
    let other_size = Some(controls.limit.get_untracked())
        .filter(|limit| !PAGE_SIZES.contains(limit))
        .map(|limit| view! { <option value=limit.to_string()>{format!("{limit}件")}</option> });
    view! {
        <nav class="pager" aria-label=format!("{label}のページ") hidden=hidden>
            <button
                type="button"
                class="button button-secondary button-small"
                disabled=move || prev().is_none()
                data-testid=format!("{testid}{}", testids::LIST_PREV_SUFFIX)
                on:click=move |_| go(prev())
            >
                "前へ"
            </button>
            <button
                type="button"
                class="button button-secondary button-small"
                disabled=move || next().is_none()
                data-testid=format!("{testid}{}", testids::LIST_NEXT_SUFFIX)
                on:click=move |_| go(next())
            >
                "次へ"
            </button>
            <div class="pager-size">
                <label for=limit_id.clone()>"表示件数"</label>
                <select
                    id=limit_id.clone()
                    data-testid=limit_id
                    on:change=move |ev| {
                        if let Ok(limit) = event_target_value(&ev).parse() {
                            controls.change.run(Change::Limit(limit));
                        }
                    }
                    prop:value=move || controls.limit.get().to_string()
                >
                    {other_size}
                    <option value="50">"50件"</option>
                    <option value="100">"100件"</option>
                    <option value="200">"200件"</option>
                </select>
            </div>
        </nav>
    }
}
