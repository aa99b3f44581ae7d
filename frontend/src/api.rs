//! The one way the SPA talks to the server: one typed function per endpoint, built from the
//! paths in [`common::api::paths`], so no screen spells a URL.
//!
//! Each of them goes through [`get_json`], [`post_json`], [`post_no_content`] or
//! [`post_for_download`], and every failure comes back as the shared [`ErrorBody`]: the server's
//! own `{code, message, ...}` when it sent one, otherwise [`ErrorCode::Network`] (the request never
//! got an answer) or [`ErrorCode::Internal`] (the answer was unreadable), always with a Japanese
//! message the screens can show as is.
//!
//! The session cookie is HttpOnly: the app never sees it, it only asks the browser to send it
//! (`credentials: same-origin` on every request, stated rather than left to the default). Every
//! state-changing call is a `POST` with a JSON body (`{}` when there is nothing to say).

use common::{
    ErrorBody, ErrorCode,
    api::{
        self, AuditEntry, CertificateSummary, ChangeEmail, CreatedOrganization, CreatedUser, Credentials,
        IssuanceToken, IssueRequest, MailEntry, MakeMaster, MasterChanged, Me, NewMaster, NewOrganization, NewUser,
        OrganizationDetail, OrganizationSummary, OrganizationUsers, PasswordChange, PasswordChanged, PasswordReset,
        PresentedCertificate, Retire, RetiredUser, Revoke, UpdateOrganization, UserDetail, UserSummary,
        list::{AuditSearch, CertificateSearch, Export, MailSearch, OrganizationSearch, Page, Search, UserSearch},
        paths::{self, url, with_segment},
    },
};
use gloo_net::http::{Request, Response};
use serde::{Serialize, de::DeserializeOwned};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, RequestCredentials};

use crate::query;

// ---- Sessions ----

/// `POST /api/login`: the client certificate (sent by the browser) and the credentials.
pub async fn login(credentials: &Credentials) -> Result<Me, ErrorBody> {
    post_json(&url(paths::LOGIN), credentials).await
}

/// `POST /api/logout`.
pub async fn logout() -> Result<(), ErrorBody> {
    post_no_content(&url(paths::LOGOUT), &Empty {}).await
}

/// `GET /api/me`: who is logged in.
pub async fn me() -> Result<Me, ErrorBody> {
    get_json(&url(paths::ME)).await
}

// ---- Issuance and passwords ----

/// `POST /api/password/change`.
pub async fn change_password(change: &PasswordChange) -> Result<PasswordChanged, ErrorBody> {
    post_json(&url(paths::PASSWORD_CHANGE), change).await
}

/// `POST /api/issuance/authenticate`: ④, the single-use issuance token.
pub async fn issuance_authenticate(credentials: &Credentials) -> Result<IssuanceToken, ErrorBody> {
    post_json(&url(paths::ISSUANCE_AUTHENTICATE), credentials).await
}

/// `POST /api/issuance/issue`: ⑤, the .p12 with the certificate's serial and expiry.
pub async fn issuance_issue(request: &IssueRequest) -> Result<Download, ErrorBody> {
    post_for_download(&url(paths::ISSUANCE_ISSUE), request).await
}

/// `GET /api/tls/client-certificate`: what the browser presents on this connection (⑧).
pub async fn presented_certificate() -> Result<PresentedCertificate, ErrorBody> {
    get_json(&url(paths::TLS_CLIENT_CERTIFICATE)).await
}

// ---- Master users ----

/// `GET /api/org/users?…`: the master user's company and one page of its users, as searched
/// (only `user_id`, `email`, `state`, the sort and the paging apply).
pub async fn org_users(search: &UserSearch) -> Result<OrganizationUsers, ErrorBody> {
    get_json(&searched(paths::ORG_USERS, &search.pairs())).await
}

/// `POST /api/org/users`: a new general user with a one-time initial password.
pub async fn create_org_user(new_user: &NewUser) -> Result<CreatedUser, ErrorBody> {
    post_json(&url(paths::ORG_USERS), new_user).await
}

/// `POST /api/org/users/{user_id}/unlock`.
pub async fn unlock_org_user(user_id: &str) -> Result<UserSummary, ErrorBody> {
    post_json(&with_segment(paths::ORG_USER_UNLOCK, &segment(user_id)), &Empty {}).await
}

/// `POST /api/org/users/{user_id}/reset-password`.
pub async fn org_reset_password(user_id: &str) -> Result<PasswordReset, ErrorBody> {
    post_json(&with_segment(paths::ORG_USER_RESET_PASSWORD, &segment(user_id)), &Empty {}).await
}

/// `POST /api/org/users/{user_id}/retire` (no reason: the audit entry names the master user;
/// the answer's body is not read, which keeps its parsing out of this bundle).
pub async fn org_retire(user_id: &str) -> Result<(), ErrorBody> {
    post_no_content(&with_segment(paths::ORG_USER_RETIRE, &segment(user_id)), &Empty {}).await
}

/// `POST /api/org/users/{user_id}/email` (the answer's body is not read).
pub async fn org_change_email(user_id: &str, request: &ChangeEmail) -> Result<(), ErrorBody> {
    post_no_content(&with_segment(paths::ORG_USER_EMAIL, &segment(user_id)), request).await
}

// ---- Bank staff ----

/// `GET /api/admin/organizations?…`: one page of companies.
pub async fn admin_organizations(search: &OrganizationSearch) -> Result<Page<OrganizationSummary>, ErrorBody> {
    get_json(&searched(paths::ADMIN_ORGANIZATIONS, &search.pairs())).await
}

/// `GET /api/admin/organizations/{id}`: one company.
pub async fn admin_organization(id: i64) -> Result<OrganizationDetail, ErrorBody> {
    get_json(&with_segment(paths::ADMIN_ORGANIZATION, &id.to_string())).await
}

/// `POST /api/admin/organizations`: a company and its master user (with the letter's password).
pub async fn admin_create_organization(request: &NewOrganization) -> Result<CreatedOrganization, ErrorBody> {
    post_json(&url(paths::ADMIN_ORGANIZATIONS), request).await
}

/// `POST /api/admin/organizations/{id}`: its new name or certificate limit.
pub async fn admin_update_organization(id: i64, change: &UpdateOrganization) -> Result<OrganizationSummary, ErrorBody> {
    post_staff(&with_segment(paths::ADMIN_ORGANIZATION, &id.to_string()), change).await
}

/// `POST /api/admin/organizations/{id}/suspend` (or `/resume`).
pub async fn admin_suspend_organization(id: i64, suspend: bool) -> Result<OrganizationSummary, ErrorBody> {
    let path = if suspend { paths::ADMIN_ORGANIZATION_SUSPEND } else { paths::ADMIN_ORGANIZATION_RESUME };
    post_staff(&with_segment(path, &id.to_string()), &Empty {}).await
}

/// `GET /api/admin/users?…`: one page of users.
pub async fn admin_users(search: &UserSearch) -> Result<Page<UserSummary>, ErrorBody> {
    get_json(&searched(paths::ADMIN_USERS, &search.pairs())).await
}

/// `GET /api/admin/users/{user_id}`: one user with their certificates and newest audit entries.
pub async fn admin_user(user_id: &str) -> Result<UserDetail, ErrorBody> {
    get_json(&with_segment(paths::ADMIN_USER, &segment(user_id))).await
}

/// `POST /api/admin/users/{user_id}/unlock`.
pub async fn admin_unlock_user(user_id: &str) -> Result<UserSummary, ErrorBody> {
    post_staff(&with_segment(paths::ADMIN_USER_UNLOCK, &segment(user_id)), &Empty {}).await
}

/// `POST /api/admin/users/{user_id}/reset-password`.
pub async fn admin_reset_password(user_id: &str) -> Result<PasswordReset, ErrorBody> {
    post_staff(&with_segment(paths::ADMIN_USER_RESET_PASSWORD, &segment(user_id)), &Empty {}).await
}

/// `POST /api/admin/users/{user_id}/retire`.
pub async fn admin_retire(user_id: &str, request: &Retire) -> Result<RetiredUser, ErrorBody> {
    post_staff(&with_segment(paths::ADMIN_USER_RETIRE, &segment(user_id)), request).await
}

/// `POST /api/admin/users/{user_id}/email` (the answer's body is not read).
pub async fn admin_change_email(user_id: &str, request: &ChangeEmail) -> Result<(), ErrorBody> {
    post_no_content(&with_segment(paths::ADMIN_USER_EMAIL, &segment(user_id)), request).await
}

/// `POST /api/admin/users/{user_id}/make-master`.
pub async fn admin_make_master(user_id: &str, request: &MakeMaster) -> Result<MasterChanged, ErrorBody> {
    post_staff(&with_segment(paths::ADMIN_USER_MAKE_MASTER, &segment(user_id)), request).await
}

/// `POST /api/admin/organizations/{id}/master`.
pub async fn admin_new_master(id: i64, request: &NewMaster) -> Result<MasterChanged, ErrorBody> {
    post_staff(&with_segment(paths::ADMIN_ORGANIZATION_MASTER, &id.to_string()), request).await
}

/// `GET /api/admin/certificates?…`: one page of certificates.
pub async fn admin_certificates(search: &CertificateSearch) -> Result<Page<CertificateSummary>, ErrorBody> {
    get_json(&searched(paths::ADMIN_CERTIFICATES, &search.pairs())).await
}

/// `POST /api/admin/certificates/{serial}/revoke`.
pub async fn admin_revoke(serial: &str, request: &Revoke) -> Result<CertificateSummary, ErrorBody> {
    post_staff(&with_segment(paths::ADMIN_CERTIFICATE_REVOKE, &segment(serial)), request).await
}

/// `GET /api/admin/audit?…`: one page of the audit log.
pub async fn admin_audit(search: &AuditSearch) -> Result<Page<AuditEntry>, ErrorBody> {
    get_json(&searched(paths::ADMIN_AUDIT, &search.pairs())).await
}

/// `GET /api/admin/mail?…`: one page of the outbox.
pub async fn admin_mail(search: &MailSearch) -> Result<Page<MailEntry>, ErrorBody> {
    get_json(&searched(paths::ADMIN_MAIL, &search.pairs())).await
}

/// The address of `GET /api/admin/export/{list}?…`: the CSV of a whole search (`pairs` of its
/// [`without_paging`](common::api::list::OrganizationSearch::without_paging)), for an
/// `<a href download>` (the browser sends the session cookie and saves the attachment itself).
pub fn admin_export_href(list: Export, pairs: &[(&str, String)]) -> String {
    query::with_pairs(&with_segment(paths::ADMIN_EXPORT, list.segment()), pairs)
}

// ---- The funnel ----

const JSON: &str = "application/json";

/// The JSON body of a `POST` that has nothing to say: `{}`.
#[derive(Serialize)]
struct Empty {}

/// `GET path`, expecting JSON.
async fn get_json<Res: DeserializeOwned>(path: &str) -> Result<Res, ErrorBody> {
    let response = exchange(path, None, JSON).await?;
    parse_json(path, response).await
}

/// `POST path` with a JSON body, expecting JSON.
async fn post_json<Req: Serialize, Res: DeserializeOwned>(path: &str, request: &Req) -> Result<Res, ErrorBody> {
    let response = exchange(path, Some(to_json(path, request)?), JSON).await?;
    parse_json(path, response).await
}

/// `POST path` with a JSON body, expecting no content (e.g. `204` of `/api/logout`).
async fn post_no_content<Req: Serialize>(path: &str, request: &Req) -> Result<(), ErrorBody> {
    exchange(path, Some(to_json(path, request)?), JSON).await.map(drop)
}

/// A boxed future that is not generic: its code is in the WASM once, however many endpoints and
/// types await it.
type Once<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>>;

/// The one exchange with the server: `GET path`, or `POST path` with the JSON `body`, with the
/// session cookie; a 2xx answer, else the server's error body. Not generic and boxed, so the
/// fetch and the error handling are in the WASM once, not once per endpoint and type: each
/// endpoint adds only the (de)serialisation of its own types.
fn exchange<'a>(path: &'a str, body: Option<String>, accept: &'static str) -> Once<'a, Result<Response, ErrorBody>> {
    Box::pin(async move {
        let builder = match body {
            None => Request::get(path),
            Some(_) => Request::post(path).header("Content-Type", JSON),
        }
        .credentials(RequestCredentials::SameOrigin)
        .header("Accept", accept);
        let request = match body {
            None => builder.build(),
            Some(json) => builder.body(json),
        }
        .map_err(|e| internal_error(path, "リクエストを作成できませんでした。", &e))?;
        let response = request.send().await.map_err(|e| network_error(path, &e))?;
        if response.ok() { Ok(response) } else { Err(read_error(path, response).await) }
    })
}

/// A request body as JSON (what `RequestBuilder::json` would send).
fn to_json<Req: Serialize>(path: &str, request: &Req) -> Result<String, ErrorBody> {
    serde_json::to_string(request).map_err(|e| internal_error(path, "リクエストを作成できませんでした。", &e))
}

/// The text of a 2xx answer (not generic and boxed, as [`exchange`]).
fn answer_text(path: &str, response: Response) -> Once<'_, Result<(u16, String), ErrorBody>> {
    Box::pin(async move {
        let status = response.status();
        match response.text().await {
            Ok(text) => Ok((status, text)),
            Err(e) => Err(unreadable_answer(path, status, &e)),
        }
    })
}

/// A 2xx answer as JSON of type `Res`.
async fn parse_json<Res: DeserializeOwned>(path: &str, response: Response) -> Result<Res, ErrorBody> {
    let (status, text) = answer_text(path, response).await?;
    serde_json::from_str(&text).map_err(|e| unreadable_answer(path, status, &e))
}

fn unreadable_answer(path: &str, status: u16, error: &dyn std::fmt::Display) -> ErrorBody {
    leptos::logging::error!("{path}: HTTP {status}: unreadable answer: {error}");
    ErrorBody::new(
        ErrorCode::Internal,
        format!("サーバーからの応答を読み取れませんでした（HTTP {status}）。時間をおいてもう一度お試しください。"),
    )
}

/// The full path of the list `path` (one of [`paths`]) with a search's `pairs` as its query. Not
/// generic: every list's URL is built by this one function.
fn searched(path: &str, pairs: &[(&str, String)]) -> String {
    query::with_pairs(&url(path), pairs)
}

/// One path segment (a user ID or a serial number), percent-encoded.
fn segment(value: &str) -> String {
    query::encode(value)
}

/// A file the server sent as an attachment, still in browser memory.
pub struct Download {
    /// The file's bytes, as the browser holds them (never copied into WASM memory).
    pub blob: Blob,
    /// From `Content-Disposition`; a safe base name (no directory part).
    pub filename: String,
    /// The certificate serial number (header [`api::HEADER_CERT_SERIAL`]), if sent.
    pub serial: Option<String>,
    /// The certificate's expiry as sent in [`api::HEADER_CERT_NOT_AFTER`] (RFC 3339), if sent.
    pub not_after: Option<String>,
}

/// The name used when the server's `Content-Disposition` carries no usable file name.
const FALLBACK_FILENAME: &str = "certificate.p12";

/// `POST path` with a JSON body, expecting a file attachment (the issued .p12).
async fn post_for_download<Req: Serialize>(path: &str, request: &Req) -> Result<Download, ErrorBody> {
    let response = exchange(path, Some(to_json(path, request)?), "application/x-pkcs12, application/json").await?;
    let headers = response.headers();
    let filename = headers
        .get("content-disposition")
        .and_then(|value| filename_from_content_disposition(&value))
        .unwrap_or_else(|| FALLBACK_FILENAME.to_owned());
    let serial = headers.get(api::HEADER_CERT_SERIAL).filter(|s| !s.is_empty());
    let not_after = headers.get(api::HEADER_CERT_NOT_AFTER).filter(|s| !s.is_empty());
    let blob = read_blob(web_sys::Response::from(response))
        .await
        .map_err(|e| js_error(path, "ダウンロードしたファイルを読み取れませんでした。", &e))?;
    if blob.size() == 0.0 {
        return Err(ErrorBody::new(
            ErrorCode::Internal,
            "サーバーから空のファイルが届きました。時間をおいてもう一度お試しください。",
        ));
    }
    Ok(Download { blob, filename, serial, not_after })
}

async fn read_blob(response: web_sys::Response) -> Result<Blob, JsValue> {
    let value = JsFuture::from(response.blob()?).await?;
    value.dyn_into::<Blob>()
}

/// Turns a non-2xx answer into the server's `ErrorBody`, or a generic one if the body is not one.
async fn read_error(path: &str, response: Response) -> ErrorBody {
    let status = response.status();
    match response.text().await {
        Ok(text) => match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => body,
            Err(e) => {
                leptos::logging::error!("{path}: HTTP {status}: not an error body: {e}");
                unexpected_status(status)
            }
        },
        Err(e) => {
            leptos::logging::error!("{path}: HTTP {status}: unreadable body: {e}");
            unexpected_status(status)
        }
    }
}

fn unexpected_status(status: u16) -> ErrorBody {
    let message = match status {
        404 => "サーバーに該当する機能が見つかりませんでした（HTTP 404）。URL をご確認ください。".to_owned(),
        502..=504 => format!("サーバーが応答していません（HTTP {status}）。時間をおいてもう一度お試しください。"),
        _ => format!("サーバーでエラーが発生しました（HTTP {status}）。時間をおいてもう一度お試しください。"),
    };
    ErrorBody::new(ErrorCode::Internal, message)
}

fn network_error(path: &str, error: &gloo_net::Error) -> ErrorBody {
    leptos::logging::error!("{path}: request failed: {error}");
    ErrorBody::new(
        ErrorCode::Network,
        "サーバーに接続できませんでした。ネットワークの状態を確認して、もう一度お試しください。",
    )
}

fn internal_error(path: &str, message: &str, error: &dyn std::fmt::Display) -> ErrorBody {
    leptos::logging::error!("{path}: {error}");
    ErrorBody::new(ErrorCode::Internal, message)
}

fn js_error(path: &str, message: &str, error: &JsValue) -> ErrorBody {
    leptos::logging::error!("{path}: {error:?}");
    ErrorBody::new(ErrorCode::Internal, message)
}

/// The file name of a `Content-Disposition` header value: `filename*=UTF-8''…` (RFC 6266/5987)
/// wins over `filename="…"`. Any directory part is dropped; `None` if nothing usable remains.
pub fn filename_from_content_disposition(value: &str) -> Option<String> {
    let mut plain = None;
    let mut extended = None;
    for param in split_params(value).into_iter().skip(1) {
        let Some((name, raw)) = param.split_once('=') else { continue };
        let name = name.trim().to_ascii_lowercase();
        let raw = raw.trim();
        if name == "filename*" {
            if let Some((charset, rest)) = raw.split_once('\'')
                && charset.eq_ignore_ascii_case("utf-8")
                && let Some((_lang, encoded)) = rest.split_once('\'')
            {
                extended = percent_decode(encoded);
            }
        } else if name == "filename" {
            plain = Some(unquote(raw));
        }
    }
    extended.or(plain).and_then(|name| safe_base_name(&name))
}

/// Splits on `;` outside double quotes.
fn split_params(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

fn unquote(raw: &str) -> String {
    let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return raw.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn percent_decode(encoded: &str) -> Option<String> {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = encoded.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn safe_base_name(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name).trim();
    let clean: String = base.chars().filter(|c| !c.is_control()).collect();
    if clean.is_empty() || clean == "." || clean == ".." { None } else { Some(clean) }
}

// ---- 検印 (the staff bundle only; kept last, so the code above keeps its place) ----

/// `GET /api/admin/approvals`: the requests for approval (検印) waiting, then the latest decided.
pub async fn admin_approvals() -> Result<api::ApprovalList, ErrorBody> {
    get_json(&url(paths::ADMIN_APPROVALS)).await
}

/// `POST /api/admin/approvals/{id}/approve`.
pub async fn admin_approve(id: i64) -> Result<api::ApprovalDone, ErrorBody> {
    post_json(&with_segment(paths::ADMIN_APPROVAL_APPROVE, &id.to_string()), &Empty {}).await
}

/// `POST /api/admin/approvals/{id}/reject`.
pub async fn admin_reject(id: i64, request: &api::RejectApproval) -> Result<api::Approval, ErrorBody> {
    post_json(&with_segment(paths::ADMIN_APPROVAL_REJECT, &id.to_string()), request).await
}

/// The address of the audit log's chain export for auditors (JSON Lines) of the days `from` to
/// `to`: a plain link the browser downloads.
pub fn admin_audit_chain_href(from: &str, to: &str) -> String {
    query::with_pairs(&url(paths::ADMIN_AUDIT_CHAIN), &[("from", from.to_owned()), ("to", to.to_owned())])
}

/// `POST path` of a staff operation that `approval_required` may make a proposal only: its 202
/// (承認待ち, nothing changed yet) comes back as an error body marked [`is_proposal`] with the
/// server's words, which the staff screens show as a notice where the operation's error would go.
/// (A mark, not an error code of its own: the company bundle, whose size is held to a target,
/// shares the error codes and never sees a proposal.)
async fn post_staff<Req: Serialize, Res: DeserializeOwned>(path: &str, request: &Req) -> Result<Res, ErrorBody> {
    let response = exchange(path, Some(to_json(path, request)?), JSON).await?;
    if response.status() == 202 {
        return Err(proposed(path, response).await);
    }
    parse_json(path, response).await
}

/// The mark of [`post_staff`]'s 202 in an error body's `field` (no input field of the API is so
/// named).
const PROPOSAL: &str = "approval_pending";

/// Whether `error` is no error but a staff operation that waits for a second staff member's
/// approval (its message says so).
pub fn is_proposal(error: &ErrorBody) -> bool {
    error.field.as_deref() == Some(PROPOSAL)
}

/// The notice of a 202 (not generic and boxed, as [`exchange`]).
fn proposed(path: &str, response: Response) -> Once<'_, ErrorBody> {
    Box::pin(async move {
        match parse_json::<api::ApprovalProposed>(path, response).await {
            Ok(p) => {
                let mut notice = ErrorBody::new(ErrorCode::Conflict, p.message);
                notice.field = Some(PROPOSAL.to_owned());
                notice
            }
            Err(e) => e,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::filename_from_content_disposition as parse;

    #[test]
    fn reads_a_quoted_filename() {
        assert_eq!(
            parse(r#"attachment; filename="abc12320261124193000.p12""#).as_deref(),
            Some("abc12320261124193000.p12")
        );
    }

    #[test]
    fn reads_an_unquoted_filename() {
        assert_eq!(parse("attachment; filename=abc123.p12").as_deref(), Some("abc123.p12"));
    }

    #[test]
    fn prefers_the_extended_filename() {
        let value = r#"attachment; filename="x.p12"; filename*=UTF-8''%E8%A8%BC%E6%98%8E%E6%9B%B8.p12"#;
        assert_eq!(parse(value).as_deref(), Some("証明書.p12"));
    }

    #[test]
    fn keeps_semicolons_inside_quotes() {
        assert_eq!(parse(r#"attachment; filename="a;b.p12""#).as_deref(), Some("a;b.p12"));
    }

    #[test]
    fn drops_directories() {
        assert_eq!(parse(r#"attachment; filename="../../etc/a.p12""#).as_deref(), Some("a.p12"));
        assert_eq!(parse(r#"attachment; filename="C:\\x\\a.p12""#).as_deref(), Some("a.p12"));
    }

    #[test]
    fn refuses_missing_or_empty_names() {
        assert_eq!(parse("attachment"), None);
        assert_eq!(parse(r#"attachment; filename="""#), None);
        assert_eq!(parse(r#"attachment; filename="..""#), None);
    }
}
