//! argon2id password hashing (OWASP: m = 19 MiB, t = 2, p = 1), always off the async workers.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use anyhow::Context;
use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher as _, Version,
    password_hash::{Output, SaltString},
};

/// Why a hashing call did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum HasherError {
    /// More calls are waiting than the queue holds (a flood): refused at once, try again shortly.
    #[error("the password hashing queue is full")]
    Busy,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Hashes and verifies passwords. Cheap to clone.
#[derive(Clone)]
pub struct Hasher {
    params: Params,
    /// A hash of a random password, verified for unknown IDs so timing does not tell them apart.
    dummy_hash: Arc<str>,
    /// Bounds concurrent hashing to one per core (19 MiB each): a flood of logins queues instead
    /// of exhausting memory, and leaves the async workers CPU for every other request
    /// (docs/PERFORMANCE.md: /api/health p99 under an authentication flood 17 → 9–13 ms).
    permits: Arc<tokio::sync::Semaphore>,
    /// argon2's working memory (19 MiB a piece), at most one per permit, reused by every
    /// verification. Allocating it per call meant fresh pages to fault in or not depending on the
    /// allocator's state — 10–15 ms of an isolated verification, differing between otherwise equal
    /// calls (docs/RELIABILITY.md, timing). Each use overwrites it completely; like argon2's own
    /// freed memory before, it is not cleared between uses.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
    /// How many buffers `memory` keeps (the number of permits).
    keep: usize,
    /// Calls waiting for or holding a permit, and how many may (permits + queue limit): beyond
    /// it a call is refused at once instead of queueing without bound behind a flood.
    queued: Arc<AtomicUsize>,
    max_queued: usize,
    /// The lane of calls whose request proved more than knowledge of an ID ([`Lane::Certified`]:
    /// a login, which presented a valid client certificate of this CA before any password work):
    /// its own permit and queue, so a flood of uncertified attempts from many addresses cannot
    /// hold up a legitimate login. (One argon2 job more than there are cores while both lanes
    /// work: bounded, and the certified lane is only as busy as real users are.)
    certified: CertifiedLane,
}

/// See [`Hasher::certified`].
#[derive(Clone)]
struct CertifiedLane {
    permits: Arc<tokio::sync::Semaphore>,
    queued: Arc<AtomicUsize>,
    max_queued: usize,
}

/// Which queue a verification waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Anyone who knows (or guesses) an ID: authentication for issuance, password change.
    Open,
    /// A request that presented a valid client certificate of this CA first: login.
    Certified,
}

/// A place in the queue, given back when the call ends (or is dropped).
struct Place(Arc<AtomicUsize>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher").field("params", &self.params).finish_non_exhaustive()
    }
}

impl Hasher {
    /// A hasher with `memory_kib` of memory, 2 passes, 1 lane, and the default queue limit.
    pub fn new(memory_kib: u32) -> anyhow::Result<Self> {
        Self::with_queue_limit(memory_kib, DEFAULT_QUEUE_LIMIT)
    }

    /// A hasher whose calls beyond one per core plus `queue_limit` waiting are refused as
    /// [`HasherError::Busy`].
    pub fn with_queue_limit(memory_kib: u32, queue_limit: usize) -> anyhow::Result<Self> {
        let params =
            Params::new(memory_kib, 2, 1, None).map_err(|e| anyhow::anyhow!("Invalid argon2 parameters: {e}"))?;
        let cpus = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let permits = Arc::new(tokio::sync::Semaphore::new(cpus));
        let mut hasher = Self {
            params,
            dummy_hash: Arc::from(""),
            permits,
            memory: Arc::new(Mutex::new(Vec::new())),
            keep: cpus + 1,
            queued: Arc::new(AtomicUsize::new(0)),
            max_queued: cpus + queue_limit,
            certified: CertifiedLane {
                permits: Arc::new(tokio::sync::Semaphore::new(1)),
                queued: Arc::new(AtomicUsize::new(0)),
                max_queued: 1 + queue_limit,
            },
        };
        let random: String = {
            use rand::Rng;
            let bytes: [u8; 16] = rand::rng().random();
            hex::encode(bytes)
        };
        hasher.dummy_hash = Arc::from(hasher.hash_blocking(&random)?);
        Ok(hasher)
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes on the calling thread (CLI, tests); servers use [`Hasher::hash`].
    pub fn hash_blocking(&self, password: &str) -> anyhow::Result<String> {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let hash = self
            .argon2()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| anyhow::anyhow!("Failed to hash a password: {e}"))?;
        Ok(hash.to_string())
    }

    /// Verifies on the calling thread. A malformed stored hash counts as a mismatch and is logged.
    pub fn verify_blocking(&self, stored_hash: &str, password: &str) -> bool {
        let mut memory = self.memory.lock().ok().and_then(|mut pool| pool.pop()).unwrap_or_default();
        let result = verify_in(&mut memory, stored_hash, password.as_bytes());
        // Keep only buffers of the configured size, and no more than one per permit.
        if memory.len() == self.params.block_count()
            && let Ok(mut pool) = self.memory.lock()
            && pool.len() < self.keep
        {
            pool.push(memory);
        }
        match result {
            Ok(matches) => matches,
            Err(e) => {
                tracing::error!(error = %e, "a stored password hash is malformed");
                false
            }
        }
    }

    /// A place in the open queue, or `Busy` when it is full.
    fn enter(&self) -> Result<Place, HasherError> {
        enter(&self.queued, self.max_queued)
    }

    /// Hashes on the blocking pool.
    pub async fn hash(&self, password: String) -> Result<String, HasherError> {
        let place = self.enter()?;
        // Owned and moved into the task: held until the work ends even if the request is dropped.
        let permit = self.permits.clone().acquire_owned().await.context("hasher closed")?;
        let this = self.clone();
        let hash = tokio::task::spawn_blocking(move || {
            let (_place, _permit) = (place, permit);
            this.hash_blocking(&password)
        })
        .await
        .context("hashing task failed")??;
        Ok(hash)
    }

    /// Verifies on the blocking pool in the open lane; `None` as the hash verifies against the
    /// dummy hash.
    pub async fn verify(&self, stored_hash: Option<String>, password: String) -> Result<bool, HasherError> {
        self.verify_in(Lane::Open, stored_hash, password).await
    }

    /// [`Hasher::verify`] in `lane`.
    pub async fn verify_in(
        &self,
        lane: Lane,
        stored_hash: Option<String>,
        password: String,
    ) -> Result<bool, HasherError> {
        let (place, permits) = match lane {
            Lane::Open => (self.enter()?, &self.permits),
            Lane::Certified => (enter(&self.certified.queued, self.certified.max_queued)?, &self.certified.permits),
        };
        let permit = permits.clone().acquire_owned().await.context("hasher closed")?;
        let this = self.clone();
        let ok = tokio::task::spawn_blocking(move || {
            let (_place, _permit) = (place, permit);
            match stored_hash {
                Some(h) => this.verify_blocking(&h, &password),
                None => {
                    this.verify_blocking(&this.dummy_hash, &password);
                    false
                }
            }
        })
        .await
        .context("verification task failed")?;
        Ok(ok)
    }
}

/// A place in a queue counted by `queued`, or `Busy` when `max` are in it.
fn enter(queued: &Arc<AtomicUsize>, max: usize) -> Result<Place, HasherError> {
    if queued.fetch_add(1, Ordering::AcqRel) >= max {
        queued.fetch_sub(1, Ordering::AcqRel);
        return Err(HasherError::Busy);
    }
    Ok(Place(queued.clone()))
}

/// Password calls that may wait for a core by default (besides one running per core): with
/// argon2id at m = 19 MiB ≈ 45 ms a verification on this machine's two cores, the last of them
/// waits ≈ 0.7 s; later ones get 503 at once (docs/PERFORMANCE.md, flood).
/// Default Argon2id memory cost in KiB: OWASP's minimum for Argon2id (t = 2, p = 1).
pub const DEFAULT_MEMORY_KIB: u32 = 19_456;

pub const DEFAULT_QUEUE_LIMIT: usize = 32;

/// Recomputes the hash of `password` with the stored hash's algorithm, version, parameters and
/// salt in `memory` (grown to fit), and compares in constant time (`Output`'s equality).
fn verify_in(
    memory: &mut Vec<Block>,
    stored_hash: &str,
    password: &[u8],
) -> Result<bool, argon2::password_hash::Error> {
    use argon2::password_hash::Error as E;
    let parsed = PasswordHash::new(stored_hash)?;
    let algorithm = Algorithm::try_from(parsed.algorithm)?;
    let version = parsed.version.map_or(Ok(Version::V0x13), Version::try_from).map_err(|_| E::Version)?;
    let params = Params::try_from(&parsed)?;
    let expected = parsed.hash.ok_or(E::Password)?;
    let mut salt = [0u8; 64];
    let salt = parsed.salt.ok_or(E::Password)?.decode_b64(&mut salt)?;
    let mut out = vec![0u8; expected.len()];
    let blocks = params.block_count();
    if memory.len() != blocks {
        memory.resize(blocks, Block::default());
    }
    Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password,
        salt,
        &mut out,
        &mut memory[..],
    )?;
    Ok(Output::new(&out)? == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let h = Hasher::new(19_456).unwrap();
        let hash = h.hash_blocking("abc123").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(h.verify_blocking(&hash, "abc123"));
        assert!(!h.verify_blocking(&hash, "abc124"));
        assert!(!h.verify_blocking("garbage", "abc123"));
    }

    /// Known answers from the reference C implementation (argon2-cffi 25, `hash_secret` of
    /// `Secret123` with salt `cjs-known-answer`, m = 64, t = 2): every algorithm, both versions,
    /// one and two lanes.
    const REFERENCE: [&str; 12] = [
        "$argon2i$v=16$m=64,t=2,p=1$Y2pzLWtub3duLWFuc3dlcg$nQv0qxe3X5a2SiBJsbsNVDpiuuNCCprVbn8Z6463HNs",
        "$argon2i$v=16$m=64,t=2,p=2$Y2pzLWtub3duLWFuc3dlcg$q+qQx7R6EkthVMO9n3uQZeqT3NKfnJ8qUg5MxVZ7F68",
        "$argon2i$v=19$m=64,t=2,p=1$Y2pzLWtub3duLWFuc3dlcg$fd06aeHS4I3ikgszsR3IStGOTyVcLjU+ew98TDaSGHg",
        "$argon2i$v=19$m=64,t=2,p=2$Y2pzLWtub3duLWFuc3dlcg$3S5iKLZb+RYVHFIZHryEFVzDr6TTtxEeISl+ILnK6eo",
        "$argon2d$v=16$m=64,t=2,p=1$Y2pzLWtub3duLWFuc3dlcg$Gpgu4l31s2+RCQxmEszwxtQbCf7EOJqW0eI1DH4gOZ8",
        "$argon2d$v=16$m=64,t=2,p=2$Y2pzLWtub3duLWFuc3dlcg$gnsW72Pi8KcA8yXiMSf5H/vv3Pwjt1fuBaolzgGeXCE",
        "$argon2d$v=19$m=64,t=2,p=1$Y2pzLWtub3duLWFuc3dlcg$RT3o6dgjlHy2f3TF4ywYEaGL+TjrjNpbUTXDBoMRtio",
        "$argon2d$v=19$m=64,t=2,p=2$Y2pzLWtub3duLWFuc3dlcg$QbUIQu1d1h4UrIdVPWn3FhD9mPjQtJRi1EpyXuRjyMk",
        "$argon2id$v=16$m=64,t=2,p=1$Y2pzLWtub3duLWFuc3dlcg$1VgPNEtCL9TGbedtHPSq/bYZqzOGlpYIZfoJFijcidk",
        "$argon2id$v=16$m=64,t=2,p=2$Y2pzLWtub3duLWFuc3dlcg$mt4axmAB/qwKlSJoiE9AZY2Bot9e/Vhah0vLrTdeGFk",
        "$argon2id$v=19$m=64,t=2,p=1$Y2pzLWtub3duLWFuc3dlcg$I+Mz6ap6rAE8jSC9+WzKlZNRQoI0xJg0yf8xFS/aZoM",
        "$argon2id$v=19$m=64,t=2,p=2$Y2pzLWtub3duLWFuc3dlcg$M5gycKDVMkXqEb819jCK539AUFcOAblptDJhpWF1s1o",
    ];

    #[test]
    fn verifies_the_reference_implementations_hashes_and_nothing_else() {
        let h = Hasher::new(19_456).unwrap();
        for hash in REFERENCE {
            assert!(h.verify_blocking(hash, "Secret123"), "{hash}");
            assert!(!h.verify_blocking(hash, "Secret124"), "{hash}");
            // One output character changed (a canonical base64 digit either way): a mismatch,
            // not a parse error.
            let k = hash.len() - 6;
            let c = if &hash[k..=k] == "A" { "B" } else { "A" };
            let tampered = format!("{}{c}{}", &hash[..k], &hash[k + 1..]);
            assert!(verify_in(&mut Vec::new(), &tampered, b"Secret123").is_ok_and(|m| !m), "{tampered}");
        }
        // The pool keeps only buffers of the configured size, at most one per permit.
        let pool = h.memory.lock().unwrap();
        assert!(pool.len() <= h.keep && pool.iter().all(|m| m.len() == h.params.block_count()));
    }

    #[test]
    fn verifies_hashes_of_other_parameters() {
        // A hash made with other parameters (an older setting) still verifies: they come from
        // the stored string, and the memory is sized to fit.
        let small = Hasher::new(64).unwrap();
        let big = Hasher::new(19_456).unwrap();
        let old = small.hash_blocking("Secret123").unwrap();
        assert!(big.verify_blocking(&old, "Secret123"));
        assert!(!big.verify_blocking(&old, "Secret124"));
        let new = big.hash_blocking("Secret123").unwrap();
        assert!(small.verify_blocking(&new, "Secret123"));
        assert!(!big.verify_blocking(&new, "Secret12"));
    }
}
