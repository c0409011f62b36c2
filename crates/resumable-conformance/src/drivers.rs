//! The workspace's drivers as the catalogues run them.

use std::path::Path;

use resumable_core::{Checkpoint, GcsInitiate, Outcome};
use resumable_local::{FileApiTarget, UploadError};
use resumable_testkit::MemoryCheckpointStore;

use crate::driver::{Driver, Setup};

/// The blocking driver over its default ureq transport.
pub struct Blocking(resumable_blocking::Uploader<resumable_blocking::UreqTransport>);

impl Driver for Blocking {
    const NAME: &'static str = "blocking";

    fn build(setup: Setup) -> Self {
        let mut up = resumable_blocking::Uploader::new()
            .chunking(setup.chunking)
            .retry(setup.retry);
        if setup.checkpoints {
            up = up.checkpoint_store(MemoryCheckpointStore::default());
        }
        if let Some(on_event) = setup.on_event {
            up = up.on_event(on_event);
        }
        Self(up)
    }

    fn upload_file(&mut self, api: &FileApiTarget, path: &Path) -> Result<Outcome, UploadError> {
        self.0.upload_file(api, path)
    }

    fn upload_gcs(&mut self, init: GcsInitiate, data: Vec<u8>) -> Result<Outcome, UploadError> {
        self.0
            .upload_gcs(init, &mut resumable_blocking::BytesSource::new(data))
    }

    fn load_checkpoint(&mut self, key: &str) -> Result<Option<Checkpoint>, UploadError> {
        self.0.load_checkpoint(key)
    }
}

/// The async driver over its default hyper transport. Every `Tokio` in the
/// process runs its calls on one shared multi-thread runtime (two workers),
/// so the soak's concurrent uploads share a runtime as an application's
/// would, and connection tasks go on closing what the client gave up while
/// a catalogue checks the server.
pub struct Tokio {
    up: resumable_tokio::Uploader<resumable_tokio::HyperTransport>,
}

/// The runtime every [`Tokio`] driver runs on.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("a tokio runtime for the tests: {e}"))
    })
}

impl Driver for Tokio {
    const NAME: &'static str = "tokio";

    fn build(setup: Setup) -> Self {
        let mut up = resumable_tokio::Uploader::new()
            .chunking(setup.chunking)
            .retry(setup.retry);
        if setup.checkpoints {
            up = up.checkpoint_store(MemoryCheckpointStore::default());
        }
        if let Some(on_event) = setup.on_event {
            up = up.on_event(on_event);
        }
        Self { up }
    }

    fn upload_file(&mut self, api: &FileApiTarget, path: &Path) -> Result<Outcome, UploadError> {
        runtime().block_on(self.up.upload_file(api, path))
    }

    fn upload_gcs(&mut self, init: GcsInitiate, data: Vec<u8>) -> Result<Outcome, UploadError> {
        let mut source = resumable_tokio::BytesSource::new(data);
        runtime().block_on(self.up.upload_gcs(init, &mut source))
    }

    fn load_checkpoint(&mut self, key: &str) -> Result<Option<Checkpoint>, UploadError> {
        runtime().block_on(self.up.load_checkpoint(key))
    }
}
