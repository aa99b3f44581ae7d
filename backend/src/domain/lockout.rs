//! R2: consecutive wrong passwords lock an ID for a while; repeated locks block it.
//!
//! [`precheck`] says whether an attempt may be verified at all; [`decide`] computes the outcome
//! and the next state of an attempt whose password was verified. Both are pure; the
//! authentication service stores the next state with a compare-and-swap, so concurrent attempts
//! are counted one by one.

use std::time::Duration;

use time::OffsetDateTime;

/// The policy numbers (configuration; defaults 6 / 60 min / 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Consecutive failures that lock the ID.
    pub max_failures: u32,
    /// How long a lock lasts.
    pub lock_duration: Duration,
    /// The lock that blocks instead (the 3rd in a row by default).
    pub locks_before_block: u32,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self { max_failures: 6, lock_duration: Duration::from_secs(60 * 60), locks_before_block: 3 }
    }
}

/// The lockout part of a user's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LockState {
    /// Consecutive failures since the last success or lock.
    pub failures: u32,
    /// While `now < locked_until` the ID is locked.
    pub locked_until: Option<OffsetDateTime>,
    /// Locks in a row without a successful authentication in between.
    pub lock_count: u32,
    /// Blocked (閉塞) since; only an unlock by a master user or bank staff lifts it.
    pub blocked_at: Option<OffsetDateTime>,
}

/// Whether an attempt may proceed to password verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precheck {
    Proceed,
    Locked { until: OffsetDateTime },
    Blocked,
}

/// What an attempt amounted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Wrong password, still below the lock threshold.
    Failure {
        failures: u32,
    },
    /// This failure locked the ID.
    NowLocked {
        until: OffsetDateTime,
    },
    /// This failure blocked the ID.
    NowBlocked,
    /// Refused without counting: the ID was already locked.
    Locked {
        until: OffsetDateTime,
    },
    /// Refused without counting: the ID is blocked.
    Blocked,
}

/// The result of [`decide`]: the outcome and the state to store (`None`: nothing changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    pub next: Option<LockState>,
}

/// Whether `state` lets an attempt be verified at `now`. A lock lifts at exactly
/// `locked_until`.
pub fn precheck(state: &LockState, now: OffsetDateTime) -> Precheck {
    if state.blocked_at.is_some() {
        return Precheck::Blocked;
    }
    match state.locked_until {
        Some(until) if now < until => Precheck::Locked { until },
        _ => Precheck::Proceed,
    }
}

/// Decides an attempt whose password check gave `password_ok`, against the current `state`.
pub fn decide(policy: &LockoutPolicy, state: &LockState, password_ok: bool, now: OffsetDateTime) -> Decision {
    match precheck(state, now) {
        Precheck::Blocked => return Decision { outcome: Outcome::Blocked, next: None },
        Precheck::Locked { until } => return Decision { outcome: Outcome::Locked { until }, next: None },
        Precheck::Proceed => {}
    }
    // A lock that has run out starts a fresh count of failures (the lock count stays).
    let failures = if state.locked_until.is_some() { 0 } else { state.failures };
    if password_ok {
        let reset = LockState::default();
        let next = (reset != *state).then_some(reset);
        return Decision { outcome: Outcome::Success, next };
    }
    let failures = failures + 1;
    if failures < policy.max_failures {
        let next = LockState { failures, locked_until: None, ..*state };
        return Decision { outcome: Outcome::Failure { failures }, next: Some(next) };
    }
    let lock_count = state.lock_count + 1;
    if lock_count >= policy.locks_before_block {
        let next = LockState { failures: 0, locked_until: None, lock_count, blocked_at: Some(now) };
        return Decision { outcome: Outcome::NowBlocked, next: Some(next) };
    }
    let until = now + policy.lock_duration;
    let next = LockState { failures: 0, locked_until: Some(until), lock_count, blocked_at: None };
    Decision { outcome: Outcome::NowLocked { until }, next: Some(next) }
}

/// The state after a master user or bank staff lifts a lock or block.
pub fn unlocked() -> LockState {
    LockState::default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-24 10:00 UTC);

    fn policy() -> LockoutPolicy {
        LockoutPolicy::default()
    }

    fn fail_n(mut state: LockState, n: u32, now: OffsetDateTime) -> (LockState, Outcome) {
        let mut last = Outcome::Success;
        for _ in 0..n {
            let d = decide(&policy(), &state, false, now);
            last = d.outcome;
            if let Some(next) = d.next {
                state = next;
            }
        }
        (state, last)
    }

    #[test]
    fn fifth_failure_does_not_lock() {
        let (state, outcome) = fail_n(LockState::default(), 5, T0);
        assert_eq!(outcome, Outcome::Failure { failures: 5 });
        assert_eq!(precheck(&state, T0), Precheck::Proceed);
    }

    #[test]
    fn locks_on_sixth_failure_for_sixty_minutes() {
        let (state, outcome) = fail_n(LockState::default(), 6, T0);
        let until = T0 + Duration::from_secs(3600);
        assert_eq!(outcome, Outcome::NowLocked { until });
        assert_eq!(state.lock_count, 1);
        assert_eq!(state.failures, 0);
    }

    #[test]
    fn correct_password_is_refused_while_locked_and_not_counted() {
        let (state, _) = fail_n(LockState::default(), 6, T0);
        let d = decide(&policy(), &state, true, T0 + Duration::from_secs(60));
        assert!(matches!(d.outcome, Outcome::Locked { .. }));
        assert_eq!(d.next, None);
        let d = decide(&policy(), &state, false, T0 + Duration::from_secs(60));
        assert!(matches!(d.outcome, Outcome::Locked { .. }));
        assert_eq!(d.next, None, "attempts while locked are not counted");
    }

    #[test]
    fn still_locked_at_59_59() {
        let (state, _) = fail_n(LockState::default(), 6, T0);
        let at = T0 + Duration::from_secs(59 * 60 + 59);
        assert!(matches!(precheck(&state, at), Precheck::Locked { .. }));
    }

    #[test]
    fn lock_lifts_at_exactly_60_min() {
        let (state, _) = fail_n(LockState::default(), 6, T0);
        let at = T0 + Duration::from_secs(3600);
        assert_eq!(precheck(&state, at), Precheck::Proceed);
        let d = decide(&policy(), &state, true, at);
        assert_eq!(d.outcome, Outcome::Success);
        assert_eq!(d.next, Some(LockState::default()));
    }

    #[test]
    fn failures_after_a_lock_lifts_count_from_zero() {
        let (state, _) = fail_n(LockState::default(), 6, T0);
        let at = T0 + Duration::from_secs(3600);
        let d = decide(&policy(), &state, false, at);
        assert_eq!(d.outcome, Outcome::Failure { failures: 1 });
        assert_eq!(d.next.unwrap().locked_until, None);
        assert_eq!(d.next.unwrap().lock_count, 1);
    }

    #[test]
    fn second_lock_locks_again() {
        let (state, _) = fail_n(LockState::default(), 6, T0);
        let t1 = T0 + Duration::from_secs(3600);
        let (state, outcome) = fail_n(state, 6, t1);
        assert_eq!(outcome, Outcome::NowLocked { until: t1 + Duration::from_secs(3600) });
        assert_eq!(state.lock_count, 2);
        assert_eq!(state.blocked_at, None);
    }

    #[test]
    fn third_lock_blocks() {
        let (state, _) = fail_n(LockState::default(), 6, T0);
        let t1 = T0 + Duration::from_secs(3600);
        let (state, _) = fail_n(state, 6, t1);
        let t2 = t1 + Duration::from_secs(3600);
        let (state, outcome) = fail_n(state, 6, t2);
        assert_eq!(outcome, Outcome::NowBlocked);
        assert_eq!(state.blocked_at, Some(t2));
        // Blocked forever: hours later, a correct password is still refused.
        let later = t2 + Duration::from_secs(86_400 * 30);
        assert_eq!(precheck(&state, later), Precheck::Blocked);
        assert_eq!(decide(&policy(), &state, true, later).outcome, Outcome::Blocked);
    }

    #[test]
    fn success_resets_failures_and_lock_count() {
        let (state, _) = fail_n(LockState::default(), 6, T0);
        let t1 = T0 + Duration::from_secs(3600);
        let (state, _) = fail_n(state, 6, t1);
        assert_eq!(state.lock_count, 2);
        let t2 = t1 + Duration::from_secs(3600);
        let d = decide(&policy(), &state, true, t2);
        assert_eq!(d.next, Some(LockState::default()));
        // After the reset it takes three more locks to block.
        let (state, _) = fail_n(LockState::default(), 6, t2);
        assert_eq!(state.lock_count, 1);
    }

    #[test]
    fn success_with_clean_state_changes_nothing() {
        let d = decide(&policy(), &LockState::default(), true, T0);
        assert_eq!(d, Decision { outcome: Outcome::Success, next: None });
    }

    #[test]
    fn success_resets_partial_failures() {
        let (state, _) = fail_n(LockState::default(), 5, T0);
        let d = decide(&policy(), &state, true, T0);
        assert_eq!(d.next, Some(LockState::default()));
    }

    #[test]
    fn policy_numbers_are_configurable() {
        let p = LockoutPolicy { max_failures: 2, lock_duration: Duration::from_secs(60), locks_before_block: 1 };
        let d1 = decide(&p, &LockState::default(), false, T0);
        let d2 = decide(&p, &d1.next.unwrap(), false, T0);
        assert_eq!(d2.outcome, Outcome::NowBlocked);
    }

    #[test]
    fn unlock_clears_everything() {
        let state = LockState { failures: 3, locked_until: Some(T0), lock_count: 2, blocked_at: Some(T0) };
        assert_eq!(precheck(&state, T0), Precheck::Blocked);
        assert_eq!(precheck(&unlocked(), T0), Precheck::Proceed);
    }
}
