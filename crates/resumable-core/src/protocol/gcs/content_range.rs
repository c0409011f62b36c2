//! The `Content-Range` header of a resumable-upload `PUT`: [`ContentRange`],
//! its builder ([`ContentRange::to_header_value`]) and its strict parser
//! ([`ContentRange::parse`]), with the parse error [`ContentRangeError`].
//!
//! The header text names the *inclusive* last byte (`bytes 0-9/20` is ten
//! bytes), while [`ContentRange::Bytes`] holds an *exclusive* end, like a Rust
//! range. The forms are:
//!
//! | header text     | value                                                   |
//! |-----------------|---------------------------------------------------------|
//! | `bytes a-b/T`   | `Bytes { start: a, end: b + 1, total: Some(T) }`        |
//! | `bytes a-b/*`   | `Bytes { start: a, end: b + 1, total: None }`           |
//! | `bytes */T`     | `Query { total: Some(T) }`                              |
//! | `bytes */*`     | `Query { total: None }`                                 |

use std::fmt;

use http::HeaderValue;

use crate::protocol::trim_ows;

/// The `Content-Range` of a resumable-upload PUT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentRange {
    /// `bytes a-b/T` or `bytes a-b/*`: bytes `start..end` (end exclusive,
    /// end > start) of an upload whose total is `total` (None = not known
    /// yet, `*`).
    Bytes {
        /// Offset of the first byte carried.
        start: u64,
        /// Offset one past the last byte carried (exclusive).
        end: u64,
        /// Size of the whole upload, or `None` while it is not known (`*`).
        total: Option<u64>,
    },
    /// `bytes */T` or `bytes */*`: no data; a status query, or finishing an
    /// upload of `total` bytes (`bytes */0` for an empty upload).
    Query {
        /// Size of the whole upload, or `None` while it is not known (`*`).
        total: Option<u64>,
    },
}

/// Why a `Content-Range` value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContentRangeError {
    /// The text is not `bytes a-b/T`, `bytes a-b/*`, `bytes */T` or `bytes */*`
    /// with plain decimal digits.
    #[error(
        "malformed Content-Range: expected `bytes a-b/T`, `bytes a-b/*`, `bytes */T` or `bytes */*`"
    )]
    Malformed,
    /// A number does not fit in 64 bits (or the last byte is `u64::MAX`, so
    /// the exclusive end does not fit).
    #[error("Content-Range number does not fit in 64 bits")]
    Overflow,
    /// The range is empty or inverted: the last byte is before the first
    /// (`end <= start`).
    #[error("Content-Range is empty: the last byte is before the first")]
    EmptyRange,
    /// The range reaches past the total size (`end > total`).
    #[error("Content-Range reaches past the total size")]
    BeyondTotal,
}

impl ContentRange {
    /// The header value, as [`Display`](fmt::Display) writes it.
    ///
    /// A [`ContentRange::Bytes`] must satisfy `start < end` (and
    /// `end <= total` when the total is known) to mean anything; see
    /// [`ContentRange::validate`]. This function does not check it: an
    /// invalid value is written as-is, with the last byte `end - 1`
    /// (saturating at 0), and never panics.
    #[must_use]
    pub fn to_header_value(self) -> HeaderValue {
        // Room for the longest form, so the text is built in one allocation.
        let mut text = String::with_capacity(72);
        // Writing to a String cannot fail.
        let _ = fmt::Write::write_fmt(&mut text, format_args!("{self}"));
        // The text is `bytes `, ASCII digits, `-`, `*` and `/`, all valid in a
        // header value, so the fallback is never taken.
        HeaderValue::try_from(text).unwrap_or_else(|_| HeaderValue::from_static("bytes */*"))
    }

    /// The total size the value announces, if known.
    #[must_use]
    pub fn total(&self) -> Option<u64> {
        match *self {
            ContentRange::Bytes { total, .. } | ContentRange::Query { total } => total,
        }
    }

    /// Checks that a value is one [`ContentRange::parse`] would return:
    /// `start < end`, and `end <= total` when the total is known.
    pub fn validate(&self) -> Result<(), ContentRangeError> {
        match *self {
            ContentRange::Bytes { start, end, total } => {
                if end <= start {
                    Err(ContentRangeError::EmptyRange)
                } else if total.is_some_and(|t| end > t) {
                    Err(ContentRangeError::BeyondTotal)
                } else {
                    Ok(())
                }
            }
            ContentRange::Query { .. } => Ok(()),
        }
    }

    /// Parses a `Content-Range` value.
    ///
    /// Strict: the unit is exactly `bytes` followed by one space; numbers are
    /// plain ASCII decimal digits (no sign, no spaces inside; leading zeros
    /// are allowed, as the grammar `1*DIGIT` permits). Only optional
    /// whitespace (spaces and tabs) around the whole value is ignored.
    ///
    /// Syntax is checked before numbers, so a value that is malformed
    /// anywhere gives [`ContentRangeError::Malformed`] even when a number in
    /// it would also overflow.
    pub fn parse(value: &[u8]) -> Result<ContentRange, ContentRangeError> {
        let value = trim_ows(value);
        let rest = value
            .strip_prefix(b"bytes ")
            .ok_or(ContentRangeError::Malformed)?;
        let (range, total) = split_once(rest, b'/').ok_or(ContentRangeError::Malformed)?;
        let total = Field::lex(total)?;
        if range == b"*" {
            return Ok(ContentRange::Query {
                total: total.number()?,
            });
        }
        let (first, last) = split_once(range, b'-').ok_or(ContentRangeError::Malformed)?;
        let (first, last) = (Digits::lex(first)?, Digits::lex(last)?);
        let (start, last, total) = (first.number()?, last.number()?, total.number()?);
        let end = last.checked_add(1).ok_or(ContentRangeError::Overflow)?;
        let parsed = ContentRange::Bytes { start, end, total };
        parsed.validate()?;
        Ok(parsed)
    }
}

impl fmt::Display for ContentRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bytes ")?;
        match *self {
            ContentRange::Bytes { start, end, .. } => {
                write!(f, "{start}-{}", end.saturating_sub(1))?;
            }
            ContentRange::Query { .. } => f.write_str("*")?,
        }
        match self.total() {
            Some(total) => write!(f, "/{total}"),
            None => f.write_str("/*"),
        }
    }
}

/// A lexed `*` or run of digits.
#[derive(Clone, Copy)]
enum Field<'a> {
    Star,
    Digits(Digits<'a>),
}

impl<'a> Field<'a> {
    fn lex(text: &'a [u8]) -> Result<Self, ContentRangeError> {
        if text == b"*" {
            Ok(Field::Star)
        } else {
            Digits::lex(text).map(Field::Digits)
        }
    }

    fn number(self) -> Result<Option<u64>, ContentRangeError> {
        match self {
            Field::Star => Ok(None),
            Field::Digits(d) => d.number().map(Some),
        }
    }
}

/// A non-empty run of ASCII digits, not yet converted.
#[derive(Clone, Copy)]
struct Digits<'a>(&'a [u8]);

impl<'a> Digits<'a> {
    fn lex(text: &'a [u8]) -> Result<Self, ContentRangeError> {
        if !text.is_empty() && text.iter().all(u8::is_ascii_digit) {
            Ok(Digits(text))
        } else {
            Err(ContentRangeError::Malformed)
        }
    }

    fn number(self) -> Result<u64, ContentRangeError> {
        self.0.iter().try_fold(0u64, |n, &b| {
            n.checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(b.wrapping_sub(b'0'))))
                .ok_or(ContentRangeError::Overflow)
        })
    }
}

/// Splits at the first `sep`, dropping it.
fn split_once(text: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let at = text.iter().position(|&b| b == sep)?;
    let (head, tail) = text.split_at_checked(at)?;
    Some((head, tail.get(1..)?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(s: &str) -> Result<ContentRange, ContentRangeError> {
        ContentRange::parse(s.as_bytes())
    }

    fn bytes(start: u64, end: u64, total: Option<u64>) -> ContentRange {
        ContentRange::Bytes { start, end, total }
    }

    #[test]
    fn formats_every_form() {
        let cases = [
            (bytes(0, 10, Some(20)), "bytes 0-9/20"),
            (bytes(10, 20, Some(20)), "bytes 10-19/20"),
            (bytes(0, 1, Some(1)), "bytes 0-0/1"),
            (bytes(0, 262_144, None), "bytes 0-262143/*"),
            (ContentRange::Query { total: Some(20) }, "bytes */20"),
            (ContentRange::Query { total: Some(0) }, "bytes */0"),
            (ContentRange::Query { total: None }, "bytes */*"),
            (
                bytes(u64::MAX - 1, u64::MAX, Some(u64::MAX)),
                "bytes 18446744073709551614-18446744073709551614/18446744073709551615",
            ),
        ];
        for (value, text) in cases {
            assert_eq!(value.to_string(), text);
            assert_eq!(value.to_header_value(), text);
            assert_eq!(parse(text), Ok(value), "{text}");
        }
    }

    #[test]
    fn invalid_values_format_without_panicking() {
        assert_eq!(bytes(0, 0, None).to_string(), "bytes 0-0/*");
        assert_eq!(bytes(5, 3, Some(1)).to_string(), "bytes 5-2/1");
        assert_eq!(
            bytes(0, 0, None).validate(),
            Err(ContentRangeError::EmptyRange)
        );
        assert_eq!(
            bytes(5, 3, None).validate(),
            Err(ContentRangeError::EmptyRange)
        );
        assert_eq!(
            bytes(0, 5, Some(4)).validate(),
            Err(ContentRangeError::BeyondTotal)
        );
        assert_eq!(bytes(0, 5, Some(5)).validate(), Ok(()));
        assert_eq!(ContentRange::Query { total: None }.validate(), Ok(()));
    }

    #[test]
    fn total_accessor() {
        assert_eq!(bytes(0, 1, Some(3)).total(), Some(3));
        assert_eq!(bytes(0, 1, None).total(), None);
        assert_eq!(ContentRange::Query { total: Some(0) }.total(), Some(0));
    }

    #[test]
    fn accepts_leading_zeros_and_outer_whitespace() {
        assert_eq!(parse("bytes 00-09/020"), Ok(bytes(0, 10, Some(20))));
        assert_eq!(parse(" \tbytes 0-9/20\t "), Ok(bytes(0, 10, Some(20))));
        assert_eq!(parse("bytes 0-0/*"), Ok(bytes(0, 1, None)));
    }

    #[test]
    fn rejects_bad_forms() {
        let malformed = [
            "",
            " ",
            "bytes",
            "bytes ",
            "bytes  0-9/20",
            "bytes\t0-9/20",
            "Bytes 0-9/20",
            "BYTES 0-9/20",
            "bytes=0-9/20",
            "byte 0-9/20",
            "items 0-9/20",
            "0-9/20",
            "bytes 0-9",
            "bytes 0-9/",
            "bytes 0-9/ 20",
            "bytes 0-9 /20",
            "bytes 0 -9/20",
            "bytes 0- 9/20",
            "bytes 0-/20",
            "bytes -9/20",
            "bytes -/20",
            "bytes /20",
            "bytes 0-9/20/30",
            "bytes 0-9-10/20",
            "bytes 0-9,10-19/20",
            "bytes +0-9/20",
            "bytes 0-+9/20",
            "bytes 0-9/+20",
            "bytes -0-9/20",
            "bytes 0-9/-20",
            "bytes 0x0-9/20",
            "bytes 0-9/0x20",
            "bytes 0.0-9/20",
            "bytes 0-9/2e1",
            "bytes 1 0-9/20",
            "bytes */",
            "bytes *",
            "bytes */ *",
            "bytes **/*",
            "bytes */**",
            "bytes *-9/20",
            "bytes 0-*/20",
            "bytes *-*/*",
            "bytes 0-9/20x",
            "bytes 0-9/20\r\n",
            "bytes ٠-٩/٢٠",
            "bytes ０-９/２０",
        ];
        for text in malformed {
            assert_eq!(parse(text), Err(ContentRangeError::Malformed), "{text:?}");
        }
        assert_eq!(
            ContentRange::parse(b"bytes 0-9/2\xff"),
            Err(ContentRangeError::Malformed)
        );
        assert_eq!(
            ContentRange::parse(b"bytes \x800-9/20"),
            Err(ContentRangeError::Malformed)
        );
        assert_eq!(
            ContentRange::parse(b"bytes 0-9/20\0"),
            Err(ContentRangeError::Malformed)
        );
    }

    #[test]
    fn rejects_overflow() {
        let overflow = [
            "bytes 18446744073709551616-18446744073709551616/*",
            "bytes 0-18446744073709551616/*",
            "bytes 0-9/18446744073709551616",
            "bytes */18446744073709551616",
            "bytes */99999999999999999999999999999999",
            // The last byte is u64::MAX: the exclusive end does not fit.
            "bytes 0-18446744073709551615/*",
            "bytes 18446744073709551615-18446744073709551615/18446744073709551615",
        ];
        for text in overflow {
            assert_eq!(parse(text), Err(ContentRangeError::Overflow), "{text}");
        }
        assert_eq!(
            parse("bytes */18446744073709551615"),
            Ok(ContentRange::Query {
                total: Some(u64::MAX)
            })
        );
        assert_eq!(
            parse("bytes 0-18446744073709551614/*"),
            Ok(bytes(0, u64::MAX, None))
        );
        // Leading zeros do not count towards overflow.
        assert_eq!(
            parse("bytes */000000000000000000000000000000007"),
            Ok(ContentRange::Query { total: Some(7) })
        );
    }

    #[test]
    fn malformed_wins_over_overflow() {
        assert_eq!(
            parse("bytes 99999999999999999999-1/x"),
            Err(ContentRangeError::Malformed)
        );
        assert_eq!(
            parse("bytes 99999999999999999999x-1/2"),
            Err(ContentRangeError::Malformed)
        );
    }

    #[test]
    fn rejects_empty_and_inverted_ranges() {
        assert_eq!(parse("bytes 10-9/20"), Err(ContentRangeError::EmptyRange));
        assert_eq!(parse("bytes 1-0/*"), Err(ContentRangeError::EmptyRange));
        assert_eq!(
            parse("bytes 18446744073709551614-0/*"),
            Err(ContentRangeError::EmptyRange)
        );
        assert_eq!(parse("bytes 5-5/6"), Ok(bytes(5, 6, Some(6))));
    }

    #[test]
    fn rejects_ranges_past_the_total() {
        assert_eq!(parse("bytes 0-9/9"), Err(ContentRangeError::BeyondTotal));
        assert_eq!(parse("bytes 0-0/0"), Err(ContentRangeError::BeyondTotal));
        assert_eq!(parse("bytes 20-29/20"), Err(ContentRangeError::BeyondTotal));
        assert_eq!(parse("bytes 0-9/10"), Ok(bytes(0, 10, Some(10))));
    }

    /// Every prefix of a valid value is refused, except the ones that are
    /// themselves complete values, which parse as such.
    #[test]
    fn every_prefix() {
        let full = "bytes 10-19/200";
        for len in 0..full.len() {
            let prefix = full.get(..len).unwrap();
            let got = parse(prefix);
            match prefix {
                "bytes 10-19/2" => assert_eq!(got, Err(ContentRangeError::BeyondTotal)),
                "bytes 10-19/20" => assert_eq!(got, Ok(bytes(10, 20, Some(20)))),
                _ => assert_eq!(got, Err(ContentRangeError::Malformed), "{prefix:?}"),
            }
        }
        for full in ["bytes */*", "bytes 0-9/*", "bytes */5"] {
            for len in 0..full.len() {
                assert!(
                    parse(full.get(..len).unwrap()).is_err(),
                    "{full:?}[..{len}]"
                );
            }
        }
    }

    /// Every prefix and suffix split of the bytes, as a hostile peer might
    /// truncate them, never panics, and trailing junk is always refused.
    #[test]
    fn every_split_with_junk() {
        let full = b"bytes 0-262143/1048576";
        for at in 0..=full.len() {
            let (head, tail) = full.split_at(at);
            let _ = ContentRange::parse(head);
            let _ = ContentRange::parse(tail);
            let mut junk = head.to_vec();
            junk.push(b'x');
            junk.extend_from_slice(tail);
            assert_eq!(
                ContentRange::parse(&junk),
                Err(ContentRangeError::Malformed)
            );
        }
    }

    fn valid() -> impl Strategy<Value = ContentRange> {
        prop_oneof![
            any::<Option<u64>>().prop_map(|total| ContentRange::Query { total }),
            (any::<u64>(), any::<u64>(), any::<u64>(), any::<bool>()).prop_map(
                |(a, b, c, known)| {
                    let mut v = [a, b, c];
                    v.sort_unstable();
                    let [start, end, total] = v;
                    let end = end.max(start.saturating_add(1)).max(1);
                    let start = start.min(end - 1);
                    let total = total.max(end);
                    ContentRange::Bytes {
                        start,
                        end,
                        total: known.then_some(total),
                    }
                }
            ),
            (0u64..1000, 1u64..1000, 0u64..1000).prop_map(|(start, len, extra)| {
                ContentRange::Bytes {
                    start,
                    end: start + len,
                    total: Some(start + len + extra),
                }
            }),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(value in valid()) {
            prop_assert_eq!(value.validate(), Ok(()));
            let header = value.to_header_value();
            prop_assert_eq!(header.to_str().unwrap(), value.to_string());
            prop_assert_eq!(ContentRange::parse(header.as_bytes()), Ok(value));
        }

        #[test]
        fn never_panics(input in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(value) = ContentRange::parse(&input) {
                prop_assert_eq!(value.validate(), Ok(()));
                prop_assert_eq!(ContentRange::parse(value.to_string().as_bytes()), Ok(value));
            }
        }

        #[test]
        fn never_panics_near_valid(input in "[ \t]?bytes [0-9*+ -]{0,22}/[0-9* ]{0,22}") {
            if let Ok(value) = ContentRange::parse(input.as_bytes()) {
                prop_assert_eq!(ContentRange::parse(value.to_string().as_bytes()), Ok(value));
            }
        }

        #[test]
        fn matches_reference(start in any::<u64>(), last in any::<u64>(), total in any::<u64>()) {
            let text = format!("bytes {start}-{last}/{total}");
            let expected = match last.checked_add(1) {
                None => Err(ContentRangeError::Overflow),
                Some(end) if end <= start => Err(ContentRangeError::EmptyRange),
                Some(end) if end > total => Err(ContentRangeError::BeyondTotal),
                Some(end) => Ok(bytes(start, end, Some(total))),
            };
            prop_assert_eq!(parse(&text), expected);
        }
    }
}
