//! Chunk sizes that adapt to the link ([`crate::Chunking::Adaptive`]); the
//! rule is described on [`AdaptiveLimits`].

use std::time::Duration;

/// A doubling keeps growing while it raises the rate by at least this
/// many percent.
pub const GAIN_PERCENT: u64 = 3;

/// The share of a chunk's cycle, in percent, that the size estimated from
/// two chunks leaves to the overhead.
pub const OVERHEAD_PERCENT: u64 = 1;

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
/// - Doubling alone takes many round trips to reach a big size: from 5 MiB
///   to 320 MiB is six chunks, six round trips, each a second lost on a
///   1 Gbit/s link 100 ms away. So two whole chunks of different sizes
///   also measure the link: the difference of their sizes over the
///   difference of their cycles is the link's rate `r`, and what the
///   smaller one's cycle holds beyond its bytes at that rate is the
///   overhead `o`. The size whose overhead is `p` = [`OVERHEAD_PERCENT`]
///   of its cycle is `r·o·(100 − p)/p` (590 MiB at 1 Gbit/s and 50 ms);
///   when that is more than the doubling, the next chunk jumps to it
///   (within the limits below), so the upload reaches its size after two
///   chunks. An offset query before the first chunk (a resume, a session
///   URL handed in), or the one after a failed chunk, counts as a chunk of
///   no bytes: its round trip is the overhead, and the jump comes after
///   one chunk (after a failure, straight back to the size the link
///   needs, rather than growing there again from the halved size). The doubling check goes
///   on after
///   the jump against the rate the estimate predicts there, `r·99/100`: a
///   link the estimate undersold (noise in either cycle) beats it and
///   doubling resumes; otherwise the size holds.
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
    /// The last whole chunk measured since the rule last started growing:
    /// its bytes and its cycle in nanoseconds.
    last_chunk: Option<(u64, u128)>,
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
            last_chunk: None,
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
            self.last_rate = Some(rate);
            if self.growing && paid {
                let doubled = self.size.saturating_mul(2);
                match self
                    .last_chunk
                    .and_then(|before| fit(before, (bytes, nanos)))
                {
                    Some(jump) if jump.size > doubled => {
                        self.size = jump.size;
                        self.last_rate = Some(jump.rate);
                    }
                    _ => self.size = doubled,
                }
            } else {
                self.growing = false;
            }
            self.last_chunk = Some((bytes, nanos));
        }
        // A caller's `Duration::MAX` means no limit: saturate, never wrap.
        let in_interval = rate.saturating_mul(self.limits.max_interval.as_nanos()) / 1_000_000_000;
        let in_interval = u64::try_from(in_interval).unwrap_or(u64::MAX);
        let cap = round_down(self.limits.max_bytes.min(in_interval), self.unit);
        self.size = round_down(self.size, self.unit).min(cap);
        self.size
    }

    /// A request that carried no bytes (an offset query) took `cycle`:
    /// before any chunk is measured, it stands for a chunk of zero bytes,
    /// all overhead, so the first whole chunk measures the link with it
    /// and the jump comes a chunk, and a round trip, sooner.
    pub(crate) fn empty_answered(&mut self, cycle: Duration) {
        if self.growing && self.last_chunk.is_none() {
            self.last_chunk = Some((0, cycle.as_nanos().max(1)));
        }
    }

    /// A chunk failed: halve the size, not below the start, and grow again
    /// from there. Returns the next size.
    pub(crate) fn failed(&mut self) -> u64 {
        self.size = round_down(self.size / 2, self.unit).max(self.floor);
        self.growing = true;
        self.last_rate = None;
        self.last_chunk = None;
        self.size
    }
}

/// The size two whole chunks of a link call for, and the rate it should
/// reach there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Jump {
    /// The size whose overhead is [`OVERHEAD_PERCENT`] of its cycle.
    size: u64,
    /// The rate at that size, bytes per second: what the next chunk must
    /// beat by [`GAIN_PERCENT`] for growing to go on.
    rate: u128,
}

/// The [`Jump`] on the link two whole chunks measured (`(bytes, cycle in
/// nanoseconds)`, in either order); `None` when they measure no rate or no
/// overhead (equal sizes, a cycle no longer for more bytes, a smaller
/// chunk's cycle all transfer).
fn fit(a: (u64, u128), b: (u64, u128)) -> Option<Jump> {
    let (small, large) = if a.0 <= b.0 { (a, b) } else { (b, a) };
    let bytes = u128::from(large.0 - small.0);
    let nanos = large.1.checked_sub(small.1).filter(|&n| n > 0)?;
    if bytes == 0 {
        return None;
    }
    // The smaller chunk's time on the wire at the measured rate, and the
    // rest of its cycle: the overhead, in nanoseconds.
    let wire = u128::from(small.0).saturating_mul(nanos) / bytes;
    let overhead = small.1.checked_sub(wire).filter(|&o| o > 0)?;
    // r·o·(100 − p)/p, with r = bytes / nanos.
    let size = bytes
        .saturating_mul(overhead)
        .saturating_mul(u128::from(100 - OVERHEAD_PERCENT))
        / nanos.saturating_mul(u128::from(OVERHEAD_PERCENT));
    let rate =
        bytes.saturating_mul(1_000_000_000) / nanos * u128::from(100 - OVERHEAD_PERCENT) / 100;
    Some(Jump {
        size: u64::try_from(size).unwrap_or(u64::MAX),
        rate,
    })
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
        // waiting. Two chunks measure the link, the third is the size
        // whose overhead is 1 % (125 MB/s · 50 ms · 99, in units), and
        // the fourth finds no gain in it.
        let (rate, overhead) = (125_000_000, Duration::from_millis(50));
        let mut a = Adapter::new(AdaptiveLimits::default(), 5 * MIB, UNIT);
        let s = sizes(&mut a, 12, rate, overhead);
        assert_eq!(
            s,
            [5, 10, 590, 590, 590, 590, 590, 590, 590, 590, 590, 590]
                .map(|m| m * MIB)
                .to_vec()
        );
        let last = *s.last().unwrap();
        let wire = cycle(last, rate, Duration::ZERO);
        let share = overhead.as_secs_f64() / (wire + overhead).as_secs_f64();
        assert!(share < 0.03, "overhead {share}");
    }

    #[test]
    fn an_offset_query_measures_the_link_with_the_first_chunk() {
        // The query's round trip is the overhead: the jump comes after one
        // chunk, to the size two chunks would find.
        let (rate, overhead) = (125_000_000, Duration::from_millis(50));
        let mut a = Adapter::new(AdaptiveLimits::default(), 5 * MIB, UNIT);
        a.empty_answered(overhead);
        let s = sizes(&mut a, 3, rate, overhead);
        assert_eq!(s, [5, 590, 590].map(|m| m * MIB).to_vec());
        // Once a chunk is measured, a query says nothing more.
        let mut a = Adapter::new(AdaptiveLimits::default(), 5 * MIB, UNIT);
        a.persisted(5 * MIB, cycle(5 * MIB, rate, overhead));
        a.empty_answered(Duration::from_secs(1));
        assert_eq!(sizes(&mut a, 2, rate, overhead), [10 * MIB, 590 * MIB]);
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
        assert_eq!(s, [5, 10, 64, 64, 64, 64].map(|m| m * MIB).to_vec());
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
        assert_eq!(a.size(), 590 * MIB);
        assert_eq!(a.failed(), 295 * MIB);
        assert_eq!(a.failed(), 295 * MIB / 2);
        for _ in 0..5 {
            a.failed();
        }
        assert_eq!(a.size(), 5 * MIB, "never below the start");
        assert_eq!(sizes(&mut a, 2, rate, overhead), [5 * MIB, 10 * MIB]);
    }

    #[test]
    fn a_jump_the_link_beats_grows_on() {
        // The second chunk's answer came 30 ms late: the link looks slower
        // and closer than it is, and the jump falls short.
        let (rate, overhead) = (125_000_000, Duration::from_millis(50));
        let mut a = Adapter::new(AdaptiveLimits::default(), 5 * MIB, UNIT);
        a.persisted(5 * MIB, cycle(5 * MIB, rate, overhead));
        let hiccup = Duration::from_millis(30);
        let jump = a.persisted(10 * MIB, cycle(10 * MIB, rate, overhead) + hiccup);
        assert!(jump > 20 * MIB && jump < 590 * MIB / 2, "{jump}");
        // At the jump the link does better than the estimate said: grow on
        // (the two whole chunks now measured call for a bigger jump).
        let next = a.persisted(jump, cycle(jump, rate, overhead));
        assert!(next >= 590 * MIB, "reaches the link's size: {next}");
        let s = sizes(&mut a, 3, rate, overhead);
        assert!(s.iter().all(|&n| n == s[0]), "then hold: {s:?}");
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
