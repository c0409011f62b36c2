//! Percent-encoding and query strings, the little of URLs the emulator needs.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Everything but RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`).
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn encode(s: &str) -> String {
    utf8_percent_encode(s, NOT_UNRESERVED).to_string()
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`); `None` when
/// an escape is malformed or the result is not UTF-8.
pub(crate) fn decode(s: &str, plus_is_space: bool) -> Option<String> {
    // The crate passes a malformed escape through as it is; this server is strict.
    let well_formed = s.split('%').skip(1).all(|escape| {
        let hex = escape.as_bytes().get(..2);
        hex.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    let spaced;
    let text = if plus_is_space {
        spaced = s.replace('+', " ");
        &spaced
    } else {
        s
    };
    percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(String::from)
}

/// Decoded `key=value` pairs of a query string, in order; `None` if one is malformed.
pub(crate) fn parse_query(query: Option<&str>) -> Option<Vec<(String, String)>> {
    let Some(query) = query else {
        return Some(Vec::new());
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode(k, true)?, decode(v, true)?))
        })
        .collect()
}

/// The first value of `key` in decoded query pairs.
pub(crate) fn query_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The query string with the value of `upload_id` replaced, for logs. The
/// name is matched decoded, as [`parse_query`] reads it (`upload%5Fid` names
/// the session too); a pair whose name does not decode is redacted whole.
pub(crate) fn redact_upload_id(path_and_query: &str) -> String {
    let Some((path, query)) = path_and_query.split_once('?') else {
        return path_and_query.to_owned();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|p| {
            let name = p.split_once('=').map_or(p, |(k, _)| k);
            match decode(name, true) {
                Some(decoded) if decoded == "upload_id" => format!("{name}=REDACTED"),
                Some(_) => p.to_owned(),
                None => "REDACTED".to_owned(),
            }
        })
        .collect();
    format!("{path}?{}", parts.join("&"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn round_trips() {
        let name = "files/org_1/file_x/my file+ü?.bin";
        let enc = encode(name);
        assert_eq!(enc, "files%2Forg_1%2Ffile_x%2Fmy%20file%2B%C3%BC%3F.bin");
        assert_eq!(decode(&enc, true).as_deref(), Some(name));
        assert_eq!(decode("a+b", true).as_deref(), Some("a b"));
        assert_eq!(decode("a+b", false).as_deref(), Some("a+b"));
        assert_eq!(decode("%zz", false), None);
        assert_eq!(decode("%4", false), None);
        assert_eq!(decode("%", false), None);
        assert_eq!(decode("a%C3", false), None);
        assert_eq!(decode("%C3%bc%2b", false).as_deref(), Some("ü+"));
        assert_eq!(decode("%2B+", true).as_deref(), Some("+ "));
        assert_eq!(
            encode("100% a?b#c&d=e+f~"),
            "100%25%20a%3Fb%23c%26d%3De%2Bf~"
        );
    }

    #[test]
    fn queries() {
        let q = parse_query(Some("uploadType=resumable&name=a%2Fb&upload_id=x1")).unwrap();
        assert_eq!(query_value(&q, "name"), Some("a/b"));
        assert_eq!(query_value(&q, "upload_id"), Some("x1"));
        assert_eq!(query_value(&q, "nope"), None);
        assert_eq!(
            redact_upload_id("/upload?uploadType=resumable&upload_id=secret"),
            "/upload?uploadType=resumable&upload_id=REDACTED"
        );
        assert_eq!(
            redact_upload_id("/upload?upload%5Fid=secret&name=a&upload%5fid=s2"),
            "/upload?upload%5Fid=REDACTED&name=a&upload%5fid=REDACTED"
        );
        assert_eq!(redact_upload_id("/u?upload_id"), "/u?upload_id=REDACTED");
        assert_eq!(redact_upload_id("/u?%zz=secret"), "/u?REDACTED");
        let q = parse_query(Some("upload%5Fid=x1")).unwrap();
        assert_eq!(query_value(&q, "upload_id"), Some("x1"));
    }
}
