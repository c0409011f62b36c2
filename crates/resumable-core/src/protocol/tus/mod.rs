//! tus 1.0 (tus.io): an upload is created with a `POST` to an endpoint, which
//! answers with its URL in `Location`; `HEAD` asks for its `Upload-Offset`,
//! `PATCH`es with `Content-Type: application/offset+octet-stream` append at
//! that offset, `DELETE` terminates it, and `OPTIONS` tells what the server
//! supports. Every request but `OPTIONS` carries `Tus-Resumable: 1.0.0`.
//!
//! The header codecs are submodules: [`number`] (`Upload-Offset`,
//! `Upload-Length`, `Tus-Max-Size`), [`metadata`] (`Upload-Metadata`),
//! [`location`] (`Location`), [`expires`] (`Upload-Expires`), [`checksum`]
//! (`Upload-Checksum`) and [`discovery`] (the `OPTIONS` headers); [`hash`]
//! makes the per-request digests.
//!
//! Extensions are used only as the server lists them in `Tus-Extension`
//! (a server that answers no `OPTIONS` is tried with `creation`,
//! `creation-defer-length` and `termination`, and its refusals reported):
//! without `creation` or, for a source of unknown length,
//! `creation-defer-length`, the upload fails before it creates anything;
//! without `termination`, a cancel sends no `DELETE`. With
//! `creation-with-upload`, the creation carries the first chunk unless each
//! `PATCH` carries a checksum (a creation carries none): a file within one
//! chunk is then sent in one request. A creation whose answer is lost is
//! made again, as tus creations are not idempotent; the upload it may have
//! made stays on the server until it expires.
//!
//! What tus verifies: a `PATCH` may carry `Upload-Checksum`, the digest of
//! its own body, which the server checks before it keeps a byte (`460` when
//! they differ: the request is sent again, nothing counted persisted). A
//! tus server reports no digest of the whole upload, only its offset and
//! length, so an upload ends when the offset the server reports reaches the
//! source's length. The engine still hashes the whole source (CRC32C) and
//! hands it out in the outcome, for the caller to compare with whatever the
//! server's application exposes.

/// Declares the header codecs: `pub` for `crate::codecs` (fuzz targets,
/// benches, test servers); without that, the engine uses only part of them.
macro_rules! header_codecs {
    ($($name:ident),* $(,)?) => {
        $(
            #[cfg_attr(
                not(any(fuzzing, feature = "codecs")),
                allow(unreachable_pub, dead_code)
            )]
            pub mod $name;
        )*
    };
}

header_codecs!(checksum, discovery, expires, location, metadata, number);
mod hash;

use std::ops::Range;
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};

use super::message::error_message;
use super::{Answer, Base, BuildError, Rules, Sent, is_retryable, upload_request};
use crate::action::Body;
use crate::config::TusCreate;
use crate::error::{ConfigError, ProtocolError};
use crate::outcome::ObjectMeta;
use crate::protocol::trim_ows;
use crate::url;
use discovery::{Capabilities, TUS_VERSION};
pub use hash::ChecksumAlgorithm;
pub(crate) use hash::Hasher;

/// The protocol version this codec speaks.
pub(crate) const VERSION: &str = "1.0.0";
/// `Tus-Resumable`: the version of every request and answer but `OPTIONS`.
pub(crate) const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
/// `Upload-Offset`: where a `PATCH` appends, and what the server holds.
pub(crate) const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
/// `Upload-Length`: the whole upload's size.
pub(crate) const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
/// `Upload-Defer-Length: 1`: the size is told later.
pub(crate) const UPLOAD_DEFER_LENGTH: HeaderName = HeaderName::from_static("upload-defer-length");
/// `Upload-Metadata`: the upload's name and type, and the caller's pairs.
pub(crate) const UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");
/// `Upload-Checksum`: the digest of one `PATCH`'s body.
pub(crate) const UPLOAD_CHECKSUM: HeaderName = HeaderName::from_static("upload-checksum");
/// `Upload-Expires`: when an unfinished upload stops being resumable.
pub(crate) const UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");
/// The content type of every `PATCH`.
pub(crate) const OFFSET_OCTET_STREAM: HeaderValue =
    HeaderValue::from_static("application/offset+octet-stream");

/// tus's rules: any byte count, no limit on one request beyond the
/// server's `Tus-Max-Size` (which the engine applies when discovered), never
/// more persisted than was sent, a `HEAD` whose offset reaches the length
/// finishes the upload, no digest of the whole upload, and a session that
/// lives until its `Upload-Expires` (no expiry when the server names none).
pub(crate) const RULES: Rules = Rules {
    granularity: 1,
    max_append: None,
    min_append: None,
    offset_may_pass_sent: false,
    query_finishes: true,
    final_digest: false,
    session_lifetime: None,
};

/// One `PATCH`'s extras beyond the byte range.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PatchExtras<'a> {
    /// Tell the upload's length with this request (`Upload-Length`), for an
    /// upload created with its length deferred.
    pub(crate) declare_length: Option<u64>,
    /// The body's digest, with its algorithm.
    pub(crate) checksum: Option<(ChecksumAlgorithm, &'a [u8])>,
}

/// A request builder with `Tus-Resumable`.
fn tus_request(builder: http::request::Builder) -> http::request::Builder {
    builder.header(TUS_RESUMABLE, HeaderValue::from_static(VERSION))
}

/// `OPTIONS` to `uri`: what the server supports. No `Tus-Resumable`.
pub(crate) fn discover(
    uri: &http::Uri,
    extra: &HeaderMap,
) -> Result<http::Request<Body>, BuildError> {
    upload_request(Method::OPTIONS, uri.clone(), extra)
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::Empty)
        .map_err(|_| BuildError {
            what: "the tus endpoint",
        })
}

/// The `POST` that creates an upload of `total` bytes (`None`: deferred),
/// carrying `first` of the source when given (creation-with-upload).
pub(crate) fn create(
    create: &TusCreate,
    total: Option<u64>,
    first: Option<Range<u64>>,
    extra: &HeaderMap,
) -> Result<http::Request<Body>, BuildError> {
    let mut builder = tus_request(upload_request(
        Method::POST,
        create.endpoint.as_str(),
        extra,
    ));
    builder = match total {
        Some(total) => builder.header(UPLOAD_LENGTH, number::header(total)),
        None => builder.header(UPLOAD_DEFER_LENGTH, HeaderValue::from_static("1")),
    };
    let metadata = metadata::build(create.metadata_pairs()).map_err(|_| BuildError {
        what: "the tus metadata",
    })?;
    if let Some(metadata) = metadata {
        builder = builder.header(UPLOAD_METADATA, metadata);
    }
    let body = match first {
        Some(range) => {
            builder = builder
                .header(header::CONTENT_TYPE, OFFSET_OCTET_STREAM)
                .header(header::CONTENT_LENGTH, range.end - range.start);
            Body::Source(range)
        }
        None => {
            builder = builder.header(header::CONTENT_LENGTH, 0);
            Body::Empty
        }
    };
    builder.body(body).map_err(|_| BuildError {
        what: "the tus endpoint",
    })
}

/// Checks a creation's parameters, before any request.
pub(crate) fn validate_create(create: &TusCreate) -> Result<(), ConfigError> {
    if !url::is_absolute_http_url(&create.endpoint) {
        return Err(ConfigError::BadUrl {
            what: "the tus endpoint",
        });
    }
    metadata::build(create.metadata_pairs()).map_err(|_| ConfigError::BadHeader {
        what: "the tus metadata",
    })?;
    Ok(())
}

/// `HEAD`: how much the upload holds.
pub(crate) fn query(base: &Base<'_>) -> Result<http::Request<Body>, BuildError> {
    tus_request(base.builder(Method::HEAD))
        .body(Body::Empty)
        .map_err(|_| unusable())
}

/// `PATCH` of `range` of the source at its start.
pub(crate) fn append(
    base: &Base<'_>,
    range: Range<u64>,
    extras: PatchExtras<'_>,
) -> Result<http::Request<Body>, BuildError> {
    let mut builder = tus_request(base.builder(Method::PATCH))
        .header(header::CONTENT_TYPE, OFFSET_OCTET_STREAM)
        .header(header::CONTENT_LENGTH, range.end - range.start)
        .header(UPLOAD_OFFSET, number::header(range.start));
    if let Some(total) = extras.declare_length {
        builder = builder.header(UPLOAD_LENGTH, number::header(total));
    }
    if let Some((algorithm, digest)) = extras.checksum {
        let value = checksum::header(algorithm.name(), digest).ok_or(BuildError {
            what: "the checksum",
        })?;
        builder = builder.header(UPLOAD_CHECKSUM, value);
    }
    builder.body(Body::Source(range)).map_err(|_| unusable())
}

/// `DELETE`: terminates the upload.
pub(crate) fn cancel(base: &Base<'_>) -> Result<http::Request<Body>, BuildError> {
    tus_request(base.builder(Method::DELETE))
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::Empty)
        .map_err(|_| unusable())
}

/// Reads the answer to `sent`, a request to `request_url` (what a relative
/// `Location` is resolved against).
pub(crate) fn read(
    sent: Sent,
    request_url: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &Bytes,
) -> Answer {
    let code = status.as_u16();
    let refused = || Answer::Rejected {
        status: code,
        message: error_message(status, body),
    };
    if code == 412 && sent != Sent::Discover {
        // The server does not speak this version, and did nothing.
        return match discovery::parse_list(header_bytes(headers, TUS_VERSION)) {
            Some(versions) if !versions.is_empty() => {
                Answer::VersionRejected(versions.into_iter().map(str::to_owned).collect())
            }
            _ => refused(),
        };
    }
    match sent {
        Sent::Discover => match code {
            200 | 204 => match Capabilities::parse(headers) {
                Ok(caps) if caps.versions.iter().any(|v| v == VERSION) => {
                    Answer::Discovered(Some(caps))
                }
                Ok(caps) => Answer::VersionRejected(caps.versions),
                Err(e) => Answer::Malformed(ProtocolError::Discovery(e)),
            },
            _ if is_retryable(status) => Answer::Retry { status: code },
            // Credentials the server refuses here, it refuses everywhere.
            401 | 403 => refused(),
            // A server that does not answer `OPTIONS` tells nothing: the
            // core protocol alone is assumed.
            _ => Answer::Discovered(None),
        },
        Sent::Create { .. } => match code {
            201 => created(request_url, headers),
            413 => Answer::TooLarge(error_message(status, body)),
            _ if is_retryable(status) => Answer::Retry { status: code },
            _ => refused(),
        },
        Sent::Append { total, .. } => match code {
            200 | 204 => match offset(headers) {
                Ok(offset) if Some(offset) == total => Answer::Complete(Ok(completed(offset))),
                Ok(offset) => Answer::Persisted(offset),
                Err(e) => Answer::Malformed(e),
            },
            409 => Answer::Conflict,
            460 => Answer::ChecksumMismatch,
            404 | 410 => Answer::Gone,
            413 => Answer::TooLarge(error_message(status, body)),
            _ if is_retryable(status) => Answer::Retry { status: code },
            _ => refused(),
        },
        Sent::Query => match code {
            200 | 204 => query_answer(headers),
            404 | 410 => Answer::Gone,
            _ if is_retryable(status) => Answer::Retry { status: code },
            _ => refused(),
        },
        Sent::Cancel => match code {
            200 | 204 | 404 | 410 => Answer::Deleted,
            _ if is_retryable(status) => Answer::Retry { status: code },
            _ => refused(),
        },
    }
}

/// A `HEAD` answer: the offset, and the upload complete once it reaches a
/// known length.
fn query_answer(headers: &HeaderMap) -> Answer {
    let offset = match offset(headers) {
        Ok(offset) => offset,
        Err(e) => return Answer::Malformed(e),
    };
    match declared_length(headers) {
        Ok(Some(Declared::Length(length))) if offset > length => {
            Answer::Malformed(ProtocolError::OffsetBeyondLength { offset, length })
        }
        Ok(Some(Declared::Length(length))) if offset == length => {
            Answer::Complete(Ok(completed(offset)))
        }
        Ok(_) => Answer::Persisted(offset),
        Err(e) => Answer::Malformed(e),
    }
}

/// What an answer says of the upload's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Declared {
    /// The server holds it with this length (`Upload-Length`).
    Length(u64),
    /// Its length is still to be told (`Upload-Defer-Length: 1`).
    Deferred,
}

/// What an answer says of the upload's length, when it says anything.
pub(crate) fn declared_length(headers: &HeaderMap) -> Result<Option<Declared>, ProtocolError> {
    if let Some(v) = headers.get(UPLOAD_LENGTH) {
        return number::parse(v)
            .map(|n| Some(Declared::Length(n)))
            .map_err(|error| ProtocolError::TusNumber {
                header: "Upload-Length",
                error,
            });
    }
    let deferred = headers
        .get(UPLOAD_DEFER_LENGTH)
        .is_some_and(|v| trim_ows(v.as_bytes()) == b"1");
    Ok(deferred.then_some(Declared::Deferred))
}

/// When the upload expires, when an answer says (`Upload-Expires`). A
/// value that is not a date is ignored: the upload then lives until the
/// server says it is gone.
pub(crate) fn expires_at(headers: &HeaderMap) -> Option<SystemTime> {
    headers
        .get(UPLOAD_EXPIRES)
        .and_then(|v| expires::parse(v).ok())
}

/// The `Upload-Offset` every successful `HEAD` and `PATCH` answer carries.
fn offset(headers: &HeaderMap) -> Result<u64, ProtocolError> {
    let value = headers
        .get(UPLOAD_OFFSET)
        .ok_or(ProtocolError::MissingHeader("Upload-Offset"))?;
    number::parse(value).map_err(|error| ProtocolError::TusNumber {
        header: "Upload-Offset",
        error,
    })
}

/// A completed upload as tus describes it: its size, nothing more.
pub(crate) fn completed(size: u64) -> ObjectMeta {
    ObjectMeta {
        name: None,
        bucket: None,
        size,
        crc32c: None,
        md5: None,
        content_type: None,
        generation: None,
        sha256: None,
    }
}

/// A creation's answer: the upload's URL, resolved against the endpoint,
/// and the bytes it kept when the creation carried some.
fn created(request_url: &str, headers: &HeaderMap) -> Answer {
    let Some(value) = headers.get(header::LOCATION) else {
        return Answer::Malformed(ProtocolError::MissingLocation);
    };
    let persisted = match headers.get(UPLOAD_OFFSET).map(number::parse) {
        None => None,
        Some(Ok(offset)) => Some(offset),
        Some(Err(error)) => {
            return Answer::Malformed(ProtocolError::TusNumber {
                header: "Upload-Offset",
                error,
            });
        }
    };
    match location::resolve(request_url, value.as_bytes()) {
        Ok(url) => Answer::Created { url, persisted },
        Err(e) => Answer::Malformed(ProtocolError::Location(e)),
    }
}

fn header_bytes<'a>(headers: &'a HeaderMap, name: &str) -> &'a [u8] {
    headers.get(name).map_or(&[], HeaderValue::as_bytes)
}

fn unusable() -> BuildError {
    BuildError {
        what: "the upload URL",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ENDPOINT: &str = "https://tus.example.org/files/";

    fn answer(sent: Sent, status: u16, headers: &[(&str, &str)]) -> Answer {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let status = StatusCode::from_u16(status).unwrap();
        read(sent, ENDPOINT, status, &map, &Bytes::new())
    }

    fn patch(total: Option<u64>) -> Sent {
        Sent::Append {
            digest: false,
            total,
            end: 0,
        }
    }

    fn base_uri() -> http::Uri {
        "https://tus.example.org/files/24e5".parse().unwrap()
    }

    #[test]
    fn requests_carry_the_version_but_options_does_not() {
        let uri = base_uri();
        let mut extra = HeaderMap::new();
        extra.insert("authorization", HeaderValue::from_static("Bearer t"));
        let base = Base {
            uri: &uri,
            extra: &extra,
        };
        let head = query(&base).unwrap();
        assert_eq!(head.method(), Method::HEAD);
        assert_eq!(head.headers()[TUS_RESUMABLE], "1.0.0");
        assert_eq!(head.headers()["authorization"], "Bearer t");
        let digest = [1u8, 2, 3, 4];
        let extras = PatchExtras {
            declare_length: Some(100),
            checksum: Some((ChecksumAlgorithm::Crc32, &digest)),
        };
        let p = append(&base, 70..100, extras).unwrap();
        assert_eq!(p.method(), Method::PATCH);
        assert_eq!(p.headers()[TUS_RESUMABLE], "1.0.0");
        assert_eq!(p.headers()["content-type"], OFFSET_OCTET_STREAM);
        assert_eq!(p.headers()["content-length"], "30");
        assert_eq!(p.headers()[UPLOAD_OFFSET], "70");
        assert_eq!(p.headers()[UPLOAD_LENGTH], "100");
        assert_eq!(p.headers()[UPLOAD_CHECKSUM], "crc32 AQIDBA==");
        assert_eq!(p.body(), &Body::Source(70..100));
        let plain = append(&base, 0..10, PatchExtras::default()).unwrap();
        assert!(plain.headers().get(UPLOAD_LENGTH).is_none());
        assert!(plain.headers().get(UPLOAD_CHECKSUM).is_none());
        let d = cancel(&base).unwrap();
        assert_eq!(d.method(), Method::DELETE);
        assert_eq!(d.headers()[TUS_RESUMABLE], "1.0.0");
        let o = discover(&uri, &extra).unwrap();
        assert_eq!(o.method(), Method::OPTIONS);
        assert!(o.headers().get(TUS_RESUMABLE).is_none());
    }

    #[test]
    fn creation_sends_the_length_or_defers_it_and_the_metadata() {
        let create_req = TusCreate {
            filename: Some("world_domination_plan.pdf".into()),
            filetype: None,
            metadata: vec![("is_confidential".into(), String::new())],
            ..TusCreate::new(ENDPOINT)
        };
        let r = create(&create_req, Some(100), None, &HeaderMap::new()).unwrap();
        assert_eq!(r.method(), Method::POST);
        assert_eq!(r.uri(), ENDPOINT);
        assert_eq!(r.headers()[TUS_RESUMABLE], "1.0.0");
        assert_eq!(r.headers()["content-length"], "0");
        assert_eq!(r.headers()[UPLOAD_LENGTH], "100");
        assert!(r.headers().get(UPLOAD_DEFER_LENGTH).is_none());
        assert_eq!(
            r.headers()[UPLOAD_METADATA],
            "filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential"
        );
        assert_eq!(r.body(), &Body::Empty);
        assert!(r.headers().get(header::CONTENT_TYPE).is_none());
        let r = create(&TusCreate::new(ENDPOINT), None, None, &HeaderMap::new()).unwrap();
        assert_eq!(r.headers()[UPLOAD_DEFER_LENGTH], "1");
        assert!(r.headers().get(UPLOAD_LENGTH).is_none());
        assert!(r.headers().get(UPLOAD_METADATA).is_none());
        let clash = TusCreate {
            filename: Some("a".into()),
            metadata: vec![("filename".into(), "b".into())],
            ..TusCreate::new(ENDPOINT)
        };
        assert!(create(&clash, None, None, &HeaderMap::new()).is_err());
        assert!(validate_create(&clash).is_err());
        assert!(validate_create(&TusCreate::new("/files")).is_err());
    }

    #[test]
    fn a_creation_with_upload_carries_the_first_bytes() {
        let r = create(
            &TusCreate::new(ENDPOINT),
            Some(100),
            Some(0..40),
            &HeaderMap::new(),
        )
        .unwrap();
        assert_eq!(r.headers()[UPLOAD_LENGTH], "100");
        assert_eq!(r.headers()["content-type"], OFFSET_OCTET_STREAM);
        assert_eq!(r.headers()["content-length"], "40");
        assert_eq!(r.body(), &Body::Source(0..40));
        let r = create(
            &TusCreate::new(ENDPOINT),
            None,
            Some(0..40),
            &HeaderMap::new(),
        )
        .unwrap();
        assert_eq!(r.headers()[UPLOAD_DEFER_LENGTH], "1");
        assert_eq!(r.headers()["content-length"], "40");
        assert_eq!(
            answer(
                Sent::Create {
                    end: 0,
                    total: None
                },
                201,
                &[("location", "24e5"), ("upload-offset", "40")]
            ),
            Answer::Created {
                url: "https://tus.example.org/files/24e5".into(),
                persisted: Some(40)
            }
        );
        assert!(matches!(
            answer(
                Sent::Create {
                    end: 0,
                    total: None
                },
                201,
                &[("location", "24e5"), ("upload-offset", "forty")]
            ),
            Answer::Malformed(ProtocolError::TusNumber {
                header: "Upload-Offset",
                ..
            })
        ));
    }

    #[test]
    fn a_creation_answer_resolves_its_location() {
        assert_eq!(
            answer(
                Sent::Create {
                    end: 0,
                    total: None
                },
                201,
                &[("location", "24e5")]
            ),
            Answer::Created {
                url: "https://tus.example.org/files/24e5".into(),
                persisted: None
            }
        );
        assert_eq!(
            answer(
                Sent::Create {
                    end: 0,
                    total: None
                },
                201,
                &[("location", "https://other.example/u/1")]
            ),
            Answer::Created {
                url: "https://other.example/u/1".into(),
                persisted: None
            }
        );
        assert_eq!(
            answer(
                Sent::Create {
                    end: 0,
                    total: None
                },
                201,
                &[]
            ),
            Answer::Malformed(ProtocolError::MissingLocation)
        );
        assert!(matches!(
            answer(
                Sent::Create {
                    end: 0,
                    total: None
                },
                201,
                &[("location", "ftp://x/y")]
            ),
            Answer::Malformed(ProtocolError::Location(_))
        ));
        assert!(matches!(
            answer(
                Sent::Create {
                    end: 0,
                    total: None
                },
                413,
                &[]
            ),
            Answer::TooLarge(_)
        ));
        assert!(matches!(
            answer(
                Sent::Create {
                    end: 0,
                    total: None
                },
                400,
                &[]
            ),
            Answer::Rejected { status: 400, .. }
        ));
    }

    #[test]
    fn patch_answers() {
        fn at(n: &str) -> [(&str, &str); 1] {
            [("upload-offset", n)]
        }
        assert_eq!(
            answer(patch(Some(100)), 204, &at("70")),
            Answer::Persisted(70)
        );
        assert_eq!(answer(patch(None), 204, &at("100")), Answer::Persisted(100));
        assert!(matches!(
            answer(patch(Some(100)), 204, &at("100")),
            Answer::Complete(Ok(ObjectMeta {
                size: 100,
                crc32c: None,
                ..
            }))
        ));
        assert_eq!(
            answer(patch(Some(100)), 200, &at("5")),
            Answer::Persisted(5)
        );
        assert_eq!(
            answer(patch(None), 204, &[]),
            Answer::Malformed(ProtocolError::MissingHeader("Upload-Offset"))
        );
        assert!(matches!(
            answer(patch(None), 204, &at("-1")),
            Answer::Malformed(ProtocolError::TusNumber { .. })
        ));
        assert_eq!(answer(patch(None), 409, &[]), Answer::Conflict);
        assert_eq!(answer(patch(None), 460, &[]), Answer::ChecksumMismatch);
        assert_eq!(answer(patch(None), 404, &[]), Answer::Gone);
        assert_eq!(answer(patch(None), 410, &[]), Answer::Gone);
        assert!(matches!(answer(patch(None), 413, &[]), Answer::TooLarge(_)));
        assert!(matches!(
            answer(patch(None), 415, &[]),
            Answer::Rejected { status: 415, .. }
        ));
    }

    #[test]
    fn head_answers() {
        assert_eq!(
            answer(
                Sent::Query,
                200,
                &[("upload-offset", "70"), ("upload-length", "100")]
            ),
            Answer::Persisted(70)
        );
        assert_eq!(
            answer(
                Sent::Query,
                204,
                &[("upload-offset", "70"), ("upload-defer-length", "1")]
            ),
            Answer::Persisted(70)
        );
        assert!(matches!(
            answer(
                Sent::Query,
                200,
                &[("upload-offset", "100"), ("upload-length", "100")]
            ),
            Answer::Complete(Ok(ObjectMeta { size: 100, .. }))
        ));
        assert!(matches!(
            answer(
                Sent::Query,
                200,
                &[("upload-offset", "0"), ("upload-length", "0")]
            ),
            Answer::Complete(Ok(ObjectMeta { size: 0, .. }))
        ));
        assert_eq!(
            answer(
                Sent::Query,
                200,
                &[("upload-offset", "101"), ("upload-length", "100")]
            ),
            Answer::Malformed(ProtocolError::OffsetBeyondLength {
                offset: 101,
                length: 100
            })
        );
        assert_eq!(
            answer(Sent::Query, 200, &[("upload-length", "100")]),
            Answer::Malformed(ProtocolError::MissingHeader("Upload-Offset"))
        );
        assert_eq!(answer(Sent::Query, 404, &[]), Answer::Gone);
        assert!(matches!(
            answer(Sent::Query, 403, &[]),
            Answer::Rejected { status: 403, .. }
        ));
    }

    #[test]
    fn failures_by_step() {
        for status in [408, 429, 500, 502, 503, 504] {
            for sent in [
                Sent::Discover,
                Sent::Create {
                    end: 0,
                    total: None,
                },
                patch(None),
                Sent::Query,
                Sent::Cancel,
            ] {
                assert_eq!(
                    answer(sent, status, &[]),
                    Answer::Retry { status },
                    "{sent:?}"
                );
            }
        }
        for sent in [
            Sent::Create {
                end: 0,
                total: None,
            },
            patch(None),
            Sent::Query,
            Sent::Cancel,
        ] {
            assert_eq!(
                answer(sent, 412, &[("tus-version", "2.0.0, 0.2.2")]),
                Answer::VersionRejected(vec!["2.0.0".into(), "0.2.2".into()])
            );
            assert!(matches!(
                answer(sent, 412, &[]),
                Answer::Rejected { status: 412, .. }
            ));
        }
        for status in [200, 204, 404, 410] {
            assert_eq!(answer(Sent::Cancel, status, &[]), Answer::Deleted);
        }
    }

    #[test]
    fn discovery_answers() {
        let Answer::Discovered(Some(caps)) = answer(
            Sent::Discover,
            204,
            &[
                ("tus-version", "1.0.0,0.2.2"),
                ("tus-extension", "creation,checksum"),
                ("tus-checksum-algorithm", "md5,sha1,crc32"),
                ("tus-max-size", "1073741824"),
            ],
        ) else {
            panic!("discovered");
        };
        assert_eq!(caps.max_size, Some(1_073_741_824));
        assert_eq!(
            ChecksumAlgorithm::strongest(caps.checksum_algorithms.iter().map(String::as_str)),
            Some(ChecksumAlgorithm::Sha1)
        );
        assert_eq!(
            answer(Sent::Discover, 200, &[("tus-version", "0.2.2")]),
            Answer::VersionRejected(vec!["0.2.2".into()])
        );
        assert!(matches!(
            answer(Sent::Discover, 204, &[]),
            Answer::Malformed(ProtocolError::Discovery(_))
        ));
        for status in [404, 405, 501, 412] {
            assert_eq!(
                answer(Sent::Discover, status, &[]),
                Answer::Discovered(None)
            );
        }
        for status in [401, 403] {
            assert!(matches!(
                answer(Sent::Discover, status, &[]),
                Answer::Rejected { status: s, .. } if s == status
            ));
        }
    }

    #[test]
    fn expiry_and_length_from_any_answer() {
        let mut map = HeaderMap::new();
        assert_eq!(expires_at(&map), None);
        assert_eq!(declared_length(&map), Ok(None));
        map.insert(
            UPLOAD_EXPIRES,
            HeaderValue::from_static("Wed, 25 Jun 2014 16:00:00 GMT"),
        );
        map.insert(UPLOAD_LENGTH, HeaderValue::from_static("100"));
        assert_eq!(
            expires_at(&map),
            Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_403_712_000))
        );
        assert_eq!(declared_length(&map), Ok(Some(Declared::Length(100))));
        map.insert(UPLOAD_EXPIRES, HeaderValue::from_static("soon"));
        map.insert(UPLOAD_LENGTH, HeaderValue::from_static("1e2"));
        assert_eq!(expires_at(&map), None);
        assert!(declared_length(&map).is_err());
        map.remove(UPLOAD_LENGTH);
        map.insert(UPLOAD_DEFER_LENGTH, HeaderValue::from_static("1"));
        assert_eq!(declared_length(&map), Ok(Some(Declared::Deferred)));
    }
}
