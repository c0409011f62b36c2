//! Values that must never reach a log: the API key and session URLs.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A credential (an API key, a bearer token). `Debug` and `Display` print
/// `<redacted>`; [`Secret::expose`] gives the value to the one header that
/// carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a key.
    #[must_use]
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself, for the one header that carries it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A resumable session's URL. It is the session's only credential, so
/// `Debug` and `Display` redact the value of its `upload_id` parameter (and
/// any signature parameters); use [`SessionUrl::expose`] to send it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionUrl(String);

/// Query parameters whose values are credentials.
const SECRET_PARAMS: &[&str] = &[
    "upload_id",
    "x-goog-signature",
    "x-goog-credential",
    "signature",
    "sig",
    "token",
    "access_token",
    "key",
];

impl SessionUrl {
    /// Wraps a URL; [`crate::Upload`] validates it before use.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The full URL, for the request line only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with credential parameters replaced by `<redacted>`. Names
    /// are matched percent-decoded, as a server reads them (`upload%5Fid`);
    /// a parameter whose name does not decode is redacted whole.
    #[must_use]
    pub fn redacted(&self) -> String {
        let Some((base, query)) = self.0.split_once('?') else {
            return self.0.clone();
        };
        let params: Vec<String> = query
            .split('&')
            .map(|pair| {
                let name = pair.split_once('=').map_or(pair, |(name, _)| name);
                match percent_decode(name) {
                    Some(decoded) if is_secret_param(&decoded) => format!("{name}=<redacted>"),
                    Some(_) => pair.to_owned(),
                    None => "<redacted>".to_owned(),
                }
            })
            .collect();
        format!("{base}?{}", params.join("&"))
    }

    /// Whether `text` holds the value of one of the URL's credential
    /// parameters (raw or decoded), or is part of one: such text (a server's
    /// upload id that names the session by its credential) must not be logged.
    pub(crate) fn reveals_credential(&self, text: &str) -> bool {
        let Some((_, query)) = self.0.split_once('?') else {
            return false;
        };
        !text.is_empty()
            && query.split('&').any(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let secret = percent_decode(name).is_none_or(|n| is_secret_param(&n));
                let decoded = percent_decode(value).unwrap_or_default();
                secret
                    && [value, decoded.as_str()]
                        .iter()
                        .any(|v| !v.is_empty() && (text.contains(v) || v.contains(text)))
            })
    }
}

fn is_secret_param(name: &str) -> bool {
    SECRET_PARAMS.contains(&name.to_ascii_lowercase().as_str())
}

/// `%XX` escapes (and `+` as a space) decoded; `None` when an escape is
/// malformed or the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    // The crate passes a malformed escape through as it is, but a server may
    // read it otherwise: such a name must not pass as harmless.
    let well_formed = s.split('%').skip(1).all(|escape| {
        let hex = escape.as_bytes().get(..2);
        hex.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8()
        .ok()
        .map(String::from)
}

impl fmt::Debug for SessionUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionUrl({})", self.redacted())
    }
}

impl fmt::Display for SessionUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let k = Secret::new("sk-secret-123");
        assert!(!format!("{k:?} {k}").contains("secret"));
        assert_eq!(k.expose(), "sk-secret-123");
    }

    #[test]
    fn session_url_redacts_upload_id_only() {
        let u = SessionUrl::new(
            "https://up.example/upload/storage/v1/b/b/o?uploadType=resumable&name=a%2Fb&upload_id=ABCsecret",
        );
        let shown = format!("{u:?} {u}");
        assert!(!shown.contains("ABCsecret"), "{shown}");
        assert!(shown.contains("uploadType=resumable&name=a%2Fb&upload_id=<redacted>"));
        assert!(u.expose().ends_with("ABCsecret"));
        assert_eq!(SessionUrl::new("https://x/y").redacted(), "https://x/y");
        assert!(
            !SessionUrl::new("https://x/?X-Goog-Signature=s1")
                .to_string()
                .contains("s1")
        );
    }

    #[test]
    fn percent_encoded_names_are_redacted_too() {
        for url in [
            "https://up.example/u?name=a&upload%5Fid=ABCsecret",
            "https://up.example/u?name=a&UPLOAD%5fID=ABCsecret",
            "https://up.example/u?name=a&%75pload_id=ABCsecret",
            "https://up.example/u?name=a&%zzupload_id=ABCsecret",
            "https://up.example/u?name=a&upload_id%=ABCsecret",
            "https://up.example/u?name=a&upload_id%5=ABCsecret",
            "https://up.example/u?name=a&upload_id%C3=ABCsecret",
        ] {
            let shown = SessionUrl::new(url).to_string();
            assert!(!shown.contains("ABCsecret"), "{shown}");
            assert!(shown.contains("name=a"), "{shown}");
        }
        // `+` and `%2B` in a value are not names: kept as they are.
        assert_eq!(
            SessionUrl::new("https://x/?a=b+c%2B").redacted(),
            "https://x/?a=b+c%2B"
        );
    }

    #[test]
    fn text_revealing_a_credential_is_recognised() {
        let u = SessionUrl::new("https://x/u?name=ABCsecret1&upload_id=AB%2Bsecret&sig=");
        assert!(u.reveals_credential("AB%2Bsecret"));
        assert!(u.reveals_credential("AB+secret"));
        assert!(u.reveals_credential("prefix-AB+secret-suffix"));
        assert!(!u.reveals_credential("ABCsecret1"), "name is no credential");
        assert!(!u.reveals_credential("other"));
        assert!(!u.reveals_credential(""));
        assert!(!SessionUrl::new("https://x/u").reveals_credential("x"));
    }
}
