//! What every handler shares: the configuration, the database, the services and the throttle.
//! Built once by `crate::startup::Application::build`.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

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
    pub lifecycle: Arc<Lifecycle>,
}

/// Where the instance is in its life: serving, or draining for a shutdown (readiness answers
/// 503 and connections close after their answer, while requests are still served).
#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
}

impl Lifecycle {
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }
}
