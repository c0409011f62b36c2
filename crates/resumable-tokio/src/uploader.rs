//! The entry points: upload a file to an organization's file API, or any
//! source to a GCS session, in one call. The same methods, with the same
//! meaning, as `resumable-blocking`'s `Uploader`, made async.

use std::fmt;
use std::hash::{BuildHasher as _, RandomState};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderName, HeaderValue};
use resumable_core::{
    Checkpoint, Chunking, Config, Error, Event, GcsInitiate, Outcome, RetryPolicy, SessionUrl,
    SourceError, Upload,
};
use resumable_local::{
    CheckpointStore, FileApiTarget, TransportSetupError, UploadError, checkpoint_key,
};
use tracing::Instrument as _;

use crate::pump::{EventCallback, Pump, now};
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
/// To stop an upload, drop its future: the last checkpoint stays in the
/// store, and the same call later resumes where the server says it
/// stopped. To give the upload up instead, [`cancel`](Self::cancel) it by
/// its checkpoint key, which deletes its session.
pub struct Uploader<T> {
    transport: Slot<T>,
    stall_timeout: Duration,
    chunking: Chunking,
    retry: RetryPolicy,
    store: Option<SharedStore>,
    on_event: Option<EventCallback>,
    upload_headers: http::HeaderMap,
    allow_insecure_http: bool,
    verify_resumed_prefix: bool,
}

impl<T> fmt::Debug for Uploader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Uploader")
            .field("chunking", &self.chunking)
            .field("retry", &self.retry)
            .field("stall_timeout", &self.stall_timeout)
            .field("allow_insecure_http", &self.allow_insecure_http)
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
            chunking: Chunking::Auto,
            retry: RetryPolicy::default(),
            store: None,
            on_event: None,
            upload_headers: http::HeaderMap::new(),
            allow_insecure_http: false,
            verify_resumed_prefix: true,
        }
    }

    /// How the bytes are split into requests (default: the server's
    /// recommended chunk size, else 8 MiB; [`Chunking::SingleRequest`]
    /// streams everything in one request).
    #[must_use]
    pub fn chunking(mut self, chunking: Chunking) -> Self {
        self.chunking = chunking;
        self
    }

    /// How failures are retried: attempts, time budget, backoff delays.
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Keeps checkpoints in `store`, so an interrupted upload resumes: a
    /// `FileCheckpointStore` survives the process. The store is called on
    /// tokio's blocking threads, never on the runtime's.
    #[must_use]
    pub fn checkpoint_store(mut self, store: impl CheckpointStore + Send + 'static) -> Self {
        self.store = Some(SharedStore::new(store));
        self
    }

    /// Calls `f` with every progress event ([`Event::Persisted`],
    /// [`Event::Retrying`], …) as it happens. Keep it quick: the upload
    /// waits for it.
    #[must_use]
    pub fn on_event(mut self, f: impl FnMut(&Event) + Send + 'static) -> Self {
        self.on_event = Some(Box::new(f));
        self
    }

    /// Adds a header to every request to the upload host (never to the file
    /// API), e.g. for a proxy or a signed-URL session.
    #[must_use]
    pub fn upload_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.upload_headers.append(name, value);
        self
    }

    /// Allows plain `http` to hosts other than loopback. Requests carry
    /// credentials (the API key, the session URL): only do this on a
    /// network you trust.
    #[must_use]
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Whether a resumed upload first reads the bytes its checkpoint hashed
    /// again and compares them (on by default, for sources that can be read
    /// again): a file rewritten with its size and modification time kept then
    /// fails with [`UploadError::Changed`] instead of resuming into a mixed
    /// object. It costs one read of the persisted part of the file; see
    /// `Config::verify_resumed_prefix`.
    #[must_use]
    pub fn verify_resumed_prefix(mut self, verify: bool) -> Self {
        self.verify_resumed_prefix = verify;
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
    /// [`Error::SessionGone`].
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
    /// upload is done (or its session is gone for good), and kept when it
    /// fails otherwise or its future is dropped. Another upload holding the
    /// lock fails it with [`UploadError::Busy`] before anything is loaded or
    /// sent.
    ///
    /// The uploader's chunking, retry policy and upload headers apply; the
    /// source gives the fingerprint and whether it can restart.
    pub async fn run(
        &mut self,
        mut config: Config,
        source: &mut impl AsyncSource,
        checkpoint_key: Option<&str>,
    ) -> Result<Outcome, UploadError> {
        config.chunking = self.chunking;
        config.retry = self.retry;
        config.upload_headers.extend(self.upload_headers.clone());
        config.jitter_seed = RandomState::new().hash_one(Instant::now());
        config.fingerprint = source.fingerprint();
        config.restartable_source = source.is_restartable();
        config.verify_resumed_prefix = self.verify_resumed_prefix && source.is_restartable();
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
        let (now, wall) = (now(), SystemTime::now());
        let mut up = match resume {
            Some(checkpoint) => {
                tracing::info!(persisted = checkpoint.persisted, "resuming from checkpoint");
                match Upload::resume(config, checkpoint, now, wall) {
                    Err(Error::Source(SourceError::Changed)) => return Err(UploadError::Changed),
                    other => other?,
                }
            }
            None => Upload::new(config, now, wall)?,
        };
        let result = self.pump(&mut up, source, key).await;
        if let (Err(UploadError::Source(_)), Some(key), Some(store)) = (&result, key, &self.store) {
            store
                .save(key, up.checkpoint())
                .await
                .map_err(UploadError::Checkpoint)?;
        }
        result
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
        if let Some(session) = &checkpoint.session {
            let mut config = Config::gcs_session(session.upload_url.clone(), checkpoint.total);
            config.retry = self.retry;
            config.upload_headers.extend(self.upload_headers.clone());
            let mut up = Upload::new(config, now(), SystemTime::now())?;
            up.cancel();
            let mut nothing = BytesSource::new(bytes::Bytes::new());
            match self.pump(&mut up, &mut nothing, None).await {
                Err(UploadError::Upload(Error::Cancelled)) | Ok(_) => {}
                Err(e) => return Err(e),
            }
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
            allow_insecure_http: self.allow_insecure_http,
            stall: self.stall_timeout,
        };
        pump.run(up).instrument(span).await
    }
}
