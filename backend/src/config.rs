//! Configuration: command-line flags > `CJS_*` environment > `cjs.toml` in the data directory >
//! defaults. Unknown keys in the file are reported loudly at start-up; values are validated once.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde::Deserialize;

use crate::{
    domain::lockout::LockoutPolicy,
    net::{DEFAULT_MAX_CONNECTIONS_PER_ADDRESS, IpNetwork, TrustedProxies},
};

/// Name of the optional configuration file inside the data directory.
pub const CONFIG_FILE: &str = "cjs.toml";

/// Key algorithm of issued client certificates (R7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum KeyType {
    /// RSA 2048-bit with SHA-256 (the default: imports everywhere).
    Rsa2048,
    /// ECDSA P-256 with SHA-256.
    P256,
}

/// Password-based encryption of the .p12 (R7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum P12Encryption {
    /// PBES2: PBKDF2-HMAC-SHA256 + AES-256-CBC, HMAC-SHA256 MAC (Windows 10 1709+, OpenSSL 3, NSS).
    Aes256,
    /// pbeWithSHAAnd3-KeyTripleDES-CBC + HMAC-SHA1 MAC, for old Windows/macOS importers.
    TripleDes,
}

/// How the connection to the SMTP relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which is required (port 587 by default).
    Starttls,
    /// TLS from the first byte (SMTPS, port 465 by default).
    Tls,
    /// No encryption (port 25 by default): only for a relay on the same host or a test sink.
    None,
}

/// A secret from the configuration: never printed by `Debug`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// Options shared by `cjs serve` and every `cjs admin` command. `None` means "not given here".
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// Data directory: database, CA, server certificate, keys, mail.
    #[arg(long, env = "CJS_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://… (default: a file in the data directory) or postgres://…
    #[arg(long, env = "CJS_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Address to listen on (HTTPS).
    #[arg(long, env = "CJS_LISTEN", global = true)]
    pub listen: Option<SocketAddr>,
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
    /// Argon2id memory cost in KiB (OWASP minimum 19456).
    #[arg(long, env = "CJS_ARGON2_MEMORY_KIB", global = true)]
    pub argon2_memory_kib: Option<u32>,
    /// Password attempts a minute per client address (token bucket, burst of three minutes'
    /// worth); 0 turns the throttle off.
    #[arg(long, env = "CJS_PASSWORD_ATTEMPTS_PER_MINUTE", global = true)]
    pub password_attempts_per_minute: Option<u32>,
    /// Password verifications that may wait for a core; beyond, 503 at once.
    #[arg(long, env = "CJS_PASSWORD_QUEUE_LIMIT", global = true)]
    pub password_queue_limit: Option<u32>,
    /// Log format: text or json.
    #[arg(long, env = "CJS_LOG_FORMAT", global = true)]
    pub log_format: Option<String>,
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
    /// IP addresses or CIDR networks); they must send one. Default: none.
    #[arg(long, env = "CJS_TRUSTED_PROXIES", global = true, value_delimiter = ',')]
    pub trusted_proxies: Option<Vec<IpNetwork>>,
    /// Concurrent connections one client address may hold (further ones are closed at once).
    #[arg(long, env = "CJS_MAX_CONNECTIONS_PER_ADDRESS", global = true)]
    pub max_connections_per_address: Option<u32>,
}

/// The optional `cjs.toml`; every key mirrors a flag (without `--`, `-` as `_`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FileConfig {
    database_url: Option<String>,
    listen: Option<SocketAddr>,
    dist_dir: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    ca_cert: Option<PathBuf>,
    ca_key: Option<PathBuf>,
    token_key_file: Option<PathBuf>,
    lockout_max_failures: Option<u32>,
    lockout_minutes: Option<u32>,
    lockout_locks_before_block: Option<u32>,
    cert_key_type: Option<KeyType>,
    p12_encryption: Option<P12Encryption>,
    p12_iterations: Option<u32>,
    argon2_memory_kib: Option<u32>,
    password_attempts_per_minute: Option<u32>,
    password_queue_limit: Option<u32>,
    log_format: Option<String>,
    session_idle_minutes: Option<u32>,
    session_absolute_hours: Option<u32>,
    certificate_limit: Option<u32>,
    public_url: Option<String>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    smtp_security: Option<SmtpSecurity>,
    smtp_username: Option<String>,
    smtp_password: Option<Secret>,
    smtp_ca_file: Option<PathBuf>,
    mail_from: Option<String>,
    mail_interval_seconds: Option<u32>,
    mail_retry_seconds: Option<u32>,
    reminder_days: Option<Vec<u32>>,
    reminder_interval_minutes: Option<u32>,
    trusted_proxies: Option<NetworkList>,
    max_connections_per_address: Option<u32>,
}

/// `trusted_proxies` in the file: `"10.0.0.1, 10.1.0.0/16"` or `["10.0.0.1", "10.1.0.0/16"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum NetworkList {
    Text(String),
    List(Vec<String>),
}

impl NetworkList {
    fn parse(&self) -> anyhow::Result<Vec<IpNetwork>> {
        let items: Vec<&str> = match self {
            NetworkList::Text(s) => s.split(',').filter(|p| !p.trim().is_empty()).collect(),
            NetworkList::List(v) => v.iter().map(String::as_str).collect(),
        };
        items.into_iter().map(|p| p.parse().context("Invalid trusted_proxies entry")).collect()
    }
}

const FILE_KEYS: &[&str] = &[
    "database_url",
    "listen",
    "dist_dir",
    "tls_cert",
    "tls_key",
    "ca_cert",
    "ca_key",
    "token_key_file",
    "lockout_max_failures",
    "lockout_minutes",
    "lockout_locks_before_block",
    "cert_key_type",
    "p12_encryption",
    "p12_iterations",
    "argon2_memory_kib",
    "password_attempts_per_minute",
    "password_queue_limit",
    "log_format",
    "session_idle_minutes",
    "session_absolute_hours",
    "certificate_limit",
    "public_url",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "smtp_password",
    "smtp_ca_file",
    "mail_from",
    "mail_interval_seconds",
    "mail_retry_seconds",
    "reminder_days",
    "reminder_interval_minutes",
    "trusted_proxies",
    "max_connections_per_address",
];

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

/// PKCS#12 protection parameters.
#[derive(Debug, Clone, Copy)]
pub struct P12Settings {
    pub encryption: P12Encryption,
    pub iterations: u32,
}

/// The resolved, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub listen: SocketAddr,
    pub dist_dir: PathBuf,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub ca_cert: Option<PathBuf>,
    pub ca_key: Option<PathBuf>,
    pub token_key_file: PathBuf,
    pub lockout: LockoutPolicy,
    pub cert_key_type: KeyType,
    pub p12: P12Settings,
    pub argon2_memory_kib: u32,
    /// Per-address throttle of password attempts (0: off).
    pub password_attempts_per_minute: u32,
    /// Password verifications that may wait for a core.
    pub password_queue_limit: u32,
    pub log_format: String,
    pub sessions: crate::sessions::SessionPolicy,
    /// Most users of one company holding a valid certificate at once.
    pub certificate_limit: u32,
    /// The URL users reach this service at.
    pub public_url: String,
    pub mail: MailSettings,
    /// Peers whose PROXY protocol header is believed (and required).
    pub trusted_proxies: TrustedProxies,
    /// Concurrent connections per client address.
    pub max_connections_per_address: u32,
    /// Keys of `cjs.toml` that nobody reads; reported at start-up.
    pub unknown_keys: Vec<String>,
}

/// Default per-address password attempts a minute (burst: three times as many). Twenty users of
/// one company behind one NAT address, arriving together, need about 20–30 attempts (login, or
/// authenticate + issue, and typos): the burst of 30 covers them; sustained, one attempt every
/// 6 s per address keeps a spray from one address to 14,400 guesses a day instead of unlimited.
pub const DEFAULT_PASSWORD_ATTEMPTS_PER_MINUTE: u32 = 10;

/// Default PBKDF2 iteration count of the .p12: ASVS 11.4.4's floor for PBKDF2-HMAC-SHA256.
pub const DEFAULT_P12_ITERATIONS: u32 = 600_000;

impl Config {
    /// Resolves the configuration from flags/environment (already merged by clap) and the file.
    pub fn resolve(args: &ConfigArgs) -> anyhow::Result<Self> {
        let data_dir = args.data_dir.clone().unwrap_or_else(|| PathBuf::from("data"));
        let path = data_dir.join(CONFIG_FILE);
        let (file, unknown_keys) = if path.exists() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("Failed to read {}", path.display()))?;
            parse_file(&text).with_context(|| format!("Invalid configuration file {}", path.display()))?
        } else {
            (FileConfig::default(), Vec::new())
        };
        let default_url = format!("sqlite://{}?mode=rwc", data_dir.join("cjs.db").display());
        let lockout = LockoutPolicy {
            max_failures: args.lockout_max_failures.or(file.lockout_max_failures).unwrap_or(6),
            lock_duration: Duration::from_secs(
                60 * u64::from(args.lockout_minutes.or(file.lockout_minutes).unwrap_or(60)),
            ),
            locks_before_block: args.lockout_locks_before_block.or(file.lockout_locks_before_block).unwrap_or(3),
        };
        let mail = mail_settings(args, &file, &data_dir);
        let trusted_proxies = match (&args.trusted_proxies, &file.trusted_proxies) {
            (Some(flag), _) => flag.clone(),
            (None, Some(list)) => {
                list.parse().with_context(|| format!("Invalid configuration file {}", path.display()))?
            }
            (None, None) => Vec::new(),
        };
        let config = Config {
            token_key_file: args
                .token_key_file
                .clone()
                .or(file.token_key_file)
                .unwrap_or_else(|| data_dir.join("token.key")),
            database_url: args.database_url.clone().or(file.database_url).unwrap_or(default_url),
            listen: args.listen.or(file.listen).unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8443))),
            dist_dir: args.dist_dir.clone().or(file.dist_dir).unwrap_or_else(|| PathBuf::from("dist")),
            tls_cert: args.tls_cert.clone().or(file.tls_cert),
            tls_key: args.tls_key.clone().or(file.tls_key),
            ca_cert: args.ca_cert.clone().or(file.ca_cert),
            ca_key: args.ca_key.clone().or(file.ca_key),
            lockout,
            cert_key_type: args.cert_key_type.or(file.cert_key_type).unwrap_or(KeyType::Rsa2048),
            p12: P12Settings {
                encryption: args.p12_encryption.or(file.p12_encryption).unwrap_or(P12Encryption::Aes256),
                iterations: args.p12_iterations.or(file.p12_iterations).unwrap_or(DEFAULT_P12_ITERATIONS),
            },
            argon2_memory_kib: args.argon2_memory_kib.or(file.argon2_memory_kib).unwrap_or(19_456),
            password_attempts_per_minute: args
                .password_attempts_per_minute
                .or(file.password_attempts_per_minute)
                .unwrap_or(DEFAULT_PASSWORD_ATTEMPTS_PER_MINUTE),
            password_queue_limit: args
                .password_queue_limit
                .or(file.password_queue_limit)
                .unwrap_or(crate::auth::password::DEFAULT_QUEUE_LIMIT as u32),
            log_format: args.log_format.clone().or(file.log_format).unwrap_or_else(|| "text".into()),
            sessions: crate::sessions::SessionPolicy {
                idle: time::Duration::minutes(i64::from(
                    args.session_idle_minutes.or(file.session_idle_minutes).unwrap_or(30),
                )),
                absolute: time::Duration::hours(i64::from(
                    args.session_absolute_hours.or(file.session_absolute_hours).unwrap_or(12),
                )),
            },
            certificate_limit: args.certificate_limit.or(file.certificate_limit).unwrap_or(20),
            public_url: args.public_url.clone().or(file.public_url).unwrap_or_default(),
            mail,
            trusted_proxies: TrustedProxies::new(trusted_proxies),
            max_connections_per_address: args
                .max_connections_per_address
                .or(file.max_connections_per_address)
                .unwrap_or(DEFAULT_MAX_CONNECTIONS_PER_ADDRESS),
            data_dir,
            unknown_keys,
        };
        let mut config = config;
        if config.public_url.is_empty() {
            config.public_url = format!("https://{}", config.listen);
        }
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
        if self.argon2_memory_kib < 8 {
            bail!("argon2_memory_kib is too small");
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            bail!("tls_cert and tls_key must be given together");
        }
        if self.ca_cert.is_some() != self.ca_key.is_some() {
            bail!("ca_cert and ca_key must be given together");
        }
        if !self.public_url.starts_with("https://") {
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
        if self.max_connections_per_address == 0 {
            bail!("max_connections_per_address must be at least 1");
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            bail!("log_format must be text or json");
        }
        Ok(())
    }

    /// Whether the database is the embedded SQLite one.
    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

fn mail_settings(args: &ConfigArgs, file: &FileConfig, data_dir: &std::path::Path) -> MailSettings {
    let transport = match args.smtp_host.clone().or(file.smtp_host.clone()) {
        None => MailTransport::Files(data_dir.join("mail")),
        Some(host) => {
            let security = args.smtp_security.or(file.smtp_security).unwrap_or(SmtpSecurity::Starttls);
            let default_port = match security {
                SmtpSecurity::Starttls => 587,
                SmtpSecurity::Tls => 465,
                SmtpSecurity::None => 25,
            };
            MailTransport::Smtp(SmtpSettings {
                host,
                port: args.smtp_port.or(file.smtp_port).unwrap_or(default_port),
                security,
                username: args.smtp_username.clone().or(file.smtp_username.clone()),
                password: args.smtp_password.clone().or(file.smtp_password.clone()),
                ca_file: args.smtp_ca_file.clone().or(file.smtp_ca_file.clone()),
            })
        }
    };
    let mut reminder_days = args.reminder_days.clone().or(file.reminder_days.clone()).unwrap_or_else(|| vec![30]);
    reminder_days.sort_unstable_by(|a, b| b.cmp(a));
    reminder_days.dedup();
    MailSettings {
        transport,
        from: args.mail_from.clone().or(file.mail_from.clone()).unwrap_or_else(|| DEFAULT_MAIL_FROM.to_owned()),
        interval: Duration::from_secs(u64::from(
            args.mail_interval_seconds.or(file.mail_interval_seconds).unwrap_or(5),
        )),
        retry_base: Duration::from_secs(u64::from(args.mail_retry_seconds.or(file.mail_retry_seconds).unwrap_or(60))),
        reminder_days,
        reminder_interval: Duration::from_secs(
            60 * u64::from(args.reminder_interval_minutes.or(file.reminder_interval_minutes).unwrap_or(60)),
        ),
    }
}

fn parse_file(text: &str) -> anyhow::Result<(FileConfig, Vec<String>)> {
    let table: BTreeMap<String, toml::Value> = toml::from_str(text)?;
    let unknown = table.keys().filter(|k| !FILE_KEYS.contains(&k.as_str())).cloned().collect();
    let file: FileConfig = toml::Value::Table(table.into_iter().collect()).try_into()?;
    Ok((file, unknown))
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
        assert_eq!(c.p12.iterations, DEFAULT_P12_ITERATIONS);
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
    fn bad_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "cert_key_type = \"dsa\"\n").unwrap();
        let args = ConfigArgs { data_dir: Some(dir.path().into()), ..Default::default() };
        assert!(Config::resolve(&args).is_err());
    }
}
