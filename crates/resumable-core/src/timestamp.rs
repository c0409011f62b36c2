//! RFC 3339 timestamps, as the application API sends them (`expires_at`):
//! [`parse_rfc3339`] reads one into a [`SystemTime`], [`format_rfc3339`]
//! writes one, and [`TimestampError`] says what was wrong.
//!
//! # Accepted text
//!
//! `YYYY-MM-DD`, a separator, `hh:mm:ss`, an optional fraction, an optional
//! zone:
//!
//! - the year is exactly four digits (`0000` to `9999`), every other field
//!   exactly two;
//! - the separator is `T`, `t` or a space;
//! - the fraction is `.` and one or more digits; the first nine are kept
//!   (nanoseconds), later ones are ignored (truncated, not rounded);
//! - the zone is `Z` or `z`, or an offset `+hh:mm` / `-hh:mm` (RFC 3339),
//!   or `+hhmm` / `-hhmm` (ISO 8601 basic form, which `strftime("%z")`
//!   writes; accepted because it is unambiguous), offsets up to `±23:59`.
//!   `-00:00` is UTC. **No zone at all** is accepted too and read as UTC
//!   (many servers write naive UTC times).
//!
//! Nothing else is accepted: no surrounding whitespace, no `±hh` offset, no
//! `,` as decimal mark, no week or ordinal dates.
//!
//! Fields are checked: month `01`-`12`, day within the month (with the
//! Gregorian leap years), hour `00`-`23`, minute `00`-`59`, second `00`-`60`.
//! Second `60` (a leap second, accepted at any minute) is read as the last
//! nanosecond before the next minute, `hh:mm:59.999999999`, whatever its
//! fraction: a [`SystemTime`] has no leap seconds, and this keeps the
//! instant inside the minute the text names.
//!
//! Dates before 1970 are fine as long as the platform's [`SystemTime`] can
//! hold them; otherwise [`TimestampError::OutOfRange`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why a timestamp was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The text is not an RFC 3339 date-time of the accepted form.
    #[error("malformed timestamp: expected RFC 3339 `YYYY-MM-DDThh:mm:ss[.frac][Z|±hh:mm]`")]
    Malformed,
    /// The month is not 1-12, or the day is not in the month.
    #[error("timestamp names a date that does not exist")]
    InvalidDate,
    /// The hour is past 23, the minute past 59 or the second past 60.
    #[error("timestamp names a time of day that does not exist")]
    InvalidTime,
    /// The offset's hours are past 23 or its minutes past 59.
    #[error("timestamp has an impossible UTC offset")]
    InvalidOffset,
    /// The instant cannot be represented as a `SystemTime` on this platform.
    #[error("timestamp is out of the range this platform can represent")]
    OutOfRange,
}

const SECS_PER_DAY: i64 = 86_400;
const NANOS_PER_SEC: u32 = 1_000_000_000;

/// Reads an RFC 3339 timestamp; see the [module documentation](self) for the
/// accepted forms.
///
/// Syntax is checked before values, so text that is malformed anywhere
/// gives [`TimestampError::Malformed`] even if a field is also out of range.
pub fn parse_rfc3339(s: &str) -> Result<SystemTime, TimestampError> {
    let fields = Fields::lex(s.as_bytes()).ok_or(TimestampError::Malformed)?;
    let (secs, nanos) = fields.to_unix()?;
    to_system_time(secs, nanos).ok_or(TimestampError::OutOfRange)
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
    // i128 holds any `SystemTime` offset in seconds (at most u64::MAX either
    // way) with room to spare, so no arithmetic below can overflow.
    let (secs, nanos) = match t.duration_since(UNIX_EPOCH) {
        Ok(after) => (i128::from(after.as_secs()), after.subsec_nanos()),
        Err(before) => {
            let before = before.duration();
            let secs = -i128::from(before.as_secs());
            match before.subsec_nanos() {
                0 => (secs, 0),
                n => (secs - 1, NANOS_PER_SEC - n),
            }
        }
    };
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (of_day / 3600, of_day % 3600 / 60, of_day % 60);
    let mut out = if (0..=9999).contains(&year) {
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}")
    } else {
        format!("{year:+05}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}")
    };
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// The fields of a timestamp, lexed but not yet checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fields {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    /// East of UTC is positive: `sign * (hours, minutes)`.
    offset: Option<(bool, u32, u32)>,
}

impl Fields {
    /// Splits the text into fields, or `None` when its shape is wrong.
    fn lex(text: &[u8]) -> Option<Fields> {
        let mut c = Cursor(text);
        let year = c.digits(4)?;
        c.expect(b'-')?;
        let month = c.digits(2)?;
        c.expect(b'-')?;
        let day = c.digits(2)?;
        match c.next()? {
            b'T' | b't' | b' ' => {}
            _ => return None,
        }
        let hour = c.digits(2)?;
        c.expect(b':')?;
        let minute = c.digits(2)?;
        c.expect(b':')?;
        let second = c.digits(2)?;
        let nanos = if c.peek() == Some(b'.') {
            c.next()?;
            c.fraction()?
        } else {
            0
        };
        let offset = match c.next() {
            None => None,
            Some(b'Z' | b'z') => Some((true, 0, 0)),
            Some(sign @ (b'+' | b'-')) => {
                let hours = c.digits(2)?;
                if c.peek() == Some(b':') {
                    c.next()?;
                }
                let minutes = c.digits(2)?;
                Some((sign == b'+', hours, minutes))
            }
            Some(_) => return None,
        };
        if c.peek().is_some() {
            return None;
        }
        Some(Fields {
            year,
            month,
            day,
            hour,
            minute,
            second,
            nanos,
            offset,
        })
    }

    /// Checks the fields and returns seconds and nanoseconds since the Unix
    /// epoch (the seconds may be negative; the nanoseconds count forward).
    fn to_unix(self) -> Result<(i64, u32), TimestampError> {
        let Fields {
            year,
            month,
            day,
            hour,
            minute,
            second,
            nanos,
            offset,
        } = self;
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(TimestampError::InvalidDate);
        }
        if hour > 23 || minute > 59 || second > 60 {
            return Err(TimestampError::InvalidTime);
        }
        let (second, nanos) = if second == 60 {
            (59, NANOS_PER_SEC.saturating_sub(1))
        } else {
            (second, nanos)
        };
        let overflow = TimestampError::OutOfRange;
        let offset_secs = match offset {
            None => 0,
            Some((_, hours, minutes)) if hours > 23 || minutes > 59 => {
                return Err(TimestampError::InvalidOffset);
            }
            Some((true, hours, minutes)) => clock_secs(hours, minutes, 0).ok_or(overflow)?,
            Some((false, hours, minutes)) => clock_secs(hours, minutes, 0)
                .and_then(i64::checked_neg)
                .ok_or(overflow)?,
        };
        let days =
            days_from_civil(i64::from(year), i64::from(month), i64::from(day)).ok_or(overflow)?;
        let secs = days
            .checked_mul(SECS_PER_DAY)
            .and_then(|s| s.checked_add(clock_secs(hour, minute, second)?))
            .and_then(|s| s.checked_sub(offset_secs))
            .ok_or(overflow)?;
        Ok((secs, nanos))
    }
}

/// `hours:minutes:seconds` in seconds, or `None` on overflow.
fn clock_secs(hours: u32, minutes: u32, seconds: u32) -> Option<i64> {
    i64::from(hours)
        .checked_mul(3600)?
        .checked_add(i64::from(minutes).checked_mul(60)?)?
        .checked_add(i64::from(seconds))
}

/// A reader over the bytes of a timestamp.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.0.first().copied()
    }

    fn next(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    fn expect(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    /// Exactly `n` (at most 9) ASCII digits, as a number.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let (digits, rest) = self.0.split_at_checked(n)?;
        let value = digits.iter().try_fold(0u32, |v, &b| {
            b.is_ascii_digit().then(|| {
                v.checked_mul(10)?
                    .checked_add(u32::from(b.checked_sub(b'0')?))
            })?
        })?;
        self.0 = rest;
        Some(value)
    }

    /// One or more digits of a fraction of a second, as nanoseconds: the
    /// first nine count, the rest are checked and dropped.
    fn fraction(&mut self) -> Option<u32> {
        let len = self.0.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        let (digits, rest) = self.0.split_at_checked(len)?;
        self.0 = rest;
        let mut nanos = 0u32;
        let mut scale = NANOS_PER_SEC;
        for &b in digits.iter().take(9) {
            scale /= 10;
            nanos = nanos.checked_add(u32::from(b.checked_sub(b'0')?).checked_mul(scale)?)?;
        }
        Some(nanos)
    }
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard
/// Hinnant's `days_from_civil`), or `None` on overflow.
fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    let year = if month <= 2 {
        year.checked_sub(1)?
    } else {
        year
    };
    let era = year.checked_div_euclid(400)?;
    let year_of_era = year.checked_rem_euclid(400)?; // [0, 399]
    let shifted_month = if month > 2 {
        month.checked_sub(3)?
    } else {
        month.checked_add(9)?
    }; // March = 0
    let day_of_year = shifted_month
        .checked_mul(153)?
        .checked_add(2)?
        .checked_div(5)?
        .checked_add(day)?
        .checked_sub(1)?; // [0, 365]
    let day_of_era = year_of_era
        .checked_mul(365)?
        .checked_add(year_of_era / 4)?
        .checked_sub(year_of_era / 100)?
        .checked_add(day_of_year)?; // [0, 146096]
    era.checked_mul(146_097)?
        .checked_add(day_of_era)?
        .checked_sub(719_468)
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`), as (year, month, day). `days` comes from a
/// `SystemTime`, so it is far inside `i128` and nothing can overflow.
fn civil_from_days(days: i128) -> (i128, i128, i128) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // [0, 399]
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // [0, 365]
    let shifted_month = (5 * day_of_year + 2) / 153; // [0, 11], March = 0
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1; // [1, 31]
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    }; // [1, 12]
    let year = year_of_era + era * 400 + i128::from(month <= 2);
    (year, month, day)
}

/// `UNIX_EPOCH + secs + nanos`, or `None` if the platform cannot hold it.
fn to_system_time(secs: i64, nanos: u32) -> Option<SystemTime> {
    let whole = Duration::from_secs(secs.unsigned_abs());
    let base = if secs >= 0 {
        UNIX_EPOCH.checked_add(whole)?
    } else {
        UNIX_EPOCH.checked_sub(whole)?
    };
    base.checked_add(Duration::from_nanos(u64::from(nanos)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Seconds from the epoch to 0000-01-01T00:00:00Z.
    const YEAR_0: i64 = -62_167_219_200;
    /// Seconds from the epoch to 9999-12-31T23:59:59Z.
    const YEAR_9999_END: i64 = 253_402_300_799;

    fn at(secs: i64, nanos: u32) -> SystemTime {
        to_system_time(secs, nanos).unwrap()
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
            "2026-11-29T03:24:00.000000000000000000000Z",
        ] {
            assert_eq!(ok(text), base, "{text}");
        }
    }

    #[test]
    fn fractions() {
        let base = 1_795_922_640;
        assert_eq!(ok("2026-11-29T03:24:00.5Z"), at(base, 500_000_000));
        assert_eq!(ok("2026-11-29T03:24:00.05Z"), at(base, 50_000_000));
        assert_eq!(ok("2026-11-29T03:24:00.123456Z"), at(base, 123_456_000));
        assert_eq!(ok("2026-11-29T03:24:00.123456789Z"), at(base, 123_456_789));
        assert_eq!(
            ok("2026-11-29T03:24:00.123456789123Z"),
            at(base, 123_456_789)
        );
        assert_eq!(
            ok("2026-11-29T03:24:00.999999999999"),
            at(base, 999_999_999)
        );
        assert_eq!(ok("2026-11-29T03:24:00.000000001+00:00"), at(base, 1));
        assert_eq!(ok("2026-11-29T03:24:00.000000000999Z"), at(base, 0));
        assert_eq!(
            ok(&format!("2026-11-29T03:24:00.{}Z", "1".repeat(10_000))),
            at(base, 111_111_111)
        );
    }

    #[test]
    fn leap_second_is_the_end_of_second_59() {
        let end = at(1_483_228_799, 999_999_999); // 2016-12-31T23:59:59.999999999Z
        assert_eq!(ok("2016-12-31T23:59:60Z"), end);
        assert_eq!(ok("2016-12-31T23:59:60.5Z"), end);
        assert_eq!(ok("2017-01-01T00:59:60+01:00"), end);
        assert!(ok("2016-12-31T23:59:60Z") < ok("2017-01-01T00:00:00Z"));
        assert!(ok("2016-12-31T23:59:60Z") > ok("2016-12-31T23:59:59.99Z"));
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
            parse_rfc3339("+10000-01-01T00:00:00Z"),
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
        ];
        for t in far.into_iter().flatten() {
            let text = format_rfc3339(t);
            assert!(text.ends_with('Z'), "{text}");
            assert!(parse_rfc3339(&text).is_err(), "{text}");
        }
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
            "2026-11-29T03:24",
            "2026-11-29T03:24Z",
            "2026-11-29T03:24:0Z",
            "2026-11-29T03:24:00.Z",
            "2026-11-29T03:24:00.",
            "2026-11-29T03:24:00,5Z",
            "2026-11-29T03:24:00.5.5Z",
            "2026-11-29T03:24:00.-5Z",
            "2026-11-29T03:24:00ZZ",
            "2026-11-29T03:24:00Z+00:00",
            "2026-11-29T03:24:00+01",
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
            "2026-11-29_03:24:00Z",
            "2026-11-29TT03:24:00Z",
            "2026-11-29  03:24:00Z",
            "2026-11-29\t03:24:00Z",
            "20261129T032400Z",
            "2026-11-29T032400Z",
            "2026-1-29T03:24:00Z",
            "2026-11-9T03:24:00Z",
            "2026-11-29T3:24:00Z",
            "26-11-29T03:24:00Z",
            "02026-11-29T03:24:00Z",
            "+2026-11-29T03:24:00Z",
            "-2026-11-29T03:24:00Z",
            "2026/11/29T03:24:00Z",
            "2026-11-29T03.24.00Z",
            "2026-W48-7T03:24:00Z",
            "2026-333T03:24:00Z",
            "2026-11-29T+3:24:00Z",
            "2026-11-29T03:24:+0Z",
            "2026-1١-29T03:24:00Z",
            "２026-11-29T03:24:00Z",
            "2026-11-29T03:24:00.５Z",
            "2026-11-29T03:24:00\0",
            "1795922640",
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
        ] {
            assert_eq!(
                parse_rfc3339(text),
                Err(TimestampError::InvalidDate),
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
        for text in [
            "2026-11-29T24:00:00Z",
            "2026-11-29T99:00:00Z",
            "2026-11-29T23:60:00Z",
            "2026-11-29T23:59:61Z",
            "2026-11-29T23:59:99Z",
            "2026-11-29T23:59:61+25:00",
        ] {
            assert_eq!(
                parse_rfc3339(text),
                Err(TimestampError::InvalidTime),
                "{text}"
            );
        }
        for text in [
            "2026-11-29T03:24:00+24:00",
            "2026-11-29T03:24:00-00:60",
            "2026-11-29T03:24:00+9999",
        ] {
            assert_eq!(
                parse_rfc3339(text),
                Err(TimestampError::InvalidOffset),
                "{text}"
            );
        }
        // Shape is checked before values.
        assert_eq!(
            parse_rfc3339("2026-13-01T24:00:00 "),
            Err(TimestampError::Malformed)
        );
    }

    /// Every proper prefix is refused, except the ones that are complete
    /// timestamps themselves (no zone, or a shorter fraction).
    #[test]
    fn every_prefix() {
        let full = "2026-11-29T03:24:00.123+01:00";
        let mut accepted = Vec::new();
        for len in 0..full.len() {
            let prefix = full.get(..len).unwrap();
            match parse_rfc3339(prefix) {
                Ok(t) => {
                    accepted.push(len);
                    assert_eq!(format_rfc3339(t), format!("{prefix}Z"));
                }
                Err(e) => assert_eq!(e, TimestampError::Malformed, "{prefix:?}"),
            }
        }
        assert_eq!(accepted, [19, 21, 22, 23]);
        assert_eq!(ok(full), at(1_795_922_640 - 3600, 123_000_000));
    }

    /// Days from civil and back, against a plain day counter, for every day
    /// of years 0000 to 9999.
    #[test]
    fn every_day_of_ten_thousand_years() {
        let mut days = days_from_civil(0, 1, 1).unwrap();
        assert_eq!(days * SECS_PER_DAY, YEAR_0);
        for year in 0..=9999u32 {
            for month in 1..=12u32 {
                for day in 1..=days_in_month(year, month) {
                    let (y, m, d) = (i64::from(year), i64::from(month), i64::from(day));
                    assert_eq!(days_from_civil(y, m, d), Some(days), "{year}-{month}-{day}");
                    assert_eq!(
                        civil_from_days(i128::from(days)),
                        (y.into(), m.into(), d.into())
                    );
                    days += 1;
                }
            }
        }
        assert_eq!((days - 1) * SECS_PER_DAY + 86_399, YEAR_9999_END);
    }

    #[test]
    fn days_from_civil_does_not_overflow() {
        assert_eq!(days_from_civil(i64::MAX, 12, 31), None);
        assert_eq!(days_from_civil(i64::MIN, 1, 1), None);
        assert_eq!(days_from_civil(0, 1, 1), Some(-719_528));
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
    }
}
