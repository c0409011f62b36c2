//! The per-request digests of tus's checksum extension that the engine can
//! make: which algorithms, which is strongest, and the running hash of one
//! request's body.
//!
//! Four, each from a small, widely used crate: `sha2`'s SHA-256 (offered by
//! the strictest servers, and the digest of HTTP's own `Repr-Digest`),
//! `sha1` (every checksum server must take it), `md-5` (already in the
//! workspace for GCS's `md5Hash`) and `crc32fast` (the IEEE CRC-32 that
//! tus's `crc32` names, which is not the CRC32C the engine keeps for the
//! whole upload). None is a defence against
//! an attacker; each catches bytes damaged between the source and the
//! server's disk, which is what a per-request checksum is for.

use md5::Digest as _;
use serde::{Deserialize, Serialize};

/// A checksum algorithm of tus's checksum extension that the engine can
/// compute, named as `Tus-Checksum-Algorithm` and `Upload-Checksum` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChecksumAlgorithm {
    /// IEEE CRC-32 (`crc32`), 4 bytes.
    Crc32,
    /// MD5 (`md5`), 16 bytes.
    Md5,
    /// SHA-1 (`sha1`), 20 bytes; the one every checksum server supports.
    Sha1,
    /// SHA-256 (`sha256`), 32 bytes.
    Sha256,
}

impl ChecksumAlgorithm {
    /// Every algorithm, weakest first.
    pub const ALL: [Self; 4] = [Self::Crc32, Self::Md5, Self::Sha1, Self::Sha256];

    /// The algorithm's name on the wire.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Crc32 => "crc32",
            Self::Md5 => "md5",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
        }
    }

    /// The strongest algorithm among `offered` (names as a server lists
    /// them, any case) that the engine can compute, if any.
    pub fn strongest<'a>(offered: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        offered
            .into_iter()
            .filter_map(|name| {
                Self::ALL
                    .into_iter()
                    .find(|a| a.name().eq_ignore_ascii_case(name))
            })
            .max()
    }
}

/// The running digest of one request's body.
#[derive(Clone)]
pub(crate) enum Hasher {
    Crc32(crc32fast::Hasher),
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Crc32(_) => "Hasher(crc32)",
            Self::Md5(_) => "Hasher(md5)",
            Self::Sha1(_) => "Hasher(sha1)",
            Self::Sha256(_) => "Hasher(sha256)",
        })
    }
}

impl Hasher {
    /// A new hasher for `algorithm`.
    pub(crate) fn new(algorithm: ChecksumAlgorithm) -> Self {
        match algorithm {
            ChecksumAlgorithm::Crc32 => Self::Crc32(crc32fast::Hasher::new()),
            ChecksumAlgorithm::Md5 => Self::Md5(md5::Md5::new()),
            ChecksumAlgorithm::Sha1 => Self::Sha1(sha1::Sha1::new()),
            ChecksumAlgorithm::Sha256 => Self::Sha256(sha2::Sha256::new()),
        }
    }

    /// Feeds the next bytes.
    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Self::Crc32(h) => h.update(data),
            Self::Md5(h) => h.update(data),
            Self::Sha1(h) => h.update(data),
            Self::Sha256(h) => h.update(data),
        }
    }

    /// The digest of everything fed, as the wire carries it (CRC-32 big
    /// endian).
    pub(crate) fn finish(self) -> Vec<u8> {
        match self {
            Self::Crc32(h) => h.finalize().to_be_bytes().to_vec(),
            Self::Md5(h) => h.finalize().to_vec(),
            Self::Sha1(h) => h.finalize().to_vec(),
            Self::Sha256(h) => h.finalize().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(algorithm: ChecksumAlgorithm, pieces: &[&[u8]]) -> Vec<u8> {
        let mut h = Hasher::new(algorithm);
        for p in pieces {
            h.update(p);
        }
        h.finish()
    }

    #[test]
    fn known_digests_of_hello_world_in_pieces() {
        let pieces: &[&[u8]] = &[b"hello", b" ", b"world"];
        // The tus spec's example digest.
        assert_eq!(
            digest(ChecksumAlgorithm::Sha1, pieces),
            [
                0x2a, 0xae, 0x6c, 0x35, 0xc9, 0x4f, 0xcf, 0xb4, 0x15, 0xdb, 0xe9, 0x5f, 0x40, 0x8b,
                0x9c, 0xe9, 0x1e, 0xe8, 0x46, 0xed
            ]
        );
        assert_eq!(
            digest(ChecksumAlgorithm::Md5, pieces),
            [
                0x5e, 0xb6, 0x3b, 0xbb, 0xe0, 0x1e, 0xee, 0xd0, 0x93, 0xcb, 0x22, 0xbb, 0x8f, 0x5a,
                0xcd, 0xc3
            ]
        );
        assert_eq!(
            digest(ChecksumAlgorithm::Crc32, pieces),
            0x0d4a_1185u32.to_be_bytes()
        );
        assert_eq!(
            digest(ChecksumAlgorithm::Sha256, pieces),
            [
                0xb9, 0x4d, 0x27, 0xb9, 0x93, 0x4d, 0x3e, 0x08, 0xa5, 0x2e, 0x52, 0xd7, 0xda, 0x7d,
                0xab, 0xfa, 0xc4, 0x84, 0xef, 0xe3, 0x7a, 0x53, 0x80, 0xee, 0x90, 0x88, 0xf7, 0xac,
                0xe2, 0xef, 0xcd, 0xe9
            ]
        );
    }

    #[test]
    fn the_strongest_offered_is_picked() {
        use ChecksumAlgorithm::*;
        assert_eq!(
            ChecksumAlgorithm::strongest(["md5", "sha1", "crc32"]),
            Some(Sha1)
        );
        assert_eq!(ChecksumAlgorithm::strongest(["crc32", "MD5"]), Some(Md5));
        assert_eq!(
            ChecksumAlgorithm::strongest(["crc32", "md5", "sha1", "sha256"]),
            Some(Sha256)
        );
        assert_eq!(
            ChecksumAlgorithm::strongest(["sha512", "crc32"]),
            Some(Crc32)
        );
        assert_eq!(ChecksumAlgorithm::strongest(["sha512"]), None);
        assert_eq!(ChecksumAlgorithm::strongest([]), None);
    }
}
