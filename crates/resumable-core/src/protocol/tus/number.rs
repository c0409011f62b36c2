//! The byte counts of tus: `Upload-Offset`, `Upload-Length` and
//! `Tus-Max-Size`, each a non-negative decimal integer. [`parse`] reads one,
//! [`NumberError`] says what was wrong.
//!
//! The parser is strict: plain ASCII digits (leading zeros allowed, as the
//! grammar `1*DIGIT` permits), no sign, no whitespace or separator inside,
//! and a value that does not fit in 64 bits is an error, never clamped: an
//! offset read wrong would skip or repeat bytes. Only optional whitespace
//! (spaces and tabs) around the whole value is ignored.

use http::HeaderValue;

use crate::protocol::trim_ows;

/// Why a tus byte count was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NumberError {
    /// The value is empty (or only whitespace).
    #[error("empty byte count")]
    Empty,
    /// The value holds something other than decimal digits.
    #[error("byte count is not plain decimal digits")]
    NotDecimal,
    /// The number does not fit in 64 bits.
    #[error("byte count does not fit in 64 bits")]
    Overflow,
}

/// The byte count in a header value. See the [module documentation](self)
/// for the accepted text.
pub fn parse(value: &HeaderValue) -> Result<u64, NumberError> {
    parse_bytes(value.as_bytes())
}

/// [`parse`] on the raw bytes of a value.
pub fn parse_bytes(value: &[u8]) -> Result<u64, NumberError> {
    let digits = trim_ows(value);
    if digits.is_empty() {
        return Err(NumberError::Empty);
    }
    digits.iter().try_fold(0u64, |n, &b| {
        if !b.is_ascii_digit() {
            return Err(NumberError::NotDecimal);
        }
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(NumberError::Overflow)
    })
}

/// The header value of a byte count.
pub fn header(n: u64) -> HeaderValue {
    HeaderValue::from(n)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_digits_with_optional_whitespace_around() {
        assert_eq!(parse_bytes(b"0"), Ok(0));
        assert_eq!(parse_bytes(b"70"), Ok(70));
        assert_eq!(parse_bytes(b"0070"), Ok(70));
        assert_eq!(parse_bytes(b" \t100 "), Ok(100));
        assert_eq!(parse_bytes(b"18446744073709551615"), Ok(u64::MAX));
    }

    #[test]
    fn hostile_values_are_refused() {
        assert_eq!(parse_bytes(b""), Err(NumberError::Empty));
        assert_eq!(parse_bytes(b" \t "), Err(NumberError::Empty));
        for bad in [
            &b"+1"[..],
            b"-1",
            b"1 0",
            b"1,0",
            b"1.0",
            b"1e3",
            b"0x10",
            b"\xd9\xa1",
            b"1\0",
            b"\xef\xbc\x91",
        ] {
            assert_eq!(parse_bytes(bad), Err(NumberError::NotDecimal), "{bad:?}");
        }
        assert_eq!(
            parse_bytes(b"18446744073709551616"),
            Err(NumberError::Overflow)
        );
        assert_eq!(
            parse_bytes(b"99999999999999999999999999"),
            Err(NumberError::Overflow)
        );
    }

    proptest! {
        #[test]
        fn round_trips(n in any::<u64>()) {
            prop_assert_eq!(parse(&header(n)), Ok(n));
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_bytes(&bytes);
        }
    }
}
