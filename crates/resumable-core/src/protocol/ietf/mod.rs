//! Resumable Uploads for HTTP (draft-ietf-httpbis-resumable-upload), the
//! client side: the draft's text of July 2026 (interop version 8) and
//! interop version 6 (draft -05), chosen per upload with
//! [`InteropVersion`]. Section numbers below are the draft's.
//!
//! An upload starts with a request to the target resource carrying
//! `Upload-Complete` (§4.2), which makes the server create an *upload
//! resource*: its URL comes in `Location`, on a `104 (Upload Resumption
//! Supported)` interim response (§5) or on the final `201`. `HEAD` asks the
//! upload resource for its `Upload-Offset` (§4.3), `PATCH` with
//! `Content-Type: application/partial-upload` appends at an offset (§4.4),
//! the request that ends with `Upload-Complete: ?1` is answered by the
//! target resource itself, and `DELETE` cancels (§4.5). `Upload-Limit`
//! (§4.1.4) bounds the sizes and the lifetime; a request refused with
//! `413` goes again within the smaller `max-append-size` the answer
//! states, or else at half its size, as long as that is at least 64 KiB
//! and the server's `min-append-size`. A source past the `max-size` the
//! server states is refused and its upload resource cancelled (§4.2.1), as
//! is one of two upload resources a creation was named (§4.2.2). Every request carries
//! `Upload-Draft-Interop-Version` (appendix "Draft Version
//! Identification"), and a `104` of another version is ignored.
//!
//! The two creation strategies of §11 are [`crate::IetfStrategy`]s: the
//! careful one sends an empty creation and appends; the optimistic one
//! sends the first chunk (the whole source when it fits) in the creation,
//! and is made resumable mid-flight by a `104`.
//!
//! Integrity (§10): the request that completes the upload carries the
//! source's `Repr-Digest` (SHA-256, hashed in offset order like the
//! CRC32C), appends carry `Content-Digest` when the server asks with
//! `Want-Content-Digest`, and a `Repr-Digest` the server sends with an
//! answer saying the upload is complete (its final answer, or a `HEAD`'s
//! after that answer was lost) must be the source's, or the upload ends
//! with [`crate::IntegrityError::Sha256`].
//!
//! The codecs are submodules: [`fields`] (the Item fields), [`limit`]
//! (`Upload-Limit`), [`problem`] (the problem types of §7) and [`digest`]
//! (RFC 9530's fields, §10).

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

header_codecs!(digest, fields, limit, problem);
mod members;
mod version;

use std::ops::Range;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};

use super::message::error_message;
use super::tus::{Declared, completed, location};
use super::{Answer, Base, BuildError, Rules, Sent, is_retryable, upload_request};
use crate::action::Body;
use crate::config::IetfCreate;
use crate::error::{ConfigError, ProtocolError};
use crate::outcome::ObjectMeta;
use crate::url;
pub use limit::UploadLimits;
pub use problem::UploadProblem;
pub use version::InteropVersion;

/// `Upload-Draft-Interop-Version`: the draft iteration, on every request.
pub(crate) const UPLOAD_DRAFT_INTEROP_VERSION: HeaderName =
    HeaderName::from_static("upload-draft-interop-version");
/// `Upload-Complete`: whether a request ends the upload (§4.1.2).
pub(crate) const UPLOAD_COMPLETE: HeaderName = HeaderName::from_static("upload-complete");
/// `Upload-Offset`: where an append starts, and what the server holds (§4.1.1).
pub(crate) const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
/// `Upload-Length`: the whole representation's size (§4.1.3).
pub(crate) const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
/// `Upload-Limit`: the server's limits (§4.1.4).
pub(crate) const UPLOAD_LIMIT: HeaderName = HeaderName::from_static("upload-limit");
/// `Repr-Digest` (RFC 9530 §2).
pub(crate) const REPR_DIGEST: HeaderName = HeaderName::from_static("repr-digest");
/// `Content-Digest` (RFC 9530 §3).
pub(crate) const CONTENT_DIGEST: HeaderName = HeaderName::from_static("content-digest");
/// `Want-Repr-Digest` (RFC 9530 §4).
pub(crate) const WANT_REPR_DIGEST: HeaderName = HeaderName::from_static("want-repr-digest");
/// `Want-Content-Digest` (RFC 9530 §4).
pub(crate) const WANT_CONTENT_DIGEST: HeaderName = HeaderName::from_static("want-content-digest");
/// The media type of every append (§6).
pub(crate) const PARTIAL_UPLOAD: HeaderValue =
    HeaderValue::from_static("application/partial-upload");

/// The draft's rules: any byte count; the limits come from `Upload-Limit`
/// (which the engine applies as they arrive); an answer that says the
/// server holds more than this process sent to an upload it created is a
/// lie (bytes it would skip, with only the server's word that the result
/// is whole), as in tus; a resumed or handed-in upload may hold any prefix
/// once, as in every protocol; a
/// `HEAD` never ends an upload (only `Upload-Complete: ?1` on a request
/// does, so the last bytes, or an empty `PATCH`, finish it); the completing
/// request carries the whole representation's `Repr-Digest`; the lifetime
/// is `Upload-Limit`'s `max-age` when the server names one.
pub(crate) const RULES: Rules = Rules {
    granularity: 1,
    max_append: None,
    min_append: None,
    offset_may_pass_sent: false,
    query_finishes: false,
    final_digest: true,
    session_lifetime: None,
};

/// What a creation or an append carries beside its bytes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Digests<'a> {
    /// The whole representation's SHA-256, on the request that completes it.
    pub(crate) repr: Option<&'a [u8]>,
    /// This request's content's SHA-256, when the server asked for it.
    pub(crate) content: Option<&'a [u8]>,
}

/// Adds the digests and the interop version, the fields every request of
/// this protocol ends with.
fn finish_request(
    mut builder: http::request::Builder,
    interop: InteropVersion,
    digests: Digests<'_>,
) -> Result<http::request::Builder, BuildError> {
    let digest_error = BuildError { what: "the digest" };
    if let Some(content) = digests.content {
        let value = digest::sha256_header(content).ok_or(digest_error)?;
        builder = builder.header(CONTENT_DIGEST, value);
    }
    if let Some(repr) = digests.repr {
        let value = digest::sha256_header(repr).ok_or(digest_error)?;
        builder = builder.header(REPR_DIGEST, value);
    }
    Ok(builder.header(UPLOAD_DRAFT_INTEROP_VERSION, interop.header_value()))
}

/// The request that creates the upload resource (§4.2.1): to the target
/// resource, with `first` of the source as its content (the optimistic
/// strategy) or none (the careful one). It completes the upload when its
/// content ends at a known `total`.
pub(crate) fn create(
    create: &IetfCreate,
    total: Option<u64>,
    first: Option<Range<u64>>,
    digests: Digests<'_>,
    extra: &HeaderMap,
) -> Result<http::Request<Body>, BuildError> {
    let range = first.unwrap_or(0..0);
    let completes = total == Some(range.end);
    let mut builder = upload_request(create.method.clone(), create.endpoint.as_str(), extra)
        .header(UPLOAD_COMPLETE, fields::boolean_header(completes))
        .header(header::CONTENT_LENGTH, range.end - range.start);
    if let Some(total) = total {
        builder = builder.header(UPLOAD_LENGTH, fields::count_header(total));
    }
    if let Some(content_type) = &create.content_type {
        builder = builder.header(header::CONTENT_TYPE, content_type.as_str());
    }
    let body = if range.is_empty() {
        Body::Empty
    } else {
        Body::Source(range)
    };
    finish_request(builder, create.interop, digests)?
        .body(body)
        .map_err(|_| BuildError {
            what: "the upload endpoint",
        })
}

/// Checks a creation's parameters, before any request.
pub(crate) fn validate_create(create: &IetfCreate) -> Result<(), ConfigError> {
    if !url::is_absolute_http_url(&create.endpoint) {
        return Err(ConfigError::BadUrl {
            what: "the upload endpoint",
        });
    }
    if let Some(content_type) = &create.content_type
        && http::HeaderValue::from_str(content_type).is_err()
    {
        return Err(ConfigError::BadHeader {
            what: "the content type",
        });
    }
    Ok(())
}

/// `HEAD`: how much the upload resource holds (§4.3.1).
pub(crate) fn query(
    base: &Base<'_>,
    interop: InteropVersion,
) -> Result<http::Request<Body>, BuildError> {
    finish_request(base.builder(Method::HEAD), interop, Digests::default())?
        .body(Body::Empty)
        .map_err(|_| unusable())
}

/// `PATCH` of `range` of the source at its start (§4.4.1); it completes the
/// upload when `range` ends at a known `total`.
pub(crate) fn append(
    base: &Base<'_>,
    interop: InteropVersion,
    range: Range<u64>,
    total: Option<u64>,
    digests: Digests<'_>,
) -> Result<http::Request<Body>, BuildError> {
    let builder = base
        .builder(Method::PATCH)
        .header(
            UPLOAD_COMPLETE,
            fields::boolean_header(total == Some(range.end)),
        )
        .header(UPLOAD_OFFSET, fields::count_header(range.start))
        .header(header::CONTENT_LENGTH, range.end - range.start)
        .header(header::CONTENT_TYPE, PARTIAL_UPLOAD);
    let body = if range.is_empty() {
        Body::Empty
    } else {
        Body::Source(range)
    };
    finish_request(builder, interop, digests)?
        .body(body)
        .map_err(|_| unusable())
}

/// `DELETE`: cancels the upload (§4.5.1).
pub(crate) fn cancel(
    base: &Base<'_>,
    interop: InteropVersion,
) -> Result<http::Request<Body>, BuildError> {
    finish_request(base.builder(Method::DELETE), interop, Digests::default())?
        .body(Body::Empty)
        .map_err(|_| unusable())
}

/// Reads the final answer to `sent`, a request to `request_url` (what a
/// relative `Location` is resolved against).
pub(crate) fn read(
    sent: Sent,
    request_url: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &Bytes,
) -> Answer {
    let code = status.as_u16();
    let message = || error_message(status, body);
    let refused = || match problem::from_answer(headers, body) {
        Some(problem) => Answer::Problem {
            status: code,
            problem,
        },
        None => Answer::Rejected {
            status: code,
            message: message(),
        },
    };
    match sent {
        Sent::Create { end, total } | Sent::Append { end, total, .. } => {
            let creation = matches!(sent, Sent::Create { .. });
            let said_complete = fields::complete(headers);
            // The target resource's own answer (§4.1.2, §4.4.1): a failure
            // here means the bytes arrived and processing them failed.
            if said_complete == Some(true)
                || (total == Some(end) && status.is_success() && said_complete.is_none())
            {
                return if status.is_success() {
                    Answer::Complete(Ok(complete_upload(end, headers)))
                } else {
                    Answer::ProcessingFailed {
                        status: code,
                        message: message(),
                    }
                };
            }
            match code {
                _ if status.is_success() && creation => created(request_url, headers, end),
                // Everything sent was appended (§4.4.2), unless it says less.
                _ if status.is_success() => match offset(headers) {
                    Some(Ok(offset)) => Answer::Persisted(offset),
                    Some(Err(e)) => Answer::Malformed(e),
                    None => Answer::Persisted(end),
                },
                409 if !creation => mismatch(headers, body),
                413 => Answer::TooLarge(message()),
                404 | 410 if !creation => Answer::Gone,
                _ if is_retryable(status) => Answer::Retry { status: code },
                _ => refused(),
            }
        }
        Sent::Query => match code {
            _ if status.is_success() => query_answer(headers),
            404 | 410 => Answer::Gone,
            _ if is_retryable(status) => Answer::Retry { status: code },
            _ => refused(),
        },
        Sent::Cancel => match code {
            _ if status.is_success() => Answer::Deleted,
            404 | 410 => Answer::Deleted,
            _ if is_retryable(status) => Answer::Retry { status: code },
            _ => refused(),
        },
        // This protocol asks nothing before its creation.
        Sent::Discover => Answer::Discovered(None),
    }
}

/// A `409` to an append (§4.4.2): the server's offset, from the problem
/// document or the `Upload-Offset` it must carry; without either, ask.
fn mismatch(headers: &HeaderMap, body: &[u8]) -> Answer {
    if let Some(UploadProblem::MismatchingOffset {
        expected: Some(expected),
        ..
    }) = problem::from_answer(headers, body)
    {
        return Answer::Persisted(expected);
    }
    match offset(headers) {
        Some(Ok(offset)) => Answer::Persisted(offset),
        _ => Answer::Conflict,
    }
}

/// A successful `HEAD` answer (§4.3.2): the offset it must carry, and the
/// upload complete when it says so.
fn query_answer(headers: &HeaderMap) -> Answer {
    let offset = match offset(headers) {
        Some(Ok(offset)) => offset,
        Some(Err(e)) => return Answer::Malformed(e),
        None => return Answer::Malformed(ProtocolError::MissingHeader("Upload-Offset")),
    };
    if let Ok(Some(Declared::Length(length))) = declared_length(headers)
        && offset > length
    {
        return Answer::Malformed(ProtocolError::OffsetBeyondLength { offset, length });
    }
    if fields::complete(headers) == Some(true) {
        return Answer::Complete(Ok(complete_upload(offset, headers)));
    }
    Answer::Persisted(offset)
}

/// The upload of `size` bytes an answer says is complete, with the
/// `Repr-Digest` the server computed of it, if it sent one (§10.1).
fn complete_upload(size: u64, headers: &HeaderMap) -> ObjectMeta {
    ObjectMeta {
        sha256: headers
            .get(REPR_DIGEST)
            .and_then(|v| digest::sha256_of_field(v.as_bytes()))
            .map(Box::new),
        ..completed(size)
    }
}

/// A creation's successful answer that did not complete the upload: the
/// upload resource's URL (§4.2.2 requires `Location`), and what it holds.
fn created(request_url: &str, headers: &HeaderMap, end: u64) -> Answer {
    let Some(value) = headers.get(header::LOCATION) else {
        return Answer::Malformed(ProtocolError::MissingLocation);
    };
    let persisted = match offset(headers) {
        Some(Ok(offset)) => offset,
        Some(Err(e)) => return Answer::Malformed(e),
        // The content was processed whole, or it would not have succeeded.
        None => end,
    };
    match location::resolve(request_url, value.as_bytes()) {
        Ok(url) => Answer::Created {
            url,
            persisted: Some(persisted),
        },
        Err(e) => Answer::Malformed(ProtocolError::Location(e)),
    }
}

/// What a `104 (Upload Resumption Supported)` says (§5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Interim {
    /// The upload resource's URL, resolved, on the first one of a creation.
    pub(crate) location: Option<Result<String, location::LocationError>>,
    /// The offset the server holds: progress.
    pub(crate) offset: Option<u64>,
}

/// Reads an interim response to a request to `request_url`: `None` for
/// anything but a `104` of `interop`'s version, which the draft says to
/// ignore. An `Upload-Offset` that is no count is ignored too (§4.1.1).
pub(crate) fn read_interim(
    interop: InteropVersion,
    request_url: &str,
    status: StatusCode,
    headers: &HeaderMap,
) -> Option<Interim> {
    if status.as_u16() != 104 {
        return None;
    }
    let version = fields::field(headers, UPLOAD_DRAFT_INTEROP_VERSION, fields::parse_count)?;
    if version.ok()? != u64::from(interop.number()) {
        return None;
    }
    Some(Interim {
        location: headers
            .get(header::LOCATION)
            .map(|v| location::resolve(request_url, v.as_bytes())),
        offset: offset(headers).and_then(Result::ok),
    })
}

/// The limits an answer states, when it states usable ones.
pub(crate) fn limits(headers: &HeaderMap, interop: InteropVersion) -> Option<UploadLimits> {
    limit::from_headers(headers, interop)
}

/// When the upload resource expires, when an answer's `Upload-Limit` says
/// (`max-age`, counted from the response, §4.1.4).
pub(crate) fn expires_at(
    headers: &HeaderMap,
    interop: InteropVersion,
    wall_now: SystemTime,
) -> Option<SystemTime> {
    let seconds = limits(headers, interop)?.max_age?;
    wall_now.checked_add(Duration::from_secs(seconds))
}

/// The upload's length as an answer states it (`Upload-Length`); an
/// invalid one is ignored (§4.1.3).
pub(crate) fn declared_length(headers: &HeaderMap) -> Result<Option<Declared>, ProtocolError> {
    Ok(fields::field(headers, UPLOAD_LENGTH, fields::parse_count)
        .and_then(Result::ok)
        .map(Declared::Length))
}

/// The `Upload-Offset` of an answer, when it has one.
fn offset(headers: &HeaderMap) -> Option<Result<u64, ProtocolError>> {
    fields::field(headers, UPLOAD_OFFSET, fields::parse_count).map(|r| {
        r.map_err(|error| ProtocolError::IetfField {
            header: "Upload-Offset",
            error,
        })
    })
}

fn unusable() -> BuildError {
    BuildError {
        what: "the upload URL",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
