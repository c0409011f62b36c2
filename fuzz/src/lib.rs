//! What the state-machine fuzz targets share: the source they upload and
//! the transport failure a fuzzed driver reports.

use std::ops::Range;
use std::sync::OnceLock;

use resumable_core::{TransportError, TransportErrorKind};

/// The most source bytes any target uploads: three GCS units.
pub const MAX_SOURCE: u64 = 3 * 256 * 1024;

/// The source's bytes in `range` (a pattern of the offset, so every target
/// sees the same bytes at the same offsets), made once per process.
///
/// # Panics
///
/// When `range` goes past [`MAX_SOURCE`]: a harness bug.
pub fn source(range: Range<u64>) -> &'static [u8] {
    static DATA: OnceLock<Vec<u8>> = OnceLock::new();
    let data = DATA.get_or_init(|| {
        (0..MAX_SOURCE)
            .map(|i| (i.wrapping_mul(31) ^ (i >> 9)) as u8)
            .collect()
    });
    &data[range.start as usize..range.end as usize]
}

/// A transport failure of `kind`, as a driver reports one.
pub fn failure(kind: TransportErrorKind) -> TransportError {
    TransportError::new(kind, "a fuzzed transport failure")
}
