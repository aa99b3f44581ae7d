//! Rows → the API's types (never send entities over the wire).

use common::api::{AccountState, CertificateSummary, OrganizationSummary, RevocationReason, UserSummary};
use time::OffsetDateTime;

use crate::{
    db::entities::{certificate, organization, user},
    domain::certificate::{renewable, status},
};

pub fn certificate_summary(
    c: &certificate::Model,
    organization: Option<String>,
    now: OffsetDateTime,
) -> CertificateSummary {
    let facts = c.facts();
    CertificateSummary {
        serial: c.serial.clone(),
        user_id: c.subject_cn.clone(),
        organization,
        not_before: c.not_before,
        not_after: c.not_after,
        status: status(facts, now),
        days_left: (c.not_after - now).whole_days(),
        renewable: renewable(facts, now),
        revoked_at: c.revoked_at,
        revocation_reason: c.revocation_reason.as_deref().and_then(RevocationReason::parse),
        key_type: Some(c.key_type.clone()),
        organization_id: c.org_id,
        issued_at: c.created_at,
    }
}

pub fn account_state(u: &user::Model, now: OffsetDateTime) -> AccountState {
    AccountState {
        locked_until: u.locked_until.filter(|t| *t > now),
        blocked: u.blocked_at.is_some(),
        must_change_password: u.must_change_password,
        failures: u32::try_from(u.failures).unwrap_or(0),
        retired_at: u.retired_at,
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
        role: u.role,
        organization: organization.clone(),
        organization_id: u.org_id,
        email: u.email.clone(),
        state: account_state(u, now),
        certificate: newest.map(|c| certificate_summary(c, organization, now)),
    }
}

/// A company with its members (to name the master user and count them).
pub fn organization_summary(o: organization::Model, members: &[user::Model]) -> OrganizationSummary {
    OrganizationSummary {
        id: o.id,
        name: o.name,
        master_user_id: members.iter().find(|u| u.role == common::api::Role::Master).map(|u| u.user_id.clone()),
        users: u32::try_from(members.len()).unwrap_or(u32::MAX),
        certificate_limit: u32::try_from(o.certificate_limit).unwrap_or(0),
        created_at: o.created_at,
        suspended_at: o.suspended_at,
    }
}
