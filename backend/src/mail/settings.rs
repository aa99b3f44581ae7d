//! Mail's settings: where mail goes (files or an SMTP relay), from whom, and when the worker and
//! the reminder scan run. Resolved from the configuration by `crate::config`.

use std::{path::PathBuf, time::Duration};

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// How the connection to the SMTP relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which is required (port 587 by default).
    Starttls,
    /// TLS from the first byte (SMTPS, port 465 by default).
    Tls,
    /// No encryption (port 25 by default): only for a relay on the same host or a test sink.
    None,
}

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum MailTransport {
    /// The embedded default: RFC 5322 files in this directory.
    Files(PathBuf),
    Smtp(SmtpSettings),
}

/// The SMTP relay.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub ca_file: Option<PathBuf>,
}

/// Mail delivery and the expiry reminders (R6).
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub transport: MailTransport,
    pub from: String,
    pub interval: Duration,
    pub retry_base: Duration,
    /// Days before expiry a reminder goes out, largest first.
    pub reminder_days: Vec<u32>,
    pub reminder_interval: Duration,
}

/// Default sender.
pub const DEFAULT_MAIL_FROM: &str = "ろうきん賃金控除事務支援システム <noreply@cjs.localhost>";
