//! The command line: `cjs serve` and the bank's `cjs admin …` operations, which use the same
//! services (and write the same audit entries) as the API, and work while a server runs on the
//! same database.

use std::{io::Read, path::PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};
use common::{
    Field, Password, UserId,
    api::{MailStatus, Role},
};
use sea_orm::DatabaseConnection;
use time::OffsetDateTime;

mod manual;

use crate::{
    auth::{
        Authenticator,
        accounts::{self, Actor, NewAccount},
        companies::{self, CompanyChange},
    },
    certificates::{masters, retirement, revocation, rollover},
    config::{Config, ConfigArgs},
    error::ApiError,
    read,
    startup::{Application, core_services},
};

/// A refusal of a service, as the operator reads it: the API's message (and the cause of an
/// unexpected failure).
fn refused(e: impl Into<ApiError>) -> anyhow::Error {
    e.into().for_operator()
}

#[derive(Debug, Parser)]
#[command(
    name = "cjs",
    version,
    about = "ろうきん賃金控除事務支援システム — 電子証明書サービス",
    long_about = "ろうきん賃金控除事務支援システム — 電子証明書サービス\n\n\
        The certificate service of the wage-deduction system: company staff issue, renew and re-issue their TLS \
        client certificates in the browser and log in with that certificate and their password; bank staff \
        administer companies, users and certificates. `cjs serve` runs the service (HTTPS, and plain HTTP for \
        relying parties' OCSP and CRL); `cjs admin` runs the bank's operations on the same database, also while \
        the service runs."
)]
pub struct Cli {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTPS service (API + SPA).
    Serve,
    /// Bank operations.
    #[command(subcommand)]
    Admin(Admin),
    /// Print the OpenAPI description of the API (the same document as `GET /api/openapi.json`).
    Openapi,
    /// Write the manual pages (cjs.1 and one per subcommand) into a directory: what
    /// scripts/package installs. Hidden: a packaging step, not an operation.
    #[command(hide = true)]
    Manual {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The pages' date (default: today, UTC).
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        date: Option<time::Date>,
    },
}

#[derive(Debug, Subcommand)]
pub enum Admin {
    /// Create a company and its master user; prints the one-time initial password.
    CreateOrg {
        #[arg(long)]
        name: String,
        #[arg(long)]
        master_id: String,
        #[arg(long)]
        email: String,
        /// Read the initial password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Create a bank staff user; prints the one-time initial password.
    CreateStaff {
        #[arg(long)]
        id: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Lift the lock or block of a user.
    Unlock {
        #[arg(long)]
        user_id: String,
    },
    /// Reset a user's password to a new one-time initial password (R11), printed once for
    /// 「ご利用開始(変更)のお知らせ」; lifts a lock or block and ends the user's sessions.
    ResetPassword {
        #[arg(long)]
        user_id: String,
    },
    /// Retire a user (利用停止): revoke every active certificate (cessationOfOperation), end the
    /// sessions and refuse every later login and issuance. The ID and its history stay.
    Retire {
        #[arg(long)]
        user_id: String,
        /// Why (kept in the audit log; up to 200 characters).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Change a company's master user (マスターユーザー変更): a general user of the company
    /// (`--user-id`), or a new account (`--org-id` with `--master-id` and `--email`, as
    /// `create-org` takes them). Prints the new master user's one-time initial password for
    /// 「ご利用開始(変更)のお知らせ」. The former master user becomes a general user, or is retired
    /// with `--retire-former`.
    SetMaster {
        #[arg(long, conflicts_with_all = ["org_id", "master_id", "email"], required_unless_present = "org_id")]
        user_id: Option<String>,
        #[arg(long, requires_all = ["master_id", "email"])]
        org_id: Option<i64>,
        #[arg(long)]
        master_id: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Retire the former master user (利用停止: their certificates revoked).
        #[arg(long)]
        retire_former: bool,
    },
    /// Change a user's e-mail address; the old and the new address are both told.
    ChangeEmail {
        #[arg(long)]
        user_id: String,
        #[arg(long)]
        email: String,
    },
    /// Change a company's name and/or certificate limit (certificates issued later carry the
    /// new name in O=).
    UpdateOrg {
        #[arg(long)]
        org_id: i64,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        certificate_limit: Option<u32>,
        /// Accept a limit below the users holding a valid certificate now.
        #[arg(long)]
        force: bool,
    },
    /// Suspend a company: its users are refused at authentication, issuance and login, and their
    /// sessions end. Nothing is revoked.
    SuspendOrg {
        #[arg(long)]
        org_id: i64,
    },
    /// Resume a suspended company.
    ResumeOrg {
        #[arg(long)]
        org_id: i64,
    },
    /// Revoke every active certificate of a user (e.g. PC change, R8).
    Revoke {
        #[arg(long)]
        user_id: String,
        /// RFC 5280 reason: superseded, affiliationChanged, cessationOfOperation, keyCompromise,
        /// privilegeWithdrawn, unspecified (or snake_case: key_compromise, …). keyCompromise
        /// also makes the password unusable until it is reset.
        #[arg(long, default_value = "superseded")]
        reason: String,
    },
    /// Certificate authority operations.
    #[command(subcommand)]
    Ca(CaCommand),
    /// List the mail outbox (newest first): status, attempts, last error.
    Mail {
        /// Only rows with this status: pending, sent or failed.
        #[arg(long, value_parser = parse_mail_status)]
        status: Option<MailStatus>,
    },
    /// Queue the expiry reminders due now (the server also does this periodically).
    Reminders,
    /// Back up the data directory and the SQLite database into one file (mode 0600), while the
    /// service runs. PostgreSQL: pg_dump, and this with --without-database for the files.
    Backup {
        /// The backup file to create (it must not exist).
        #[arg(long)]
        to: PathBuf,
        /// Only the files (the database is PostgreSQL, backed up with pg_dump).
        #[arg(long)]
        without_database: bool,
        /// A file whose first line is the passphrase (at least 16 characters) that encrypts and
        /// authenticates the backup; else the variable CJS_BACKUP_PASSPHRASE.
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// Make a new data directory (the global --data-dir, absent or empty) from a backup file,
    /// after checking every file of it against its manifest.
    Restore {
        #[arg(long)]
        from: PathBuf,
        /// Let in a cjs.toml that loads code or moves keys (ca_pkcs11_module, ca_key, tls_key,
        /// token_key_file, dist_dir, …): only after checking that the backup is yours.
        #[arg(long)]
        accept_settings: bool,
        /// The backup's passphrase, in the first line of this file; else CJS_BACKUP_PASSPHRASE.
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        /// Let in a plain (unencrypted) backup of an earlier release.
        #[arg(long)]
        unencrypted: bool,
    },
    /// List the audit log (newest first): time (JST), action, actor, subject, client address, detail.
    /// With a command: verify its chain, sign a checkpoint, export it for auditors.
    Audit {
        #[command(subcommand)]
        command: Option<AuditCommand>,
        /// Only entries about this user.
        #[arg(long)]
        user_id: Option<String>,
        /// At most this many entries.
        #[arg(long, default_value_t = 50)]
        limit: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the audit log's hash chain and check every checkpoint's signature; exit 0 and
    /// print the counts when everything holds, else name the first entry or checkpoint that does
    /// not and exit 1.
    Verify {
        /// A checkpoint file (mailed or written to audit_checkpoint_dir) to check the log against
        /// too; may be repeated.
        #[arg(long = "from-checkpoint")]
        from_checkpoint: Vec<PathBuf>,
        /// The audit key's public half (PEM) to trust, instead of the configured audit key.
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
    /// Chain what is not chained yet and sign a checkpoint now (mailed and written like the
    /// periodic ones).
    Checkpoint,
    /// Write the entries of some days (JST) with their hashes, and the checkpoints that cover
    /// them, for an auditor to verify offline.
    Export {
        /// First day, e.g. 2026-12-01.
        #[arg(long)]
        from: String,
        /// Last day (included).
        #[arg(long)]
        to: String,
        #[arg(long, value_enum, default_value = "jsonl")]
        format: crate::audit::export::Format,
        /// The file to write (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// A CA rollover: the current CA moves to ca-retired/ (it keeps signing the CRL and OCSP of
    /// its certificates, which stay valid until they expire), and a new CA issues from each
    /// instance's next start — its key in the configured PKCS#11 token if one is (moving a file
    /// CA to an HSM), else a new key file. Run it with the service up, then restart the
    /// instances one by one.
    Rollover {
        /// Label of the current CA key in the token, when it is there (the new key takes the
        /// configured ca_pkcs11_key_label, which must differ).
        #[arg(long)]
        current_key_label: Option<String>,
    },
}

fn parse_date(s: &str) -> Result<time::Date, String> {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|e| format!("not a date as YYYY-MM-DD: {e}"))
}

fn parse_mail_status(s: &str) -> Result<MailStatus, String> {
    MailStatus::parse(s).ok_or_else(|| "status は pending, sent, failed のいずれかです".to_owned())
}

fn read_password_stdin() -> anyhow::Result<Password> {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s).context("Failed to read the password from standard input")?;
    Password::parse(Field::Password, s.trim_end_matches(['\r', '\n'])).map_err(refused)
}

fn parse_id(s: &str) -> anyhow::Result<UserId> {
    UserId::parse(s).map_err(refused)
}

/// Runs `command` with `config`.
pub async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => Application::build(config).await?.run_until_stopped().await,
        Command::Admin(admin) => run_admin(admin, config).await,
        other => run_without_config(&other).expect("openapi and manual need no configuration"),
    }
}

/// Runs the commands that need no configuration, data directory or database (`main` runs them
/// before it reads the settings); `None` for the others.
pub fn run_without_config(command: &Command) -> Option<anyhow::Result<()>> {
    match command {
        Command::Openapi => {
            println!("{}", crate::api::openapi::document());
            Some(Ok(()))
        }
        Command::Manual { out, date } => {
            let date = date.unwrap_or_else(|| OffsetDateTime::now_utc().date()).to_string();
            let written = manual::write_pages(out, &date)
                .with_context(|| format!("writing the manual pages into {}", out.display()));
            Some(written.map(|pages| pages.iter().for_each(|page| println!("{}", page.display()))))
        }
        Command::Serve | Command::Admin(_) => None,
    }
}

/// Runs one `cjs admin` command: each is a function over the services.
async fn run_admin(admin: Admin, config: Config) -> anyhow::Result<()> {
    if let Admin::Restore { from, accept_settings, passphrase_file, unencrypted } = &admin {
        // Before anything creates the data directory or a database in it.
        let options = crate::backup::RestoreOptions {
            passphrase: passphrase(passphrase_file.as_deref())?,
            unencrypted: *unencrypted,
            accept_settings: *accept_settings,
        };
        return restore(&config, from, &options);
    }
    if matches!(admin, Admin::Backup { .. }) && !config.data_dir.join("ca.pem").exists() {
        // A mistyped --data-dir would otherwise be created, with an empty database, and backed up.
        anyhow::bail!(
            "{} は cjs のデータディレクトリではありません（ca.pem がありません）: --data-dir を確かめてください",
            config.data_dir.display()
        );
    }
    let (db, auth) = core_services(&config).await?;
    let now = OffsetDateTime::now_utc();
    match admin {
        Admin::CreateOrg { name, master_id, email, password_stdin } => {
            create_org(&config, &auth, &name, &master_id, &email, password_stdin, now).await
        }
        Admin::CreateStaff { id, email, password_stdin } => create_staff(&auth, &id, &email, password_stdin, now).await,
        Admin::Unlock { user_id } => {
            let u = accounts::unlock(&db, &Actor::Cli, &parse_id(&user_id)?, now).await.map_err(refused)?;
            println!("ロック・閉塞を解除しました: {}", u.user_id);
            Ok(())
        }
        Admin::Ca(CaCommand::Rollover { current_key_label }) => {
            let done =
                rollover::rollover(&db, &config.data_dir, &config.ca_key, current_key_label.as_deref(), now).await?;
            println!("認証局を切り替えました: 旧 {} → 新 {}", done.retired, done.new);
            println!("各インスタンスを順に再起動してください（再起動までは旧認証局で発行します）。");
            Ok(())
        }
        Admin::ResetPassword { user_id } => reset_password(&config, &auth, &user_id, now).await,
        Admin::Retire { user_id, reason } => retire(&config, &db, &user_id, reason.as_deref(), now).await,
        Admin::SetMaster { user_id, org_id, master_id, email, retire_former } => {
            set_master(&config, &auth, (user_id, org_id, master_id, email), retire_former, now).await
        }
        Admin::ChangeEmail { user_id, email } => {
            let url = config.public_url_at(config.listen);
            let u = accounts::change_email(&db, &Actor::Cli, &parse_id(&user_id)?, &email, &url, now)
                .await
                .map_err(refused)?;
            println!(
                "メールアドレスを変更しました: {} → {}（変更前と変更後のアドレスにお知らせします）",
                u.user_id, u.email
            );
            Ok(())
        }
        Admin::UpdateOrg { org_id, name, certificate_limit, force } => {
            let change = CompanyChange { name: name.as_deref(), certificate_limit, force };
            let url = config.public_url_at(config.listen);
            let org = companies::update(&db, &Actor::Cli, org_id, change, &url, now).await.map_err(refused)?;
            println!("会社を変更しました: {} (id {}), 電子証明書の上限 {} 名", org.name, org.id, org.certificate_limit);
            Ok(())
        }
        Admin::SuspendOrg { org_id } => set_suspended(&config, &db, org_id, true, now).await,
        Admin::ResumeOrg { org_id } => set_suspended(&config, &db, org_id, false, now).await,
        Admin::Revoke { user_id, reason } => {
            revoke(&db, &user_id, &reason, &config.public_url_at(config.listen), now).await
        }
        Admin::Mail { status } => print_mail(&db, status).await,
        Admin::Audit { command: None, user_id, limit } => print_audit(&db, user_id, limit).await,
        Admin::Audit { command: Some(command), .. } => audit_command(&config, &db, command, now).await,
        Admin::Backup { to, without_database, passphrase_file } => {
            backup(&config, &db, &to, without_database, passphrase_file.as_deref(), now).await
        }
        Admin::Restore { .. } => unreachable!("handled before the database is opened"),
        Admin::Reminders => {
            let url = config.public_url_at(config.listen);
            let r =
                crate::mail::reminders::scan(&db, &config.mail.reminder_days, &url, now, now).await.map_err(refused)?;
            println!(
                "有効期限のお知らせ: {} 件の証明書を確認し、{} 件のメールを送信待ちにしました",
                r.examined, r.queued
            );
            Ok(())
        }
    }
}

/// `cjs admin restore`.
fn restore(config: &Config, from: &std::path::Path, options: &crate::backup::RestoreOptions) -> anyhow::Result<()> {
    let done = crate::backup::restore(from, &config.data_dir, options)?;
    print_summary("復元しました", &done, &config.data_dir, "pg_restore で戻してください");
    Ok(())
}

/// `cjs admin backup`.
async fn backup(
    config: &Config,
    db: &DatabaseConnection,
    to: &std::path::Path,
    without_database: bool,
    passphrase_file: Option<&std::path::Path>,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let passphrase = passphrase(passphrase_file)?.context(
        "バックアップにはパスフレーズが要ります: CJS_BACKUP_PASSPHRASE か --passphrase-file で指定してください（16文字以上）",
    )?;
    let done =
        crate::backup::backup(&config.data_dir, &config.database_url, db, to, without_database, &passphrase, now)
            .await?;
    print_summary("バックアップしました", &done, to, "pg_dump で別に取ってください");
    Ok(())
}

/// The backup passphrase: the first line of `file` when given, else `CJS_BACKUP_PASSPHRASE`;
/// `None` when neither is set. Too short a one is an error.
fn passphrase(file: Option<&std::path::Path>) -> anyhow::Result<Option<crate::backup::Passphrase>> {
    let text = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            text.lines().next().unwrap_or_default().to_owned()
        }
        None => match std::env::var(BACKUP_PASSPHRASE_VAR) {
            Ok(text) => text,
            Err(_) => return Ok(None),
        },
    };
    crate::backup::Passphrase::new(&text).map(Some)
}

/// The variable that holds the backup passphrase when no `--passphrase-file` is given.
pub const BACKUP_PASSPHRASE_VAR: &str = "CJS_BACKUP_PASSPHRASE";

/// What a backup or a restore did: files, bytes, where; and what to do about a database it did
/// not hold (`without_db`).
fn print_summary(done_what: &str, done: &crate::backup::Summary, at: &std::path::Path, without_db: &str) {
    let note = if done.database_included {
        String::new()
    } else {
        format!("（データベースは含まれていません: {without_db}）")
    };
    println!("{done_what}: {} ファイル、{} バイト → {}{note}", done.files, done.bytes, at.display());
}

/// The password of a new account: from standard input with `--password-stdin`, else `None` (the
/// service generates a one-time one, which [`print_generated`] shows).
fn given_password(password_stdin: bool) -> anyhow::Result<Option<Password>> {
    password_stdin.then(read_password_stdin).transpose()
}

/// Shows a generated initial password, once (none when the operator gave it).
fn print_generated(given: Option<&Password>, password: &Password) {
    if given.is_none() {
        println!("初期パスワード（一度だけ表示します）: {}", password.expose());
    }
}

/// `cjs admin create-org`.
async fn create_org(
    config: &Config,
    auth: &Authenticator,
    name: &str,
    master_id: &str,
    email: &str,
    password_stdin: bool,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let master_id = parse_id(master_id)?;
    let given = given_password(password_stdin)?;
    let account = NewAccount { user_id: &master_id, email, password: given.clone() };
    let limit = config.certificate_limit;
    let (org, password) = accounts::create_organization(&auth.db, &auth.hasher, name, limit, account, &Actor::Cli, now)
        .await
        .map_err(refused)?;
    println!("会社を登録しました: {} (id {})", org.name, org.id);
    println!("マスターユーザーID: {master_id}");
    print_generated(given.as_ref(), &password);
    Ok(())
}

/// `cjs admin create-staff`.
async fn create_staff(
    auth: &Authenticator,
    id: &str,
    email: &str,
    password_stdin: bool,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let id = parse_id(id)?;
    let given = given_password(password_stdin)?;
    let account = NewAccount { user_id: &id, email, password: given.clone() };
    let (u, password) = accounts::create_user(&auth.db, &auth.hasher, account, Role::Staff, None, &Actor::Cli, now)
        .await
        .map_err(refused)?;
    println!("労金スタッフを登録しました: {}", u.user_id);
    print_generated(given.as_ref(), &password);
    Ok(())
}

/// `cjs admin reset-password`.
async fn reset_password(
    config: &Config,
    auth: &Authenticator,
    user_id: &str,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let id = parse_id(user_id)?;
    let url = config.public_url_at(config.listen);
    let (u, password) =
        accounts::reset_password(&auth.db, &auth.hasher, &Actor::Cli, &id, &url, now).await.map_err(refused)?;
    println!("パスワードを再設定しました: {}（ロック・閉塞を解除し、ログイン中のセッションを終了しました）", u.user_id);
    println!("初期パスワード（一度だけ表示します）: {}", password.expose());
    Ok(())
}

/// `cjs admin retire`.
async fn retire(
    config: &Config,
    db: &DatabaseConnection,
    user_id: &str,
    reason: Option<&str>,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let id = parse_id(user_id)?;
    let url = config.public_url_at(config.listen);
    let done = retirement::retire(db, &Actor::Cli, &id, reason, &url, now).await.map_err(refused)?;
    println!("利用を停止しました: {}", done.user.user_id);
    for serial in &done.revoked {
        println!("失効しました (cessationOfOperation): serial {serial}");
    }
    Ok(())
}

/// `cjs admin set-master`: `who` is (`--user-id`, `--org-id`, `--master-id`, `--email`), of which
/// clap has let through one of the two forms.
async fn set_master(
    config: &Config,
    auth: &Authenticator,
    who: (Option<String>, Option<i64>, Option<String>, Option<String>),
    retire_former: bool,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let url = config.public_url_at(config.listen);
    let (user_id, new_account) = match who {
        (Some(user_id), ..) => (parse_id(&user_id)?, None),
        (None, Some(org_id), Some(master_id), Some(email)) => (parse_id(&master_id)?, Some((org_id, email))),
        _ => anyhow::bail!("--user-id、または --org-id と --master-id と --email を指定してください"),
    };
    let new = match &new_account {
        None => masters::NewMaster::Existing(&user_id),
        Some((org_id, email)) => masters::NewMaster::Create { org_id: *org_id, user_id: &user_id, email },
    };
    let done = masters::change_master(None, &auth.db, &auth.hasher, &Actor::Cli, new, retire_former, &url, now)
        .await
        .map_err(refused)?;
    println!("マスターユーザーを変更しました: {}", done.master.user_id);
    for former in &done.former {
        let now_is = if done.former_retired { "利用停止" } else { "一般ユーザー" };
        println!("前のマスターユーザー: {former}（{now_is}）");
    }
    for serial in &done.revoked {
        println!("失効しました (cessationOfOperation): serial {serial}");
    }
    println!("初期パスワード（一度だけ表示します）: {}", done.password.expose());
    Ok(())
}

/// `cjs admin suspend-org` and `resume-org`.
async fn set_suspended(
    config: &Config,
    db: &DatabaseConnection,
    org_id: i64,
    suspend: bool,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let url = config.public_url_at(config.listen);
    let org = companies::set_suspended(db, &Actor::Cli, org_id, suspend, &url, now).await.map_err(refused)?;
    let done = if suspend { "利用を停止しました" } else { "利用を再開しました" };
    println!("{done}: {} (id {})", org.name, org.id);
    Ok(())
}

/// `cjs admin revoke`: every active certificate of the user.
async fn revoke(
    db: &DatabaseConnection,
    user_id: &str,
    reason: &str,
    url: &str,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let id = parse_id(user_id)?;
    let reason = common::api::RevocationReason::parse(reason)
        .with_context(|| format!("unknown reason {reason}: use one of superseded, affiliationChanged, cessationOfOperation, keyCompromise, privilegeWithdrawn, unspecified (or their snake_case spelling)"))?;
    let active = read::active_certificates_of(db, id.as_str(), now).await.map_err(refused)?;
    anyhow::ensure!(!active.is_empty(), "{id} に有効な電子証明書はありません");
    for c in active {
        revocation::revoke(db, &Actor::Cli, &c.serial, reason, url, now).await.map_err(refused)?;
        println!("失効しました: {} serial {}", id, c.serial);
    }
    if reason == common::api::RevocationReason::KeyCompromise {
        println!(
            "鍵の危殆化による失効のため、{id} のパスワードを無効にしました。パスワードを再設定するまで、このユーザーIDは認証できません（cjs admin reset-password --user-id {id}）。"
        );
    }
    Ok(())
}

/// `cjs admin mail`: the outbox, newest first.
async fn print_mail(db: &DatabaseConnection, status: Option<MailStatus>) -> anyhow::Result<()> {
    let search = common::api::list::MailSearch {
        status: status.map(|s| s.as_str().to_owned()),
        limit: Some(common::api::list::PAGE_SIZE_MAX),
        ..Default::default()
    };
    let mails = read::lists::mail(db, &search).await.map_err(refused)?.items;
    println!(
        "{:>8}  {:<16}  {:<7}  {:>4}  {:<32}  件名 / 最後のエラー",
        "id", "作成（日本時間）", "状態", "試行", "宛先"
    );
    for m in &mails {
        println!(
            "{:>8}  {:<16}  {:<7}  {:>4}  {:<32}  {}",
            m.id,
            common::jst::format_datetime(m.created_at),
            m.status.as_str(),
            m.attempts,
            m.to,
            m.subject
        );
        if let Some(e) = &m.last_error {
            let retry = m.next_attempt_at.filter(|_| m.status == MailStatus::Pending).map(common::jst::format_datetime);
            println!("{:>8}  エラー: {e}{}", "", retry.map(|r| format!("（次の再送 {r}）")).unwrap_or_default());
        }
    }
    println!("{} 件", mails.len());
    Ok(())
}

/// `cjs admin audit`: the same query as the /admin screen (`GET /api/admin/audit`).
async fn print_audit(db: &DatabaseConnection, user_id: Option<String>, limit: u64) -> anyhow::Result<()> {
    let user_id = user_id.map(|id| parse_id(&id)).transpose()?.map(|id| id.to_string());
    let search = common::api::list::AuditSearch { user_id, ..Default::default() };
    let entries = read::lists::audit_latest(db, &search, limit).await.map_err(refused)?;
    println!(
        "{:<16}  {:<22}  {:<12}  {:<12}  {:<39}  {:<16}  詳細",
        "日時（日本時間）", "操作", "実行者", "対象", "接続元", "要求ID"
    );
    for e in &entries {
        println!(
            "{:<16}  {:<22}  {:<12}  {:<12}  {:<39}  {:<16}  {}",
            common::jst::format_datetime(e.at),
            e.action,
            e.actor.as_deref().unwrap_or("本人"),
            e.subject_user.as_deref().unwrap_or("—"),
            e.client_address.as_deref().unwrap_or("—"),
            e.request_id.as_deref().unwrap_or("—"),
            e.detail
        );
    }
    println!("{} 件", entries.len());
    Ok(())
}

async fn audit_command(
    config: &Config,
    db: &DatabaseConnection,
    command: AuditCommand,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    use crate::audit::{checkpoint, export, key};
    let trusted = |public_key: Option<PathBuf>| -> anyhow::Result<key::Verifier> {
        match public_key {
            Some(path) => key::Verifier::from_pem(&crate::pki::files::read(&path)?),
            None => key::AuditKey::load(&config.audit.key)?.map(|k| k.verifier().clone()).context(
                "監査鍵がありません（サーバーを一度も起動していません）: --public-key で監査鍵の公開鍵を指定してください",
            ),
        }
    };
    match command {
        AuditCommand::Verify { from_checkpoint, public_key } => {
            let verifier = trusted(public_key)?;
            let files =
                from_checkpoint.iter().map(|p| checkpoint::Signed::read(p)).collect::<anyhow::Result<Vec<_>>>()?;
            let started = std::time::Instant::now();
            match crate::audit::verify::verify(db, &verifier, &files).await? {
                Ok(v) => {
                    let secs = started.elapsed().as_secs_f64().max(1e-6);
                    println!(
                        "監査ログは改ざんされていません: 項目 {} 件、チェックポイント {} 件（署名を確認）、未封印の新しい項目 {} 件（{:.0} 件/秒）",
                        v.entries,
                        v.checkpoints,
                        v.unsealed,
                        v.entries as f64 / secs
                    );
                    Ok(())
                }
                Err(finding) => anyhow::bail!("監査ログの検証に失敗しました: {finding}"),
            }
        }
        AuditCommand::Checkpoint => {
            let key = std::sync::Arc::new(crate::startup::load_audit_key(config, db).await?);
            match checkpoint::make(db, &key, &config.audit.checkpoints, now, true).await? {
                Some(signed) => {
                    print!("{}", signed.document);
                    println!("チェックポイントを署名しました");
                }
                None => println!("監査ログに項目がありません: チェックポイントは作りませんでした"),
            }
            Ok(())
        }
        AuditCommand::Export { from, to, format, output } => {
            let (from, to) = (
                export::parse_day(&from).map_err(anyhow::Error::msg)?,
                export::parse_day(&to).map_err(anyhow::Error::msg)?,
            );
            anyhow::ensure!(from <= to, "--from は --to より前の日付にしてください");
            let verifier = trusted(None)?;
            let plan = export::Export::plan(db, verifier, from, to, format).await?;
            let entries = match output {
                Some(path) => {
                    let file = std::fs::File::create_new(&path).with_context(|| {
                        format!("{} を作成できません（既にあるファイルには書きません）", path.display())
                    })?;
                    export::write_all(db, plan, &mut std::io::BufWriter::new(file)).await?
                }
                None => export::write_all(db, plan, &mut std::io::BufWriter::new(std::io::stdout().lock())).await?,
            };
            eprintln!("{entries} 件を書き出しました");
            Ok(())
        }
    }
}
