//! The pump: carries out the core's actions with blocking IO.

use std::hash::{BuildHasher, RandomState};
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderName, HeaderValue};
use resumable_core::{
    Action, Body, Checkpoint, Chunking, Config, Error, Event, GcsInitiate, Outcome, Purpose,
    RetryPolicy, SessionUrl, SourceError, Upload, url_policy,
};
use resumable_local::driver::drain_events;
use resumable_local::{
    CheckpointLock, CheckpointStore, FileApiTarget, FileSource, UploadError, checkpoint_key,
};
use tracing::{debug, info, warn};

use crate::source::Source;
use crate::transport::{RequestBody, Transport};

/// Stops a running upload from another thread (e.g. on Ctrl-C). The upload
/// returns [`UploadError::Interrupted`] with its checkpoint saved.
#[derive(Debug, Clone, Default)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// Asks the upload to stop at the next step.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

type EventCallback = Box<dyn FnMut(&Event) + Send>;

/// Uploads files and streams with blocking IO.
pub struct Uploader<T> {
    transport: T,
    chunking: Chunking,
    retry: RetryPolicy,
    store: Option<Box<dyn CheckpointStore + Send>>,
    on_event: Option<EventCallback>,
    upload_headers: http::HeaderMap,
    allow_insecure_http: bool,
    verify_resumed_prefix: bool,
    stop: StopHandle,
    buffer: Vec<u8>,
}

impl<T> std::fmt::Debug for Uploader<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("chunking", &self.chunking)
            .field("retry", &self.retry)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "ureq")]
impl Uploader<crate::UreqTransport> {
    /// An uploader with the default HTTPS transport (30 s connect timeout,
    /// 60 s stall timeout).
    pub fn new() -> Self {
        Self::with_transport(crate::UreqTransport::default())
    }

    /// Sets the default transport's timeouts: connecting, and no byte moving.
    #[must_use]
    pub fn timeouts(mut self, connect: Duration, stall: Duration) -> Self {
        self.transport = crate::UreqTransport::new(connect, stall);
        self
    }
}

#[cfg(feature = "ureq")]
impl Default for Uploader<crate::UreqTransport> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Transport> Uploader<T> {
    /// An uploader sending through `transport`.
    pub fn with_transport(transport: T) -> Self {
        Self {
            transport,
            chunking: Chunking::Auto,
            retry: RetryPolicy::default(),
            store: None,
            on_event: None,
            upload_headers: http::HeaderMap::new(),
            allow_insecure_http: false,
            verify_resumed_prefix: true,
            stop: StopHandle::default(),
            buffer: Vec::new(),
        }
    }

    /// How the bytes are split into requests.
    #[must_use]
    pub fn chunking(mut self, chunking: Chunking) -> Self {
        self.chunking = chunking;
        self
    }

    /// How failures are retried.
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Keeps checkpoints in `store`, so an interrupted upload resumes.
    #[must_use]
    pub fn checkpoint_store(mut self, store: impl CheckpointStore + Send + 'static) -> Self {
        self.store = Some(Box::new(store));
        self
    }

    /// Calls `f` with every progress event.
    #[must_use]
    pub fn on_event(mut self, f: impl FnMut(&Event) + Send + 'static) -> Self {
        self.on_event = Some(Box::new(f));
        self
    }

    /// Adds a header to every request to the upload host (not the file API).
    #[must_use]
    pub fn upload_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.upload_headers.append(name, value);
        self
    }

    /// Allows plain `http` to hosts other than loopback.
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

    /// A handle that stops a running upload from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Uploads the file at `path` through the file API: session, upload,
    /// register. Resumes from the checkpoint store when it holds this file's
    /// upload.
    pub fn upload_file(
        &mut self,
        api: &FileApiTarget,
        path: impl AsRef<Path>,
    ) -> Result<Outcome, UploadError> {
        let path = path.as_ref();
        let mut source = FileSource::open(path).map_err(UploadError::Source)?;
        let size = source.len().unwrap_or_default();
        let config = Config::file_api(api.file_api(path), size);
        let key = checkpoint_key(api, path);
        self.run(config, &mut source, Some(&key))
    }

    /// Uploads `source` to an existing resumable session.
    pub fn upload_to_session(
        &mut self,
        url: SessionUrl,
        source: &mut dyn Source,
    ) -> Result<Outcome, UploadError> {
        let config = Config::gcs_session(url, source.len());
        self.run(config, source, None)
    }

    /// Initiates a session with the GCS JSON API, then uploads `source`.
    pub fn upload_gcs(
        &mut self,
        init: GcsInitiate,
        source: &mut dyn Source,
    ) -> Result<Outcome, UploadError> {
        let config = Config::gcs_initiate(init, source.len());
        self.run(config, source, None)
    }

    /// Runs the upload `config` describes, reading `source`. With a
    /// `checkpoint_key` and a store, it takes the key's lock
    /// ([`CheckpointStore::lock`]) and holds it until it returns, resumes
    /// from the stored checkpoint and keeps it current; the checkpoint is
    /// removed when the upload is done (or its session is gone for good).
    /// Another upload holding the lock fails it with
    /// [`UploadError::Busy`] before anything is loaded or sent.
    pub fn run(
        &mut self,
        mut config: Config,
        source: &mut dyn Source,
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
        let _lock = self.lock(key)?;
        let resume = match (key, self.store.as_mut()) {
            (Some(key), Some(store)) => store.load(key).map_err(UploadError::Checkpoint)?,
            _ => None,
        };
        let (now, wall) = (Instant::now(), SystemTime::now());
        let mut up = match resume {
            Some(checkpoint) => {
                info!(persisted = checkpoint.persisted, "resuming from checkpoint");
                match Upload::resume(config, checkpoint, now, wall) {
                    Err(Error::Source(SourceError::Changed)) => return Err(UploadError::Changed),
                    other => other?,
                }
            }
            None => Upload::new(config, now, wall)?,
        };
        let result = self.pump(&mut up, source, key);
        if let Err(UploadError::Interrupted | UploadError::Source(_)) = &result {
            self.save(key, &up.checkpoint())?;
        }
        result
    }

    /// The checkpoint stored under `key`, if a store is set and holds one.
    pub fn load_checkpoint(&mut self, key: &str) -> Result<Option<Checkpoint>, UploadError> {
        match self.store.as_mut() {
            Some(store) => store.load(key).map_err(UploadError::Checkpoint),
            None => Ok(None),
        }
    }

    /// Cancels the upload whose checkpoint is stored under `key`: deletes its
    /// session (`DELETE`; a session already gone counts as deleted) and the
    /// checkpoint. Returns `false` when there was no checkpoint. An upload
    /// running now (its lock held) is left alone: [`UploadError::Busy`].
    pub fn cancel(&mut self, key: &str) -> Result<bool, UploadError> {
        let _lock = self.lock(Some(key))?;
        let Some(checkpoint) = self.load_checkpoint(key)? else {
            return Ok(false);
        };
        if let Some(session) = &checkpoint.session {
            let mut config = Config::gcs_session(session.upload_url.clone(), checkpoint.total);
            config.retry = self.retry;
            config.upload_headers.extend(self.upload_headers.clone());
            let mut up = Upload::new(config, Instant::now(), SystemTime::now())?;
            up.cancel();
            let mut nothing = crate::source::BytesSource::new(bytes::Bytes::new());
            match self.pump(&mut up, &mut nothing, None) {
                Err(UploadError::Upload(Error::Cancelled)) | Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        self.forget(Some(key))?;
        Ok(true)
    }

    fn pump(
        &mut self,
        up: &mut Upload,
        source: &mut dyn Source,
        key: Option<&str>,
    ) -> Result<Outcome, UploadError> {
        loop {
            if self.stop.is_stopped() {
                return Err(UploadError::Interrupted);
            }
            if up.total().is_none() {
                let end = up
                    .persisted()
                    .saturating_add(up.chunk_size())
                    .saturating_add(1);
                if let Some(total) = source.fill_to(end).map_err(UploadError::Source)? {
                    up.set_total(total)
                        .map_err(|_| UploadError::Source(shrunk()))?;
                }
            }
            let action = up.poll_action(Instant::now());
            match action {
                Action::Send(request) => self.send(up, source, request)?,
                Action::Checksum(range) => self.hash(up, source, range)?,
                Action::Checkpoint(checkpoint) => {
                    self.save(key, &checkpoint)?;
                    source.release(checkpoint.persisted);
                }
                Action::Wait(until) => self.sleep_until(until)?,
                Action::Done(outcome) => {
                    self.drain_events(up);
                    // The upload is done and registered: a stale checkpoint
                    // only costs a status query next time, so it is no failure.
                    if let Err(error) = self.forget(key) {
                        warn!(%error, "could not remove the finished upload's checkpoint");
                    }
                    return Ok(outcome);
                }
                Action::Failed(error) => {
                    self.drain_events(up);
                    if matches!(error, Error::SessionGone | Error::Cancelled) {
                        self.forget(key)?;
                    }
                    return Err(match error {
                        // Found while resuming: the same error as a changed fingerprint.
                        Error::Source(SourceError::Changed) => UploadError::Changed,
                        other => other.into(),
                    });
                }
                // AwaitResponse: a sequential pump answers every request
                // before polling again, so this is a bug, reported not panicked.
                _ => {
                    return Err(UploadError::DriverBug(format!("unexpected {action:?}")));
                }
            }
            self.drain_events(up);
        }
    }

    fn send(
        &mut self,
        up: &mut Upload,
        source: &mut dyn Source,
        request: resumable_core::Request,
    ) -> Result<(), UploadError> {
        let uri = request.http.uri();
        if !url_policy::is_allowed(uri, self.allow_insecure_http) {
            return Err(UploadError::Insecure {
                host: uri.host().unwrap_or_default().to_owned(),
            });
        }
        let range = request
            .http
            .headers()
            .get(http::header::CONTENT_RANGE)
            .cloned();
        debug!(purpose = ?request.purpose, content_range = ?range, "sending");
        // Before register too: a file changed during its last chunk is not
        // the file that was uploaded.
        if (matches!(request.http.body(), Body::Source(_)) || request.purpose == Purpose::Register)
            && !source.is_unchanged().map_err(UploadError::Source)?
        {
            return Err(UploadError::ChangedDuringUpload);
        }
        let id = request.id;
        let (parts, body) = request.http.into_parts();
        let mut source_error = None;
        let stop = Arc::clone(&self.stop.0);
        let result = {
            let body = RequestBody::new(&body, source, up, &mut source_error, &stop);
            self.transport.send(http::Request::from_parts(parts, body))
        };
        if self.stop.is_stopped() {
            return Err(UploadError::Interrupted);
        }
        if let Some(error) = source_error {
            return Err(UploadError::Source(error));
        }
        let now = Instant::now();
        let handled = match result {
            Ok(response) => {
                debug!(status = response.status().as_u16(), "answered");
                up.handle_response(id, response, now)
            }
            Err(error) => {
                warn!(%error, "request failed");
                up.handle_transport_error(id, error.kind, now)
            }
        };
        handled.map_err(|e| UploadError::DriverBug(e.to_string()))
    }

    fn hash(
        &mut self,
        up: &mut Upload,
        source: &mut dyn Source,
        range: std::ops::Range<u64>,
    ) -> Result<(), UploadError> {
        self.buffer.resize(256 * 1024, 0);
        let mut pos = range.start;
        while pos < range.end {
            // A resume may hash gigabytes here first.
            if self.stop.is_stopped() {
                return Err(UploadError::Interrupted);
            }
            let want = usize::try_from(range.end - pos)
                .unwrap_or(usize::MAX)
                .min(self.buffer.len());
            let n = source
                .read_at(pos, &mut self.buffer[..want])
                .map_err(UploadError::Source)?;
            if n == 0 {
                return Err(UploadError::Source(shrunk()));
            }
            up.feed_checksum(pos, &self.buffer[..n]);
            pos += n as u64;
        }
        Ok(())
    }

    fn sleep_until(&self, until: Instant) -> Result<(), UploadError> {
        loop {
            if self.stop.is_stopped() {
                return Err(UploadError::Interrupted);
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            std::thread::sleep(left.min(Duration::from_millis(100)));
        }
    }

    /// The lock of `key` in the store, when both are set.
    fn lock(&mut self, key: Option<&str>) -> Result<Option<CheckpointLock>, UploadError> {
        match (key, self.store.as_mut()) {
            (Some(key), Some(store)) => Ok(Some(store.lock(key)?)),
            _ => Ok(None),
        }
    }

    fn save(&mut self, key: Option<&str>, checkpoint: &Checkpoint) -> Result<(), UploadError> {
        match (key, self.store.as_mut()) {
            (Some(key), Some(store)) => {
                store.save(key, checkpoint).map_err(UploadError::Checkpoint)
            }
            _ => Ok(()),
        }
    }

    fn forget(&mut self, key: Option<&str>) -> Result<(), UploadError> {
        match (key, self.store.as_mut()) {
            (Some(key), Some(store)) => store.remove(key).map_err(UploadError::Checkpoint),
            _ => Ok(()),
        }
    }

    fn drain_events(&mut self, up: &mut Upload) {
        let on_event = &mut self.on_event;
        drain_events(up, |event| {
            if let Some(f) = on_event.as_mut() {
                f(event);
            }
        });
    }
}

fn shrunk() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the source ended before its known length",
    )
}
