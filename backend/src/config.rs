//! Configuration: command-line flags > `CJS_*` environment > `cjs.toml` in the data directory (or
//! the file `--config` names) >
//! defaults. Every setting is declared once, in [`ConfigArgs`]: its flag and variable (clap), its
//! key in the file (serde, the same name), and its doc line. The file and the flags are merged by
//! serde (flags and environment over the file), keys of the file that no setting reads are
//! collected by `serde_ignored` and reported loudly at start-up, and defaults come from the
//! policies' `Default`s. Values are validated once, in [`Config::validate`].

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, bail};
use clap::Args;
use serde::{Deserialize, Serialize};

use crate::{
    auth::password::DEFAULT_QUEUE_LIMIT,
    domain::{lockout::LockoutPolicy, session::SessionPolicy},
    mail::settings::{DEFAULT_MAIL_FROM, MailSettings, MailTransport, SmtpSecurity, SmtpSettings},
    net::{DEFAULT_MAX_CONNECTIONS_PER_ADDRESS, IpNetwork, Networks},
    pki::{
        CaKeySource,
        hsm::{DEFAULT_SIGN_TIMEOUT, TokenSettings},
        issue::KeyType,
        p12::{P12Encryption, P12Settings},
    },
    secret::Secret,
    telemetry::LogFormat,
    tls::TlsIdentity,
};

/// Name of the optional configuration file inside the data directory.
pub const CONFIG_FILE: &str = "cjs.toml";

/// Every setting, once: options shared by `cjs serve` and every `cjs admin` command (flag
/// `--name`, variable `CJS_NAME`) and the keys of `cjs.toml` (`name`). `None` means "not given
/// here".
#[derive(Debug, Clone, Default, Args, Deserialize, Serialize)]
#[serde(default)]
pub struct ConfigArgs {
    /// Data directory: database, CA, server certificate, keys, mail. (Not a key of the file,
    /// which lives in it.)
    #[arg(long, env = "CJS_DATA_DIR", global = true)]
    #[serde(skip)]
    pub data_dir: Option<PathBuf>,
    /// Configuration file (default: cjs.toml in the data directory, if there); a file named
    /// here must exist. The Debian package's unit names /etc/cjs/cjs.toml.
    #[arg(long, env = "CJS_CONFIG", global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://… (default: a file in the data directory) or postgres://…
    #[arg(long, env = "CJS_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Address to listen on (HTTPS).
    #[arg(long, env = "CJS_LISTEN", global = true)]
    pub listen: Option<SocketAddr>,
    /// Address of a plain-HTTP listener serving only the revocation data (CRL, CA certificate,
    /// OCSP) to relying parties; off unless set.
    #[arg(long, env = "CJS_HTTP_LISTEN", global = true)]
    pub http_listen: Option<SocketAddr>,
    /// Echo the nonce of an OCSP request, signing an answer for that request alone (default
    /// false: a nonce request gets the answer kept for its certificate, without the nonce, as
    /// RFC 9919 §3.1.1 allows; anyone can send nonces to the plain-HTTP listener).
    #[arg(long, env = "CJS_OCSP_HONOUR_NONCES", global = true)]
    pub ocsp_honour_nonces: Option<bool>,
    /// Whether every unexpired certificate's OCSP answer is signed ahead and stored (default
    /// true: a first request is a lookup; false: each is signed when first asked for).
    #[arg(long, env = "CJS_OCSP_PREPRODUCE", global = true)]
    pub ocsp_preproduce: Option<bool>,
    /// Seconds between two passes of the OCSP pre-production (default 5): how soon after an
    /// issuance or a revocation its answer is pre-produced (until then it is signed when asked).
    #[arg(long, env = "CJS_OCSP_PREPRODUCE_INTERVAL_SECONDS", global = true)]
    pub ocsp_preproduce_interval_seconds: Option<u32>,
    /// With answers pre-produced, most OCSP answers signed on requests' paths a second (default
    /// 500); beyond, `tryLater`.
    #[arg(long, env = "CJS_OCSP_SIGNING_PER_SECOND", global = true)]
    pub ocsp_signing_per_second: Option<u32>,
    /// Address of a plain-HTTP listener serving only Prometheus metrics (/metrics); off unless set.
    #[arg(long, env = "CJS_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,
    /// Seconds between SIGTERM and the stop: readiness says 503 and connections close after their
    /// answer, so a load balancer moves clients away first (default 0: stop at once).
    #[arg(long, env = "CJS_SHUTDOWN_DRAIN_SECONDS", global = true)]
    pub shutdown_drain_seconds: Option<u32>,
    /// Base URL written into issued certificates for the CRL (…/pki/crl), OCSP (…/pki/ocsp) and
    /// CA certificate (…/pki/ca.crt); default http://<http-listen> when that is set, else the public URL.
    #[arg(long, env = "CJS_REVOCATION_BASE_URL", global = true)]
    pub revocation_base_url: Option<String>,
    /// Directory of the built SPA (Trunk's dist/).
    #[arg(long, env = "CJS_DIST_DIR", global = true)]
    pub dist_dir: Option<PathBuf>,
    /// Server certificate chain (PEM); generated in the data directory when not given.
    #[arg(long, env = "CJS_TLS_CERT", global = true, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Server private key (PEM).
    #[arg(long, env = "CJS_TLS_KEY", global = true, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// CA certificate (PEM); generated in the data directory when not given.
    #[arg(long, env = "CJS_CA_CERT", global = true, requires = "ca_key")]
    pub ca_cert: Option<PathBuf>,
    /// CA private key (PEM, PKCS#8).
    #[arg(long, env = "CJS_CA_KEY", global = true, requires = "ca_cert")]
    pub ca_key: Option<PathBuf>,
    /// PKCS#11 module (shared library) of the HSM holding the CA key; when set, the CA key is
    /// in that token (generated there on first start) instead of a file.
    #[arg(long, env = "CJS_CA_PKCS11_MODULE", global = true)]
    pub ca_pkcs11_module: Option<PathBuf>,
    /// Label of the PKCS#11 token holding the CA key.
    #[arg(long, env = "CJS_CA_PKCS11_TOKEN_LABEL", global = true)]
    pub ca_pkcs11_token_label: Option<String>,
    /// Label of the CA key pair in the token (default cjs-ca).
    #[arg(long, env = "CJS_CA_PKCS11_KEY_LABEL", global = true)]
    pub ca_pkcs11_key_label: Option<String>,
    /// File holding the token's user PIN (one line), when the PIN is not in CJS_CA_PKCS11_PIN.
    /// (The PIN itself is never a flag.)
    #[arg(long, env = "CJS_CA_PKCS11_PIN_FILE", global = true)]
    pub ca_pkcs11_pin_file: Option<PathBuf>,
    /// Seconds a CA signature waits for the token before it is given up with 503 (default 10).
    #[arg(long, env = "CJS_CA_PKCS11_TIMEOUT", global = true)]
    pub ca_pkcs11_timeout: Option<u32>,
    /// File holding the secret that signs issuance tokens; generated in the data directory when not given.
    #[arg(long, env = "CJS_TOKEN_KEY_FILE", global = true)]
    pub token_key_file: Option<PathBuf>,
    /// Consecutive wrong passwords that lock an ID (R2).
    #[arg(long, env = "CJS_LOCKOUT_MAX_FAILURES", global = true)]
    pub lockout_max_failures: Option<u32>,
    /// Minutes a lock lasts (R2).
    #[arg(long, env = "CJS_LOCKOUT_MINUTES", global = true)]
    pub lockout_minutes: Option<u32>,
    /// Locks in a row that block an ID (R2).
    #[arg(long, env = "CJS_LOCKOUT_LOCKS_BEFORE_BLOCK", global = true)]
    pub lockout_locks_before_block: Option<u32>,
    /// Key type of issued client certificates.
    #[arg(long, env = "CJS_CERT_KEY_TYPE", global = true, value_enum)]
    pub cert_key_type: Option<KeyType>,
    /// Encryption of the .p12 file.
    #[arg(long, env = "CJS_P12_ENCRYPTION", global = true, value_enum)]
    pub p12_encryption: Option<P12Encryption>,
    /// PBKDF2 / MAC iteration count of the .p12 (AES-256 setting).
    #[arg(long, env = "CJS_P12_ITERATIONS", global = true)]
    pub p12_iterations: Option<u32>,
    /// Put the issuing CA's certificate into the .p12 too (default false: Windows then asks at
    /// import to trust it as a root; browsers offer the certificate without it).
    #[arg(long, env = "CJS_P12_INCLUDE_CA", global = true)]
    pub p12_include_ca: Option<bool>,
    /// Argon2id memory cost in KiB (OWASP minimum 19456).
    #[arg(long, env = "CJS_ARGON2_MEMORY_KIB", global = true)]
    pub argon2_memory_kib: Option<u32>,
    /// Password attempts a minute per client address (token bucket, burst of eight minutes'
    /// worth); 0 turns the throttle off.
    #[arg(long, env = "CJS_PASSWORD_ATTEMPTS_PER_MINUTE", global = true)]
    pub password_attempts_per_minute: Option<u32>,
    /// Password verifications that may wait for a core; beyond, 503 at once.
    #[arg(long, env = "CJS_PASSWORD_QUEUE_LIMIT", global = true)]
    pub password_queue_limit: Option<u32>,
    /// Log format: text or json.
    #[arg(long, env = "CJS_LOG_FORMAT", global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// The URL users reach this service at (mails, the 「ご利用開始のお知らせ」 letter); default https://<listen>.
    #[arg(long, env = "CJS_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Minutes a login session may stay idle.
    #[arg(long, env = "CJS_SESSION_IDLE_MINUTES", global = true)]
    pub session_idle_minutes: Option<u32>,
    /// Hours a login session lasts at most.
    #[arg(long, env = "CJS_SESSION_ABSOLUTE_HOURS", global = true)]
    pub session_absolute_hours: Option<u32>,
    /// Default per-company limit of users holding a certificate.
    #[arg(long, env = "CJS_CERTIFICATE_LIMIT", global = true)]
    pub certificate_limit: Option<u32>,
    /// SMTP relay host; when not set, mail is written as .eml files under <data-dir>/mail/.
    #[arg(long, env = "CJS_SMTP_HOST", global = true)]
    pub smtp_host: Option<String>,
    /// SMTP port (default: 587 for starttls, 465 for tls, 25 for none).
    #[arg(long, env = "CJS_SMTP_PORT", global = true)]
    pub smtp_port: Option<u16>,
    /// SMTP connection security.
    #[arg(long, env = "CJS_SMTP_SECURITY", global = true, value_enum)]
    pub smtp_security: Option<SmtpSecurity>,
    /// SMTP user name (AUTH); the password comes from CJS_SMTP_PASSWORD or the file.
    #[arg(long, env = "CJS_SMTP_USERNAME", global = true)]
    pub smtp_username: Option<String>,
    /// SMTP password. Prefer the environment or cjs.toml to a flag (flags show in `ps`).
    #[arg(long, env = "CJS_SMTP_PASSWORD", global = true, hide_env_values = true)]
    pub smtp_password: Option<Secret>,
    /// Extra CA certificate (PEM) trusted for the SMTP relay, besides the system's.
    #[arg(long, env = "CJS_SMTP_CA_FILE", global = true)]
    pub smtp_ca_file: Option<PathBuf>,
    /// Sender of every mail, e.g. "ろうきん賃金控除事務支援システム <noreply@example.jp>".
    #[arg(long, env = "CJS_MAIL_FROM", global = true)]
    pub mail_from: Option<String>,
    /// Seconds between two passes of the mail delivery worker.
    #[arg(long, env = "CJS_MAIL_INTERVAL_SECONDS", global = true)]
    pub mail_interval_seconds: Option<u32>,
    /// First retry delay in seconds after a failed delivery; doubles up to 60 times this.
    #[arg(long, env = "CJS_MAIL_RETRY_SECONDS", global = true)]
    pub mail_retry_seconds: Option<u32>,
    /// Days before expiry the reminders are sent (R6: 30; e.g. 30,10).
    #[arg(long, env = "CJS_REMINDER_DAYS", global = true, value_delimiter = ',')]
    pub reminder_days: Option<Vec<u32>>,
    /// Minutes between two scans for certificates to remind about.
    #[arg(long, env = "CJS_REMINDER_INTERVAL_MINUTES", global = true)]
    pub reminder_interval_minutes: Option<u32>,
    /// Load balancers whose PROXY protocol v2 header gives the client address (comma-separated
    /// IP addresses or CIDR networks; in the file also a list); they must send one. Default: none.
    #[arg(long, env = "CJS_TRUSTED_PROXIES", global = true, value_delimiter = ',')]
    #[serde(with = "network_list")]
    pub trusted_proxies: Option<Vec<IpNetwork>>,
    /// Concurrent connections one client address may hold (further ones are closed at once).
    #[arg(long, env = "CJS_MAX_CONNECTIONS_PER_ADDRESS", global = true)]
    pub max_connections_per_address: Option<u32>,
    /// The networks bank staff work from (comma-separated IP addresses or CIDR networks; in the
    /// file also a list): staff IDs authenticate and log in only from there. Default: anywhere.
    #[arg(long, env = "CJS_STAFF_NETWORKS", global = true, value_delimiter = ',')]
    #[serde(with = "network_list")]
    pub staff_networks: Option<Vec<IpNetwork>>,
    /// The audit key's file, when the CA key is not in a token (default audit-key.pem in the
    /// data directory, made on first start). Never the CA key.
    #[arg(long, env = "CJS_AUDIT_KEY", global = true)]
    pub audit_key: Option<PathBuf>,
    /// Label of the audit key pair in the CA's token (default cjs-audit), when the CA key is in one.
    #[arg(long, env = "CJS_AUDIT_PKCS11_KEY_LABEL", global = true)]
    pub audit_pkcs11_key_label: Option<String>,
    /// Minutes between signed checkpoints of the audit log (default 60; one more at shutdown).
    #[arg(long, env = "CJS_AUDIT_CHECKPOINT_MINUTES", global = true)]
    pub audit_checkpoint_minutes: Option<u32>,
    /// The auditor's address every checkpoint is mailed to. Default: none.
    #[arg(long, env = "CJS_AUDIT_CHECKPOINT_MAIL", global = true)]
    pub audit_checkpoint_mail: Option<String>,
    /// A directory outside the data directory every checkpoint is written to as a file. Default: none.
    #[arg(long, env = "CJS_AUDIT_CHECKPOINT_DIR", global = true)]
    pub audit_checkpoint_dir: Option<PathBuf>,
    /// Operations a staff member's request only proposes until a second staff member approves
    /// it (検印): revoke, unlock_master, reset_password, change_master, suspend, resume,
    /// certificate_limit, retire_staff (comma-separated; in the file a list). Default: all of
    /// them; `none` (or `[]` in the file) for none.
    #[arg(long, env = "CJS_APPROVAL_REQUIRED", global = true, value_delimiter = ',')]
    pub approval_required: Option<Vec<String>>,
    /// Hours a proposed operation may be approved (default 24).
    #[arg(long, env = "CJS_APPROVAL_HOURS", global = true)]
    pub approval_hours: Option<u32>,
}

/// `trusted_proxies` and `staff_networks` in the file: `"10.0.0.1, 10.1.0.0/16"` or
/// `["10.0.0.1", "10.1.0.0/16"]`.
mod network_list {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::net::IpNetwork;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        Text(String),
        List(Vec<String>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<IpNetwork>>, D::Error> {
        let items: Vec<String> = match Option::<Given>::deserialize(d)? {
            None => return Ok(None),
            Some(Given::Text(s)) => s.split(',').filter(|p| !p.trim().is_empty()).map(str::to_owned).collect(),
            Some(Given::List(v)) => v,
        };
        let parsed = items.iter().map(|p| p.trim().parse::<IpNetwork>());
        parsed.collect::<Result<_, _>>().map(Some).map_err(|e| D::Error::custom(format!("network list: {e}")))
    }

    pub fn serialize<S: Serializer>(v: &Option<Vec<IpNetwork>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(list) => s.collect_seq(list.iter().map(ToString::to_string)),
            None => s.serialize_none(),
        }
    }
}

impl ConfigArgs {
    /// These settings (flags and environment) over those of the file `text`, and the keys of the
    /// file that no setting reads.
    fn over_file(&self, text: &str) -> anyhow::Result<(ConfigArgs, Vec<String>)> {
        let mut unknown = Vec::new();
        let mut merged: toml::Table = toml::from_str(text)?;
        match toml::Value::try_from(self).context("settings from flags")? {
            toml::Value::Table(flags) => merged.extend(flags),
            _ => bail!("settings from flags are not a table"),
        }
        let mut settings: ConfigArgs = serde_ignored::deserialize(toml::Value::Table(merged), |path| {
            unknown.push(path.to_string());
        })?;
        // Flags and environment hold only known keys: what is ignored came from the file.
        settings.data_dir.clone_from(&self.data_dir);
        Ok((settings, unknown))
    }
}

/// The resolved, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub listen: SocketAddr,
    /// The plain-HTTP listener of the revocation data.
    pub http_listen: Option<SocketAddr>,
    /// Whether OCSP answers echo a request's nonce (each then signed for its request).
    pub ocsp_honour_nonces: bool,
    /// Whether OCSP answers are pre-produced for every unexpired certificate.
    pub ocsp_preproduce: bool,
    /// Time between two passes of the OCSP pre-production.
    pub ocsp_preproduce_interval: Duration,
    /// Most OCSP answers signed on requests' paths a second (with pre-production on).
    pub ocsp_signing_per_second: std::num::NonZeroU32,
    /// The plain-HTTP listener of the Prometheus metrics.
    pub metrics_listen: Option<SocketAddr>,
    /// How long a SIGTERM drains before the stop.
    pub shutdown_drain: Duration,
    /// The base URL of the revocation pointers, when given; else see [`Config::revocation_base`].
    pub revocation_base_url: Option<String>,
    pub dist_dir: PathBuf,
    /// The server's certificate and key, when given; else the embedded default makes one.
    pub tls_identity: Option<TlsIdentity>,
    /// Where the CA key is.
    pub ca_key: CaKeySource,
    pub token_key_file: PathBuf,
    pub lockout: LockoutPolicy,
    pub cert_key_type: KeyType,
    pub p12: P12Settings,
    pub argon2_memory_kib: u32,
    /// Per-address throttle of password attempts (0: off).
    pub password_attempts_per_minute: u32,
    /// Password verifications that may wait for a core.
    pub password_queue_limit: u32,
    pub log_format: LogFormat,
    pub sessions: SessionPolicy,
    /// Most users of one company holding a valid certificate at once.
    pub certificate_limit: u32,
    /// The URL users reach this service at, when configured; else it is the address the HTTPS
    /// listener got ([`Config::public_url_at`]).
    pub public_url: Option<String>,
    pub mail: MailSettings,
    /// Peers whose PROXY protocol header is believed (and required).
    pub trusted_proxies: Networks,
    /// Where staff IDs may authenticate from; `None`: anywhere.
    pub staff_networks: Option<Networks>,
    /// Concurrent connections per client address.
    pub max_connections_per_address: u32,
    /// The audit key and where checkpoints go.
    pub audit: AuditSettings,
    /// Which staff operations need a second staff member's approval (検印).
    pub approvals: crate::approvals::Policy,
    /// Keys of `cjs.toml` that nobody reads; reported at start-up.
    pub unknown_keys: Vec<String>,
    /// The settings file: the one `--config` names, else `cjs.toml` in the data directory
    /// (whether or not it is there).
    pub config_file: PathBuf,
}

impl Config {
    /// Resolves the configuration from flags/environment (already merged by clap) and the file.
    pub fn resolve(args: &ConfigArgs) -> anyhow::Result<Self> {
        let data_dir = args.data_dir.clone().unwrap_or_else(|| PathBuf::from("data"));
        let path = args.config.clone().unwrap_or_else(|| data_dir.join(CONFIG_FILE));
        // `try_exists`: a file this user may not look at is an error of its own, not "absent".
        let exists = path.try_exists().with_context(|| format!("Cannot read {}", path.display()))?;
        if args.config.is_some() && !exists {
            bail!("The configuration file {} does not exist (--config / CJS_CONFIG)", path.display());
        }
        let text = if exists {
            std::fs::read_to_string(&path).with_context(|| format!("Failed to read {}", path.display()))?
        } else {
            String::new()
        };
        let (s, unknown_keys) =
            args.over_file(&text).with_context(|| format!("Invalid configuration file {}", path.display()))?;
        let lockout = LockoutPolicy::default();
        let sessions = SessionPolicy::default();
        let p12 = P12Settings::default();
        let listen = s.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8443)));
        let config = Config {
            token_key_file: s.token_key_file.clone().unwrap_or_else(|| data_dir.join("token.key")),
            database_url: s
                .database_url
                .clone()
                .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", data_dir.join("cjs.db").display())),
            listen,
            http_listen: s.http_listen,
            ocsp_honour_nonces: s.ocsp_honour_nonces.unwrap_or(false),
            ocsp_preproduce: s.ocsp_preproduce.unwrap_or(true),
            ocsp_signing_per_second: std::num::NonZeroU32::new(
                s.ocsp_signing_per_second.unwrap_or(crate::certificates::ocsp::SIGNING_PER_SECOND.get()),
            )
            .context("ocsp_signing_per_second must be at least 1")?,
            ocsp_preproduce_interval: Duration::from_secs(u64::from(
                s.ocsp_preproduce_interval_seconds.unwrap_or(5).max(1),
            )),
            metrics_listen: s.metrics_listen,
            shutdown_drain: Duration::from_secs(u64::from(s.shutdown_drain_seconds.unwrap_or(0))),
            revocation_base_url: s.revocation_base_url.as_deref().map(|u| u.trim_end_matches('/').to_owned()),
            dist_dir: s.dist_dir.clone().unwrap_or_else(|| PathBuf::from("dist")),
            tls_identity: tls_identity(&s)?,
            ca_key: ca_key_source(&s)?,
            lockout: LockoutPolicy {
                max_failures: s.lockout_max_failures.unwrap_or(lockout.max_failures),
                lock_duration: s.lockout_minutes.map_or(lockout.lock_duration, minutes),
                locks_before_block: s.lockout_locks_before_block.unwrap_or(lockout.locks_before_block),
            },
            cert_key_type: s.cert_key_type.unwrap_or(KeyType::Rsa2048),
            p12: P12Settings {
                encryption: s.p12_encryption.unwrap_or(p12.encryption),
                iterations: s.p12_iterations.unwrap_or(p12.iterations),
                include_ca: s.p12_include_ca.unwrap_or(p12.include_ca),
            },
            argon2_memory_kib: s.argon2_memory_kib.unwrap_or(crate::auth::password::DEFAULT_MEMORY_KIB),
            password_attempts_per_minute: s
                .password_attempts_per_minute
                .unwrap_or(crate::auth::throttle::DEFAULT_ATTEMPTS_PER_MINUTE),
            password_queue_limit: s
                .password_queue_limit
                .unwrap_or(u32::try_from(DEFAULT_QUEUE_LIMIT).unwrap_or(u32::MAX)),
            log_format: s.log_format.unwrap_or_default(),
            sessions: SessionPolicy {
                idle: s.session_idle_minutes.map_or(sessions.idle, |m| time::Duration::minutes(i64::from(m))),
                absolute: s.session_absolute_hours.map_or(sessions.absolute, |h| time::Duration::hours(i64::from(h))),
            },
            certificate_limit: s.certificate_limit.unwrap_or(DEFAULT_CERTIFICATE_LIMIT),
            public_url: s.public_url.clone().filter(|u| !u.is_empty()),
            mail: mail_settings(&s, &data_dir),
            trusted_proxies: Networks::new(s.trusted_proxies.clone().unwrap_or_default()),
            staff_networks: s.staff_networks.clone().map(Networks::new),
            max_connections_per_address: s.max_connections_per_address.unwrap_or(DEFAULT_MAX_CONNECTIONS_PER_ADDRESS),
            audit: audit_settings(&s, &data_dir)?,
            approvals: approval_policy(&s)?,
            data_dir,
            unknown_keys,
            config_file: path,
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.lockout.max_failures == 0 || self.lockout.locks_before_block == 0 {
            bail!("lockout_max_failures and lockout_locks_before_block must be at least 1");
        }
        if self.lockout.lock_duration.is_zero() {
            bail!("lockout_minutes must be at least 1");
        }
        if !(self.database_url.starts_with("sqlite:") || self.database_url.starts_with("postgres")) {
            bail!("database_url must start with sqlite:// or postgres://");
        }
        if self.p12.iterations < 1_000 {
            bail!("p12_iterations must be at least 1000");
        }
        if self.staff_networks.as_ref().is_some_and(Networks::is_empty) {
            bail!("staff_networks is empty: no staff member could log in. Name their networks, or leave it unset");
        }
        if self.argon2_memory_kib < 8 {
            bail!("argon2_memory_kib is too small");
        }
        if self.public_url.as_ref().is_some_and(|u| !u.starts_with("https://")) {
            bail!("public_url must start with https://");
        }
        let mail = &self.mail;
        if mail.from.parse::<lettre::message::Mailbox>().is_err() {
            bail!("mail_from is not a valid address: {}", mail.from);
        }
        if mail.interval.is_zero() || mail.retry_base.is_zero() || mail.reminder_interval.is_zero() {
            bail!("mail_interval_seconds, mail_retry_seconds and reminder_interval_minutes must be at least 1");
        }
        if mail.reminder_days.iter().any(|&d| d == 0 || d > 366) {
            bail!("reminder_days must be between 1 and 366");
        }
        if let MailTransport::Smtp(smtp) = &mail.transport {
            if smtp.host.is_empty() {
                bail!("smtp_host is empty");
            }
            if smtp.username.is_some() != smtp.password.is_some() {
                bail!("smtp_username and smtp_password must be given together");
            }
            if smtp.password.is_some() && smtp.security == SmtpSecurity::None {
                bail!("refusing to send the SMTP password without TLS: set smtp_security to starttls or tls");
            }
        }
        if let Some(url) = &self.revocation_base_url {
            let ok = (url.starts_with("http://") || url.starts_with("https://"))
                && url.parse::<actix_web::http::Uri>().is_ok_and(|u| u.host().is_some() && u.query().is_none())
                && url.is_ascii();
            if !ok {
                bail!("revocation_base_url must be an http:// or https:// URL without a query: {url}");
            }
        } else if let Some(addr) = self.http_listen
            && addr.ip().is_unspecified()
        {
            bail!(
                "http_listen {addr} listens on every address, so it names no host for the certificates' revocation pointers: set revocation_base_url (e.g. http://pki.example.jp:{})",
                addr.port()
            );
        }
        if self.max_connections_per_address == 0 {
            bail!("max_connections_per_address must be at least 1");
        }
        Ok(())
    }

    /// The URL users reach this service at, given the address the HTTPS listener got (`listen`
    /// with port 0 gets any free port): the configured one, else `https://<that address>`.
    /// Resolved once at start-up; the services keep the value.
    pub fn public_url_at(&self, https_bound: SocketAddr) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("https://{https_bound}"))
    }

    /// The base URL of the revocation pointers, given the addresses the listeners got: the
    /// configured one, else `http://<plain-HTTP address>`, else the public URL.
    pub fn revocation_base(&self, https_bound: SocketAddr, http_bound: Option<SocketAddr>) -> String {
        match (&self.revocation_base_url, http_bound) {
            (Some(url), _) => url.clone(),
            (None, Some(addr)) => format!("http://{addr}"),
            (None, None) => self.public_url_at(https_bound).trim_end_matches('/').to_owned(),
        }
    }

    /// Whether the database is the embedded SQLite one.
    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

/// Environment variable holding the PKCS#11 user PIN of the CA's token.
pub const PKCS11_PIN_VAR: &str = "CJS_CA_PKCS11_PIN";
/// Label of the CA key pair in the token when none is given.
pub const DEFAULT_PKCS11_KEY_LABEL: &str = "cjs-ca";

/// The token of the CA key, when `ca_pkcs11_module` is set: its label, the key's, and the PIN
/// (from [`PKCS11_PIN_VAR`], else the first line of `ca_pkcs11_pin_file`).
fn token_settings(s: &ConfigArgs) -> anyhow::Result<Option<TokenSettings>> {
    let Some(module) = s.ca_pkcs11_module.clone() else {
        if s.ca_pkcs11_token_label.is_some()
            || s.ca_pkcs11_key_label.is_some()
            || s.ca_pkcs11_pin_file.is_some()
            || s.ca_pkcs11_timeout.is_some()
        {
            bail!("the ca_pkcs11_* settings need ca_pkcs11_module (the PKCS#11 library of the HSM)");
        }
        return Ok(None);
    };
    let token_label = s
        .ca_pkcs11_token_label
        .clone()
        .filter(|l| !l.is_empty())
        .context("ca_pkcs11_module is set: ca_pkcs11_token_label must name the token holding the CA key")?;
    let key_label = s.ca_pkcs11_key_label.clone().unwrap_or_else(|| DEFAULT_PKCS11_KEY_LABEL.to_owned());
    // Not required here: commands that never sign (`cjs admin revoke`…) run without it.
    let pin = match (std::env::var(PKCS11_PIN_VAR), &s.ca_pkcs11_pin_file) {
        (Ok(pin), _) if !pin.is_empty() => Some(pin),
        (_, Some(file)) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("Failed to read ca_pkcs11_pin_file {}", file.display()))?;
            let pin = text.lines().next().unwrap_or_default().to_owned();
            anyhow::ensure!(!pin.is_empty(), "ca_pkcs11_pin_file {} holds no PIN", file.display());
            Some(pin)
        }
        _ => None,
    };
    let sign_timeout = match s.ca_pkcs11_timeout {
        None => DEFAULT_SIGN_TIMEOUT,
        Some(0) => bail!("ca_pkcs11_timeout must be at least 1 second"),
        Some(seconds) => Duration::from_secs(u64::from(seconds)),
    };
    Ok(Some(TokenSettings { module, token_label, key_label, pin: pin.map(Secret::from), sign_timeout }))
}

/// `approval_required` and `approval_hours`.
fn approval_policy(s: &ConfigArgs) -> anyhow::Result<crate::approvals::Policy> {
    use crate::approvals::{Kind, Policy};
    let required = match &s.approval_required {
        None => Kind::ALL.to_vec(),
        Some(items) => {
            let items: Vec<&str> = items.iter().map(|i| i.trim()).filter(|i| !i.is_empty() && *i != "none").collect();
            let mut kinds = Vec::new();
            for item in items {
                let kind = Kind::parse(item).with_context(|| {
                    let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                    format!("approval_required: unknown operation {item:?} (known: {}, or none)", known.join(", "))
                })?;
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
            kinds
        }
    };
    let hours = s.approval_hours.unwrap_or(crate::approvals::DEFAULT_HOURS);
    if hours == 0 || hours > 24 * 30 {
        bail!("approval_hours must be between 1 and 720");
    }
    Ok(Policy { required, ttl: time::Duration::hours(hours.into()) })
}

/// Where the audit key is and where its checkpoints go.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    pub key: crate::audit::key::AuditKeySource,
    pub checkpoints: crate::audit::checkpoint::Settings,
}

/// The default label of the audit key in the CA's token.
pub const DEFAULT_AUDIT_KEY_LABEL: &str = "cjs-audit";

fn audit_settings(s: &ConfigArgs, data_dir: &Path) -> anyhow::Result<AuditSettings> {
    use crate::audit::key::AuditKeySource;
    let key = match (token_settings(s)?, &s.audit_key) {
        // A file named outright wins, also beside a token: a CA key moved into an HSM keeps the
        // audit key that signed the log's checkpoints so far.
        (_, Some(path)) => AuditKeySource::File(path.clone()),
        (Some(mut token), None) => {
            token.key_label = s.audit_pkcs11_key_label.clone().unwrap_or_else(|| DEFAULT_AUDIT_KEY_LABEL.to_owned());
            if token.key_label.is_empty()
                || token.key_label
                    == s.ca_pkcs11_key_label.clone().unwrap_or_else(|| DEFAULT_PKCS11_KEY_LABEL.to_owned())
            {
                bail!("audit_pkcs11_key_label must name a key of its own, never the CA key");
            }
            AuditKeySource::Token(token)
        }
        (None, None) => AuditKeySource::File(data_dir.join("audit-key.pem")),
    };
    let minutes = s.audit_checkpoint_minutes.unwrap_or(60);
    if minutes == 0 {
        bail!("audit_checkpoint_minutes must be at least 1");
    }
    let mail = s.audit_checkpoint_mail.clone().filter(|m| !m.is_empty());
    if let Some(m) = &mail
        && m.parse::<lettre::message::Mailbox>().is_err()
    {
        bail!("audit_checkpoint_mail is not a valid address: {m}");
    }
    let dir = s.audit_checkpoint_dir.clone();
    if let Some(dir) = &dir {
        // Resolved as far as they exist (`..` and symbolic links included), else as written.
        let resolved = |p: &Path| std::fs::canonicalize(p).or_else(|_| std::path::absolute(p));
        let inside = match (resolved(dir), resolved(data_dir)) {
            (Ok(d), Ok(data)) => d.starts_with(&data),
            _ => false,
        };
        if inside {
            bail!(
                "audit_checkpoint_dir {} is inside the data directory: checkpoints must leave it (whoever rewrites the data could rewrite them)",
                dir.display()
            );
        }
    }
    Ok(AuditSettings {
        key,
        checkpoints: crate::audit::checkpoint::Settings {
            interval: Duration::from_secs(u64::from(minutes) * 60),
            mail,
            dir,
        },
    })
}

/// Where the CA key is: a token when `ca_pkcs11_module` is set, else the configured files, else
/// the data directory's own.
fn ca_key_source(s: &ConfigArgs) -> anyhow::Result<CaKeySource> {
    Ok(match (token_settings(s)?, s.ca_cert.clone(), s.ca_key.clone()) {
        (Some(_), _, Some(_)) => {
            bail!("ca_key and ca_pkcs11_module exclude each other: the CA key is either a file or in a token")
        }
        (Some(settings), cert, None) => CaKeySource::Token { settings, cert },
        (None, Some(cert), Some(key)) => CaKeySource::Files { cert, key },
        (None, None, None) => CaKeySource::Generated,
        (None, _, _) => bail!("ca_cert and ca_key must be given together"),
    })
}

/// The server's certificate and key, when both are given.
fn tls_identity(s: &ConfigArgs) -> anyhow::Result<Option<TlsIdentity>> {
    match (s.tls_cert.clone(), s.tls_key.clone()) {
        (Some(cert), Some(key)) => Ok(Some(TlsIdentity { cert, key })),
        (None, None) => Ok(None),
        _ => bail!("tls_cert and tls_key must be given together"),
    }
}

/// Default per-company limit of users holding a valid certificate.
pub const DEFAULT_CERTIFICATE_LIMIT: u32 = 20;

fn minutes(m: u32) -> Duration {
    Duration::from_secs(60 * u64::from(m))
}

fn mail_settings(s: &ConfigArgs, data_dir: &std::path::Path) -> MailSettings {
    let transport = match s.smtp_host.clone() {
        None => MailTransport::Files(data_dir.join("mail")),
        Some(host) => {
            let security = s.smtp_security.unwrap_or(SmtpSecurity::Starttls);
            let default_port = match security {
                SmtpSecurity::Starttls => 587,
                SmtpSecurity::Tls => 465,
                SmtpSecurity::None => 25,
            };
            MailTransport::Smtp(SmtpSettings {
                host,
                port: s.smtp_port.unwrap_or(default_port),
                security,
                username: s.smtp_username.clone(),
                password: s.smtp_password.clone(),
                ca_file: s.smtp_ca_file.clone(),
            })
        }
    };
    let mut reminder_days = s.reminder_days.clone().unwrap_or_else(|| vec![30]);
    reminder_days.sort_unstable_by(|a, b| b.cmp(a));
    reminder_days.dedup();
    MailSettings {
        transport,
        from: s.mail_from.clone().unwrap_or_else(|| DEFAULT_MAIL_FROM.to_owned()),
        interval: Duration::from_secs(u64::from(s.mail_interval_seconds.unwrap_or(5))),
        retry_base: Duration::from_secs(u64::from(s.mail_retry_seconds.unwrap_or(60))),
        reminder_days,
        reminder_interval: minutes(s.reminder_interval_minutes.unwrap_or(60)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_without_file() {
        let dir = tempfile::tempdir().unwrap();
        let args = ConfigArgs { data_dir: Some(dir.path().into()), ..Default::default() };
        let c = Config::resolve(&args).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8443");
        assert_eq!(c.lockout.max_failures, 6);
        assert_eq!(c.lockout.lock_duration, Duration::from_secs(3600));
        assert_eq!(c.lockout.locks_before_block, 3);
        assert!(c.database_url.starts_with("sqlite://") && c.database_url.contains("cjs.db"));
        assert_eq!(c.p12.iterations, crate::pki::p12::DEFAULT_P12_ITERATIONS);
    }

    #[test]
    fn flags_win_over_file_and_unknown_keys_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "listen = \"127.0.0.1:9000\"\nlockout_minutes = 30\nlockout_max_failure = 3\n",
        )
        .unwrap();
        let args = ConfigArgs {
            data_dir: Some(dir.path().into()),
            listen: Some("127.0.0.1:9443".parse().unwrap()),
            ..Default::default()
        };
        let c = Config::resolve(&args).unwrap();
        assert_eq!(c.listen.port(), 9443);
        assert_eq!(c.lockout.lock_duration, Duration::from_secs(1800));
        assert_eq!(c.unknown_keys, vec!["lockout_max_failure".to_string()]);
    }

    #[test]
    fn a_named_configuration_file_is_read_instead_of_the_data_directorys_and_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "listen = \"127.0.0.1:9000\"\n").unwrap();
        let etc = dir.path().join("etc-cjs.toml");
        std::fs::write(&etc, "listen = \"127.0.0.1:9001\"\n").unwrap();
        let args = ConfigArgs { data_dir: Some(dir.path().into()), config: Some(etc.clone()), ..Default::default() };
        let c = Config::resolve(&args).unwrap();
        assert_eq!(c.listen.port(), 9001);
        // The file whose keys are reported at start is the one read, not the data directory's.
        assert_eq!(c.config_file, etc);
        std::fs::remove_file(&etc).unwrap();
        let missing = format!("{:#}", Config::resolve(&args).unwrap_err());
        assert!(missing.contains("does not exist") && missing.contains("etc-cjs.toml"), "{missing}");
    }

    #[test]
    fn mail_defaults_to_files_and_smtp_settings_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let args = ConfigArgs { data_dir: Some(dir.path().into()), ..Default::default() };
        let c = Config::resolve(&args).unwrap();
        assert!(matches!(&c.mail.transport, MailTransport::Files(d) if d.ends_with("mail")));
        assert_eq!(c.mail.reminder_days, vec![30]);
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "smtp_host = \"relay.example.jp\"\nsmtp_username = \"cjs\"\nsmtp_password = \"hunter2\"\nreminder_days = [10, 30, 10]\n",
        )
        .unwrap();
        let c = Config::resolve(&args).unwrap();
        let MailTransport::Smtp(smtp) = &c.mail.transport else { panic!("smtp expected") };
        assert_eq!((smtp.port, smtp.security), (587, SmtpSecurity::Starttls));
        assert_eq!(c.mail.reminder_days, vec![30, 10]);
        let printed = format!("{c:?}");
        assert!(!printed.contains("hunter2") && printed.contains("REDACTED"), "{printed}");
    }

    #[test]
    fn smtp_password_without_tls_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "smtp_host = \"relay\"\nsmtp_security = \"none\"\nsmtp_username = \"u\"\nsmtp_password = \"p\"\n",
        )
        .unwrap();
        let args = ConfigArgs { data_dir: Some(dir.path().into()), ..Default::default() };
        let e = Config::resolve(&args).unwrap_err();
        assert!(format!("{e:#}").contains("without TLS"), "{e:#}");
    }

    #[test]
    fn trusted_proxies_and_connection_cap_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let args = ConfigArgs { data_dir: Some(dir.path().into()), ..Default::default() };
        let c = Config::resolve(&args).unwrap();
        assert!(c.trusted_proxies.is_empty());
        assert_eq!(c.max_connections_per_address, 128);
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "trusted_proxies = \"10.0.0.1, 10.1.0.0/16\"\nmax_connections_per_address = 8\n",
        )
        .unwrap();
        let c = Config::resolve(&args).unwrap();
        assert!(c.trusted_proxies.contains("10.1.2.3".parse().unwrap()));
        assert!(!c.trusted_proxies.contains("10.0.0.2".parse().unwrap()));
        assert_eq!(c.max_connections_per_address, 8);
        std::fs::write(dir.path().join(CONFIG_FILE), "trusted_proxies = [\"2001:db8::/32\"]\n").unwrap();
        let c = Config::resolve(&args).unwrap();
        assert!(c.trusted_proxies.contains("2001:db8::7".parse().unwrap()));
        let flag = ConfigArgs { trusted_proxies: Some(vec!["127.0.0.1".parse().unwrap()]), ..args.clone() };
        let c = Config::resolve(&flag).unwrap();
        assert_eq!(c.trusted_proxies.networks().len(), 1);
        assert!(c.trusted_proxies.contains("127.0.0.1".parse().unwrap()));
        std::fs::write(dir.path().join(CONFIG_FILE), "trusted_proxies = \"10.0.0.1/8\"\n").unwrap();
        let e = Config::resolve(&args).unwrap_err();
        assert!(format!("{e:#}").contains("host bits"), "{e:#}");
        std::fs::write(dir.path().join(CONFIG_FILE), "max_connections_per_address = 0\n").unwrap();
        assert!(Config::resolve(&args).is_err());
    }

    #[test]
    fn revocation_base_follows_the_http_listener_else_the_public_url() {
        let dir = tempfile::tempdir().unwrap();
        let args = ConfigArgs { data_dir: Some(dir.path().into()), ..Default::default() };
        let c = Config::resolve(&args).unwrap();
        assert_eq!(c.revocation_base(c.listen, None), "https://127.0.0.1:8443");
        let http = ConfigArgs { http_listen: Some("127.0.0.1:0".parse().unwrap()), ..args.clone() };
        let c = Config::resolve(&http).unwrap();
        assert_eq!(c.revocation_base(c.listen, Some("127.0.0.1:8080".parse().unwrap())), "http://127.0.0.1:8080");
        let wildcard = ConfigArgs { http_listen: Some("0.0.0.0:80".parse().unwrap()), ..args.clone() };
        let e = Config::resolve(&wildcard).unwrap_err();
        assert!(format!("{e:#}").contains("revocation_base_url"), "{e:#}");
        let given = ConfigArgs { revocation_base_url: Some("http://pki.example.jp/".into()), ..wildcard };
        let c = Config::resolve(&given).unwrap();
        assert_eq!(c.revocation_base(c.listen, Some("0.0.0.0:80".parse().unwrap())), "http://pki.example.jp");
        for bad in ["ftp://x", "http://", "http://x/?a=1", "pki.example.jp"] {
            let a = ConfigArgs { revocation_base_url: Some(bad.into()), ..args.clone() };
            assert!(Config::resolve(&a).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "cert_key_type = \"dsa\"\n").unwrap();
        let args = ConfigArgs { data_dir: Some(dir.path().into()), ..Default::default() };
        assert!(Config::resolve(&args).is_err());
    }

    #[test]
    fn flags_win_key_by_key_and_the_data_dir_is_no_key_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "data_dir = \"/elsewhere\"\ncert_key_type = \"p256\"\nsmtp_host = \"relay\"\nsmtp_port = 2525\nsession_idle_minutes = 10\n",
        )
        .unwrap();
        let args = ConfigArgs {
            data_dir: Some(dir.path().into()),
            cert_key_type: Some(KeyType::Rsa2048),
            session_idle_minutes: Some(20),
            ..Default::default()
        };
        let c = Config::resolve(&args).unwrap();
        assert_eq!(c.unknown_keys, vec!["data_dir".to_owned()]);
        assert_eq!(c.data_dir, dir.path());
        assert_eq!(c.cert_key_type, KeyType::Rsa2048, "the flag wins over the file");
        assert_eq!(c.sessions.idle, time::Duration::minutes(20));
        assert_eq!(c.sessions.absolute, SessionPolicy::default().absolute, "the policy's default");
        let MailTransport::Smtp(smtp) = &c.mail.transport else { panic!("smtp expected") };
        assert_eq!((smtp.host.as_str(), smtp.port), ("relay", 2525), "the file fills what the flags leave");
    }
}
