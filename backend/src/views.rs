//! Rows → the API's types (never send entities over the wire).

use common::api::{self, AccountState, CertificateStatus, CertificateSummary, RevocationReason, UserSummary};
use time::OffsetDateTime;

use crate::{
    auth::{Role, role_of},
    db::entities::{certificate, user},
    domain::eligibility::RENEWAL_WINDOW,
};

pub fn role(u: &user::Model) -> api::Role {
    match role_of(u) {
        Role::General => api::Role::General,
        Role::Master => api::Role::Master,
        Role::Staff => api::Role::Staff,
    }
}

pub fn certificate_summary(
    c: &certificate::Model,
    organization: Option<String>,
    now: OffsetDateTime,
) -> CertificateSummary {
    let status = if c.status == "revoked" {
        CertificateStatus::Revoked
    } else if now > c.not_after {
        CertificateStatus::Expired
    } else {
        CertificateStatus::Active
    };
    CertificateSummary {
        serial: c.serial.clone(),
        user_id: c.subject_cn.clone(),
        organization,
        not_before: c.not_before,
        not_after: c.not_after,
        status,
        days_left: (c.not_after - now).whole_days(),
        renewable: status == CertificateStatus::Active && now >= c.not_after - RENEWAL_WINDOW,
        revoked_at: c.revoked_at,
        revocation_reason: c.revocation_reason.as_deref().and_then(RevocationReason::parse),
    }
}

pub fn account_state(u: &user::Model, now: OffsetDateTime) -> AccountState {
    AccountState {
        locked_until: u.locked_until.filter(|t| *t > now),
        blocked: u.blocked_at.is_some(),
        must_change_password: u.must_change_password,
        failures: u32::try_from(u.failures).unwrap_or(0),
    }
}

pub fn user_summary(
    u: &user::Model,
    organization: Option<String>,
    newest: Option<&certificate::Model>,
    now: OffsetDateTime,
) -> UserSummary {
    UserSummary {
        user_id: u.user_id.clone(),
        role: role(u),
        organization: organization.clone(),
        email: u.email.clone(),
        state: account_state(u, now),
        certificate: newest.map(|c| certificate_summary(c, organization, now)),
    }
}
