//! The pump: carries out the core's actions with blocking IO.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use resumable_core::{Action, Checkpoint, Config, GcsInitiate, Outcome, SessionUrl, Upload};
use resumable_local::driver::{self, Ending, EventCallback, Halt, Settings, drain_events};
use resumable_local::{
    CheckpointLock, CheckpointStore, FileApiTarget, FileSource, UploadError, checkpoint_key,
};
use tracing::{debug, warn};

use crate::source::Source;
use crate::transport::{RequestBody, Transport};

/// Stops a running upload from another thread (e.g. on Ctrl-C). The upload
/// returns [`UploadError::Interrupted`] with its current checkpoint saved
/// (the engine hands it out, see `resumable_core::Upload::interrupt`).
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

/// Uploads files and streams with blocking IO.
pub struct Uploader<T> {
    transport: T,
    settings: Settings,
    store: Option<Box<dyn CheckpointStore + Send>>,
    on_event: Option<EventCallback>,
    stop: StopHandle,
    buffer: Vec<u8>,
}

impl<T> std::fmt::Debug for Uploader<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("settings", &self.settings)
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
            settings: Settings::default(),
            store: None,
            on_event: None,
            stop: StopHandle::default(),
            buffer: Vec::new(),
        }
    }

    resumable_local::uploader_settings!();

    /// Keeps checkpoints in `store`, so an interrupted upload resumes.
    #[must_use]
    pub fn checkpoint_store(mut self, store: impl CheckpointStore + Send + 'static) -> Self {
        self.store = Some(Box::new(store));
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
    /// removed when the upload is done (or its session is gone for good),
    /// and kept, as of the failure, when the source fails or the upload is
    /// stopped. Another upload holding the lock fails it with
    /// [`UploadError::Busy`] before anything is loaded or sent.
    pub fn run(
        &mut self,
        config: Config,
        source: &mut dyn Source,
        checkpoint_key: Option<&str>,
    ) -> Result<Outcome, UploadError> {
        let config = self
            .settings
            .config(config, source.fingerprint(), source.is_restartable());
        let key = checkpoint_key.filter(|_| self.store.is_some());
        let _lock = self.lock(key)?;
        let resume = match key {
            Some(key) => self.load_checkpoint(key)?,
            None => None,
        };
        let mut up = self.settings.start(config, resume, Instant::now())?;
        self.pump(&mut up, source, key)
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
        if let Some(mut up) = self.settings.cancelling(&checkpoint, Instant::now())? {
            let mut nothing = crate::source::BytesSource::new(bytes::Bytes::new());
            driver::cancelled(self.pump(&mut up, &mut nothing, None))?;
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
        let mut ending = Ending::default();
        loop {
            if self.stop.is_stopped() {
                up.interrupt();
            }
            let step = match up.poll_action(Instant::now()) {
                Action::Send(request) => {
                    // Events raised with the request (a transfer starting)
                    // are told before it goes, not once it is answered.
                    self.drain_events(up);
                    self.send(up, source, request)
                }
                Action::Checksum(range) => self.hash(up, source, range),
                Action::ReadAhead { to } => match source.fill_to(to) {
                    Ok(total) => up.handle_read_ahead(total).map_err(Halt::from),
                    Err(error) => Err(Halt::Source(error)),
                },
                Action::Checkpoint(checkpoint) => {
                    self.save(key, &checkpoint)?;
                    source.release(checkpoint.persisted);
                    Ok(())
                }
                Action::RemoveCheckpoint => {
                    if let Err(UploadError::Checkpoint(error)) = self.forget(key) {
                        driver::warn_not_removed(&error);
                    }
                    Ok(())
                }
                Action::Wait(until) => self.sleep_until(until),
                Action::Done(outcome) => {
                    self.drain_events(up);
                    return Ok(outcome);
                }
                Action::Failed(error) => {
                    self.drain_events(up);
                    return Err(ending.failure(error));
                }
                // AwaitResponse: a sequential pump answers every request
                // before polling again, so this is a bug, reported not panicked.
                other => Err(Halt::End(UploadError::DriverBug(format!(
                    "unexpected {other:?}"
                )))),
            };
            if let Err(halt) = step {
                ending.halt(up, halt)?;
            }
            self.drain_events(up);
        }
    }

    fn send(
        &mut self,
        up: &mut Upload,
        source: &mut dyn Source,
        request: resumable_core::Request,
    ) -> Result<(), Halt> {
        let range = request
            .http
            .headers()
            .get(http::header::CONTENT_RANGE)
            .cloned();
        debug!(purpose = ?request.purpose, content_range = ?range, "sending");
        if request.check_source && !source.is_unchanged().map_err(Halt::Source)? {
            return Err(Halt::Changed);
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
            return Err(Halt::Stopped);
        }
        if let Some(error) = source_error {
            return Err(Halt::Source(error));
        }
        let now = Instant::now();
        match result {
            Ok(response) => {
                debug!(status = response.status().as_u16(), "answered");
                up.handle_response(id, response, now)?;
            }
            Err(error) => {
                warn!(%error, "request failed");
                up.handle_transport_error(id, &error, now)?;
            }
        }
        Ok(())
    }

    fn hash(
        &mut self,
        up: &mut Upload,
        source: &mut dyn Source,
        range: std::ops::Range<u64>,
    ) -> Result<(), Halt> {
        self.buffer.resize(256 * 1024, 0);
        let mut pos = range.start;
        while pos < range.end {
            // A resume may hash gigabytes here first.
            if self.stop.is_stopped() {
                return Err(Halt::Stopped);
            }
            let want = usize::try_from(range.end - pos)
                .unwrap_or(usize::MAX)
                .min(self.buffer.len());
            let n = source
                .read_at(pos, &mut self.buffer[..want])
                .map_err(Halt::Source)?;
            if n == 0 {
                return Err(Halt::Source(shrunk()));
            }
            up.feed_checksum(pos, &self.buffer[..n]);
            pos += n as u64;
        }
        Ok(())
    }

    fn sleep_until(&self, until: Instant) -> Result<(), Halt> {
        loop {
            if self.stop.is_stopped() {
                return Err(Halt::Stopped);
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
