//! Why an upload through a driver ended without success: one type for both
//! drivers, so code handling one driver's errors handles the other's.

use std::io;

use crate::checkpoint_store::LockError;

/// Why an upload did not finish. Both drivers return it (each re-exports it
/// as its own `UploadError`); a variant only one driver can produce says
/// so.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    /// The upload engine ended it (the API refused, the server broke the
    /// protocol, the data did not verify, the retry budget ran out, …).
    /// The checkpoint is kept unless the session is gone or cancelled, so
    /// running the same upload again resumes it.
    #[error(transparent)]
    Upload(resumable_core::Error),
    /// The source could not be read. Fix the source, then upload again.
    #[error("cannot read the source: {0}")]
    Source(#[source] io::Error),
    /// The file grew, shrank or was rewritten (its size or modification time
    /// changed) while it was uploaded; nothing was registered. The checkpoint
    /// is kept, and the next run refuses it with [`UploadError::Changed`].
    #[error(
        "the file changed during the upload (size or modification time); nothing was registered"
    )]
    ChangedDuringUpload,
    /// The file changed since its interrupted upload began, so that upload
    /// cannot resume: its size or modification time differ, or the bytes the
    /// server already holds are no longer the file's (read again and
    /// compared on resume, see the uploaders' `verify_resumed_prefix`).
    /// Remove its checkpoint (the uploaders' `cancel` also deletes the
    /// session) to start over.
    #[error(
        "the file changed since its interrupted upload began; remove its checkpoint to start over"
    )]
    Changed,
    /// The checkpoint store failed to load, save, remove or lock a
    /// checkpoint.
    #[error("checkpoint store: {0}")]
    Checkpoint(#[source] io::Error),
    /// Another upload (the process `pid`, when known; this process's own id
    /// when it is another upload of this process) holds this checkpoint's
    /// lock: nothing was sent, and its checkpoint and session were left
    /// alone. Wait for that upload to end, or stop it, then run this one
    /// again.
    #[error(
        "another upload{} is using this checkpoint: wait for it to finish, or stop it, then try again",
        by_pid(*.pid)
    )]
    Busy {
        /// The process that holds the lock, when known.
        pid: Option<u32>,
    },
    /// A URL would send credentials in clear text: plain `http` to a host
    /// that is not loopback. Nothing was sent to it. Use `https`, or the
    /// uploaders' `allow_insecure_http` on a network you trust.
    #[error("refusing plain http to {host}: use https, or allow insecure http explicitly")]
    Insecure {
        /// The host refused.
        host: String,
    },
    /// A bug in the driver, reported rather than panicked: the engine
    /// refused one of its calls, or asked for something a sequential driver
    /// never leaves open. The checkpoint is kept.
    #[error("bug in the upload driver: {0}")]
    DriverBug(String),
    /// The upload was stopped (the blocking driver's `StopHandle::stop`);
    /// the checkpoint is kept, and running the same upload again resumes
    /// it. The tokio driver stops by dropping the upload's future instead,
    /// which returns nothing.
    #[error("interrupted; the checkpoint is kept and the upload resumes when run again")]
    Interrupted,
    /// The default transport could not be built (the tokio driver's TLS
    /// configuration); nothing was sent.
    #[error(transparent)]
    TransportSetup(#[from] TransportSetupError),
}

/// The engine's error as a driver reports it: the cases a user handles
/// alike in every driver get their own variant ([`UploadError::Changed`],
/// [`UploadError::Insecure`], [`UploadError::Interrupted`]); the rest are
/// [`UploadError::Upload`].
impl From<resumable_core::Error> for UploadError {
    fn from(error: resumable_core::Error) -> Self {
        use resumable_core::{Error, SourceError};
        match error {
            // Found while resuming: the same error as a changed fingerprint.
            Error::Source(SourceError::Changed) => Self::Changed,
            Error::Insecure { host } => Self::Insecure { host },
            Error::Interrupted => Self::Interrupted,
            other => Self::Upload(other),
        }
    }
}

impl From<LockError> for UploadError {
    fn from(error: LockError) -> Self {
        match error {
            LockError::Busy { pid } => Self::Busy { pid },
            LockError::Io(e) => Self::Checkpoint(e),
        }
    }
}

/// ` (pid N)`, or nothing when the pid is unknown.
pub(crate) fn by_pid(pid: Option<u32>) -> String {
    pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
}

/// A driver's default transport could not be built (its TLS
/// configuration): [`UploadError::TransportSetup`]. Nothing was sent; fix
/// the system's setup (its root certificates), or pass a transport of your
/// own.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTPS transport: {message}")]
pub struct TransportSetupError {
    /// What could not be set up, in words.
    pub message: String,
    /// The underlying error, when there is one.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TransportSetupError {
    /// A setup failure described by `message`, caused by `source`.
    pub fn new(
        message: impl Into<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            message: message.into(),
            source,
        }
    }
}
