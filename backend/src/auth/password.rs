//! argon2id password hashing (OWASP: m = 19 MiB, t = 2, p = 1), always off the async workers.

use std::{cell::RefCell, sync::Arc};

use anyhow::Context;
use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher as _, Version,
    password_hash::{Output, SaltString},
};

thread_local! {
    /// argon2's working memory (19 MiB), kept per thread and reused by every verification on
    /// it. Allocating it per call meant fresh pages to fault in or not depending on the
    /// allocator's state — ≈ 9 ms of a ≈ 26 ms verification, differing between otherwise equal
    /// calls (docs/RELIABILITY.md, timing). Overwritten completely by each use.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
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
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher").field("params", &self.params).finish_non_exhaustive()
    }
}

impl Hasher {
    /// A hasher with `memory_kib` of memory, 2 passes, 1 lane.
    pub fn new(memory_kib: u32) -> anyhow::Result<Self> {
        let params =
            Params::new(memory_kib, 2, 1, None).map_err(|e| anyhow::anyhow!("Invalid argon2 parameters: {e}"))?;
        let cpus = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let permits = Arc::new(tokio::sync::Semaphore::new(cpus));
        let mut hasher = Self { params, dummy_hash: Arc::from(""), permits };
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
        match verify_with_thread_memory(stored_hash, password.as_bytes()) {
            Ok(matches) => matches,
            Err(e) => {
                tracing::error!(error = %e, "a stored password hash is malformed");
                false
            }
        }
    }

    /// Hashes on the blocking pool.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await.context("hasher closed")?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.hash_blocking(&password)).await.context("hashing task failed")?
    }

    /// Verifies on the blocking pool; `None` as the hash verifies against the dummy hash.
    pub async fn verify(&self, stored_hash: Option<String>, password: String) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await.context("hasher closed")?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || match stored_hash {
            Some(h) => this.verify_blocking(&h, &password),
            None => {
                this.verify_blocking(&this.dummy_hash, &password);
                false
            }
        })
        .await
        .context("verification task failed")
    }
}

/// Recomputes the hash of `password` with the stored hash's algorithm, version, parameters and
/// salt in this thread's reusable memory, and compares in constant time (`Output`'s equality).
fn verify_with_thread_memory(stored_hash: &str, password: &[u8]) -> Result<bool, argon2::password_hash::Error> {
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
    BLOCKS.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(password, salt, &mut out, &mut memory[..blocks])
            .map_err(E::from)
    })?;
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

    #[test]
    fn verifies_hashes_of_other_parameters_and_the_reference_implementation() {
        // A hash made with other parameters (an older setting) still verifies: they come from
        // the stored string, and the thread's memory grows to fit.
        let small = Hasher::new(64).unwrap();
        let big = Hasher::new(19_456).unwrap();
        let old = small.hash_blocking("Secret123").unwrap();
        assert!(big.verify_blocking(&old, "Secret123"));
        assert!(!big.verify_blocking(&old, "Secret124"));
        let new = big.hash_blocking("Secret123").unwrap();
        assert!(small.verify_blocking(&new, "Secret123"));
        // Same answers as argon2's own verifier, on a hash it made.
        use argon2::PasswordVerifier;
        let parsed = PasswordHash::new(&new).unwrap();
        assert!(Argon2::default().verify_password(b"Secret123", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"Secret12", &parsed).is_err());
        assert!(!big.verify_blocking(&new, "Secret12"));
        // A hash whose salt or output was tampered with does not verify.
        let last = if new.ends_with('A') { 'B' } else { 'A' };
        let tampered = format!("{}{last}", &new[..new.len() - 1]);
        assert!(!big.verify_blocking(&tampered, "Secret123"));
    }
}
