//! RFC 3339 timestamps, as the application API sends them (`expires_at`):
//! [`parse_rfc3339`] reads one into a [`SystemTime`], [`format_rfc3339`]
//! writes one, and [`TimestampError`] says what was wrong. The grammar and
//! the calendar are [`jiff`]'s.
//!
//! # Accepted text
//!
//! A date and a time of day as [`jiff::fmt::temporal`] reads them, which is
//! RFC 3339 and some more of ISO 8601, with an optional zone:
//!
//! - `YYYY-MM-DD`, a separator `T`, `t` or a space, `hh:mm:ss`, and an
//!   optional fraction: `.` (or `,`) and one to nine digits;
//! - the zone is `Z` or `z`, or an offset `+hh:mm` / `-hh:mm` (RFC 3339),
//!   `+hhmm` / `-hhmm` (ISO 8601 basic form, which `strftime("%z")` writes)
//!   or `+hh` / `-hh`, up to `±25:59:59`; `-00:00` is UTC. **No zone at all**
//!   is accepted too and read as UTC (many servers write naive UTC times);
//! - the other ISO 8601 spellings of that grammar are read as well: the
//!   basic form (`20261129T032400Z`), a time without seconds (`T03:24`) or
//!   without minutes (`T03`), and a signed six-digit year (`+002026`,
//!   `-000001`) up to ±9999.
//!
//! Refused: a date without a time, surrounding whitespace, a tenth fraction
//! digit, an RFC 9557 time zone annotation (`…Z[Europe/Paris]`), week and
//! ordinal dates, and anything else that grammar does not have.
//!
//! Fields are checked as they are read: month `01`-`12`, day within the
//! month (with the Gregorian leap years), hour `00`-`23`, minute `00`-`59`,
//! second `00`-`60`. Second `60` (a leap second, accepted at any minute) is
//! read as second `59` with the same fraction, as jiff reads it: a
//! [`SystemTime`] has no leap seconds, and this keeps the instant inside the
//! minute the text names.
//!
//! Dates before 1970 are fine as long as the platform's [`SystemTime`] can
//! hold them; otherwise [`TimestampError::OutOfRange`].

use std::time::{SystemTime, UNIX_EPOCH};

use jiff::SignedDuration;
use jiff::civil::{self, DateTime};
use jiff::fmt::temporal::Pieces;
use jiff::tz::Offset;

/// Why a timestamp was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The text is not a date-time of the accepted form.
    #[error("malformed timestamp: expected RFC 3339 `YYYY-MM-DDThh:mm:ss[.frac][Z|±hh:mm]`")]
    Malformed,
    /// A field is out of its range: a month past 12, a day not in its month,
    /// an hour past 23, a minute past 59, a second past 60, an offset past
    /// `±25:59:59`.
    #[error("timestamp names a date, time of day or UTC offset that does not exist")]
    InvalidField,
    /// The instant cannot be represented as a `SystemTime` on this platform.
    #[error("timestamp is out of the range this platform can represent")]
    OutOfRange,
}

/// 1970-01-01T00:00:00, the Unix epoch as a civil time in UTC.
const EPOCH: DateTime = civil::date(1970, 1, 1).at(0, 0, 0, 0);

/// Seconds in 400 Gregorian years, after which the calendar repeats itself.
const CYCLE_SECS: i128 = 146_097 * 86_400;

/// Reads an RFC 3339 timestamp; see the [module documentation](self) for the
/// accepted forms.
pub fn parse_rfc3339(s: &str) -> Result<SystemTime, TimestampError> {
    let pieces = Pieces::parse(s).map_err(|e| {
        if e.is_range() {
            TimestampError::InvalidField
        } else {
            TimestampError::Malformed
        }
    })?;
    let (Some(time), None) = (pieces.time(), pieces.time_zone_annotation()) else {
        return Err(TimestampError::Malformed);
    };
    let offset = pieces.to_numeric_offset().unwrap_or(Offset::UTC);
    let since_epoch = pieces
        .date()
        .to_datetime(time)
        .duration_since(EPOCH)
        .checked_sub(SignedDuration::from_secs(offset.seconds().into()))
        .ok_or(TimestampError::OutOfRange)?;
    let magnitude = since_epoch.unsigned_abs();
    if since_epoch.is_negative() {
        UNIX_EPOCH.checked_sub(magnitude)
    } else {
        UNIX_EPOCH.checked_add(magnitude)
    }
    .ok_or(TimestampError::OutOfRange)
}

/// Writes `t` as RFC 3339 in UTC: `YYYY-MM-DDThh:mm:ssZ`, with a fraction
/// of up to nine digits (trailing zeros dropped) only when the time has
/// sub-second part, as in `2026-11-29T03:24:00.5Z`.
///
/// [`parse_rfc3339`] reads back exactly the same instant for years `0000` to
/// `9999`. Other years, which RFC 3339 cannot express, are written in the
/// ISO 8601 expanded form (`+10000-01-01T00:00:00Z`, `-0001-…`), which the
/// parser refuses.
#[must_use]
pub fn format_rfc3339(t: SystemTime) -> String {
    // Seconds (i128 holds any `SystemTime`'s) and nanoseconds since the
    // epoch, both with the sign of `t - UNIX_EPOCH`.
    let (secs, nanos) = match t.duration_since(UNIX_EPOCH) {
        Ok(after) => (i128::from(after.as_secs()), after.subsec_nanos() as i32),
        Err(before) => {
            let before = before.duration();
            (
                -i128::from(before.as_secs()),
                -(before.subsec_nanos() as i32),
            )
        }
    };
    // jiff's calendar spans the years -9999 to 9999, a `SystemTime` may go
    // further: move the instant by whole 400-year cycles to within 400 years
    // after 1970 (or a second before), where the calendar reads the same,
    // and give the cycles back to the year.
    let cycles = secs.div_euclid(CYCLE_SECS);
    let within = SignedDuration::new(secs.rem_euclid(CYCLE_SECS) as i64, nanos);
    let shifted = EPOCH.checked_add(within).unwrap_or(EPOCH); // never fails
    let year = i128::from(shifted.year()) + 400 * cycles;
    // jiff writes `shifted` with its four-digit year: keep what follows.
    let text = shifted.to_string();
    let rest = text.get(4..).unwrap_or_default();
    if (0..=9999).contains(&year) {
        format!("{year:04}{rest}Z")
    } else {
        format!("{year:+05}{rest}Z")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    const NANOS_PER_SEC: u32 = 1_000_000_000;
    /// Seconds from the epoch to 0000-01-01T00:00:00Z.
    const YEAR_0: i64 = -62_167_219_200;
    /// Seconds from the epoch to 9999-12-31T23:59:59Z.
    const YEAR_9999_END: i64 = 253_402_300_799;

    fn at(secs: i64, nanos: u32) -> SystemTime {
        let whole = Duration::from_secs(secs.unsigned_abs());
        let base = if secs >= 0 {
            UNIX_EPOCH + whole
        } else {
            UNIX_EPOCH - whole
        };
        base + Duration::from_nanos(u64::from(nanos))
    }

    fn ok(s: &str) -> SystemTime {
        parse_rfc3339(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn known_instants() {
        let cases = [
            ("2026-11-29T03:24:00Z", 1_795_922_640, 0),
            ("1970-01-01T00:00:00Z", 0, 0),
            ("2000-02-29T12:00:00Z", 951_825_600, 0),
            ("2024-02-29T23:59:59Z", 1_709_251_199, 0),
            ("1969-12-31T23:59:59Z", -1, 0),
            ("1900-03-01T00:00:00Z", -2_203_891_200, 0),
            ("0001-01-01T00:00:00Z", -62_135_596_800, 0),
            ("0000-01-01T00:00:00Z", YEAR_0, 0),
            ("0000-02-29T00:00:00Z", YEAR_0 + 59 * 86_400, 0),
            ("9999-12-31T23:59:59Z", YEAR_9999_END, 0),
            ("1969-12-31T23:59:59.5Z", -1, 500_000_000),
            ("2370-01-01T00:00:00Z", 12_622_780_800, 0),
            ("2369-12-31T23:59:59.25Z", 12_622_780_799, 250_000_000),
        ];
        for (text, secs, nanos) in cases {
            assert_eq!(ok(text), at(secs, nanos), "{text}");
            assert_eq!(format_rfc3339(at(secs, nanos)), text);
        }
    }

    #[test]
    fn accepted_variants() {
        let base = at(1_795_922_640, 0);
        for text in [
            "2026-11-29T03:24:00Z",
            "2026-11-29t03:24:00z",
            "2026-11-29 03:24:00Z",
            "2026-11-29T03:24:00",
            "2026-11-29 03:24:00",
            "2026-11-29T03:24:00+00:00",
            "2026-11-29T03:24:00-00:00",
            "2026-11-29T03:24:00+0000",
            "2026-11-29T04:24:00+01:00",
            "2026-11-29T04:24:00+0100",
            "2026-11-28T21:54:00-05:30",
            "2026-11-28T21:54:00-0530",
            "2026-11-30T03:23:00+23:59",
            "2026-11-28T03:25:00-23:59",
            "2026-11-29T03:24:00.0Z",
            "2026-11-29T03:24:00.000000000Z",
        ] {
            assert_eq!(ok(text), base, "{text}");
        }
    }

    /// What jiff's grammar reads beyond RFC 3339.
    #[test]
    fn iso_8601_extras() {
        let base = at(1_795_922_640, 0);
        for text in [
            "2026-11-29T03:24Z",
            "2026-11-29T03:24",
            "2026-11-29T04:24+01",
            "20261129T032400Z",
            "20261129T0324Z",
            "2026-11-29T032400Z",
            "+002026-11-29T03:24:00Z",
            "2026-11-29T04:24:00+01",
            "2026-11-29T04:24:30+01:00:30",
            "2026-11-30T03:24:00+24:00",
            "2026-11-30T05:23:00+25:59",
            "2026-11-29T03:24:00+00:00[u-ca=iso8601]",
        ] {
            assert_eq!(ok(text), base, "{text}");
        }
        assert_eq!(ok("2026-11-29T03:24:00,5Z"), at(1_795_922_640, 500_000_000));
        assert_eq!(ok("-000001-12-31T23:59:59Z"), at(YEAR_0 - 1, 0));
        assert_eq!(ok("2026-11-29T03Z"), at(1_795_921_200, 0));
        assert_eq!(ok("2026-11-29 04+01"), at(1_795_921_200, 0));
    }

    #[test]
    fn fractions() {
        let base = 1_795_922_640;
        assert_eq!(ok("2026-11-29T03:24:00.5Z"), at(base, 500_000_000));
        assert_eq!(ok("2026-11-29T03:24:00.05Z"), at(base, 50_000_000));
        assert_eq!(ok("2026-11-29T03:24:00.123456Z"), at(base, 123_456_000));
        assert_eq!(ok("2026-11-29T03:24:00.123456789Z"), at(base, 123_456_789));
        assert_eq!(ok("2026-11-29T03:24:00.999999999"), at(base, 999_999_999));
        assert_eq!(ok("2026-11-29T03:24:00.000000001+00:00"), at(base, 1));
        // jiff reads nine digits at most.
        for text in [
            "2026-11-29T03:24:00.123456789123Z",
            "2026-11-29T03:24:00.999999999999",
            "2026-11-29T03:24:00.000000000999Z",
            "2026-11-29T03:24:00.000000000000000000000Z",
            &format!("2026-11-29T03:24:00.{}Z", "1".repeat(10_000)),
        ] {
            assert_eq!(
                parse_rfc3339(text),
                Err(TimestampError::Malformed),
                "{text}"
            );
        }
    }

    #[test]
    fn leap_second_is_second_59() {
        let second_59 = 1_483_228_799; // 2016-12-31T23:59:59Z
        assert_eq!(ok("2016-12-31T23:59:60Z"), at(second_59, 0));
        assert_eq!(ok("2016-12-31T23:59:60.5Z"), at(second_59, 500_000_000));
        assert_eq!(ok("2017-01-01T00:59:60+01:00"), at(second_59, 0));
        assert_eq!(ok("2026-11-29T03:24:60Z"), at(1_795_922_699, 0));
        assert!(ok("2016-12-31T23:59:60.999999999Z") < ok("2017-01-01T00:00:00Z"));
    }

    #[test]
    fn offsets_cross_days_years_and_the_epoch() {
        assert_eq!(ok("1970-01-01T00:00:00+00:01"), at(-60, 0));
        assert_eq!(ok("1969-12-31T19:00:00-05:00"), at(0, 0));
        assert_eq!(ok("2026-01-01T00:30:00+01:00"), ok("2025-12-31T23:30:00Z"));
        assert_eq!(ok("0000-01-01T00:00:00+23:59"), at(YEAR_0 - 86_340, 0));
        assert_eq!(
            ok("9999-12-31T23:59:59-23:59"),
            at(YEAR_9999_END + 86_340, 0)
        );
    }

    #[test]
    fn formats() {
        assert_eq!(format_rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339(at(1_795_922_640, 500_000_000)),
            "2026-11-29T03:24:00.5Z"
        );
        assert_eq!(
            format_rfc3339(at(1_795_922_640, 1)),
            "2026-11-29T03:24:00.000000001Z"
        );
        assert_eq!(
            format_rfc3339(at(1_795_922_640, 123_456_780)),
            "2026-11-29T03:24:00.12345678Z"
        );
        assert_eq!(
            format_rfc3339(at(-1, 999_999_999)),
            "1969-12-31T23:59:59.999999999Z"
        );
        assert_eq!(
            format_rfc3339(UNIX_EPOCH - Duration::from_nanos(1)),
            "1969-12-31T23:59:59.999999999Z"
        );
        assert_eq!(
            format_rfc3339(at(YEAR_9999_END + 1, 0)),
            "+10000-01-01T00:00:00Z"
        );
        assert_eq!(format_rfc3339(at(YEAR_0 - 1, 0)), "-0001-12-31T23:59:59Z");
        assert_eq!(
            format_rfc3339(at(YEAR_0 - 1, 500_000_000)),
            "-0001-12-31T23:59:59.5Z"
        );
        assert_eq!(
            parse_rfc3339("+10000-01-01T00:00:00Z"),
            Err(TimestampError::Malformed)
        );
        assert_eq!(
            parse_rfc3339("-0001-12-31T23:59:59Z"),
            Err(TimestampError::Malformed)
        );
    }

    #[test]
    fn formats_the_extremes_without_panicking() {
        let far = [
            UNIX_EPOCH.checked_add(Duration::from_secs(u64::MAX >> 1)),
            UNIX_EPOCH.checked_add(Duration::new(u64::MAX >> 1, 999_999_999)),
            UNIX_EPOCH.checked_sub(Duration::from_secs(u64::MAX >> 1)),
            UNIX_EPOCH.checked_sub(Duration::from_secs(1 << 62)),
            UNIX_EPOCH.checked_sub(Duration::new(1 << 40, 1)),
            UNIX_EPOCH.checked_sub(Duration::from_secs(1 << 63)),
        ];
        for t in far.into_iter().flatten() {
            let text = format_rfc3339(t);
            assert!(text.ends_with('Z'), "{text}");
            assert!(parse_rfc3339(&text).is_err(), "{text}");
        }
        // The Unix epoch ± whole 400-year cycles reads 1970-01-01 again.
        assert_eq!(
            format_rfc3339(at(-1000 * 12_622_780_800, 0)),
            "-398030-01-01T00:00:00Z"
        );
        assert_eq!(
            format_rfc3339(at(1000 * 12_622_780_800 + 1, 0)),
            "+401970-01-01T00:00:01Z"
        );
    }

    #[test]
    fn malformed() {
        let bad = [
            "",
            " 2026-11-29T03:24:00Z",
            "2026-11-29T03:24:00Z ",
            "2026-11-29T03:24:00Z\n",
            "2026-11-29",
            "2026-11-29T",
            "2026-11-29T03:24:0Z",
            "2026-11-29T03:24:00.Z",
            "2026-11-29T03:24:00.",
            "2026-11-29T03:24:00.5.5Z",
            "2026-11-29T03:24:00.-5Z",
            "2026-11-29T03:24:00ZZ",
            "2026-11-29T03:24:00Z+00:00",
            "2026-11-29T03:24:00+1:00",
            "2026-11-29T03:24:00+01:0",
            "2026-11-29T03:24:00+010",
            "2026-11-29T03:24:00+01:000",
            "2026-11-29T03:24:00+01::00",
            "2026-11-29T03:24:00 +01:00",
            "2026-11-29T03:24:00UTC",
            "2026-11-29T03:24:00 Z",
            "2026-11-29T03:24:00GMT",
            "2026-11-29T03:24:00±01:00",
            "2026-11-29T03:24:00−01:00",
            "2026-11-29T03:24:00Z[UTC]",
            "2026-11-29T03:24:00[Europe/Paris]",
            "2026-11-29T03:24:00+01:00[Europe/Paris]",
            "2026-11-29_03:24:00Z",
            "2026-11-29TT03:24:00Z",
            "2026-11-29  03:24:00Z",
            "2026-11-29\t03:24:00Z",
            "2026-1-29T03:24:00Z",
            "2026-11-9T03:24:00Z",
            "2026-11-29T3:24:00Z",
            "26-11-29T03:24:00Z",
            "02026-11-29T03:24:00Z",
            "+2026-11-29T03:24:00Z",
            "-2026-11-29T03:24:00Z",
            "-000000-01-01T00:00:00Z",
            "2026/11/29T03:24:00Z",
            "2026-11-29T03.24.00Z",
            "2026-W48-7T03:24:00Z",
            "2026-11-29T+3:24:00Z",
            "2026-11-29T03:24:+0Z",
            "2026-1١-29T03:24:00Z",
            "２026-11-29T03:24:00Z",
            "2026-11-29T03:24:00.５Z",
            "2026-11-29T03:24:00\0",
            "Sun, 29 Nov 2026 03:24:00 GMT",
            "now",
        ];
        for text in bad {
            assert_eq!(
                parse_rfc3339(text),
                Err(TimestampError::Malformed),
                "{text:?}"
            );
        }
        // Read as a basic-form date with month 33 or 79: refused all the same.
        for text in ["2026-333T03:24:00Z", "1795922640"] {
            assert_eq!(
                parse_rfc3339(text),
                Err(TimestampError::InvalidField),
                "{text:?}"
            );
        }
    }

    #[test]
    fn impossible_fields() {
        for text in [
            "2026-00-01T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-99-01T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "2026-01-32T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-06-31T00:00:00Z",
            "2026-09-31T00:00:00Z",
            "2026-11-31T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-13-01T24:00:00Z",
            "2026-11-29T24:00:00Z",
            "2026-11-29T99:00:00Z",
            "2026-11-29T23:60:00Z",
            "2026-11-29T23:59:61Z",
            "2026-11-29T23:59:99Z",
            "2026-11-29T23:59:61+25:00",
            "2026-11-29T03:24:00+26:00",
            "2026-11-29T03:24:00-00:60",
            "2026-11-29T03:24:00+9999",
            // Fields are checked as they are read, before the rest.
            "2026-13-01T24:00:00 ",
        ] {
            assert_eq!(
                parse_rfc3339(text),
                Err(TimestampError::InvalidField),
                "{text}"
            );
        }
        for text in [
            "2000-02-29T00:00:00Z",
            "2024-02-29T00:00:00Z",
            "0000-02-29T00:00:00Z",
            "2026-12-31T00:00:00Z",
        ] {
            assert!(parse_rfc3339(text).is_ok(), "{text}");
        }
    }

    /// Every proper prefix is refused, except the ones that are complete
    /// timestamps themselves (no zone, a shorter time or fraction, an
    /// hours-only offset).
    #[test]
    fn every_prefix() {
        let full = "2026-11-29T03:24:00.123+01:00";
        let base = 1_795_922_640;
        let mut accepted = Vec::new();
        for len in 0..full.len() {
            let prefix = full.get(..len).unwrap();
            match parse_rfc3339(prefix) {
                Ok(t) => accepted.push((len, t)),
                Err(e) => assert_eq!(e, TimestampError::Malformed, "{prefix:?}"),
            }
        }
        let expected = [
            (13, at(base - 24 * 60, 0)),
            (16, at(base, 0)),
            (19, at(base, 0)),
            (21, at(base, 100_000_000)),
            (22, at(base, 120_000_000)),
            (23, at(base, 123_000_000)),
            (26, at(base - 3600, 123_000_000)),
        ];
        assert_eq!(accepted, expected);
        assert_eq!(ok(full), at(base - 3600, 123_000_000));
    }

    /// The first and the last day of every month of years 0000 to 9999, and
    /// every day of one whole 400-year cycle, read as whole days from the
    /// epoch and written back as the same text.
    #[test]
    fn calendar() {
        let day = |date: civil::Date| {
            let days = date.duration_since(civil::date(1970, 1, 1)).as_secs() / 86_400;
            at(days * 86_400, 0)
        };
        let mut dates = Vec::new();
        for year in 0..=9999 {
            for month in 1..=12 {
                let first = civil::date(year, month, 1);
                dates.extend([first, first.last_of_month()]);
            }
        }
        let mut date = civil::date(2000, 1, 1);
        while date.year() < 2400 {
            dates.push(date);
            date = date.tomorrow().unwrap();
        }
        for date in dates {
            let text = format!("{date}T00:00:00Z");
            assert_eq!(ok(&text), day(date), "{text}");
            assert_eq!(format_rfc3339(day(date)), text);
        }
        assert_eq!(day(civil::date(0, 1, 1)), at(YEAR_0, 0));
        assert_eq!(
            day(civil::date(9999, 12, 31)),
            at(YEAR_9999_END - 86_399, 0)
        );
    }

    fn representable() -> impl Strategy<Value = SystemTime> {
        (YEAR_0..=YEAR_9999_END, 0u32..NANOS_PER_SEC).prop_map(|(secs, nanos)| at(secs, nanos))
    }

    proptest! {
        #[test]
        fn round_trip(t in representable()) {
            let text = format_rfc3339(t);
            prop_assert_eq!(parse_rfc3339(&text), Ok(t));
        }

        #[test]
        fn round_trip_whole_seconds(secs in YEAR_0..=YEAR_9999_END) {
            let text = format_rfc3339(at(secs, 0));
            prop_assert_eq!(text.len(), 20);
            prop_assert_eq!(parse_rfc3339(&text), Ok(at(secs, 0)));
        }

        /// The 400-year shift writes what jiff writes for the instant itself.
        #[test]
        fn agrees_with_jiff(t in representable()) {
            if let Ok(ts) = jiff::Timestamp::try_from(t) {
                prop_assert_eq!(format_rfc3339(t), ts.to_string());
            }
        }

        #[test]
        fn agrees_with_httpdate(secs in 0u64..=253_402_300_799) {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            // `Sun, 06 Nov 1994 08:49:37 GMT`, rearranged as RFC 3339.
            let imf = httpdate::fmt_http_date(t);
            let parts: Vec<&str> = imf.split([' ', ',']).filter(|p| !p.is_empty()).collect();
            let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
            let month = months.iter().position(|m| *m == parts[2]).unwrap() + 1;
            let expected = format!("{}-{month:02}-{}T{}Z", parts[3], parts[1], parts[4]);
            prop_assert_eq!(format_rfc3339(t), expected.clone());
            prop_assert_eq!(parse_rfc3339(&expected), Ok(t));
        }

        #[test]
        fn offsets_shift_the_instant(
            t in (YEAR_0 + 86_400..=YEAR_9999_END - 86_400).prop_map(|s| at(s, 0)),
            east in any::<bool>(),
            hours in 0u32..24,
            minutes in 0u32..60,
            colon in any::<bool>(),
        ) {
            let shift = Duration::from_secs(u64::from(hours * 3600 + minutes * 60));
            let local = if east { t + shift } else { t - shift };
            let naive = format_rfc3339(local);
            let naive = naive.trim_end_matches('Z');
            let sign = if east { '+' } else { '-' };
            let sep = if colon { ":" } else { "" };
            let text = format!("{naive}{sign}{hours:02}{sep}{minutes:02}");
            prop_assert_eq!(parse_rfc3339(&text), Ok(t));
        }

        #[test]
        fn never_panics(input in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(text) = std::str::from_utf8(&input) {
                let _ = parse_rfc3339(text);
            }
        }

        #[test]
        fn never_panics_near_valid(input in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt _][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,12})?([Zz]|[+-][0-9]{2}:?[0-9]{2})?") {
            if let Ok(t) = parse_rfc3339(&input) {
                let again = format_rfc3339(t);
                prop_assert_eq!(parse_rfc3339(&again), Ok(t));
            }
        }

        #[test]
        fn formats_any_time_without_panicking(secs in any::<i64>(), nanos in 0u32..NANOS_PER_SEC) {
            let whole = Duration::from_secs(secs.unsigned_abs());
            let t = if secs >= 0 { UNIX_EPOCH.checked_add(whole) } else { UNIX_EPOCH.checked_sub(whole) };
            if let Some(t) = t.and_then(|t| t.checked_add(Duration::from_nanos(u64::from(nanos)))) {
                let text = format_rfc3339(t);
                prop_assert!(text.ends_with('Z'));
            }
        }
    }
}
