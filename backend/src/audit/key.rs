//! The audit key: it signs the chain's checkpoints and nothing else — never the CA key. An ECDSA
//! P-384 key in the HSM (labelled `audit_pkcs11_key_label`, beside the CA key) when the CA key is
//! in one, else a file of its own (`audit-key.pem` in the data directory, mode 0600, or
//! `audit_key`). Its public half is what `cjs admin audit verify` trusts, and what an auditor
//! keeps (`audit-key.pub.pem`, and in every checkpoint file).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine as _;
use rcgen::{KeyPair, PKCS_ECDSA_P384_SHA384, PublicKeyData, SigningKey};
use rustls_pki_types::alg_id;
use sha2::Digest as _;

use crate::pki::{
    CaKey, files,
    hsm::{HsmKey, TokenSettings},
};

/// Where the audit key is.
#[derive(Debug, Clone)]
pub enum AuditKeySource {
    File(PathBuf),
    /// In the CA's token, under its own label.
    Token(TokenSettings),
}

/// The audit key, able to sign.
#[derive(Debug)]
pub struct AuditKey {
    key: CaKey,
    verifier: Verifier,
}

impl AuditKey {
    /// The key at `source`, made there when it is not yet.
    pub fn load_or_create(source: &AuditKeySource) -> anyhow::Result<Self> {
        if let Some(key) = Self::load(source)? {
            return Ok(key);
        }
        let key = match source {
            AuditKeySource::File(path) => {
                let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).context("Failed to generate the audit key")?;
                files::write_private(path, key.serialize_pem().as_bytes())?;
                tracing::info!(path = %path.display(), "audit key created");
                CaKey::File(key)
            }
            AuditKeySource::Token(settings) => {
                let key = HsmKey::generate(settings).context("Failed to generate the audit key in the token")?;
                tracing::info!(token = %settings.token_label, label = %settings.key_label, "audit key created in the token");
                CaKey::Token(key)
            }
        };
        Ok(Self::new(key))
    }

    /// The key at `source`, if it is there.
    pub fn load(source: &AuditKeySource) -> anyhow::Result<Option<Self>> {
        let key = match source {
            AuditKeySource::File(path) => {
                if !path.exists() {
                    return Ok(None);
                }
                let pem = files::read(path)?;
                let key = KeyPair::from_pem(&pem).with_context(|| format!("{} is not a key", path.display()))?;
                if key.algorithm() != &PKCS_ECDSA_P384_SHA384 {
                    bail!("{} is not an ECDSA P-384 key", path.display());
                }
                CaKey::File(key)
            }
            AuditKeySource::Token(settings) => match HsmKey::open(settings)? {
                Some(key) => CaKey::Token(key),
                None => return Ok(None),
            },
        };
        Ok(Some(Self::new(key)))
    }

    fn new(key: CaKey) -> Self {
        let verifier = Verifier { point: key.der_bytes().to_vec(), spki: key.subject_public_key_info() };
        Self { key, verifier }
    }

    /// A DER ECDSA-SHA384 signature of `message`. Blocks (a token may take its time).
    pub fn sign(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        self.key.sign(message).map_err(|e| anyhow::anyhow!("the audit key could not sign: {e}"))
    }

    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Writes the public key beside a file key (`audit-key.pub.pem`) or to `path`.
    pub fn write_public(&self, path: &Path) -> anyhow::Result<()> {
        let pem = self.verifier.to_pem();
        if std::fs::read_to_string(path).is_ok_and(|old| old == pem) {
            return Ok(());
        }
        files::write_public(path, pem.as_bytes())
    }
}

/// A public audit key: checks checkpoint signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    /// The uncompressed EC point.
    point: Vec<u8>,
    /// The SubjectPublicKeyInfo (DER).
    spki: Vec<u8>,
}

impl Verifier {
    /// From a `PUBLIC KEY` PEM (what [`Verifier::to_pem`] writes).
    pub fn from_pem(text: &str) -> anyhow::Result<Self> {
        let (_, pem) = x509_parser::pem::parse_x509_pem(text.as_bytes())
            .map_err(|e| anyhow::anyhow!("not a PEM public key: {e}"))?;
        if pem.label != "PUBLIC KEY" {
            bail!("not a PEM public key (found {:?})", pem.label);
        }
        let (_, spki) =
            <x509_parser::x509::SubjectPublicKeyInfo as x509_parser::prelude::FromDer<_>>::from_der(&pem.contents)
                .map_err(|e| anyhow::anyhow!("not a public key: {e}"))?;
        Ok(Self { point: spki.subject_public_key.data.to_vec(), spki: pem.contents.clone() })
    }

    pub fn to_pem(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.spki);
        let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            out.push('\n');
        }
        out.push_str("-----END PUBLIC KEY-----\n");
        out
    }

    /// Hex of the first 8 octets of the SHA-256 of the public key (as the CA's key id).
    pub fn key_id(&self) -> String {
        hex::encode(&sha2::Sha256::digest(&self.point)[..8])
    }

    /// Whether `signature` (DER ECDSA-SHA384) is this key's over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let algs = rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
        let alg = algs
            .all
            .iter()
            .find(|a| a.public_key_alg_id() == alg_id::ECDSA_P384 && a.signature_alg_id() == alg_id::ECDSA_SHA384);
        alg.is_some_and(|a| a.verify_signature(&self.point, message, signature).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_key_signs_what_its_verifier_accepts_and_no_other_key_does() {
        let dir = tempfile::tempdir().unwrap();
        let source = AuditKeySource::File(dir.path().join("audit-key.pem"));
        let key = AuditKey::load_or_create(&source).unwrap();
        let sig = key.sign(b"seq: 1").unwrap();
        assert!(key.verifier().verify(b"seq: 1", &sig));
        assert!(!key.verifier().verify(b"seq: 2", &sig), "another message");
        let again = AuditKey::load_or_create(&source).unwrap();
        assert_eq!(again.verifier(), key.verifier(), "loaded, not made anew");
        let other = AuditKey::load_or_create(&AuditKeySource::File(dir.path().join("other.pem"))).unwrap();
        assert!(!other.verifier().verify(b"seq: 1", &sig), "another key");
        let from_pem = Verifier::from_pem(&key.verifier().to_pem()).unwrap();
        assert_eq!(&from_pem, key.verifier());
        assert!(from_pem.verify(b"seq: 1", &sig));
    }
}
