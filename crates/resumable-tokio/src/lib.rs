//! Async uploads with `resumable-core`: files, byte buffers and async
//! readers, over HTTPS with hyper and rustls, or over any [`AsyncTransport`].
//!
//! Upload a file through an application's file API (session, upload,
//! register), resuming from a checkpoint when an earlier run was
//! interrupted:
//!
//! ```no_run
//! use resumable_tokio::{Chunking, Event, FileApiTarget, FileCheckpointStore, Secret, Uploader};
//!
//! # #[cfg(feature = "hyper")]
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // The type is guessed from the extension, the name is the path's
//!     // file name; set `mime_type` or `filename` to choose them.
//!     let api = FileApiTarget::new(
//!         "https://api.example.com",
//!         "org_123",
//!         Secret::new(std::env::var("FILE_API_KEY")?),
//!     );
//!     let mut uploader = Uploader::new()
//!         .chunking(Chunking::Fixed(8 << 20))
//!         .checkpoint_store(FileCheckpointStore::new("/var/tmp/resumable")?)
//!         .on_event(|event| {
//!             if let Event::Persisted { offset, total } = event {
//!                 eprintln!("{offset} of {total:?} bytes stored");
//!             }
//!         });
//!     let outcome = uploader.upload_file(&api, "large_video.mp4").await?;
//!     println!("registered {}", outcome.file.map(|f| f.id).unwrap_or_default());
//!     Ok(())
//! }
//! # #[cfg(not(feature = "hyper"))]
//! # fn main() {}
//! ```
//!
//! The API is `resumable-blocking`'s, made async: the same [`Uploader`]
//! methods, and the same [`FileApiTarget`], checkpoint stores and keys
//! (either driver resumes the other's uploads from a shared
//! [`FileCheckpointStore`]) and [`UploadError`]: both drivers re-export
//! them from `resumable-local`, with the engine's types an upload needs
//! ([`Secret`], [`Event`], [`Chunking`], [`RetryPolicy`], [`Outcome`],
//! [`Error`] and its parts), so this crate is the one dependency to name.
//! What is this crate's own is the pump, its [`AsyncTransport`] and its
//! sources.
//!
//! Interim (`1xx`) responses reach the engine as they arrive, through the
//! [`InterimResponses`] extension a transport finds on each request
//! ([`HyperTransport`] hands over what hyper's HTTP/1 client reads): an
//! upload of the IETF draft created optimistically
//! ([`resumable_core::IetfStrategy::Optimistic`]) is resumable from its
//! `104` on, so a creation cut off mid-body goes on from the offset the
//! server kept.
//!
//! The same upload against the local emulator (`resumable-emulator`),
//! runnable:
//!
//! ```
//! use resumable_emulator::{Emulator, Storage};
//! use resumable_tokio::{FileApiTarget, Secret, Uploader};
//!
//! # #[cfg(feature = "hyper")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let emu = Emulator::builder().storage(Storage::Memory).start().await?;
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("hello.txt");
//! std::fs::write(&path, b"hello, resumable world")?;
//!
//! // The emulator listens on http://127.0.0.1: plain http to loopback is allowed.
//! let api = FileApiTarget::new(emu.base_url(), "org_1", Secret::new(emu.api_key()));
//! let outcome = Uploader::new().upload_file(&api, &path).await?;
//!
//! let file = outcome.file.ok_or("no file")?;
//! assert_eq!(file.fields["mime_type"], "text/plain");
//! let gcs_path = file.fields["gcs_path"].as_str().ok_or("no gcs_path")?;
//! assert_eq!(emu.object_bytes(gcs_path)?, b"hello, resumable world");
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "hyper"))]
//! # fn main() {}
//! ```
//!
//! # Entry points
//!
//! | call | what it does |
//! |---|---|
//! | [`Uploader::upload_file`] | a file to the file API: session, upload, register; resumed from the checkpoint store under [`checkpoint_key`] |
//! | [`Uploader::upload_to_session`] | any [`AsyncSource`] to an existing GCS session URL; call it again to resume |
//! | [`Uploader::upload_gcs`] | initiates a session with the GCS JSON API (bearer token optional), then uploads |
//! | [`Uploader::run`] | the generic pump over any [`resumable_core::Config`], checkpointed under a key of your choice |
//! | [`Uploader::load_checkpoint`] | what an interrupted upload has done |
//! | [`Uploader::cancel`] | deletes the session of an upload checkpointed under a key, and its checkpoint |
//!
//! Sources: [`FileSource`] (a file, read at offsets on blocking threads),
//! [`BytesSource`] (sliced, never copied) and [`ReadSource`] (any
//! `AsyncRead` of unknown length, read once; its total is found at its end).
//!
//! # How it works
//!
//! The driver polls [`resumable_core::Upload`] and carries out each action:
//!
//! - **Requests** go through an [`AsyncTransport`]. A data request's body
//!   is a [`RequestBody`] fed by the driver: it reads a frame (128 KiB) from
//!   the source, feeds it to the engine's CRC32C, and pushes it into a
//!   channel of two frames that *is* the body, while it awaits the answer.
//!   No chunk is ever held whole in memory, and a slow network slows the
//!   reads.
//! - **Timeouts.** A request fails when the transport takes no body frame
//!   and gives no answer for the stall timeout; the default transport also
//!   bounds opening a connection. Both are set with [`Uploader::timeouts`]
//!   (30 s and 60 s by default; with another transport, the stall timeout
//!   is 60 s). Either failure is retried, followed by a status query.
//! - **Waits** (backoff) sleep on tokio's clock; time is read from tokio's
//!   clock too, so tests may pause it.
//! - **Checkpoints** are saved to the [`CheckpointStore`] as the engine hands
//!   them out, on tokio's blocking threads and in order. A save that has
//!   started completes even when the upload's future is dropped. The one a
//!   `104` naming the upload makes due is saved while its creation is still
//!   in flight, so a process that dies before the answer resumes there.
//! - **One upload per checkpoint.** With a store and a key, `run` (and so
//!   `upload_file`) and `cancel` take the key's lock
//!   ([`CheckpointStore::lock`], on a blocking thread) before they load the
//!   checkpoint, and hold it until they return or their future is dropped.
//!   A second upload of the same file meanwhile, in this process or
//!   another, fails with [`UploadError::Busy`] and touches nothing.
//! - **Streams of unknown length** are read ahead where the engine asks
//!   ([`resumable_core::Action::ReadAhead`]: one chunk and one byte past the
//!   persisted offset), so it learns the total before it plans the last
//!   chunk.
//! - **Checkpoints are removed** when the engine says so
//!   ([`resumable_core::Action::RemoveCheckpoint`]: done, or the session
//!   gone or cancelled), and kept as of the failure when the source cannot
//!   be read; a failed removal is a warning.
//! - **Events** go to the [`Uploader::on_event`] callback and to `tracing`.
//!
//! To stop an upload, drop its future: the last checkpoint saved stays
//! (the engine is not told, so nothing newer is saved), and running
//! the same upload again resumes it. To give it up, [`Uploader::cancel`] it
//! by its checkpoint key: its session is deleted.
//!
//! # Security
//!
//! - The API key goes to the file API only (`X-API-Key`), never to the
//!   upload host; the session URL is its own credential.
//! - Every URL must be `https`, except to loopback hosts, unless
//!   [`Uploader::allow_insecure_http`] is set (the engine applies
//!   [`resumable_core::url_policy`] to every URL, configured or handed out
//!   by a server); a refused URL is
//!   [`UploadError::Insecure`] and nothing is sent to it.
//! - Response bodies are capped at [`resumable_core::MAX_RESPONSE_BODY`].
//! - Logs (`tracing` spans and events) carry offsets, statuses and the
//!   server's `X-GUploader-UploadID`; never the API key or the session URL.
//! - [`FileCheckpointStore`] writes files readable by the owner only.
//!
//! # A transport of your own
//!
//! Without the `hyper` feature, or to route requests through another
//! client, implement [`AsyncTransport`] and pass it to
//! [`Uploader::with_transport`]:
//!
//! ```
//! use bytes::Bytes;
//! use http_body_util::BodyExt as _;
//! use resumable_tokio::{AsyncTransport, RequestBody, TransportError, TransportErrorKind};
//!
//! /// Answers every request with `503`, after reading its body.
//! struct Unavailable;
//!
//! impl AsyncTransport for Unavailable {
//!     async fn send(
//!         &mut self,
//!         request: http::Request<RequestBody>,
//!     ) -> Result<http::Response<Bytes>, TransportError> {
//!         let body = request.into_body().collect().await;
//!         body.map_err(|e| TransportError::new(TransportErrorKind::Reset, e))?;
//!         http::Response::builder()
//!             .status(503)
//!             .body(Bytes::new())
//!             .map_err(|e| TransportError::new(TransportErrorKind::Other, e))
//!     }
//! }
//!
//! let uploader = resumable_tokio::Uploader::with_transport(Unavailable);
//! # let _ = uploader;
//! ```
//!
//! # Features
//!
//! - `hyper` (default): [`HyperTransport`], hyper 1 + hyper-util's pooled
//!   client with rustls on the `ring` provider (which builds with a C
//!   compiler alone), HTTP/2 by ALPN or HTTP/1.1, the webpki roots.
//! - `native-roots`: trust the operating system's roots instead (the webpki
//!   roots, with a warning, on a system that has none).

#![forbid(unsafe_code)]
// On docs.rs (`--cfg docsrs`, nightly): each item says which feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod exchange;
#[cfg(feature = "hyper")]
mod hyper_transport;
mod pump;
mod source;
mod store;
mod transport;
mod uploader;

pub use body::{BodyError, RequestBody};
#[cfg(feature = "hyper")]
pub use hyper_transport::HyperTransport;
// Everything resumable-local offers users, the same as resumable-blocking
// does; this crate's own `FileSource` (async) takes the place of local's.
pub use resumable_local::*;
#[cfg(feature = "hyper")]
pub use rustls;
pub use source::{AsyncSource, BytesSource, FileSource, ReadSource};
pub use transport::{AsyncTransport, InterimResponses};
pub use uploader::Uploader;
