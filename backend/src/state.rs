//! What every handler shares: the configuration, the database, the services and the throttle.
//! Built once by `crate::startup::Application::build`.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    auth::{Authenticator, throttle::Throttle},
    certificates::{IssuanceService, ocsp::OcspResponder, revocation::Revocations},
    config::Config,
    lifecycle::Lifecycle,
    pki::CaSet,
};

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The URL users reach this service at, resolved once at start-up.
    pub public_url: String,
    pub db: DatabaseConnection,
    pub auth: Authenticator,
    pub issuance: IssuanceService,
    /// Every CA whose certificates are still honoured, the issuing one among them.
    pub cas: CaSet,
    /// Revocation and the CRL.
    pub revocations: Revocations,
    pub ocsp: OcspResponder,
    /// Per-address throttle of password attempts.
    pub throttle: Throttle,
    pub lifecycle: Arc<Lifecycle>,
    /// Signs the audit log's checkpoints.
    pub audit_key: Arc<crate::audit::key::AuditKey>,
}

impl AppState {
    /// What 検印 and the operations it governs need from the serving state.
    pub fn approval_services(&self) -> crate::approvals::Services<'_> {
        crate::approvals::Services {
            db: &self.db,
            hasher: &self.auth.hasher,
            url: &self.public_url,
            policy: &self.config.approvals,
        }
    }
}
