//! 会社の詳細 (`/admin/organizations/{id}`): the company — name, master user, certificate holders
//! against its limit, users, registration — then its users and its certificates: the user and
//! certificate lists with the company fixed, sorted and paged here (解除 and 失効 as on the tabs).

use common::{
    api::{
        OrganizationDetail,
        list::{CertificateSearch, Export, Search, UserSearch},
    },
    jst, testids,
};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::{
    ExportLink, StaffScreen, UserLink,
    certificates::{self, Owner, RevokeDialogs, RevokeOutcome, Revoker, certificate_row},
    users::{self, UserRow},
};
use crate::{
    api, clock,
    components::{
        data_table::Loaded,
        messages::ErrorMessage,
        paged_list::{ListControls, PagedTable, SearchState, loaded},
        user_list::{UnlockOutcome, Unlocker},
    },
};

#[component]
pub fn OrganizationPage() -> impl IntoView {
    view! {
        <StaffScreen title="会社の詳細" detail=true>
            <OrganizationOfPath />
        </StaffScreen>
    }
}

/// The company whose id is in the path.
#[component]
fn OrganizationOfPath() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get_str("id").and_then(|id| id.parse::<i64>().ok())));
    move || match id.get() {
        Some(id) => view! { <Organization id /> }.into_any(),
        None => view! { <ErrorMessage lines=vec!["会社IDが正しくありません。".to_owned()] /> }.into_any(),
    }
}

#[component]
fn Organization(id: i64) -> impl IntoView {
    let detail = LocalResource::new(move || api::admin_organization(id));
    let users = SearchState::local(UserSearch { organization_id: Some(id), ..Default::default() });
    let user_list = LocalResource::new(move || {
        let search = users.get();
        async move { api::admin_users(&search).await }
    });
    let certificates = SearchState::local(CertificateSearch { organization_id: Some(id), ..Default::default() });
    let certificate_list = LocalResource::new(move || {
        let search = certificates.get();
        async move { api::admin_certificates(&search).await }
    });
    let unlocker =
        Unlocker::new(|user_id| async move { api::admin_unlock_user(&user_id).await }, move || user_list.refetch());
    let revoker = Revoker::new();
    let users_export =
        Signal::derive(move || api::admin_export_href(Export::Users, &users.get().without_paging().pairs()));
    let certificates_export = Signal::derive(move || {
        api::admin_export_href(Export::Certificates, &certificates.get().without_paging().pairs())
    });

    view! {
        <Loaded resource=detail show=|detail| view! { <Facts detail /> } />
        <h2 id="org-users-title">"利用者"</h2>
        <UnlockOutcome unlocker />
        <PagedTable
            page=loaded(user_list)
            controls=ListControls::new(users, users::DEFAULT_SORT)
            label="この会社の利用者"
            columns=users::COLUMNS_OF_ORGANIZATION
            empty="利用者はいません。"
            testid=testids::ORG_DETAIL_USERS
            rows=move |list| {
                let now = clock::now();
                list.into_iter().map(|user| view! { <UserRow user now unlocker of_organization=true /> }).collect_view()
            }
        >
            <ExportLink href=users_export testid=testids::ORG_DETAIL_USERS_EXPORT />
        </PagedTable>
        <h2 id="org-certs-title">"電子証明書"</h2>
        <RevokeOutcome revoker />
        <PagedTable
            page=loaded(certificate_list)
            controls=ListControls::new(certificates, certificates::DEFAULT_SORT)
            label="この会社の電子証明書"
            columns=certificates::COLUMNS_OF_ORGANIZATION
            empty="電子証明書はありません。"
            testid=testids::ORG_DETAIL_CERTS
            rows=move |list| list.into_iter().map(|c| certificate_row(c, revoker, Owner::User)).collect_view()
        >
            <ExportLink href=certificates_export testid=testids::ORG_DETAIL_CERTS_EXPORT />
        </PagedTable>
        <RevokeDialogs
            revoker
            on_revoked=move || {
                certificate_list.refetch();
                user_list.refetch();
                detail.refetch();
            }
        />
    }
}

/// The company's facts.
#[component]
fn Facts(detail: OrganizationDetail) -> impl IntoView {
    let org = detail.organization;
    let full = detail.with_certificates >= org.certificate_limit;
    view! {
        <h2 class="detail-name">{org.name.clone()}</h2>
        <dl class="facts" data-testid=testids::ORG_DETAIL>
            <dt>"会社名"</dt>
            <dd>{org.name}</dd>
            <dt>"会社ID"</dt>
            <dd>{org.id}</dd>
            <dt>"マスターユーザー"</dt>
            <dd>
                {match org.master_user_id {
                    Some(user_id) => view! { <UserLink user_id /> }.into_any(),
                    None => "—".into_any(),
                }}
            </dd>
            <dt>"電子証明書"</dt>
            <dd>
                {format!("証明書保有 {} / 上限 {} 名", detail.with_certificates, org.certificate_limit)}
                {full.then(|| view! { <span class="state state-warn">"上限に達しています"</span> })}
            </dd>
            <dt>"利用者数"</dt>
            <dd>{format!("{} 名", org.users)}</dd>
            <dt>"登録日時"</dt>
            <dd>{jst::format_datetime(org.created_at)}</dd>
        </dl>
    }
}
