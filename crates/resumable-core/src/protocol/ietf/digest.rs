//! Integrity fields of RFC 9530 as the draft uses them (§10): the
//! `Repr-Digest` of the whole representation on the request that completes
//! the upload, the `Content-Digest` of one request's content, and the
//! server's `Want-Repr-Digest` / `Want-Content-Digest` asking for them
//! (RFC 9530 §4), and the `Repr-Digest` a server computed of the complete
//! upload, which the engine compares with its own (§10.1). The engine computes SHA-256 only (`sha-256`), the
//! algorithm RFC 9530 lists first among the active ones.

use http::{HeaderMap, HeaderValue};
use sfv::{BareItemFromInput, DictSerializer, KeyRef};

use super::members::last_members;

/// The algorithm key of SHA-256 in RFC 9530's registry.
const SHA_256: &KeyRef = KeyRef::constant("sha-256");

/// A digest field's value: `sha-256=:<base64>:` (an sf-dictionary with one
/// byte-sequence member, RFC 9530 §2 and §3).
pub fn sha256_header(digest: &[u8]) -> Option<HeaderValue> {
    let mut ser = DictSerializer::new();
    let _ = ser.bare_item(SHA_256, digest);
    let text = ser.finish()?;
    HeaderValue::from_str(&text).ok()
}

/// Whether a `Want-Repr-Digest` or `Want-Content-Digest` value asks for
/// SHA-256: its `sha-256` member an Integer from 1 to 10 (0 means "not
/// acceptable", RFC 9530 §4). A value that is no dictionary asks nothing.
pub fn wants_sha256(value: &[u8]) -> bool {
    let [wanted] = last_members(value, [SHA_256.as_str()], |item| {
        matches!(item, Some(BareItemFromInput::Integer(n)) if (1..=10).contains(&i64::from(n)))
    })
    .unwrap_or_default();
    wanted.unwrap_or(false)
}

/// The SHA-256 a `Repr-Digest` or `Content-Digest` value carries: its
/// `sha-256` member, a Byte Sequence of 32 bytes (RFC 9530 §2, §3). A
/// value that is no dictionary, or has no such member, carries none.
pub fn sha256_of_field(value: &[u8]) -> Option<[u8; 32]> {
    let [digest] = last_members(value, [SHA_256.as_str()], |item| match item {
        Some(BareItemFromInput::ByteSequence(bytes)) => <[u8; 32]>::try_from(bytes.as_slice()).ok(),
        _ => None,
    })?;
    digest.flatten()
}

/// What an answer asks the client to send, when it says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Wanted {
    /// `Want-Repr-Digest: sha-256=…`.
    pub(crate) repr: bool,
    /// `Want-Content-Digest: sha-256=…`.
    pub(crate) content: bool,
}

/// The digests an answer asks for, or `None` when it has neither field.
pub(crate) fn wanted(headers: &HeaderMap) -> Option<Wanted> {
    let ask = |name| {
        headers
            .get(name)
            .map(|v: &HeaderValue| wants_sha256(v.as_bytes()))
    };
    let (repr, content) = (ask(super::WANT_REPR_DIGEST), ask(super::WANT_CONTENT_DIGEST));
    (repr.is_some() || content.is_some()).then(|| Wanted {
        repr: repr.unwrap_or(false),
        content: content.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use sha2::Digest as _;

    use super::*;

    #[test]
    fn the_digest_of_hello_world_as_rfc_9530_writes_it() {
        // RFC 9530 §2's example digest is of `{"hello": "world"}`.
        let digest = sha2::Sha256::digest(br#"{"hello": "world"}"#);
        assert_eq!(
            sha256_header(&digest),
            Some(HeaderValue::from_static(
                "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
            ))
        );
    }

    #[test]
    fn a_repr_digest_gives_its_sha256_member() {
        let digest: [u8; 32] = sha2::Sha256::digest(br#"{"hello": "world"}"#).into();
        let field = b"sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
        assert_eq!(sha256_of_field(field), Some(digest));
        assert_eq!(
            sha256_of_field(b"sha-512=:AAAA:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"),
            Some(digest)
        );
        for bad in [
            &b"sha-256=:AAAA:"[..],
            b"sha-256=10",
            b"sha-256=\"X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\"",
            b"sha-512=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
            b":X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
            b"\xff",
            b"",
        ] {
            assert_eq!(sha256_of_field(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn wants_read_the_sha256_preference() {
        assert!(wants_sha256(b"sha-256=10"));
        assert!(wants_sha256(b"sha-512=3, sha-256=1"));
        assert!(!wants_sha256(b"sha-256=0"));
        assert!(!wants_sha256(b"sha-512=3"));
        for bad in [&b"sha-256=11"[..], b"sha-256=?1", b"sha-256", b"=", b"\xff", b""] {
            assert!(!wants_sha256(bad), "{bad:?}");
        }
        let mut headers = HeaderMap::new();
        assert_eq!(wanted(&headers), None);
        headers.insert("want-content-digest", HeaderValue::from_static("sha-256=5"));
        assert_eq!(
            wanted(&headers),
            Some(Wanted {
                repr: false,
                content: true
            })
        );
    }
}
