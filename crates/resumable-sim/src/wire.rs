//! The server side of the wire: how the models read a client's headers and
//! write their own. Written apart from the client's codecs, on purpose: a
//! client that builds a header wrong meets a server that reads it as the
//! protocol says, not as the client's own parser would.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A `PUT`'s `Content-Range`, as a GCS upload server reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutRange {
    /// `bytes */T` or `bytes */*`: how much is persisted? With `T`, it also
    /// finishes an upload whose `T` bytes are all persisted.
    Query {
        /// The declared total.
        total: Option<u64>,
    },
    /// `bytes A-B/T` or `bytes A-B/*`: bytes `A..=B`, i.e. `A..B + 1`.
    Bytes {
        /// The first byte's offset.
        first: u64,
        /// The offset one past the last byte.
        end: u64,
        /// The declared total.
        total: Option<u64>,
    },
}

/// Reads a `Content-Range` request value (RFC 9110 §14.4, as GCS uses it on
/// uploads). The error says what is wrong, for the violation log.
pub fn put_range(value: &str) -> Result<PutRange, String> {
    let rest = value
        .strip_prefix("bytes ")
        .ok_or_else(|| format!("Content-Range {value:?} does not start with `bytes `"))?;
    let (range, total) = rest
        .split_once('/')
        .ok_or_else(|| format!("Content-Range {value:?} has no `/`"))?;
    let total = match total {
        "*" => None,
        digits => Some(number(digits, value)?),
    };
    if range == "*" {
        return Ok(PutRange::Query { total });
    }
    let (first, last) = range
        .split_once('-')
        .ok_or_else(|| format!("Content-Range {value:?} has no `-`"))?;
    let (first, last) = (number(first, value)?, number(last, value)?);
    if last < first {
        return Err(format!("Content-Range {value:?} ends before it starts"));
    }
    if total.is_some_and(|t| last >= t) {
        return Err(format!("Content-Range {value:?} passes its total"));
    }
    let end = last
        .checked_add(1)
        .ok_or_else(|| format!("Content-Range {value:?} overflows"))?;
    Ok(PutRange::Bytes { first, end, total })
}

fn number(text: &str, whole: &str) -> Result<u64, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("Content-Range {whole:?}: {text:?} is not a number"));
    }
    text.parse()
        .map_err(|_| format!("Content-Range {whole:?}: {text:?} does not fit 64 bits"))
}

/// The `crc32c=` item of an `X-Goog-Hash` request value, decoded.
/// `Ok(None)` when the value names only other digests.
pub fn goog_hash_crc32c(value: &str) -> Result<Option<u32>, String> {
    for item in value.split(',') {
        let Some((algorithm, encoded)) = item.trim().split_once('=') else {
            return Err(format!("X-Goog-Hash item {item:?} has no `=`"));
        };
        if algorithm != "crc32c" {
            continue;
        }
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|e| format!("X-Goog-Hash crc32c {encoded:?} is not base64: {e}"))?;
        let bytes: [u8; 4] = bytes
            .try_into()
            .map_err(|_| format!("X-Goog-Hash crc32c {encoded:?} is not four bytes"))?;
        return Ok(Some(u32::from_be_bytes(bytes)));
    }
    Ok(None)
}

/// A CRC32C as GCS writes it in object JSON and `X-Goog-Hash`.
pub fn crc32c_base64(crc: u32) -> String {
    STANDARD.encode(crc.to_be_bytes())
}

/// The `Range` of a `308` after `persisted` bytes: `bytes=0-{persisted-1}`,
/// or none at all for nothing persisted.
pub fn persisted_range(persisted: u64) -> Option<String> {
    persisted
        .checked_sub(1)
        .map(|last| format!("bytes=0-{last}"))
}

/// A wall-clock time as the file API writes `expires_at` (RFC 3339, UTC).
pub fn rfc3339(time: std::time::SystemTime) -> String {
    match jiff::Timestamp::try_from(time) {
        Ok(t) => t.to_string(),
        // Outside jiff's range (years beyond ±9999): no real server sends it.
        Err(_) => "9999-12-31T23:59:59Z".to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    #[test]
    fn reads_every_form_of_content_range() {
        assert_eq!(
            put_range("bytes */100"),
            Ok(PutRange::Query { total: Some(100) })
        );
        assert_eq!(put_range("bytes */*"), Ok(PutRange::Query { total: None }));
        assert_eq!(
            put_range("bytes 0-9/100"),
            Ok(PutRange::Bytes {
                first: 0,
                end: 10,
                total: Some(100)
            })
        );
        assert_eq!(
            put_range("bytes 90-99/*"),
            Ok(PutRange::Bytes {
                first: 90,
                end: 100,
                total: None
            })
        );
        for bad in [
            "",
            "bytes",
            "bytes 0-9",
            "bytes=0-9/10",
            "items 0-9/10",
            "bytes 9-0/10",
            "bytes 0-10/10",
            "bytes -9/10",
            "bytes 0-9/x",
            "bytes +0-9/10",
            "bytes 0-18446744073709551615/*",
            "bytes 0-99999999999999999999/*",
        ] {
            assert!(put_range(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reads_the_crc32c_of_goog_hash() {
        assert_eq!(goog_hash_crc32c("crc32c=yZRlqg=="), Ok(Some(0xc994_65aa)));
        assert_eq!(
            goog_hash_crc32c("md5=XrY7u+Ae7tCTyyK7j1rNww==, crc32c=yZRlqg=="),
            Ok(Some(0xc994_65aa))
        );
        assert_eq!(goog_hash_crc32c("md5=XrY7u+Ae7tCTyyK7j1rNww=="), Ok(None));
        assert!(goog_hash_crc32c("crc32c=%%").is_err());
        assert!(goog_hash_crc32c("crc32c=AAAAAAA=").is_err());
        assert!(goog_hash_crc32c("crc32c").is_err());
        assert_eq!(crc32c_base64(0xc994_65aa), "yZRlqg==");
    }

    #[test]
    fn writes_ranges_and_times() {
        assert_eq!(persisted_range(0), None);
        assert_eq!(persisted_range(10).as_deref(), Some("bytes=0-9"));
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(rfc3339(t), "2027-01-15T08:00:00Z");
    }
}
