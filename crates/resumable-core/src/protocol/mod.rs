//! The wire protocols the engine speaks, one stateless codec per protocol.
//!
//! A codec turns an engine step (create a session, query the offset,
//! append a byte range, cancel) into an `http::Request<Body>`, and reads
//! the `http::Response<Bytes>` back into an [`Answer`] that says what
//! happened in the engine's own terms (created, persisted N, complete,
//! retry, gone, …). The engine (`upload.rs`) decides what to do next from
//! the answer alone: status codes and header names live here, never there.
//! Each codec also states the [`Rules`] the engine must keep with it.
//!
//! The header parsers are pure: they never panic on any input and never
//! allocate beyond the value they return, so they are safe to feed anything
//! a server sends.

use std::ops::Range;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::action::Body;
use crate::checkpoint::Protocol;
use crate::config::Target;
use crate::error::ProtocolError;
use crate::outcome::ObjectMeta;

pub(crate) mod gcs;
pub(crate) mod ietf;
pub(crate) mod message;
pub(crate) mod tus;
// `pub` for `crate::codecs` (fuzz targets, benches); without it, the
// engine uses only part of them.
#[cfg_attr(
    not(any(fuzzing, feature = "codecs")),
    allow(unreachable_pub, dead_code)
)]
pub mod retry_after;

/// Drops optional whitespace (spaces and tabs) at both ends of a header value.
pub(crate) fn trim_ows(mut text: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = text {
        text = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = text {
        text = rest;
    }
    text
}

/// What the engine sent, as the codec needs to know to read the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// A question for what the server supports.
    Discover,
    /// A session creation; `end`, where the bytes it carried end (0 for
    /// none), with the upload's total when known.
    Create {
        /// The end of the bytes the creation carried.
        end: u64,
        /// The upload's total, when known.
        total: Option<u64>,
    },
    /// An offset query (which may also finish the upload).
    Query,
    /// A byte range; `digest` when it carried the whole upload's digest.
    Append {
        /// Whether the request carried the upload's digest.
        digest: bool,
        /// The upload's total, when known.
        total: Option<u64>,
        /// Where the byte range ends.
        end: u64,
    },
    /// A session deletion.
    Cancel,
}

/// What a protocol answer means, whatever the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A session was created at this absolute URL; `persisted`, the bytes
    /// it holds already when the creation carried some (tus
    /// creation-with-upload).
    Created {
        /// The session's URL.
        url: String,
        /// The bytes the creation's answer says it kept.
        persisted: Option<u64>,
    },
    /// The upload goes on; the server holds this many bytes from the start.
    Persisted(u64),
    /// The upload is complete: the stored object, or why its description
    /// could not be read.
    Complete(Result<ObjectMeta, ProtocolError>),
    /// A failure that may heal: try again after a backoff.
    Retry {
        /// The status, for the retry event.
        status: u16,
    },
    /// The session is gone (expired, deleted or unknown).
    Gone,
    /// The session was deleted, as asked.
    Deleted,
    /// The server hashed what it received and it did not match the digest
    /// sent with it.
    DigestRejected,
    /// A precondition on the destination failed; nothing was written.
    PreconditionFailed(String),
    /// Refused for good.
    Rejected {
        /// The status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The answer breaks the protocol.
    Malformed(ProtocolError),
    /// What the server supports, or `None` when it would not say.
    Discovered(Option<tus::discovery::Capabilities>),
    /// The request's offset was not the server's: ask for it, never guess.
    Conflict,
    /// The server hashed this request's body and it did not match the
    /// digest sent with it: nothing of it was kept; send it again.
    ChecksumMismatch,
    /// The server refuses an upload this large.
    TooLarge(String),
    /// The server does not speak the protocol version sent; these are the
    /// versions it does.
    VersionRejected(Vec<String>),
    /// Every byte arrived, and the target resource failed to process them
    /// (the IETF draft's failure with `Upload-Complete: ?1`): never resumed.
    ProcessingFailed {
        /// The status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// Refused with a problem document of the IETF draft.
    Problem {
        /// The status.
        status: u16,
        /// The problem.
        problem: ietf::UploadProblem,
    },
}

/// What the engine must keep to with a protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rules {
    /// Every append but the last is a multiple of this many bytes.
    pub(crate) granularity: u64,
    /// The largest append the server takes in one request, if it has a limit.
    pub(crate) max_append: Option<u64>,
    /// The smallest append the server takes in one request but the last,
    /// if it has a limit.
    pub(crate) min_append: Option<u64>,
    /// Whether the server may report more bytes than this process sent in
    /// a session it started itself. (A session started elsewhere, or by an
    /// earlier process, may hold any prefix once, whatever the protocol.)
    pub(crate) offset_may_pass_sent: bool,
    /// Whether an offset query with the total can finish an upload whose
    /// bytes are all persisted.
    pub(crate) query_finishes: bool,
    /// Whether the last append carries the whole upload's CRC32C, so the
    /// server refuses to finish corrupted data.
    pub(crate) final_digest: bool,
    /// How long a session it creates lives, when the server does not say;
    /// `None`: until the server says it is gone.
    pub(crate) session_lifetime: Option<Duration>,
}

/// Where a request to the upload host goes, and the caller's extra headers
/// (signed-URL parameters, proxies) that ride on every one of them.
pub(crate) struct Base<'a> {
    /// The URI, parsed once per session.
    pub(crate) uri: &'a http::Uri,
    /// Headers added to every request to the upload host.
    pub(crate) extra: &'a HeaderMap,
}

impl Base<'_> {
    /// A request builder for `method` to this URI, with the extra headers.
    pub(crate) fn builder(&self, method: http::Method) -> http::request::Builder {
        upload_request(method, self.uri.clone(), self.extra)
    }
}

/// A request builder for `method` to `uri` on the upload host, with the
/// caller's extra headers.
pub(crate) fn upload_request<T>(
    method: http::Method,
    uri: T,
    extra: &HeaderMap,
) -> http::request::Builder
where
    http::Uri: TryFrom<T>,
    <http::Uri as TryFrom<T>>::Error: Into<http::Error>,
{
    let mut builder = http::Request::builder().method(method).uri(uri);
    if let Some(headers) = builder.headers_mut()
        && !extra.is_empty()
    {
        headers.extend(extra.clone());
    }
    builder
}

/// A request could not be built from what the caller configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BuildError {
    /// What was unusable, for [`crate::ConfigError::BadHeader`].
    pub(crate) what: &'static str,
}

/// The codecs, one per protocol: the engine dispatches on the protocol, so
/// `Upload` has no type parameter.
impl Protocol {
    /// What the engine must keep to with this protocol.
    pub(crate) fn rules(self) -> Rules {
        match self {
            Self::Gcs => gcs::RULES,
            Self::Tus => tus::RULES,
            Self::Ietf { .. } => ietf::RULES,
        }
    }

    /// A question for what the server at `uri` supports, for a protocol
    /// that asks one; `None` for one that does not.
    pub(crate) fn discover(
        self,
        uri: &http::Uri,
        extra: &HeaderMap,
    ) -> Option<Result<http::Request<Body>, BuildError>> {
        match self {
            Self::Gcs | Self::Ietf { .. } => None,
            Self::Tus => Some(tus::discover(uri, extra)),
        }
    }

    /// The protocol's own creation of a session for `target`; `first`, the
    /// bytes of the source the creation carries, where the protocol lets
    /// it (tus creation-with-upload, the IETF draft's optimistic creation);
    /// `digests`, what an IETF creation carries.
    pub(crate) fn create(
        self,
        target: &Target,
        total: Option<u64>,
        first: Option<Range<u64>>,
        digests: ietf::Digests<'_>,
        extra: &HeaderMap,
    ) -> Result<http::Request<Body>, BuildError> {
        match (self, target) {
            (Self::Gcs, Target::GcsInitiate(init)) => gcs::initiate(init, total, extra),
            (Self::Tus, Target::TusCreate(create)) => tus::create(create, total, first, extra),
            (Self::Ietf { .. }, Target::IetfCreate(create)) => {
                ietf::create(create, total, first, digests, extra)
            }
            _ => Err(BuildError {
                what: "a creation for another protocol",
            }),
        }
    }

    /// A request that asks how much the session holds.
    pub(crate) fn query(
        self,
        base: &Base<'_>,
        total: Option<u64>,
    ) -> Result<http::Request<Body>, BuildError> {
        match self {
            Self::Gcs => gcs::query(base, total),
            Self::Tus => tus::query(base),
            Self::Ietf { interop } => ietf::query(base, interop),
        }
    }

    /// A request that appends `range` of the source; `crc32c`, the whole
    /// upload's, on the last one when the rules ask for it; `tus`, what a
    /// tus `PATCH` carries beside; `digests`, what an IETF `PATCH` does.
    pub(crate) fn append(
        self,
        base: &Base<'_>,
        range: Range<u64>,
        total: Option<u64>,
        crc32c: Option<u32>,
        tus: tus::PatchExtras<'_>,
        digests: ietf::Digests<'_>,
    ) -> Result<http::Request<Body>, BuildError> {
        match self {
            Self::Gcs => gcs::append(base, range, total, crc32c),
            Self::Tus => tus::append(base, range, tus),
            Self::Ietf { interop } => ietf::append(base, interop, range, total, digests),
        }
    }

    /// A request that deletes the session.
    pub(crate) fn cancel(self, base: &Base<'_>) -> Result<http::Request<Body>, BuildError> {
        match self {
            Self::Gcs => gcs::cancel(base),
            Self::Tus => tus::cancel(base),
            Self::Ietf { interop } => ietf::cancel(base, interop),
        }
    }

    /// Reads the answer to `sent`, a request to `request_url`.
    pub(crate) fn read(
        self,
        sent: Sent,
        request_url: &str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Answer {
        match self {
            Self::Gcs => gcs::read(sent, status, headers, body),
            Self::Tus => tus::read(sent, request_url, status, headers, body),
            Self::Ietf { .. } => ietf::read(sent, request_url, status, headers, body),
        }
    }

    /// The server's own id of the upload, safe to log, when it sends one.
    pub(crate) fn upload_id(self, headers: &HeaderMap) -> Option<&str> {
        match self {
            Self::Gcs => gcs::upload_id(headers),
            Self::Tus | Self::Ietf { .. } => None,
        }
    }

    /// When the session expires, when an answer says so; `wall_now` dates
    /// a lifetime counted from the answer.
    pub(crate) fn expires_at(
        self,
        headers: &HeaderMap,
        wall_now: SystemTime,
    ) -> Option<SystemTime> {
        match self {
            Self::Gcs => None,
            Self::Tus => tus::expires_at(headers),
            Self::Ietf { interop } => ietf::expires_at(headers, interop, wall_now),
        }
    }

    /// The upload's length as the server holds it, when an answer says so.
    pub(crate) fn declared_length(
        self,
        headers: &HeaderMap,
    ) -> Result<Option<tus::Declared>, ProtocolError> {
        match self {
            Self::Gcs => Ok(None),
            Self::Tus => tus::declared_length(headers),
            Self::Ietf { .. } => ietf::declared_length(headers),
        }
    }
}

/// Whether a status may heal on its own: a timeout, throttling, or a
/// server error that is not a refusal.
pub(crate) fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// The server's `Retry-After` on any answer, when it sent a valid one;
/// `wall_now` dates an HTTP-date.
pub(crate) fn retry_after(headers: &HeaderMap, wall_now: SystemTime) -> Option<Duration> {
    headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| retry_after::parse(v, wall_now).ok())
}
