//! How a tus server reads a client's headers and writes its own: byte
//! counts, `Upload-Metadata`, `Upload-Checksum` digests, HTTP dates. Written
//! from the spec apart from the client's codecs.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use md5::Digest as _;

/// A header's value as text, when it is text.
pub(crate) fn text<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A tus byte count: decimal digits only, nothing else.
pub(crate) fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `Upload-Metadata`: `key base64`, comma-separated; keys unique, without
/// spaces; a value may be left out.
pub(crate) fn parse_metadata(value: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    for pair in value.split(',') {
        let pair = pair.trim();
        let (key, encoded) = pair.split_once(' ').unwrap_or((pair, ""));
        if key.is_empty() {
            return Err(format!("Upload-Metadata {value:?} has an empty key"));
        }
        if pairs.iter().any(|(k, _)| k == key) {
            return Err(format!("Upload-Metadata repeats the key {key:?}"));
        }
        let decoded = STANDARD
            .decode(encoded)
            .map_err(|_| format!("Upload-Metadata value of {key:?} is not Base64"))?;
        pairs.push((key.to_owned(), decoded));
    }
    Ok(pairs)
}

/// `Upload-Metadata` as a `HEAD` answers it.
pub(crate) fn write_metadata(pairs: &[(String, Vec<u8>)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!("{k} {}", STANDARD.encode(v))
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Base64 as `Upload-Checksum` carries a digest.
pub(crate) fn decode_digest(encoded: &str) -> Option<Vec<u8>> {
    STANDARD.decode(encoded).ok()
}

/// An HTTP date (RFC 9110 IMF-fixdate).
pub(crate) fn http_date(at: SystemTime) -> String {
    jiff::Timestamp::try_from(at)
        .ok()
        .and_then(|t| {
            jiff::fmt::rfc2822::DateTimePrinter::new()
                .timestamp_to_rfc9110_string(&t)
                .ok()
        })
        .unwrap_or_else(|| "Fri, 31 Dec 9999 23:59:59 GMT".to_owned())
}

/// A checksum algorithm of the checksum extension that the models compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// SHA-1.
    Sha1,
    /// MD5.
    Md5,
    /// CRC-32 (IEEE), big-endian.
    Crc32,
}

impl Algorithm {
    /// The algorithm of this `Upload-Checksum` name, when the models know it.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha1" => Some(Algorithm::Sha1),
            "md5" => Some(Algorithm::Md5),
            "crc32" => Some(Algorithm::Crc32),
            _ => None,
        }
    }

    /// Its name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha1",
            Algorithm::Md5 => "md5",
            Algorithm::Crc32 => "crc32",
        }
    }

    /// A hasher to feed a body through as it arrives.
    pub fn hasher(self) -> Hasher {
        match self {
            Algorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            Algorithm::Md5 => Hasher::Md5(md5::Md5::new()),
            Algorithm::Crc32 => Hasher::Crc32(crc32fast::Hasher::new()),
        }
    }

    /// The digest of `body`, as sent on the wire (before Base64).
    pub fn digest(self, body: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(body);
        h.finish()
    }
}

/// A running digest of one request's body.
#[derive(Clone)]
pub enum Hasher {
    /// SHA-1.
    Sha1(sha1::Sha1),
    /// MD5.
    Md5(md5::Md5),
    /// CRC-32.
    Crc32(crc32fast::Hasher),
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Hasher::Sha1(_) => "sha1",
            Hasher::Md5(_) => "md5",
            Hasher::Crc32(_) => "crc32",
        };
        f.debug_tuple("Hasher").field(&name).finish()
    }
}

impl Hasher {
    /// Feeds the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha1(h) => h.update(bytes),
            Hasher::Md5(h) => h.update(bytes),
            Hasher::Crc32(h) => h.update(bytes),
        }
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Md5(h) => h.finalize().to_vec(),
            Hasher::Crc32(h) => h.finalize().to_be_bytes().to_vec(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn own_parsers() {
        assert_eq!(number("070"), Some(70));
        assert_eq!(number("+1"), None);
        assert_eq!(number(""), None);
        assert!(parse_metadata("a aGk=,a").is_err());
        assert!(parse_metadata("a aGk").is_err());
        assert_eq!(
            http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(1_403_712_000)),
            "Wed, 25 Jun 2014 16:00:00 GMT"
        );
        assert_eq!(
            Algorithm::Crc32.digest(b"hello world"),
            0x0d4a_1185u32.to_be_bytes()
        );
        let mut h = Algorithm::Sha1.hasher();
        h.update(b"hello ");
        h.update(b"world");
        assert_eq!(h.finish(), Algorithm::Sha1.digest(b"hello world"));
    }
}
