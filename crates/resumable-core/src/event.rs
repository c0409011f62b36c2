//! Progress and recovery events, drained with [`crate::Upload::poll_event`].

use std::fmt;
use std::time::{Duration, SystemTime};

/// Something a progress display or a log may want to know. Events are
/// information only: the driver need not act on any of them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A new upload session exists.
    SessionStarted {
        /// When the session expires, when the server said.
        expires_at: Option<SystemTime>,
        /// The chunk size in use.
        chunk_size: u64,
    },
    /// The server's id for the upload (`X-GUploader-UploadID`), safe to log.
    UploadId(String),
    /// The server persisted the first `offset` bytes.
    Persisted {
        /// Bytes persisted.
        offset: u64,
        /// The upload's size, when known.
        total: Option<u64>,
    },
    /// A request failed and will be tried again after `after`.
    Retrying {
        /// The failure's number in the current streak, from 1.
        attempt: u32,
        /// The wait before the next attempt.
        after: Duration,
        /// What failed.
        cause: RetryCause,
    },
    /// The session was gone; a new one replaces it and the upload restarts at 0.
    SessionRestarted {
        /// How many times this upload restarted.
        restarts: u32,
    },
    /// The object is complete and verified.
    Finalized {
        /// Its size.
        size: u64,
        /// Its CRC32C, when the server sent one.
        crc32c: Option<u32>,
    },
    /// The file API registered the upload.
    Registered {
        /// The File's id.
        file_id: String,
    },
}

/// What failed in an attempt that will be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryCause {
    /// A retryable status (408, 429, 500, 502, 503, 504).
    Status(u16),
    /// The transport failed.
    Transport(TransportErrorKind),
    /// A data request was answered with `308` but no byte was persisted.
    NoProgress,
    /// An answer's body arrived cut short (empty, or its JSON ends early):
    /// what the server did is in doubt, so it is asked again.
    CutShort,
    /// The server holds another offset than the request's (tus `409`): it
    /// is asked for its offset, never guessed.
    OffsetConflict,
    /// The server found a request's body did not match its checksum (tus
    /// `460`) and kept none of it: the request is sent again.
    ChecksumMismatch,
}

impl fmt::Display for RetryCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(s) => write!(f, "status {s}"),
            Self::Transport(k) => write!(f, "transport: {k}"),
            Self::NoProgress => f.write_str("no bytes persisted"),
            Self::CutShort => f.write_str("answer cut short"),
            Self::OffsetConflict => f.write_str("offset conflict"),
            Self::ChecksumMismatch => f.write_str("checksum mismatch"),
        }
    }
}

/// How a request failed below HTTP, as the driver saw it. Every kind is
/// retried; a request that failed this way may or may not have reached the
/// server, so a data request is followed by a status query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be made (refused, DNS, TLS handshake).
    Connect,
    /// The connection was reset or closed while sending or receiving.
    Reset,
    /// No progress within the driver's timeout.
    Timeout,
    /// The response was cut off or could not be parsed as HTTP.
    BadResponse,
    /// The response body was larger than [`crate::MAX_RESPONSE_BODY`]; the
    /// driver stopped reading it.
    BodyTooLarge,
    /// Anything else.
    Other,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "could not connect",
            Self::Reset => "connection reset",
            Self::Timeout => "timed out",
            Self::BadResponse => "bad or truncated response",
            Self::BodyTooLarge => "response body too large",
            Self::Other => "transport failure",
        })
    }
}

/// A request that failed below HTTP, as a transport reports it: the kind the
/// engine retries on, and the underlying error for the logs.
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {source}")]
pub struct TransportError {
    /// What kind of failure, for the engine's retry decision.
    pub kind: TransportErrorKind,
    /// The underlying error.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl TransportError {
    /// A failure of `kind` caused by `source`.
    pub fn new(
        kind: TransportErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            source: source.into(),
        }
    }
}
