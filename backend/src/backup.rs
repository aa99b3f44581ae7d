//! `cjs admin backup --to FILE` and `cjs admin restore --from FILE --data-dir NEW`.
//!
//! A backup is one gzip-compressed tar file (mode 0600: it holds the CA key when that is a file,
//! and the secret of the issuance tokens): a consistent copy of the SQLite database made by
//! `VACUUM INTO` while `cjs serve` runs (a read transaction: writers go on), and every other file
//! of the data directory — `ca.pem`, `ca-key.pem`, `ca-retired/`, the server certificate and
//! key, `token.key`, `cjs.toml`, the mail written as files. Its last entry is a manifest of every
//! other entry with its size, mode and SHA-256; a restore checks them all before anything
//! appears at the new data directory, so a truncated file (no manifest), a damaged one (gzip or
//! tar refuses it) and an altered one (a checksum differs, an entry is missing or added) are
//! refused with a message saying which, and nothing is written.
//!
//! The whole file is encrypted and authenticated with a passphrase the operator gives (age,
//! scrypt recipient: [`Passphrase`]): it holds the CA key and the token secret, which must not be
//! readable by whoever finds the file, and a backup made without the passphrase — forged, or
//! altered by a byte — fails authentication and is refused before anything is written. A backup
//! of an earlier release (a plain gzip file) restores only with `--unencrypted`.
//!
//! PostgreSQL is backed up with its own tools (`pg_dump`; README); `--without-database` then
//! takes the files alone. The checksums detect damage; the encryption, tampering; and a restored
//! `cjs.toml` that loads code or moves keys needs the operator's word (`--accept-settings`),
//! since whoever holds the passphrase can still write any backup.

use std::{
    collections::BTreeMap,
    fs::File,
    io::{BufRead, BufReader, Read, Write},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Component, Path, PathBuf},
};

use anyhow::{Context, bail};
use flate2::{Compression, read::GzDecoder, write::GzEncoder};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// What the manifest's `format` says.
const FORMAT: &str = "cjs-backup/1";
/// The manifest's name: the archive's last entry.
const MANIFEST: &str = "MANIFEST.json";
/// The database copy's name in the archive (and in the restored data directory).
const DATABASE: &str = "cjs.db";

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    /// Unix time of the backup.
    created_at: i64,
    /// Whether `cjs.db` is in it (SQLite) or the database was backed up apart (PostgreSQL).
    database_included: bool,
    files: BTreeMap<String, FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FileEntry {
    size: u64,
    mode: u32,
    sha256: String,
}

/// The shortest passphrase a backup takes: it guards the CA key against an offline attack.
pub const MIN_PASSPHRASE_CHARS: usize = 16;

/// The passphrase that encrypts and authenticates a backup. Never printed (`Debug` hides it).
#[derive(Clone)]
pub struct Passphrase(age::secrecy::SecretString);

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(***)")
    }
}

impl Passphrase {
    /// `text` without its line end, if it is long enough.
    pub fn new(text: &str) -> anyhow::Result<Self> {
        let text = text.trim_end_matches(['\r', '\n']);
        if text.chars().count() < MIN_PASSPHRASE_CHARS {
            bail!(
                "バックアップのパスフレーズは {MIN_PASSPHRASE_CHARS} 文字以上にしてください（CA の鍵を守るものです）"
            );
        }
        Ok(Self(age::secrecy::SecretString::from(text.to_owned())))
    }
}

/// How a restore reads its file.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// The passphrase the backup was made with.
    pub passphrase: Option<Passphrase>,
    /// Let in a plain (unencrypted) backup of an earlier release.
    pub unencrypted: bool,
    /// Let in a `cjs.toml` with [`SENSITIVE_SETTINGS`].
    pub accept_settings: bool,
}

/// What starts an age file.
const AGE_MAGIC: &[u8] = b"age-encryption.org/";

/// What a backup or restore did.
#[derive(Debug)]
pub struct Summary {
    pub files: usize,
    pub bytes: u64,
    pub database_included: bool,
}

/// Files of the data directory that are not copied as they are: the live SQLite files (the
/// consistent copy goes in instead) and the start-up write probe.
fn skipped(relative: &str, live_db: Option<&str>) -> bool {
    let db = live_db.unwrap_or(DATABASE);
    relative == ".write-test"
        || relative == db
        || [db, DATABASE].iter().any(|d| ["-wal", "-shm", "-journal"].iter().any(|s| relative == format!("{d}{s}")))
}

/// The SQLite database file of `url`, when it lies in `data_dir` (canonical): its path
/// relative to it.
fn live_database(url: &str, data_dir: &Path) -> Option<String> {
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = Path::new(path.split('?').next()?);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.canonicalize().ok()?,
        _ => std::env::current_dir().ok()?,
    };
    let relative = dir.join(path.file_name()?).strip_prefix(data_dir).ok()?.to_owned();
    Some(relative.to_string_lossy().into_owned())
}

/// Every regular file under `dir`, relative paths, sorted.
fn walk(dir: &Path, prefix: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .collect::<Result<Vec<_>, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for e in entries {
        let kind = e.file_type()?;
        let relative = prefix.join(e.file_name());
        if kind.is_dir() {
            walk(&e.path(), &relative, out)?;
        } else if kind.is_file() {
            out.push(relative);
        }
    }
    Ok(())
}

/// Writes a backup of `data_dir` and the database `db` (at `database_url`) to `to`, which must
/// not exist yet.
pub async fn backup(
    data_dir: &Path,
    database_url: &str,
    db: &DatabaseConnection,
    to: &Path,
    without_database: bool,
    passphrase: &Passphrase,
    now: OffsetDateTime,
) -> anyhow::Result<Summary> {
    if to.exists() {
        bail!("{} はすでにあります: 上書きしません（別の名前を指定してください）", to.display());
    }
    let sqlite = db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite;
    if !sqlite && !without_database {
        bail!(
            "PostgreSQL のデータベースは pg_dump でバックアップしてください（README「Backup and restore」）。ファイルだけを取るには --without-database を付けます"
        );
    }
    let data_dir = data_dir.canonicalize().with_context(|| format!("no data directory {}", data_dir.display()))?;
    let parent = to.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let parent = parent.canonicalize().with_context(|| format!("no directory {}", parent.display()))?;
    if parent.starts_with(&data_dir) {
        bail!("バックアップファイルはデータディレクトリの外に作ってください");
    }
    let staging = tempfile::Builder::new().prefix(".cjs-backup-").tempdir_in(&parent)?;
    let copy = staging.path().join(DATABASE);
    if sqlite {
        // A consistent copy while the service writes (SQLite's own online copy).
        let target = copy.to_str().context("a path that is not UTF-8")?.replace('\'', "''");
        db.execute_unprepared(&format!("VACUUM INTO '{target}'")).await.context("VACUUM INTO failed")?;
    }
    let live_db = if sqlite { live_database(database_url, &data_dir) } else { None };
    let mut files = Vec::new();
    walk(&data_dir, Path::new(""), &mut files)?;
    files.retain(|f| !skipped(&f.to_string_lossy(), live_db.as_deref()));

    let partial = staging.path().join("backup.partial");
    let out = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&partial)?;
    let sealed = age::Encryptor::with_user_passphrase(passphrase.0.clone())
        .wrap_output(out)
        .context("cannot start the encryption of the backup")?;
    let mut archive = tar::Builder::new(GzEncoder::new(sealed, Compression::default()));
    let mut manifest = Manifest {
        format: FORMAT.into(),
        created_at: now.unix_timestamp(),
        database_included: sqlite,
        files: BTreeMap::new(),
    };
    let mut bytes = 0;
    let mut add = |name: &str, path: &Path| -> anyhow::Result<()> {
        // Read once: what is hashed is what is written, even if the file changes meanwhile.
        let content = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        append(&mut archive, name, mode, &content)?;
        bytes += content.len() as u64;
        let entry = FileEntry { size: content.len() as u64, mode, sha256: hex::encode(Sha256::digest(&content)) };
        manifest.files.insert(name.to_owned(), entry);
        Ok(())
    };
    if sqlite {
        add(DATABASE, &copy)?;
    }
    for f in &files {
        let name = f.to_str().context("a file name that is not UTF-8")?;
        if name == DATABASE && sqlite {
            continue; // a database file of another URL would shadow the copy
        }
        add(name, &data_dir.join(f))?;
    }
    let json = serde_json::to_vec_pretty(&manifest)?;
    append(&mut archive, MANIFEST, 0o600, &json)?;
    let gz = archive.into_inner()?;
    let out = gz.finish()?.finish()?;
    out.sync_all()?;
    std::fs::rename(&partial, to).with_context(|| format!("cannot create {}", to.display()))?;
    File::open(&parent)?.sync_all()?;
    Ok(Summary { files: manifest.files.len(), bytes, database_included: sqlite })
}

fn append<W: Write>(archive: &mut tar::Builder<W>, name: &str, mode: u32, content: &[u8]) -> anyhow::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(mode);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mtime(0);
    archive.append_data(&mut header, name, content)?;
    Ok(())
}

/// A name from the archive as a path inside the new data directory: relative, no `..`.
fn safe_path(name: &str) -> Option<PathBuf> {
    let path = Path::new(name);
    let fine = path.components().all(|c| matches!(c, Component::Normal(_)));
    (fine && !name.is_empty()).then(|| path.to_owned())
}

/// Settings of a restored `cjs.toml` that load code into `cjs serve`, change where its keys come
/// from, or weaken what auditors rely on (検印, the audit key and where checkpoints go). A forged
/// backup could otherwise run its own PKCS#11 module inside the server, or point
/// the CA key at a file it brought. A restore refuses them unless the operator says they expect
/// them (`--accept-settings`).
pub const SENSITIVE_SETTINGS: &[&str] = &[
    "ca_pkcs11_module",
    "ca_pkcs11_token_label",
    "ca_pkcs11_key_label",
    "ca_pkcs11_pin_file",
    "ca_cert",
    "ca_key",
    "token_key_file",
    "tls_cert",
    "tls_key",
    "smtp_ca_file",
    "dist_dir",
    // What the auditors rely on: the audit key, where checkpoints go, and 検印 itself.
    "audit_key",
    "audit_pkcs11_key_label",
    "audit_checkpoint_mail",
    "audit_checkpoint_dir",
    "approval_required",
];

/// The most a manifest or a `cjs.toml` may hold: read into memory, unlike every other entry.
const SMALL_ENTRY_LIMIT: u64 = 1024 * 1024;

/// Reads an entry that is kept in memory (the manifest, `cjs.toml`), refusing one over the limit.
fn read_small(entry: &mut impl Read, name: &str) -> anyhow::Result<Vec<u8>> {
    let mut content = Vec::new();
    entry.take(SMALL_ENTRY_LIMIT + 1).read_to_end(&mut content)?;
    if content.len() as u64 > SMALL_ENTRY_LIMIT {
        bail!("バックアップファイルが改変されています: {name} が大きすぎます");
    }
    Ok(content)
}

/// Copies `from` into `to` (a sink, or a file), returning its size and SHA-256: constant memory.
fn copy_hashing(from: &mut impl Read, to: &mut impl Write) -> std::io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            return Ok((size, hex::encode(hasher.finalize())));
        }
        hasher.update(&buf[..n]);
        to.write_all(&buf[..n])?;
        size += n as u64;
    }
}

/// Makes the data directory `data_dir` (absent or empty) from the backup `from`.
///
/// Two passes over the archive, each streaming, so memory stays bounded whatever the archive
/// holds: the first reads every entry through SHA-256 and checks the whole archive against its
/// manifest (and the settings of its `cjs.toml`) before anything is written; the second writes
/// the files into a hidden staging directory beside `data_dir`, checking each again against the
/// manifest (the file may have changed between the passes), and renames it into place.
/// `accept_settings` lets a `cjs.toml` with [`SENSITIVE_SETTINGS`] in.
pub fn restore(from: &Path, data_dir: &Path, options: &RestoreOptions) -> anyhow::Result<Summary> {
    if data_dir.exists() && std::fs::read_dir(data_dir)?.next().is_some() {
        bail!("{} は空ではありません: 復元は新しい（空の）データディレクトリにだけ行います", data_dir.display());
    }
    let damaged = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!(
            "バックアップファイル {} が途中で切れているか壊れています（{e}）: 何も復元していません",
            from.display()
        )
    };
    let open = || -> anyhow::Result<tar::Archive<GzDecoder<Box<dyn Read>>>> {
        Ok(tar::Archive::new(GzDecoder::new(opened(from, options)?)))
    };

    // Pass 1: check everything, write nothing.
    let mut seen: BTreeMap<String, FileEntry> = BTreeMap::new();
    let mut manifest: Option<Manifest> = None;
    let mut settings: Option<Vec<u8>> = None;
    let mut archive = open()?;
    for entry in archive.entries().map_err(|e| damaged(&e))? {
        let mut entry = entry.map_err(|e| damaged(&e))?;
        let name = entry.path().map_err(|e| damaged(&e))?.to_string_lossy().into_owned();
        if manifest.is_some() {
            bail!("バックアップファイルが改変されています: 目録のあとに {name} があります");
        }
        if name == MANIFEST {
            let content = read_small(&mut entry, &name).map_err(|e| damaged(&e))?;
            let m: Manifest = serde_json::from_slice(&content)
                .map_err(|e| anyhow::anyhow!("バックアップファイルが改変されています: 目録が読めません（{e}）"))?;
            if m.format != FORMAT {
                bail!("このバックアップの形式 {:?} は扱えません（{FORMAT} のみ）", m.format);
            }
            manifest = Some(m);
            continue;
        }
        if entry.header().entry_type() != tar::EntryType::Regular {
            bail!("バックアップファイルが改変されています: {name} は通常のファイルではありません");
        }
        safe_path(&name)
            .ok_or_else(|| anyhow::anyhow!("バックアップファイルが改変されています: 不正なパス {name:?}"))?;
        if seen.contains_key(&name) {
            bail!("バックアップファイルが改変されています: {name} が二度あります");
        }
        let mode = entry.header().mode().map_err(|e| damaged(&e))? & 0o777;
        let (size, sha256) = if name == crate::config::CONFIG_FILE {
            let content = read_small(&mut entry, &name).map_err(|e| damaged(&e))?;
            let hashed = (content.len() as u64, hex::encode(Sha256::digest(&content)));
            settings = Some(content);
            hashed
        } else {
            copy_hashing(&mut entry, &mut std::io::sink()).map_err(|e| damaged(&e))?
        };
        seen.insert(name, FileEntry { size, mode, sha256 });
    }
    let manifest = manifest.ok_or_else(|| damaged(&"目録（最後の項目）がありません"))?;
    for (name, listed) in &manifest.files {
        match seen.get(name) {
            None => bail!("バックアップファイルが改変されています: {name} がありません"),
            Some(found) if found != listed => {
                bail!("バックアップファイルが改変されています: {name} のチェックサムが目録と一致しません")
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = seen.keys().find(|n| !manifest.files.contains_key(*n)) {
        bail!("バックアップファイルが改変されています: 目録にない {extra} があります");
    }
    if let Some(settings) = &settings {
        check_settings(settings, options.accept_settings)?;
    }

    // Pass 2: write into a staging directory, each file checked again as it is written.
    let parent = data_dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let staging = tempfile::Builder::new().prefix(".cjs-restore-").tempdir_in(parent)?;
    let mut archive = open()?;
    for entry in archive.entries().map_err(|e| damaged(&e))? {
        let mut entry = entry.map_err(|e| damaged(&e))?;
        let name = entry.path().map_err(|e| damaged(&e))?.to_string_lossy().into_owned();
        if name == MANIFEST {
            break;
        }
        let listed = manifest.files.get(&name).ok_or_else(|| damaged(&"二度目の読み取りで内容が変わりました"))?;
        let path = safe_path(&name).ok_or_else(|| damaged(&"二度目の読み取りで内容が変わりました"))?;
        let target = staging.path().join(&path);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        let mut out = std::fs::OpenOptions::new().write(true).create_new(true).mode(listed.mode).open(&target)?;
        let (size, sha256) = copy_hashing(&mut entry, &mut out).map_err(|e| damaged(&e))?;
        if size != listed.size || sha256 != listed.sha256 {
            bail!("バックアップファイル {} が復元中に変わりました: 何も復元していません", from.display());
        }
        out.sync_all()?;
    }
    std::fs::set_permissions(staging.path(), std::fs::Permissions::from_mode(0o700))?;
    if data_dir.exists() {
        std::fs::remove_dir(data_dir)?; // empty, checked above
    }
    let staged = staging.keep();
    std::fs::rename(&staged, data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
    File::open(parent)?.sync_all()?;
    let bytes = manifest.files.values().map(|f| f.size).sum();
    Ok(Summary { files: manifest.files.len(), bytes, database_included: manifest.database_included })
}

/// The backup's plain bytes: the age file decrypted with the passphrase (authenticated chunk by
/// chunk as it is read), or a plain gzip file of an earlier release when `--unencrypted` allows
/// it.
fn opened(from: &Path, options: &RestoreOptions) -> anyhow::Result<Box<dyn Read>> {
    let file = File::open(from).with_context(|| format!("cannot open {}", from.display()))?;
    let mut reader = BufReader::new(file);
    let head = reader.fill_buf()?;
    let (age_file, gzip_file) = (head.starts_with(AGE_MAGIC), head.starts_with(&[0x1f, 0x8b]));
    if age_file {
        let passphrase = options.passphrase.as_ref().context(
            "暗号化されたバックアップです: パスフレーズを CJS_BACKUP_PASSPHRASE か --passphrase-file で指定してください（何も復元していません）",
        )?;
        let refused =
            || anyhow::anyhow!("パスフレーズが違うか、バックアップファイルが改変されています: 何も復元していません");
        let decryptor = age::Decryptor::new_buffered(reader).map_err(|_| refused())?;
        let identity = age::scrypt::Identity::new(passphrase.0.clone());
        let plain = decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)).map_err(|_| refused())?;
        return Ok(Box::new(plain));
    }
    if gzip_file {
        if !options.unencrypted {
            bail!(
                "暗号化されていないバックアップです: 以前のリリースで作ったものなら、確かめたうえで --unencrypted を付けて復元してください（何も復元していません）"
            );
        }
        return Ok(Box::new(reader));
    }
    bail!("{} はこのシステムのバックアップファイルではありません: 何も復元していません", from.display())
}

/// Refuses a restored `cjs.toml` that sets any of [`SENSITIVE_SETTINGS`] unless `accepted`.
fn check_settings(text: &[u8], accepted: bool) -> anyhow::Result<()> {
    let text = std::str::from_utf8(text)
        .map_err(|_| anyhow::anyhow!("バックアップの cjs.toml が UTF-8 ではありません: 何も復元していません"))?;
    let table: toml::Table = toml::from_str(text)
        .map_err(|e| anyhow::anyhow!("バックアップの cjs.toml が読めません（{e}）: 何も復元していません"))?;
    let found: Vec<&str> = SENSITIVE_SETTINGS.iter().copied().filter(|k| table.contains_key(*k)).collect();
    if found.is_empty() || accepted {
        return Ok(());
    }
    bail!(
        "バックアップの cjs.toml に、コードを読み込む設定または鍵の場所を変える設定があります: {}。\
         意図したものであることを確かめたうえで、--accept-settings を付けて復元してください（何も復元していません）",
        found.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restored_cjs_toml_may_not_bring_code_or_key_locations_unless_accepted() {
        assert!(check_settings(b"listen = \"0.0.0.0:443\"\n", false).is_ok());
        let forged = b"ca_pkcs11_module = \"/tmp/evil.so\"\nlisten = \"0.0.0.0:443\"\n";
        let err = check_settings(forged, false).unwrap_err().to_string();
        assert!(err.contains("ca_pkcs11_module") && err.contains("--accept-settings"), "{err}");
        assert!(check_settings(forged, true).is_ok());
        for key in SENSITIVE_SETTINGS {
            assert!(check_settings(format!("{key} = \"x\"\n").as_bytes(), false).is_err(), "{key}");
        }
    }

    #[test]
    fn only_plain_relative_names_are_restored() {
        assert_eq!(safe_path("ca-retired/ab12/ca.pem"), Some(PathBuf::from("ca-retired/ab12/ca.pem")));
        for bad in ["", "/etc/passwd", "../outside", "a/../../b", "./x"] {
            assert_eq!(safe_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_live_sqlite_files_are_left_to_the_copy() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().canonicalize().unwrap();
        let db = live_database(&format!("sqlite://{}/cjs.db?mode=rwc", tmp.path().display()), &dir);
        assert_eq!(db.as_deref(), Some("cjs.db"));
        for f in ["cjs.db", "cjs.db-wal", "cjs.db-shm", "cjs.db-journal", ".write-test"] {
            assert!(skipped(f, db.as_deref()), "{f}");
        }
        for f in ["ca.pem", "ca-key.pem", "token.key", "cjs.toml", "mail/1.eml"] {
            assert!(!skipped(f, db.as_deref()), "{f}");
        }
        assert_eq!(live_database("sqlite:///tmp/x.db", &dir), None);
        assert_eq!(live_database("postgres://localhost/cjs", &dir), None);
    }
}
