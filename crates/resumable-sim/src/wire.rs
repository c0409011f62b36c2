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
        .trim()
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

/// The digests a client declared with `X-Goog-Hash`
/// (`crc32c=<base64>`, `md5=<base64>`, comma separated, in one or more
/// values). Other algorithms are ignored, as Cloud Storage does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GoogHash {
    /// The declared CRC32C.
    pub crc32c: Option<u32>,
    /// The declared MD5.
    pub md5: Option<[u8; 16]>,
}

impl GoogHash {
    /// Reads every `X-Goog-Hash` value of a request. The error says what is
    /// wrong, for a `400` and the violation log.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut out = GoogHash::default();
        for value in values {
            for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                let (algorithm, encoded) = item
                    .split_once('=')
                    .ok_or_else(|| format!("X-Goog-Hash item {item:?} is not `alg=value`"))?;
                match algorithm {
                    "crc32c" => out.crc32c = Some(u32::from_be_bytes(decode(algorithm, encoded)?)),
                    "md5" => out.md5 = Some(decode(algorithm, encoded)?),
                    _ => {}
                }
            }
        }
        Ok(out)
    }

    /// Reads the `X-Goog-Hash` values of `headers` (none: nothing declared).
    pub fn of(headers: &http::HeaderMap) -> Result<Self, String> {
        let mut values = Vec::new();
        for v in headers.get_all("x-goog-hash") {
            values.push(
                v.to_str()
                    .map_err(|_| "X-Goog-Hash is not text".to_owned())?,
            );
        }
        Self::parse(values)
    }

    /// Why a declared digest differs from the data's, naming both; `None`
    /// when every declared digest matches.
    pub fn mismatch(&self, crc32c: u32, md5: Option<[u8; 16]>) -> Option<String> {
        if let Some(c) = self.crc32c.filter(|c| *c != crc32c) {
            return Some(format!(
                "X-Goog-Hash crc32c={} does not match the data received (crc32c={}); the \
                 object was not finalized",
                crc32c_base64(c),
                crc32c_base64(crc32c)
            ));
        }
        if let (Some(declared), Some(real)) = (self.md5, md5)
            && declared != real
        {
            return Some(format!(
                "X-Goog-Hash md5={} does not match the data received (md5={}); the object \
                 was not finalized",
                md5_base64(&declared),
                md5_base64(&real)
            ));
        }
        None
    }
}

fn decode<const N: usize>(algorithm: &str, encoded: &str) -> Result<[u8; N], String> {
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|e| format!("X-Goog-Hash {algorithm} {encoded:?} is not base64: {e}"))?;
    bytes
        .try_into()
        .map_err(|_| format!("X-Goog-Hash {algorithm} {encoded:?} is not {N} bytes"))
}

/// Whether a request's body is framed by `Transfer-Encoding: chunked`. A
/// server refuses a request whose last coding is not `chunked`, so any
/// mention of it is the framing (and it overrides a `Content-Length`).
pub fn is_chunked(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(http::header::TRANSFER_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| coding.trim().eq_ignore_ascii_case("chunked"))
}

/// A request's `Content-Length`, if it has one; an error when it is not a
/// number.
pub fn content_length(headers: &http::HeaderMap) -> Result<Option<u64>, String> {
    match headers.get(http::header::CONTENT_LENGTH) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .map(Some)
            .ok_or_else(|| "Content-Length is not a number".to_owned()),
    }
}

/// An MD5 as GCS writes it in object JSON and `X-Goog-Hash`.
pub fn md5_base64(md5: &[u8; 16]) -> String {
    STANDARD.encode(md5)
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
    fn reads_goog_hash() {
        let h = GoogHash::parse(["md5=XrY7u+Ae7tCTyyK7j1rNww==, crc32c=yZRlqg=="]).unwrap();
        assert_eq!(h.crc32c, Some(0xc994_65aa));
        assert_eq!(md5_base64(&h.md5.unwrap()), "XrY7u+Ae7tCTyyK7j1rNww==");
        let h = GoogHash::parse(["crc32c=AAAAAQ==", "sha1=xyz"]).unwrap();
        assert_eq!((h.crc32c, h.md5), (Some(1), None));
        assert_eq!(
            GoogHash::parse(["md5=XrY7u+Ae7tCTyyK7j1rNww=="])
                .unwrap()
                .crc32c,
            None
        );
        for bad in ["crc32c=%%", "crc32c=AAAAAAA=", "crc32c", "md5=AAAAAQ=="] {
            assert!(GoogHash::parse([bad]).is_err(), "{bad:?}");
        }
        assert_eq!(h.mismatch(1, None), None);
        assert!(h.mismatch(2, None).unwrap().contains("crc32c=AAAAAQ=="));
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
