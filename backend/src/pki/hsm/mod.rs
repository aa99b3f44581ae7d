//! The CA key in a PKCS#11 token (an HSM; SoftHSM2 in the tests), through the `cryptoki` crate.
//!
//! The key pair is generated inside the token (ECDSA P-384; the private key sensitive, never
//! extractable, a token object) and found again by its label at every start. The public key is
//! read once; every signature is a `C_Sign` (CKM_ECDSA over the SHA-384 digest we compute), its
//! raw `r || s` encoded as the DER ECDSA-Sig-Value that X.509 wants.
//!
//! Sessions: a PKCS#11 session is used by one thread at a time, so idle logged-in sessions wait in
//! a pool and each signature takes one; signatures on different sessions run in parallel, up to
//! [`MAX_SESSIONS`] open at once (HSMs limit sessions). A
//! signature that fails (token removed, logged out, a module error) marks the signer broken: the
//! next signature, at most every [`RELOAD_INTERVAL`], first finalises and initialises the module
//! again (a module learns of a token that came back only then: SoftHSM does), then opens a
//! session, logs in and finds the key by its label and CKA_ID, so the signer comes back by itself
//! when the token does, without a restart; signatures in between fail at once. A refused PIN is
//! not tried again (hardware HSMs lock a PIN after a few wrong tries). A failure reaches rcgen as
//! `Error::RemoteKeyError`, which the API answers with 503 and a Japanese message; nothing else of
//! the service depends on the token.
//!
//! A token that hangs instead of failing (a network HSM gone silent) is met by a deadline: each
//! signature — taking a session, logging in, `C_Sign` — runs on a thread of its own and the caller
//! waits for it at most [`TokenSettings::sign_timeout`]. Past it the caller gets the same
//! failure and the call is left behind in the module. While any call is left behind nothing else
//! is sent to the token (every signature fails at once, and the module is not finalised under a
//! call still inside it); when the last one returns, the next signature initialises the module
//! again as after any failure. A call that never returns keeps the signer down until a restart.
//!
//! The PIN comes from the environment (`CJS_CA_PKCS11_PIN`) or a file, never from a flag, and is
//! never logged.

use std::{
    path::PathBuf,
    sync::{Arc, Condvar, Mutex, PoisonError, RwLock},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use cryptoki::{
    context::Pkcs11,
    mechanism::Mechanism,
    object::{Attribute, KeyType, ObjectClass, ObjectHandle},
    session::Session,
};
use rcgen::{PKCS_ECDSA_P384_SHA384, PublicKeyData, SignatureAlgorithm, SigningKey};
use sha2::{Digest, Sha384};

use self::{
    pool::{Pool, Sessions},
    primitives::{ecdsa_der, find, load, logged_in, public_key},
};
use crate::secret::Secret;

mod deadline;
mod pool;
mod primitives;

/// DER of the OID secp384r1, the CKA_EC_PARAMS of the key generated.
const SECP384R1: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
/// Octets of each of r and s for P-384.
const P384_SCALAR: usize = 48;
/// After a failure, the module is initialised again at most this often; signatures in between
/// fail at once (an HSM that is away is not hammered, and nobody waits for it).
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(2);
/// Most sessions open on the token at once (HSMs limit them: `CKR_SESSION_COUNT`); a signature
/// beyond waits for one, up to [`SESSION_WAIT`].
pub const MAX_SESSIONS: usize = 8;
/// How long a signature waits for a free session.
pub const SESSION_WAIT: Duration = Duration::from_secs(10);
/// How long a signature waits for the token when `ca_pkcs11_timeout` is not set.
pub const DEFAULT_SIGN_TIMEOUT: Duration = Duration::from_secs(10);

/// The token refused the PIN: not retried (a hardware HSM locks the PIN after a few wrong
/// tries), until a restart with the right one.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PinRefused(String);

/// Where the CA key lives in a token.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// The PKCS#11 module (a shared library).
    pub module: PathBuf,
    pub token_label: String,
    pub key_label: String,
    /// The user PIN (`None`: not given, which only commands that never sign may do).
    pub pin: Option<Secret>,
    /// How long a signature waits for the token before it is given up (and the token with it,
    /// until the call comes back).
    pub sign_timeout: Duration,
}

/// The CA key in a token: rcgen signs through it.
pub struct HsmKey {
    /// The loaded module: read-held while a signature is waited for, write-held while it is
    /// initialised again (and then no call may be left behind in it: [`Pool::left_behind`]).
    context: RwLock<Pkcs11>,
    /// The uncompressed EC point (what rcgen calls the public key's DER bytes).
    public: Vec<u8>,
    /// What the signing threads share with the callers.
    pool: Arc<Pool>,
    health: Mutex<Health>,
}

/// What the last signatures said about the token.
#[derive(Debug, Default)]
struct Health {
    /// A signature failed: initialise the module again before the next.
    broken: bool,
    last_reload: Option<Instant>,
    /// The PIN was refused: no more logins.
    pin_refused: bool,
}

impl std::fmt::Debug for HsmKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let settings = &self.pool.settings;
        f.debug_struct("HsmKey")
            .field("module", &settings.module)
            .field("token", &settings.token_label)
            .field("key", &settings.key_label)
            .finish_non_exhaustive()
    }
}

impl HsmKey {
    /// Loads the module and finds the key labelled `key_label` in the token labelled
    /// `token_label`: `Ok(None)` when the token has no such key.
    pub fn open(settings: &TokenSettings) -> anyhow::Result<Option<Self>> {
        let context = load(&settings.module)?;
        let session = logged_in(&context, settings, false)?;
        let Some(public) = find(&session, ObjectClass::PUBLIC_KEY, &settings.key_label, &[])? else {
            if find(&session, ObjectClass::PRIVATE_KEY, &settings.key_label, &[])?.is_some() {
                bail!(
                    "the token {:?} holds a private key labelled {:?} but no public key of that label: cjs needs both",
                    settings.token_label,
                    settings.key_label
                );
            }
            return Ok(None);
        };
        let (point, id) = public_key(&session, public)?;
        let private = find(&session, ObjectClass::PRIVATE_KEY, &settings.key_label, &id)?.with_context(|| {
            format!("the token holds no private key labelled {:?} beside its public key", settings.key_label)
        })?;
        Ok(Some(Self::new(settings, context, point, id, (session, private))))
    }

    fn new(
        settings: &TokenSettings,
        context: Pkcs11,
        public: Vec<u8>,
        id: Vec<u8>,
        session: (Session, ObjectHandle),
    ) -> Self {
        Self {
            context: RwLock::new(context),
            public,
            pool: Arc::new(Pool {
                settings: settings.clone(),
                id,
                sessions: Mutex::new(Sessions { idle: vec![session], open: 1, left_behind: 0 }),
                returned: Condvar::new(),
            }),
            health: Mutex::default(),
        }
    }

    /// Generates a P-384 key pair labelled `key_label` inside the token: the private key a token
    /// object, sensitive and never extractable.
    pub fn generate(settings: &TokenSettings) -> anyhow::Result<Self> {
        let context = load(&settings.module)?;
        let session = logged_in(&context, settings, true)?;
        let label = settings.key_label.as_bytes().to_vec();
        let id = rand::random::<[u8; 16]>().to_vec();
        let public_template = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::KeyType(KeyType::EC),
            Attribute::EcParams(SECP384R1.to_vec()),
            Attribute::Label(label.clone()),
            Attribute::Id(id.clone()),
        ];
        let private_template = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::KeyType(KeyType::EC),
            Attribute::Label(label),
            Attribute::Id(id),
        ];
        let (public, private) = session
            .generate_key_pair(&Mechanism::EccKeyPairGen, &public_template, &private_template)
            .context("the token could not generate the CA key pair (ECDSA P-384)")?;
        let (point, id) = public_key(&session, public)?;
        Ok(Self::new(settings, context, point, id, (session, private)))
    }

    /// After a failure: the module finalised and initialised again, the pooled sessions gone —
    /// unless a call left behind is still inside the module.
    /// Finalising and initialising run under the same deadline as a signature (a silent network
    /// HSM can hang them too); a second signature meanwhile does not wait for the first's reload.
    fn reload(&self) -> anyhow::Result<()> {
        let mut context = match self.context.try_write() {
            Ok(c) => c,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => bail!("the token is in use or being initialised again"),
        };
        {
            let mut sessions = self.pool.sessions.lock().unwrap_or_else(PoisonError::into_inner);
            self.pool.ensure_none_left_behind(&sessions)?;
            *sessions = Sessions::default();
        }
        let (old, module) = (context.clone(), self.pool.settings.module.clone());
        *context = self.pool.within_deadline("re-initialisation", move || {
            let _ = old.finalize();
            load(&module)
        })?;
        tracing::info!(token = %self.pool.settings.token_label, "PKCS#11 module initialised again");
        Ok(())
    }

    /// Whether the last signature went through (or none was tried). A signer that failed is
    /// tried again by the next signature.
    pub fn is_healthy(&self) -> bool {
        let health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        !health.broken && !health.pin_refused
    }

    /// Signs a fixed digest, as the next signature would (the same reload and deadline rules):
    /// whether it went through.
    pub fn probe(&self) -> bool {
        self.sign_digest(&[0x5a; 48]).is_ok()
    }
}

impl HsmKey {
    fn sign_digest(&self, digest: &[u8]) -> anyhow::Result<Vec<u8>> {
        let reload = {
            let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
            if health.pin_refused {
                bail!("the token refused the PIN: restart with the right one (it is not tried again)");
            }
            if health.broken {
                if health.last_reload.is_some_and(|t| t.elapsed() < RELOAD_INTERVAL) {
                    bail!("the token failed a moment ago: not tried again yet");
                }
                health.last_reload = Some(Instant::now());
            }
            health.broken
        };
        if reload {
            self.reload()?; // still broken if it failed
            self.health.lock().unwrap_or_else(PoisonError::into_inner).broken = false;
        }
        let signed = self.sign_within_deadline(digest);
        match signed {
            Ok(raw) => ecdsa_der(&raw),
            Err(e) => {
                let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
                health.broken = true;
                health.pin_refused |= e.chain().any(|c| c.is::<PinRefused>());
                Err(e)
            }
        }
    }

    /// [`Pool::sign_with`] on a thread of its own, waited for at most the sign timeout; past it
    /// the call is left behind (counted in [`Sessions::left_behind`] until it returns) and the
    /// signer is broken, so the next signature goes through [`HsmKey::reload`], which refuses
    /// while a call is left behind.
    fn sign_within_deadline(&self, digest: &[u8]) -> anyhow::Result<Vec<u8>> {
        let context = self.context.read().unwrap_or_else(PoisonError::into_inner);
        let (pool, module, digest) = (self.pool.clone(), context.clone(), digest.to_vec());
        self.pool.within_deadline("signature", move || pool.sign_with(&module, &digest))
    }
}

impl PublicKeyData for HsmKey {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ECDSA_P384_SHA384
    }
}

impl SigningKey for HsmKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.sign_digest(&Sha384::digest(msg)).map_err(|e| {
            tracing::warn!(error = %format!("{e:#}"), token = %self.pool.settings.token_label, "CA signature through PKCS#11 failed");
            rcgen::Error::RemoteKeyError
        })
    }
}
