//! R9: how long a login session lives. It ends after 30 minutes idle or 12 hours in all
//! (configurable), whichever comes first.

use time::{Duration, OffsetDateTime};

/// Session lifetimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self { idle: Duration::minutes(30), absolute: Duration::hours(12) }
    }
}

/// Whether a session created at `created`, last seen at `last_seen`, is still alive at `now`.
pub fn alive(policy: &SessionPolicy, created: OffsetDateTime, last_seen: OffsetDateTime, now: OffsetDateTime) -> bool {
    now < created + policy.absolute && now < last_seen + policy.idle
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-24 10:00 UTC);

    #[test]
    fn idle_timeout_at_30_minutes() {
        let p = SessionPolicy::default();
        assert!(alive(&p, T0, T0, T0 + Duration::minutes(30) - Duration::seconds(1)));
        assert!(!alive(&p, T0, T0, T0 + Duration::minutes(30)));
    }

    #[test]
    fn absolute_timeout_at_12_hours_even_when_active() {
        let p = SessionPolicy::default();
        let t = T0 + Duration::hours(12);
        assert!(alive(&p, T0, t - Duration::minutes(1), t - Duration::seconds(1)));
        assert!(!alive(&p, T0, t - Duration::minutes(1), t));
    }
}
