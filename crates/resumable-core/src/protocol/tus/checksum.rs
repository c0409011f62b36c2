//! `Upload-Checksum`: the digest of one tus request's body, as
//! `algorithm base64digest` (the checksum extension). [`header`] writes one,
//! [`parse`] reads one (for tests and servers), [`ChecksumError`] says what
//! was wrong.
//!
//! The algorithm is a name of lowercase ASCII letters, digits and `-`
//! (the spec: ASCII, no uppercase; the names in use are `sha1`, `md5`,
//! `crc32`, `sha256`); the digest is Base64, standard alphabet with padding,
//! and not empty. Exactly one space separates them; optional whitespace
//! around the whole value is ignored.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderValue;

use crate::protocol::trim_ows;

/// Why an `Upload-Checksum` value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChecksumError {
    /// The value is not `algorithm digest` with one space.
    #[error("Upload-Checksum is not `algorithm digest`")]
    Malformed,
    /// The algorithm's name holds something other than lowercase ASCII
    /// letters, digits and `-`.
    #[error("checksum algorithm name is not lowercase ASCII")]
    BadAlgorithm,
    /// The digest is empty or not padded standard Base64.
    #[error("checksum digest is not padded standard Base64")]
    BadDigest,
}

/// An `Upload-Checksum`, as parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadChecksum {
    /// The algorithm's name, e.g. `sha1`.
    pub algorithm: String,
    /// The digest's bytes.
    pub digest: Vec<u8>,
}

/// Whether `name` is a well-formed checksum algorithm name.
pub fn is_algorithm_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The `Upload-Checksum` value for `digest` made with `algorithm`, or
/// `None` when the name is not well formed.
pub fn header(algorithm: &str, digest: &[u8]) -> Option<HeaderValue> {
    if !is_algorithm_name(algorithm.as_bytes()) || digest.is_empty() {
        return None;
    }
    let text = format!("{algorithm} {}", STANDARD.encode(digest));
    HeaderValue::from_str(&text).ok()
}

/// The algorithm and digest of an `Upload-Checksum` value.
pub fn parse(value: &HeaderValue) -> Result<UploadChecksum, ChecksumError> {
    parse_bytes(value.as_bytes())
}

/// [`parse`] on the raw bytes of a value.
pub fn parse_bytes(value: &[u8]) -> Result<UploadChecksum, ChecksumError> {
    let text = trim_ows(value);
    let at = text
        .iter()
        .position(|&b| b == b' ')
        .ok_or(ChecksumError::Malformed)?;
    let (name, encoded) = (&text[..at], &text[at + 1..]);
    if !is_algorithm_name(name) {
        return Err(ChecksumError::BadAlgorithm);
    }
    if encoded.is_empty() || encoded.iter().any(|b| b.is_ascii_whitespace()) {
        return Err(ChecksumError::BadDigest);
    }
    let digest = STANDARD
        .decode(encoded)
        .map_err(|_| ChecksumError::BadDigest)?;
    Ok(UploadChecksum {
        // Checked to be ASCII above.
        algorithm: String::from_utf8_lossy(name).into_owned(),
        digest,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_spec_example() {
        // sha1("hello world")
        let digest = [
            0x2a, 0xae, 0x6c, 0x35, 0xc9, 0x4f, 0xcf, 0xb4, 0x15, 0xdb, 0xe9, 0x5f, 0x40, 0x8b,
            0x9c, 0xe9, 0x1e, 0xe8, 0x46, 0xed,
        ];
        let value = header("sha1", &digest).unwrap();
        assert_eq!(value, "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=");
        assert_eq!(
            parse(&value),
            Ok(UploadChecksum {
                algorithm: "sha1".into(),
                digest: digest.to_vec()
            })
        );
        assert_eq!(parse_bytes(b" crc32 AAAAAA== ").unwrap().digest, [0; 4]);
    }

    #[test]
    fn hostile_values_are_refused() {
        assert_eq!(parse_bytes(b""), Err(ChecksumError::Malformed));
        assert_eq!(parse_bytes(b"sha1"), Err(ChecksumError::Malformed));
        assert_eq!(parse_bytes(b"s_1 AAAA"), Err(ChecksumError::BadAlgorithm));
        assert_eq!(parse_bytes(b"SHA1 AAAA"), Err(ChecksumError::BadAlgorithm));
        assert_eq!(
            parse_bytes(b"sh\xc3\xa41 AAAA"),
            Err(ChecksumError::BadAlgorithm)
        );
        for bad in [&b"sha1  AAAA"[..], b"sha1 AA AA", b"sha1 AAA", b"sha1 A-_A"] {
            assert_eq!(parse_bytes(bad), Err(ChecksumError::BadDigest), "{bad:?}");
        }
        assert_eq!(header("SHA1", b"x"), None);
        assert_eq!(header("sha1", b""), None);
    }

    proptest! {
        #[test]
        fn round_trips(name in "[a-z0-9-]{1,10}", digest in proptest::collection::vec(any::<u8>(), 1..40)) {
            let parsed = parse(&header(&name, &digest).unwrap()).unwrap();
            prop_assert_eq!(parsed, UploadChecksum { algorithm: name, digest });
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..60)) {
            let _ = parse_bytes(&bytes);
        }
    }
}
