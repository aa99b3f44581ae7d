//! 会社 tab: the companies, searched by part of the name (full-width and half-width forms alike,
//! the server normalises) or the master user's ID, sorted by name or registration, paged; each
//! name links to the company's page, and the search downloads as CSV.

use common::{
    api::{
        OrganizationSummary,
        list::{Export, OrganizationSearch, Search},
    },
    jst, testids,
};
use leptos::{ev::SubmitEvent, prelude::*};

use super::{ExportLink, OrganizationLink, Tab, UserLink, search_in_url};
use crate::{
    api,
    components::{
        form_field::SearchField,
        paged_list::{Column, ListControls, PagedTable, filter, loaded},
    },
};

const COLUMNS: &[Column] = &[
    Column::plain("ID"),
    Column::sorted("会社名", "name"),
    Column::plain("マスターユーザーID"),
    Column::plain("利用者数"),
    Column::plain("証明書上限"),
    Column::sorted("登録日時", "-created_at"),
];

#[component]
pub fn OrganizationsTab() -> impl IntoView {
    let state = search_in_url::<OrganizationSearch>(Tab::Organizations);
    let list = LocalResource::new(move || {
        let search = state.get();
        async move { api::admin_organizations(&search).await }
    });
    let controls = ListControls::new(state, "name");
    let q = state.field_following(|s| s.q.clone());
    let master_user_id = state.field_following(|s| s.master_user_id.clone());
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        state.submit(OrganizationSearch {
            q: filter(q.get_untracked()),
            master_user_id: filter(master_user_id.get_untracked()),
            ..Default::default()
        });
    };
    let export =
        Signal::derive(move || api::admin_export_href(Export::Organizations, &state.get().without_paging().pairs()));

    view! {
        <h2 id="org-search-title">"会社の検索"</h2>
        <form class="form filters" novalidate=true on:submit=on_submit aria-labelledby="org-search-title">
            <SearchField id="org-q" label="会社名（部分一致）" value=q testid=testids::ADMIN_ORG_SEARCH />
            <SearchField id="org-master-user-id" label="マスターユーザーID" value=master_user_id />
            <button type="submit" class="button button-primary" data-testid=testids::ADMIN_ORG_SEARCH_SUBMIT>
                "検索"
            </button>
        </form>
        <p class="hint">"会社名は全角・半角、英字の大文字・小文字を区別せずに探します。"</p>
        <PagedTable
            page=loaded(list)
            controls
            label="会社一覧"
            columns=COLUMNS
            empty="該当する会社はありません。"
            testid=testids::ADMIN_ORG_TABLE
            rows=|list| list.into_iter().map(organization_row).collect_view()
        >
            <ExportLink href=export testid=testids::ADMIN_ORG_EXPORT />
        </PagedTable>
    }
}

fn organization_row(org: OrganizationSummary) -> impl IntoView {
    view! {
        <tr>
            <td class="num">{org.id}</td>
            <td class="org">
                <OrganizationLink id=org.id name=org.name />
            </td>
            <td class="mono">
                {match org.master_user_id {
                    Some(user_id) => view! { <UserLink user_id /> }.into_any(),
                    None => "—".into_any(),
                }}
            </td>
            <td class="num">{format!("{} 名", org.users)}</td>
            <td class="num">{format!("{} 名", org.certificate_limit)}</td>
            <td class="nowrap">{jst::format_datetime(org.created_at)}</td>
        </tr>
    }
}
