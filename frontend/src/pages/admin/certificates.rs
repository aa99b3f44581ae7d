//! 電子証明書 tab: certificates searched by company name, user ID, serial, status and key type,
//! sorted and paged, and 失効 of an active one with a reason (R8: e.g. a PC change, after which
//! the user re-issues). The same rows and 失効 serve a company's and a user's page.

use common::{
    ErrorBody,
    api::{
        CertificateStatus, CertificateSummary, RevocationReason, Revoke,
        list::{CertificateSearch, Export, Search},
    },
    jst, testids,
};
use leptos::{ev::SubmitEvent, html, prelude::*};

use super::{ExportLink, OrganizationLink, Tab, UserLink, search_in_url};
use crate::{
    api,
    components::{
        form_field::{SearchField, SelectField},
        forms::ActionButton,
        messages::NoticeMessage,
        modal::{Modal, focus},
        paged_list::{Column, ListControls, PagedTable, filter, loaded},
    },
    mounted::screen_action,
};

/// The columns of a staff list of certificates (the tab and a company's page).
pub(super) const COLUMNS: &[Column] = &[
    Column::plain("シリアル番号"),
    Column::sorted("ユーザーID", "user_id"),
    Column::plain("会社"),
    Column::plain("鍵の種類"),
    Column::sorted("発行日時", "-created_at"),
    Column::sorted("有効期限", "not_after"),
    Column::plain("状態"),
    Column::plain("操作"),
];

/// [`COLUMNS`] without 会社: the certificates on a company's page.
pub(super) const COLUMNS_OF_ORGANIZATION: &[Column] = &[
    Column::plain("シリアル番号"),
    Column::sorted("ユーザーID", "user_id"),
    Column::plain("鍵の種類"),
    Column::sorted("発行日時", "-created_at"),
    Column::sorted("有効期限", "not_after"),
    Column::plain("状態"),
    Column::plain("操作"),
];

/// The columns of one user's certificates (their page: neither user nor company).
pub(super) const COLUMNS_OF_USER: &[&str] = &["シリアル番号", "鍵の種類", "発行日時", "有効期限", "状態", "操作"];

/// Which of a certificate's owner cells a row has.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Owner {
    /// ユーザーID and 会社 ([`COLUMNS`]).
    UserAndOrganization,
    /// ユーザーID ([`COLUMNS_OF_ORGANIZATION`]).
    User,
    /// Neither ([`COLUMNS_OF_USER`]).
    Neither,
}

/// The sort of a staff list of certificates when the search names none (newest first).
pub(super) const DEFAULT_SORT: &str = "-created_at";

#[component]
pub fn CertificatesTab() -> impl IntoView {
    let state = search_in_url::<CertificateSearch>(Tab::Certificates);
    let list = LocalResource::new(move || {
        let search = state.get();
        async move { api::admin_certificates(&search).await }
    });
    let controls = ListControls::new(state, DEFAULT_SORT);
    let revoker = Revoker::new();
    let organization = state.field_following(|s| s.organization.clone());
    let user_id = state.field_following(|s| s.user_id.clone());
    let serial = state.field_following(|s| s.serial.clone());
    let status = state.field_following(|s| s.status.clone());
    let key_type = state.field_following(|s| s.key_type.clone());
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        revoker.revoked.set(None);
        state.submit(CertificateSearch {
            organization: filter(organization.get_untracked()),
            user_id: filter(user_id.get_untracked()),
            serial: filter(serial.get_untracked()),
            status: filter(status.get_untracked()),
            key_type: filter(key_type.get_untracked()),
            ..Default::default()
        });
    };
    let export =
        Signal::derive(move || api::admin_export_href(Export::Certificates, &state.get().without_paging().pairs()));
    let status_options = [CertificateStatus::Active, CertificateStatus::Expired, CertificateStatus::Revoked]
        .map(|s| (status_value(s), s.label()))
        .to_vec();

    view! {
        <h2 id="cert-search-title">"電子証明書の検索"</h2>
        <form class="form filters" novalidate=true on:submit=on_submit aria-labelledby="cert-search-title">
            <SearchField id="cert-organization" label="会社名（部分一致）" value=organization />
            <SearchField id="cert-user-id" label="ユーザーID" value=user_id testid=testids::ADMIN_CERT_SEARCH />
            <SearchField id="cert-serial" label="シリアル番号" value=serial />
            <SelectField id="cert-status" label="状態" value=status options=status_options />
            <SelectField id="cert-key-type" label="鍵の種類" value=key_type options=KEY_TYPES.to_vec() />
            <button type="submit" class="button button-primary" data-testid=testids::ADMIN_CERT_SEARCH_SUBMIT>
                "検索"
            </button>
        </form>
        <RevokeOutcome revoker />
        <PagedTable
            page=loaded(list)
            controls
            label="電子証明書一覧"
            columns=COLUMNS
            empty="該当する電子証明書はありません。"
            testid=testids::ADMIN_CERT_TABLE
            rows=move |list| {
                list.into_iter().map(|c| certificate_row(c, revoker, Owner::UserAndOrganization)).collect_view()
            }
        >
            <ExportLink href=export testid=testids::ADMIN_CERT_EXPORT />
        </PagedTable>
        <RevokeDialogs revoker on_revoked=move || list.refetch() />
    }
}

/// The key types (`key_type` on the wire, as shown).
const KEY_TYPES: [(&str, &str); 2] = [("rsa2048", "RSA 2048ビット"), ("p256", "ECDSA P-256")];

/// How a key type is shown (an unknown one as sent).
pub(super) fn key_type_label(key_type: &str) -> &str {
    KEY_TYPES.iter().find(|(value, _)| *value == key_type).map_or(key_type, |(_, label)| label)
}

/// The `status` filter value of a certificate state.
fn status_value(status: CertificateStatus) -> &'static str {
    match status {
        CertificateStatus::Active => "active",
        CertificateStatus::Expired => "expired",
        CertificateStatus::Revoked => "revoked",
    }
}

/// The 失効 of a list of certificates: whose dialog is open, and the one revoked last. `Copy`.
#[derive(Clone, Copy)]
pub(super) struct Revoker {
    revoking: RwSignal<Option<CertificateSummary>>,
    revoked: RwSignal<Option<CertificateSummary>>,
}

impl Revoker {
    pub(super) fn new() -> Self {
        Self { revoking: RwSignal::new(None), revoked: RwSignal::new(None) }
    }
}

/// The notice of the last 失効.
#[component]
pub(super) fn RevokeOutcome(revoker: Revoker) -> impl IntoView {
    move || {
        revoker.revoked.get().map(|c| {
            view! {
                <NoticeMessage>
                    <p>{format!("シリアル番号 {} （ユーザーID {}）の電子証明書を失効しました。", c.serial, c.user_id)}</p>
                </NoticeMessage>
            }
        })
    }
}

/// The 失効 dialog while one is open; `on_revoked` after a certificate was revoked (reload).
#[component]
pub(super) fn RevokeDialogs(revoker: Revoker, on_revoked: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    move || {
        revoker.revoking.get().map(|certificate| {
            view! {
                <RevokeDialog
                    certificate
                    on_close=move || revoker.revoking.set(None)
                    on_revoked=move |c| {
                        revoker.revoking.set(None);
                        revoker.revoked.set(Some(c));
                        on_revoked();
                    }
                />
            }
        })
    }
}

/// One certificate; 失効 opens the dialog for an active one.
pub(super) fn certificate_row(c: CertificateSummary, revoker: Revoker, owner: Owner) -> impl IntoView {
    let status_detail = match c.status {
        CertificateStatus::Active => format!("残り {} 日", c.days_left.max(0)),
        CertificateStatus::Expired => String::new(),
        CertificateStatus::Revoked => {
            let at = c.revoked_at.map(jst::format_datetime).unwrap_or_default();
            let reason = c.revocation_reason.map(RevocationReason::label).unwrap_or_default();
            format!("{at} {reason}").trim().to_owned()
        }
    };
    let status_class = match c.status {
        CertificateStatus::Active => "state state-ok",
        _ => "state state-bad",
    };
    let action = (c.status == CertificateStatus::Active).then(|| {
        let testid = format!("{}{}", testids::REVOKE_PREFIX, c.serial);
        let label = format!("シリアル番号 {} の電子証明書を失効", c.serial);
        let target = c.clone();
        view! {
            <button
                type="button"
                class="button button-danger button-small"
                aria-haspopup="dialog"
                aria-label=label
                data-testid=testid
                on:click=move |_| revoker.revoking.set(Some(target.clone()))
            >
                "失効"
            </button>
        }
    });
    let key_type = c.key_type.as_deref().map_or("—", key_type_label).to_owned();
    let user = (owner != Owner::Neither).then(|| {
        view! {
            <td>
                <UserLink user_id=c.user_id.clone() />
            </td>
        }
    });
    let organization = (owner == Owner::UserAndOrganization).then(|| {
        let name = c.organization.clone().unwrap_or_else(|| "—".to_owned());
        let cell = match c.organization_id {
            Some(id) => view! { <OrganizationLink id name /> }.into_any(),
            None => name.into_any(),
        };
        view! { <td class="org">{cell}</td> }
    });
    view! {
        <tr>
            <td class="mono serial">{c.serial.clone()}</td>
            {user}
            {organization}
            <td class="nowrap">{key_type}</td>
            <td class="nowrap">{jst::format_datetime(c.issued_at)}</td>
            <td class="nowrap">{jst::format_datetime(c.not_after)}</td>
            <td>
                <span class=status_class>{c.status.label()}</span>
                {(!status_detail.is_empty()).then(|| view! { <span class="cell-detail">{status_detail}</span> })}
            </td>
            <td>{action}</td>
        </tr>
    }
}

/// The confirmation: which certificate, why; 失効する sends it.
#[component]
fn RevokeDialog(
    certificate: CertificateSummary,
    on_close: impl Fn() + Copy + Send + 'static,
    on_revoked: impl Fn(CertificateSummary) + Copy + 'static,
) -> impl IntoView {
    let reason = RwSignal::new(RevocationReason::ALL[0]);
    let error: RwSignal<Option<ErrorBody>> = RwSignal::new(None);
    let select = NodeRef::<html::Select>::new();
    Effect::new(move |_| {
        if let Some(element) = select.get() {
            focus(&element);
        }
    });

    let serial = certificate.serial.clone();
    let revoke = screen_action(
        move |reason| {
            let serial = serial.clone();
            async move { api::admin_revoke(&serial, &Revoke { reason }).await }
        },
        move |answer| match answer {
            Ok(c) => on_revoked(c),
            Err(e) => error.set(Some(e)),
        },
    );
    let pending = revoke.pending();

    let options = RevocationReason::ALL
        .map(|r| view! { <option value=r.as_str()>{r.label()}</option> })
        .into_iter()
        .collect_view();

    view! {
        <Modal class="modal confirm-dialog" labelledby="revoke-title" busy=pending on_close>
            <h2 id="revoke-title">"電子証明書の失効"</h2>
            <p>"次の電子証明書を失効します。失効した電子証明書ではログインできなくなり、元に戻せません。"</p>
            <dl class="facts">
                <dt>"シリアル番号"</dt>
                <dd class="mono serial">{certificate.serial.clone()}</dd>
                <dt>"ユーザーID"</dt>
                <dd class="mono">{certificate.user_id.clone()}</dd>
                <dt>"会社"</dt>
                <dd>{certificate.organization.clone().unwrap_or_else(|| "—".to_owned())}</dd>
                <dt>"有効期限"</dt>
                <dd>{jst::format_datetime(certificate.not_after)}</dd>
            </dl>
            <div class="field">
                <label for="revoke-reason">"失効理由"</label>
                <select
                    id="revoke-reason"
                    node_ref=select
                    data-testid=testids::REVOKE_REASON
                    disabled=move || pending.get()
                    prop:value=move || reason.get().as_str()
                    on:change=move |ev| {
                        if let Some(r) = RevocationReason::parse(&event_target_value(&ev)) {
                            reason.set(r);
                        }
                    }
                >
                    {options}
                </select>
                <p class="hint">"パソコン変更による再発行の場合は「パソコン変更・再発行」を選びます。"</p>
            </div>
            {move || error.get().map(|e| view! { <super::StaffError error=e /> })}
            <div class="form-actions">
                <button type="button" class="button button-secondary" disabled=move || pending.get() on:click=move |_| on_close()>
                    "キャンセル"
                </button>
                <ActionButton
                    class="button button-danger"
                    pending
                    testid=testids::REVOKE_CONFIRM
                    label="失効する"
                    pending_label="失効中…"
                    on_click=move || {
                        error.set(None);
                        revoke.dispatch_local(reason.get_untracked());
                    }
                />
            </div>
        </Modal>
    }
}
