//! 電子証明書 tab: search certificates (company name, user ID, serial, status) and revoke an
//! active one with a reason (R8: e.g. a PC change, after which the user re-issues).

use common::{
    ErrorBody,
    api::{CertificateStatus, CertificateSummary, RevocationReason, Revoke},
    jst, testids,
};
use leptos::{ev::SubmitEvent, html, prelude::*};

use crate::{
    api::{self, CertificateQuery},
    components::{
        data_table::ListTable,
        form_field::SearchField,
        forms::ActionButton,
        messages::{ErrorMessage, NoticeMessage},
        modal::{Modal, focus},
    },
    error_text::{Audience, explain},
    mounted::screen_action,
};

#[component]
pub fn CertificatesTab() -> impl IntoView {
    let organization = RwSignal::new(String::new());
    let user_id = RwSignal::new(String::new());
    let serial = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    // The search as last submitted.
    let search = RwSignal::new(CertificateQuery::default());
    let certificates = LocalResource::new(move || {
        let search = search.get();
        async move { api::admin_certificates(&search).await }
    });
    // The certificate whose 失効 dialog is open.
    let revoking: RwSignal<Option<CertificateSummary>> = RwSignal::new(None);
    let revoked: RwSignal<Option<CertificateSummary>> = RwSignal::new(None);

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        revoked.set(None);
        let next = CertificateQuery {
            organization: organization.get_untracked().trim().to_owned(),
            user_id: user_id.get_untracked().trim().to_owned(),
            serial: serial.get_untracked().trim().to_owned(),
            status: status.get_untracked(),
        };
        if next == search.get_untracked() {
            certificates.refetch();
        } else {
            search.set(next);
        }
    };

    view! {
        <h2 id="cert-search-title">"電子証明書の検索"</h2>
        <form class="form filters" novalidate=true on:submit=on_submit aria-labelledby="cert-search-title">
            <SearchField id="cert-organization" label="会社名（部分一致）" value=organization />
            <SearchField id="cert-user-id" label="ユーザーID" value=user_id testid=testids::ADMIN_CERT_SEARCH />
            <SearchField id="cert-serial" label="シリアル番号" value=serial />
            <div class="field">
                <label for="cert-status">"状態"</label>
                <select id="cert-status" prop:value=move || status.get() on:change=move |ev| status.set(event_target_value(&ev))>
                    <option value="">"すべて"</option>
                    <option value="active">{CertificateStatus::Active.label()}</option>
                    <option value="expired">{CertificateStatus::Expired.label()}</option>
                    <option value="revoked">{CertificateStatus::Revoked.label()}</option>
                </select>
            </div>
            <button type="submit" class="button button-primary" data-testid=testids::ADMIN_CERT_SEARCH_SUBMIT>
                "検索"
            </button>
        </form>
        {move || revoked.get().map(|c| view! {
            <NoticeMessage>
                <p>{format!("シリアル番号 {} （ユーザーID {}）の電子証明書を失効しました。", c.serial, c.user_id)}</p>
            </NoticeMessage>
        })}
        <ListTable
            list=certificates
            empty="該当する電子証明書はありません。"
            label="電子証明書一覧"
            columns=&["シリアル番号", "ユーザーID", "会社", "有効期間", "状態", "操作"]
            testid=testids::ADMIN_CERT_TABLE
            rows=move |list| list.into_iter().map(|c| certificate_row(c, revoking)).collect_view()
        />
        {move || revoking.get().map(|certificate| view! {
            <RevokeDialog
                certificate
                on_close=move || revoking.set(None)
                on_revoked=move |c| {
                    revoking.set(None);
                    revoked.set(Some(c));
                    certificates.refetch();
                }
            />
        })}
    }
}

/// One certificate; 失効 opens the dialog for an active one.
fn certificate_row(c: CertificateSummary, revoking: RwSignal<Option<CertificateSummary>>) -> impl IntoView {
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
                on:click=move |_| revoking.set(Some(target.clone()))
            >
                "失効"
            </button>
        }
    });
    view! {
        <tr>
            <td class="mono serial">{c.serial.clone()}</td>
            <td class="mono">{c.user_id.clone()}</td>
            <td class="org">{c.organization.clone().unwrap_or_else(|| "—".to_owned())}</td>
            <td class="nowrap">
                {jst::format_datetime(c.not_before)}
                <br />
                {format!("〜 {}", jst::format_datetime(c.not_after))}
            </td>
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
            {move || error.get().map(|e| view! { <ErrorMessage lines=explain(&e, Audience::Session) /> })}
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
