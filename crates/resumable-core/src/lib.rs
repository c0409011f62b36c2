//! A sans-IO engine for resumable uploads.
//!
//! `resumable-core` models a whole upload as a pure state machine: it plans
//! chunks, builds every request as [`http`] types, reads every response,
//! decides retries and backoff, keeps the CRC32C and the checkpoints, and
//! walks an application file API's flow from session to upload to register.
//! It speaks the Google Cloud Storage resumable protocol, tus 1.0
//! ([`Config::tus_create`], [`Config::tus_upload`]) and the IETF draft
//! Resumable Uploads for HTTP ([`Config::ietf_create`],
//! [`Config::ietf_upload`]). Drivers
//! (`resumable-blocking`, `resumable-tokio`, or your own) do the IO.
//!
//! Inside, three layers: the engine ([`Upload`]: offsets, chunk planning,
//! retries, digests, checkpoints; every transition in one place), one
//! stateless codec per wire protocol, which builds the requests and reads
//! each answer into a protocol-independent answer the engine decides on,
//! and the flows around a transfer (a bare session URL, a protocol's own
//! session creation, or the file API's `upload-url` and register). A
//! [`Checkpoint`] names the [`Protocol`] and the [`Flow`] with typed fields.
//! The codecs are not public API; `cargo fuzz` (`cfg(fuzzing)`) and the
//! `codecs` feature expose them as `resumable_core::codecs`.
//!
//! # Invariants
//!
//! - **No IO, no clock, no randomness of its own.** Time comes in as
//!   arguments (`now: Instant`, and a wall-clock time once, for expiry
//!   checks); the backoff jitter comes from [`Config::jitter_seed`].
//! - **Never panics on anything a server or a source can send.** Every
//!   answer is checked and a bad one becomes an [`Error`]. A panic is a bug.
//! - **Never copies file data.** Request bodies are byte ranges of the
//!   source ([`Body::Source`]); the driver streams them.
//! - **Progress is what the server persisted,** never what was sent: after
//!   any doubtful failure the next request is a status query, and the next
//!   chunk starts at the offset the server reports. The persisted offset
//!   never goes backwards within a session.
//! - **Nothing unverified is registered:** the final object's size, CRC32C
//!   (and MD5 when known) must match the source. A tus server reports no
//!   digest of the whole upload: see [tus](#tus) for what is verified there.
//! - **Secrets stay out of logs:** `Debug`/`Display` redact the API key and
//!   the session URL's `upload_id`, and the API key is sent to the API host
//!   only, never to the upload host.
//!
//! # The run loop
//!
//! Poll [`Upload::poll_action`] and carry out each [`Action`] until it says
//! [`Action::Wait`], [`Action::Done`] or [`Action::Failed`]:
//!
//! | action | what the driver does next |
//! |---|---|
//! | [`Action::Send`] | if [`Request::check_source`] is set, check the source is unchanged (a changed one: send nothing, end the upload); send the request, streaming [`Body::Source`] from the source and feeding each piece to [`Upload::feed_checksum`]; hand the answer to [`Upload::handle_response`] or the failure to [`Upload::handle_transport_error`] |
//! | [`Action::Checksum`] | read those bytes of the source and feed them to [`Upload::feed_checksum`] |
//! | [`Action::ReadAhead`] | read a source of unknown length ahead to that offset; report where it ended, if it did, to [`Upload::handle_read_ahead`] |
//! | [`Action::Checkpoint`] | store it durably, replacing the previous one |
//! | [`Action::RemoveCheckpoint`] | delete the stored checkpoint (a failure is a warning); the end follows |
//! | [`Action::Wait`] | sleep until that instant, then poll again |
//! | [`Action::AwaitResponse`] | deliver the response of the request in flight first |
//! | [`Action::Done`] | the upload is finished |
//! | [`Action::Failed`] | report the error; the checkpoint is as the core left it |
//!
//! Two inputs end an upload on the driver's word, and the core still says
//! what happens to the checkpoint: [`Upload::handle_source_error`] (the
//! source could not be read) and [`Upload::interrupt`] (the user stopped
//! it). After either, poll on: the current checkpoint is handed out to
//! keep, then [`Action::Failed`]. An upload dropped without either keeps
//! the last checkpoint the driver stored.
//!
//! Drain [`Upload::poll_event`] whenever convenient for progress.
//!
//! A complete loop, against a toy in-memory server that persists whatever it
//! is sent, for a source whose length is found at its end:
//!
//! ```
//! use std::time::{Instant, SystemTime};
//! use bytes::Bytes;
//! use resumable_core::{Action, Body, Config, Error, SessionUrl, Upload};
//!
//! # fn main() -> Result<(), Error> {
//! let source: Vec<u8> = (0..1_000_000u32).map(|i| i as u8).collect();
//! let mut stored = Vec::new(); // the toy server's object
//!
//! let url = SessionUrl::new("https://storage.example/upload?upload_id=secret");
//! let mut config = Config::gcs_session(url, None);
//! config.chunking = resumable_core::Chunking::Fixed(256 * 1024);
//! let start = Instant::now();
//! let mut up = Upload::new(config, start, SystemTime::now())?;
//!
//! let outcome = loop {
//!     let now = Instant::now();
//!     match up.poll_action(now) {
//!         Action::Send(req) => {
//!             // A real driver checks the source first when `req.check_source`
//!             // says so, then sends `req.http` over the network.
//!             if let Body::Source(range) = req.http.body() {
//!                 let bytes = &source[range.start as usize..range.end as usize];
//!                 up.feed_checksum(range.start, bytes);
//!                 stored.extend_from_slice(bytes);
//!             }
//!             let response = toy_server(&stored, source.len());
//!             up.handle_response(req.id, response, now).expect("in flight");
//!         }
//!         Action::Checksum(range) => {
//!             up.feed_checksum(range.start, &source[range.start as usize..range.end as usize]);
//!         }
//!         Action::ReadAhead { to } => {
//!             // A stream would be read into memory up to `to` here.
//!             let len = source.len() as u64;
//!             up.handle_read_ahead((len < to).then_some(len)).expect("one total");
//!         }
//!         Action::Checkpoint(_checkpoint) => { /* store it durably */ }
//!         Action::RemoveCheckpoint => { /* delete the stored checkpoint */ }
//!         Action::Wait(until) => std::thread::sleep(until - now),
//!         Action::AwaitResponse(_) => unreachable!("this loop answers every request"),
//!         Action::Done(outcome) => break outcome,
//!         Action::Failed(error) => return Err(error),
//!         _ => unreachable!("no other actions exist yet"),
//!     }
//!     while let Some(event) = up.poll_event() {
//!         let _ = event; // progress for a display or a log
//!     }
//! };
//! assert_eq!(stored, source);
//! assert_eq!(outcome.object.size, source.len() as u64);
//!
//! /// `308` with the persisted range until complete, then the object JSON.
//! fn toy_server(stored: &[u8], total: usize) -> http::Response<Bytes> {
//!     if stored.len() < total {
//!         let mut r = http::Response::builder().status(308);
//!         if !stored.is_empty() {
//!             r = r.header("range", format!("bytes=0-{}", stored.len() - 1));
//!         }
//!         return r.body(Bytes::new()).unwrap();
//!     }
//!     let crc = resumable_core::crc32c_base64(crc32c::crc32c(stored));
//!     let json = format!(r#"{{"size":"{}","crc32c":"{crc}"}}"#, stored.len());
//!     http::Response::builder().status(200).body(Bytes::from(json)).unwrap()
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Resuming
//!
//! Every [`Action::Checkpoint`] is a [`Checkpoint`] (serde) holding the
//! session, the persisted offset, the checksum state and the source's
//! [`Fingerprint`]. A new process passes the last one to [`Upload::resume`]:
//! it refuses a changed source, replaces an expired session, and otherwise
//! starts with a status query.
//!
//! A checkpoint names its [`Protocol`] and its [`Flow`] (the destination, in
//! typed fields; a bare session URL by a hash only) and is resumed only by
//! the same. Checkpoints an older release wrote (format 1) are still read
//! and resumed as that release resumed them.
//!
//! A fingerprint (size, modification time) misses a file rewritten with both
//! kept, as `rsync -t`, `tar -x` and image tools leave one: resumed, its
//! upload would become the old prefix plus the new rest, and the running
//! CRC32C would agree, since it hashed what was sent. So before any request
//! a resumed upload asks, with [`Action::Checksum`], for the bytes its
//! checkpoint's CRC32C covers, and refuses the source with
//! [`SourceError::Changed`] when they hash differently
//! ([`Config::verify_resumed_prefix`]; off for a source that cannot be read
//! again). Reading is far cheaper than sending: see `BENCHMARKS.md`.
//!
//! # Doubtful answers
//!
//! An answer whose JSON body ends early (empty, or cut off by a broken
//! connection or a proxy while its framing looked whole) says nothing about
//! what the server did: the final object after the last chunk is fetched
//! again with a status query, and an `upload-url` or register answer is asked
//! again (the API registers a `gcs_path` once and answers a repeat with the
//! same File), each counted as a retry ([`RetryCause::CutShort`]). A status
//! answer cut short is the server's fault: [`ProtocolError::CutShort`]. A
//! body cut below its `Content-Length` is a transport error for the driver
//! to report, retried like any.
//!
//! # Retries and preconditions
//!
//! The engine retries every request of a session (chunks, status queries)
//! after a 408, 429, 5xx or transport failure, with or without
//! [`Preconditions`]. A resumable session is idempotent: bytes sent again
//! below the persisted offset are ignored, and the object is written once,
//! when the session finalizes. That is where it differs from a
//! non-resumable insert, which Google's retry guidance (and its client
//! libraries' retry-conformance tests) retries only with a precondition
//! such as `ifGenerationMatch`, since a re-sent insert may write the object
//! twice. The initiation itself creates only a session; one left behind by
//! a lost answer stores nothing and expires.
//!
//! Preconditions ([`GcsInitiate::preconditions`]) guard the object's state
//! instead: GCS checks them at the initiation and again at finalize, and a
//! `412` at either ends the upload with [`Error::PreconditionFailed`],
//! never retried, nothing written.
//!
//! # tus
//!
//! A tus upload starts with `OPTIONS` (what the server supports: versions,
//! extensions, checksum algorithms, `Tus-Max-Size`), then a `POST` to the
//! endpoint creates it ([`TusCreate`]: `Upload-Length`, or
//! `Upload-Defer-Length: 1` for a stream, and `Upload-Metadata`), or a
//! `HEAD` asks an existing upload URL ([`Config::tus_upload`]) for its
//! offset. `PATCH`es append at the offset the server reports; a `409`, a
//! lost answer or any doubtful failure is followed by a `HEAD`, never a
//! guess; a `PATCH` kept in part resumes from the offset the server names.
//! `Upload-Expires` is the session's expiry: an expired upload starts over
//! as an expired GCS session does. A checkpoint keeps what the server said
//! it supports, so a resumed upload asks no `OPTIONS` again.
//!
//! What is verified, and what is not:
//!
//! - **Each request's bytes**, where the server has the checksum
//!   extension: every `PATCH` carries `Upload-Checksum` with the strongest
//!   of sha1, md5 and crc32 the server lists; the engine asks for the range
//!   ([`Action::Checksum`]) before sending it, since the header comes
//!   first. The server checks it before keeping a byte; a `460` sends the
//!   request again, and nothing of it counts as persisted. Without the
//!   extension, no request's bytes are checked.
//! - **The length:** the upload ends when the offset the server reports
//!   reaches the source's length, and a server that holds another
//!   `Upload-Length` ends it with [`ProtocolError::LengthMismatch`].
//! - **Not the whole upload's content:** tus has no digest of the whole
//!   upload for the server to report, so [`Config::require_crc32c`] is off
//!   for tus, [`ObjectMeta::crc32c`] stays `None`, and the engine's own
//!   CRC32C of the whole source is in [`Outcome::crc32c`] for the caller to
//!   compare with what the application behind the server exposes.
//!
//! # Resumable Uploads for HTTP (the IETF draft)
//!
//! An upload of draft-ietf-httpbis-resumable-upload speaks one interop
//! version ([`InteropVersion`]: 8, the draft's text of July 2026, by
//! default; or 6, draft -05's, what tus-js-client, tusd and SwiftNIO
//! speak), kept in the checkpoint's [`Protocol`]. [`IetfStrategy::Careful`]
//! creates the upload resource with an empty request, then `PATCH`es the
//! bytes; [`IetfStrategy::Optimistic`] sends them in the creation and
//! needs a driver that hands `104` interim responses to
//! [`Upload::handle_informational`] to resume it. `Upload-Limit` bounds
//! every request's size and the session's life, and a source larger than
//! its `max-size` is refused before its bytes are sent. The request that
//! completes the upload carries the source's `Repr-Digest` (the engine
//! keeps a running SHA-256 for it, for this protocol only), and its answer
//! is the target resource's: a failure there is
//! [`Error::ProcessingFailed`], never retried.
//!
//! # Errors
//!
//! [`UsageError`] is the driver's mistake (a response for a request not in
//! flight): returned at once, nothing changes. [`Error`] ends the upload and
//! says whose fault it was: the configuration, the source, the server
//! ([`ProtocolError`]), the data ([`IntegrityError`]), the API's refusal, or
//! a retry budget spent.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod action;
mod adaptive;
mod backoff;
mod checkpoint;
mod checksum;
mod chunk;
mod clock;
mod config;
mod error;
mod event;
mod flow;
mod outcome;
mod protocol;
mod request_digest;
mod secret;
mod sha256;
pub mod timestamp;
mod upload;
mod url;
pub mod url_policy;

pub use action::{Action, Body, Purpose, Request, RequestId};
pub use adaptive::{AdaptiveLimits, GAIN_PERCENT, OVERHEAD_PERCENT};
pub use backoff::RetryPolicy;
pub use checkpoint::{
    CHECKPOINT_FORMAT, Checkpoint, FileApiSession, Flow, Format1Flow, IetfSession, Protocol,
    SessionRecord, TusExtensions, TusSession,
};
pub use checksum::{RunningCrc32c, crc32c_base64};
pub use chunk::{
    CHUNK_GRANULARITY, Chunking, DEFAULT_CHUNK_SIZE, MAX_RECOMMENDED_CHUNK, next_range,
    round_chunk_size,
};
pub use config::{
    Config, FileApi, Fingerprint, GCS_ENDPOINT, GcsInitiate, IetfCreate, IetfStrategy,
    Preconditions, Target, TusCreate,
};
pub use error::{ConfigError, Error, IntegrityError, ProtocolError, SourceError, UsageError};
pub use event::{Event, RetryCause, TransportError, TransportErrorKind, TransportFailure};
pub use flow::file_api::{SessionError, UploadSession};
pub use outcome::{File, ObjectMeta, Outcome};
pub use protocol::gcs::content_range::ContentRangeError;
pub use protocol::gcs::goog_hash::HashError;
pub use protocol::gcs::range::RangeError;
pub use protocol::ietf::fields::FieldError;
pub use protocol::ietf::limit::LimitError;
pub use protocol::ietf::{InteropVersion, UploadLimits, UploadProblem};
pub use protocol::tus::ChecksumAlgorithm;
pub use protocol::tus::discovery::DiscoveryError;
pub use protocol::tus::location::LocationError;
pub use protocol::tus::number::NumberError;
pub use secret::{Secret, SessionUrl};
pub use sha256::RunningSha256;
pub use upload::{MAX_RESPONSE_BODY, Upload};

/// The protocols' header codecs, for the fuzz targets, the benches and the
/// test servers: not part of the stable API. Present when built for fuzzing
/// (`cfg(fuzzing)`, as `cargo fuzz` does) or with the `codecs` feature.
#[cfg(any(fuzzing, feature = "codecs"))]
pub mod codecs {
    pub use crate::protocol::gcs::{content_range, goog_hash, object, range};
    pub use crate::protocol::retry_after;

    /// tus 1.0's header codecs.
    pub mod tus {
        pub use crate::protocol::tus::{checksum, discovery, expires, location, metadata, number};
    }

    /// The IETF draft's header codecs.
    pub mod ietf {
        pub use crate::protocol::ietf::{digest, fields, limit, problem};
    }
}
