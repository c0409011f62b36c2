//! For writers of drivers: what every driver does the same way, so that it
//! is written once. Applications never call these; a driver's uploader and
//! pump do.
//!
//! - [`Settings`]: an uploader's settings, the [`Config`] built from them
//!   and the [`Upload`] started (new or resumed, or cancelling one).
//! - [`Halt`] and [`Ending`]: an action the pump could not carry out (the
//!   source failed, the user stopped) goes to the engine, which decides
//!   what becomes of the checkpoint; then the error the user sees.
//! - [`drain_events`], [`trace_event`]: the engine's progress events as log
//!   lines, after each action the pump carries out.

use std::hash::{BuildHasher as _, RandomState};
use std::io;
use std::time::{Instant, SystemTime};

use http::HeaderMap;
use resumable_core::{
    Checkpoint, Chunking, Config, Error, Event, Fingerprint, Outcome, RetryPolicy, SourceError,
    Upload, UsageError,
};

use crate::UploadError;

/// Takes every pending event from `upload`, logs it ([`trace_event`]) and
/// hands it to `deliver` (a driver passes its progress callback). A driver
/// calls it after each action it carries out, and once more when the
/// upload ends.
pub fn drain_events(upload: &mut Upload, mut deliver: impl FnMut(&Event)) {
    while let Some(event) = upload.poll_event() {
        trace_event(&event);
        deliver(&event);
    }
}

/// Logs an event: warnings for retries and session restarts, information
/// for the milestones (session, upload id, finalized, registered), debug
/// for the rest. The upload id is also recorded in the current span's
/// `upload_id` field when it has one. None holds a credential: events
/// carry offsets, counts and ids, and the engine redacts an upload id that
/// is the session's.
pub fn trace_event(event: &Event) {
    match event {
        Event::SessionStarted {
            expires_at,
            chunk_size,
        } => tracing::info!(?expires_at, chunk_size, "session started"),
        Event::UploadId(id) => {
            tracing::Span::current().record("upload_id", id.as_str());
            tracing::info!(upload_id = %id, "upload id");
        }
        Event::TransferStarted { offset, total } => {
            tracing::info!(offset, ?total, "transfer started");
        }
        Event::Persisted { offset, total } => tracing::debug!(offset, ?total, "persisted"),
        Event::Retrying {
            attempt,
            after,
            cause,
        } => tracing::warn!(attempt, ?after, %cause, "retrying"),
        Event::SessionRestarted { restarts } => {
            tracing::warn!(restarts, "session gone: session restarted with a new one");
        }
        Event::Finalized { size, crc32c } => {
            tracing::info!(size, crc32c = ?crc32c.map(|c| format!("{c:08x}")), "finalized");
        }
        Event::Registered { file_id } => tracing::info!(file_id = %file_id, "registered"),
        other => tracing::debug!(event = ?other, "event"),
    }
}

/// What an uploader is set to, the same in both drivers' builders, and how
/// an upload starts from it: a driver keeps one, sets its fields from its
/// builder methods, and calls [`Settings::config`] then [`Settings::start`]
/// for each upload ([`Settings::cancelling`] to cancel one).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// How the bytes are split into requests.
    pub chunking: Chunking,
    /// How failures are retried.
    pub retry: RetryPolicy,
    /// Extra headers on every request to the upload host.
    pub upload_headers: HeaderMap,
    /// Allow plain `http` to hosts other than loopback
    /// ([`Config::allow_insecure_http`]).
    pub allow_insecure_http: bool,
    /// Read a resumed upload's persisted bytes again and compare them, for
    /// a source that can be read again ([`Config::verify_resumed_prefix`]).
    pub verify_resumed_prefix: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            chunking: Chunking::default(),
            retry: RetryPolicy::default(),
            upload_headers: HeaderMap::new(),
            allow_insecure_http: false,
            verify_resumed_prefix: true,
        }
    }
}

impl Settings {
    /// `config` with these settings and what the source says of itself (its
    /// fingerprint, whether it can be read again from the start), and a
    /// fresh jitter seed. Pass the result to [`Settings::start`].
    #[must_use]
    pub fn config(
        &self,
        mut config: Config,
        fingerprint: Option<Fingerprint>,
        restartable: bool,
    ) -> Config {
        config.chunking = self.chunking;
        config.retry = self.retry;
        config.upload_headers.extend(self.upload_headers.clone());
        config.jitter_seed = RandomState::new().hash_one(Instant::now());
        config.fingerprint = fingerprint;
        config.restartable_source = restartable;
        config.verify_resumed_prefix = self.verify_resumed_prefix && restartable;
        config.allow_insecure_http = self.allow_insecure_http;
        config
    }

    /// The upload `config` describes, resumed from `checkpoint` when there
    /// is one (a source changed since is [`UploadError::Changed`]), else
    /// new. `now` is the driver's clock; the wall clock is read here. Pump
    /// it to its end.
    pub fn start(
        &self,
        config: Config,
        checkpoint: Option<Checkpoint>,
        now: Instant,
    ) -> Result<Upload, UploadError> {
        let wall = SystemTime::now();
        let up = match checkpoint {
            Some(checkpoint) => {
                tracing::info!(persisted = checkpoint.persisted, "resuming from checkpoint");
                Upload::resume(config, checkpoint, now, wall)?
            }
            None => Upload::new(config, now, wall)?,
        };
        Ok(up)
    }

    /// The upload that deletes `checkpoint`'s session, already cancelled
    /// (see [`Upload::cancel`]): pump it with an empty source and no
    /// checkpoint key, pass its result to [`cancelled`], then remove the
    /// checkpoint. `None` when the checkpoint holds no session: only the
    /// checkpoint is to be removed.
    pub fn cancelling(
        &self,
        checkpoint: &Checkpoint,
        now: Instant,
    ) -> Result<Option<Upload>, UploadError> {
        let Some(session) = &checkpoint.session else {
            return Ok(None);
        };
        // Deleted as its own protocol says: a tus server refuses a DELETE
        // without `Tus-Resumable`.
        let url = session.upload_url.clone();
        let mut config = Config::session_in(checkpoint.protocol, url, checkpoint.total);
        config.retry = self.retry;
        config.upload_headers.extend(self.upload_headers.clone());
        config.allow_insecure_http = self.allow_insecure_http;
        let mut up = Upload::new(config, now, SystemTime::now())?;
        up.cancel();
        Ok(Some(up))
    }
}

/// How a cancelling upload ([`Settings::cancelling`]) ended: deleted (or
/// already gone, or finished before the cancel arrived) is success.
pub fn cancelled(result: Result<Outcome, UploadError>) -> Result<(), UploadError> {
    match result {
        Ok(_) | Err(UploadError::Upload(Error::Cancelled)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Why a pump could not carry out an action; hand it to
/// [`Ending::halt`], which tells the engine where the engine decides.
#[derive(Debug)]
#[non_exhaustive]
pub enum Halt {
    /// The source could not be read: the engine keeps the checkpoint and
    /// ends the upload, and the driver reports this error.
    Source(io::Error),
    /// The source changed under the upload (the check a request asks for
    /// found its size or modification time moved): the engine keeps the
    /// checkpoint, progress included, and ends; the driver reports
    /// [`UploadError::ChangedDuringUpload`].
    Changed,
    /// The user stopped the upload ([`Upload::interrupt`]).
    Stopped,
    /// The upload ends now with this error, the checkpoint as it is stored.
    End(UploadError),
}

impl From<UploadError> for Halt {
    fn from(error: UploadError) -> Self {
        Self::End(error)
    }
}

/// The engine refused one of the pump's calls: a bug in the pump.
impl From<UsageError> for Halt {
    fn from(error: UsageError) -> Self {
        Self::End(UploadError::DriverBug(error.to_string()))
    }
}

/// What a pump keeps between a [`Halt`] and the end it leads to: the
/// source's own error, or that it changed, reported in place of the
/// engine's [`SourceError::Unreadable`].
#[derive(Debug, Default)]
pub struct Ending {
    source_error: Option<io::Error>,
    changed: bool,
}

impl Ending {
    /// Tells `upload` why the action stopped short. Poll on after `Ok`: the
    /// engine hands out the checkpoint to keep, then [`Action::Failed`](resumable_core::Action::Failed)
    /// (pass it to [`Ending::failure`]). `Err` is the end, at once.
    pub fn halt(&mut self, upload: &mut Upload, halt: Halt) -> Result<(), UploadError> {
        match halt {
            Halt::Source(error) => {
                self.source_error = Some(error);
                upload.handle_source_error();
                Ok(())
            }
            Halt::Changed => {
                self.changed = true;
                upload.handle_source_error();
                Ok(())
            }
            Halt::Stopped => {
                upload.interrupt();
                Ok(())
            }
            Halt::End(error) => Err(error),
        }
    }

    /// The error an upload that ended with [`Action::Failed`](resumable_core::Action::Failed)`(error)`
    /// returns to the user.
    pub fn failure(&mut self, error: Error) -> UploadError {
        match (error, self.source_error.take()) {
            (Error::Source(SourceError::Unreadable), _) if self.changed => {
                UploadError::ChangedDuringUpload
            }
            (Error::Source(SourceError::Unreadable), Some(source)) => UploadError::Source(source),
            (other, _) => other.into(),
        }
    }
}

/// Logs a failure to carry out [`Action::RemoveCheckpoint`](resumable_core::Action::RemoveCheckpoint): a warning,
/// since the upload's end stands and a stale checkpoint only costs the next
/// run a status query.
pub fn warn_not_removed(error: &io::Error) {
    tracing::warn!(%error, "could not remove the upload's checkpoint");
}

/// The progress callback an uploader keeps (set by the `on_event` builder
/// method that `uploader_settings!` writes).
pub type EventCallback = Box<dyn FnMut(&Event) + Send>;

/// Writes the builder methods every driver's `Uploader` shares, with one
/// meaning and one doc in both: `chunking`, `retry`, `upload_header`,
/// `allow_insecure_http`, `verify_resumed_prefix` (each sets a field of
/// its `settings: Settings`) and `on_event` (its `on_event:
/// Option<EventCallback>`). Expand it inside the uploader's `impl`.
#[doc(hidden)]
#[macro_export]
macro_rules! uploader_settings {
    () => {
        /// How the bytes are split into requests (default: the server's
        /// recommended chunk size, else 8 MiB;
        /// [`Chunking::SingleRequest`](crate::Chunking::SingleRequest)
        /// streams everything in one request).
        #[must_use]
        pub fn chunking(mut self, chunking: $crate::Chunking) -> Self {
            self.settings.chunking = chunking;
            self
        }

        /// How failures are retried: attempts, time budget, backoff delays.
        #[must_use]
        pub fn retry(mut self, retry: $crate::RetryPolicy) -> Self {
            self.settings.retry = retry;
            self
        }

        /// Calls `f` with every progress event
        /// ([`Event::Persisted`](crate::Event::Persisted),
        /// [`Event::Retrying`](crate::Event::Retrying), …) as it happens.
        /// Keep it quick: the upload waits for it.
        #[must_use]
        pub fn on_event(mut self, f: impl FnMut(&$crate::Event) + Send + 'static) -> Self {
            self.on_event = Some(Box::new(f));
            self
        }

        /// Adds a header to every request to the upload host (never to the
        /// file API), e.g. for a proxy or a signed-URL session.
        #[must_use]
        pub fn upload_header(mut self, name: http::HeaderName, value: http::HeaderValue) -> Self {
            self.settings.upload_headers.append(name, value);
            self
        }

        /// Allows plain `http` to hosts other than loopback. Requests carry
        /// credentials (the API key, the session URL): only do this on a
        /// network you trust. The engine applies it to every URL, those
        /// configured and those a server hands out
        /// (`Config::allow_insecure_http`).
        #[must_use]
        pub fn allow_insecure_http(mut self, allow: bool) -> Self {
            self.settings.allow_insecure_http = allow;
            self
        }

        /// Whether a resumed upload first reads the bytes its checkpoint
        /// hashed again and compares them (on by default, for sources that
        /// can be read again): a file rewritten with its size and
        /// modification time kept then fails with
        /// [`UploadError::Changed`](crate::UploadError::Changed)
        /// instead of resuming into a mixed object. It costs one read of the
        /// persisted part of the file; see `Config::verify_resumed_prefix`.
        #[must_use]
        pub fn verify_resumed_prefix(mut self, verify: bool) -> Self {
            self.settings.verify_resumed_prefix = verify;
            self
        }
    };
}
