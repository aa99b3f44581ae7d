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
    context::{CInitializeArgs, CInitializeFlags, Pkcs11},
    error::{Error as CkError, RvError},
    mechanism::Mechanism,
    object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle},
    session::{Session, UserType},
    slot::Slot,
    types::AuthPin,
};
use der::{Encode, asn1::UintRef};
use rcgen::{PKCS_ECDSA_P384_SHA384, PublicKeyData, SignatureAlgorithm, SigningKey};
use sha2::{Digest, Sha384};

use crate::config::Secret;

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
pub struct TokenKey {
    /// The loaded module: read-held while a signature is waited for, write-held while it is
    /// initialised again (and then no call may be left behind in it: [`Pool::left_behind`]).
    context: RwLock<Pkcs11>,
    /// The uncompressed EC point (what rcgen calls the public key's DER bytes).
    public: Vec<u8>,
    /// What the signing threads share with the callers.
    pool: Arc<Pool>,
    health: Mutex<Health>,
}

/// The key's sessions and what a signing thread needs to use them.
struct Pool {
    settings: TokenSettings,
    /// CKA_ID of the key pair (the private key is found by label and this).
    id: Vec<u8>,
    sessions: Mutex<Sessions>,
    /// Signalled when a session goes back to the pool or is closed.
    returned: Condvar,
}

/// The sessions of the current module context. Callers hold the context's read lock while they
/// wait for a signature, so when a reload (write lock) runs every session is idle, unless a call
/// was left behind (then there is no reload).
#[derive(Default)]
struct Sessions {
    /// Idle logged-in sessions, with the private key's handle in each.
    idle: Vec<(Session, ObjectHandle)>,
    /// Sessions open: idle ones and those in use.
    open: usize,
    /// Signatures whose caller stopped waiting (the token did not answer in time) and that are
    /// still inside the module.
    left_behind: usize,
}

/// One call into the module between its caller and its thread.
struct Call<T> {
    outcome: Option<anyhow::Result<T>>,
    /// The caller gave up waiting: the thread counts itself out of [`Sessions::left_behind`].
    abandoned: bool,
}

impl<T> Default for Call<T> {
    fn default() -> Self {
        Self { outcome: None, abandoned: false }
    }
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

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let settings = &self.pool.settings;
        f.debug_struct("TokenKey")
            .field("module", &settings.module)
            .field("token", &settings.token_label)
            .field("key", &settings.key_label)
            .finish_non_exhaustive()
    }
}

impl TokenKey {
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

impl Pool {
    fn ensure_none_left_behind(&self, sessions: &Sessions) -> anyhow::Result<()> {
        anyhow::ensure!(
            sessions.left_behind == 0,
            "the token has not answered {} signature(s) for more than {:?}: nothing is sent to it until they come back (or cjs restarts)",
            sessions.left_behind,
            self.settings.sign_timeout
        );
        Ok(())
    }

    /// Takes a session, signs `digest` and gives the session back (closes it if the token
    /// failed): what the signing thread does.
    fn sign_with(&self, context: &Pkcs11, digest: &[u8]) -> anyhow::Result<Vec<u8>> {
        let (session, key) = self.take(context)?;
        match session.sign(&Mechanism::Ecdsa, key, digest) {
            Ok(raw) => {
                self.give_back((session, key));
                Ok(raw)
            }
            Err(e) => {
                drop(session);
                self.closed();
                Err(anyhow::Error::new(e).context("the token refused to sign"))
            }
        }
    }

    /// An idle session with the key, or a new one (finding the token and the key again) while
    /// fewer than [`MAX_SESSIONS`] are open, else the next one given back.
    fn take(&self, context: &Pkcs11) -> anyhow::Result<(Session, ObjectHandle)> {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let deadline = Instant::now() + SESSION_WAIT;
        loop {
            if let Some(s) = sessions.idle.pop() {
                return Ok(s);
            }
            if sessions.open < MAX_SESSIONS {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            anyhow::ensure!(
                !left.is_zero(),
                "all {MAX_SESSIONS} sessions of the token stayed busy for {SESSION_WAIT:?}"
            );
            sessions = self.returned.wait_timeout(sessions, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        sessions.open += 1;
        drop(sessions);
        let opened = logged_in(context, &self.settings, false).and_then(|session| {
            let key = find(&session, ObjectClass::PRIVATE_KEY, &self.settings.key_label, &self.id)?
                .with_context(|| format!("the token holds no private key labelled {:?}", self.settings.key_label))?;
            Ok((session, key))
        });
        if opened.is_err() {
            self.closed();
        }
        opened
    }

    /// A session in use goes back to the pool.
    fn give_back(&self, session: (Session, ObjectHandle)) {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner).idle.push(session);
        self.returned.notify_one();
    }

    /// A session in use was closed (or never opened).
    fn closed(&self) {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        sessions.open = sessions.open.saturating_sub(1);
        drop(sessions);
        self.returned.notify_one();
    }
}

impl TokenKey {
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
    /// signer is broken, so the next signature goes through [`TokenKey::reload`], which refuses
    /// while a call is left behind.
    fn sign_within_deadline(&self, digest: &[u8]) -> anyhow::Result<Vec<u8>> {
        let context = self.context.read().unwrap_or_else(PoisonError::into_inner);
        let (pool, module, digest) = (self.pool.clone(), context.clone(), digest.to_vec());
        self.pool.within_deadline("signature", move || pool.sign_with(&module, &digest))
    }
}

impl Pool {
    /// Runs `work` (calls into the module) on a thread of its own and waits for it at most the
    /// sign timeout; past it the call is left behind, counted in [`Sessions::left_behind`] until
    /// it returns.
    fn within_deadline<T: Send + 'static>(
        self: &Arc<Self>,
        what: &'static str,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let call = Arc::new((Mutex::new(Call::<T>::default()), Condvar::new()));
        let (pool, theirs) = (self.clone(), call.clone());
        std::thread::Builder::new()
            .name("pkcs11-call".into())
            .spawn(move || {
                let outcome = work();
                let (state, done) = &*theirs;
                let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
                if state.abandoned {
                    let mut sessions = pool.sessions.lock().unwrap_or_else(PoisonError::into_inner);
                    sessions.left_behind -= 1;
                    tracing::warn!(
                        token = %pool.settings.token_label,
                        call = what,
                        outcome = if outcome.is_ok() { "done" } else { "failed" },
                        "a PKCS#11 call given up on came back"
                    );
                } else {
                    state.outcome = Some(outcome);
                    done.notify_one();
                }
            })
            .context("cannot start a thread for the token")?;
        let (state, done) = &*call;
        let mut state = done
            .wait_timeout_while(state.lock().unwrap_or_else(PoisonError::into_inner), self.settings.sign_timeout, |s| {
                s.outcome.is_none()
            })
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        if let Some(outcome) = state.outcome.take() {
            return outcome;
        }
        state.abandoned = true;
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner).left_behind += 1;
        bail!("the token did not answer a {what} within {:?} (ca_pkcs11_timeout)", self.settings.sign_timeout)
    }
}

impl PublicKeyData for TokenKey {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ECDSA_P384_SHA384
    }
}

impl SigningKey for TokenKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.sign_digest(&Sha384::digest(msg)).map_err(|e| {
            tracing::warn!(error = %format!("{e:#}"), token = %self.pool.settings.token_label, "CA signature through PKCS#11 failed");
            rcgen::Error::RemoteKeyError
        })
    }
}

fn load(module: &std::path::Path) -> anyhow::Result<Pkcs11> {
    let context = Pkcs11::new(module)
        .with_context(|| format!("cannot load the PKCS#11 module {} (ca_pkcs11_module)", module.display()))?;
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(context),
        Err(e) => {
            Err(anyhow::Error::new(e).context(format!("the PKCS#11 module {} did not initialise", module.display())))
        }
    }
}

/// The slot of the token labelled as configured.
fn slot(context: &Pkcs11, settings: &TokenSettings) -> anyhow::Result<Slot> {
    // A slot whose token cannot be read (another token, removed) must not hide ours.
    for slot in context.get_slots_with_token().context("cannot list the PKCS#11 slots")? {
        if context.get_token_info(slot).is_ok_and(|info| info.label().trim_end() == settings.token_label) {
            return Ok(slot);
        }
    }
    bail!("no PKCS#11 token labelled {:?} is present (ca_pkcs11_token_label)", settings.token_label)
}

/// A session on the configured token, the user logged in.
fn logged_in(context: &Pkcs11, settings: &TokenSettings, read_write: bool) -> anyhow::Result<Session> {
    let slot = slot(context, settings)?;
    let session = if read_write { context.open_rw_session(slot) } else { context.open_ro_session(slot) }
        .with_context(|| format!("cannot open a session on the token {:?}", settings.token_label))?;
    let Some(pin) = &settings.pin else {
        bail!(
            "the CA key is in a PKCS#11 token: give its PIN in CJS_CA_PKCS11_PIN or a file named by ca_pkcs11_pin_file"
        );
    };
    let pin = AuthPin::from(pin.expose().to_owned());
    match session.login(UserType::User, Some(&pin)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
        Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange, _)) => {
            Err(PinRefused(format!(
                "the PIN of the token {:?} is wrong (CJS_CA_PKCS11_PIN or ca_pkcs11_pin_file)",
                settings.token_label
            ))
            .into())
        }
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(PinRefused(format!(
            "the PIN of the token {:?} is locked: unlock it with the SO PIN",
            settings.token_label
        ))
        .into()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot log in to the token {:?}", settings.token_label))),
    }
}

/// The one object of `class` labelled `label` (and with CKA_ID `id` unless empty), if any;
/// several are an error.
fn find(session: &Session, class: ObjectClass, label: &str, id: &[u8]) -> anyhow::Result<Option<ObjectHandle>> {
    let mut template = vec![Attribute::Class(class), Attribute::Label(label.as_bytes().to_vec())];
    if !id.is_empty() {
        template.push(Attribute::Id(id.to_vec()));
    }
    let found = session.find_objects(&template).context("cannot search the token")?;
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => bail!("the token holds {} keys labelled {label:?} of one kind: cjs needs exactly one", found.len()),
    }
}

/// The uncompressed point of the EC public key `public` (CKA_EC_POINT is a DER OCTET STRING
/// holding it), and its CKA_ID.
fn public_key(session: &Session, public: ObjectHandle) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let attributes =
        session.get_attributes(public, &[AttributeType::EcPoint, AttributeType::EcParams, AttributeType::Id])?;
    let (mut point, mut params, mut id) = (None, None, Vec::new());
    for a in attributes {
        match a {
            Attribute::EcPoint(p) => point = Some(p),
            Attribute::EcParams(p) => params = Some(p),
            Attribute::Id(i) => id = i,
            _ => {}
        }
    }
    anyhow::ensure!(params.as_deref() == Some(SECP384R1), "the CA key in the token is not an ECDSA P-384 key");
    let point = point.context("the token gives no EC point for the CA key")?;
    // PKCS#11 says a DER OCTET STRING; some tokens give the bare point.
    let inner = if point.len() == 1 + 2 * P384_SCALAR && point[0] == 0x04 {
        point
    } else {
        der::asn1::OctetString::from_der(&point).context("unexpected EC point from the token")?.into_bytes()
    };
    anyhow::ensure!(inner.len() == 1 + 2 * P384_SCALAR && inner[0] == 0x04, "unexpected EC point from the token");
    Ok((inner, id))
}

/// DER ECDSA-Sig-Value of PKCS#11's `r || s`.
fn ecdsa_der(raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(raw.len() == 2 * P384_SCALAR, "unexpected ECDSA signature length {} from the token", raw.len());
    let (r, s) = raw.split_at(P384_SCALAR);
    let trim = |x: &[u8]| -> anyhow::Result<Vec<u8>> {
        let start = x.iter().position(|&b| b != 0).unwrap_or(x.len() - 1);
        Ok(UintRef::new(&x[start..])?.to_der()?)
    };
    let (r, s) = (trim(r)?, trim(s)?);
    let mut body = r;
    body.extend_from_slice(&s);
    let mut out = vec![0x30];
    der::Length::try_from(body.len())?.encode_to_vec(&mut out)?;
    out.extend_from_slice(&body);
    Ok(out)
}

use der::Decode as _;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_and_s_become_a_der_sequence_of_two_positive_integers() {
        // r with its high bit set gets a zero octet; s with leading zeros loses them.
        let mut raw = vec![0x80; P384_SCALAR];
        let mut s = vec![0u8; P384_SCALAR];
        s[P384_SCALAR - 1] = 0x05;
        raw.extend_from_slice(&s);
        let der = ecdsa_der(&raw).unwrap();
        assert_eq!(&der[..5], &[0x30, 0x36, 0x02, 0x31, 0x00]);
        assert_eq!(&der[der.len() - 3..], &[0x02, 0x01, 0x05]);
        assert!(ecdsa_der(&[1; 10]).is_err(), "not a P-384 signature");
    }
}
