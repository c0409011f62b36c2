//! Percent-encoding and query strings, the little of URLs the emulator needs.

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`); `None` when
/// an escape is malformed or the result is not UTF-8.
pub(crate) fn decode(s: &str, plus_is_space: bool) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = hex(*bytes.get(i + 1)?)?;
                let lo = hex(*bytes.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
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
