//! Parsers for the upload protocol's request headers: `Content-Range` and `X-Goog-Hash`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Chunks other than the last must be a multiple of this many bytes (256 KiB).
pub const CHUNK_GRANULARITY: u64 = 262_144;

/// A parsed `Content-Range` request header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContentRange {
    /// `bytes a-b/T` or `bytes a-b/*`: data from offset `first` to `last` inclusive.
    Data {
        first: u64,
        last: u64,
        total: Option<u64>,
    },
    /// `bytes */T` or `bytes */*`: a status query (or a finish with no data).
    Query { total: Option<u64> },
}

impl ContentRange {
    /// Parses `bytes a-b/T`, `bytes a-b/*`, `bytes */T` or `bytes */*`.
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        let rest = value
            .trim()
            .strip_prefix("bytes ")
            .ok_or_else(|| format!("Content-Range {value:?} does not start with \"bytes \""))?;
        let (range, total) = rest
            .split_once('/')
            .ok_or_else(|| format!("Content-Range {value:?} has no \"/total\""))?;
        let total = match total {
            "*" => None,
            t => Some(number(t).ok_or_else(|| format!("Content-Range {value:?}: bad total"))?),
        };
        if range == "*" {
            return Ok(ContentRange::Query { total });
        }
        let (first, last) = range
            .split_once('-')
            .ok_or_else(|| format!("Content-Range {value:?}: range is not \"first-last\""))?;
        let first =
            number(first).ok_or_else(|| format!("Content-Range {value:?}: bad first byte"))?;
        let last = number(last).ok_or_else(|| format!("Content-Range {value:?}: bad last byte"))?;
        if last == u64::MAX {
            return Err(format!("Content-Range {value:?}: range too large"));
        }
        if last < first {
            return Err(format!(
                "Content-Range {value:?}: last byte before first byte"
            ));
        }
        if total.is_some_and(|t| last >= t) {
            return Err(format!(
                "Content-Range {value:?}: range goes past the total"
            ));
        }
        Ok(ContentRange::Data { first, last, total })
    }
}

fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Checksums a client declared with `X-Goog-Hash`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct GoogHash {
    pub(crate) crc32c: Option<u32>,
    pub(crate) md5: Option<[u8; 16]>,
}

impl GoogHash {
    /// Parses every `X-Goog-Hash` value: comma separated `crc32c=<b64>` / `md5=<b64>`.
    /// Unknown algorithms are ignored, as Cloud Storage does.
    pub(crate) fn parse<'a>(values: impl Iterator<Item = &'a str>) -> Result<Self, String> {
        let mut out = GoogHash::default();
        for value in values {
            for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                let (alg, b64) = item
                    .split_once('=')
                    .ok_or_else(|| format!("X-Goog-Hash item {item:?} is not \"alg=value\""))?;
                if alg != "crc32c" && alg != "md5" {
                    continue;
                }
                let bytes = STANDARD
                    .decode(b64)
                    .map_err(|_| format!("X-Goog-Hash {alg} value {b64:?} is not base64"))?;
                match alg {
                    "crc32c" => {
                        let b: [u8; 4] = bytes
                            .try_into()
                            .map_err(|_| "X-Goog-Hash crc32c is not 4 bytes".to_owned())?;
                        out.crc32c = Some(u32::from_be_bytes(b));
                    }
                    "md5" => {
                        let b: [u8; 16] = bytes
                            .try_into()
                            .map_err(|_| "X-Goog-Hash md5 is not 16 bytes".to_owned())?;
                        out.md5 = Some(b);
                    }
                    _ => {}
                }
            }
        }
        Ok(out)
    }
}

/// Base64 of a CRC32C, big-endian, as Cloud Storage writes it.
pub(crate) fn crc32c_b64(crc: u32) -> String {
    STANDARD.encode(crc.to_be_bytes())
}

/// Base64 of an MD5 digest.
pub(crate) fn md5_b64(md5: &[u8; 16]) -> String {
    STANDARD.encode(md5)
}

/// The `Range` header value of a 308 when `persisted` bytes are stored (`None` for 0).
pub(crate) fn range_header(persisted: u64) -> Option<String> {
    persisted
        .checked_sub(1)
        .map(|last| format!("bytes=0-{last}"))
}

/// Whether a request's body is framed by `Transfer-Encoding: chunked`. hyper
/// refuses a request whose last coding is not `chunked`, so any mention of it
/// is the framing (and it overrides a `Content-Length`).
pub(crate) fn is_chunked(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(http::header::TRANSFER_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| coding.trim().eq_ignore_ascii_case("chunked"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn content_range_forms() {
        assert_eq!(
            ContentRange::parse("bytes 0-262143/1000000"),
            Ok(ContentRange::Data {
                first: 0,
                last: 262_143,
                total: Some(1_000_000)
            })
        );
        assert_eq!(
            ContentRange::parse("bytes 5-9/*"),
            Ok(ContentRange::Data {
                first: 5,
                last: 9,
                total: None
            })
        );
        assert_eq!(
            ContentRange::parse("bytes */10"),
            Ok(ContentRange::Query { total: Some(10) })
        );
        assert_eq!(
            ContentRange::parse("bytes */*"),
            Ok(ContentRange::Query { total: None })
        );
        for bad in [
            "",
            "bytes",
            "bytes 0-1",
            "bytes 1-0/5",
            "bytes 0-5/5",
            "bytes -1/5",
            "bytes 0-/5",
            "bytes a-b/5",
            "bytes 0-1/x",
            "bytes 0-18446744073709551615/*",
            "bytes 0-99999999999999999999/*",
            "bits 0-1/5",
            "bytes +1-2/5",
            "bytes 0-1/",
        ] {
            assert!(ContentRange::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn goog_hash() {
        let h =
            GoogHash::parse(["crc32c=AAAAAQ==,md5=1B2M2Y8AsgTpgAmY7PhCfg=="].into_iter()).unwrap();
        assert_eq!(h.crc32c, Some(1));
        assert_eq!(md5_b64(&h.md5.unwrap()), "1B2M2Y8AsgTpgAmY7PhCfg==");
        let h = GoogHash::parse(["crc32c=AAAAAQ==", "sha1=xyz"].into_iter()).unwrap();
        assert_eq!(h.md5, None);
        assert!(GoogHash::parse(["crc32c=AAAA"].into_iter()).is_err());
        assert!(GoogHash::parse(["crc32c"].into_iter()).is_err());
        assert!(GoogHash::parse(["md5=AAAAAQ=="].into_iter()).is_err());
        assert_eq!(crc32c_b64(1), "AAAAAQ==");
        assert_eq!(range_header(0), None);
        assert_eq!(range_header(262_144).as_deref(), Some("bytes=0-262143"));
    }
}
