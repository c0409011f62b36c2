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
    /// Bytes start to flow: the first data request of the session goes out,
    /// from `offset`. Once per session: a resumed upload starts where the
    /// server stopped (past 0), a restarted session at 0 again. A rate or an
    /// ETA counts from here, so the bytes stored by an earlier run are not
    /// taken for speed.
    TransferStarted {
        /// Where the first data request starts: the bytes already stored.
        offset: u64,
        /// The upload's size, when known.
        total: Option<u64>,
    },
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
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryCause {
    /// A retryable status (408, 429, 500, 502, 503, 504).
    Status(u16),
    /// The transport failed: how, with which host, and the underlying
    /// error's text.
    Transport(TransportFailure),
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
            Self::Transport(t) => t.fmt(f),
            Self::NoProgress => f.write_str("no bytes persisted"),
            Self::CutShort => f.write_str("answer cut short"),
            Self::OffsetConflict => f.write_str("offset conflict"),
            Self::ChecksumMismatch => f.write_str("checksum mismatch"),
        }
    }
}

/// How a request failed below HTTP, as the driver saw it. A request that
/// failed this way may or may not have reached the server, so a data
/// request is followed by a status query. Every kind is retried, but for
/// those that fail fast ([`TransportErrorKind::fails_fast`]) before any
/// server of the run answered: then the upload ends at once with
/// [`crate::Error::Unreachable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The name does not exist: DNS answered "no such host".
    NoSuchHost,
    /// The name could not be resolved now (a temporary DNS failure).
    Dns,
    /// The server refused the connection: nothing listens on the port.
    ConnectRefused,
    /// The connection was not made within the driver's connect timeout.
    ConnectTimeout,
    /// The connection could not be made for another reason (no route, a
    /// proxy refused it).
    Connect,
    /// The server's TLS certificate was rejected (an issuer the trust store
    /// does not know, expired, issued for another name).
    TlsCertificate,
    /// The TLS handshake failed for another reason; most often the server
    /// does not speak TLS on that port (`https` to a plain-http port).
    TlsHandshake,
    /// The connection was reset or closed while sending or receiving.
    Reset,
    /// No progress within the driver's timeout.
    Timeout,
    /// The response ended before the length its headers promised.
    Truncated,
    /// The response could not be parsed as HTTP.
    BadResponse,
    /// The response body was larger than [`crate::MAX_RESPONSE_BODY`]; the
    /// driver stopped reading it.
    BodyTooLarge,
    /// Anything else.
    Other,
}

impl TransportErrorKind {
    /// Whether it ends a run at once when it happens before any server of
    /// the run answered. A name that does not exist, a certificate the
    /// trust store rejects and a server that does not speak TLS stay so
    /// however often they are retried, and a refused connection before
    /// anything answered is most often a wrong port: the URL needs fixing,
    /// not minutes of backoff. Once a server answered, every kind is
    /// retried (a server restarting refuses connections for a while); the
    /// others (a reset, a timeout, a temporary DNS failure) are retried
    /// always.
    pub fn fails_fast(self) -> bool {
        matches!(
            self,
            Self::NoSuchHost | Self::ConnectRefused | Self::TlsCertificate | Self::TlsHandshake
        )
    }
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoSuchHost => "no such host",
            Self::Dns => "name resolution failed",
            Self::ConnectRefused => "connection refused",
            Self::ConnectTimeout => "connect timed out",
            Self::Connect => "could not connect",
            Self::TlsCertificate => "TLS certificate rejected",
            Self::TlsHandshake => "TLS handshake failed",
            Self::Reset => "connection reset",
            Self::Timeout => "timed out",
            Self::Truncated => "response cut short",
            Self::BadResponse => "bad response",
            Self::BodyTooLarge => "response body too large",
            Self::Other => "transport failure",
        })
    }
}

/// A transport failure as the engine keeps it, for retry events and the
/// final error: the kind it decided on, the host (and port) the request
/// went to, and the underlying error's text with the request's path and
/// query redacted from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportFailure {
    /// How it failed.
    pub kind: TransportErrorKind,
    /// The request's host and port (`127.0.0.1:1`), never its path or query.
    pub host: String,
    /// What the transport said, its causes joined with `: `.
    pub detail: String,
}

impl fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (host, detail) = (&self.host, &self.detail);
        match self.kind {
            TransportErrorKind::NoSuchHost => write!(f, "no such host: {host} ({detail})"),
            TransportErrorKind::Dns => write!(f, "could not resolve {host}: {detail}"),
            TransportErrorKind::ConnectRefused => {
                write!(f, "could not connect to {host}: connection refused")
            }
            TransportErrorKind::ConnectTimeout => write!(f, "timed out connecting to {host}"),
            TransportErrorKind::Connect => write!(f, "could not connect to {host}: {detail}"),
            TransportErrorKind::TlsCertificate => {
                write!(f, "the TLS certificate of {host} was rejected: {detail}")
            }
            TransportErrorKind::TlsHandshake => {
                write!(f, "the TLS handshake with {host} failed: {detail}")
            }
            TransportErrorKind::Timeout => write!(f, "{host} did not answer in time ({detail})"),
            kind => write!(f, "{kind} ({host}): {detail}"),
        }
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
    /// The underlying error's text, its causes joined with `: ` (each once,
    /// where an error repeats its cause's text in its own).
    pub fn detail(&self) -> String {
        let mut text = self.source.to_string();
        let mut next = self.source.source();
        while let Some(cause) = next {
            let more = cause.to_string();
            if !text.contains(&more) {
                text.push_str(": ");
                text.push_str(&more);
            }
            next = cause.source();
        }
        text
    }

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
