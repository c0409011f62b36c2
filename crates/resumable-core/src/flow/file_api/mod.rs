//! The application file API around a transfer: `POST
//! {api}/v1/organizations/{org}/files/upload-url` hands out a session,
//! and `POST {api}/v1/organizations/{org}/files` registers the uploaded
//! object as a File. Both carry the key in `X-API-Key`, to the API host only.

use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};

use crate::action::Body;
use crate::config::FileApi;
use crate::error::{ConfigError, Error, ProtocolError};
use crate::outcome::File;
use crate::protocol::is_retryable;
use crate::protocol::message::error_message;
use crate::url;

mod session;

use session::{RegisterRequest, UploadUrlRequest};
pub use session::{SessionError, UploadSession};

/// `X-API-Key`: the application API's key. Sent to the API host only.
const X_API_KEY: &str = "x-api-key";

/// What an answer of the file API means.
#[derive(Debug)]
pub(crate) enum ApiAnswer<T> {
    /// What was asked for.
    Ok(T),
    /// A failure that may heal: ask again after a backoff.
    Retry {
        /// The status, for the retry event.
        status: u16,
    },
    /// The body ended early, so nothing is known: ask again (both requests
    /// are safe to repeat).
    CutShort,
    /// Refused, or an answer that breaks the API's contract.
    Failed(Error),
}

/// The request for an upload session for a file of `file_size` bytes.
pub(crate) fn upload_url_request(
    api: &FileApi,
    file_size: u64,
) -> Result<http::Request<Body>, Error> {
    let body = UploadUrlRequest {
        filename: &api.filename,
        file_size,
        mime_type: &api.mime_type,
        upload_type: "resumable",
    };
    json_post(&uri(api, "/files/upload-url"), api.api_key.expose(), &body)
}

/// The request that registers the object at `gcs_path`, of `size` bytes.
pub(crate) fn register_request(
    api: &FileApi,
    gcs_path: &str,
    size: u64,
) -> Result<http::Request<Body>, Error> {
    let body = RegisterRequest {
        filename: &api.filename,
        gcs_path,
        file_size: size,
        mime_type: &api.mime_type,
    };
    json_post(&uri(api, "/files"), api.api_key.expose(), &body)
}

/// Reads an `upload-url` answer for a file of `file_size` bytes at
/// wall-clock time `now`.
pub(crate) fn read_session(
    status: StatusCode,
    body: &Bytes,
    file_size: u64,
    now: SystemTime,
) -> ApiAnswer<UploadSession> {
    match status.as_u16() {
        200 | 201 => match UploadSession::parse(body, file_size, now) {
            Ok(session) => ApiAnswer::Ok(session),
            // A session lost on the way is only an unused one: ask for another.
            Err(SessionError::Protocol(ProtocolError::CutShort { .. })) => ApiAnswer::CutShort,
            Err(SessionError::Protocol(e)) => ApiAnswer::Failed(e.into()),
            Err(SessionError::TooLarge { size, max }) => {
                ApiAnswer::Failed(Error::FileTooLarge { size, max })
            }
        },
        _ => refused(status, body),
    }
}

/// Reads a register answer. One cut short may be asked again: the API
/// registers a `gcs_path` once and answers a repeat with the same File.
pub(crate) fn read_registered(status: StatusCode, body: &Bytes) -> ApiAnswer<File> {
    match status.as_u16() {
        200 | 201 => match serde_json::from_slice::<File>(body) {
            Ok(file) => ApiAnswer::Ok(file),
            Err(e) => match ProtocolError::json("registered file", &e) {
                ProtocolError::CutShort { .. } => ApiAnswer::CutShort,
                other => ApiAnswer::Failed(other.into()),
            },
        },
        _ => refused(status, body),
    }
}

/// Checks what the file API needs from the configuration, before any request.
pub(crate) fn validate(api: &FileApi) -> Result<(), ConfigError> {
    let chars = api.filename.chars().count();
    if !(1..=255).contains(&chars) {
        return Err(ConfigError::FilenameLength(chars));
    }
    let uri = uri(api, "/files");
    if !url::is_absolute_http_url(&api.api_base) || uri.parse::<http::Uri>().is_err() {
        return Err(ConfigError::BadUrl {
            what: "the API base URL",
        });
    }
    if HeaderValue::from_str(api.api_key.expose()).is_err() {
        return Err(ConfigError::BadHeader {
            what: "the API key",
        });
    }
    Ok(())
}

/// A non-success answer: retried when it may heal, else the API's refusal.
fn refused<T>(status: StatusCode, body: &[u8]) -> ApiAnswer<T> {
    if is_retryable(status) {
        return ApiAnswer::Retry {
            status: status.as_u16(),
        };
    }
    ApiAnswer::Failed(Error::Api {
        status: status.as_u16(),
        message: error_message(status, body),
    })
}

/// `{api_base}/v1/organizations/{organization}{path}`.
fn uri(api: &FileApi, path: &str) -> String {
    format!(
        "{}/v1/organizations/{}{path}",
        api.api_base.trim_end_matches('/'),
        url::percent_encode(&api.organization)
    )
}

fn json_post(
    uri: &str,
    api_key: &str,
    body: &impl serde::Serialize,
) -> Result<http::Request<Body>, Error> {
    let json = serde_json::to_vec(body).map_err(|_| ConfigError::BadHeader {
        what: "request body",
    })?;
    let mut key = HeaderValue::from_str(api_key).map_err(|_| ConfigError::BadHeader {
        what: "the API key",
    })?;
    key.set_sensitive(true);
    http::Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_LENGTH, json.len())
        .header(X_API_KEY, key)
        .body(Body::Json(Bytes::from(json)))
        .map_err(|_| {
            ConfigError::BadUrl {
                what: "the API URL",
            }
            .into()
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::secret::Secret;

    const SESSION: &str = r#"{"upload_url":"https://storage.example/upload?upload_id=x",
        "gcs_path":"files/org_1/f/a.bin","file_id":"file_1","expires_at":"2030-01-01T00:00:00Z"}"#;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000)
    }

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    fn session(code: u16, body: &str) -> ApiAnswer<UploadSession> {
        read_session(status(code), &Bytes::from(body.to_owned()), 10, now())
    }

    fn registered(code: u16, body: &str) -> ApiAnswer<File> {
        read_registered(status(code), &Bytes::from(body.to_owned()))
    }

    #[test]
    fn a_session_or_why_not() {
        assert!(matches!(session(200, SESSION), ApiAnswer::Ok(s) if s.file_id == "file_1"));
        assert!(matches!(session(201, SESSION), ApiAnswer::Ok(_)));
        assert!(matches!(session(200, &SESSION[..40]), ApiAnswer::CutShort));
        assert!(matches!(session(503, ""), ApiAnswer::Retry { status: 503 }));
        assert!(matches!(
            session(200, r#"{"upload_url":1}"#),
            ApiAnswer::Failed(Error::Protocol(_))
        ));
        let refusal = r#"{"detail":"bad key"}"#;
        assert!(matches!(
            session(401, refusal),
            ApiAnswer::Failed(Error::Api { status: 401, message }) if message.contains("bad key")
        ));
    }

    #[test]
    fn a_file_or_why_not() {
        let file = r#"{"id":"file_1","filename":"a.bin"}"#;
        assert!(matches!(registered(201, file), ApiAnswer::Ok(f) if f.id == "file_1"));
        assert!(matches!(registered(200, &file[..10]), ApiAnswer::CutShort));
        assert!(matches!(registered(200, ""), ApiAnswer::CutShort));
        assert!(matches!(
            registered(429, ""),
            ApiAnswer::Retry { status: 429 }
        ));
        assert!(matches!(
            registered(413, ""),
            ApiAnswer::Failed(Error::Api { status: 413, .. })
        ));
        assert!(matches!(
            registered(200, r#"{"filename":"a.bin"}"#),
            ApiAnswer::Failed(Error::Protocol(_))
        ));
    }

    #[test]
    fn requests_carry_the_key_to_the_api_only() {
        let api = FileApi {
            api_base: "https://api.example.com/".into(),
            organization: "org 1".into(),
            api_key: Secret::new("k-123"),
            filename: "a.bin".into(),
            mime_type: "application/octet-stream".into(),
        };
        let request = upload_url_request(&api, 10).unwrap();
        assert_eq!(
            request.uri(),
            "https://api.example.com/v1/organizations/org%201/files/upload-url"
        );
        let key = &request.headers()[X_API_KEY];
        assert!(key.is_sensitive());
        assert_eq!(key, "k-123");
        let Body::Json(json) = request.body() else {
            panic!("a JSON body");
        };
        let json: serde_json::Value = serde_json::from_slice(json).unwrap();
        assert_eq!(json["file_size"], 10);
        assert_eq!(json["upload_type"], "resumable");
        let register = register_request(&api, "files/org_1/f/a.bin", 10).unwrap();
        assert_eq!(
            register.uri(),
            "https://api.example.com/v1/organizations/org%201/files"
        );
        assert_eq!(register.headers()["content-type"], "application/json");
    }
}
