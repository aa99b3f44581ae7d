//! `/admin` 労金スタッフ管理画面 (bank staff only): one tab per task — companies (and the
//! 「ご利用開始のお知らせ」 letter), users (解除), certificates (search, revoke), audit log,
//! outgoing mail. The server decides access; this screen asks `/api/me` first only to explain a
//! refusal instead of showing five failing tabs.

mod audit;
mod certificates;
mod mail;
mod organizations;
mod users;

use common::{
    ErrorBody, ErrorCode,
    api::{Me, Role},
    testids,
};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, KeyboardEvent};

use crate::{
    components::{data_table::Loaded, messages::SessionError, modal::focus, page_title::PageTitle},
    routes::Route,
    session::Session,
};

/// The tabs, in their order on the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Organizations,
    Users,
    Certificates,
    Audit,
    Mail,
}

impl Tab {
    const ALL: [Tab; 5] = [Tab::Organizations, Tab::Users, Tab::Certificates, Tab::Audit, Tab::Mail];

    fn label(self) -> &'static str {
        match self {
            Tab::Organizations => "会社",
            Tab::Users => "利用者",
            Tab::Certificates => "電子証明書",
            Tab::Audit => "監査ログ",
            Tab::Mail => "送信メール",
        }
    }

    fn testid(self) -> &'static str {
        match self {
            Tab::Organizations => testids::ADMIN_TAB_ORGANIZATIONS,
            Tab::Users => testids::ADMIN_TAB_USERS,
            Tab::Certificates => testids::ADMIN_TAB_CERTIFICATES,
            Tab::Audit => testids::ADMIN_TAB_AUDIT,
            Tab::Mail => testids::ADMIN_TAB_MAIL,
        }
    }

    /// The element id of the tab button (the panel is labelled by it).
    fn button_id(self) -> &'static str {
        match self {
            Tab::Organizations => "admin-tab-organizations",
            Tab::Users => "admin-tab-users",
            Tab::Certificates => "admin-tab-certificates",
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

#[component]
pub fn AdminPage() -> impl IntoView {
    let me = Session::expect().load();
    let show = |me: Me| {
        if me.role == Role::Staff {
            view! { <AdminTabs /> }.into_any()
        } else {
            let error = ErrorBody::new(ErrorCode::Forbidden, "この画面は労金スタッフ専用です。");
            view! { <SessionError error /> }.into_any()
        }
    };
    view! {
        <div class="wide-page">
            <section class="card admin" aria-labelledby="page-title">
                <div class="page-heading no-print">
                    <PageTitle text="労金スタッフ管理画面" />
                    // Home is in the company bundle: a full page load (rel=external).
                    <a href=Route::Home.href() rel="external" class="button button-secondary">"ホームへ戻る"</a>
                </div>
                <Loaded resource=me show />
            </section>
        </div>
    }
}

#[component]
fn AdminTabs() -> impl IntoView {
    let selected = RwSignal::new(Tab::Organizations);
    let select_and_focus = move |tab: Tab| {
        selected.set(tab);
        if let Some(button) =
            document().get_element_by_id(tab.button_id()).and_then(|e| e.dyn_into::<HtmlElement>().ok())
        {
            focus(&button);
        }
    };
    let on_keydown = move |ev: KeyboardEvent| {
        let current = selected.get_untracked();
        let target = match ev.key().as_str() {
            "ArrowRight" => current.neighbour(1),
            "ArrowLeft" => current.neighbour(-1),
            "Home" => Tab::Organizations,
            "End" => Tab::Mail,
            _ => return,
        };
        ev.prevent_default();
        select_and_focus(target);
    };
    let buttons = Tab::ALL
        .map(|tab| {
            let is_selected = move || selected.get() == tab;
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
                    on:click=move |_| selected.set(tab)
                >
                    {tab.label()}
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
                Tab::Users => view! { <users::UsersTab /> }.into_any(),
                Tab::Certificates => view! { <certificates::CertificatesTab /> }.into_any(),
                Tab::Audit => view! { <audit::AuditTab /> }.into_any(),
                Tab::Mail => view! { <mail::MailTab /> }.into_any(),
            }}
        </div>
    }
}
