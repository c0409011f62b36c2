//! The digest of one request's body, computed before the request is sent
//! (tus's `Upload-Checksum` precedes the body it covers): the engine asks
//! for the bytes with [`crate::Action::Checksum`], the driver feeds them,
//! and the digest is kept for that range until the range changes, so a
//! request sent again after a `460` carries the same digest unread.

use std::ops::Range;

use crate::protocol::tus::{ChecksumAlgorithm, Hasher};

/// One byte range's digest, complete or being fed.
#[derive(Debug, Clone)]
pub(crate) struct RequestDigest {
    range: Range<u64>,
    algorithm: ChecksumAlgorithm,
    state: DigestState,
}

#[derive(Debug, Clone)]
enum DigestState {
    /// Fed through this offset so far.
    Feeding {
        hasher: Hasher,
        through: u64,
    },
    Done(Vec<u8>),
}

impl RequestDigest {
    /// A digest of `range` with `algorithm`, not yet fed.
    pub(crate) fn new(range: Range<u64>, algorithm: ChecksumAlgorithm) -> Self {
        let through = range.start;
        Self {
            state: DigestState::Feeding {
                hasher: Hasher::new(algorithm),
                through,
            },
            range,
            algorithm,
        }
    }

    /// Whether this is the digest of `range` with `algorithm`.
    pub(crate) fn covers(&self, range: &Range<u64>, algorithm: ChecksumAlgorithm) -> bool {
        self.range == *range && self.algorithm == algorithm
    }

    /// Feeds source bytes starting at `offset`: those that continue the
    /// range where feeding stopped are hashed, others ignored (a body sent
    /// again, bytes of another range).
    pub(crate) fn feed(&mut self, offset: u64, data: &[u8]) {
        let DigestState::Feeding { hasher, through } = &mut self.state else {
            return;
        };
        let end = offset.saturating_add(data.len() as u64);
        if offset > *through || end <= *through {
            return;
        }
        let skip = usize::try_from(*through - offset).unwrap_or(usize::MAX);
        let want = usize::try_from(self.range.end.saturating_sub(*through)).unwrap_or(usize::MAX);
        let piece = data.get(skip..).unwrap_or_default();
        let piece = &piece[..piece.len().min(want)];
        hasher.update(piece);
        *through += piece.len() as u64;
        if *through == self.range.end {
            let hasher = hasher.clone();
            self.state = DigestState::Done(hasher.finish());
        }
    }

    /// The digest, once every byte of the range was fed.
    pub(crate) fn digest(&self) -> Option<&[u8]> {
        match &self.state {
            DigestState::Done(d) => Some(d),
            DigestState::Feeding { .. } => None,
        }
    }

    /// The algorithm.
    pub(crate) fn algorithm(&self) -> ChecksumAlgorithm {
        self.algorithm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_the_range_once_whatever_the_pieces() {
        let data: Vec<u8> = (0..100u8).collect();
        let whole = {
            let mut d = RequestDigest::new(10..60, ChecksumAlgorithm::Sha1);
            d.feed(10, &data[10..60]);
            d.digest().map(<[u8]>::to_vec)
        };
        assert!(whole.is_some());
        let mut d = RequestDigest::new(10..60, ChecksumAlgorithm::Sha1);
        d.feed(0, &data[0..5]);
        assert_eq!(d.digest(), None);
        d.feed(0, &data[0..20]);
        d.feed(30, &data[30..40]);
        d.feed(15, &data[15..35]);
        d.feed(35, &data[35..100]);
        assert_eq!(d.digest().map(<[u8]>::to_vec), whole);
        d.feed(10, &[0; 50]);
        assert_eq!(d.digest().map(<[u8]>::to_vec), whole, "done stays done");
        assert!(d.covers(&(10..60), ChecksumAlgorithm::Sha1));
        assert!(!d.covers(&(10..61), ChecksumAlgorithm::Sha1));
    }
}
