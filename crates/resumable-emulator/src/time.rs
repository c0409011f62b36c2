//! RFC 3339 timestamps in UTC.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jiff::Timestamp;
use jiff::fmt::temporal::DateTimePrinter;

/// `2026-11-29T03:24:00Z`: whole seconds, as the file API writes them.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    DateTimePrinter::new()
        .precision(Some(0))
        .timestamp_to_string(&timestamp(t))
}

/// `2026-11-29T03:24:00.123Z`: milliseconds, as Cloud Storage writes them.
pub(crate) fn rfc3339_millis(t: SystemTime) -> String {
    DateTimePrinter::new()
        .precision(Some(3))
        .timestamp_to_string(&timestamp(t))
}

/// Microseconds since the epoch (Cloud Storage generations are such numbers).
pub(crate) fn micros(t: SystemTime) -> u64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// `t` as a timestamp; the epoch for a time before it (or past year 9999).
fn timestamp(t: SystemTime) -> Timestamp {
    Timestamp::try_from(t)
        .ok()
        .filter(|ts| *ts >= Timestamp::UNIX_EPOCH)
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_836_240);
        assert_eq!(rfc3339(t), "2026-11-28T03:24:00Z");
        let t = UNIX_EPOCH + Duration::from_millis(951_782_400_123);
        assert_eq!(rfc3339_millis(t), "2000-02-29T00:00:00.123Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_709_251_199);
        assert_eq!(rfc3339(t), "2024-02-29T23:59:59Z");
        // Truncated, not rounded; nothing before the epoch.
        let t = UNIX_EPOCH + Duration::from_nanos(1_709_251_199_999_999_999);
        assert_eq!(rfc3339(t), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339_millis(t), "2024-02-29T23:59:59.999Z");
        assert_eq!(rfc3339_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH - Duration::from_secs(1)),
            "1970-01-01T00:00:00Z"
        );
    }
}
