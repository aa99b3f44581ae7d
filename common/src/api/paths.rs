//! The paths of the JSON API: [`PREFIX`] and, relative to it, one constant per path exactly as
//! the server registers it (placeholders in actix's `{name}` form), so the server's routes and
//! the app's calls are built from the same strings.

/// Where the API lives; every other constant here is relative to it.
pub const PREFIX: &str = "/api";

/// `GET`: `{"status": "ok"}` when the database answers (kept for existing checks).
pub const HEALTH: &str = "/health";
/// `GET`: liveness: the process serves requests (nothing else is checked).
pub const HEALTH_LIVE: &str = "/health/live";
/// `GET`: readiness for a load balancer: database, CA signer, not draining for a shutdown.
pub const HEALTH_READY: &str = "/health/ready";
/// `GET`: the OpenAPI document of the API.
pub const OPENAPI: &str = "/openapi.json";
/// `POST`: ④ user ID and password → a single-use issuance token.
pub const ISSUANCE_AUTHENTICATE: &str = "/issuance/authenticate";
/// `POST`: the token and the password → the .p12 attachment.
pub const ISSUANCE_ISSUE: &str = "/issuance/issue";
/// `POST`: replaces a password (the one-time initial password first of all, R11).
pub const PASSWORD_CHANGE: &str = "/password/change";
/// `GET`: the CA certificate (PEM).
pub const CA_PEM: &str = "/ca.pem";
/// `GET`: the certificate revocation list (DER).
pub const CRL: &str = "/crl";
/// `POST`: client certificate + user ID and password → a login session.
pub const LOGIN: &str = "/login";
/// `POST`: ends the session.
pub const LOGOUT: &str = "/logout";
/// `GET`: who is logged in.
pub const ME: &str = "/me";
/// `GET` (list) and `POST` (create): a master user's general users.
pub const ORG_USERS: &str = "/org/users";
/// `POST`: a master user lifts the lock or block of one of their users.
pub const ORG_USER_UNLOCK: &str = "/org/users/{user_id}/unlock";
/// `POST`: a master user resets the password of one of their general users.
pub const ORG_USER_RESET_PASSWORD: &str = "/org/users/{user_id}/reset-password";
/// `POST`: a master user retires (利用停止) one of their general users.
pub const ORG_USER_RETIRE: &str = "/org/users/{user_id}/retire";
/// `POST`: a master user changes the e-mail address of one of their general users.
pub const ORG_USER_EMAIL: &str = "/org/users/{user_id}/email";
/// `GET` (search, paged) and `POST` (create with its master user): companies, for bank staff.
pub const ADMIN_ORGANIZATIONS: &str = "/admin/organizations";
/// `GET`: one company (its detail page); `POST`: change its name or certificate limit.
pub const ADMIN_ORGANIZATION: &str = "/admin/organizations/{id}";
/// `POST`: suspend a company (its users are refused until it is resumed).
pub const ADMIN_ORGANIZATION_SUSPEND: &str = "/admin/organizations/{id}/suspend";
/// `POST`: resume a suspended company.
pub const ADMIN_ORGANIZATION_RESUME: &str = "/admin/organizations/{id}/resume";
/// `POST`: a new account becomes the company's master user (マスターユーザー変更).
pub const ADMIN_ORGANIZATION_MASTER: &str = "/admin/organizations/{id}/master";
/// `GET`: search users (paged).
pub const ADMIN_USERS: &str = "/admin/users";
/// `GET`: one user (their detail page).
pub const ADMIN_USER: &str = "/admin/users/{user_id}";
/// `GET`: the CSV export of a search: `organizations`, `users`, `certificates` or `audit`.
pub const ADMIN_EXPORT: &str = "/admin/export/{list}";
/// `POST`: bank staff lift the lock or block of any user.
pub const ADMIN_USER_UNLOCK: &str = "/admin/users/{user_id}/unlock";
/// `POST`: bank staff reset the password of any user but themselves.
pub const ADMIN_USER_RESET_PASSWORD: &str = "/admin/users/{user_id}/reset-password";
/// `POST`: bank staff retire (利用停止) any user but themselves and the last staff member.
pub const ADMIN_USER_RETIRE: &str = "/admin/users/{user_id}/retire";
/// `POST`: bank staff change the e-mail address of any user but themselves.
pub const ADMIN_USER_EMAIL: &str = "/admin/users/{user_id}/email";
/// `POST`: bank staff make a general user their company's master user (マスターユーザー変更).
pub const ADMIN_USER_MAKE_MASTER: &str = "/admin/users/{user_id}/make-master";
/// `GET`: search certificates.
pub const ADMIN_CERTIFICATES: &str = "/admin/certificates";
/// `POST`: revoke one certificate with a reason.
pub const ADMIN_CERTIFICATE_REVOKE: &str = "/admin/certificates/{serial}/revoke";
/// `GET`: the audit log, newest first.
pub const ADMIN_AUDIT: &str = "/admin/audit";
/// `GET`: the mail outbox.
pub const ADMIN_MAIL: &str = "/admin/mail";
/// Requests for a second staff member's approval (検印): the waiting ones, then the latest decided.
pub const ADMIN_APPROVALS: &str = "/admin/approvals";
/// Approves a request (another staff member than its proposer): the operation is done then.
pub const ADMIN_APPROVAL_APPROVE: &str = "/admin/approvals/{id}/approve";
/// Rejects a request, with a reason: nothing is done.
pub const ADMIN_APPROVAL_REJECT: &str = "/admin/approvals/{id}/reject";
/// The audit log's chain for auditors (entries with their hashes, and the checkpoints).
pub const ADMIN_AUDIT_CHAIN: &str = "/admin/audit/chain";
/// `GET`: how the server judged the client certificate of this connection.
pub const TLS_CLIENT_CERTIFICATE: &str = "/tls/client-certificate";

/// The full path of `path` (one of the constants above): [`PREFIX`] + `path`.
pub fn url(path: &str) -> String {
    format!("{PREFIX}{path}")
}

/// The full path of `template` with its `{name}` placeholder replaced by `segment`, which the
/// caller has already percent-encoded (this function does not encode). A template without a
/// placeholder comes back as [`url`] of it, unchanged.
pub fn with_segment(template: &str, segment: &str) -> String {
    let placeholder = template.find('{').and_then(|open| Some((open, open + template[open..].find('}')?)));
    match placeholder {
        Some((open, close)) => format!("{PREFIX}{}{segment}{}", &template[..open], &template[close + 1..]),
        None => url(template),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [&str; 33] = [
        HEALTH,
        OPENAPI,
        ISSUANCE_AUTHENTICATE,
        ISSUANCE_ISSUE,
        PASSWORD_CHANGE,
        CA_PEM,
        CRL,
        LOGIN,
        LOGOUT,
        ME,
        ORG_USERS,
        ORG_USER_UNLOCK,
        ORG_USER_RESET_PASSWORD,
        ORG_USER_RETIRE,
        ADMIN_ORGANIZATIONS,
        ADMIN_ORGANIZATION,
        ADMIN_ORGANIZATION_SUSPEND,
        ADMIN_ORGANIZATION_RESUME,
        ADMIN_USERS,
        ADMIN_USER,
        ADMIN_USER_UNLOCK,
        ADMIN_USER_RESET_PASSWORD,
        ADMIN_USER_RETIRE,
        ADMIN_EXPORT,
        ADMIN_CERTIFICATES,
        ADMIN_CERTIFICATE_REVOKE,
        ADMIN_AUDIT,
        ADMIN_MAIL,
        ADMIN_APPROVALS,
        ADMIN_APPROVAL_APPROVE,
        ADMIN_APPROVAL_REJECT,
        ADMIN_AUDIT_CHAIN,
        TLS_CLIENT_CERTIFICATE,
    ];

    #[test]
    fn every_path_is_absolute_without_a_trailing_slash_and_distinct() {
        for path in ALL.into_iter().chain([PREFIX]) {
            assert!(path.starts_with('/') && !path.ends_with('/'), "{path}");
            assert!(!path.contains("//") && !path.contains('?'), "{path}");
        }
        let mut sorted = ALL.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ALL.len());
    }

    #[test]
    fn url_puts_the_prefix_in_front() {
        assert_eq!(url(LOGIN), "/api/login");
        assert_eq!(url(ADMIN_CERTIFICATES), "/api/admin/certificates");
        assert_eq!(url(OPENAPI), "/api/openapi.json");
    }

    #[test]
    fn with_segment_fills_the_placeholder_in_the_middle() {
        assert_eq!(with_segment(ORG_USER_UNLOCK, "abc123"), "/api/org/users/abc123/unlock");
        assert_eq!(with_segment(ADMIN_USER_UNLOCK, "Abc123"), "/api/admin/users/Abc123/unlock");
        assert_eq!(with_segment(ADMIN_CERTIFICATE_REVOKE, "0a1B"), "/api/admin/certificates/0a1B/revoke");
    }

    #[test]
    fn with_segment_inserts_the_segment_as_given() {
        // Encoding is the caller's job: what comes in goes out, `%` and all.
        assert_eq!(with_segment(ORG_USER_UNLOCK, "a%2Fb%20c"), "/api/org/users/a%2Fb%20c/unlock");
        assert_eq!(with_segment(ORG_USER_UNLOCK, ""), "/api/org/users//unlock");
    }

    #[test]
    fn with_segment_fills_a_placeholder_at_the_end() {
        assert_eq!(with_segment("/things/{id}", "7"), "/api/things/7");
    }

    #[test]
    fn with_segment_leaves_a_template_without_placeholder_alone() {
        assert_eq!(with_segment(ME, "x"), "/api/me");
        assert_eq!(with_segment("/open{", "x"), "/api/open{");
    }

    #[test]
    fn every_template_has_one_placeholder_at_most() {
        for path in ALL {
            assert!(path.matches('{').count() <= 1 && path.matches('{').count() == path.matches('}').count(), "{path}");
        }
    }
}
