//! `Location` of a tus creation: the new upload's URL, absolute or relative,
//! resolved against the creation endpoint as RFC 3986 §5 resolves a
//! reference against its base. [`resolve`] does that, [`LocationError`]
//! says what was wrong.
//!
//! Written here rather than taken from the `url` crate: that crate follows
//! the WHATWG URL standard rather than RFC 3986, and brings IDNA tables with
//! it into a core that only ever needs this one algorithm (§5.2), whose
//! examples (§5.4) are its tests. The base is parsed with `http::Uri`, as
//! every request URI the core sends; the reference is split with RFC 3986's
//! own grammar (Appendix B), and the result must parse as an absolute
//! `http(s)` URL again. A fragment is dropped: it is never sent.

use crate::url::is_absolute_http_url;

/// Why a `Location` could not give an upload URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LocationError {
    /// The value is empty (or only whitespace).
    #[error("empty Location")]
    Empty,
    /// The value holds whitespace, a control character or a byte outside
    /// ASCII, which a URI cannot.
    #[error("Location holds a character a URI cannot")]
    BadCharacter,
    /// The endpoint it is resolved against is not an absolute http(s) URL.
    #[error("the creation endpoint is not an absolute http(s) URL")]
    BadBase,
    /// The resolved URL is not an absolute http(s) URL with a host.
    #[error("Location does not resolve to an absolute http(s) URL")]
    NotHttp,
}

/// The absolute URL `reference` (a `Location` value) names, resolved
/// against `base` (the URL the creation was sent to).
pub fn resolve(base: &str, reference: &[u8]) -> Result<String, LocationError> {
    let reference = crate::protocol::trim_ows(reference);
    if reference.is_empty() {
        return Err(LocationError::Empty);
    }
    if !reference.iter().all(u8::is_ascii_graphic) {
        return Err(LocationError::BadCharacter);
    }
    // Only visible ASCII: a str.
    let reference = std::str::from_utf8(reference).map_err(|_| LocationError::BadCharacter)?;
    if !is_absolute_http_url(base) {
        return Err(LocationError::BadBase);
    }
    let b = Parts::split(base);
    let r = Parts::split(reference);
    let target = transform(&b, &r);
    if is_absolute_http_url(&target) {
        Ok(target)
    } else {
        Err(LocationError::NotHttp)
    }
}

/// A URI reference's components (RFC 3986 Appendix B); the fragment is
/// dropped.
struct Parts<'a> {
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
}

impl<'a> Parts<'a> {
    /// `^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?`
    fn split(text: &'a str) -> Self {
        let text = text.split_once('#').map_or(text, |(before, _)| before);
        let (text, query) = match text.split_once('?') {
            Some((before, query)) => (before, Some(query)),
            None => (text, None),
        };
        let (scheme, rest) = match text.find([':', '/']) {
            Some(at) if at > 0 && text.as_bytes()[at] == b':' => {
                (Some(&text[..at]), &text[at + 1..])
            }
            _ => (None, text),
        };
        let (authority, path) = match rest.strip_prefix("//") {
            Some(rest) => {
                let end = rest.find('/').unwrap_or(rest.len());
                (Some(&rest[..end]), &rest[end..])
            }
            None => (None, rest),
        };
        Self {
            scheme,
            authority,
            path,
            query,
        }
    }
}

/// RFC 3986 §5.2.2 (strict), then §5.3's recomposition.
fn transform(base: &Parts<'_>, r: &Parts<'_>) -> String {
    let (scheme, authority, path, query);
    if let Some(s) = r.scheme {
        scheme = s;
        authority = r.authority;
        path = remove_dot_segments(r.path);
        query = r.query;
    } else {
        scheme = base.scheme.unwrap_or_default();
        if r.authority.is_some() {
            authority = r.authority;
            path = remove_dot_segments(r.path);
            query = r.query;
        } else {
            authority = base.authority;
            if r.path.is_empty() {
                path = base.path.to_owned();
                query = r.query.or(base.query);
            } else {
                path = if r.path.starts_with('/') {
                    remove_dot_segments(r.path)
                } else {
                    remove_dot_segments(&merge(base, r.path))
                };
                query = r.query;
            }
        }
    }
    let mut out = String::with_capacity(scheme.len() + path.len() + 16);
    out.push_str(scheme);
    out.push(':');
    if let Some(a) = authority {
        out.push_str("//");
        out.push_str(a);
    }
    out.push_str(&path);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// §5.2.3: the reference's path after the base's, up to its last `/`.
fn merge(base: &Parts<'_>, path: &str) -> String {
    if base.authority.is_some() && base.path.is_empty() {
        return format!("/{path}");
    }
    match base.path.rfind('/') {
        Some(at) => format!("{}{path}", &base.path[..=at]),
        None => path.to_owned(),
    }
}

/// §5.2.4: resolves `.` and `..` segments.
fn remove_dot_segments(path: &str) -> String {
    let mut input = path;
    let mut output = String::with_capacity(path.len());
    while !input.is_empty() {
        if let Some(rest) = input
            .strip_prefix("../")
            .or_else(|| input.strip_prefix("./"))
        {
            input = rest;
        } else if input.starts_with("/./") {
            input = &input[2..];
        } else if input == "/." {
            input = "/";
        } else if input.starts_with("/../") || input == "/.." {
            input = if input == "/.." { "/" } else { &input[3..] };
            let cut = output.rfind('/').unwrap_or(0);
            output.truncate(cut);
        } else if input == "." || input == ".." {
            input = "";
        } else {
            let start = usize::from(input.starts_with('/'));
            let end = input[start..].find('/').map_or(input.len(), |i| i + start);
            output.push_str(&input[..end]);
            input = &input[end..];
        }
    }
    output
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 3986 §5.4's examples, whose base has no http scheme: the
    /// algorithm alone, before the http check.
    fn rfc(reference: &str) -> String {
        let base = Parts::split("http://a/b/c/d;p?q");
        transform(&base, &Parts::split(reference))
    }

    #[test]
    fn rfc_3986_normal_examples() {
        for (r, expected) in [
            ("g:h", "g:h"),
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q"),
            ("g#s", "http://a/b/c/g"),
            ("g?y#s", "http://a/b/c/g?y"),
            (";x", "http://a/b/c/;x"),
            ("g;x", "http://a/b/c/g;x"),
            ("g;x?y#s", "http://a/b/c/g;x?y"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("./", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../", "http://a/"),
            ("../../g", "http://a/g"),
        ] {
            assert_eq!(rfc(r), expected, "{r:?}");
        }
    }

    #[test]
    fn rfc_3986_abnormal_examples() {
        for (r, expected) in [
            ("../../../g", "http://a/g"),
            ("../../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("/../g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            (".g", "http://a/b/c/.g"),
            ("g..", "http://a/b/c/g.."),
            ("..g", "http://a/b/c/..g"),
            ("./../g", "http://a/b/g"),
            ("./g/.", "http://a/b/c/g/"),
            ("g/./h", "http://a/b/c/g/h"),
            ("g/../h", "http://a/b/c/h"),
            ("g;x=1/./y", "http://a/b/c/g;x=1/y"),
            ("g;x=1/../y", "http://a/b/c/y"),
            ("g?y/./x", "http://a/b/c/g?y/./x"),
            ("g?y/../x", "http://a/b/c/g?y/../x"),
            ("g#s/./x", "http://a/b/c/g"),
            ("g#s/../x", "http://a/b/c/g"),
            ("http:g", "http:g"),
        ] {
            assert_eq!(rfc(r), expected, "{r:?}");
        }
    }

    #[test]
    fn locations_of_tus_servers() {
        let base = "https://tus.example.org/files/";
        let ok = |r: &str| resolve(base, r.as_bytes());
        assert_eq!(
            ok("https://tus.example.org/files/24e533e0"),
            Ok("https://tus.example.org/files/24e533e0".into())
        );
        assert_eq!(
            ok("/files/abc"),
            Ok("https://tus.example.org/files/abc".into())
        );
        assert_eq!(ok("abc"), Ok("https://tus.example.org/files/abc".into()));
        assert_eq!(
            ok(" abc?x=1 "),
            Ok("https://tus.example.org/files/abc?x=1".into())
        );
        assert_eq!(
            resolve("http://127.0.0.1:1080/files", b"files/abc"),
            Ok("http://127.0.0.1:1080/files/abc".into())
        );
        assert_eq!(
            ok("//other.example/u/1"),
            Ok("https://other.example/u/1".into())
        );
    }

    #[test]
    fn hostile_values_are_refused() {
        let base = "https://tus.example.org/files/";
        let bad = |r: &[u8]| resolve(base, r);
        assert_eq!(bad(b""), Err(LocationError::Empty));
        assert_eq!(bad(b"  "), Err(LocationError::Empty));
        assert_eq!(bad(b"a b"), Err(LocationError::BadCharacter));
        assert_eq!(bad(b"a\x01"), Err(LocationError::BadCharacter));
        assert_eq!(bad("/ä".as_bytes()), Err(LocationError::BadCharacter));
        assert_eq!(bad(b"ftp://x/y"), Err(LocationError::NotHttp));
        assert_eq!(bad(b"g:h"), Err(LocationError::NotHttp));
        assert_eq!(bad(b"http:g"), Err(LocationError::NotHttp));
        assert_eq!(bad(b"https://"), Err(LocationError::NotHttp));
        assert_eq!(bad(b"//[::1"), Err(LocationError::NotHttp));
        assert_eq!(resolve("/files", b"abc"), Err(LocationError::BadBase));
    }

    proptest! {
        #[test]
        fn never_panics_and_resolves_to_http(reference in "[ -~]{0,40}") {
            if let Ok(url) = resolve("https://h.example/a/b?q", reference.as_bytes()) {
                prop_assert!(is_absolute_http_url(&url));
            }
        }

        #[test]
        fn an_absolute_location_is_kept(path in "(/[a-z0-9]{1,5}){0,4}") {
            let url = format!("https://other.example{path}");
            prop_assert_eq!(resolve("https://h.example/x", url.as_bytes()), Ok(url));
        }
    }
}
