//! The running CRC32C of the source, kept in offset order.

use serde::{Deserialize, Serialize};

/// A CRC32C as Google Cloud Storage writes it (an object's `crc32c`, the
/// `crc32c=` of `X-Goog-Hash`, what `gcloud storage hash` prints): the
/// standard padded base64 of its four big-endian bytes, such as `yZRlqg==`.
#[must_use]
pub fn crc32c_base64(crc: u32) -> String {
    crate::protocol::gcs::goog_hash::encode_crc32c(crc)
}

/// A CRC32C over the source's first [`through`](Self::through) bytes.
///
/// Bytes are fed as they are sent; bytes at or below `through` were hashed
/// already (a retry sends them again) and are skipped, and bytes past
/// `through` are ignored until the gap is filled, so the hash always covers a
/// prefix of the source exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RunningCrc32c {
    crc: u32,
    through: u64,
}

impl RunningCrc32c {
    /// The hash of the first [`through`](Self::through) bytes.
    #[must_use]
    pub fn value(&self) -> u32 {
        self.crc
    }

    /// How many leading bytes of the source the hash covers.
    #[must_use]
    pub fn through(&self) -> u64 {
        self.through
    }

    /// Feeds `data`, the source's bytes starting at `offset`. Returns how many
    /// new bytes were hashed.
    pub fn feed(&mut self, offset: u64, data: &[u8]) -> u64 {
        let Some(end) = offset.checked_add(data.len() as u64) else {
            return 0;
        };
        if offset > self.through || end <= self.through {
            return 0;
        }
        // `offset <= through < end`, so the skip is smaller than `data.len()`.
        let skip = usize::try_from(self.through - offset).unwrap_or(usize::MAX);
        let Some(fresh) = data.get(skip..) else {
            return 0;
        };
        self.crc = crc32c::crc32c_append(self.crc, fresh);
        self.through = end;
        fresh.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_in_order_once() {
        let data = b"hello world";
        let mut c = RunningCrc32c::default();
        assert_eq!(c.feed(0, &data[..5]), 5);
        assert_eq!(
            c.feed(0, &data[..5]),
            0,
            "replayed bytes are not hashed twice"
        );
        assert_eq!(c.feed(3, &data[3..8]), 3, "overlap: only the new part");
        assert_eq!(c.feed(9, &data[9..]), 0, "a gap is ignored");
        assert_eq!(c.feed(8, &data[8..]), 3);
        assert_eq!(c.through(), 11);
        assert_eq!(c.value(), 0xc994_65aa);
    }

    #[test]
    fn any_split_gives_the_same_hash() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let whole = crc32c::crc32c(&data);
        for split in 0..data.len() {
            let mut c = RunningCrc32c::default();
            c.feed(0, &data[..split]);
            c.feed(
                split.saturating_sub(3) as u64,
                &data[split.saturating_sub(3)..],
            );
            assert_eq!(c.value(), whole);
        }
    }

    #[test]
    fn offsets_near_the_end_of_u64_do_not_overflow() {
        let mut c = RunningCrc32c::default();
        assert_eq!(c.feed(u64::MAX, b"ab"), 0);
        assert_eq!(c.through(), 0);
    }
}
