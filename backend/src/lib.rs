//! The `cjs` service: HTTPS API with mutual TLS, the certificate authority, accounts under the
//! bank's lockout policy, and the single-page app. See README.md for the architecture.

pub mod api;
pub mod approvals;
pub mod audit;
pub mod auth;
pub mod background;
pub mod backup;
pub mod certificates;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod lifecycle;
pub mod mail;
pub mod metrics;
pub mod net;
pub mod pki;
pub mod read;
pub mod request_context;
pub mod secret;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tls;
