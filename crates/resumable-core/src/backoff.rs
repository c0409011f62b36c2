//! Retry policy: exponential backoff with jitter, within an attempt and time budget.

use std::time::{Duration, Instant};

/// How failed requests are retried.
///
/// A *streak* is the run of consecutive failures since the last progress
/// (bytes persisted, or a step of the flow completed). The upload gives up
/// when a streak reaches `max_attempts` failures or has lasted `max_elapsed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Failures in one streak before giving up.
    pub max_attempts: u32,
    /// Time one streak may last before giving up; a wait that would end past it
    /// is not started.
    pub max_elapsed: Duration,
    /// The delay before the first retry of a streak (before jitter).
    pub initial_delay: Duration,
    /// The largest delay between two attempts (before jitter). A server's
    /// `Retry-After` may ask for more, and is honoured within `max_elapsed`.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            max_elapsed: Duration::from_secs(600),
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(32),
        }
    }
}

/// The state of the current failure streak, and the jitter source.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    policy: RetryPolicy,
    rng: SplitMix64,
    attempts: u32,
    streak_start: Option<Instant>,
}

/// Why a streak ended without a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exhausted {
    pub(crate) attempts: u32,
    pub(crate) elapsed: Duration,
}

impl Backoff {
    pub(crate) fn new(policy: RetryPolicy, seed: u64) -> Self {
        Self {
            policy,
            rng: SplitMix64(seed),
            attempts: 0,
            streak_start: None,
        }
    }

    /// Progress was made: the next failure starts a new streak.
    pub(crate) fn reset(&mut self) {
        self.attempts = 0;
        self.streak_start = None;
    }

    /// Records a failure at `now` and returns when to try again, or why not.
    ///
    /// The delay is `initial * 2^(n-1)` capped at `max_delay`, with "equal
    /// jitter" (half fixed, half random) so delays still grow while clients
    /// that failed together spread out; at least `retry_after` when given.
    pub(crate) fn fail(
        &mut self,
        now: Instant,
        retry_after: Option<Duration>,
    ) -> Result<(u32, Duration), Exhausted> {
        let start = *self.streak_start.get_or_insert(now);
        self.attempts = self.attempts.saturating_add(1);
        let elapsed = now.saturating_duration_since(start);
        let exhausted = Exhausted {
            attempts: self.attempts,
            elapsed,
        };
        if self.attempts >= self.policy.max_attempts {
            return Err(exhausted);
        }
        let shift = (self.attempts - 1).min(32);
        let base = self
            .policy
            .initial_delay
            .saturating_mul(1u32 << shift.min(31))
            .min(self.policy.max_delay);
        let half = base / 2;
        let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = Duration::from_nanos(self.rng.below(nanos.saturating_add(1)));
        let delay = (half + jitter).max(retry_after.unwrap_or_default());
        if elapsed.saturating_add(delay) > self.policy.max_elapsed {
            return Err(exhausted);
        }
        Ok((self.attempts, delay))
    }
}

/// A tiny deterministic generator for jitter; the seed comes from the driver.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..bound` (0 when `bound` is 0).
    fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 { 0 } else { self.next() % bound }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 6,
            max_elapsed: Duration::from_secs(100),
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(8),
        }
    }

    #[test]
    fn delays_grow_with_jitter_and_cap() {
        let now = Instant::now();
        let mut b = Backoff::new(policy(), 7);
        let mut bases = vec![];
        for n in 1..6 {
            let (attempt, delay) = b.fail(now, None).unwrap();
            assert_eq!(attempt, n);
            let base = Duration::from_secs(1 << (n - 1)).min(Duration::from_secs(8));
            assert!(delay >= base / 2 && delay <= base, "{delay:?} for {base:?}");
            bases.push(base);
        }
        assert_eq!(
            b.fail(now, None),
            Err(Exhausted {
                attempts: 6,
                elapsed: Duration::ZERO
            })
        );
    }

    #[test]
    fn same_seed_same_delays_other_seed_differs() {
        let now = Instant::now();
        let run = |seed| {
            let mut b = Backoff::new(policy(), seed);
            (0..4)
                .map(|_| b.fail(now, None).unwrap().1)
                .collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
    }

    #[test]
    fn retry_after_is_honoured_within_the_budget() {
        let now = Instant::now();
        let mut b = Backoff::new(policy(), 1);
        let (_, d) = b.fail(now, Some(Duration::from_secs(30))).unwrap();
        assert_eq!(d, Duration::from_secs(30));
        let mut b = Backoff::new(policy(), 1);
        assert!(b.fail(now, Some(Duration::from_secs(101))).is_err());
    }

    #[test]
    fn elapsed_budget_ends_a_streak_and_reset_starts_a_new_one() {
        let t0 = Instant::now();
        let mut b = Backoff::new(policy(), 3);
        b.fail(t0, None).unwrap();
        let later = t0 + Duration::from_secs(99);
        let err = b.fail(later, None).unwrap_err();
        assert_eq!(err.elapsed, Duration::from_secs(99));
        b.reset();
        assert_eq!(b.fail(later, None).unwrap().0, 1);
    }
}
