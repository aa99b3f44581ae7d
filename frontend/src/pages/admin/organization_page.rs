//! 会社の詳細 (`/admin/organizations/{id}`): the company — name, master user, certificate holders
//! against its limit, users, registration — then its users and its certificates: the user and
//! certificate lists with the company fixed, sorted and paged here (解除 and 失効 as on the tabs);
//! 会社情報の変更 (name, certificate limit), 利用停止 / 利用再開 of the company, and a new account
//! as its master user (マスターユーザーの変更; a general user is made master on their own page).

use common::{
    ErrorBody, ErrorCode,
    api::{
        MasterChanged, NewMaster, OrganizationDetail, OrganizationSummary, UpdateOrganization,
        list::{CertificateSearch, Export, Search, UserSearch},
    },
    jst, testids,
};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::{
    ExportLink, StaffScreen, UserLink,
    certificates::{self, Owner, RevokeDialogs, RevokeOutcome, Revoker, certificate_row},
    letter::master_letter,
    users::{self, UserRow},
};
use crate::{
    api, clock,
    components::{
        data_table::Loaded,
        form_field::{CheckField, FormField},
        forms::{SubmitButton, submit_unless_pending},
        messages::{ErrorMessage, NoticeMessage},
        paged_list::{ListControls, PagedTable, SearchState, loaded},
        user_list::{UnlockOutcome, Unlocker},
    },
    mounted::screen_action,
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
    super::proposals_as_notices(unlocker.notices());
    let revoker = Revoker::new();
    let users_export =
        Signal::derive(move || api::admin_export_href(Export::Users, &users.get().without_paging().pairs()));
    let certificates_export = Signal::derive(move || {
        api::admin_export_href(Export::Certificates, &certificates.get().without_paging().pairs())
    });

    view! {
        <Loaded
            resource=detail
            show=move |d| {
                view! {
                    <Facts detail=d.clone() />
                    <Changes detail=d on_changed=move || detail.refetch() />
                }
            }
        />
        // Outside the reloaded part: its letter stays while the company reloads.
        <NewMasterForm id on_changed=move || {
            detail.refetch();
            user_list.refetch();
        } />
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
            <dt>"利用状態"</dt>
            <dd>
                {match org.suspended_at {
                    Some(at) => view! { <span class="state state-bad">{format!("利用停止中（{}から）", jst::format_datetime(at))}</span> }.into_any(),
                    None => view! { <span class="state state-ok">"利用中"</span> }.into_any(),
                }}
            </dd>
        </dl>
    }
}

/// 会社情報の変更 (name, certificate limit) and 利用停止 / 利用再開, with the outcome of the last.
#[component]
fn Changes(detail: OrganizationDetail, on_changed: impl Fn() + Copy + 'static) -> impl IntoView {
    let org = detail.organization;
    let id = org.id;
    let name = RwSignal::new(org.name.clone());
    let limit = RwSignal::new(org.certificate_limit.to_string());
    let force = RwSignal::new(false);
    let outcome: RwSignal<Option<Result<&'static str, ErrorBody>>> = RwSignal::new(None);
    let done = move |what: &'static str| {
        move |answer: Result<OrganizationSummary, ErrorBody>| {
            outcome.set(Some(answer.map(|_| what)));
            on_changed();
        }
    };
    let update = screen_action(
        move |change: UpdateOrganization| async move { api::admin_update_organization(id, &change).await },
        done("会社情報を変更しました。"),
    );
    let suspend = screen_action(
        move |suspend: bool| async move { api::admin_suspend_organization(id, suspend).await },
        move |answer: Result<OrganizationSummary, ErrorBody>| {
            let what = match &answer {
                Ok(o) if o.suspended_at.is_some() => {
                    "利用を停止しました。この会社の利用者はログインと電子証明書の発行ができません。"
                }
                _ => "利用を再開しました。",
            };
            outcome.set(Some(answer.map(|_| what)));
            on_changed();
        },
    );
    let (updating, suspending) = (update.pending(), suspend.pending());
    let pending = Memo::new(move |_| updating.get() || suspending.get());
    let on_submit = submit_unless_pending(pending, move || {
        let Ok(certificate_limit) = limit.get_untracked().trim().parse::<u32>() else {
            outcome.set(Some(Err(ErrorBody::new(
                ErrorCode::InvalidInput,
                "電子証明書の上限は0以上の整数で入力してください。",
            ))));
            return;
        };
        outcome.set(None);
        update.dispatch_local(UpdateOrganization {
            name: Some(name.get_untracked()),
            certificate_limit: Some(certificate_limit),
            force: force.get_untracked(),
        });
    });
    let suspended = org.suspended_at.is_some();
    let toggle = move |_| {
        let question = if suspended {
            "この会社の利用を再開しますか？"
        } else {
            "この会社の利用を停止しますか？利用者はログインと電子証明書の発行ができなくなり、ログイン中の画面は終了します（電子証明書は失効しません）。"
        };
        if window().confirm_with_message(question).unwrap_or(false) {
            outcome.set(None);
            suspend.dispatch_local(!suspended);
        }
    };
    view! {
        <h2 id="org-edit-title">"会社情報の変更"</h2>
        {move || outcome.get().map(|o| match o {
            Ok(text) => view! { <NoticeMessage><p>{text}</p></NoticeMessage> }.into_any(),
            Err(e) => view! { <super::StaffError error=e /> }.into_any(),
        })}
        <form class="form form-inline" novalidate=true on:submit=on_submit aria-labelledby="org-edit-title">
            <FormField id="org-edit-name" label="会社名" value=name testid=testids::ORG_EDIT_NAME disabled=pending hint="これから発行する電子証明書に記載されます。" />
            <FormField id="org-edit-limit" label="電子証明書の上限（名）" value=limit testid=testids::ORG_EDIT_LIMIT disabled=pending />
            <CheckField label="保有者数より少なくする（保有者はそのまま、新規発行は保有者が上限を下回るまで止まります）" value=force testid=testids::ORG_EDIT_FORCE />
            <div class="form-actions">
                <SubmitButton pending testid=testids::ORG_EDIT_SUBMIT label="変更" pending_label="変更中…" />
            </div>
        </form>
        <div class="form-actions">
            {if suspended {
                view! { <button type="button" class="button button-primary" data-testid=testids::ORG_RESUME disabled=move || pending.get() on:click=toggle>"利用を再開"</button> }.into_any()
            } else {
                view! { <button type="button" class="button button-danger" data-testid=testids::ORG_SUSPEND disabled=move || pending.get() on:click=toggle>"会社の利用を停止"</button> }.into_any()
            }}
        </div>
    }
}

/// マスターユーザーの変更 with a new account: its ID and address, and what becomes of the former
/// master user; the letter of the new one (shown once).
#[component]
fn NewMasterForm(id: i64, on_changed: impl Fn() + Copy + 'static) -> impl IntoView {
    let user_id = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let retire_former = RwSignal::new(false);
    let letter: RwSignal<Option<MasterChanged>> = RwSignal::new(None);
    let error: RwSignal<Option<ErrorBody>> = RwSignal::new(None);
    // The initial password must not outlive the screen.
    on_cleanup(move || letter.set(None));
    let send = screen_action(
        move |request: NewMaster| async move { api::admin_new_master(id, &request).await },
        move |answer: Result<MasterChanged, ErrorBody>| {
            match answer {
                Ok(changed) => {
                    user_id.set(String::new());
                    email.set(String::new());
                    letter.set(Some(changed));
                }
                Err(e) => error.set(Some(e)),
            }
            on_changed();
        },
    );
    let pending = send.pending();
    let on_submit = submit_unless_pending(pending, move || {
        let retire = retire_former.get_untracked();
        let former = if retire {
            "前のマスターユーザーは利用停止になります。"
        } else {
            "前のマスターユーザーは一般ユーザーになります。"
        };
        if window().confirm_with_message(&format!("新しいマスターユーザーを登録しますか？\n{former}")).unwrap_or(false)
        {
            error.set(None);
            letter.set(None);
            send.dispatch_local(NewMaster {
                master_user_id: user_id.get_untracked().trim().to_owned(),
                email: email.get_untracked().trim().to_owned(),
                retire_former: retire,
            });
        }
    });
    view! {
        <h2 id="new-master-title">"マスターユーザーの変更"</h2>
        <p class="hint">"新しいユーザーをマスターユーザーとして登録します。この会社の一般ユーザーをマスターユーザーにするには、その利用者の詳細画面から行ってください。"</p>
        {move || error.get().map(|e| view! { <super::StaffError error=e /> })}
        {move || letter.get().map(|m| master_letter(m, move || letter.set(None)))}
        <form class="form form-inline" novalidate=true on:submit=on_submit aria-labelledby="new-master-title">
            <FormField id="new-master-id" label="新しいマスターユーザーのID" value=user_id testid=testids::NEW_MASTER_ID disabled=pending hint="半角英数字6〜12文字（英字と数字を含む）" />
            <FormField id="new-master-email" label="メールアドレス" value=email input_type="email" testid=testids::NEW_MASTER_EMAIL disabled=pending />
            <CheckField label="前のマスターユーザーを利用停止にする（しない場合は一般ユーザーになります）" value=retire_former testid=testids::NEW_MASTER_RETIRE />
            <div class="form-actions">
                <SubmitButton pending testid=testids::NEW_MASTER_SUBMIT label="登録" pending_label="登録中…" />
            </div>
        </form>
    }
}
