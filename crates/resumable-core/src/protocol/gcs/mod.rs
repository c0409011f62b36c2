//! Google Cloud Storage resumable uploads: a session is initiated with a
//! `POST …?uploadType=resumable` to the JSON API (or handed out by someone
//! else), bytes go in `PUT`s with `Content-Range: bytes a-b/total`, a `PUT`
//! with `Content-Range: bytes */total` and no body asks how much is
//! persisted, a `308` with `Range: bytes=0-N` says so, and a `200`/`201`
//! with the object JSON says the upload is complete.
//!
//! The header codecs are submodules: [`content_range`], [`range`],
//! [`goog_hash`], and the object JSON in [`object`].

use std::ops::Range;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use super::message::error_message;
use super::{Answer, Base, BuildError, Rules, Sent, is_retryable, upload_request};
use crate::action::Body;
use crate::chunk::CHUNK_GRANULARITY;
use crate::config::GcsInitiate;
use crate::error::{ConfigError, ProtocolError};
use crate::url;

// `pub` for `crate::codecs` (fuzz targets, benches); without it, the
// engine uses only part of them.
#[cfg_attr(
    not(any(fuzzing, feature = "codecs")),
    allow(unreachable_pub, dead_code)
)]
pub mod content_range;
#[cfg_attr(
    not(any(fuzzing, feature = "codecs")),
    allow(unreachable_pub, dead_code)
)]
pub mod goog_hash;
#[cfg_attr(
    not(any(fuzzing, feature = "codecs")),
    allow(unreachable_pub, dead_code)
)]
pub mod object;
#[cfg_attr(
    not(any(fuzzing, feature = "codecs")),
    allow(unreachable_pub, dead_code)
)]
pub mod range;

use content_range::ContentRange;
use goog_hash::crc32c_header;

/// `X-Goog-Hash`: `crc32c=…,md5=…` on the final chunk and the final answer.
pub(crate) const X_GOOG_HASH: &str = "x-goog-hash";
/// `X-GUploader-UploadID`: the server's id of the upload, safe to log.
const X_GUPLOADER_UPLOADID: &str = "x-guploader-uploadid";
/// `X-Http-Status-Code-Override`: a `200` carrying it with `308` means `308`.
const X_HTTP_STATUS_CODE_OVERRIDE: &str = "x-http-status-code-override";
/// `X-Upload-Content-Type` on a session initiation.
const X_UPLOAD_CONTENT_TYPE: &str = "x-upload-content-type";
/// `X-Upload-Content-Length` on a session initiation.
const X_UPLOAD_CONTENT_LENGTH: &str = "x-upload-content-length";

/// GCS's rules: 256 KiB units, never more persisted than was sent, a query with the total finalizes a fully persisted upload, and
/// the last chunk carries the whole object's CRC32C (`X-Goog-Hash`), which
/// the server checks before it finalizes. A session lives a week.
pub(crate) const RULES: Rules = Rules {
    granularity: CHUNK_GRANULARITY,
    max_append: None,
    min_append: None,
    offset_may_pass_sent: false,
    query_finishes: true,
    final_digest: true,
    session_lifetime: Some(Duration::from_secs(7 * 24 * 3600)),
};

/// The JSON API's initiation of a resumable session for `init`.
pub(crate) fn initiate(
    init: &GcsInitiate,
    total: Option<u64>,
    extra: &HeaderMap,
) -> Result<http::Request<Body>, BuildError> {
    let mut uri = format!(
        "{}/upload/storage/v1/b/{}/o?uploadType=resumable&name={}",
        init.endpoint.trim_end_matches('/'),
        url::percent_encode(&init.bucket),
        url::percent_encode(&init.object),
    );
    // Integers need no percent-encoding.
    for (name, value) in init.preconditions.query_pairs() {
        uri.push_str(&format!("&{name}={value}"));
    }
    let mut builder = upload_request(Method::POST, uri, extra).header(header::CONTENT_LENGTH, 0);
    if let Some(token) = &init.bearer_token {
        let mut value =
            HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                BuildError {
                    what: "the bearer token",
                }
            })?;
        value.set_sensitive(true);
        builder = builder.header(header::AUTHORIZATION, value);
    }
    if let Some(ct) = &init.content_type {
        builder = builder.header(X_UPLOAD_CONTENT_TYPE, ct);
    }
    if let Some(total) = total {
        builder = builder.header(X_UPLOAD_CONTENT_LENGTH, total);
    }
    builder.body(Body::Empty).map_err(|_| BuildError {
        what: "initiation header",
    })
}

/// Checks an initiation's parameters, before any request.
pub(crate) fn validate_initiate(init: &GcsInitiate) -> Result<(), ConfigError> {
    if !url::is_absolute_http_url(&init.endpoint) {
        return Err(ConfigError::BadUrl {
            what: "the GCS endpoint",
        });
    }
    let token_ok = init
        .bearer_token
        .as_ref()
        .is_none_or(|t| HeaderValue::from_str(&format!("Bearer {}", t.expose())).is_ok());
    let type_ok = init
        .content_type
        .as_ref()
        .is_none_or(|t| HeaderValue::from_str(t).is_ok());
    if !token_ok || !type_ok {
        return Err(ConfigError::BadHeader {
            what: "the bearer token or content type",
        });
    }
    Ok(())
}

/// A status query: an empty `PUT` with `Content-Range: bytes */total`.
pub(crate) fn query(
    base: &Base<'_>,
    total: Option<u64>,
) -> Result<http::Request<Body>, BuildError> {
    base.builder(Method::PUT)
        .header(header::CONTENT_LENGTH, 0)
        .header(
            header::CONTENT_RANGE,
            ContentRange::Query { total }.to_header_value(),
        )
        .body(Body::Empty)
        .map_err(|_| unusable())
}

/// A data chunk: `range` of the source, with the object's CRC32C when given.
pub(crate) fn append(
    base: &Base<'_>,
    range: Range<u64>,
    total: Option<u64>,
    crc32c: Option<u32>,
) -> Result<http::Request<Body>, BuildError> {
    let content_range = ContentRange::Bytes {
        start: range.start,
        end: range.end,
        total,
    };
    let mut builder = base
        .builder(Method::PUT)
        .header(header::CONTENT_LENGTH, range.end - range.start)
        .header(header::CONTENT_RANGE, content_range.to_header_value());
    if let Some(crc) = crc32c {
        builder = builder.header(X_GOOG_HASH, crc32c_header(crc));
    }
    builder.body(Body::Source(range)).map_err(|_| unusable())
}

/// Deletes the session.
pub(crate) fn cancel(base: &Base<'_>) -> Result<http::Request<Body>, BuildError> {
    base.builder(Method::DELETE)
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::Empty)
        .map_err(|_| unusable())
}

/// Reads the answer to `sent`.
pub(crate) fn read(sent: Sent, status: StatusCode, headers: &HeaderMap, body: &Bytes) -> Answer {
    let status = effective_status(status, headers);
    let code = status.as_u16();
    let refused = || Answer::Rejected {
        status: code,
        message: error_message(status, body),
    };
    let precondition = || Answer::PreconditionFailed(error_message(status, body));
    match sent {
        Sent::Create { .. } => match code {
            200 | 201 => created(headers),
            412 => precondition(),
            _ if is_retryable(status) => Answer::Retry { status: code },
            _ => refused(),
        },
        Sent::Append { .. } | Sent::Query => match code {
            200 | 201 => Answer::Complete(object::parse(body, headers)),
            308 => match range::parse_persisted(headers.get(header::RANGE)) {
                Ok(persisted) => Answer::Persisted(persisted),
                Err(e) => Answer::Malformed(ProtocolError::Range(e)),
            },
            _ if is_retryable(status) => Answer::Retry { status: code },
            404 | 410 | 499 => Answer::Gone,
            // Checked at the initiation and again as the object is written,
            // at finalize (which a query with every byte persisted does too).
            412 => precondition(),
            // The server hashed what it received and it was not the source.
            400 if matches!(sent, Sent::Append { digest: true, .. }) => Answer::DigestRejected,
            _ => refused(),
        },
        // GCS has no discovery; the engine never asks.
        Sent::Discover => refused(),
        Sent::Cancel => match code {
            200..=299 | 404 | 410 | 499 => Answer::Deleted,
            _ if is_retryable(status) => Answer::Retry { status: code },
            _ => refused(),
        },
    }
}

/// The server's id of the upload (`X-GUploader-UploadID`), when sent.
pub(crate) fn upload_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(X_GUPLOADER_UPLOADID)
        .and_then(|v| v.to_str().ok())
}

/// An initiation's answer: the session URL is its `Location`.
fn created(headers: &HeaderMap) -> Answer {
    let location = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .filter(|url| url::is_absolute_http_url(url));
    match location {
        Some(url) => Answer::Created {
            url: url.to_owned(),
            persisted: None,
        },
        None => Answer::Malformed(ProtocolError::MissingLocation),
    }
}

/// `200` with `X-Http-Status-Code-Override: 308` means `308`.
fn effective_status(status: StatusCode, headers: &HeaderMap) -> StatusCode {
    let overridden = headers
        .get(X_HTTP_STATUS_CODE_OVERRIDE)
        .is_some_and(|v| v.as_bytes().trim_ascii() == b"308");
    if status == StatusCode::OK && overridden {
        StatusCode::PERMANENT_REDIRECT
    } else {
        status
    }
}

fn unusable() -> BuildError {
    BuildError {
        what: "the session URL",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn answer(sent: Sent, status: u16, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let status = StatusCode::from_u16(status).unwrap();
        read(sent, status, &map, &Bytes::from(body.to_owned()))
    }

    const DATA: Sent = Sent::Append {
        digest: false,
        total: None,
        end: 0,
    };
    const HASHED: Sent = Sent::Append {
        digest: true,
        total: Some(3),
        end: 3,
    };

    #[test]
    fn offsets_from_a_308_or_its_override() {
        for sent in [DATA, Sent::Query] {
            assert_eq!(answer(sent, 308, &[], ""), Answer::Persisted(0));
            let range = [("range", "bytes=0-9")];
            assert_eq!(answer(sent, 308, &range, ""), Answer::Persisted(10));
            let overridden = [
                ("range", "bytes=0-9"),
                ("x-http-status-code-override", "308"),
            ];
            assert_eq!(answer(sent, 200, &overridden, ""), Answer::Persisted(10));
            assert!(matches!(
                answer(sent, 308, &[("range", "bytes=5-9")], ""),
                Answer::Malformed(ProtocolError::Range(_))
            ));
        }
    }

    #[test]
    fn the_object_completes_the_upload() {
        let body = r#"{"size":"3","crc32c":"yZRlqg=="}"#;
        for sent in [DATA, HASHED, Sent::Query] {
            for status in [200, 201] {
                let Answer::Complete(Ok(object)) = answer(sent, status, &[], body) else {
                    panic!("{sent:?} {status}");
                };
                assert_eq!((object.size, object.crc32c), (3, Some(0xc994_65aa)));
            }
            assert!(matches!(
                answer(sent, 200, &[], r#"{"size":"3""#),
                Answer::Complete(Err(ProtocolError::CutShort { .. }))
            ));
        }
    }

    #[test]
    fn failures_by_step() {
        let retry = |status| Answer::Retry { status };
        for status in [408, 429, 500, 502, 503, 504] {
            for sent in [
                Sent::Create {
                    end: 0,
                    total: None,
                },
                DATA,
                Sent::Query,
                Sent::Cancel,
            ] {
                assert_eq!(answer(sent, status, &[], ""), retry(status), "{sent:?}");
            }
        }
        for status in [404, 410, 499] {
            assert_eq!(answer(DATA, status, &[], ""), Answer::Gone);
            assert_eq!(answer(Sent::Query, status, &[], ""), Answer::Gone);
            assert_eq!(answer(Sent::Cancel, status, &[], ""), Answer::Deleted);
            assert!(matches!(
                answer(
                    Sent::Create {
                        end: 0,
                        total: None
                    },
                    status,
                    &[],
                    ""
                ),
                Answer::Rejected { .. }
            ));
        }
        assert_eq!(answer(Sent::Cancel, 204, &[], ""), Answer::Deleted);
        let refusal = r#"{"error":{"code":412,"message":"conditionNotMet"}}"#;
        for sent in [
            Sent::Create {
                end: 0,
                total: None,
            },
            DATA,
            Sent::Query,
        ] {
            assert!(matches!(
                answer(sent, 412, &[], refusal),
                Answer::PreconditionFailed(m) if m.contains("conditionNotMet")
            ));
        }
        assert_eq!(answer(HASHED, 400, &[], ""), Answer::DigestRejected);
        assert!(matches!(
            answer(DATA, 400, &[], ""),
            Answer::Rejected { status: 400, .. }
        ));
        assert!(matches!(
            answer(Sent::Cancel, 412, &[], ""),
            Answer::Rejected { status: 412, .. }
        ));
    }

    #[test]
    fn an_initiation_needs_an_absolute_location() {
        let url = "https://storage.example/upload?upload_id=x";
        assert_eq!(
            answer(
                Sent::Create {
                    end: 0,
                    total: None
                },
                200,
                &[("location", url)],
                ""
            ),
            Answer::Created {
                url: url.to_owned(),
                persisted: None,
            }
        );
        for headers in [
            &[][..],
            &[("location", "/relative")],
            &[("location", "ftp://x/y")],
        ] {
            assert_eq!(
                answer(
                    Sent::Create {
                        end: 0,
                        total: None
                    },
                    200,
                    headers,
                    ""
                ),
                Answer::Malformed(ProtocolError::MissingLocation)
            );
        }
    }

    #[test]
    fn requests_carry_the_range_and_the_digest_on_request() {
        let uri: http::Uri = "https://storage.example/u?upload_id=x".parse().unwrap();
        let mut extra = HeaderMap::new();
        extra.insert("x-proxy", HeaderValue::from_static("1"));
        let base = Base {
            uri: &uri,
            extra: &extra,
        };
        let last = append(&base, 10..20, Some(20), Some(0xc994_65aa)).unwrap();
        assert_eq!(last.method(), Method::PUT);
        assert_eq!(last.headers()["content-range"], "bytes 10-19/20");
        assert_eq!(last.headers()["content-length"], "10");
        assert_eq!(last.headers()[X_GOOG_HASH], "crc32c=yZRlqg==");
        assert_eq!(last.headers()["x-proxy"], "1");
        assert_eq!(last.body(), &Body::Source(10..20));
        let middle = append(&base, 0..10, None, None).unwrap();
        assert_eq!(middle.headers()["content-range"], "bytes 0-9/*");
        assert!(middle.headers().get(X_GOOG_HASH).is_none());
        let q = query(&base, Some(20)).unwrap();
        assert_eq!(q.headers()["content-range"], "bytes */20");
        assert_eq!(cancel(&base).unwrap().method(), Method::DELETE);
    }
}
