//! Prometheus metrics, served by `--metrics-listen` on a listener of their own (never on the
//! public HTTPS one). Counters of what this process did (`cjs_*_total`), gauges read from the
//! database at each scrape (so every instance reports the same shared figures), and request
//! latency per route.
//!
//! The counters live in one process-wide registry (as Prometheus clients keep them), moved where
//! the thing is committed: an event that rolls back is not counted.

use std::sync::LazyLock;

use common::api::{CertificateStatus, MailStatus};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter};
use time::OffsetDateTime;

use crate::db::entities::{certificate, mail_outbox};

/// The outcome of an authentication, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    Success,
    /// A wrong password (or an unknown ID).
    Failure,
    /// Refused: the ID is locked (R2).
    Locked,
    /// Refused: the ID is blocked (R11).
    Blocked,
    /// Refused before any password work: the client address is over its attempt rate.
    Throttled,
}

impl AuthOutcome {
    fn as_str(self) -> &'static str {
        match self {
            AuthOutcome::Success => "success",
            AuthOutcome::Failure => "failure",
            AuthOutcome::Locked => "locked",
            AuthOutcome::Blocked => "blocked",
            AuthOutcome::Throttled => "throttled",
        }
    }
}

/// Every series `cjs` exports.
pub struct Metrics {
    registry: Registry,
    certificates_issued: IntCounterVec,
    authentications: IntCounterVec,
    pub locks: IntCounter,
    pub blocks: IntCounter,
    pub unlocks: IntCounter,
    ocsp_preproduced: IntCounter,
    revocations: IntCounterVec,
    ocsp_answers: IntCounterVec,
    mails: IntCounterVec,
    requests: HistogramVec,
    outbox: IntGaugeVec,
    certificates_active: IntGauge,
    certificates_expiring: IntGauge,
    signer_up: IntGauge,
    database_up: IntGauge,
}

/// The gauges read from the database: left out of a scrape the database did not answer (a
/// stale value would look current), while the counters and the `_up` gauges stay.
const DATABASE_GAUGES: [&str; 3] = ["cjs_outbox", "cjs_certificates_active", "cjs_certificates_expiring_30d"];

/// Days ahead counted by `cjs_certificates_expiring_30d` (R6's first reminder).
const EXPIRING_DAYS: i64 = 30;

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("a valid metric");
    registry.register(Box::new(c.clone())).expect("registered once");
    c
}

fn counters(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("a valid metric");
    registry.register(Box::new(c.clone())).expect("registered once");
    c
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("a valid metric");
    registry.register(Box::new(g.clone())).expect("registered once");
    g
}

impl Metrics {
    fn new() -> Self {
        let r = Registry::new();
        let requests = HistogramVec::new(
            HistogramOpts::new("cjs_http_request_duration_seconds", "Time to answer an HTTP request, by route."),
            &["route", "method", "status"],
        )
        .expect("a valid metric");
        r.register(Box::new(requests.clone())).expect("registered once");
        let outbox = IntGaugeVec::new(Opts::new("cjs_outbox", "Notices in the mail outbox, by status."), &["status"])
            .expect("a valid metric");
        r.register(Box::new(outbox.clone())).expect("registered once");
        Self {
            certificates_issued: counters(
                &r,
                "cjs_certificates_issued_total",
                "Client certificates issued, by key type and whether it was a renewal.",
                &["key_type", "renewal"],
            ),
            authentications: counters(
                &r,
                "cjs_authentications_total",
                "Password authentications, by purpose and outcome.",
                &["purpose", "outcome"],
            ),
            locks: counter(&r, "cjs_locks_total", "IDs locked after consecutive wrong passwords (R2)."),
            blocks: counter(&r, "cjs_blocks_total", "IDs blocked after repeated locks (R11)."),
            unlocks: counter(&r, "cjs_unlocks_total", "IDs unlocked by a master or the bank's staff."),
            revocations: counters(&r, "cjs_revocations_total", "Certificates revoked, by reason.", &["reason"]),
            ocsp_answers: counters(&r, "cjs_ocsp_answers_total", "OCSP answers, by status.", &["status"]),
            ocsp_preproduced: counter(
                &r,
                "cjs_ocsp_preproduced_total",
                "OCSP answers signed ahead by this instance (pre-production and its refreshes).",
            ),
            mails: counters(&r, "cjs_mails_total", "Mail delivery attempts, by outcome.", &["outcome"]),
            requests,
            outbox,
            certificates_active: gauge(
                &r,
                "cjs_certificates_active",
                "Certificates valid now (not revoked, not expired), all instances.",
            ),
            certificates_expiring: gauge(
                &r,
                "cjs_certificates_expiring_30d",
                "Valid certificates that expire within 30 days, all instances.",
            ),
            signer_up: gauge(
                &r,
                "cjs_ca_signer_up",
                "1 when the CA key signed at its last use (always 1 for a key file).",
            ),
            database_up: gauge(
                &r,
                "cjs_database_up",
                "1 when the database answered this scrape's queries; else 0, and the gauges read from it are left out.",
            ),
            registry: r,
        }
    }

    pub fn certificate_issued(&self, key_type: &str, renewal: bool) {
        self.certificates_issued.with_label_values(&[key_type, if renewal { "true" } else { "false" }]).inc();
    }

    pub fn authentication(&self, purpose: &str, outcome: AuthOutcome) {
        self.authentications.with_label_values(&[purpose, outcome.as_str()]).inc();
    }

    /// A lock (R2) or block (R11) that an authentication just committed.
    pub fn lock_outcome(&self, outcome: crate::domain::lockout::Outcome) {
        use crate::domain::lockout::Outcome;
        match outcome {
            Outcome::NowLocked { .. } => self.locks.inc(),
            Outcome::NowBlocked => self.blocks.inc(),
            _ => {}
        }
    }

    pub fn revocation(&self, reason: &str) {
        self.revocations.with_label_values(&[reason]).inc();
    }

    pub fn ocsp_answer(&self, status: &str) {
        self.ocsp_answers.with_label_values(&[status]).inc();
    }

    /// `n` OCSP answers pre-produced.
    pub fn ocsp_preproduced(&self, n: usize) {
        self.ocsp_preproduced.inc_by(n as u64);
    }

    /// A delivery attempt recorded: `sent`, `retry` (failed, tried again later) or `failed`
    /// (given up).
    pub fn mail(&self, outcome: &str) {
        self.mails.with_label_values(&[outcome]).inc();
    }

    /// A request answered in `seconds`: `route` is the matched pattern (bounded), never the path.
    pub fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.requests.with_label_values(&[route, method, class]).observe(seconds);
    }

    /// The text exposition, with the gauges read from `db` at `now`. A database that does not
    /// answer does not take the counters with it: `cjs_database_up` is 0 and the gauges it
    /// would have given are left out (an outage is when the counters matter most).
    pub async fn render(&self, db: &DatabaseConnection, signer_up: bool, now: OffsetDateTime) -> String {
        let database_up = match self.refresh_gauges(db, now).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "metrics: the database did not answer; its gauges are left out");
                false
            }
        };
        self.database_up.set(i64::from(database_up));
        self.signer_up.set(i64::from(signer_up));
        let mut families = self.registry.gather();
        families.retain(|f| database_up || !DATABASE_GAUGES.contains(&f.name()));
        let mut out = Vec::new();
        TextEncoder::new().encode(&families, &mut out).expect("text encoding to a Vec");
        String::from_utf8(out).expect("the text format is UTF-8")
    }

    async fn refresh_gauges(&self, db: &DatabaseConnection, now: OffsetDateTime) -> Result<(), DbErr> {
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        for status in MailStatus::ALL {
            let n = mail_outbox::Entity::find().filter(mail_outbox::Column::Status.eq(status)).count(db).await?;
            self.outbox.with_label_values(&[status.as_str()]).set(count(n));
        }
        let valid = || {
            certificate::Entity::find()
                .filter(certificate::Column::Status.eq(CertificateStatus::Active))
                .filter(certificate::Column::NotAfter.gt(now))
        };
        self.certificates_active.set(count(valid().count(db).await?));
        let soon = now + time::Duration::days(EXPIRING_DAYS);
        self.certificates_expiring.set(count(valid().filter(certificate::Column::NotAfter.lte(soon)).count(db).await?));
        Ok(())
    }
}

tokio::task_local! {
    /// Set while an operation is only tried (a proposal for approval checks its operation by
    /// doing it in a transaction that is rolled back): nothing it counts happened.
    static TRIAL: ();
}

/// Runs `f` with what it counts going nowhere ([`metrics`] gives a registry nobody serves).
pub async fn uncounted<F: std::future::Future>(f: F) -> F::Output {
    TRIAL.scope((), f).await
}

/// The process's metrics (inside [`uncounted`], a set that is never served).
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    static DISCARDED: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    if TRIAL.try_with(|_| ()).is_ok() { &DISCARDED } else { &METRICS }
}
