//! What a tus server says of itself in answer to `OPTIONS`: `Tus-Version`,
//! `Tus-Extension` and `Tus-Checksum-Algorithm` (comma-separated lists) and
//! `Tus-Max-Size` (a byte count). [`parse_list`] reads one list,
//! [`Capabilities::parse`] the whole answer; [`DiscoveryError`] says what
//! was wrong.
//!
//! A list is RFC 9110's `#token`: tokens separated by commas, with optional
//! whitespace around each; empty elements are skipped, as §5.6.1 asks of a
//! recipient. A header sent more than once is one list, its lines joined.

use http::HeaderMap;

use super::number::{self, NumberError};
use crate::protocol::trim_ows;

/// `Tus-Version`: the versions a server speaks, most preferred first.
pub const TUS_VERSION: &str = "tus-version";
/// `Tus-Extension`: the extensions a server supports.
pub const TUS_EXTENSION: &str = "tus-extension";
/// `Tus-Checksum-Algorithm`: the checksum algorithms a server supports.
pub const TUS_CHECKSUM_ALGORITHM: &str = "tus-checksum-algorithm";
/// `Tus-Max-Size`: the largest upload a server takes, in bytes.
pub const TUS_MAX_SIZE: &str = "tus-max-size";

/// Why an `OPTIONS` answer's headers were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// A list element is not a token (RFC 9110 §5.6.2).
    #[error("{header} holds an element that is not a token")]
    BadList {
        /// The header.
        header: &'static str,
    },
    /// `Tus-Version` is missing or lists no version.
    #[error("the OPTIONS answer lists no Tus-Version")]
    NoVersion,
    /// `Tus-Max-Size` is not a byte count.
    #[error("bad Tus-Max-Size: {0}")]
    MaxSize(NumberError),
}

/// What a tus server supports, from its `OPTIONS` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The protocol versions, most preferred first.
    pub versions: Vec<String>,
    /// The extensions (`creation`, `checksum`, `termination`, …).
    pub extensions: Vec<String>,
    /// The checksum algorithms, lowercased.
    pub checksum_algorithms: Vec<String>,
    /// The largest upload it takes, when it says.
    pub max_size: Option<u64>,
}

impl Capabilities {
    /// Reads an `OPTIONS` answer's headers.
    pub fn parse(headers: &HeaderMap) -> Result<Self, DiscoveryError> {
        let versions = joined_list(headers, TUS_VERSION)?;
        if versions.is_empty() {
            return Err(DiscoveryError::NoVersion);
        }
        let max_size = match headers.get(TUS_MAX_SIZE) {
            Some(v) => Some(number::parse(v).map_err(DiscoveryError::MaxSize)?),
            None => None,
        };
        Ok(Self {
            versions,
            extensions: joined_list(headers, TUS_EXTENSION)?,
            checksum_algorithms: joined_list(headers, TUS_CHECKSUM_ALGORITHM)?
                .into_iter()
                .map(|a| a.to_ascii_lowercase())
                .collect(),
            max_size,
        })
    }

    /// Whether the server lists `extension`.
    pub fn supports(&self, extension: &str) -> bool {
        self.extensions.iter().any(|e| e == extension)
    }
}

/// Every element of every line of `name`, in order.
fn joined_list(headers: &HeaderMap, name: &'static str) -> Result<Vec<String>, DiscoveryError> {
    let mut all = Vec::new();
    for value in headers.get_all(name) {
        let items = parse_list(value.as_bytes()).ok_or(DiscoveryError::BadList { header: name })?;
        all.extend(items.into_iter().map(str::to_owned));
    }
    Ok(all)
}

/// The tokens of a comma-separated list, or `None` when an element is not
/// a token.
pub fn parse_list(value: &[u8]) -> Option<Vec<&str>> {
    let mut items = Vec::new();
    for element in value.split(|&b| b == b',') {
        let element = trim_ows(element);
        if element.is_empty() {
            continue;
        }
        if !element.iter().all(|&b| is_tchar(b)) {
            return None;
        }
        // tchars are ASCII.
        items.push(std::str::from_utf8(element).ok()?);
    }
    Some(items)
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use http::HeaderValue;

    use super::*;
    use proptest::prelude::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn the_spec_examples() {
        let caps = Capabilities::parse(&headers(&[
            ("tus-resumable", "1.0.0"),
            ("tus-version", "1.0.0,0.2.2,0.2.1"),
            ("tus-max-size", "1073741824"),
            ("tus-extension", "creation,expiration"),
        ]))
        .unwrap();
        assert_eq!(caps.versions, ["1.0.0", "0.2.2", "0.2.1"]);
        assert_eq!(caps.extensions, ["creation", "expiration"]);
        assert!(caps.supports("creation") && !caps.supports("checksum"));
        assert_eq!(caps.max_size, Some(1_073_741_824));
        assert!(caps.checksum_algorithms.is_empty());
        let caps = Capabilities::parse(&headers(&[
            ("tus-version", "1.0.0"),
            ("tus-extension", "checksum"),
            ("tus-checksum-algorithm", "md5,sha1,crc32"),
        ]))
        .unwrap();
        assert_eq!(caps.checksum_algorithms, ["md5", "sha1", "crc32"]);
        assert_eq!(caps.max_size, None);
    }

    #[test]
    fn lists_take_whitespace_empty_elements_and_repeated_lines() {
        assert_eq!(parse_list(b" a , b,,\tc ,"), Some(vec!["a", "b", "c"]));
        assert_eq!(parse_list(b""), Some(vec![]));
        let caps = Capabilities::parse(&headers(&[
            ("tus-version", "1.0.0"),
            ("tus-extension", "creation"),
            ("tus-extension", "termination, checksum"),
            ("tus-checksum-algorithm", "SHA1"),
        ]))
        .unwrap();
        assert_eq!(caps.extensions, ["creation", "termination", "checksum"]);
        assert_eq!(caps.checksum_algorithms, ["sha1"]);
    }

    #[test]
    fn hostile_values_are_refused() {
        assert_eq!(parse_list(b"a b"), None);
        assert_eq!(parse_list(b"a;q=1"), None);
        assert_eq!(parse_list(b"\xff"), None);
        assert_eq!(
            Capabilities::parse(&headers(&[])),
            Err(DiscoveryError::NoVersion)
        );
        assert_eq!(
            Capabilities::parse(&headers(&[("tus-version", " , ")])),
            Err(DiscoveryError::NoVersion)
        );
        assert_eq!(
            Capabilities::parse(&headers(&[("tus-version", "1.0.0 beta")])),
            Err(DiscoveryError::BadList {
                header: TUS_VERSION
            })
        );
        assert_eq!(
            Capabilities::parse(&headers(&[
                ("tus-version", "1.0.0"),
                ("tus-max-size", "-1")
            ])),
            Err(DiscoveryError::MaxSize(NumberError::NotDecimal))
        );
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..60)) {
            let _ = parse_list(&bytes);
        }
    }
}
