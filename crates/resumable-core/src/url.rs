//! URLs the core builds or is handed: whether one is usable, and path
//! segments encoded for them.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Whether `s` is an absolute `http` or `https` URL with a host.
pub(crate) fn is_absolute_http_url(s: &str) -> bool {
    match s.parse::<http::Uri>() {
        Ok(uri) => {
            matches!(uri.scheme_str(), Some("http" | "https"))
                && uri.host().is_some_and(|h| !h.is_empty())
        }
        Err(_) => false,
    }
}

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`).
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes everything but RFC 3986's unreserved characters, for a
/// path segment or a query value: UTF-8 bytes as `%XX`, upper-case hex.
pub(crate) fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, NOT_UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_encoding() {
        assert!(is_absolute_http_url("http://127.0.0.1:8080/x"));
        assert!(!is_absolute_http_url("//h/x"));
        assert!(!is_absolute_http_url("https:///x"));
        assert_eq!(
            percent_encode("files/org 1/ä.bin"),
            "files%2Forg%201%2F%C3%A4.bin"
        );
    }

    /// The encoding the transcript tests' URLs rely on, for names that need it.
    #[test]
    fn tricky_names_encode_as_before() {
        for (name, encoded) in [
            ("", ""),
            ("plain-name_1.2~x", "plain-name_1.2~x"),
            ("a/b/c", "a%2Fb%2Fc"),
            ("my file", "my%20file"),
            ("100%", "100%25"),
            ("%2F", "%252F"),
            ("a?b#c&d=e+f", "a%3Fb%23c%26d%3De%2Bf"),
            ("ü", "%C3%BC"),
            ("日本.txt", "%E6%97%A5%E6%9C%AC.txt"),
            ("🎬.mp4", "%F0%9F%8E%AC.mp4"),
            ("org:1;x,y@z!$'()*", "org%3A1%3Bx%2Cy%40z%21%24%27%28%29%2A"),
            ("tab\there\n\0", "tab%09here%0A%00"),
            ("[]{}|\\^`\"<>", "%5B%5D%7B%7D%7C%5C%5E%60%22%3C%3E"),
            ("\u{7f}", "%7F"),
        ] {
            assert_eq!(percent_encode(name), encoded, "{name:?}");
        }
        // Every ASCII character: unreserved ones as they are, the rest `%XX`.
        for b in 0..=127u8 {
            let c = char::from(b);
            let expected = if b.is_ascii_alphanumeric() || "-._~".contains(c) {
                c.to_string()
            } else {
                format!("%{b:02X}")
            };
            assert_eq!(percent_encode(&c.to_string()), expected, "{b:#04x}");
        }
    }
}
