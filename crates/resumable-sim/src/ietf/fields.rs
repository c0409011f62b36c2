//! The draft's header fields as Structured Field Values (RFC 9651), read
//! and written with `sfv`: `Upload-Offset`, `Upload-Length` and
//! `Upload-Draft-Interop-Version` (Integer items), `Upload-Complete`
//! (Boolean item), `Upload-Limit` and `Want-Content-Digest` (Dictionaries of
//! Integers), `Content-Digest` and `Repr-Digest` (RFC 9530: Dictionaries of
//! Byte Sequences).

use http::HeaderMap;
use sfv::{BareItem, DictSerializer, Dictionary, Integer, Item, ItemSerializer, KeyRef, ListEntry};

/// A header field as a request carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field<T> {
    /// Not sent.
    Absent,
    /// Sent, but not a valid value of the field's type.
    Invalid,
    /// Sent and valid.
    Value(T),
}

impl<T> Field<T> {
    /// The value, treating an invalid field as absent, as the draft asks of
    /// its own fields ("other values MUST cause the entire header field to
    /// be ignored", §4.1.1–§4.1.3).
    pub(crate) fn ignoring_invalid(self) -> Option<T> {
        match self {
            Field::Value(v) => Some(v),
            Field::Absent | Field::Invalid => None,
        }
    }
}

/// The field's lines joined as RFC 9651 §4.2 asks (comma-separated), when
/// they are text.
fn joined(headers: &HeaderMap, name: &str) -> Field<String> {
    let mut lines = headers.get_all(name).iter().peekable();
    if lines.peek().is_none() {
        return Field::Absent;
    }
    let mut out = String::new();
    for line in lines {
        let Ok(text) = line.to_str() else {
            return Field::Invalid;
        };
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(text);
    }
    Field::Value(out)
}

fn item(headers: &HeaderMap, name: &str) -> Field<Item> {
    if headers.get_all(name).iter().count() > 1 {
        // An Item does not span lines: two lines are two values.
        return Field::Invalid;
    }
    match joined(headers, name) {
        Field::Value(text) => match sfv::Parser::new(&text).parse::<Item>() {
            Ok(item) => Field::Value(item),
            Err(_) => Field::Invalid,
        },
        Field::Absent => Field::Absent,
        Field::Invalid => Field::Invalid,
    }
}

/// A non-negative Integer item (parameters ignored).
pub(crate) fn integer(headers: &HeaderMap, name: &str) -> Field<u64> {
    match item(headers, name) {
        Field::Value(Item {
            bare_item: BareItem::Integer(i),
            ..
        }) => match u64::try_from(i64::from(i)) {
            Ok(n) => Field::Value(n),
            Err(_) => Field::Invalid,
        },
        Field::Value(_) | Field::Invalid => Field::Invalid,
        Field::Absent => Field::Absent,
    }
}

/// A Boolean item (parameters ignored).
pub(crate) fn boolean(headers: &HeaderMap, name: &str) -> Field<bool> {
    match item(headers, name) {
        Field::Value(Item {
            bare_item: BareItem::Boolean(b),
            ..
        }) => Field::Value(b),
        Field::Value(_) | Field::Invalid => Field::Invalid,
        Field::Absent => Field::Absent,
    }
}

/// The `sha-256` member of an RFC 9530 digest field: `Value(None)` when
/// the field names only algorithms the servers do not compute (RFC 9530
/// §2: those are ignored); `Invalid` when it is no Dictionary, or its
/// `sha-256` member is no Byte Sequence of 32 bytes.
pub(crate) fn sha256(headers: &HeaderMap, name: &str) -> Field<Option<[u8; 32]>> {
    let text = match joined(headers, name) {
        Field::Value(t) => t,
        Field::Absent => return Field::Absent,
        Field::Invalid => return Field::Invalid,
    };
    let Ok(dict) = sfv::Parser::new(&text).parse::<Dictionary>() else {
        return Field::Invalid;
    };
    match dict.get("sha-256") {
        None => Field::Value(None),
        Some(ListEntry::Item(Item {
            bare_item: BareItem::ByteSequence(bytes),
            ..
        })) => match <[u8; 32]>::try_from(bytes.as_slice()) {
            Ok(d) => Field::Value(Some(d)),
            Err(_) => Field::Invalid,
        },
        Some(_) => Field::Invalid,
    }
}

/// An Integer item, saturated at the largest an sf-integer holds (15
/// digits; no offset in practice comes near).
pub(crate) fn write_integer(n: u64) -> String {
    ItemSerializer::new().bare_item(sf_integer(n)).finish()
}

fn sf_integer(n: u64) -> Integer {
    Integer::try_from(n).unwrap_or(Integer::MAX)
}

/// A Boolean item: `?1` or `?0`.
pub(crate) fn write_bool(b: bool) -> String {
    ItemSerializer::new().bare_item(b).finish()
}

/// A Dictionary of Integers, in the order given; `None` when empty (an
/// empty Dictionary is no field value).
pub(crate) fn write_dictionary(members: &[(&'static str, u64)]) -> Option<String> {
    let mut ser = DictSerializer::new();
    for (key, value) in members {
        ser.bare_item(KeyRef::constant(key), sf_integer(*value));
    }
    ser.finish()
}

/// An RFC 9530 digest field naming one `sha-256` digest.
pub(crate) fn write_sha256(digest: &[u8]) -> String {
    let mut ser = DictSerializer::new();
    ser.bare_item(KeyRef::constant("sha-256"), digest);
    // A dictionary with a member always serialises.
    ser.finish().unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn one(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn items_read_strictly() {
        assert_eq!(
            integer(&one("upload-offset", "25000000"), "upload-offset"),
            Field::Value(25_000_000)
        );
        assert_eq!(
            integer(&one("upload-offset", "-1"), "upload-offset"),
            Field::Invalid
        );
        assert_eq!(
            integer(&one("upload-offset", "1.5"), "upload-offset"),
            Field::Invalid
        );
        assert_eq!(
            integer(&one("upload-offset", "12;a=b"), "upload-offset"),
            Field::Value(12)
        );
        assert_eq!(integer(&HeaderMap::new(), "upload-offset"), Field::Absent);
        assert_eq!(
            boolean(&one("upload-complete", "?1"), "upload-complete"),
            Field::Value(true)
        );
        assert_eq!(
            boolean(&one("upload-complete", "1"), "upload-complete"),
            Field::Invalid
        );
        assert_eq!(
            boolean(&one("upload-complete", "true"), "upload-complete"),
            Field::Invalid
        );
        let mut two = one("upload-offset", "1");
        two.append("upload-offset", HeaderValue::from_static("1"));
        assert_eq!(integer(&two, "upload-offset"), Field::Invalid);
    }

    #[test]
    fn digests_and_dictionaries() {
        // RFC 9530 §B.1: sha-256 of `{"hello": "world"}`.
        let h = one(
            "content-digest",
            "sha-512=:AAAA:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
        );
        let d = sha256(&h, "content-digest");
        assert!(matches!(d, Field::Value(Some(_))));
        let Field::Value(Some(d)) = d else {
            unreachable!()
        };
        assert_eq!(
            write_sha256(&d),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
        assert_eq!(
            sha256(&one("content-digest", "md5=:AAAA:"), "content-digest"),
            Field::Value(None)
        );
        assert_eq!(
            sha256(&one("content-digest", "sha-256=:AAAA:"), "content-digest"),
            Field::Invalid
        );
        assert_eq!(
            sha256(&one("content-digest", "sha-256"), "content-digest"),
            Field::Invalid
        );
        assert_eq!(
            write_dictionary(&[("max-size", 1_000_000_000), ("max-age", 3600)]).as_deref(),
            Some("max-size=1000000000, max-age=3600")
        );
        assert_eq!(write_dictionary(&[]), None);
        assert_eq!(write_bool(false), "?0");
        assert_eq!(write_integer(u64::MAX), "999999999999999");
    }
}
