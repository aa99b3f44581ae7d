//! What every handler shares: the configuration, the database, the services and the throttle.
//! Built once by `crate::startup::Application::build`.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    auth::{Authenticator, throttle::Throttle},
    certificates::{IssuanceService, ocsp::OcspResponder, revocation::Revocations},
    config::Config,
    pki::CertificateAuthority,
};

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub auth: Authenticator,
    pub issuance: IssuanceService,
    /// The CA that issues.
    pub ca: Arc<CertificateAuthority>,
    /// Every CA whose certificates are still honoured, oldest first (the issuing one among
    /// them; several after a CA rollover).
    pub cas: Arc<Vec<Arc<CertificateAuthority>>>,
    /// Revocation and the CRL.
    pub revocations: Revocations,
    pub ocsp: OcspResponder,
    /// Per-address throttle of password attempts.
    pub throttle: Throttle,
}
