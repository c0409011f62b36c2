//! The one interface the catalogues run a driver through, so each catalogue
//! is written once: an uploader configured as the catalogue asks, and the
//! calls it makes. An async driver carries each call out on a runtime of its
//! own, so the catalogue's checks stay plain functions.

use std::path::Path;

use resumable_core::{Checkpoint, Chunking, Event, GcsInitiate, Outcome, RetryPolicy};
use resumable_local::{FileApiTarget, UploadError};

/// What a progress hook is: called with every event, in order.
pub type OnEvent = Box<dyn FnMut(&Event) + Send>;

/// How the catalogue wants an uploader built.
pub struct Setup {
    /// How the bytes are split.
    pub chunking: Chunking,
    /// How failures are retried.
    pub retry: RetryPolicy,
    /// Keep checkpoints in an in-memory store (for the whole uploader's life).
    pub checkpoints: bool,
    /// Called with every event.
    pub on_event: Option<OnEvent>,
}

/// A driver under test: one uploader, built from a [`Setup`].
pub trait Driver: Sized {
    /// Which driver, for failure messages.
    const NAME: &'static str;

    /// An uploader with these settings, over the driver's default transport.
    fn build(setup: Setup) -> Self;

    /// Uploads the file at `path` through the file API, to its end.
    fn upload_file(&mut self, api: &FileApiTarget, path: &Path) -> Result<Outcome, UploadError>;

    /// Initiates a session with the GCS JSON API and uploads `data`.
    fn upload_gcs(&mut self, init: GcsInitiate, data: Vec<u8>) -> Result<Outcome, UploadError>;

    /// The checkpoint stored under `key`, if any.
    fn load_checkpoint(&mut self, key: &str) -> Result<Option<Checkpoint>, UploadError>;
}
