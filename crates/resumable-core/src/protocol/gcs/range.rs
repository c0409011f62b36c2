//! The `Range` header of a `308 Resume Incomplete` answer: how many bytes of
//! the upload the server has persisted. [`parse_persisted`] reads it,
//! and [`RangeError`] says what was wrong.
//!
//! `Range: bytes=0-N` means bytes `0..=N` are persisted, that is `N + 1`
//! bytes; no `Range` header at all means nothing is persisted yet.
//!
//! The parser is strict. The unit must be exactly lowercase `bytes=` (the
//! form Google Cloud Storage sends); both numbers are plain ASCII decimal
//! digits (leading zeros allowed, as the grammar `1*DIGIT` permits); the
//! range must start at byte 0 and be the only one. Only optional whitespace
//! (spaces and tabs) around the whole value is ignored.

use http::HeaderValue;

use crate::protocol::trim_ows;

/// Why a `308`'s `Range` value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RangeError {
    /// The value is not `bytes=0-N` with plain decimal digits.
    #[error("malformed Range: expected `bytes=0-N`")]
    Malformed,
    /// The range does not start at byte 0.
    #[error("Range does not start at byte 0")]
    NotFromZero,
    /// The value lists more than one range.
    #[error("Range lists more than one range")]
    MultipleRanges,
    /// A number does not fit in 64 bits, or the byte count `N + 1` does not.
    #[error("Range number does not fit in 64 bits")]
    Overflow,
}

/// The number of bytes a `308`'s `Range` says are persisted.
///
/// `None` (no `Range` header) gives `Ok(0)`; `bytes=0-N` gives `Ok(N + 1)`.
/// See the [module documentation](self) for the accepted text.
///
/// A comma anywhere after `bytes=` gives [`RangeError::MultipleRanges`],
/// whatever the ranges look like; otherwise syntax is checked before
/// numbers, so a malformed value gives [`RangeError::Malformed`] even when a
/// number in it would also overflow.
pub fn parse_persisted(value: Option<&HeaderValue>) -> Result<u64, RangeError> {
    match value {
        None => Ok(0),
        Some(value) => parse_value(value.as_bytes()),
    }
}

/// The `Range` value a server sends after persisting `persisted` bytes:
/// `bytes=0-{persisted - 1}`, or `None` (send no `Range`) for 0 bytes. The
/// parser's round-trip oracle in its tests.
#[cfg(test)]
fn persisted_header(persisted: u64) -> Option<HeaderValue> {
    let last = persisted.checked_sub(1)?;
    // ASCII digits only: always a valid header value.
    HeaderValue::try_from(format!("bytes=0-{last}")).ok()
}

/// [`parse_persisted`] for the bytes of a present header.
fn parse_value(value: &[u8]) -> Result<u64, RangeError> {
    let value = trim_ows(value);
    let ranges = value.strip_prefix(b"bytes=").ok_or(RangeError::Malformed)?;
    if ranges.contains(&b',') {
        return Err(RangeError::MultipleRanges);
    }
    let at = ranges
        .iter()
        .position(|&b| b == b'-')
        .ok_or(RangeError::Malformed)?;
    let (first, last) = ranges.split_at_checked(at).ok_or(RangeError::Malformed)?;
    let last = last.get(1..).ok_or(RangeError::Malformed)?;
    if !is_digits(first) || !is_digits(last) {
        return Err(RangeError::Malformed);
    }
    if to_u64(first)? != 0 {
        return Err(RangeError::NotFromZero);
    }
    to_u64(last)?.checked_add(1).ok_or(RangeError::Overflow)
}

/// Whether `text` is a non-empty run of ASCII digits.
fn is_digits(text: &[u8]) -> bool {
    !text.is_empty() && text.iter().all(u8::is_ascii_digit)
}

/// The value of a run of ASCII digits (checked by [`is_digits`]).
fn to_u64(digits: &[u8]) -> Result<u64, RangeError> {
    digits.iter().try_fold(0u64, |n, &b| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b.wrapping_sub(b'0'))))
            .ok_or(RangeError::Overflow)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(s: &[u8]) -> Result<u64, RangeError> {
        let header = HeaderValue::from_bytes(s).unwrap();
        parse_persisted(Some(&header))
    }

    #[test]
    fn absent_means_nothing_persisted() {
        assert_eq!(parse_persisted(None), Ok(0));
    }

    #[test]
    fn good_values() {
        assert_eq!(parse(b"bytes=0-0"), Ok(1));
        assert_eq!(parse(b"bytes=0-9"), Ok(10));
        assert_eq!(parse(b"bytes=0-262143"), Ok(262_144));
        assert_eq!(parse(b"bytes=0-18446744073709551614"), Ok(u64::MAX));
        assert_eq!(parse(b"bytes=00-009"), Ok(10));
        assert_eq!(parse(b" \tbytes=0-9 \t"), Ok(10));
        assert_eq!(
            parse(b"bytes=0-00000000000000000000000000000000009"),
            Ok(10)
        );
    }

    #[test]
    fn not_from_zero() {
        assert_eq!(parse(b"bytes=5-10"), Err(RangeError::NotFromZero));
        assert_eq!(parse(b"bytes=1-0"), Err(RangeError::NotFromZero));
        assert_eq!(parse(b"bytes=01-10"), Err(RangeError::NotFromZero));
    }

    #[test]
    fn multiple_ranges() {
        assert_eq!(parse(b"bytes=0-1,5-6"), Err(RangeError::MultipleRanges));
        assert_eq!(parse(b"bytes=0-1, 5-6"), Err(RangeError::MultipleRanges));
        assert_eq!(parse(b"bytes=0-9,"), Err(RangeError::MultipleRanges));
        assert_eq!(parse(b"bytes=,0-9"), Err(RangeError::MultipleRanges));
        assert_eq!(parse(b"bytes=x,y"), Err(RangeError::MultipleRanges));
    }

    #[test]
    fn overflow() {
        assert_eq!(
            parse(b"bytes=0-99999999999999999999"),
            Err(RangeError::Overflow)
        );
        assert_eq!(
            parse(b"bytes=0-18446744073709551615"),
            Err(RangeError::Overflow)
        );
        assert_eq!(
            parse(b"bytes=0-18446744073709551616"),
            Err(RangeError::Overflow)
        );
        assert_eq!(
            parse(b"bytes=99999999999999999999-1"),
            Err(RangeError::Overflow)
        );
        // Malformed wins over overflow.
        assert_eq!(
            parse(b"bytes=0-99999999999999999999x"),
            Err(RangeError::Malformed)
        );
    }

    #[test]
    fn malformed() {
        let bad: [&[u8]; 38] = [
            b"",
            b" ",
            b"bytes",
            b"bytes=",
            b"bytes=0",
            b"bytes=0-",
            b"bytes=-9",
            b"bytes=-",
            b"bytes=0-x",
            b"bytes=x-9",
            b"bytes=0-9x",
            b"bytes=0-9-",
            b"bytes=0-9-10",
            b"bytes=0--9",
            b"bytes=0-+9",
            b"bytes=+0-9",
            b"bytes=-0-9",
            b"bytes=0-0x9",
            b"bytes=0-9.0",
            b"bytes=0 -9",
            b"bytes=0- 9",
            b"bytes=0-9 9",
            b"bytes= 0-9",
            b"bytes =0-9",
            b"bytes 0-9",
            b"Bytes=0-9",
            b"BYTES=0-9",
            b"items=0-9",
            b"=0-9",
            b"0-9",
            b"bytes=0-9/10",
            b"bytes=0-*",
            b"bytes=*",
            b"bytes=0-\xff",
            b"bytes=0-9\xc3\xa9",
            b"\xefbytes=0-9",
            b"bytes=0-\xd9\xa9",
            b"bytes=0-9\t\t9",
        ];
        for value in bad {
            assert_eq!(
                parse(value),
                Err(RangeError::Malformed),
                "{:?}",
                String::from_utf8_lossy(value)
            );
        }
    }

    /// Every proper prefix of a valid value is refused, except those that
    /// are themselves complete values.
    #[test]
    fn every_prefix() {
        let full = b"bytes=0-1234";
        for len in 0..full.len() {
            let prefix = full.get(..len).unwrap();
            let expected = match prefix {
                b"bytes=0-1" => Ok(2),
                b"bytes=0-12" => Ok(13),
                b"bytes=0-123" => Ok(124),
                _ => Err(RangeError::Malformed),
            };
            assert_eq!(
                parse(prefix),
                expected,
                "{:?}",
                String::from_utf8_lossy(prefix)
            );
        }
    }

    #[test]
    fn writes_the_server_form() {
        assert_eq!(persisted_header(0), None);
        assert_eq!(persisted_header(1).unwrap(), "bytes=0-0");
        assert_eq!(persisted_header(262_144).unwrap(), "bytes=0-262143");
        assert_eq!(
            persisted_header(u64::MAX).unwrap(),
            "bytes=0-18446744073709551614"
        );
    }

    proptest! {
        #[test]
        fn round_trip(persisted in any::<u64>()) {
            let header = persisted_header(persisted);
            prop_assert_eq!(parse_persisted(header.as_ref()), Ok(persisted));
        }

        #[test]
        fn never_panics(input in proptest::collection::vec(any::<u8>(), 0..32)) {
            let _ = parse_value(&input);
            if let Ok(header) = HeaderValue::from_bytes(&input) {
                prop_assert_eq!(parse_persisted(Some(&header)), parse_value(&input));
            }
        }

        #[test]
        fn never_panics_near_valid(input in "bytes=[0-9, -]{0,25}") {
            if let Ok(n) = parse_value(input.as_bytes()) {
                prop_assert!(n >= 1);
                prop_assert_eq!(parse_persisted(persisted_header(n).as_ref()), Ok(n));
            }
        }

        #[test]
        fn matches_reference(last in any::<u64>()) {
            let text = format!("bytes=0-{last}");
            prop_assert_eq!(parse_value(text.as_bytes()), last.checked_add(1).ok_or(RangeError::Overflow));
        }
    }
}
