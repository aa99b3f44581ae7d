//! Every CA whose certificates are still honoured: the active one, which issues, and those a
//! rollover retired, which keep signing the CRL and the OCSP answers of their certificates until
//! those expire. The rule that ties rows to CAs lives here and nowhere else: the **oldest** CA
//! owns the certificate and CRL rows that name no issuer (made before issuers were recorded), and
//! its revocation pointers carry no key id (`/pki/crl`); every later CA has its own
//! (`/pki/{key id}/crl`).

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::Context;
use time::OffsetDateTime;

use super::{CertificateAuthority, hsm::TokenSettings, profile::RevocationPointers};

/// Where the CA's key is: one choice, so that a file key and a token cannot both be configured.
#[derive(Debug, Clone)]
pub enum CaKeySource {
    /// `ca.pem` and `ca-key.pem` in the data directory, created on first start (the embedded
    /// default).
    Generated,
    /// A certificate and key (PEM) the operator keeps outside the data directory.
    Files { cert: PathBuf, key: PathBuf },
    /// The key in a PKCS#11 token (generated there on first start); the certificate at `cert`
    /// when given, else `ca.pem` in the data directory.
    Token { settings: TokenSettings, cert: Option<PathBuf> },
}

impl CaKeySource {
    /// The token's settings, when the key is in one (retired CAs may be in it too).
    pub fn token(&self) -> Option<&TokenSettings> {
        match self {
            Self::Token { settings, .. } => Some(settings),
            Self::Generated | Self::Files { .. } => None,
        }
    }

    /// Whether the CA's files are the data directory's own (a rollover can move them).
    pub fn in_data_dir(&self) -> bool {
        match self {
            Self::Generated => true,
            Self::Files { .. } => false,
            Self::Token { cert, .. } => cert.is_none(),
        }
    }
}

/// The CAs of this service, oldest first, with the active one among them.
#[derive(Debug, Clone)]
pub struct CaSet {
    /// Oldest first; never empty.
    all: Arc<[Arc<CertificateAuthority>]>,
    /// Index of the active CA in `all`.
    active: usize,
}

impl CaSet {
    /// Loads the active CA from `source` (creating it on first start) and the retired ones from
    /// the data directory, each with the revocation pointers under `base` that its certificates
    /// carry.
    pub fn load(data_dir: &Path, source: &CaKeySource, base: &str, now: OffsetDateTime) -> anyhow::Result<Self> {
        let active = match source {
            CaKeySource::Generated => CertificateAuthority::load_or_create(data_dir, None, now)?,
            CaKeySource::Files { cert, key } => {
                CertificateAuthority::load_or_create(data_dir, Some((cert.as_path(), key.as_path())), now)?
            }
            CaKeySource::Token { settings, cert } => {
                CertificateAuthority::load_or_create_in_token(data_dir, cert.as_deref(), settings, now)?
            }
        };
        let retired = CertificateAuthority::load_retired(data_dir, source.token())?;
        Self::new(active, retired, base)
    }

    /// The set of `active` and `retired`, with their pointers under `base`.
    pub fn new(active: CertificateAuthority, retired: Vec<CertificateAuthority>, base: &str) -> anyhow::Result<Self> {
        let active_id = active.key_id().to_owned();
        let mut all = retired;
        all.push(active);
        all.sort_by_key(CertificateAuthority::not_before);
        let all: Arc<[Arc<CertificateAuthority>]> = all
            .into_iter()
            .enumerate()
            .map(|(i, ca)| {
                let pointers =
                    if i == 0 { RevocationPointers::under(base) } else { RevocationPointers::of_ca(base, ca.key_id()) };
                Arc::new(ca.with_pointers(pointers))
            })
            .collect();
        let active = all.iter().position(|c| c.key_id() == active_id).context("the active CA")?;
        Ok(Self { all, active })
    }

    /// The CA that issues.
    pub fn active(&self) -> &Arc<CertificateAuthority> {
        &self.all[self.active]
    }

    /// The oldest CA: it owns the rows that name no issuer, and `/pki/crl` and `/pki/ca.crt` are
    /// its own.
    pub fn oldest(&self) -> &Arc<CertificateAuthority> {
        &self.all[0]
    }

    /// Whether `ca` owns the rows that name no issuer.
    pub fn owns_unattributed(&self, ca: &CertificateAuthority) -> bool {
        self.oldest().key_id() == ca.key_id()
    }

    /// The CA whose key id is `key_id`.
    pub fn by_key_id(&self, key_id: &str) -> Option<&Arc<CertificateAuthority>> {
        self.all.iter().find(|c| c.key_id() == key_id)
    }

    /// Every CA, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<CertificateAuthority>> {
        self.all.iter()
    }

    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// Every CA certificate as PEM, the active one first, then the others newest first: what
    /// `ca.pem` in the data directory holds after a rollover.
    pub fn pem_bundle(&self) -> String {
        let mut pem = self.active().cert_pem().to_owned();
        for ca in self.all.iter().rev().filter(|c| c.key_id() != self.active().key_id()) {
            pem.push_str(ca.cert_pem());
        }
        pem
    }

    /// The subjects of every CA (DER), for the TLS CertificateRequest's acceptable issuers.
    pub fn subjects_der(&self) -> anyhow::Result<Vec<Vec<u8>>> {
        self.all.iter().map(|c| c.subject_der()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_ca_owns_unattributed_rows_and_the_bare_pointers() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let now = OffsetDateTime::now_utc();
        let old = CertificateAuthority::load_or_create(a.path(), None, now - time::Duration::days(400)).unwrap();
        let new = CertificateAuthority::load_or_create(b.path(), None, now).unwrap();
        let (old_id, new_id) = (old.key_id().to_owned(), new.key_id().to_owned());
        let set = CaSet::new(new, vec![old], "http://pki.example.jp").unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set.active().key_id(), new_id);
        assert_eq!(set.oldest().key_id(), old_id);
        assert!(set.owns_unattributed(set.oldest()) && !set.owns_unattributed(set.active()));
        assert_eq!(set.oldest().pointers().unwrap().crl, "http://pki.example.jp/pki/crl");
        assert!(set.active().pointers().unwrap().crl.contains(&new_id));
        assert_eq!(set.by_key_id(&old_id).map(|c| c.key_id()), Some(old_id.as_str()));
        assert!(set.by_key_id("0000").is_none());
        assert!(set.pem_bundle().starts_with(set.active().cert_pem()));
    }
}
