//! Blocking uploads with `resumable-core`: files, byte buffers and readers,
//! over HTTPS with ureq and rustls, or over any [`Transport`].
//!
//! Upload a file through an application's file API (session, upload,
//! register), resuming from a checkpoint when an earlier run was interrupted:
//!
//! ```no_run
//! use resumable_blocking::{Chunking, Event, FileApiTarget, FileCheckpointStore, Secret, Uploader};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The type is guessed from the extension, the name is the path's file
//! // name; set `mime_type` or `filename` to choose them.
//! let api = FileApiTarget::new(
//!     "https://api.example.com",
//!     "org_123",
//!     Secret::new(std::env::var("FILE_API_KEY")?),
//! );
//! let mut uploader = Uploader::new()
//!     .chunking(Chunking::Fixed(8 << 20))
//!     .checkpoint_store(FileCheckpointStore::new("/var/tmp/resumable")?)
//!     .on_event(|event| {
//!         if let Event::Persisted { offset, total } = event {
//!             eprintln!("{offset} of {total:?} bytes stored");
//!         }
//!     });
//! let outcome = uploader.upload_file(&api, "large_video.mp4")?;
//! println!("registered {}", outcome.file.map(|f| f.id).unwrap_or_default());
//! # Ok(())
//! # }
//! ```
//!
//! Raw GCS uploads use [`Uploader::upload_to_session`] (an existing session
//! URL) or [`Uploader::upload_gcs`] (initiate with a bearer token), with any
//! [`Source`]: a [`FileSource`], a [`BytesSource`], or a [`ReadSource`] of
//! unknown length.
//!
//! ureq reads past interim (`1xx`) responses without handing them over, so
//! an upload of the IETF draft learns its upload resource only from the
//! creation's final answer: create carefully
//! ([`resumable_core::IetfStrategy::Careful`], the default). An optimistic
//! creation works too, but one cut off mid-body is made again from the
//! start; the tokio driver resumes it from its `104`.
//!
//! One upload per checkpoint: with a store and a key, [`Uploader::run`] (and
//! so `upload_file`) and [`Uploader::cancel`] take the key's lock
//! ([`CheckpointStore::lock`]) before they load its checkpoint and hold it
//! until they return. A second upload of the same file meanwhile, in this
//! process or another, fails with [`UploadError::Busy`] naming the holder's
//! pid, and touches neither the checkpoint nor the session.
//! [`FileCheckpointStore::holder`] tells who holds a key without taking it.
//!
//! Guarantees: file data is read with positional reads into one reusable
//! buffer per request (no whole-file or whole-chunk copies); response bodies
//! are capped at [`resumable_core::MAX_RESPONSE_BODY`]; plain `http` is
//! refused except to loopback unless allowed; the API key never goes to the
//! upload host and neither it nor the session's `upload_id` is logged.
//! (ureq's own TRACE output, through the `log` crate, dumps raw requests,
//! the session URL and the key included: keep the `ureq` and `ureq_proto`
//! targets at DEBUG or below, where ureq hides paths and header values.)
//!
//! One dependency is enough: the engine's types an upload needs
//! ([`Secret`], [`Event`], [`Chunking`], [`RetryPolicy`], [`Outcome`],
//! [`Error`] and its parts) and everything of `resumable-local` (the
//! checkpoint stores, [`FileApiTarget`], [`UploadError`], [`FileSource`])
//! are re-exported here, under the same names as in `resumable-tokio`.
//! What is this crate's own is the pump, its [`Transport`] and its
//! sources.

#![forbid(unsafe_code)]
// On docs.rs (`--cfg docsrs`, nightly): each item says which feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "ureq")]
mod roots;
mod source;
mod transport;
mod uploader;
#[cfg(feature = "ureq")]
mod ureq_transport;

// Everything resumable-local offers users, the same as resumable-tokio does.
pub use resumable_local::*;
pub use source::{BytesSource, ReadSource, Source};
pub use transport::{RequestBody, Transport};
pub use uploader::{StopHandle, Uploader};
#[cfg(feature = "ureq")]
pub use ureq_transport::{UreqTransport, UreqTransportBuilder};
