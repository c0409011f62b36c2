//! What the `resumable` drivers share, with the standard library alone: no
//! async runtime, no HTTP client.
//!
//! `resumable-blocking` and `resumable-tokio` both build on this crate and
//! re-export all of it, so an application names one driver and never this
//! crate. Use it directly to write a driver of your own, or to look at
//! uploads (their checkpoints, locks and keys) without either driver.
//!
//! | item | what it is for |
//! |---|---|
//! | [`FileSource`], [`fingerprint`] | a file read at the offsets the engine asks for (positional reads), and the size and modification time that tell a changed file from the one an upload began with |
//! | [`guess_mime`] | the MIME type a file is registered as, from its extension |
//! | [`CheckpointStore`], [`FileCheckpointStore`] | where checkpoints live between runs, so an interrupted upload resumes |
//! | [`CheckpointLock`], [`LockError`], [`LockHolder`] | one upload per checkpoint: a second one is refused, not run beside the first |
//! | [`FileApiTarget`], [`checkpoint_key`] | the application file API a file goes to, and the key its checkpoint is stored under (the same in both drivers, so either resumes the other's uploads) |
//! | [`UploadError`], [`TransportSetupError`] | why an upload through either driver ended without success |
//! | [`Secret`], [`Event`], [`Chunking`], [`RetryPolicy`], [`Outcome`], [`Error`], … | the engine's types an upload names, re-exported from `resumable-core` so that a driver is the one dependency |
//! | [`driver`] | for writers of drivers: an uploader's settings and the upload they start (new, resumed or cancelling), an action the pump could not carry out handed back to the engine, the engine's progress events logged to `tracing` and handed to a callback |
//!
//! Each driver re-exports this crate's root whole (`pub use resumable_local::*`),
//! so both offer the same names and cannot drift apart.
//!
//! Guarantees: checkpoint files are written atomically and readable by the
//! owner only (they hold the session URL, a credential); nothing logged
//! holds the API key or the session URL; nothing here panics on what a
//! file, a checkpoint file or another process can hold. A panic is a bug.

#![forbid(unsafe_code)]
// On docs.rs (`--cfg docsrs`, nightly): each item says which feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod checkpoint_store;
pub mod driver;
mod error;
mod file;
mod target;
pub mod transport_kind;

pub use checkpoint_store::{
    CheckpointLock, CheckpointStore, FileCheckpointStore, LockError, LockHolder,
};
pub use error::{TransportSetupError, UploadError};
pub use file::{FileSource, fingerprint, guess_mime};
pub use resumable_core::{
    Checkpoint, Chunking, ConfigError, Error, Event, File, Fingerprint, GcsInitiate,
    IntegrityError, ObjectMeta, Outcome, Preconditions, ProtocolError, RetryCause, RetryPolicy,
    Secret, SessionUrl, SourceError, TransportError, TransportErrorKind, UsageError,
};
pub use target::{FileApiTarget, checkpoint_key};
