//! The draft's Item fields, parsed as Structured Fields (RFC 9651) with
//! `sfv`: `Upload-Offset` and `Upload-Length` (non-negative Integers,
//! §4.1.1 and §4.1.3), `Upload-Complete` (a Boolean, §4.1.2) and
//! `Upload-Draft-Interop-Version` (an Integer, appendix "Draft Version
//! Identification"). Parameters on the item are allowed and ignored.
//!
//! The draft says a value of another shape "MUST cause the entire header
//! field to be ignored": callers treat an error as the field's absence,
//! except where a response must carry a valid one.

use http::{HeaderMap, HeaderName};
use sfv::{BareItem, Item, Parser};

/// Why a field value is not the item it should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// The field is not a Structured Field Item (or is sent more than once).
    #[error("not a structured field item")]
    Syntax,
    /// The item is of another type than the field's.
    #[error("an item of the wrong type")]
    WrongType,
    /// An Integer field holds a negative number.
    #[error("a negative number")]
    Negative,
}

/// Parses one Item from a field value.
fn item(value: &[u8]) -> Result<Item, FieldError> {
    Parser::new(value)
        .parse::<Item>()
        .map_err(|_| FieldError::Syntax)
}

/// A non-negative Integer item, as `Upload-Offset` and `Upload-Length` are.
pub fn parse_count(value: &[u8]) -> Result<u64, FieldError> {
    match item(value)?.bare_item {
        BareItem::Integer(n) => u64::try_from(i64::from(n)).map_err(|_| FieldError::Negative),
        _ => Err(FieldError::WrongType),
    }
}

/// A Boolean item, as `Upload-Complete` is.
pub fn parse_boolean(value: &[u8]) -> Result<bool, FieldError> {
    item(value)?
        .bare_item
        .as_boolean()
        .ok_or(FieldError::WrongType)
}

/// The field `name` of `headers` read with `parse`: `None` when absent;
/// sent twice, it is no single item.
pub(crate) fn field<T>(
    headers: &HeaderMap,
    name: HeaderName,
    parse: fn(&[u8]) -> Result<T, FieldError>,
) -> Option<Result<T, FieldError>> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return Some(Err(FieldError::Syntax));
    }
    Some(parse(first.as_bytes()))
}

/// `Upload-Complete` when present and valid; an invalid one is ignored, as
/// §4.1.2 says.
pub(crate) fn complete(headers: &HeaderMap) -> Option<bool> {
    field(headers, super::UPLOAD_COMPLETE, parse_boolean).and_then(Result::ok)
}

/// A count as a header value: an sf-integer is plain decimal.
pub(crate) fn count_header(n: u64) -> http::HeaderValue {
    http::HeaderValue::from(n)
}

/// A boolean as a header value (`?1`, `?0`).
pub(crate) fn boolean_header(b: bool) -> http::HeaderValue {
    http::HeaderValue::from_static(if b { "?1" } else { "?0" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_booleans_parse_as_structured_items() {
        assert_eq!(parse_count(b"25000000"), Ok(25_000_000));
        assert_eq!(parse_count(b" 0 "), Ok(0));
        assert_eq!(parse_count(b"12;p=1"), Ok(12));
        assert_eq!(parse_count(b"999999999999999"), Ok(999_999_999_999_999));
        assert_eq!(parse_boolean(b"?1"), Ok(true));
        assert_eq!(parse_boolean(b"?0"), Ok(false));
    }

    #[test]
    fn bad_items_are_typed_errors() {
        for bad in [
            &b""[..],
            b"1e3",
            b"0x10",
            b"1 2",
            b"1,2",
            b"9999999999999999",
            b"\xff",
            b"(1 2)",
        ] {
            assert_eq!(parse_count(bad), Err(FieldError::Syntax), "{bad:?}");
        }
        assert_eq!(parse_count(b"-1"), Err(FieldError::Negative));
        assert_eq!(parse_count(b"1.5"), Err(FieldError::WrongType));
        assert_eq!(parse_count(b"?1"), Err(FieldError::WrongType));
        assert_eq!(parse_count(b"\"7\""), Err(FieldError::WrongType));
        assert_eq!(parse_boolean(b"1"), Err(FieldError::WrongType));
        assert_eq!(parse_boolean(b"true"), Err(FieldError::WrongType));
        assert_eq!(parse_boolean(b"?2"), Err(FieldError::Syntax));
    }

    #[test]
    fn a_field_sent_twice_is_no_item() {
        let mut headers = HeaderMap::new();
        headers.append("upload-offset", http::HeaderValue::from_static("1"));
        assert_eq!(field(&headers, super::super::UPLOAD_OFFSET, parse_count), Some(Ok(1)));
        headers.append("upload-offset", http::HeaderValue::from_static("1"));
        assert_eq!(
            field(&headers, super::super::UPLOAD_OFFSET, parse_count),
            Some(Err(FieldError::Syntax))
        );
        assert_eq!(field(&headers, super::super::UPLOAD_LENGTH, parse_count), None);
        headers.insert("upload-complete", http::HeaderValue::from_static("yes"));
        assert_eq!(complete(&headers), None);
    }
}
