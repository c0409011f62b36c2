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

    /// The URL with credential parameters replaced by `<redacted>`.
    #[must_use]
    pub fn redacted(&self) -> String {
        let Some((base, query)) = self.0.split_once('?') else {
            return self.0.clone();
        };
        let params: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if SECRET_PARAMS.contains(&name.to_ascii_lowercase().as_str()) => {
                    format!("{name}=<redacted>")
                }
                _ => pair.to_owned(),
            })
            .collect();
        format!("{base}?{}", params.join("&"))
    }
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
}
