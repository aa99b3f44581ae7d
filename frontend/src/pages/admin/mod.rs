//! `/admin` 労金スタッフ管理画面 (bank staff only): one tab per task — companies, the
//! registration of a company (and the 「ご利用開始のお知らせ」 letter), users (解除),
//! certificates (search, revoke), audit log, outgoing mail — and the detail pages of one company
//! (`/admin/organizations/{id}`) and one user (`/admin/users/{user_id}`), which every list links to.
//!
//! The tab and its list's search live in the URL (`/admin?tab=users&user_id=ab&sort=-created_at`):
//! a reload, Back and a bookmark keep them. The server decides access; these screens ask
//! `/api/me` first only to explain a refusal instead of showing failing lists.

mod approvals;
mod audit;
mod audit_detail;
mod certificates;
mod letter;
mod mail;
mod organization_page;
mod organizations;
mod register;
mod user_page;
mod users;

pub use organization_page::OrganizationPage;
pub use user_page::UserPage;

use common::{
    ErrorBody, ErrorCode,
    api::{Me, Role},
    testids,
};
use leptos::prelude::*;
use leptos_router::{
    NavigateOptions,
    components::A,
    hooks::{use_location, use_navigate, use_query_map},
};
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, KeyboardEvent};

use crate::{
    api,
    components::{
        data_table::Loaded,
        messages::{NoticeMessage, SessionError},
        modal::focus,
        page_title::PageTitle,
        paged_list::{Paged, SearchState},
    },
    routes::{self, ADMIN_TAB_KEY, Route},
    session::Session,
};

/// The tabs, in their order on the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Organizations,
    Register,
    Users,
    Certificates,
    Approvals,
    Audit,
    Mail,
}

impl Tab {
    const ALL: [Tab; 7] =
        [Tab::Organizations, Tab::Register, Tab::Users, Tab::Certificates, Tab::Approvals, Tab::Audit, Tab::Mail];

    /// Its value of `?tab=` (the first tab's when absent or unknown).
    fn slug(self) -> &'static str {
        match self {
            Tab::Organizations => "organizations",
            Tab::Register => "register",
            Tab::Users => "users",
            Tab::Certificates => "certificates",
            Tab::Approvals => "approvals",
            Tab::Audit => "audit",
            Tab::Mail => "mail",
        }
    }

    fn parse(slug: Option<&str>) -> Tab {
        Self::ALL.into_iter().find(|tab| Some(tab.slug()) == slug).unwrap_or(Tab::Organizations)
    }

    fn label(self) -> &'static str {
        match self {
            Tab::Organizations => "会社",
            Tab::Register => "会社の登録",
            Tab::Users => "利用者",
            Tab::Certificates => "電子証明書",
            Tab::Approvals => "承認待ち",
            Tab::Audit => "監査ログ",
            Tab::Mail => "送信メール",
        }
    }

    fn testid(self) -> &'static str {
        match self {
            Tab::Organizations => testids::ADMIN_TAB_ORGANIZATIONS,
            Tab::Register => testids::ADMIN_TAB_REGISTER,
            Tab::Users => testids::ADMIN_TAB_USERS,
            Tab::Certificates => testids::ADMIN_TAB_CERTIFICATES,
            Tab::Approvals => testids::ADMIN_TAB_APPROVALS,
            Tab::Audit => testids::ADMIN_TAB_AUDIT,
            Tab::Mail => testids::ADMIN_TAB_MAIL,
        }
    }

    /// The element id of the tab button (the panel is labelled by it).
    fn button_id(self) -> &'static str {
        match self {
            Tab::Organizations => "admin-tab-organizations",
            Tab::Register => "admin-tab-register",
            Tab::Users => "admin-tab-users",
            Tab::Certificates => "admin-tab-certificates",
            Tab::Approvals => "admin-tab-approvals",
            Tab::Audit => "admin-tab-audit",
            Tab::Mail => "admin-tab-mail",
        }
    }

    /// The tab `step` places away, wrapping around (arrow keys).
    fn neighbour(self, step: isize) -> Tab {
        let len = Self::ALL.len() as isize;
        let at = Self::ALL.iter().position(|t| *t == self).unwrap_or(0) as isize;
        Self::ALL[(at + step).rem_euclid(len) as usize]
    }
}

/// The address of `tab` with its list's `pairs`.
fn tab_href(tab: Tab, pairs: &[(&str, String)]) -> String {
    routes::admin_tab(tab.slug(), pairs)
}

/// The search of `tab`'s list, in the URL: read from the query, asked for by navigating to
/// `/admin?tab=…&…` (a new history entry: Back returns to the search before). While the address
/// is another tab's or page's (the moment before this tab goes), the search stays as it was, so
/// the list is not loaded again for nothing.
fn search_in_url<S: Paged>(tab: Tab) -> SearchState<S> {
    let query = use_query_map();
    let pathname = use_location().pathname;
    let navigate = use_navigate();
    let current = Memo::new(move |before: Option<&S>| {
        let here = pathname.with(|path| path.trim_end_matches('/') == Route::Admin.href())
            && query.with(|q| Tab::parse(q.get_str(ADMIN_TAB_KEY))) == tab;
        match before {
            Some(before) if !here => before.clone(),
            _ => query.with(|q| S::from_pairs(&|key| q.get(key))),
        }
    });
    SearchState::new(current.into(), move |next: S| navigate(&tab_href(tab, &next.pairs()), NavigateOptions::default()))
}

#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <StaffScreen title="労金スタッフ管理画面">
            <AdminTabs />
        </StaffScreen>
    }
}

/// A staff screen: its card with the title and the ways back, and `children` once `/api/me` says
/// the session is bank staff's.
#[component]
fn StaffScreen(
    title: &'static str,
    /// A detail page: it links back to the tabs too.
    #[prop(optional)]
    detail: bool,
    children: ChildrenFn,
) -> impl IntoView {
    let me = Session::expect().load();
    let show = move |me: Me| {
        if me.role == Role::Staff {
            children().into_any()
        } else {
            let error = ErrorBody::new(ErrorCode::Forbidden, "この画面は労金スタッフ専用です。");
            view! { <SessionError error /> }.into_any()
        }
    };
    view! {
        <div class="wide-page">
            <section class="card admin" aria-labelledby="page-title">
                <div class="page-heading no-print">
                    <PageTitle text=title />
                    <div class="heading-links">
                        {detail.then(|| view! { <A href=Route::Admin.href() {..} class="button button-secondary">"管理画面のトップへ"</A> })}
                        // Home is in the company bundle: a full page load (rel=external).
                        <a href=Route::Home.href() rel="external" class="button button-secondary">"ホームへ戻る"</a>
                    </div>
                </div>
                <Loaded resource=me show />
            </section>
        </div>
    }
}

#[component]
fn AdminTabs() -> impl IntoView {
    let query = use_query_map();
    let selected = Memo::new(move |_| query.with(|q| Tab::parse(q.get_str(ADMIN_TAB_KEY))));
    // The requests for approval: their count is in the tab's label, read again on every change
    // of tab (a colleague may have proposed one meanwhile).
    let approvals = LocalResource::new(move || {
        selected.track();
        api::admin_approvals()
    });
    let waiting = move || match approvals.get() {
        Some(Ok(list)) if list.pending > 0 => format!("（{}）", list.pending),
        _ => String::new(),
    };
    let navigate = use_navigate();
    let select = move |tab: Tab| {
        if tab != selected.get_untracked() {
            navigate(&tab_href(tab, &[]), NavigateOptions::default());
        }
    };
    let select_and_focus = {
        let select = select.clone();
        move |tab: Tab| {
            select(tab);
            if let Some(button) =
                document().get_element_by_id(tab.button_id()).and_then(|e| e.dyn_into::<HtmlElement>().ok())
            {
                focus(&button);
            }
        }
    };
    let on_keydown = move |ev: KeyboardEvent| {
        let current = selected.get_untracked();
        let target = match ev.key().as_str() {
            "ArrowRight" => current.neighbour(1),
            "ArrowLeft" => current.neighbour(-1),
            "Home" => Tab::ALL[0],
            "End" => Tab::ALL[Tab::ALL.len() - 1],
            _ => return,
        };
        ev.prevent_default();
        select_and_focus(target);
    };
    let buttons = Tab::ALL
        .map(|tab| {
            let is_selected = move || selected.get() == tab;
            let select = select.clone();
            view! {
                <button
                    type="button"
                    role="tab"
                    id=tab.button_id()
                    class="tab"
                    aria-selected=move || if is_selected() { "true" } else { "false" }
                    aria-controls="admin-panel"
                    tabindex=move || if is_selected() { "0" } else { "-1" }
                    data-testid=tab.testid()
                    on:click=move |_| select(tab)
                >
                    {tab.label()}
                    {(tab == Tab::Approvals).then_some(waiting)}
                </button>
            }
        })
        .into_iter()
        .collect_view();
    view! {
        <div class="tabs no-print" role="tablist" aria-label="管理メニュー" on:keydown=on_keydown>
            {buttons}
        </div>
        <div id="admin-panel" class="tab-panel" role="tabpanel" aria-labelledby=move || selected.get().button_id()>
            {move || match selected.get() {
                Tab::Organizations => view! { <organizations::OrganizationsTab /> }.into_any(),
                Tab::Register => view! { <register::RegisterTab /> }.into_any(),
                Tab::Users => view! { <users::UsersTab /> }.into_any(),
                Tab::Certificates => view! { <certificates::CertificatesTab /> }.into_any(),
                Tab::Approvals => view! { <approvals::ApprovalsTab list=approvals /> }.into_any(),
                Tab::Audit => view! { <audit::AuditTab /> }.into_any(),
                Tab::Mail => view! { <mail::MailTab /> }.into_any(),
            }}
        </div>
    }
}

/// The notices of a screen's operations on users (`Unlocker::notices`, shared with the master
/// users' screen): a staff operation that only waits for a second staff member's approval (202)
/// is not an error there, and its words become the notice. Kept here so that the company bundle
/// carries none of it.
fn proposals_as_notices(notices: RwSignal<Option<Result<String, ErrorBody>>>) {
    Effect::new(move |_| {
        if let Some(Err(e)) = notices.get()
            && api::is_proposal(&e)
        {
            notices.set(Some(Ok(e.message)));
        }
    });
}

/// The error of a staff operation — or, when it only waits for a second staff member's approval
/// (202), its notice.
#[component]
fn StaffError(error: ErrorBody) -> impl IntoView {
    if api::is_proposal(&error) {
        view! {
            <NoticeMessage>
                <p data-testid=testids::APPROVAL_PROPOSED>{error.message}</p>
            </NoticeMessage>
        }
        .into_any()
    } else {
        view! { <SessionError error /> }.into_any()
    }
}

/// 「CSVダウンロード」 of a search: a plain link the browser downloads itself (with the session
/// cookie; the router leaves `download` links alone).
#[component]
fn ExportLink(#[prop(into)] href: Signal<String>, testid: &'static str) -> impl IntoView {
    view! {
        <a class="button button-secondary button-small" href=move || href.get() download="" data-testid=testid>
            "CSVダウンロード"
        </a>
    }
}

/// A company's name, linking to its page.
#[component]
fn OrganizationLink(id: i64, name: String) -> impl IntoView {
    view! {
        <A href=routes::admin_organization(id) {..} data-testid=format!("{}{id}", testids::ORG_LINK_PREFIX)>
            {name}
        </A>
    }
}

/// A user ID, linking to the user's page.
#[component]
fn UserLink(user_id: String) -> impl IntoView {
    let testid = format!("{}{user_id}", testids::USER_LINK_PREFIX);
    view! {
        <A
            href=routes::admin_user(&user_id)
            {..}
            class="mono"
            data-testid=testid
        >
            {user_id}
        </A>
    }
}
