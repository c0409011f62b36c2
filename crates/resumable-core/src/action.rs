//! What the core asks the driver to do next, and the requests it builds.

use std::ops::Range;
use std::time::Instant;

use bytes::Bytes;

use crate::checkpoint::Checkpoint;
use crate::error::Error;
use crate::outcome::Outcome;

/// The next thing the driver must do. Poll [`crate::Upload::poll_action`]
/// again after doing it, until [`Action::Wait`], [`Action::Done`] or
/// [`Action::Failed`].
///
/// A driver that cannot carry an action out tells the core instead of
/// ending on its own: a source that cannot be read goes to
/// [`crate::Upload::handle_source_error`], a stop its user asked for to
/// [`crate::Upload::interrupt`]; then it polls on, and the core hands out
/// the checkpoint to keep and the end.
#[must_use = "the driver must carry out every action"]
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Action {
    /// Send this request, then hand its response to
    /// [`crate::Upload::handle_response`] or its failure to
    /// [`crate::Upload::handle_transport_error`], with the request's id.
    /// When [`Request::check_source`] is set, first check that the source is
    /// still the one being uploaded, and send nothing if it is not.
    Send(Request),
    /// Read these bytes of the source and pass them to
    /// [`crate::Upload::feed_checksum`]; send nothing. Asked after a resume
    /// (the bytes the checkpoint hashed, to check the source still holds
    /// them, and bytes the server persisted that this process never hashed)
    /// and before the final chunk, so that it can carry `X-Goog-Hash`.
    Checksum(Range<u64>),
    /// A source of unknown length: make its bytes up to `to` readable
    /// (reading a one-pass stream ahead into memory), then report with
    /// [`crate::Upload::handle_read_ahead`] whether it ended before `to`,
    /// and where. Asked before the core plans a request whenever `to` (one
    /// chunk and a byte past the persisted offset) has grown, so that the
    /// chunk that ends the stream is sent as the last one.
    ReadAhead {
        /// The offset to read the source ahead to.
        to: u64,
    },
    /// Store this checkpoint durably (replacing the previous one) before
    /// going on: it is what a new process resumes from with
    /// [`crate::Upload::resume`].
    Checkpoint(Checkpoint),
    /// Remove the stored checkpoint: the upload is finished, or its session
    /// is gone or cancelled, so nothing can resume from it. Handed out once,
    /// just before [`Action::Done`] or [`Action::Failed`]. A failure to
    /// remove it does not change how the upload ended: report it as a
    /// warning (a stale checkpoint costs the next run one status query).
    RemoveCheckpoint,
    /// Nothing to do before this instant (a retry's backoff): sleep until
    /// then, or until the caller cancels, then poll again.
    Wait(Instant),
    /// A request is in flight: deliver its response or failure first.
    AwaitResponse(RequestId),
    /// The upload is finished and verified (and registered, in the file-API
    /// flow); [`Action::RemoveCheckpoint`] came just before. Every later
    /// poll returns this again.
    Done(Outcome),
    /// The upload ended with this error. The checkpoint stays as the core
    /// left it: removed ([`Action::RemoveCheckpoint`]) when the session is
    /// gone or cancelled, else the last one handed out, which resumes the
    /// upload. Every later poll returns this again.
    Failed(Error),
}

/// Identifies a request, so a late answer to an abandoned one is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(crate) u64);

/// What a request is for, for logs and progress displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Purpose {
    /// File API: ask for an upload session (`POST …/files/upload-url`).
    CreateSession,
    /// GCS JSON API: initiate a resumable session (`POST …?uploadType=resumable`);
    /// tus: create an upload (`POST` to the endpoint).
    Initiate,
    /// tus: ask what the server supports (`OPTIONS`).
    Discover,
    /// Send bytes of the source (GCS: `PUT` with `Content-Range: bytes
    /// a-b/…`; tus: `PATCH` at `Upload-Offset`).
    Chunk,
    /// Ask how much is persisted, or finish with the total
    /// (GCS: `PUT` with `Content-Range: bytes */…` and no body; tus: `HEAD`).
    Query,
    /// File API: register the uploaded object (`POST …/files`).
    Register,
    /// Cancel the session (`DELETE`).
    Cancel,
}

/// A request to send: an `http::Request` whose body says what to stream.
///
/// `Debug` redacts the session URL's `upload_id` and every sensitive header
/// (`X-API-Key`, `Authorization`, the caller's extra upload headers).
#[derive(Clone)]
pub struct Request {
    /// Pass it back with the response.
    pub id: RequestId,
    /// What the request is for.
    pub purpose: Purpose,
    /// Check, before sending, that the source is still the one being
    /// uploaded (its size and modification time unchanged); if it is not,
    /// send nothing and end the upload: the bytes would not be the source's.
    /// Set on every request that carries source bytes, and on register (a
    /// file changed during its last chunk is not the file uploaded).
    pub check_source: bool,
    /// Method, URI and headers (every one of them, `Content-Length` included)
    /// and the body plan. Send it as it is; do not follow redirects, and hand
    /// every status back (a `308` is an answer, not a redirect).
    pub http: http::Request<Body>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let uri = crate::SessionUrl::new(self.http.uri().to_string());
        f.debug_struct("Request")
            .field("id", &self.id)
            .field("purpose", &self.purpose)
            .field("check_source", &self.check_source)
            .field("method", self.http.method())
            .field("uri", &uri)
            .field("headers", self.http.headers())
            .field("body", self.http.body())
            .finish()
    }
}

/// The body of a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body {
    /// No body (`Content-Length: 0`).
    Empty,
    /// A small JSON document built by the core.
    Json(Bytes),
    /// Stream bytes `start..end` of the source, in order, and pass each
    /// piece to [`crate::Upload::feed_checksum`] as it goes. The core never
    /// holds file data.
    Source(Range<u64>),
}

impl Body {
    /// The body's length in bytes.
    #[must_use]
    pub fn len(&self) -> u64 {
        match self {
            Self::Empty => 0,
            Self::Json(b) => b.len() as u64,
            Self::Source(r) => r.end.saturating_sub(r.start),
        }
    }

    /// Whether the body is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
