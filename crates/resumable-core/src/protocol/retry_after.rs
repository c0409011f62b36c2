//! The `Retry-After` header of a `429` or `503`: how long the server asks the
//! client to wait. [`parse`] reads it into a [`Duration`]; [`RetryAfterError`]
//! says what was wrong.
//!
//! The value is either delta-seconds (`120`) or an HTTP date
//! (`Sun, 06 Nov 1994 08:49:37 GMT`, or the obsolete RFC 850 and asctime
//! forms), compared with a wall-clock time the caller passes in.

use std::time::{Duration, SystemTime};

use http::HeaderValue;

use super::trim_ows;

/// Why a `Retry-After` value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RetryAfterError {
    /// The value is empty (or only whitespace).
    #[error("empty Retry-After")]
    Empty,
    /// The value is neither delta-seconds nor an HTTP date.
    #[error("malformed Retry-After: expected delta-seconds or an HTTP date")]
    Malformed,
}

/// Delay asked by `Retry-After`: delta-seconds, or an HTTP date compared with
/// `now` (a wall-clock time the caller passes in; a date in the past gives
/// zero).
///
/// Optional whitespace (spaces and tabs) around the value is ignored.
/// Delta-seconds are plain ASCII decimal digits (no sign, no fraction;
/// leading zeros allowed); a number too big for `u64` seconds *saturates* to
/// `u64::MAX` seconds rather than failing, since it still plainly means "a
/// very long time" (callers cap the delay to their own budget). A date is
/// parsed by [`httpdate::parse_http_date`], which accepts the IMF-fixdate,
/// RFC 850 and asctime forms; a date up to `now` gives [`Duration::ZERO`].
pub fn parse(value: &HeaderValue, now: SystemTime) -> Result<Duration, RetryAfterError> {
    let text = trim_ows(value.as_bytes());
    if text.is_empty() {
        return Err(RetryAfterError::Empty);
    }
    if text.iter().all(u8::is_ascii_digit) {
        let secs = text.iter().fold(0u64, |n, &b| {
            n.saturating_mul(10)
                .saturating_add(u64::from(b.wrapping_sub(b'0')))
        });
        return Ok(Duration::from_secs(secs));
    }
    let text = std::str::from_utf8(text).map_err(|_| RetryAfterError::Malformed)?;
    let date = httpdate::parse_http_date(text).map_err(|_| RetryAfterError::Malformed)?;
    Ok(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::UNIX_EPOCH;

    /// 1994-11-06T08:49:37Z, the date of the RFC examples.
    const EXAMPLE: u64 = 784_111_777;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn parse_at(value: &[u8], now: SystemTime) -> Result<Duration, RetryAfterError> {
        parse(&HeaderValue::from_bytes(value).unwrap(), now)
    }

    fn parse_now(value: &str) -> Result<Duration, RetryAfterError> {
        parse_at(value.as_bytes(), at(EXAMPLE))
    }

    #[test]
    fn delta_seconds() {
        assert_eq!(parse_now("0"), Ok(Duration::ZERO));
        assert_eq!(parse_now("120"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_now("007"), Ok(Duration::from_secs(7)));
        assert_eq!(parse_now(" \t30\t "), Ok(Duration::from_secs(30)));
        assert_eq!(
            parse_now("18446744073709551615"),
            Ok(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn huge_delta_seconds_saturate() {
        assert_eq!(
            parse_now("18446744073709551616"),
            Ok(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            parse_now(&"9".repeat(500)),
            Ok(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            parse_now(&format!("{}1", "0".repeat(500))),
            Ok(Duration::from_secs(1))
        );
    }

    #[test]
    fn http_dates_in_all_three_forms() {
        let now = at(EXAMPLE - 90);
        for text in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                parse_at(text.as_bytes(), now),
                Ok(Duration::from_secs(90)),
                "{text}"
            );
        }
        assert_eq!(
            parse_at(b"  Sun, 06 Nov 1994 08:49:37 GMT\t", now),
            Ok(Duration::from_secs(90))
        );
    }

    #[test]
    fn dates_not_in_the_future_give_zero() {
        let date = b"Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(parse_at(date, at(EXAMPLE)), Ok(Duration::ZERO));
        assert_eq!(parse_at(date, at(EXAMPLE + 1)), Ok(Duration::ZERO));
        assert_eq!(parse_at(date, at(4_000_000_000)), Ok(Duration::ZERO));
        assert_eq!(
            parse_at(b"Thu, 01 Jan 1970 00:00:00 GMT", UNIX_EPOCH),
            Ok(Duration::ZERO)
        );
    }

    #[test]
    fn sub_second_now() {
        let now = at(EXAMPLE - 1) + Duration::from_millis(250);
        assert_eq!(
            parse_at(b"Sun, 06 Nov 1994 08:49:37 GMT", now),
            Ok(Duration::from_millis(750))
        );
    }

    #[test]
    fn empty() {
        for text in ["", " ", "\t \t"] {
            assert_eq!(parse_now(text), Err(RetryAfterError::Empty), "{text:?}");
        }
    }

    #[test]
    fn malformed() {
        let bad = [
            "-1",
            "+1",
            "1.5",
            "1e3",
            "0x10",
            "1 0",
            "12s",
            "soon",
            "٣",
            "１",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08:49:37 GMT x",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "1994-11-06T08:49:37Z",
            "Sun,  06 Nov 1994 08:49:37 GMT",
        ];
        for text in bad {
            assert_eq!(parse_now(text), Err(RetryAfterError::Malformed), "{text:?}");
        }
        assert_eq!(parse_at(b"12\xff", at(0)), Err(RetryAfterError::Malformed));
        assert_eq!(
            parse_at(b"Sun, 06 Nov 1994 08:49:37 GMT\xa0", at(0)),
            Err(RetryAfterError::Malformed)
        );
        assert_eq!(
            parse_at(b"\xc3\xa9", at(0)),
            Err(RetryAfterError::Malformed)
        );
    }

    /// Every proper prefix of a date is refused; every prefix of a number is
    /// that smaller number.
    #[test]
    fn every_prefix() {
        let now = at(0);
        for full in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            for len in 0..full.len() {
                let prefix = full.get(..len).unwrap();
                assert!(parse_at(prefix.as_bytes(), now).is_err(), "{prefix:?}");
            }
        }
        let full = "86400";
        for len in 1..=full.len() {
            let prefix = full.get(..len).unwrap();
            assert_eq!(
                parse_at(prefix.as_bytes(), now),
                Ok(Duration::from_secs(prefix.parse().unwrap()))
            );
        }
    }

    proptest! {
        #[test]
        fn seconds_round_trip(secs in any::<u64>()) {
            prop_assert_eq!(parse_now(&secs.to_string()), Ok(Duration::from_secs(secs)));
        }

        #[test]
        fn date_round_trip(now in 0u64..253_402_300_799, ahead in 0u64..100_000_000, nanos in 0u32..1_000_000_000) {
            // HTTP dates reach year 9999 at most.
            let date = (now + ahead).min(253_402_300_799);
            let text = httpdate::fmt_http_date(at(date));
            let now_time = at(now) + Duration::from_nanos(u64::from(nanos));
            let expected = at(date).duration_since(now_time).unwrap_or(Duration::ZERO);
            prop_assert_eq!(parse_at(text.as_bytes(), now_time), Ok(expected));
            prop_assert_eq!(parse_at(text.as_bytes(), at(date + 1)), Ok(Duration::ZERO));
        }

        #[test]
        fn never_panics(input in proptest::collection::vec(any::<u8>(), 0..48), now in any::<u32>()) {
            if let Ok(header) = HeaderValue::from_bytes(&input) {
                let _ = parse(&header, at(u64::from(now)));
            }
        }

        #[test]
        fn never_panics_near_valid(input in "[A-Za-z]{3}, [0-9]{2} [A-Za-z]{3} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT") {
            let _ = parse_now(&input);
        }
    }
}
