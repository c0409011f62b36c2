//! The running SHA-256 of the source, kept in offset order like
//! [`crate::RunningCrc32c`], for the `Repr-Digest` of the IETF draft's
//! completing request (RFC 9530 §2).
//!
//! `sha2`'s hasher keeps its state private, so this one drives the
//! compression function itself: the state is then eight words, the bytes
//! of an unfinished block and a count, which a checkpoint can carry.

use serde::{Deserialize, Serialize};
use sha2::digest::generic_array::GenericArray;

/// SHA-256's initial hash value (FIPS 180-4 §5.3.3).
const INITIAL: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

const BLOCK: usize = 64;

/// A SHA-256 over the source's first [`through`](Self::through) bytes.
///
/// Fed as the CRC32C is: bytes at or below `through` are skipped (a retry
/// sends them again) and bytes past it are ignored until the gap is filled,
/// so the hash covers a prefix of the source exactly once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningSha256 {
    state: [u32; 8],
    /// The bytes past the last whole block, fewer than 64.
    pending: Vec<u8>,
    through: u64,
}

impl Default for RunningSha256 {
    fn default() -> Self {
        Self {
            state: INITIAL,
            pending: Vec::new(),
            through: 0,
        }
    }
}

impl RunningSha256 {
    /// How many leading bytes of the source the hash covers.
    #[must_use]
    pub fn through(&self) -> u64 {
        self.through
    }

    /// Whether the state is one feeding can make: a checkpoint read from
    /// disk may hold any bytes, and a resume starts over from the source
    /// when it is not.
    #[must_use]
    pub fn is_sound(&self) -> bool {
        self.pending.len() < BLOCK && self.pending.len() as u64 == self.through % BLOCK as u64
    }

    /// Feeds `data`, the source's bytes starting at `offset`.
    pub fn feed(&mut self, offset: u64, data: &[u8]) {
        let Some(end) = offset.checked_add(data.len() as u64) else {
            return;
        };
        if offset > self.through || end <= self.through {
            return;
        }
        let skip = usize::try_from(self.through - offset).unwrap_or(usize::MAX);
        let Some(mut fresh) = data.get(skip..) else {
            return;
        };
        self.through = end;
        if !self.pending.is_empty() {
            let take = BLOCK.saturating_sub(self.pending.len()).min(fresh.len());
            self.pending.extend_from_slice(&fresh[..take]);
            fresh = &fresh[take..];
            if self.pending.len() < BLOCK {
                return;
            }
            let block = std::mem::take(&mut self.pending);
            self.compress(&block);
        }
        let whole = fresh.len() - fresh.len() % BLOCK;
        self.compress(&fresh[..whole]);
        self.pending.extend_from_slice(&fresh[whole..]);
    }

    /// The digest of the bytes fed so far.
    #[must_use]
    pub fn digest(&self) -> [u8; 32] {
        let mut copy = self.clone();
        let bits = self.through.wrapping_mul(8);
        let mut tail = std::mem::take(&mut copy.pending);
        tail.push(0x80);
        while tail.len() % BLOCK != BLOCK - 8 {
            tail.push(0);
        }
        tail.extend_from_slice(&bits.to_be_bytes());
        copy.compress(&tail);
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(copy.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// Runs the compression function over whole blocks.
    fn compress(&mut self, bytes: &[u8]) {
        let blocks: Vec<GenericArray<u8, _>> = bytes
            .chunks_exact(BLOCK)
            .map(GenericArray::clone_from_slice)
            .collect();
        sha2::compress256(&mut self.state, &blocks);
    }
}

#[cfg(test)]
mod tests {
    use sha2::Digest as _;

    use super::*;

    #[test]
    fn any_split_gives_sha2s_digest() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 % 251) as u8).collect();
        for len in [0, 1, 55, 56, 63, 64, 65, 128, 300] {
            let whole: [u8; 32] = sha2::Sha256::digest(&data[..len]).into();
            for split in 0..=len {
                let mut h = RunningSha256::default();
                h.feed(0, &data[..split]);
                let back = split.saturating_sub(5);
                h.feed(back as u64, &data[back..len]);
                assert_eq!(h.digest(), whole, "len {len} split {split}");
                assert_eq!(h.through(), len as u64);
            }
        }
    }

    #[test]
    fn gaps_and_replays_are_ignored_and_the_state_round_trips() {
        let mut h = RunningSha256::default();
        h.feed(0, b"hello ");
        h.feed(8, b"rld");
        h.feed(0, b"hel");
        let json = serde_json::to_string(&h).unwrap_or_default();
        let mut back: RunningSha256 = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, h);
        back.feed(6, b"world");
        let expected: [u8; 32] = sha2::Sha256::digest(b"hello world").into();
        assert_eq!(back.digest(), expected);
        h.feed(u64::MAX, b"ab");
        assert_eq!(h.through(), 6);
    }

    #[test]
    fn a_state_no_feeding_makes_is_not_sound_and_feeds_without_panicking() {
        let mut fed = RunningSha256::default();
        fed.feed(0, &[7; 100]);
        assert!(fed.is_sound());
        let json = serde_json::to_string(&fed).unwrap_or_default();
        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        value["pending"] = serde_json::json!(vec![0u8; 70]);
        let mut bad: RunningSha256 = serde_json::from_value(value).unwrap_or_default();
        assert!(!bad.is_sound());
        bad.feed(100, &[1; 10]);
        assert_eq!(bad.through(), 110);
    }
}
