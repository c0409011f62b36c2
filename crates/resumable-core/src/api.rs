//! The application file API: request bodies, the upload session it hands out,
//! and the messages of its errors.

use std::time::SystemTime;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};

use crate::error::ProtocolError;
use crate::secret::SessionUrl;
use crate::timestamp;

/// Body of `POST {api}/v1/organizations/{org}/files/upload-url`.
#[derive(Debug, Serialize)]
pub(crate) struct UploadUrlRequest<'a> {
    pub(crate) filename: &'a str,
    pub(crate) file_size: u64,
    pub(crate) mime_type: &'a str,
    pub(crate) upload_type: &'a str,
}

/// Body of `POST {api}/v1/organizations/{org}/files`.
#[derive(Debug, Serialize)]
pub(crate) struct RegisterRequest<'a> {
    pub(crate) filename: &'a str,
    pub(crate) gcs_path: &'a str,
    pub(crate) file_size: u64,
    pub(crate) mime_type: &'a str,
}

/// An upload session as the file API hands it out, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSession {
    /// Where the bytes go; the session's own credential.
    pub upload_url: SessionUrl,
    /// Where the object will be, to register it.
    pub gcs_path: String,
    /// The id the File will have.
    pub file_id: String,
    /// When the session stops accepting bytes.
    pub expires_at: SystemTime,
    /// The largest file the API accepts, when it says.
    pub max_file_size: Option<u64>,
    /// The chunk size the API recommends, when it says.
    pub chunk_size_recommended: Option<u64>,
    /// The upload protocol the API named for the session (`resumable`:
    /// the GCS resumable protocol), when it named one.
    pub upload_type: Option<String>,
}

#[derive(Deserialize)]
struct RawSession {
    upload_url: String,
    gcs_path: String,
    file_id: String,
    expires_at: String,
    max_file_size: Option<u64>,
    upload_type: Option<String>,
    chunk_size_recommended: Option<u64>,
}

impl UploadSession {
    /// Reads and validates an `upload-url` answer for a file of `file_size`
    /// bytes at wall-clock time `now`.
    pub fn parse(body: &[u8], file_size: u64, now: SystemTime) -> Result<Self, SessionError> {
        let raw: RawSession =
            serde_json::from_slice(body).map_err(|e| ProtocolError::json("upload session", &e))?;
        if !is_absolute_http_url(&raw.upload_url) {
            return Err(
                ProtocolError::BadSession("upload_url is not an absolute http(s) URL").into(),
            );
        }
        if raw.gcs_path.is_empty() {
            return Err(ProtocolError::BadSession("gcs_path is empty").into());
        }
        let expires_at = timestamp::parse_rfc3339(&raw.expires_at).map_err(|error| {
            ProtocolError::Timestamp {
                field: "expires_at",
                error,
            }
        })?;
        if expires_at <= now {
            return Err(ProtocolError::BadSession("expires_at is in the past").into());
        }
        if let Some(max) = raw.max_file_size
            && file_size > max
        {
            return Err(SessionError::TooLarge {
                size: file_size,
                max,
            });
        }
        Ok(Self {
            upload_url: SessionUrl::new(raw.upload_url),
            gcs_path: raw.gcs_path,
            file_id: raw.file_id,
            expires_at,
            max_file_size: raw.max_file_size,
            chunk_size_recommended: raw.chunk_size_recommended.filter(|&n| n > 0),
            upload_type: raw.upload_type,
        })
    }
}

/// Why an `upload-url` answer cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The answer breaks the API's contract.
    #[error(transparent)]
    Protocol(ProtocolError),
    /// The file is larger than the session's `max_file_size`.
    #[error("the file has {size} bytes, more than the {max} the file API accepts")]
    TooLarge {
        /// The file's size.
        size: u64,
        /// The largest size the API accepts.
        max: u64,
    },
}

impl From<ProtocolError> for SessionError {
    fn from(e: ProtocolError) -> Self {
        Self::Protocol(e)
    }
}

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

/// The human message of an error answer: the JSON `message`, `detail` or
/// `error` field in their usual shapes, else the body's first line when it
/// is short text, else the status's reason phrase.
pub(crate) fn error_message(status: http::StatusCode, body: &[u8]) -> String {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body)
        && let Some(msg) = json_message(&json)
    {
        return msg;
    }
    match std::str::from_utf8(body) {
        Ok(text) if !text.trim().is_empty() && !text.contains('<') => {
            let line = text.trim().lines().next().unwrap_or_default();
            line.chars().take(300).collect()
        }
        _ => status.canonical_reason().unwrap_or("no message").to_owned(),
    }
}

fn json_message(v: &serde_json::Value) -> Option<String> {
    for key in ["message", "detail", "error", "error_description"] {
        match v.get(key) {
            Some(serde_json::Value::String(s)) => return Some(s.chars().take(300).collect()),
            Some(inner @ serde_json::Value::Object(_)) => {
                if let Some(m) = json_message(inner) {
                    return Some(m);
                }
            }
            Some(serde_json::Value::Array(items)) => {
                // FastAPI validation errors: [{"msg": …, "loc": …}, …]
                let msgs: Vec<&str> = items
                    .iter()
                    .filter_map(|i| i.get("msg").or_else(|| i.get("message")))
                    .filter_map(serde_json::Value::as_str)
                    .collect();
                if !msgs.is_empty() {
                    return Some(msgs.join("; ").chars().take(300).collect());
                }
            }
            _ => {}
        }
    }
    None
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
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000)
    }

    const GOOD: &str = r#"{"upload_url":"https://storage.example/upload?upload_id=x","gcs_path":"files/org_1/f/a.bin",
        "file_id":"file_1","expires_at":"2030-01-01T00:00:00Z","max_file_size":5368709120,
        "upload_type":"resumable","chunk_size_recommended":5242880}"#;

    #[test]
    fn parses_a_session() {
        let s = UploadSession::parse(GOOD.as_bytes(), 10, now()).unwrap();
        assert_eq!(s.gcs_path, "files/org_1/f/a.bin");
        assert_eq!(s.chunk_size_recommended, Some(5_242_880));
        assert_eq!(s.upload_type.as_deref(), Some("resumable"));
        assert!(!format!("{s:?}").contains("upload_id=x"));
    }

    #[test]
    fn rejects_bad_sessions() {
        let cases = [
            GOOD.replace("\"gcs_path\":\"files/org_1/f/a.bin\",", ""),
            GOOD.replace("\"file_id\":\"file_1\"", "\"file_id\":7"),
            GOOD.replace(
                "https://storage.example/upload?upload_id=x",
                "/upload?upload_id=x",
            ),
            GOOD.replace("https://storage.example/upload?upload_id=x", "ftp://h/x"),
            GOOD.replace("2030-01-01T00:00:00Z", "2020-01-01T00:00:00Z"),
            GOOD.replace("2030-01-01T00:00:00Z", "soon"),
            GOOD.replace("\"gcs_path\":\"files/org_1/f/a.bin\"", "\"gcs_path\":\"\""),
            "not json".to_owned(),
        ];
        for case in &cases {
            assert!(
                matches!(
                    UploadSession::parse(case.as_bytes(), 10, now()),
                    Err(SessionError::Protocol(_))
                ),
                "{case}"
            );
        }
        assert_eq!(
            UploadSession::parse(GOOD.as_bytes(), 6_000_000_000, now()),
            Err(SessionError::TooLarge {
                size: 6_000_000_000,
                max: 5_368_709_120
            })
        );
    }

    #[test]
    fn error_messages_from_common_shapes() {
        let s = http::StatusCode::BAD_REQUEST;
        assert_eq!(
            error_message(s, br#"{"error":{"code":"x","message":"bad name"}}"#),
            "bad name"
        );
        assert_eq!(
            error_message(s, br#"{"detail":"Invalid API key"}"#),
            "Invalid API key"
        );
        assert_eq!(
            error_message(s, br#"{"detail":[{"msg":"a"},{"msg":"b"}]}"#),
            "a; b"
        );
        assert_eq!(error_message(s, b"plain words\nmore"), "plain words");
        assert_eq!(error_message(s, b"<html>"), "Bad Request");
        assert_eq!(error_message(s, b""), "Bad Request");
        assert_eq!(error_message(s, &[0xff, 0xfe]), "Bad Request");
    }

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
