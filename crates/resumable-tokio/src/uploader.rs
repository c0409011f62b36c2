//! The entry points: upload a file to an organization's file API, or any
//! source to a GCS session, in one call. The same methods, with the same
//! meaning, as `resumable-blocking`'s `Uploader`, made async.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use resumable_core::{Checkpoint, Config, GcsInitiate, Outcome, SessionUrl, Upload};
use resumable_local::driver::{self, EventCallback, Settings};
use resumable_local::{
    CheckpointStore, FileApiTarget, TransportSetupError, UploadError, checkpoint_key,
};
use tracing::Instrument as _;

use crate::pump::{Pump, now};
use crate::source::{AsyncSource, BytesSource, FileSource};
use crate::store::{HeldLock, SharedStore, off_runtime};
use crate::transport::AsyncTransport;

/// How long a request may make no progress unless told otherwise.
const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// How long opening a connection may take with the default transport
/// unless told otherwise.
#[cfg(feature = "hyper")]
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The transport, or how to build the default one (with its connect
/// timeout) at the first upload.
enum Slot<T> {
    Ready(T),
    #[cfg_attr(not(feature = "hyper"), allow(dead_code))]
    Later(fn(Duration) -> Result<T, TransportSetupError>, Duration),
}

impl<T> Slot<T> {
    fn ready(&mut self) -> Result<&mut T, TransportSetupError> {
        if let Self::Later(make, connect_timeout) = *self {
            *self = Self::Ready(make(connect_timeout)?);
        }
        match self {
            Self::Ready(transport) => Ok(transport),
            Self::Later(..) => Err(TransportSetupError::new(
                "the transport was not built",
                None,
            )),
        }
    }
}

/// Uploads files and streams with async IO.
///
/// Build one with [`Uploader::new`] (the default hyper + rustls transport)
/// or [`Uploader::with_transport`], adjust it with the builder methods, then
/// call [`upload_file`](Self::upload_file),
/// [`upload_to_session`](Self::upload_to_session),
/// [`upload_gcs`](Self::upload_gcs) or the generic [`run`](Self::run). One
/// uploader runs one upload at a time and can be reused; its connections
/// are kept alive between uploads.
///
/// To stop an upload, drop its future: the last checkpoint the engine
/// handed out stays in the store (the engine is not told, so nothing newer
/// is saved), and the same call later resumes where the server says it
/// stopped. To give the upload up instead, [`cancel`](Self::cancel) it by
/// its checkpoint key, which deletes its session.
pub struct Uploader<T> {
    transport: Slot<T>,
    stall_timeout: Duration,
    settings: Settings,
    store: Option<SharedStore>,
    on_event: Option<EventCallback>,
}

impl<T> fmt::Debug for Uploader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Uploader")
            .field("settings", &self.settings)
            .field("stall_timeout", &self.stall_timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "hyper")]
impl Uploader<crate::HyperTransport> {
    /// An uploader with the default HTTPS transport (30 s connect timeout,
    /// 60 s stall timeout), built at the first upload.
    #[must_use]
    pub fn new() -> Self {
        Self::with_slot(Slot::Later(
            crate::HyperTransport::new,
            DEFAULT_CONNECT_TIMEOUT,
        ))
    }

    /// Sets the default transport's timeouts: opening a connection (TCP and
    /// TLS), and a request making no progress (no body frame taken, no
    /// answer). Either failure is retried, followed by a status query.
    ///
    /// It replaces the transport with a new default one.
    #[must_use]
    pub fn timeouts(mut self, connect: Duration, stall: Duration) -> Self {
        self.transport = Slot::Later(crate::HyperTransport::new, connect);
        self.stall_timeout = stall;
        self
    }
}

#[cfg(feature = "hyper")]
impl Default for Uploader<crate::HyperTransport> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: AsyncTransport> Uploader<T> {
    /// An uploader sending through `transport`. The https rule and a 60 s
    /// stall timeout apply to it; connecting is the transport's business.
    #[must_use]
    pub fn with_transport(transport: T) -> Self {
        Self::with_slot(Slot::Ready(transport))
    }

    fn with_slot(transport: Slot<T>) -> Self {
        Self {
            transport,
            stall_timeout: DEFAULT_STALL_TIMEOUT,
            settings: Settings::default(),
            store: None,
            on_event: None,
        }
    }

    resumable_local::uploader_settings!();

    /// Keeps checkpoints in `store`, so an interrupted upload resumes: a
    /// `FileCheckpointStore` survives the process. The store is called on
    /// tokio's blocking threads, never on the runtime's.
    #[must_use]
    pub fn checkpoint_store(mut self, store: impl CheckpointStore + Send + 'static) -> Self {
        self.store = Some(SharedStore::new(store));
        self
    }

    /// Uploads the file at `path` through the file API: session, upload,
    /// register; the registered File is [`Outcome::file`]. Resumes from the
    /// checkpoint store when it holds this file's upload (under
    /// [`checkpoint_key`]); a file changed since fails with
    /// [`UploadError::Changed`].
    pub async fn upload_file(
        &mut self,
        api: &FileApiTarget,
        path: impl AsRef<Path>,
    ) -> Result<Outcome, UploadError> {
        let path = path.as_ref();
        let mut source = FileSource::open(path).await.map_err(UploadError::Source)?;
        let size = source.len().unwrap_or_default();
        let config = Config::file_api(api.file_api(path), size);
        // Resolving the path touches the file system.
        let (owned_api, owned_path) = (api.clone(), path.to_owned());
        let key = off_runtime(move || Ok(checkpoint_key(&owned_api, &owned_path)))
            .await
            .map_err(UploadError::Source)?;
        self.run(config, &mut source, Some(&key)).await
    }

    /// Uploads `source` to an existing resumable session. It starts with a
    /// status query, so calling it again with the same URL after a failure
    /// resumes it. A session that is gone cannot be replaced:
    /// [`Error::SessionGone`](resumable_core::Error::SessionGone).
    pub async fn upload_to_session(
        &mut self,
        url: SessionUrl,
        source: &mut impl AsyncSource,
    ) -> Result<Outcome, UploadError> {
        let config = Config::gcs_session(url, source.len());
        self.run(config, source, None).await
    }

    /// Initiates a session with the GCS JSON API, then uploads `source`.
    pub async fn upload_gcs(
        &mut self,
        init: GcsInitiate,
        source: &mut impl AsyncSource,
    ) -> Result<Outcome, UploadError> {
        let config = Config::gcs_initiate(init, source.len());
        self.run(config, source, None).await
    }

    /// Runs the upload `config` describes, reading `source`. With a
    /// `checkpoint_key` and a store, it takes the key's lock
    /// ([`CheckpointStore::lock`], on a blocking thread) and holds it until
    /// it returns or its future is dropped, resumes from the stored
    /// checkpoint and keeps it current; the checkpoint is removed when the
    /// upload is done (or its session is gone for good), kept as of the
    /// failure when the source fails, and kept as last saved when it fails
    /// otherwise or its future is dropped. Another upload holding the lock
    /// fails it with [`UploadError::Busy`] before anything is loaded or
    /// sent.
    ///
    /// The uploader's chunking, retry policy and upload headers apply; the
    /// source gives the fingerprint and whether it can restart.
    pub async fn run(
        &mut self,
        config: Config,
        source: &mut impl AsyncSource,
        checkpoint_key: Option<&str>,
    ) -> Result<Outcome, UploadError> {
        let config = self
            .settings
            .config(config, source.fingerprint(), source.is_restartable());
        let key = checkpoint_key.filter(|_| self.store.is_some());
        let lock = self.lock(key).await?;
        let result = self.run_locked(config, source, key).await;
        self.release(lock).await;
        result
    }

    /// [`run`](Self::run) once the lock is held.
    async fn run_locked(
        &mut self,
        config: Config,
        source: &mut impl AsyncSource,
        key: Option<&str>,
    ) -> Result<Outcome, UploadError> {
        let resume = match key {
            Some(key) => self.load_checkpoint(key).await?,
            None => None,
        };
        let mut up = self.settings.start(config, resume, now())?;
        self.pump(&mut up, source, key).await
    }

    /// The checkpoint stored under `key`, if a store is set and holds one.
    pub async fn load_checkpoint(&mut self, key: &str) -> Result<Option<Checkpoint>, UploadError> {
        match &self.store {
            Some(store) => store.load(key).await.map_err(UploadError::Checkpoint),
            None => Ok(None),
        }
    }

    /// Cancels the upload whose checkpoint is stored under `key` (one whose
    /// future was dropped, or that failed): deletes its session (`DELETE`; a
    /// session already gone counts as deleted) and the checkpoint. Returns
    /// `false` when there was no checkpoint. An upload running now (its lock
    /// held) is left alone: [`UploadError::Busy`].
    pub async fn cancel(&mut self, key: &str) -> Result<bool, UploadError> {
        let lock = self.lock(Some(key)).await?;
        let result = self.cancel_locked(key).await;
        self.release(lock).await;
        result
    }

    /// [`cancel`](Self::cancel) once the lock is held.
    async fn cancel_locked(&mut self, key: &str) -> Result<bool, UploadError> {
        let Some(checkpoint) = self.load_checkpoint(key).await? else {
            return Ok(false);
        };
        if let Some(mut up) = self.settings.cancelling(&checkpoint, now())? {
            let mut nothing = BytesSource::new(bytes::Bytes::new());
            driver::cancelled(self.pump(&mut up, &mut nothing, None).await)?;
        }
        if let Some(store) = &self.store {
            store.remove(key).await.map_err(UploadError::Checkpoint)?;
        }
        Ok(true)
    }

    /// The lock of `key` in the store, when both are set.
    async fn lock(&mut self, key: Option<&str>) -> Result<Option<HeldLock>, UploadError> {
        match (key, &self.store) {
            (Some(key), Some(store)) => Ok(Some(store.lock(key).await?)),
            _ => Ok(None),
        }
    }

    /// Releases a lock from [`lock`](Self::lock).
    async fn release(&mut self, lock: Option<HeldLock>) {
        if let (Some(lock), Some(store)) = (lock, &self.store) {
            store.release(lock).await;
        }
    }

    /// Runs the loop over `up`, checkpointing under `key` when given, in a
    /// `tracing` span that carries the server's upload id.
    async fn pump(
        &mut self,
        up: &mut Upload,
        source: &mut impl AsyncSource,
        key: Option<&str>,
    ) -> Result<Outcome, UploadError> {
        let transport = self.transport.ready()?;
        let flow = match up.checkpoint().flow {
            resumable_core::Flow::FileApi { .. } => "file-api",
            _ => "gcs",
        };
        let span = tracing::info_span!(
            "upload",
            flow,
            total = up.total(),
            upload_id = tracing::field::Empty,
        );
        let mut pump = Pump {
            transport,
            source,
            store: self.store.as_ref().zip(key),
            on_event: &mut self.on_event,
            stall: self.stall_timeout,
            ended: None,
        };
        pump.run(up).instrument(span).await
    }
}
