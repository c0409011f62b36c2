//! Chunk math: how big each data request is and which bytes it carries.
//!
//! Google Cloud Storage requires every chunk but the last to be a multiple of
//! [`CHUNK_GRANULARITY`] (256 KiB). A size that is not is rounded **down** to
//! the nearest multiple, and never below one unit: rounding down keeps a
//! caller's size an upper bound on the memory a streaming driver buffers and
//! on the bytes re-sent after a failure, which is what a caller choosing a
//! size is usually limiting.

use std::ops::Range;

/// Every chunk but the last must be a multiple of this many bytes (256 KiB).
pub const CHUNK_GRANULARITY: u64 = 256 * 1024;

/// The largest chunk size taken from a server's recommendation (64 MiB): a
/// streaming driver buffers about one chunk, so a server must not choose more.
pub const MAX_RECOMMENDED_CHUNK: u64 = 64 * 1024 * 1024;

/// The chunk size used when neither the caller nor the server names one (8 MiB).
pub const DEFAULT_CHUNK_SIZE: u64 = 8 * 1024 * 1024;

/// How the bytes of an upload are split into requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunking {
    /// Chunks of the server's recommended size when it names one, else
    /// [`DEFAULT_CHUNK_SIZE`].
    Auto,
    /// Chunks of this many bytes, rounded with [`round_chunk_size`].
    Fixed(u64),
    /// Chunks that start at [`Chunking::Auto`]'s size and grow while a
    /// bigger one raises the rate (the round trip and the checkpoint
    /// between chunks cost less of the time), within these limits; a
    /// failed chunk halves the size, not below the start. For a source read
    /// again at any offset (a file); a one-pass source keeps
    /// [`Chunking::Auto`]'s size, which bounds what the driver buffers.
    /// [`crate::AdaptiveLimits`] describes the rule.
    Adaptive(crate::AdaptiveLimits),
    /// Everything left in one request: the fastest when nothing fails. An
    /// upload whose total is not known yet falls back to [`Chunking::Auto`]
    /// until the total is known, because every request needs an explicit
    /// `Content-Length`.
    SingleRequest,
}

impl Default for Chunking {
    /// [`Chunking::Adaptive`] within [`crate::AdaptiveLimits::default`]: a
    /// file's chunks grow to what its link calls for; a one-pass source
    /// keeps [`Chunking::Auto`]'s size.
    fn default() -> Self {
        Self::Adaptive(crate::AdaptiveLimits::default())
    }
}

/// Rounds a chunk size down to a multiple of [`CHUNK_GRANULARITY`], and up to
/// one unit when smaller than that.
#[must_use]
pub fn round_chunk_size(size: u64) -> u64 {
    round_to_unit(size, CHUNK_GRANULARITY)
}

/// Rounds a chunk size down to a multiple of a protocol's `unit` (1 when
/// it has none), and up to one unit when smaller than that.
pub(crate) fn round_to_unit(size: u64, unit: u64) -> u64 {
    let unit = unit.max(1);
    (size / unit).max(1) * unit
}

/// The byte range of the next data request.
///
/// `offset` is the persisted offset, `total` the upload's size when known and
/// `chunk` a size already rounded with [`round_chunk_size`]. With a known total
/// the range never passes it; the caller must not ask when `offset == total`.
#[must_use]
pub fn next_range(offset: u64, total: Option<u64>, chunk: u64, single: bool) -> Range<u64> {
    let end = match (total, single) {
        (Some(total), true) => total,
        (Some(total), false) => offset.saturating_add(chunk).min(total),
        (None, _) => offset.saturating_add(chunk),
    };
    offset..end.max(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K256: u64 = CHUNK_GRANULARITY;

    #[test]
    fn rounds_down_to_granularity_and_never_below_one_unit() {
        assert_eq!(round_chunk_size(0), K256);
        assert_eq!(round_chunk_size(1), K256);
        assert_eq!(round_chunk_size(K256 - 1), K256);
        assert_eq!(round_chunk_size(K256), K256);
        assert_eq!(round_chunk_size(K256 + 1), K256);
        assert_eq!(round_chunk_size(2 * K256 - 1), K256);
        assert_eq!(round_chunk_size(5 * 1024 * 1024), 5 * 1024 * 1024);
        assert_eq!(round_chunk_size(5_000_000), 19 * K256);
        assert_eq!(round_chunk_size(u64::MAX) % K256, 0);
    }

    #[test]
    fn known_total_chunks_stop_at_the_total() {
        assert_eq!(next_range(0, Some(10), K256, false), 0..10);
        assert_eq!(next_range(0, Some(3 * K256), K256, false), 0..K256);
        assert_eq!(
            next_range(2 * K256, Some(3 * K256), K256, false),
            2 * K256..3 * K256
        );
        assert_eq!(
            next_range(2 * K256, Some(2 * K256 + 1), K256, false),
            2 * K256..2 * K256 + 1
        );
    }

    #[test]
    fn single_request_sends_everything_left() {
        assert_eq!(next_range(0, Some(1 << 40), K256, true), 0..1 << 40);
        assert_eq!(next_range(K256, Some(1 << 40), K256, true), K256..1 << 40);
    }

    #[test]
    fn unknown_total_sends_whole_chunks() {
        assert_eq!(next_range(0, None, K256, false), 0..K256);
        assert_eq!(next_range(0, None, K256, true), 0..K256);
        assert_eq!(
            next_range(u64::MAX - 1, None, K256, false),
            u64::MAX - 1..u64::MAX
        );
    }

    #[test]
    fn offset_at_or_past_total_gives_an_empty_range() {
        assert!(next_range(10, Some(10), K256, false).is_empty());
        assert!(next_range(11, Some(10), K256, true).is_empty());
    }
}
