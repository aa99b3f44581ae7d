//! The per-client-address cap on concurrent connections (`max_connections_per_address`), shared
//! by every worker. A connection holds a [`ConnectionSlot`] from before its TLS handshake until it
//! closes; an address's entry disappears when its last connection closes, so the map holds at most
//! one entry per open connection, whatever the number of addresses seen over time.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

/// Counts open connections per client address and refuses those above the cap.
#[derive(Debug)]
pub struct ConnectionLimiter {
    max_per_address: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
    refusals: LogThrottle,
}

impl ConnectionLimiter {
    pub fn new(max_per_address: usize) -> Arc<Self> {
        Arc::new(Self { max_per_address, open: Mutex::new(HashMap::new()), refusals: LogThrottle::new(LOG_INTERVAL) })
    }

    /// A slot for one more connection from `ip`, or `None` when `ip` already holds the maximum
    /// (the refusal is logged at most once per [`LOG_INTERVAL`], with a count).
    pub fn acquire(self: &Arc<Self>, ip: IpAddr) -> Option<ConnectionSlot> {
        let ip = super::subscriber(ip);
        {
            let mut open = self.lock();
            let count = open.entry(ip).or_insert(0);
            if *count < self.max_per_address {
                *count += 1;
                return Some(ConnectionSlot { limiter: Arc::clone(self), ip });
            }
        }
        if let Some(refused) = self.refusals.record(Instant::now()) {
            tracing::warn!(
                client = %ip,
                max = self.max_per_address,
                refused,
                "connections over the per-address cap closed (count since the last such line)"
            );
        }
        None
    }

    /// Open connections of `ip`.
    pub fn open_connections(&self, ip: IpAddr) -> usize {
        self.lock().get(&super::subscriber(ip)).copied().unwrap_or(0)
    }

    /// Addresses with at least one open connection.
    pub fn tracked_addresses(&self) -> usize {
        self.lock().len()
    }

    fn release(&self, ip: IpAddr) {
        let mut open = self.lock();
        if let Some(count) = open.get_mut(&ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&ip);
            }
        }
    }

    /// The map stays consistent even if a holder panicked (each change is one statement).
    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One open connection of an address; dropping it frees the slot.
#[derive(Debug)]
pub struct ConnectionSlot {
    limiter: Arc<ConnectionLimiter>,
    ip: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.limiter.release(self.ip);
    }
}

/// How often a repeated refusal is logged at most.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Turns a stream of events into at most one log line per interval, carrying the count of events
/// since the previous line (the first event is logged at once).
#[derive(Debug)]
pub struct LogThrottle {
    interval: Duration,
    state: Mutex<ThrottleState>,
}

#[derive(Debug, Default)]
struct ThrottleState {
    last_line: Option<Instant>,
    pending: u64,
}

impl LogThrottle {
    pub fn new(interval: Duration) -> Self {
        Self { interval, state: Mutex::new(ThrottleState::default()) }
    }

    /// Records one event at `now`; returns the number of events to report when a line is due.
    pub fn record(&self, now: Instant) -> Option<u64> {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        s.pending += 1;
        let due = s.last_line.is_none_or(|last| now.saturating_duration_since(last) >= self.interval);
        if !due {
            return None;
        }
        s.last_line = Some(now);
        Some(std::mem::take(&mut s.pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn caps_each_address_separately() {
        let limiter = ConnectionLimiter::new(2);
        let a1 = limiter.acquire(ip("192.0.2.1"));
        let a2 = limiter.acquire(ip("192.0.2.1"));
        assert!(a1.is_some() && a2.is_some());
        assert!(limiter.acquire(ip("192.0.2.1")).is_none(), "third from one address");
        assert!(limiter.acquire(ip("192.0.2.2")).is_some(), "another address is unaffected");
        drop(a1);
        assert!(limiter.acquire(ip("192.0.2.1")).is_some(), "a closed connection frees its slot");
    }

    #[test]
    fn entries_disappear_when_the_last_connection_closes() {
        let limiter = ConnectionLimiter::new(64);
        let slots: Vec<_> =
            (0..1000u32).filter_map(|i| limiter.acquire(IpAddr::from((0x0a00_0000 + i).to_be_bytes()))).collect();
        assert_eq!(limiter.tracked_addresses(), 1000);
        drop(slots);
        assert_eq!(limiter.tracked_addresses(), 0);
    }

    #[test]
    fn ipv4_mapped_addresses_count_as_ipv4() {
        let limiter = ConnectionLimiter::new(1);
        let _a = limiter.acquire(ip("10.0.0.1"));
        assert!(limiter.acquire(ip("::ffff:10.0.0.1")).is_none());
        assert_eq!(limiter.open_connections(ip("10.0.0.1")), 1);
    }

    #[test]
    fn an_ipv6_slash_64_counts_as_one_address() {
        let limiter = ConnectionLimiter::new(2);
        let _a = limiter.acquire(ip("2001:db8:1:2::1"));
        let _b = limiter.acquire(ip("2001:db8:1:2:aaaa::2"));
        assert!(limiter.acquire(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")).is_none(), "same /64");
        assert!(limiter.acquire(ip("2001:db8:1:3::1")).is_some(), "another /64");
    }

    #[test]
    fn throttle_logs_first_event_then_once_per_interval_with_the_count() {
        let t = LogThrottle::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(t.record(t0), Some(1));
        assert_eq!(t.record(t0 + Duration::from_secs(1)), None);
        assert_eq!(t.record(t0 + Duration::from_secs(9)), None);
        assert_eq!(t.record(t0 + Duration::from_secs(10)), Some(3));
        assert_eq!(t.record(t0 + Duration::from_secs(11)), None);
    }
}
