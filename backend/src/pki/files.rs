//! Reading and writing PEM files; private keys are written with mode 0600.

use std::{io::Write, os::unix::fs::OpenOptionsExt, path::Path};

use anyhow::Context;

/// Writes `contents` to `path`, readable by the owner only; refuses to overwrite.
pub fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("Failed to create {}", path.display()))?;
    f.write_all(contents).with_context(|| format!("Failed to write {}", path.display()))?;
    f.sync_all().with_context(|| format!("Failed to sync {}", path.display()))
}

/// Writes a public file (certificate) atomically: temp file + rename.
pub fn write_public(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).with_context(|| format!("Failed to write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("Failed to move {} into place", path.display()))
}

/// Reads a text file, naming it in the error.
pub fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("Failed to read {}", path.display()))
}

/// The first `CERTIFICATE` block of a PEM text, as DER.
pub fn first_certificate_der(pem_text: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    use rustls_pki_types::{CertificateDer, pem::PemObject};
    let cert = CertificateDer::pem_slice_iter(pem_text.as_bytes())
        .next()
        .with_context(|| format!("{} contains no certificate", path.display()))?
        .with_context(|| format!("{} is not valid PEM", path.display()))?;
    Ok(cert.to_vec())
}

/// The text of the first `CERTIFICATE` block of a PEM text, as it is written there.
pub fn first_certificate_pem(pem_text: &str) -> Option<String> {
    const END: &str = "-----END CERTIFICATE-----";
    let start = pem_text.find("-----BEGIN CERTIFICATE-----")?;
    let end = start + pem_text[start..].find(END)? + END.len();
    Some(format!("{}\n", &pem_text[start..end]))
}
