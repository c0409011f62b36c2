//! The file API's JSON: the request bodies, and the upload session it hands
//! out, validated.

use std::time::SystemTime;

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
        if !crate::url::is_absolute_http_url(&raw.upload_url) {
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
}
