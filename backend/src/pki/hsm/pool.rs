//! The key's sessions: idle logged-in sessions wait here and each signature takes one, up to
//! [`MAX_SESSIONS`] open at once (HSMs limit sessions).

use std::{
    sync::{Condvar, Mutex, PoisonError},
    time::Instant,
};

use anyhow::Context;
use cryptoki::{
    context::Pkcs11,
    mechanism::Mechanism,
    object::{ObjectClass, ObjectHandle},
    session::Session,
};

use super::{
    MAX_SESSIONS, SESSION_WAIT, TokenSettings,
    primitives::{find, logged_in},
};

/// The key's sessions and what a signing thread needs to use them.
pub(super) struct Pool {
    pub(super) settings: TokenSettings,
    /// CKA_ID of the key pair (the private key is found by label and this).
    pub(super) id: Vec<u8>,
    pub(super) sessions: Mutex<Sessions>,
    /// Signalled when a session goes back to the pool or is closed.
    pub(super) returned: Condvar,
}

/// The sessions of the current module context. Callers hold the context's read lock while they
/// wait for a signature, so when a reload (write lock) runs every session is idle, unless a call
/// was left behind (then there is no reload).
#[derive(Default)]
pub(super) struct Sessions {
    /// Idle logged-in sessions, with the private key's handle in each.
    pub(super) idle: Vec<(Session, ObjectHandle)>,
    /// Sessions open: idle ones and those in use.
    pub(super) open: usize,
    /// Signatures whose caller stopped waiting (the token did not answer in time) and that are
    /// still inside the module.
    pub(super) left_behind: usize,
}

impl Pool {
    pub(super) fn ensure_none_left_behind(&self, sessions: &Sessions) -> anyhow::Result<()> {
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
    pub(super) fn sign_with(&self, context: &Pkcs11, digest: &[u8]) -> anyhow::Result<Vec<u8>> {
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
    pub(super) fn take(&self, context: &Pkcs11) -> anyhow::Result<(Session, ObjectHandle)> {
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
    pub(super) fn give_back(&self, session: (Session, ObjectHandle)) {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner).idle.push(session);
        self.returned.notify_one();
    }

    /// A session in use was closed (or never opened).
    pub(super) fn closed(&self) {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        sessions.open = sessions.open.saturating_sub(1);
        drop(sessions);
        self.returned.notify_one();
    }
}
