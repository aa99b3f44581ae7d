//! Per-address throttle of password attempts (OWASP ASVS 5.0 §6.3.1): the lockout of R2 holds
//! one ID, this holds one client trying many IDs (spraying) or flooding. A token bucket per
//! client address (governor's GCRA): `per_minute` attempts a minute sustained, with a burst of
//! [`BURST_MINUTES`] minutes' worth, so the twenty users of a company behind one NAT address can
//! all go through their first day (password change, authenticate, issue, login: 80 attempts) at
//! once. The buckets live in each process: behind a load balancer with N instances an address
//! gets N times the rate.
//!
//! Memory is bounded: IPv6 clients are keyed by their /64 (one subscriber's prefix), at most
//! `max_keys` addresses are remembered, idle buckets are dropped when the table is full (at most
//! once a second), and while it is still full new addresses share [`OVERFLOW_BUCKETS`] buckets.

use std::{
    net::IpAddr,
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    middleware::NoOpMiddleware,
    nanos::Nanos,
    state::{InMemoryState, NotKeyed, StateStore, keyed::DashMapStateStore, keyed::ShrinkableKeyedStateStore},
};

/// Default per-address password attempts a minute (burst: [`BURST_MINUTES`] minutes' worth).
/// Twenty users of one company behind one NAT address, arriving together, need about 20–30
/// attempts (login, or authenticate + issue, and typos): the burst covers them; sustained, one
/// attempt every 6 s per address keeps a spray from one address to 14,400 guesses a day instead
/// of unlimited.
pub const DEFAULT_ATTEMPTS_PER_MINUTE: u32 = 10;

/// The burst, in minutes of the sustained rate.
pub const BURST_MINUTES: u32 = 8;
/// Buckets shared by new addresses while the table is full (chosen by a hash of the address, so
/// one spraying range does not starve every newcomer).
const OVERFLOW_BUCKETS: usize = 1024;
/// Addresses remembered at most (≈ 100 bytes each).
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// What a bucket belongs to: the subscriber's address ([`crate::net::subscriber`]: IPv4, or the
/// IPv6 /64), or `None` off a real connection.
type Key = Option<IpAddr>;

fn key_of(ip: Option<IpAddr>) -> Key {
    ip.map(crate::net::subscriber)
}

/// governor's DashMap store with a size limit: while it holds `max` keys, keys it does not hold
/// share one overflow bucket instead of being added.
struct BoundedStore {
    inner: DashMapStateStore<Key>,
    overflow: Vec<InMemoryState>,
    max: usize,
}

impl BoundedStore {
    fn overflow_of(&self, key: &Key) -> &InMemoryState {
        use std::hash::{BuildHasher, RandomState};
        static SEED: std::sync::OnceLock<RandomState> = std::sync::OnceLock::new();
        let hash = SEED.get_or_init(RandomState::new).hash_one(key);
        &self.overflow[(hash as usize) % self.overflow.len()]
    }
}

impl StateStore for BoundedStore {
    type Key = Key;

    fn measure_and_replace<T, F, E>(&self, key: &Key, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        if self.inner.len() >= self.max && !self.inner.contains_key(key) {
            return self.overflow_of(key).measure_and_replace(&NotKeyed::NonKey, f);
        }
        self.inner.measure_and_replace(key, f)
    }
}

impl ShrinkableKeyedStateStore<Key> for BoundedStore {
    fn retain_recent(&self, drop_below: Nanos) {
        self.inner.retain_recent(drop_below);
    }

    fn shrink_to_fit(&self) {
        ShrinkableKeyedStateStore::shrink_to_fit(&self.inner);
    }

    fn len(&self) -> usize {
        self.inner.len()
    }

    fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

type Limiter = RateLimiter<Key, BoundedStore, DefaultClock, NoOpMiddleware<<DefaultClock as Clock>::Instant>>;

/// The throttle; `None` inside when turned off. Cheap to clone.
#[derive(Clone)]
pub struct Throttle {
    limiter: Option<Arc<Limiter>>,
    max_keys: usize,
    started: Instant,
    /// Milliseconds after `started` of the last clean-up.
    last_cleanup_ms: Arc<AtomicU64>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle").field("on", &self.limiter.is_some()).field("max_keys", &self.max_keys).finish()
    }
}

impl Throttle {
    /// `per_minute` attempts a minute per address (0: off), remembering up to `max_keys`.
    pub fn new(per_minute: u32, max_keys: usize) -> Self {
        let max_keys = max_keys.max(1);
        let limiter = NonZeroU32::new(per_minute).map(|rate| {
            let burst = NonZeroU32::new(per_minute.saturating_mul(BURST_MINUTES)).unwrap_or(rate);
            let overflow = (0..OVERFLOW_BUCKETS).map(|_| InMemoryState::default()).collect();
            let store = BoundedStore { inner: DashMapStateStore::default(), overflow, max: max_keys };
            Arc::new(RateLimiter::new(Quota::per_minute(rate).allow_burst(burst), store, DefaultClock::default()))
        });
        Self { limiter, max_keys, started: Instant::now(), last_cleanup_ms: Arc::default() }
    }

    /// Takes one attempt of `ip`'s bucket; `Err(wait)` when it is empty.
    pub fn check(&self, ip: Option<IpAddr>) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        if limiter.len() >= self.max_keys {
            self.cleanup(limiter);
        }
        limiter.check_key(&key_of(ip)).map_err(|not_until| not_until.wait_time_from(limiter.clock().now()))
    }

    /// Drops idle (full) buckets, at most once a second.
    fn cleanup(&self, limiter: &Limiter) {
        let now_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX).max(1);
        let last = self.last_cleanup_ms.load(Ordering::Acquire);
        if last != 0 && now_ms.saturating_sub(last) < 1_000 {
            return;
        }
        if self.last_cleanup_ms.compare_exchange(last, now_ms, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Addresses remembered now.
    pub fn len(&self) -> usize {
        self.limiter.as_ref().map_or(0, |l| l.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn burst_of_eight_minutes_then_refused_with_a_wait() {
        let t = Throttle::new(10, 100);
        for i in 0..80 {
            assert!(t.check(ip("192.0.2.1")).is_ok(), "attempt {i} of the burst");
        }
        let wait = t.check(ip("192.0.2.1")).unwrap_err();
        assert!(wait > Duration::from_secs(1) && wait <= Duration::from_secs(6), "{wait:?}");
        // Another address has its own bucket.
        assert!(t.check(ip("192.0.2.2")).is_ok());
    }

    #[test]
    fn zero_turns_it_off() {
        let t = Throttle::new(0, 100);
        for _ in 0..1000 {
            assert!(t.check(ip("192.0.2.1")).is_ok());
        }
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn ipv6_addresses_of_one_slash_64_share_a_bucket() {
        let t = Throttle::new(1, 100);
        for _ in 0..8 {
            assert!(t.check(ip("2001:db8:1:2::1")).is_ok());
        }
        assert!(t.check(ip("2001:db8:1:2:ffff::9")).is_err(), "same /64");
        assert!(t.check(ip("2001:db8:1:3::1")).is_ok(), "another /64");
        // An IPv4-mapped address is the IPv4 address.
        for _ in 0..8 {
            assert!(t.check(ip("198.51.100.7")).is_ok());
        }
        assert!(t.check(ip("::ffff:198.51.100.7")).is_err());
    }

    #[test]
    fn memory_stays_bounded_under_a_million_addresses() {
        let t = Throttle::new(10, 1_000);
        for n in 0u32..1_000_000 {
            let _ = t.check(Some(IpAddr::V4(n.to_be_bytes().into())));
            assert!(t.len() <= 1_000, "after {n}: {}", t.len());
        }
        // Beyond the table's size new addresses share 1,024 buckets: a spray from a million
        // addresses gets about 1,024 × 80 attempts in its burst, not a million × 80.
        let refused =
            (0..2000u32).filter(|n| t.check(Some(IpAddr::V4((0xcb00_7100 + n).to_be_bytes().into()))).is_err()).count();
        assert!(refused > 1500, "{refused}");
    }
}
