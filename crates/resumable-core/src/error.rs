//! Errors, split by whose fault they are.
//!
//! - [`UsageError`]: the driver called the core wrongly; returned from the
//!   `handle_*` call, nothing changes, the upload goes on.
//! - [`Error`]: why an upload ended, handed out by [`crate::Action::Failed`].
//!   It is sticky and `Clone`: every later poll returns the same error.

use std::time::Duration;

use crate::event::{RetryCause, TransportFailure};
use crate::protocol::gcs::content_range::ContentRangeError;
use crate::protocol::gcs::goog_hash::HashError;
use crate::protocol::gcs::range::RangeError;
use crate::protocol::ietf::UploadProblem;
use crate::protocol::ietf::fields::FieldError;
use crate::protocol::tus::discovery::DiscoveryError;
use crate::protocol::tus::location::LocationError;
use crate::protocol::tus::number::NumberError;
use crate::timestamp::TimestampError;

/// Why an upload ended without success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration cannot work; nothing was sent.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// The source does not match what the upload or its checkpoint expects.
    #[error("source error: {0}")]
    Source(#[from] SourceError),
    /// A server broke the protocol.
    #[error("protocol violation: {0}")]
    Protocol(#[from] ProtocolError),
    /// The stored object is not the source; nothing was registered.
    #[error("integrity check failed: {0}")]
    Integrity(#[from] IntegrityError),
    /// The application API refused a request (e.g. a bad key, a file too large).
    #[error("the file API answered {status}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The server's message, or the status text when it sent none.
        message: String,
    },
    /// The file is larger than the session's `max_file_size`; nothing was sent.
    #[error("the file has {size} bytes, more than the {max} the file API accepts")]
    FileTooLarge {
        /// The file's size.
        size: u64,
        /// The largest size the API accepts.
        max: u64,
    },
    /// The upload host refused a request with a status that retrying cannot fix.
    #[error("the upload host answered {status}: {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The server's message, or the status text when it sent none.
        message: String,
    },
    /// The upload host answered `412 Precondition Failed`: a condition of
    /// [`crate::Preconditions`] does not hold for the object as it is now
    /// (at the initiation, or when the session finalized: GCS checks both
    /// times). Nothing was written, and retrying cannot help while the
    /// object stays as it is; the upload ends at once. A resumed session
    /// fails the same way, since the server keeps the condition with it:
    /// to upload anyway, drop the refused session (the drivers' `cancel`
    /// with the upload's checkpoint key deletes it and its checkpoint), then
    /// start a new upload with other preconditions.
    #[error("a precondition failed (412): {message}; nothing was written")]
    PreconditionFailed {
        /// The server's message, or the status text when it sent none.
        message: String,
    },
    /// Failures went on past the retry budget.
    #[error("gave up after {attempts} failed attempts over {elapsed:?}; last: {last}")]
    GaveUp {
        /// Failed attempts in the last streak.
        attempts: u32,
        /// How long the last streak lasted.
        elapsed: Duration,
        /// The last failure.
        last: RetryCause,
    },
    /// A request failed, before any server of the run answered, in a way
    /// that fails fast ([`crate::TransportErrorKind::fails_fast`]): a name
    /// that does not exist, a refused connection, a certificate the trust
    /// store rejects, a server that does not speak TLS. Nothing was retried:
    /// fix the URL (the port? `http` for `https`?) or the trust store, then
    /// run again; a checkpoint, if any, is kept.
    #[error("{0}")]
    Unreachable(TransportFailure),
    /// The session is gone (expired or cancelled) and cannot be replaced: the
    /// upload was started from a bare session URL, the source cannot be read
    /// again from the start, or the restart budget ran out.
    #[error("the upload session is gone and cannot be replaced")]
    SessionGone,
    /// The upload was cancelled with [`crate::Upload::cancel`]; the session was
    /// deleted (or already gone). A tus server that lists its extensions
    /// without `termination` is sent no `DELETE`: it keeps the upload until
    /// it expires.
    #[error("the upload was cancelled")]
    Cancelled,
    /// A URL would carry credentials in clear text: plain `http` to `host`,
    /// which is not loopback, without [`crate::Config::allow_insecure_http`].
    /// Nothing was sent to it: a configured URL fails [`crate::Upload::new`],
    /// one a server handed out ends the upload as it arrives.
    #[error("refusing plain http to {host}: use https, or allow insecure http explicitly")]
    Insecure {
        /// The host refused.
        host: String,
    },
    /// The upload host refuses an upload this large (tus: `413`, or a
    /// length past the `Tus-Max-Size` it announced, found before anything
    /// was sent). Retrying cannot help.
    #[error("the upload host refuses an upload this large: {message}")]
    TooLarge {
        /// The server's message, or what the engine found.
        message: String,
        /// The largest upload the server takes, when it said.
        max: Option<u64>,
    },
    /// The tus server does not speak version 1.0.0 of the protocol (it
    /// answered `412` with `Tus-Version`, or its `OPTIONS` answer lists
    /// other versions only). Nothing was done.
    #[error("the tus server speaks versions {offered:?}, not 1.0.0")]
    UnsupportedVersion {
        /// The versions the server speaks, most preferred first.
        offered: Vec<String>,
    },
    /// The tus server does not list an extension this upload needs: nothing
    /// was sent. `creation`: give the URL of an upload created elsewhere
    /// ([`crate::Config::tus_upload`]); `creation-defer-length`: give the
    /// source's size.
    #[error("the tus server does not support the {extension} extension this upload needs")]
    UnsupportedExtension {
        /// The extension's name, as tus spells it.
        extension: &'static str,
    },
    /// Every byte of an upload of the IETF draft arrived, and the target
    /// resource failed to process them: it answered the request that
    /// completed the upload with this status and `Upload-Complete: ?1`
    /// (the draft's §4.4.1). Resuming cannot help, so nothing is retried;
    /// what to do depends on the resource (the message says why).
    #[error("the upload was transferred, and processing it failed with {status}: {message}")]
    ProcessingFailed {
        /// The target resource's status.
        status: u16,
        /// Its message, or the status text when it sent none.
        message: String,
    },
    /// The upload resource refused a request with one of the IETF draft's
    /// problem types (§7) that the engine cannot go on from.
    #[error("the upload host answered {status}: {problem}")]
    UploadProblem {
        /// The HTTP status.
        status: u16,
        /// The problem it reported.
        problem: UploadProblem,
    },
    /// The driver stopped the upload on its user's request
    /// ([`crate::Upload::interrupt`]); the checkpoint handed out just
    /// before is the one to resume from.
    #[error("interrupted; the checkpoint is kept and the upload resumes when run again")]
    Interrupted,
}

/// A configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A file must have at least one byte for the file API.
    #[error("the file is empty; the file API needs file_size > 0")]
    EmptyFile,
    /// The file API needs the size up front.
    #[error("the file API needs the file size up front")]
    UnknownSize,
    /// The file name must have 1 to 255 characters.
    #[error("the file name must have 1 to 255 characters, it has {0}")]
    FilenameLength(usize),
    /// A URL is not an absolute http(s) URL.
    #[error("{what} is not an absolute http(s) URL")]
    BadUrl {
        /// Which URL.
        what: &'static str,
    },
    /// A value cannot be sent in a header.
    #[error("{what} cannot be sent in an HTTP header")]
    BadHeader {
        /// Which value.
        what: &'static str,
    },
}

/// The source does not match the upload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The source changed since the checkpoint was written (size or
    /// modification time differ). Start over without the checkpoint.
    #[error("the source changed since the checkpoint was written; start a new upload")]
    Changed,
    /// The checkpoint belongs to another kind of upload or another format.
    #[error("the checkpoint does not belong to this upload: {0}")]
    CheckpointMismatch(&'static str),
    /// The driver could not read the source
    /// ([`crate::Upload::handle_source_error`]); the driver holds the
    /// underlying error. The checkpoint handed out just before is the one to
    /// resume from once the source reads again.
    #[error("the source could not be read")]
    Unreadable,
    /// A stream of unknown length ended (found by [`crate::Action::ReadAhead`])
    /// below the bytes the upload already sent or the server holds: it is
    /// not the stream the upload began with.
    #[error("the source ended at {total} bytes, before the {held} the upload already holds")]
    EndedEarly {
        /// Where the source ended.
        total: u64,
        /// The bytes already sent or persisted.
        held: u64,
    },
}

/// A server broke the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A `308`'s `Range` header is malformed.
    #[error("bad Range header: {0}")]
    Range(#[from] RangeError),
    /// A `Content-Range` the server sent is malformed.
    #[error("bad Content-Range header: {0}")]
    ContentRange(#[from] ContentRangeError),
    /// An `X-Goog-Hash` header or a hash field is malformed.
    #[error("bad hash: {0}")]
    Hash(#[from] HashError),
    /// A timestamp is malformed.
    #[error("bad timestamp in {field}: {error}")]
    Timestamp {
        /// The field.
        field: &'static str,
        /// What is wrong.
        error: TimestampError,
    },
    /// A tus byte count (`Upload-Offset`, `Upload-Length`) is malformed.
    #[error("bad {header} header: {error}")]
    TusNumber {
        /// The header.
        header: &'static str,
        /// What is wrong.
        error: NumberError,
    },
    /// A field of the IETF draft (`Upload-Offset`, …) is not the
    /// Structured Field it must be.
    #[error("bad {header} header: {error}")]
    IetfField {
        /// The header.
        header: &'static str,
        /// What is wrong.
        error: FieldError,
    },
    /// Two answers of one creation named different upload resources (the
    /// draft's §4.2.2 requires one `Location`).
    #[error("the upload resource's Location changed within one creation")]
    LocationChanged,
    /// An answer lacks a header the protocol requires of it.
    #[error("the answer lacks its {0} header")]
    MissingHeader(&'static str),
    /// A tus creation's `Location` names no usable upload URL.
    #[error("bad Location header: {0}")]
    Location(#[from] LocationError),
    /// A tus server's `OPTIONS` answer is malformed.
    #[error("bad OPTIONS answer: {0}")]
    Discovery(#[from] DiscoveryError),
    /// A tus server reports an offset past the upload's length.
    #[error("server reports offset {offset} past the upload's length {length}")]
    OffsetBeyondLength {
        /// The offset reported.
        offset: u64,
        /// The upload's length.
        length: u64,
    },
    /// A tus server holds the upload with another length than the source's.
    #[error("the server holds the upload as {declared} bytes, the source has {total}")]
    LengthMismatch {
        /// The length the server reports.
        declared: u64,
        /// The source's size.
        total: u64,
    },
    /// The persisted offset went backwards.
    #[error("persisted offset went backwards from {before} to {after}")]
    OffsetBackwards {
        /// The offset known before.
        before: u64,
        /// The offset the server reported.
        after: u64,
    },
    /// The server claims more bytes than were ever sent.
    #[error("server reports {persisted} bytes persisted, but only {sent} were sent")]
    OffsetBeyondSent {
        /// The offset the server reported.
        persisted: u64,
        /// The end of the bytes sent.
        sent: u64,
    },
    /// The server ended the upload before it had every byte.
    #[error("the upload was finalized early")]
    UnexpectedFinal,
    /// A JSON body ends before its value does: empty, or cut off by a
    /// broken connection or a proxy. The engine treats such an answer as a
    /// doubtful failure where it can ask again (see [`crate::Upload`]).
    #[error("the {what} arrived cut short (its JSON ends early)")]
    CutShort {
        /// Which body.
        what: &'static str,
    },
    /// A JSON body is malformed or misses a field.
    #[error("bad JSON in {what}: {detail}")]
    Json {
        /// Which body.
        what: &'static str,
        /// The parser's words.
        detail: String,
    },
    /// The upload session the API handed out cannot be used.
    #[error("bad upload session: {0}")]
    BadSession(&'static str),
    /// A session initiation answered without a usable `Location`.
    #[error("session initiation answered without a usable Location header")]
    MissingLocation,
    /// A response body is larger than any sane answer.
    #[error("response body of {0} bytes is larger than allowed")]
    BodyTooLarge(usize),
}

impl ProtocolError {
    /// The error for a JSON body of `what` that did not parse: [`Self::CutShort`]
    /// when it ends early, else [`Self::Json`].
    pub(crate) fn json(what: &'static str, error: &serde_json::Error) -> Self {
        if error.is_eof() {
            Self::CutShort { what }
        } else {
            Self::Json {
                what,
                detail: error.to_string(),
            }
        }
    }
}

/// The stored object differs from the source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IntegrityError {
    /// The object's size is not the source's.
    #[error("object has {stored} bytes, the source has {expected}")]
    Size {
        /// The source's size.
        expected: u64,
        /// The object's size.
        stored: u64,
    },
    /// The object's CRC32C is not the source's.
    #[error("object CRC32C {stored:08x} differs from the source's {expected:08x}")]
    Crc32c {
        /// The source's CRC32C.
        expected: u32,
        /// The object's CRC32C.
        stored: u32,
    },
    /// The object's MD5 is not the one the caller gave.
    #[error("object MD5 differs from the expected one")]
    Md5,
    /// The driver did not feed every byte of the source to the checksum
    /// (see [`crate::Action::Checksum`]), so the object cannot be verified.
    #[error("the source was not hashed whole, so the object cannot be verified")]
    SourceNotHashed,
    /// The final object carries no CRC32C, and [`crate::Config::require_crc32c`] is set.
    #[error("the final object carries no CRC32C to verify")]
    MissingCrc32c,
    /// The upload host refused the final chunk's `X-Goog-Hash`: what it
    /// received is not the source. Nothing was finalized.
    #[error("the upload host found the data it received does not match its CRC32C")]
    HashRejected,
    /// The IETF draft server's `Repr-Digest` of the complete upload is not
    /// the source's SHA-256 (the draft's §10.1): what it stored is not the
    /// source.
    #[error("the upload host's Repr-Digest of the stored upload differs from the source's SHA-256")]
    Sha256,
}

/// The driver called the core wrongly. Nothing changed; go on polling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// The id is not the request in flight: a late answer to an abandoned
    /// request, which is refused rather than applied.
    #[error("response to a request that is not in flight")]
    UnknownRequest,
    /// The total given contradicts what is known (bytes already persisted
    /// past it, or another total).
    #[error("total contradicts the upload")]
    TotalMismatch,
}
