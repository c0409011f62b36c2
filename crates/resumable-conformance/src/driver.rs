//! The one interface the catalogues run a driver through, so each catalogue
//! is written once: an uploader configured as the catalogue asks, and the
//! calls it makes. An async driver carries each call out on a runtime of its
//! own, so the catalogue's checks stay plain functions.

use std::fmt::Debug;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use resumable_core::{
    Checkpoint, Chunking, Config, Event, GcsInitiate, Outcome, RetryPolicy, SessionUrl,
};
use resumable_emulator::EmulatorHandle;
use resumable_local::{CheckpointStore, FileApiTarget, UploadError};

/// What a progress hook is: called with every event, in order.
pub type OnEvent = Box<dyn FnMut(&Event) + Send>;

/// How the catalogue wants an uploader built; [`Setup::default`] is the
/// drivers' own defaults.
pub struct Setup {
    /// How the bytes are split.
    pub chunking: Chunking,
    /// How failures are retried.
    pub retry: RetryPolicy,
    /// Where checkpoints are kept, for the whole uploader's life; nowhere
    /// when `None`.
    pub store: Option<Box<dyn CheckpointStore + Send>>,
    /// Called with every event.
    pub on_event: Option<OnEvent>,
    /// What the uploader sends through.
    pub wire: Wire,
    /// Whether a resumed upload reads its persisted bytes again first.
    pub verify_resumed_prefix: bool,
    /// Whether plain `http` may go to hosts other than loopback.
    pub allow_insecure_http: bool,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            chunking: Chunking::Auto,
            retry: RetryPolicy::default(),
            store: None,
            on_event: None,
            wire: Wire::Default,
            verify_resumed_prefix: true,
            allow_insecure_http: false,
        }
    }
}

/// The transport an uploader sends through: always the driver's default
/// one (ureq, hyper), set up as the catalogue asks.
pub enum Wire {
    /// As `Uploader::new()` builds it.
    Default,
    /// With these timeouts.
    Timeouts {
        /// Opening a connection.
        connect: Duration,
        /// A request making no progress.
        stall: Duration,
    },
    /// Noting every request in `notes` and, when `to` is set, sending it
    /// there whatever host it names: lets a case use hosts that are not
    /// loopback.
    Noting {
        /// Where every request goes instead of the host it names.
        to: Option<SocketAddr>,
        /// What was sent.
        notes: Notes,
    },
}

/// A request a [`Wire::Noting`] transport sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Noted {
    /// The host the request named.
    pub host: String,
    /// Its `Content-Range` header.
    pub content_range: Option<String>,
}

/// The requests a [`Wire::Noting`] transport sent, in order; clones share
/// them.
#[derive(Debug, Clone, Default)]
pub struct Notes(Arc<Mutex<Vec<Noted>>>);

impl Notes {
    /// Notes a request to `uri` with this `Content-Range`; the transport
    /// calls it before it sends.
    pub fn note(&self, uri: &http::Uri, content_range: Option<&http::HeaderValue>) {
        let noted = Noted {
            host: uri.host().unwrap_or_default().to_owned(),
            content_range: content_range
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        };
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(noted);
    }

    /// Every request sent so far.
    pub fn all(&self) -> Vec<Noted> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The host each request named, in order.
    pub fn hosts(&self) -> Vec<String> {
        self.all().into_iter().map(|n| n.host).collect()
    }
}

/// What an upload's bytes come from: always bytes in memory, read through
/// one of the driver's sources (or a test double of its source trait).
pub enum Source {
    /// Of known length (the driver's `BytesSource`).
    Bytes(Vec<u8>),
    /// Read once front to back, its length known only at its end (the
    /// driver's `ReadSource` over a reader).
    Stream(Vec<u8>),
    /// Of known length, but every read reaching past `fail_at` fails with
    /// EIO, as a dying disk's does.
    FailingPast {
        /// The bytes.
        bytes: Vec<u8>,
        /// No read may reach past this offset.
        fail_at: u64,
    },
}

/// One upload call, as the drivers' uploaders offer them.
// Built once per upload and moved once: the size of `Run` costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Call<'a> {
    /// `upload_file`: the file at `path`, through the file API.
    File {
        /// The file API.
        api: &'a FileApiTarget,
        /// The file.
        path: &'a Path,
    },
    /// `upload_gcs`: a session initiated with the GCS JSON API.
    Gcs {
        /// The initiation.
        init: GcsInitiate,
        /// The bytes.
        source: Source,
    },
    /// `upload_to_session`: a session created elsewhere.
    Session {
        /// The session.
        url: SessionUrl,
        /// The bytes.
        source: Source,
    },
    /// `run`: the upload `config` describes, checkpointed under `key`.
    Run {
        /// The upload.
        config: Config,
        /// The bytes.
        source: Source,
        /// Its checkpoint key.
        key: Option<&'a str>,
    },
}

/// When [`Driver::interrupted`] interrupts its upload.
pub enum Interrupt<'a> {
    /// Once the server has persisted at least this many bytes (at the
    /// [`Event::Persisted`] saying so).
    Persisted(u64),
    /// Once the emulator holds a request (a `stall=` fault has begun).
    Held(&'a EmulatorHandle),
    /// Once this holds, polled: e.g. a request is held *and* the
    /// checkpoint it made due is saved, which a driver does concurrently.
    When(&'a (dyn Fn() -> bool + Sync)),
}

/// A driver under test: one uploader, built from a [`Setup`].
pub trait Driver: Sized + Debug + 'static {
    /// Which driver, for failure messages.
    const NAME: &'static str;
    /// Whether its transport hands interim (`1xx`) responses to the engine.
    const INTERIMS: bool;

    /// An uploader with these settings.
    fn build(setup: Setup) -> Self;

    /// Carries `call` out, to its end.
    fn call(&mut self, call: Call<'_>) -> Result<Outcome, UploadError>;

    /// Carries `call` out and interrupts it once `when` holds, as the
    /// driver's user would: the blocking driver through its stop handle
    /// (the upload ends with its checkpoint saved as of the stop), the async
    /// driver by dropping the upload's future (the checkpoint last saved
    /// stays). Fails the test when the upload ends before, or ends
    /// otherwise than interrupted. The blocking driver stays stopped: go on
    /// (resume, cancel) with another driver.
    fn interrupted(&mut self, call: Call<'_>, when: Interrupt<'_>);

    /// The checkpoint stored under `key`, if any.
    fn load_checkpoint(&mut self, key: &str) -> Result<Option<Checkpoint>, UploadError>;

    /// Cancels the upload checkpointed under `key`: deletes its session and
    /// the checkpoint; `false` when there was none.
    fn cancel(&mut self, key: &str) -> Result<bool, UploadError>;

    /// Uploads the file at `path` through the file API ([`Call::File`]).
    fn upload_file(&mut self, api: &FileApiTarget, path: &Path) -> Result<Outcome, UploadError> {
        self.call(Call::File { api, path })
    }

    /// Initiates a GCS session and uploads `source` ([`Call::Gcs`]).
    fn upload_gcs(&mut self, init: GcsInitiate, source: Source) -> Result<Outcome, UploadError> {
        self.call(Call::Gcs { init, source })
    }

    /// Uploads `source` to the session at `url` ([`Call::Session`]).
    fn upload_to_session(
        &mut self,
        url: SessionUrl,
        source: Source,
    ) -> Result<Outcome, UploadError> {
        self.call(Call::Session { url, source })
    }
}
