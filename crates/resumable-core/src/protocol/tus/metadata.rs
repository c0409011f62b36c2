//! `Upload-Metadata`: what a tus upload is called and what it holds, as
//! comma-separated `key base64value` pairs. [`build`] writes the header from
//! the caller's pairs; [`parse`] reads one (for tests and servers);
//! [`MetadataError`] says what was wrong.
//!
//! A key is one or more visible ASCII characters other than a comma (the
//! spec forbids spaces and commas; anything outside visible ASCII could not
//! travel in a header). Keys are unique. A value is Base64, standard
//! alphabet with padding (RFC 4648 §4), of any bytes; it may be empty, and
//! an empty value is sent as the key alone. Optional whitespace around each
//! pair is ignored when parsing.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderValue;

use crate::protocol::trim_ows;

/// Why metadata could not be built or parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// A pair has an empty key.
    #[error("metadata key is empty")]
    EmptyKey,
    /// A key holds a space, a comma or a character outside visible ASCII.
    #[error("metadata key holds a space, a comma or a non-ASCII character")]
    BadKey,
    /// The same key appears twice.
    #[error("metadata key appears twice")]
    DuplicateKey,
    /// A value is not standard padded Base64, or a pair has more than one
    /// space.
    #[error("metadata value is not padded standard Base64")]
    BadValue,
}

/// One metadata pair, as parsed: the key and the decoded value (empty when
/// the pair had none).
pub type Pair = (String, Vec<u8>);

/// The `Upload-Metadata` value for `pairs`, in their order; `None` when
/// there are none (the header is then left out).
pub fn build<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<Option<HeaderValue>, MetadataError> {
    let mut text = String::new();
    let mut keys: Vec<&str> = Vec::new();
    for (key, value) in pairs {
        check_key(key.as_bytes())?;
        if keys.contains(&key) {
            return Err(MetadataError::DuplicateKey);
        }
        keys.push(key);
        if !text.is_empty() {
            text.push(',');
        }
        text.push_str(key);
        if !value.is_empty() {
            text.push(' ');
            STANDARD.encode_string(value, &mut text);
        }
    }
    if text.is_empty() {
        return Ok(None);
    }
    // Visible ASCII keys, Base64 values, spaces and commas: always valid.
    HeaderValue::from_str(&text)
        .map(Some)
        .map_err(|_| MetadataError::BadKey)
}

/// The pairs of an `Upload-Metadata` value, in their order.
pub fn parse(value: &HeaderValue) -> Result<Vec<Pair>, MetadataError> {
    parse_bytes(value.as_bytes())
}

/// [`parse`] on the raw bytes of a value.
pub fn parse_bytes(value: &[u8]) -> Result<Vec<Pair>, MetadataError> {
    let mut pairs: Vec<Pair> = Vec::new();
    for pair in value.split(|&b| b == b',') {
        let pair = trim_ows(pair);
        let (key, encoded) = match pair.iter().position(|&b| b == b' ') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &b""[..]),
        };
        check_key(key)?;
        if encoded.contains(&b' ') {
            return Err(MetadataError::BadValue);
        }
        let value = STANDARD
            .decode(encoded)
            .map_err(|_| MetadataError::BadValue)?;
        // Visible ASCII only, so the bytes are UTF-8.
        let key = String::from_utf8_lossy(key).into_owned();
        if pairs.iter().any(|(k, _)| *k == key) {
            return Err(MetadataError::DuplicateKey);
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

fn check_key(key: &[u8]) -> Result<(), MetadataError> {
    if key.is_empty() {
        return Err(MetadataError::EmptyKey);
    }
    if key.iter().all(|&b| b.is_ascii_graphic() && b != b',') {
        Ok(())
    } else {
        Err(MetadataError::BadKey)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pair(k: &str, v: &[u8]) -> Pair {
        (k.to_owned(), v.to_vec())
    }

    #[test]
    fn the_spec_example() {
        let value = b"filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential";
        assert_eq!(
            parse_bytes(value),
            Ok(vec![
                pair("filename", b"world_domination_plan.pdf"),
                pair("is_confidential", b""),
            ])
        );
        let built = build([
            ("filename", &b"world_domination_plan.pdf"[..]),
            ("is_confidential", b""),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(built.as_bytes(), value);
    }

    #[test]
    fn building_checks_keys_and_leaves_out_nothing() {
        assert_eq!(build([]), Ok(None));
        let built = build([("filetype", &b"video/mp4"[..]), ("n", "ü €".as_bytes())])
            .unwrap()
            .unwrap();
        assert_eq!(built, "filetype dmlkZW8vbXA0,n w7wg4oKs");
        assert_eq!(build([("", &b"x"[..])]), Err(MetadataError::EmptyKey));
        for key in ["a b", "a,b", "ä", "a\tb", "a\n"] {
            assert_eq!(
                build([(key, &b"x"[..])]),
                Err(MetadataError::BadKey),
                "{key:?}"
            );
        }
        assert_eq!(
            build([("a", &b"1"[..]), ("a", b"2")]),
            Err(MetadataError::DuplicateKey)
        );
    }

    #[test]
    fn hostile_values_are_refused() {
        assert_eq!(parse_bytes(b""), Err(MetadataError::EmptyKey));
        assert_eq!(parse_bytes(b"a,"), Err(MetadataError::EmptyKey));
        assert_eq!(parse_bytes(b"a aGk=, ,b"), Err(MetadataError::EmptyKey));
        assert_eq!(parse_bytes(b"a aGk=,a"), Err(MetadataError::DuplicateKey));
        for bad in [
            &b"a aGk"[..],
            b"a aG k=",
            b"a a-_=",
            b"a aGk= b",
            b"a ====",
            b"a \xff",
        ] {
            assert_eq!(parse_bytes(bad), Err(MetadataError::BadValue), "{bad:?}");
        }
        assert_eq!(parse_bytes(b"\xc3\xa4 aGk="), Err(MetadataError::BadKey));
        assert_eq!(
            parse_bytes(b" a aGk= ,\tb "),
            Ok(vec![pair("a", b"hi"), pair("b", b"")])
        );
    }

    proptest! {
        #[test]
        fn round_trips(
            pairs in proptest::collection::btree_map("[!-+--~]{1,8}", any::<Vec<u8>>(), 0..5)
        ) {
            let built = build(pairs.iter().map(|(k, v)| (k.as_str(), v.as_slice()))).unwrap();
            let parsed = built.map(|v| parse(&v).unwrap()).unwrap_or_default();
            let expected: Vec<Pair> = pairs.into_iter().collect();
            prop_assert_eq!(parsed, expected);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..60)) {
            let _ = parse_bytes(&bytes);
        }
    }
}
