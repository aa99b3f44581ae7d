//! The deadline of every call into the module: it runs on a thread of its own and its caller
//! waits at most [`super::TokenSettings::sign_timeout`]. Past it the call is left behind, counted
//! until it returns, and nothing else is sent to the token meanwhile.

use std::sync::{Arc, Condvar, Mutex, PoisonError};

use anyhow::{Context, bail};

use super::pool::Pool;

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

impl Pool {
    /// Runs `work` (calls into the module) on a thread of its own and waits for it at most the
    /// sign timeout; past it the call is left behind, counted in [`Sessions::left_behind`] until
    /// it returns.
    pub(super) fn within_deadline<T: Send + 'static>(
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
