//! Chunk sizes that adapt to the link ([`crate::Chunking::Adaptive`]); the
//! rule is described on [`AdaptiveLimits`].

use std::time::Duration;

/// A doubling keeps growing while it raises the rate by at least this
/// many percent.
pub const GAIN_PERCENT: u64 = 3;

/// Bounds on the chunks of [`crate::Chunking::Adaptive`], and its rule.
///
/// Every chunked upload pays a fixed cost per chunk: the round trip for
/// its answer, the server's work to persist it, the checkpoint the driver
/// writes. Its share of the time is `overhead / (chunk time + overhead)`:
/// with 5 MiB chunks on a 1 Gbit/s link 50 ms away, half the bandwidth is
/// spent waiting. For a source that can be read again at any offset a
/// bigger chunk costs almost nothing (a broken request keeps what the
/// server persisted of it), so the rule grows chunks until their overhead
/// is small, the way TCP's slow start grows its window:
///
/// - A chunk's rate is its bytes over its cycle: from the answer to the
///   chunk before (or, for the first, from its own start) to its own
///   answer, so the gap between chunks (the checkpoint, the driver's work)
///   counts as overhead too.
/// - While growing, each chunk is twice the one before, as long as the
///   doubling paid: a rate at least [`GAIN_PERCENT`] above the rate before
///   it. With an overhead `o` and a chunk time `t`, doubling improves the
///   rate by `(1 + o/t) / (1 + o/2t)`; below 3 % the overhead left at the
///   new size is under about 3 % of the cycle, and growing stops there.
/// - A chunk never outgrows [`AdaptiveLimits::max_bytes`] (what a failure
///   can cost to send again, and what a driver that buffers a chunk holds)
///   nor what the last rate sends in [`AdaptiveLimits::max_interval`] (so
///   a checkpoint is written at least that often).
/// - A failed chunk (a transport error, a retryable status, fewer bytes
///   persisted than sent) halves the size, never below the starting size,
///   and growing starts again from there.
///
/// Everything is integer arithmetic on the times the driver passes in, so
/// a given sequence of times always gives the same sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdaptiveLimits {
    /// The size of the first chunk; `None`: the server's recommendation
    /// when it names one, else [`crate::DEFAULT_CHUNK_SIZE`], as with
    /// [`crate::Chunking::Auto`].
    pub start: Option<u64>,
    /// The largest chunk, in bytes (rounded down to the protocol's unit).
    pub max_bytes: u64,
    /// The longest a chunk may take at the last measured rate: a
    /// checkpoint is written at least this often.
    pub max_interval: Duration,
}

impl Default for AdaptiveLimits {
    /// Chunks from [`crate::Chunking::Auto`]'s size up to 1 GiB and 30
    /// seconds.
    fn default() -> Self {
        Self {
            start: None,
            max_bytes: 1 << 30,
            max_interval: Duration::from_secs(30),
        }
    }
}

/// The state of the rule for one upload: the next chunk size, given each
/// chunk's outcome and times.
#[derive(Debug, Clone)]
pub(crate) struct Adapter {
    limits: AdaptiveLimits,
    /// The protocol's unit: every size is a multiple.
    unit: u64,
    /// The size it started at, and never shrinks below.
    floor: u64,
    size: u64,
    /// Still doubling.
    growing: bool,
    /// The rate of the last chunk answered, bytes per second.
    last_rate: Option<u128>,
}

impl Adapter {
    /// A rule starting at `start` bytes, in multiples of `unit`.
    pub(crate) fn new(limits: AdaptiveLimits, start: u64, unit: u64) -> Self {
        let unit = unit.max(1);
        let cap = round_down(limits.max_bytes, unit);
        let floor = round_down(start, unit).min(cap);
        Self {
            limits,
            unit,
            floor,
            size: floor,
            growing: true,
            last_rate: None,
        }
    }

    /// The size of the next chunk.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// A chunk of `bytes` was persisted whole, its cycle taking `cycle`.
    /// Returns the next size.
    pub(crate) fn persisted(&mut self, bytes: u64, cycle: Duration) -> u64 {
        let nanos = cycle.as_nanos().max(1);
        let rate = u128::from(bytes) * 1_000_000_000 / nanos;
        // Only a whole chunk of the current size measures it: a short last
        // chunk says nothing about the size.
        if bytes >= self.size {
            let paid = self
                .last_rate
                .is_none_or(|last| rate * 100 >= last * u128::from(100 + GAIN_PERCENT));
            if self.growing && paid {
                self.size = self.size.saturating_mul(2);
            } else {
                self.growing = false;
            }
            self.last_rate = Some(rate);
        }
        // A caller's `Duration::MAX` means no limit: saturate, never wrap.
        let in_interval = rate.saturating_mul(self.limits.max_interval.as_nanos()) / 1_000_000_000;
        let in_interval = u64::try_from(in_interval).unwrap_or(u64::MAX);
        let cap = round_down(self.limits.max_bytes.min(in_interval), self.unit);
        self.size = round_down(self.size, self.unit).min(cap);
        self.size
    }

    /// A chunk failed: halve the size, not below the start, and grow again
    /// from there. Returns the next size.
    pub(crate) fn failed(&mut self) -> u64 {
        self.size = round_down(self.size / 2, self.unit).max(self.floor);
        self.growing = true;
        self.last_rate = None;
        self.size
    }
}

/// `n` rounded down to a multiple of `unit`, and at least one unit.
fn round_down(n: u64, unit: u64) -> u64 {
    (n / unit).max(1) * unit
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;
    const UNIT: u64 = 256 * 1024;

    /// The cycle of a chunk of `bytes` over a link of `rate` bytes per
    /// second with `overhead` per chunk.
    fn cycle(bytes: u64, rate: u64, overhead: Duration) -> Duration {
        Duration::from_nanos(bytes * 1_000_000_000 / rate) + overhead
    }

    /// The sizes of `n` whole chunks over that link.
    fn sizes(adapter: &mut Adapter, n: usize, rate: u64, overhead: Duration) -> Vec<u64> {
        (0..n)
            .map(|_| {
                let size = adapter.size();
                adapter.persisted(size, cycle(size, rate, overhead));
                size
            })
            .collect()
    }

    #[test]
    fn grows_until_the_overhead_is_a_few_percent_then_holds() {
        // 1 Gbit/s, 50 ms per chunk: 5 MiB chunks spend half the time
        // waiting.
        let (rate, overhead) = (125_000_000, Duration::from_millis(50));
        let mut a = Adapter::new(AdaptiveLimits::default(), 5 * MIB, UNIT);
        let s = sizes(&mut a, 12, rate, overhead);
        assert_eq!(
            s,
            [5, 10, 20, 40, 80, 160, 320, 320, 320, 320, 320, 320]
                .map(|m| m * MIB)
                .to_vec()
        );
        let last = *s.last().unwrap();
        let wire = cycle(last, rate, Duration::ZERO);
        let share = overhead.as_secs_f64() / (wire + overhead).as_secs_f64();
        assert!(share < 0.03, "overhead {share}");
    }

    #[test]
    fn a_link_without_overhead_stops_growing_at_once() {
        let mut a = Adapter::new(AdaptiveLimits::default(), 8 * MIB, UNIT);
        let s = sizes(&mut a, 4, 1_000_000_000, Duration::ZERO);
        assert_eq!(s, [8, 16, 16, 16].map(|m| m * MIB).to_vec());
    }

    #[test]
    fn the_limits_bound_the_size_in_bytes_and_in_time() {
        let limits = AdaptiveLimits {
            max_bytes: 64 * MIB,
            ..AdaptiveLimits::default()
        };
        let mut a = Adapter::new(limits, 5 * MIB, UNIT);
        let s = sizes(&mut a, 6, 125_000_000, Duration::from_millis(100));
        assert_eq!(s, [5, 10, 20, 40, 64, 64].map(|m| m * MIB).to_vec());
        // A slow link: 1 MB/s for at most 4 s is under 4 MB.
        let limits = AdaptiveLimits {
            max_interval: Duration::from_secs(4),
            ..AdaptiveLimits::default()
        };
        let mut a = Adapter::new(limits, MIB, UNIT);
        let s = sizes(&mut a, 5, 1_000_000, Duration::from_millis(500));
        assert!(s.iter().all(|&n| n <= 4_000_000), "{s:?}");
        assert_eq!(s[4] % UNIT, 0);
    }

    #[test]
    fn a_failure_halves_the_size_not_below_the_start_and_growth_resumes() {
        let (rate, overhead) = (125_000_000, Duration::from_millis(50));
        let mut a = Adapter::new(AdaptiveLimits::default(), 5 * MIB, UNIT);
        sizes(&mut a, 4, rate, overhead);
        assert_eq!(a.size(), 80 * MIB);
        assert_eq!(a.failed(), 40 * MIB);
        assert_eq!(a.failed(), 20 * MIB);
        for _ in 0..5 {
            a.failed();
        }
        assert_eq!(a.size(), 5 * MIB, "never below the start");
        assert_eq!(sizes(&mut a, 2, rate, overhead), [5 * MIB, 10 * MIB]);
    }

    #[test]
    fn a_short_last_chunk_changes_nothing_and_sizes_stay_in_units() {
        let mut a = Adapter::new(AdaptiveLimits::default(), 5_000_000, UNIT);
        assert_eq!(a.size() % UNIT, 0);
        let before = a.size();
        a.persisted(1000, Duration::from_millis(1));
        assert_eq!(a.size(), before);
        // Any times, even none at all, give a size in units.
        a.persisted(a.size(), Duration::ZERO);
        assert_eq!(a.size() % UNIT, 0);
        assert!(a.size() >= UNIT);
        // No time limit at all, and a chunk answered at once.
        let unlimited = AdaptiveLimits {
            max_interval: Duration::MAX,
            ..AdaptiveLimits::default()
        };
        let mut a = Adapter::new(unlimited, u64::MAX, UNIT);
        a.persisted(a.size(), Duration::ZERO);
        assert_eq!(a.size(), AdaptiveLimits::default().max_bytes);
    }
}
