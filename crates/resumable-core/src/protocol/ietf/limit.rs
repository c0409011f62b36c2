//! `Upload-Limit` (§4.1.4): a Structured Field Dictionary of the server's
//! limits on an upload, read with `sfv`'s visitor as it is parsed (every
//! answer carries it, and nothing is allocated).
//!
//! Unknown keys are ignored; a known key whose value is not a
//! non-negative Integer invalidates the whole field, as §4.1.4 says (the
//! caller then ignores it).

use http::HeaderMap;
use serde::{Deserialize, Serialize};
use sfv::BareItemFromInput;

use super::InteropVersion;
use super::members::last_members;

/// The limits a server puts on an upload (`Upload-Limit`, §4.1.4); `None`
/// where it set none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct UploadLimits {
    /// `max-size`: the largest representation the server takes. A larger
    /// source is refused before its bytes are sent.
    pub max_size: Option<u64>,
    /// `min-size`: below it, the server may not offer resumption.
    pub min_size: Option<u64>,
    /// `max-append-size`: the most content one creation or append carries.
    pub max_append_size: Option<u64>,
    /// `min-append-size`: the least content one creation or append
    /// carries, but for one that completes the upload (or carries none).
    pub min_append_size: Option<u64>,
    /// `max-age` (`expires` in interop version 6): the upload resource's
    /// remaining lifetime in seconds, from the response.
    pub max_age: Option<u64>,
}

/// Why an `Upload-Limit` value is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// The field is not a Structured Field Dictionary.
    #[error("not a structured field dictionary")]
    Syntax,
    /// A known key holds something other than a non-negative Integer.
    #[error("the {0} limit is not a non-negative integer")]
    WrongType(&'static str),
}

/// Parses an `Upload-Limit` value, reading the lifetime under the key
/// `version` names it by.
pub fn parse(value: &[u8], version: InteropVersion) -> Result<UploadLimits, LimitError> {
    let keys = [
        "max-size",
        "min-size",
        "max-append-size",
        "min-append-size",
        version.lifetime_key(),
    ];
    let count = |item: Option<BareItemFromInput<'_>>| match item {
        Some(BareItemFromInput::Integer(n)) => u64::try_from(i64::from(n)).ok(),
        _ => None,
    };
    let members = last_members(value, keys, count).ok_or(LimitError::Syntax)?;
    let mut values = [None; 5];
    for ((value, member), key) in values.iter_mut().zip(members).zip(keys) {
        // A known key of another type invalidates the field.
        *value = member.map(|n| n.ok_or(LimitError::WrongType(key))).transpose()?;
    }
    let [max_size, min_size, max_append_size, min_append_size, max_age] = values;
    Ok(UploadLimits {
        max_size,
        min_size,
        max_append_size,
        min_append_size,
        max_age,
    })
}

/// The limits an answer states: `None` when it has no `Upload-Limit` or an
/// unusable one (ignored, as §4.1.4 allows). Field lines sent apart are one
/// dictionary (RFC 9651 §4.2).
/// Empty lines before the first value are no members (so a field of only
/// empty lines is no field).
pub(crate) fn from_headers(headers: &HeaderMap, version: InteropVersion) -> Option<UploadLimits> {
    let mut lines = headers
        .get_all(super::UPLOAD_LIMIT)
        .iter()
        .map(http::HeaderValue::as_bytes)
        .skip_while(|line| line.is_empty());
    let first = lines.next()?;
    let Some(second) = lines.next() else {
        return parse(first, version).ok();
    };
    let mut joined = first.to_vec();
    for line in std::iter::once(second).chain(lines) {
        joined.push(b',');
        joined.extend_from_slice(line);
    }
    parse(&joined, version).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const V8: InteropVersion = InteropVersion::V8;

    #[test]
    fn every_known_limit_and_unknown_keys_ignored() {
        let limits = parse(
            b"max-size=1234567890, min-size=0, max-append-size=100, \
              min-append-size=10, max-age=3600, future=?1, other=(1 2)",
            V8,
        );
        assert_eq!(
            limits,
            Ok(UploadLimits {
                max_size: Some(1_234_567_890),
                min_size: Some(0),
                max_append_size: Some(100),
                min_append_size: Some(10),
                max_age: Some(3600),
            })
        );
        assert_eq!(
            parse(b"max-age=3600", V8).map(|l| l.max_age),
            Ok(Some(3600))
        );
        // The lifetime's key is the version's.
        assert_eq!(parse(b"expires=60", V8).map(|l| l.max_age), Ok(None));
        assert_eq!(
            parse(b"expires=60", InteropVersion::V6).map(|l| l.max_age),
            Ok(Some(60))
        );
        assert_eq!(parse(b"", V8), Ok(UploadLimits::default()));
    }

    #[test]
    fn a_wrong_typed_known_key_invalidates_the_field() {
        for (bad, key) in [
            (&b"max-size=1.5"[..], "max-size"),
            (b"max-size=-1", "max-size"),
            (b"min-append-size=?1", "min-append-size"),
            (b"max-append-size=(1 2)", "max-append-size"),
            (b"max-age=\"3600\", max-size=10", "max-age"),
            (b"min-size", "min-size"),
        ] {
            assert_eq!(parse(bad, V8), Err(LimitError::WrongType(key)), "{bad:?}");
        }
        for bad in [&b"max-size=="[..], b"max-size=1,", b"\xff", b"Max-Size=1"] {
            assert_eq!(parse(bad, V8), Err(LimitError::Syntax), "{bad:?}");
        }
    }

    /// The reading through a parsed `sfv::Dictionary`, which the visitor
    /// must agree with on every input.
    fn through_a_dictionary(
        value: &[u8],
        version: InteropVersion,
    ) -> Result<UploadLimits, LimitError> {
        use sfv::{BareItem, Dictionary, ListEntry, Parser};
        let dict: Dictionary = Parser::new(value)
            .parse()
            .map_err(|_| LimitError::Syntax)?;
        let mut limits = UploadLimits::default();
        for (key, entry) in &dict {
            let slot = match key.as_str() {
                "max-size" => (&mut limits.max_size, "max-size"),
                "min-size" => (&mut limits.min_size, "min-size"),
                "max-append-size" => (&mut limits.max_append_size, "max-append-size"),
                "min-append-size" => (&mut limits.min_append_size, "min-append-size"),
                k if k == version.lifetime_key() => (&mut limits.max_age, version.lifetime_key()),
                _ => continue,
            };
            let value = match entry {
                ListEntry::Item(item) => match item.bare_item {
                    BareItem::Integer(n) => u64::try_from(i64::from(n)).ok(),
                    _ => None,
                },
                ListEntry::InnerList(_) => None,
            };
            *slot.0 = Some(value.ok_or(LimitError::WrongType(slot.1))?);
        }
        Ok(limits)
    }

    proptest::proptest! {
        #[test]
        fn the_visitor_reads_as_a_dictionary_would(
            members in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "max-size", "min-size", "max-append-size", "min-append-size",
                        "max-age", "expires", "future", "Max-Size",
                    ]),
                    proptest::sample::select(vec![
                        "=0", "=10", "=999999999999999", "=-1", "=1.5", "=?1", "",
                        "=\"3\"", "=(1 2)", "=:AAAA:", "=tok", "=10;p=1", "==", "=1000000000000000",
                    ]),
                ),
                0..6,
            ),
            separator in proptest::sample::select(vec![", ", ",", " , ", ";", " "]),
        ) {
            let value = members
                .iter()
                .map(|(k, v)| format!("{k}{v}"))
                .collect::<Vec<_>>()
                .join(separator);
            for version in [V8, InteropVersion::V6] {
                let (ours, theirs) = (
                    parse(value.as_bytes(), version),
                    through_a_dictionary(value.as_bytes(), version),
                );
                // The dictionary names the first wrong key in its order;
                // either way the field is refused for a wrong type.
                let same = match (&ours, &theirs) {
                    (Err(LimitError::WrongType(_)), Err(LimitError::WrongType(_))) => true,
                    _ => ours == theirs,
                };
                proptest::prop_assert!(same, "{value:?} {version:?}: {ours:?} against {theirs:?}");
            }
        }
    }

    #[test]
    fn a_key_sent_twice_counts_by_its_last_instance() {
        assert_eq!(
            parse(b"max-size=?1, max-size=10", V8).map(|l| l.max_size),
            Ok(Some(10))
        );
        assert_eq!(
            parse(b"max-size=10, max-size=(1 2)", V8),
            Err(LimitError::WrongType("max-size"))
        );
    }

    #[test]
    fn lines_join_into_one_dictionary_and_a_bad_one_is_ignored() {
        let mut headers = HeaderMap::new();
        assert_eq!(from_headers(&headers, V8), None);
        headers.append("upload-limit", http::HeaderValue::from_static("max-size=10"));
        headers.append("upload-limit", http::HeaderValue::from_static("max-age=5"));
        let limits = from_headers(&headers, V8);
        assert_eq!(limits.and_then(|l| l.max_size), Some(10));
        assert_eq!(limits.and_then(|l| l.max_age), Some(5));
        headers.append("upload-limit", http::HeaderValue::from_static("max-size=x"));
        assert_eq!(from_headers(&headers, V8), None);
        // An empty field says nothing: the limits known stay.
        let mut headers = HeaderMap::new();
        headers.append("upload-limit", http::HeaderValue::from_static(""));
        assert_eq!(from_headers(&headers, V8), None);
        headers.append("upload-limit", http::HeaderValue::from_static("max-size=10"));
        assert_eq!(from_headers(&headers, V8).and_then(|l| l.max_size), Some(10));
    }
}
