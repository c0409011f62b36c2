//! Human durations: `90s`, `5m`, `1h30m`, `2.5s`, or a bare number of seconds.

use std::time::Duration;

/// Why a duration does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a duration: write e.g. 90s, 5m, 1h30m, 500ms or a number of seconds")]
pub(crate) struct DurationError(String);

/// Reads a duration in jiff's friendly format (`90s`, `5m`, `1h 30m`,
/// `500ms`), or a bare number (decimals allowed) as seconds. Negative
/// durations are refused.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    let error = || DurationError(text.to_owned());
    if let Ok(seconds) = trimmed.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).map_err(|_| error());
    }
    let signed: jiff::SignedDuration = trimmed.parse().map_err(|_| error())?;
    Duration::try_from(signed).map_err(|_| error())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_units_and_bare_seconds() {
        for (text, expected) in [
            ("90s", Duration::from_secs(90)),
            ("5m", Duration::from_secs(300)),
            ("1h30m", Duration::from_secs(5400)),
            ("1h 30m", Duration::from_secs(5400)),
            ("500ms", Duration::from_millis(500)),
            ("2.5s", Duration::from_millis(2500)),
            ("30", Duration::from_secs(30)),
            ("0.25", Duration::from_millis(250)),
            ("0s", Duration::ZERO),
        ] {
            assert_eq!(parse_duration(text).unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for text in [
            "",
            "s",
            "five minutes",
            "-5s",
            "-3",
            "5 parsecs",
            "NaN",
            "inf",
        ] {
            let error = parse_duration(text).unwrap_err();
            assert!(error.to_string().contains("90s, 5m"), "{text}: {error}");
        }
    }
}
